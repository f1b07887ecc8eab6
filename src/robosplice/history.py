"""The edit log: every output records what produced it, in `meta/robosplice/history.jsonl`.

One JSON object per line, oldest first: the lines of the sources' logs, then one line for the
edit that wrote this dataset (operation, arguments, source fingerprints, robosplice version, UTC
time). The official loader reads only the meta files it knows and ignores this folder
(tests/interop checks it). A source's fingerprint is `robosplice.format.fingerprint` (the value a
recipe made for that source carries); logs written before it was shared hold `sha256:`-prefixed
hashes of info.json and the episodes files, and are read as they are (nothing compares them).
The log travels with the dataset (a push uploads it), so it names sources by `public_name`: a
Hub source as `hf://datasets/ORG/NAME@sha`, a local one by its folder name, never by an
absolute path (which would publish a user name and home directory).
This module does not decide what an edit does; it only writes down the plan's account of it.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import importlib.metadata
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from robosplice.format.fingerprint import fingerprint
from robosplice.format.paths import HISTORY_PATH
from robosplice.format.untrusted import hub_snapshot
from robosplice.plan.model import Plan

logger = logging.getLogger(__name__)

HistoryEntry = dict[str, Any]


def robosplice_version() -> str:
    """The installed robosplice version ("unknown" when run from an uninstalled tree)."""
    try:
        return importlib.metadata.version("robosplice")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def public_name(root: str | PurePath) -> str:
    """How the log names a dataset folder: `hf://datasets/ORG/NAME@sha` for a Hub cache
    snapshot, else the folder's name alone (no parent folders, user name or home directory)."""
    path = Path(root)
    snapshot = hub_snapshot(path)
    if snapshot is not None:
        repo_id, sha = snapshot
        return f"hf://datasets/{repo_id}@{sha}"
    return path.name or str(root)


def json_safe(value: Any) -> Any:
    """`value` as plain JSON data: paths → str (an absolute one → its `public_name`), regex →
    pattern, callables → qualified name.

    Mappings become objects with string keys, other collections lists (sets sorted), numpy
    values Python numbers, and anything else its `repr`.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else repr(value)
    if isinstance(value, PurePath):
        return public_name(value) if value.is_absolute() else str(value)
    if isinstance(value, re.Pattern):
        return value.pattern
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, Fraction):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        items = [json_safe(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, (list, tuple, range)):
        return [json_safe(item) for item in value]
    if callable(value):
        return _callable_name(value)
    return repr(value)


def _callable_name(function: Callable[..., Any]) -> str:
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None) or getattr(function, "__name__", None)
    if name is None:
        return repr(function)
    return f"{module}.{name}" if module else str(name)


def read_history(root: Path) -> list[HistoryEntry]:
    """The edit log of the dataset at `root`, oldest first ([] when it has none).

    Lines that are not JSON objects are skipped with a warning; the log never blocks an edit.
    """
    path = Path(root) / HISTORY_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("%s: cannot read the edit log (%s); ignoring it", path, exc)
        return []
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict):
            logger.warning("%s:%d: not a JSON object; skipping this history line", path, number)
            continue
        entries.append(entry)
    return entries


def _entry(
    operation: str,
    arguments: Any,
    sources: list[dict[str, str]],
    output: dict[str, int],
    now: datetime.datetime | None = None,
) -> HistoryEntry:
    moment = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone(datetime.timezone.utc)
    return {
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "operation": operation,
        "arguments": json_safe(arguments),
        "sources": sources,
        "output": output,
        "robosplice_version": robosplice_version(),
        "id": uuid.uuid4().hex,
    }


def history_entry(
    plan: Plan,
    *,
    fingerprints: Mapping[Path, str] | None = None,
    now: datetime.datetime | None = None,
) -> HistoryEntry:
    """The log line of one edit: what ran, on what, with which robosplice, when (UTC)."""
    prints = dict(fingerprints or {})
    for root in plan.sources:
        if root not in prints:
            prints[root] = fingerprint(root)
    return _entry(
        plan.operation,
        plan.arguments,
        [{"root": public_name(root), "fingerprint": prints[root]} for root in plan.sources],
        {"episodes": len(plan.episodes), "frames": plan.num_frames},
        now,
    )


def _write_lines(staging: Path, lines: Sequence[HistoryEntry]) -> None:
    path = staging / HISTORY_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )


def write_history(
    staging: Path,
    plan: Plan,
    *,
    repairs: Sequence[Mapping[str, Any]] = (),
    stats: Mapping[str, Any] | None = None,
) -> HistoryEntry:
    """Write the output's log into `staging`: the sources' lines, then this edit's. Returns it.

    Lines shared by several sources (datasets split from one parent, a dataset merged with
    itself) are kept once, by `id`. `repairs` (the pre-flight notes: what the edit rebuilt or
    carried from its sources, ops/_preflight.py) go into this edit's line under "repairs";
    `stats` (how stats.json was made: entries kept from the source, quantiles computed anew and
    by which method; `ExecutionResult.stats_record`) under "stats".
    """
    lines: list[HistoryEntry] = []
    seen: set[str] = set()
    for root in dict.fromkeys(plan.sources):
        for entry in read_history(root):
            key = str(entry.get("id") or json.dumps(entry, sort_keys=True))
            if key not in seen:
                seen.add(key)
                lines.append(_without_local_roots(entry))
    entry = history_entry(plan)
    if repairs:
        entry["repairs"] = [json_safe(dict(note)) for note in repairs]
    if stats:
        entry["stats"] = json_safe(dict(stats))
    lines.append(entry)
    _write_lines(staging, lines)
    return entry


def _without_local_roots(entry: HistoryEntry) -> HistoryEntry:
    """A carried line with the absolute source paths older logs wrote replaced by public names."""
    sources = entry.get("sources")
    if not isinstance(sources, list):
        return entry
    cleaned = [
        {**source, "root": public_name(source["root"])}
        if isinstance(source, dict)
        and isinstance(source.get("root"), str)
        and PurePath(source["root"]).is_absolute()
        else source
        for source in sources
    ]
    return {**entry, "sources": cleaned}


def write_conversion_entry(
    staging: Path,
    *,
    operation: str,
    source: Path,
    arguments: Mapping[str, Any],
    episodes: int,
    frames: int,
    repairs: Sequence[str],
) -> HistoryEntry:
    """Start the log of a dataset made from a folder that was not v3.0 (no plan, no source log):
    one line saying what was converted, and each repair made on the way."""
    entry = _entry(
        operation,
        dict(arguments),
        [{"root": public_name(source), "fingerprint": fingerprint(source)}],
        {"episodes": episodes, "frames": frames},
    )
    if repairs:
        entry["repairs"] = [{"message": message} for message in repairs]
    _write_lines(staging, [entry])
    return entry


def describe_entry(entry: Mapping[str, Any], *, width: int = 70) -> str:
    """One log line as short text: time, operation, arguments (cut to `width` characters)."""
    arguments = entry.get("arguments") or {}
    if isinstance(arguments, Mapping):
        shown = " ".join(
            f"{key}={json.dumps(value, ensure_ascii=False)}"
            for key, value in arguments.items()
            if value not in (None, [], {})
        )
    else:
        shown = json.dumps(arguments, ensure_ascii=False)
    if len(shown) > width:
        shown = shown[: width - 1] + "…"
    version = entry.get("robosplice_version")
    suffix = f"  (robosplice {version})" if version else ""
    return f"{entry.get('time', '?')}  {entry.get('operation', '?')}  {shown}{suffix}".rstrip()
