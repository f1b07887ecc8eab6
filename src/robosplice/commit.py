"""Staging folders, locks and atomic publication of outputs (DESIGN.md: Safety).

An output is built in a hidden staging folder next to its target and renamed into place, so the
target is either absent or complete. In-place edits rename the old dataset to a backup, the new
one into place, then delete the backup; a crash between the renames leaves a backup that the
next run reports with the exact command to restore it. No function here writes inside a source.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from robosplice.errors import OutputExistsError, OutputLockedError, SelectionError

logger = logging.getLogger(__name__)

STAGING_MARK = ".robosplice-staging-"
BACKUP_MARK = ".robosplice-backup-"
LOCK_SUFFIX = ".robosplice-lock"


def _hidden(target: Path, mark: str) -> Path:
    return target.parent / f".{target.name}{mark}{os.getpid()}-{uuid.uuid4().hex[:8]}"


def leftovers(target: Path) -> list[Path]:
    """Staging or backup folders an interrupted run left next to `target`."""
    if not target.parent.is_dir():
        return []
    prefix = f".{target.name}"
    return sorted(
        p
        for p in target.parent.iterdir()
        if p.name.startswith(prefix) and (STAGING_MARK in p.name or BACKUP_MARK in p.name)
    )


def describe_leftovers(target: Path) -> list[str]:
    """Human advice for each leftover of an interrupted run."""
    advice = []
    for path in leftovers(target):
        if BACKUP_MARK in path.name and not target.exists():
            advice.append(
                f"{path} is the original of an interrupted in-place edit of {target}; restore it"
                f" with: mv '{path}' '{target}'"
            )
        elif BACKUP_MARK in path.name:
            advice.append(
                f"{path} is the original of an in-place edit of {target} that finished; delete it"
                f" once you have checked {target}: rm -r '{path}'"
            )
        else:
            advice.append(f"{path} is an unfinished output of an interrupted run; safe to delete")
    return advice


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def target_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock file next to `target` (stale locks of dead processes are taken over)."""
    lock = target.parent / f".{target.name}{LOCK_SUFFIX}"
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                owner = 0
            if owner and _pid_alive(owner) and owner != os.getpid():
                raise OutputLockedError(
                    f"{target} is being written by robosplice process {owner}; wait for it or,"
                    f" if it is gone, delete {lock}"
                ) from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(descriptor, "w") as handle:
            handle.write(str(os.getpid()))
        break
    else:
        raise OutputLockedError(f"cannot take the lock {lock}")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def check_output_target(
    target: Path, sources: list[Path], *, overwrite: bool = False, in_place: bool = False
) -> None:
    """Refuse outputs that would write into a source or clobber a folder without being asked."""
    target = target.resolve()
    for source in sources:
        source = source.resolve()
        if target == source and not in_place:
            raise OutputExistsError(
                f"{target} is the source dataset; pass in_place=True (--in-place) to replace it"
            )
        if target != source and (source in target.parents):
            raise SelectionError(
                f"output {target} is inside the source {source}; choose another folder"
            )
        if target != source and target in source.parents:
            raise SelectionError(
                f"output {target} contains the source {source}; choose another folder"
            )
    if target.exists() and not (overwrite or in_place):
        raise OutputExistsError(
            f"{target} already exists; choose a new folder or pass overwrite=True (--overwrite)"
        )
    for advice in describe_leftovers(target):
        logger.warning(advice)


@contextlib.contextmanager
def staged_output(target: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success publish it at `target`, else delete it.

    An existing `target` (overwrite or in-place) is replaced by a swap that keeps it as a backup
    until the new copy is in place.
    """
    target = target.resolve()
    with target_lock(target):
        staging = _hidden(target, STAGING_MARK)
        staging.mkdir(parents=True)
        try:
            yield staging
            publish(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def publish(staging: Path, target: Path) -> None:
    """Rename `staging` to `target`; an existing target is swapped out, then removed."""
    if not target.exists():
        os.rename(staging, target)
        return
    backup = _hidden(target, BACKUP_MARK)
    os.rename(target, backup)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(backup, target)
        raise
    shutil.rmtree(backup)
