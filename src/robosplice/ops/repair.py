"""`repair`: a LeRobot folder written by anyone's converter → a valid v3.0 dataset, losslessly.

v2.0 / v2.1 folders go through `convert` with every derivable repair on (`format.v2_repair`: the
bookkeeping columns and feature entries an exporter left out, timestamps that are not
frame_index / fps — the stored ones kept as a feature —, per-episode stats); v3.0 folders are
rewritten whole by `repack`, whose pre-flight rebuilds the metadata it can derive. Each repair is
listed by `dry_run`, printed by the CLI and recorded in the output's edit log. What cannot be
decided is refused with the problem named and nothing written; an episode whose rows and video
frames disagree in number can be left out instead (`drop_episodes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from robosplice._types import PathLike, ProgressReporter
from robosplice.commit import check_output_target, scratch_beside
from robosplice.dataset import Dataset
from robosplice.errors import SelectionError
from robosplice.format.v21 import V20, V21, read_v2_source, read_version
from robosplice.ops.convert_version import (
    ConversionPlan,
    ConversionResult,
    _source_root,
    convert,
)
from robosplice.ops.delete import delete_episodes
from robosplice.ops.repack import repack
from robosplice.plan.model import Plan


def repair(
    dataset: PathLike | Dataset,
    output_dir: PathLike,
    *,
    videos_dir: str | None = None,
    drop_episodes: Sequence[int] = (),
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
) -> ConversionResult | ConversionPlan | Dataset | Plan:
    """Write a valid v3.0 form of `dataset` into `output_dir`, keeping what its author wrote.

    Returns the plan when `dry_run` (its `describe()` lists every repair), else the result.
    `videos_dir` reads a v2.x source's videos from another top folder than its video_path says
    (a refusal names the folder where same-named files were found). `drop_episodes` leaves
    those episodes out (the way out of a refusal naming an episode whose rows and frames
    cannot be paired); the rest are renumbered, their video copied by packet as always.

    Raises:
        InvalidDatasetError: something cannot be decided from the files (each problem named).
        SelectionError: `drop_episodes` names an episode the source does not list, or all.
        OutputExistsError: `output_dir` exists and `overwrite` is not set.

    Example:
        >>> repair("downloads/lab_dataset_v21", "data/lab_dataset", drop_episodes=[17])
    """
    source = _source_root(dataset)
    dropped = sorted(set(drop_episodes))
    if read_version(source) not in (V20, V21):
        if dropped:
            return delete_episodes(
                source, dropped, output_dir, overwrite=overwrite, dry_run=dry_run, progress=progress
            )
        return repack(
            source, Path(output_dir), overwrite=overwrite, dry_run=dry_run, progress=progress
        )
    if not dropped or dry_run:
        if dropped:
            _positions(source, dropped)
        return convert(
            source,
            output_dir,
            to="v3.0",
            repair=True,
            videos_dir=videos_dir,
            unpaired=dropped,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=progress,
        )
    positions = _positions(source, dropped)
    output = Path(output_dir).expanduser().resolve()
    check_output_target(output, [source], overwrite=overwrite)
    # Convert whole beside the output (same filesystem), then delete with the packet-copying
    # engine: the dropped episodes never reach the output, and its log records both steps.
    with scratch_beside(output) as work:
        whole = work / source.name
        convert(
            source,
            whole,
            to="v3.0",
            repair=True,
            videos_dir=videos_dir,
            unpaired=dropped,
            progress=progress,
        )
        return delete_episodes(whole, positions, output, overwrite=overwrite, progress=progress)


def _positions(source: Path, dropped: list[int]) -> list[int]:
    """Where the v2.x episodes `dropped` (by their episode_index) land in the conversion, which
    numbers the listed episodes 0..N-1 in order."""
    order = [episode.episode_index for episode in read_v2_source(source).episodes]
    listed = set(order)
    unknown = [index for index in dropped if index not in listed]
    if unknown:
        raise SelectionError(
            f"--drop-episodes {unknown}: {source} lists no such episode"
            f" (it has {len(listed)}: {min(listed)}–{max(listed)})"
        )
    if len(dropped) == len(listed):
        raise SelectionError(f"--drop-episodes would leave out every episode of {source}")
    return [order.index(index) for index in dropped]
