"""The fingerprint of a dataset: one hash of its metadata, cheap, that any edit changes.

Recipes carry it (`apply` refuses a recipe made for other data), the edit log records it for each
source, and the review page keys its cache with it. Data and videos are not read.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Final

from robosplice.format.paths import EPISODES_DIR, INFO_PATH, TASKS_PATH

_CHUNK_BYTES: Final = 1 << 20


def fingerprint_files(root: str | os.PathLike[str]) -> list[Path]:
    """The files a fingerprint covers: meta/info.json, meta/tasks.parquet, meta/episodes/**."""
    base = Path(root)
    files = [base / INFO_PATH, base / TASKS_PATH]
    files += [p for p in (base / EPISODES_DIR).rglob("*.parquet") if p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(base).as_posix())


def fingerprint(root: str | os.PathLike[str]) -> str:
    """Hex sha256 of the dataset's metadata: for each file of `fingerprint_files` in sorted
    relative-path order, its relative path, a NUL byte, its bytes, a NUL byte (a missing file
    contributes its path and `<missing>`). Any edit rewrites the episodes table, so an edited
    dataset gets a new fingerprint."""
    base = Path(root)
    digest = hashlib.sha256()
    for path in fingerprint_files(base):
        digest.update(path.relative_to(base).as_posix().encode("utf-8") + b"\0")
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK_BYTES):
                    digest.update(chunk)
        except OSError:
            digest.update(b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()
