"""Names of the hidden folders robosplice keeps next to a dataset while it writes, and how to
read what an interrupted run left behind (no writes; used by `commit` and by `Dataset`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

STAGING_MARK: Final = ".robosplice-staging-"
BACKUP_MARK: Final = ".robosplice-backup-"
TRASH_MARK: Final = ".robosplice-trash-"
LOCK_SUFFIX: Final = ".robosplice-lock"
_MARKS: Final = {STAGING_MARK: "staging", BACKUP_MARK: "backup", TRASH_MARK: "trash"}

LeftoverKind = Literal["staging", "backup", "trash"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Leftover:
    """A hidden folder an earlier run left next to a target, and the process that made it."""

    path: Path
    kind: LeftoverKind
    pid: int | None

    @property
    def alive(self) -> bool:
        """Whether the process that made it still runs (pid reuse can make this a false yes)."""
        return self.pid is not None and pid_alive(self.pid)


def find_leftovers(target: Path) -> list[Leftover]:
    """Staging, backup and trash folders that runs left next to `target`, by name."""
    if not target.parent.is_dir():
        return []
    prefix = f".{target.name}"
    found = []
    # Names filtered before sorting: the parent may be a busy folder (/tmp, a datasets home).
    ours = [path for path in target.parent.iterdir() if path.name.startswith(prefix)]
    for path in sorted(ours, key=lambda path: path.name):
        for mark, kind in _MARKS.items():
            rest = path.name[len(prefix) :]
            if rest.startswith(mark):
                pid_text = rest[len(mark) :].split("-", 1)[0]
                pid = int(pid_text) if pid_text.isdigit() else None
                found.append(Leftover(path=path, kind=kind, pid=pid))  # type: ignore[arg-type]
    return found


def leftovers(target: Path) -> list[Path]:
    """Paths of the staging, backup or trash folders an interrupted run left next to `target`."""
    return [leftover.path for leftover in find_leftovers(target)]


def interrupted_swap_advice(target: Path) -> str | None:
    """When `target` is missing but backups of it exist, the exact commands to restore it."""
    if target.exists():
        return None
    backups = [left for left in find_leftovers(target) if left.kind == "backup"]
    if not backups:
        return None
    if len(backups) == 1:
        backup = backups[0].path
        staged = [
            left.path
            for left in find_leftovers(target)
            if left.kind == "staging" and left.pid == backups[0].pid
        ]
        keep_new = (
            f"; or, to keep the finished new version instead: mv '{staged[0]}' '{target}' &&"
            f" rm -r '{backup}'"
            if staged
            else ""
        )
        return (
            f"{target} is missing, and {backup} holds it as it was before an in-place edit or"
            f" overwrite that was interrupted; restore it with: mv '{backup}' '{target}'{keep_new}"
        )
    listed = ", ".join(f"'{b.path}'" for b in backups)
    return (
        f"{target} is missing, and several interrupted edits left backups of it: {listed}; each"
        f" is a complete dataset: restore the one you want with: mv BACKUP '{target}'"
    )


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
