"""Remember what pre-flight validation found in a source whose files have not changed since.

A second edit of the same source skips re-checking it (issue 22: pre-flight in proportion).
The key is every file's relative path, size and mtime (ns) under the source, plus the version
and code of robosplice's checks: a file written, added, removed or touched, or another
robosplice, checks it again. Entries live under `cache_home()/validation`, one JSON file per
source folder; an unreadable entry is a miss. Bytes changed with size and mtime put back by hand
go unseen: the price of not reading the data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import robosplice
from robosplice._cache import cache_home
from robosplice.errors import Problem

logger = logging.getLogger(__name__)

_FORMAT = 1


def _tree_listing(root: Path, digest: Any, suffix: str = "") -> None:
    """Feed (relative path, size, mtime) of every file under `root` (ending in `suffix`), in a
    stable order."""
    for folder, folders, files in os.walk(root):
        folders.sort()
        for name in sorted(files):
            if not name.endswith(suffix):
                continue
            path = os.path.join(folder, name)
            stat = os.stat(path)
            relative = os.path.relpath(path, root)
            digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())


def source_fingerprint(root: Path) -> str:
    """What the cached findings of `root` depend on: its files and robosplice's checking code."""
    digest = hashlib.sha256(f"{_FORMAT}\0{robosplice.__version__}\n".encode())
    # The checking code itself (edited in a development install without a version change).
    _tree_listing(Path(robosplice.__file__).parent, digest, ".py")
    digest.update(b"\0source\n")
    _tree_listing(root, digest)
    return digest.hexdigest()


def _entry_path(root: Path) -> Path:
    name = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:32]
    return cache_home() / "validation" / f"{name}.json"


def validate_cached(root: Path, validate: Callable[[Path], list[Problem]]) -> list[Problem]:
    """`validate(root)`, or what it returned last time if no file of `root` changed since."""
    fingerprint = source_fingerprint(root)
    entry = _entry_path(root)
    try:
        cached = json.loads(entry.read_text(encoding="utf-8"))
        if cached["fingerprint"] == fingerprint:
            logger.info("%s: unchanged since validated, pre-flight findings reused", root)
            return [Problem(**problem) for problem in cached["problems"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    problems = validate(root)
    if source_fingerprint(root) != fingerprint:
        return problems  # the source changed while it was checked: remember nothing
    record = {
        "root": str(root.resolve()),
        "fingerprint": fingerprint,
        "problems": [p.to_json() for p in problems],
    }
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial = entry.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(json.dumps(record), encoding="utf-8")
        partial.replace(entry)
    except OSError as exc:  # a read-only cache costs a re-check, never an edit
        logger.info("pre-flight cache not written (%s)", exc)
    return problems
