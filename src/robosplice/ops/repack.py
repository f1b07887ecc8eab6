"""`repack`: rewrite a whole dataset, optionally with new file sizes or chunk size (re-chunk)."""

from __future__ import annotations

from typing import Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.ops._run import write_edit
from robosplice.plan.model import Plan
from robosplice.plan.select import plan_keep, settings_of


def plan_repack(
    dataset: Dataset,
    *,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunks_size: int | None = None,
) -> Plan:
    """Every episode, whole and in order, into files of the given sizes (None keeps the source's)."""
    settings = settings_of(
        dataset,
        data_files_size_in_mb=data_files_size_in_mb,
        video_files_size_in_mb=video_files_size_in_mb,
        chunks_size=chunks_size,
    )
    return plan_keep(
        dataset,
        range(dataset.num_episodes),
        operation="repack",
        settings=settings,
        arguments={
            "data_files_size_in_mb": data_files_size_in_mb,
            "video_files_size_in_mb": video_files_size_in_mb,
            "chunks_size": chunks_size,
        },
    )


@overload
def repack(
    dataset: DatasetLike,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunks_size: int | None = None,
    overwrite: bool = False,
    in_place: bool = False,
    dry_run: Literal[True],
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Plan: ...


@overload
def repack(
    dataset: DatasetLike,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunks_size: int | None = None,
    overwrite: bool = False,
    in_place: bool = False,
    dry_run: Literal[False] = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset: ...


@overload
def repack(
    dataset: DatasetLike,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunks_size: int | None = None,
    overwrite: bool = False,
    in_place: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan: ...


def repack(
    dataset: DatasetLike,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    *,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunks_size: int | None = None,
    overwrite: bool = False,
    in_place: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan:
    """Rewrite `dataset` whole: data streamed by row group, video copied packet by packet.

    Returns the plan when `dry_run`, else a handle on the output.

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        OutputExistsError: the output exists and neither overwrite nor in_place was given.
        InvalidDatasetError: the source cannot be read.

    Example:
        >>> repack("data/pusht", "data/pusht_big", data_files_size_in_mb=500)
    """
    source = open_dataset(dataset)
    plan = plan_repack(
        source,
        data_files_size_in_mb=data_files_size_in_mb,
        video_files_size_in_mb=video_files_size_in_mb,
        chunks_size=chunks_size,
    )
    if dry_run:
        return plan
    return write_edit(
        source,
        plan,
        output_dir,
        repo_id,
        suffix="_repacked",
        in_place=in_place,
        overwrite=overwrite,
        progress=progress,
        backend=backend,
        workers=workers,
    )
