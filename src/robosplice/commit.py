"""Staging folders, locks and atomic publication of outputs (DESIGN.md: Safety).

An output is built in a hidden staging folder next to its target and renamed into place, so the
target is either absent or complete. Replacing a target (in-place, overwrite) renames the old one
to a backup, the new one into place, then the backup to a trash name, and deletes the trash; a
folder named as a backup is therefore always a complete dataset, and a trash folder is garbage.

What a later run does with the leftovers of a process that died (SIGKILL, power loss):
- a backup and no target (it died between the two renames): refuse, naming the backup and the
  exact `mv` that restores it. Restoring it automatically was judged not strictly safe: the
  target may be missing because the user moved or deleted it since, and a silent restore would
  bring back data they removed, or hide which version they now have.
- a backup next to a target (it died before deleting the backup): a warning with the `rm`.
- staging folders (of a dead process) and trash folders: removed, with a log line, once the
  lock is held. The lock proves no other robosplice writes this target, so they are orphans.

Nothing here writes inside a source, and nothing here reads a dataset.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from robosplice.errors import OutputExistsError, OutputLockedError, SelectionError
from robosplice.format.leftovers import (
    BACKUP_MARK,
    LOCK_SUFFIX,
    STAGING_MARK,
    TRASH_MARK,
    find_leftovers,
    interrupted_swap_advice,
    pid_alive,
)
from robosplice.format.paths import HUB_ADVICE, names_a_hub_repo

__all__ = ["find_leftovers", "interrupted_swap_advice"]  # re-exported for callers of commit

try:
    import fcntl
except ImportError:  # Windows: fall back to a lock file holding the owner's pid
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

_LOCK_ATTEMPTS: Final = 50


def _hidden(target: Path, mark: str) -> Path:
    return target.parent / f".{target.name}{mark}{os.getpid()}-{uuid.uuid4().hex[:8]}"


def lock_path(target: Path) -> Path:
    """The lock file of `target` (next to it, hidden)."""
    return target.parent / f".{target.name}{LOCK_SUFFIX}"


def describe_leftovers(target: Path, *, removable: bool = True) -> list[str]:
    """Human advice for each leftover of an interrupted run.

    `removable=False` leaves out the staging and trash folders of dead processes, which the next
    edit of the target removes by itself (with a log line).
    """
    advice = []
    found = find_leftovers(target)
    swap = interrupted_swap_advice(target)
    swapped_by: set[int | None] = set()
    if swap is not None:
        advice.append(swap)
        swapped_by = {left.pid for left in found if left.kind == "backup"}
    for left in found:
        if left.kind == "staging" and left.pid in swapped_by:
            continue  # the finished new copy; the swap advice says what to do with it
        if left.kind == "backup":
            if target.exists():
                advice.append(
                    f"{left.path} is the original of an in-place edit or overwrite of {target}"
                    f" that finished; delete it once you have checked {target}: rm -r"
                    f" '{left.path}'"
                )
        elif left.kind == "staging" and left.alive:
            advice.append(
                f"{left.path} is being written by process {left.pid}; if that is not a running"
                f" robosplice, it is an unfinished output and safe to delete: rm -r '{left.path}'"
            )
        elif removable:
            advice.append(
                f"{left.path} is an unfinished output or a half-deleted backup of an interrupted"
                " run; safe to delete (the next edit of this target removes it)"
            )
    return advice


def _locked_error(target: Path, lock: Path, owner: int | None) -> OutputLockedError:
    who = f"robosplice process {owner}" if owner else "another robosplice process"
    return OutputLockedError(
        f"{target} is being written by {who}; wait for it to finish (the lock {lock} is"
        " released automatically when that process ends)"
    )


def _read_owner(descriptor: int) -> int | None:
    try:
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _acquire_flock(target: Path, lock: Path) -> int:
    """Open and flock the lock file; the kernel releases the lock when the process dies."""
    assert fcntl is not None
    for _ in range(_LOCK_ATTEMPTS):
        descriptor = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(descriptor)
            os.close(descriptor)
            raise _locked_error(target, lock, owner) from None
        except BaseException:
            os.close(descriptor)
            raise
        # The previous holder unlinks the file before unlocking: if we locked an unlinked inode,
        # a third process may hold a fresh file of the same name, so start over.
        try:
            current = os.stat(lock).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(descriptor).st_ino:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, str(os.getpid()).encode("ascii"), 0)
            return descriptor
        os.close(descriptor)
    raise OutputLockedError(f"cannot take the lock {lock}: it keeps being replaced")


def _acquire_pid_file(target: Path, lock: Path) -> int:
    """Without fcntl: an exclusive file holding our pid; locks of dead processes are taken over."""
    for _ in range(_LOCK_ATTEMPTS):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                text = lock.read_text().strip()
            except OSError:
                text = ""
            owner = int(text) if text.isdigit() else None
            if owner is not None and owner != os.getpid() and pid_alive(owner):
                raise _locked_error(target, lock, owner) from None
            lock.unlink(missing_ok=True)
            continue
        os.write(descriptor, str(os.getpid()).encode("ascii"))
        return descriptor
    raise OutputLockedError(f"cannot take the lock {lock}")


@contextlib.contextmanager
def target_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock on `target` (a lock file next to it) while writing it.

    Raises:
        OutputLockedError: another process holds the lock.
    """
    lock = lock_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is not None:
        descriptor = _acquire_flock(target, lock)
    else:
        descriptor = _acquire_pid_file(target, lock)
    try:
        yield
    finally:
        # Unlink while still holding the lock, so a waiter that opened it sees a stale inode.
        lock.unlink(missing_ok=True)
        os.close(descriptor)


def check_output_target(
    target: Path, sources: list[Path], *, overwrite: bool = False, in_place: bool = False
) -> None:
    """Refuse outputs that would write into a source or clobber a folder without being asked.

    Also refuses a target whose interrupted in-place edit left only a backup (the error has the
    `mv` that restores it), and logs a warning for every other leftover next to the target.

    Raises:
        OutputExistsError: the target exists (without overwrite/in_place), is the source
            (without in_place), or is missing with a backup of it next to it.
        SelectionError: the target is inside a source, or contains one.
    """
    if names_a_hub_repo(target):
        raise SelectionError(f"output {target}: a Hub reference, not a folder; {HUB_ADVICE}")
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
    swap = interrupted_swap_advice(target)
    if swap is not None:
        raise OutputExistsError(swap + "; then run again")
    if target.exists() and not (overwrite or in_place):
        raise OutputExistsError(
            f"{target} already exists; choose a new folder or pass overwrite=True (--overwrite)"
        )
    for advice in describe_leftovers(target, removable=False):
        logger.warning(advice)


def remove_stale_leftovers(target: Path) -> None:
    """Delete staging folders of dead processes and trash folders next to `target`.

    Call only while holding `target_lock(target)`: then no robosplice process writes them.
    Backups are never deleted here (they may be the only copy of the user's data).
    """
    for left in find_leftovers(target):
        if left.kind == "backup" or (left.kind == "staging" and left.alive):
            continue
        what = "unfinished output" if left.kind == "staging" else "half-deleted backup"
        logger.warning(
            "removing %s, the %s of an interrupted robosplice run (process %s)",
            left.path,
            what,
            left.pid,
        )
        shutil.rmtree(left.path, ignore_errors=True)


def _redeliver(signum: int, handler: object) -> None:
    """Act on a signal held during a critical section as its own handler would have."""
    if callable(handler):
        handler(signum, None)
    elif handler in (signal.SIG_DFL, None):
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, so a swap's renames are never split.

    The Python handlers are swapped for one that only records the signal; masking the signal
    would not do, since a pyarrow or FFmpeg thread can take it and trip the main thread anyway.
    Outside the main thread (where handlers cannot be set) the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous: dict[int, object] = {}
    try:
        for held in (signal.SIGINT, signal.SIGTERM):
            previous[held] = signal.signal(held, lambda number, _: received.append(number))
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        if received:
            _redeliver(received[0], previous[received[0]])


@contextlib.contextmanager
def scratch_beside(target: Path) -> Iterator[Path]:
    """Yield an empty work folder next to `target` (same filesystem), deleted when the block ends.

    It is named as a staging folder of this process, so when the process dies (SIGKILL) before
    deleting it, the next edit of `target` recognises and removes it like any staging leftover,
    and `describe_leftovers` explains it.
    """
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = _hidden(target, STAGING_MARK)
    scratch.mkdir()
    try:
        yield scratch
    finally:
        with _signals_deferred():
            shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def staged_output(target: Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield an empty staging folder; on success publish it at `target`, else delete it.

    An existing `target` is replaced by a swap that keeps it as a backup until the new copy is
    in place. `replace=False` refuses a target that appeared since `check_output_target` (another
    process published it first).

    Raises:
        OutputLockedError: another process is writing `target`.
        OutputExistsError: `target` exists and `replace` is False, or only a backup of it exists.
    """
    target = target.resolve()
    with target_lock(target):
        swap = interrupted_swap_advice(target)
        if swap is not None:
            raise OutputExistsError(swap + "; then run again")
        remove_stale_leftovers(target)
        if target.exists() and not replace:
            raise OutputExistsError(
                f"{target} appeared while this edit was starting (another process wrote it);"
                " choose a new folder or pass overwrite=True (--overwrite)"
            )
        staging = _hidden(target, STAGING_MARK)
        try:
            staging.mkdir()
            yield staging
            publish(staging, target)
        except BaseException:
            with _signals_deferred():
                shutil.rmtree(staging, ignore_errors=True)
            raise


def _fsync_path(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some filesystems cannot fsync folders; the rename order still holds
    finally:
        os.close(descriptor)


def _fsync_tree(root: Path) -> None:
    """Flush every file and folder under `root` to disk (before the original is let go)."""
    for folder, _, files in os.walk(root):
        for name in files:
            _fsync_path(Path(folder, name))
        _fsync_path(Path(folder))


def publish(staging: Path, target: Path) -> None:
    """Rename `staging` to `target`; an existing target is swapped out, then removed.

    Before an existing target is let go, the new copy is flushed to disk, so a power loss right
    after the swap cannot leave a half-written dataset as the only copy.
    """
    if not target.exists():
        os.rename(staging, target)
        _fsync_path(target.parent)
        return
    _fsync_tree(staging)
    backup = _hidden(target, BACKUP_MARK)
    trash = _hidden(target, TRASH_MARK)
    with _signals_deferred():
        os.rename(target, backup)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(backup, target)
            raise
        _fsync_path(target.parent)
        # A backup is always complete; once renamed to trash it may be deleted in any state.
        os.rename(backup, trash)
    try:
        shutil.rmtree(trash)
    except OSError as exc:
        logger.warning(
            "the edit of %s finished, but its old copy %s could not be deleted (%s); delete it: rm -r '%s'",
            target,
            trash,
            exc,
            trash,
        )
