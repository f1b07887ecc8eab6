"""What a pull recorded about its working copy: repo, endpoint, revision, sha, per-file identity.

Kept at `.cache/huggingface/robosplice/pull.json`, where `upload_folder` skips it, lerobot's
legacy-download check does not look, and no robosplice reader or push includes it. A push uses
it to refuse a partial pull, to refuse a remote that moved since, and to skip hashing files whose
size and mtime are as pulled (their remote identity is known).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

PROVENANCE_PATH: Final = ".cache/huggingface/robosplice/pull.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class PulledFile:
    """One pulled file: size, mtime after the copy, and the ids the remote knows its bytes by
    (LFS sha256 and/or git blob oid)."""

    size: int
    mtime_ns: int
    remote_ids: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """Where a working copy came from."""

    repo_id: str
    endpoint: str
    revision: str
    sha: str
    partial: bool
    episodes: list[int] | None = None
    source: str | None = None  # `repo@sha` the data came from, as the card names it
    refs: dict[str, str] = field(default_factory=dict)
    files: dict[str, PulledFile] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Provenance:
        files = {path: PulledFile(**entry) for path, entry in data.get("files", {}).items()}
        return cls(**{**data, "files": files})

    def unchanged_remote_ids(self, root: Path, relative: str) -> list[str] | None:
        """The remote ids of `relative` if its size and mtime are as pulled, else None."""
        entry = self.files.get(relative)
        if entry is None:
            return None
        try:
            stat = os.stat(root / relative)
        except OSError:
            return None
        if stat.st_size == entry.size and stat.st_mtime_ns == entry.mtime_ns:
            return entry.remote_ids
        return None


def read_provenance(root: Path) -> Provenance | None:
    """The provenance of a pulled folder, or None for a folder that was not pulled."""
    path = root / PROVENANCE_PATH
    if not path.is_file():
        return None
    return Provenance.from_json(json.loads(path.read_text(encoding="utf-8")))


def write_provenance(root: Path, provenance: Provenance) -> None:
    path = root / PROVENANCE_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(provenance.to_json(), indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
