"""Digest of a folder tree, to prove a source is byte-identical after an operation."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by relative path (folders included as entries)."""
    digest: dict[str, str] = {}
    for path in sorted(Path(root).rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_dir():
            digest[relative + "/"] = "dir"
        else:
            digest[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest
