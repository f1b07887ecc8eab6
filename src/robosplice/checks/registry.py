"""The registry: every check family in the order they run, and every kind with its severity.

A family is a module with `KINDS` (its kinds, each with severity and why) and `run(ctx)`; it
reads what earlier families left in the `Context` and reports findings. To add one, write the
module and add one `Family(...)` line to `FAMILIES` (see `robosplice/checks/__init__.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from robosplice._types import ProgressReporter
from robosplice.checks import (
    camera_stats,
    consistency,
    data,
    episodes,
    info,
    quality,
    stale_stats,
    stats,
    tasks,
    video,
)
from robosplice.checks.context import KINDS as COMMON_KINDS
from robosplice.checks.context import Context
from robosplice.checks.finding import Finding
from robosplice.checks.kinds import Kind
from robosplice.errors import Severity

Group = Literal["structure", "quality"]
"""`structure`: what `validate` runs (would the loader or a trainer trip?); `quality`: what
`doctor` adds (is the recording worth training on?)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Family:
    """One family of checks: its name, group, kinds and the function that runs it."""

    name: str
    group: Group
    kinds: tuple[Kind, ...]
    run: Callable[[Context], None]


FAMILIES: Final[tuple[Family, ...]] = (
    Family(name="info", group="structure", kinds=info.KINDS, run=info.run),
    Family(name="tasks", group="structure", kinds=tasks.KINDS, run=tasks.run),
    Family(name="episodes", group="structure", kinds=episodes.KINDS, run=episodes.run),
    Family(name="data", group="structure", kinds=data.KINDS, run=data.run),
    Family(name="consistency", group="structure", kinds=consistency.KINDS, run=consistency.run),
    Family(name="stats", group="structure", kinds=stats.KINDS, run=stats.run),
    Family(name="stale_stats", group="structure", kinds=stale_stats.KINDS, run=stale_stats.run),
    Family(name="video", group="structure", kinds=video.KINDS, run=video.run),
    Family(name="camera_stats", group="structure", kinds=camera_stats.KINDS, run=camera_stats.run),
    Family(name="quality", group="quality", kinds=quality.KINDS, run=quality.run),
)
"""Every family, in the order they run (a family may use what the ones before it found)."""


def _collect_kinds(families: tuple[Family, ...]) -> tuple[Kind, ...]:
    kinds: dict[str, Kind] = {}
    for kind in (*COMMON_KINDS, *(kind for family in families for kind in family.kinds)):
        if kind.name in kinds:
            raise ValueError(f"kind {kind.name!r} is declared twice; declare it in one family")
        kinds[kind.name] = kind
    return tuple(kinds.values())


KINDS: Final[tuple[Kind, ...]] = _collect_kinds(FAMILIES)
"""Every kind any family reports, with its severity and why (README "Severities")."""
SEVERITY: Final[Mapping[str, Severity]] = {kind.name: kind.severity for kind in KINDS}
"""Kind name to severity."""
KIND_OF: Final[Mapping[str, Kind]] = {kind.name: kind for kind in KINDS}
"""Kind name to its declaration (how an edit handles it: `Kind.on_edit`)."""


def run_checks(
    root: Path,
    *,
    groups: Collection[Group] = ("structure",),
    decode: bool = False,
    progress: ProgressReporter | None = None,
    families: Sequence[Family] = FAMILIES,
) -> list[Finding]:
    """Run the families of `groups` over the dataset at `root`, in order; return every finding.

    Never raises for a broken dataset: an unexpected error in a check becomes a `check_failed`
    finding. Stops early only when info.json is unusable (nothing else can be read without it).

    Args:
        families: the registry by default; tests and tools may pass another sequence.
    """
    severities = dict(SEVERITY)
    severities.update((kind.name, kind.severity) for f in families for kind in f.kinds)
    ctx = Context(Path(root), severities=severities, decode=decode, progress=progress)
    for family in families:
        if family.group not in groups:
            continue
        ctx.guarded(family.name, None, lambda family=family: family.run(ctx))
        if ctx.stop:
            break
    return ctx.findings


def severity_table() -> str:
    """The README "Severities" table: one row per kind, in registry order."""
    rows = [
        "| kind | severity | what | why this severity |",
        "|---|---|---|---|",
        *(f"| `{k.name}` | {k.severity} | {k.meaning} | {k.why} |" for k in KINDS),
    ]
    return "\n".join(rows)
