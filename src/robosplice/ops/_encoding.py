"""What the three encoding verbs share: their problem report, worker counts and the write."""

from __future__ import annotations

import os
from pathlib import Path

from robosplice._types import ProgressReporter
from robosplice.dataset import Dataset
from robosplice.engine.backends import Backend
from robosplice.errors import SelectionError
from robosplice.ops._run import write_plan
from robosplice.plan.model import Plan


def is_int(value: object) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def raise_problems(what: str, problems: list[str]) -> None:
    """Raise every problem at once, before anything is written."""
    if problems:
        raise SelectionError(f"{what}:\n" + "\n".join(f"  - {p}" for p in problems))


def check_workers(value: int | None, name: str, problems: list[str]) -> None:
    """A worker count is None or an integer >= 0."""
    if value is not None and (not is_int(value) or value < 0):
        problems.append(f"{name} must be an integer >= 0, got {value!r}")


def _workers(num_workers: int | None) -> int:
    """Encoder processes: as asked, at most one per core (None: one per core)."""
    cores = os.cpu_count() or 1
    return max(1, min(num_workers if num_workers else cores, cores))


def write_encoded(
    plan: Plan,
    target: Path,
    repo_id: str,
    *,
    overwrite: bool = False,
    in_place: bool = False,
    workers: int | None = None,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
) -> Dataset:
    """Execute `plan` into `target` atomically (sources checked, staged, logged, renamed)."""
    return write_plan(
        plan,
        target,
        repo_id=repo_id,
        overwrite=overwrite,
        in_place=in_place,
        progress=progress,
        workers=_workers(workers),
        backend=backend,
    )
