"""Execute a Plan into a folder: data rows, video packets, then metadata.

This module drives; the rooms it drives each have one job: `data_rows.py` streams the rows,
`cameras.py` plans the packet copy of each camera (whole files kept), `units.py` copies it,
`video_encode.py` encodes, `stats_collector.py` gathers the stats and `meta.py` writes the
metadata. Memory holds one episode's rows and one episode's packets at a time; exact dataset
quantiles read the written numeric columns back (`dataset_quantiles.py`) instead of keeping them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robosplice._types import ProgressReporter
from robosplice.dataset import Dataset
from robosplice.engine.backends import (
    Backend,
    UnitBatch,
    current_options,
    resolve_backend,
    run_units,
)
from robosplice.engine.cameras import place_windows, plan_camera_units
from robosplice.engine.data_rows import data_writer, output_schema, read_written, write_data
from robosplice.engine.meta import write_metadata
from robosplice.engine.progress import resolve_progress
from robosplice.engine.sources import SourceSet
from robosplice.engine.stats_collector import StatsCollector
from robosplice.engine.units import copy_camera, frame_stats
from robosplice.engine.video_encode import encode_videos
from robosplice.format import info as info_format
from robosplice.plan.model import Plan


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionResult:
    """What the engine wrote (relative paths) and how much."""

    data_files: tuple[str, ...]
    video_files: tuple[str, ...]
    episodes_files: tuple[str, ...]
    num_episodes: int
    num_frames: int
    video_bytes_copied: int
    stats_record: dict[str, Any]  # how stats.json was made, for the edit log (StatsCollector)


# Work below these sizes runs in this process unless a backend is asked for: a pool's start-up
# costs more than it saves.
_PARALLEL_VIDEO_BYTES = 32 * 2**20
_PARALLEL_FRAME_STATS = 16


def execute(
    plan: Plan,
    target: Path,
    *,
    progress: ProgressReporter | None = None,
    workers: int | None = None,
    backend: str | Backend | None = None,
    link_files: bool | None = None,
    opened: Sequence[Dataset] = (),
) -> ExecutionResult:
    """Write the dataset `plan` describes into the empty folder `target`.

    Work units (each copied camera; each episode whose camera stats are sampled from frames)
    run on `backend` with `workers` workers (engine/backends.py: serial, process, ray; None:
    `execution(...)`'s, else chosen by size) while this process streams the data rows; the
    finalize (metadata, stats, info.json) runs here. `workers` threads also encode the cameras
    of `plan.videos`. `link_files` hard-links source video files kept whole instead of copying.
    `opened`: handles the caller holds on sources of the plan (their metadata is not read again).
    Every backend writes the same bytes.
    """
    reporter = resolve_progress(progress)
    options = current_options()
    if link_files is None:
        link_files = options.link_files
    held = {dataset.root: dataset for dataset in opened}
    datasets = [
        held.get(Path(root).expanduser().resolve()) or Dataset(root) for root in plan.sources
    ]
    sources = SourceSet(datasets)
    info = info_format.copy_info(dict(plan.info))
    features = info["features"]
    fps = float(info["fps"])
    schema = output_schema(sources, plan)
    stats = StatsCollector(plan, datasets)
    camera_units = plan_camera_units(plan, datasets, target, link_files=link_files)
    video_bytes = sum(
        s.path.stat().st_size
        for u in camera_units
        for s in {x.path: x for x in u.segments}.values()
        if s.remote is None  # stays on the Hub: nothing to copy
    )
    runner = resolve_backend(
        backend,
        workers,
        units=len(camera_units),
        heavy=video_bytes >= _PARALLEL_VIDEO_BYTES,
    )
    cameras = UnitBatch(
        runner, copy_camera, camera_units, describe=lambda u: f"camera {u.key} file {u.position}"
    )
    try:
        writer = data_writer(plan, target, schema)
        rows = write_data(plan, writer, sources, features=features, stats=stats, reporter=reporter)
        reporter.start("video", len(camera_units))
        try:
            results = cameras.results(on_done=reporter.advance)
        finally:
            reporter.finish()
        video_files, bytes_copied = place_windows(rows, camera_units, results)
        video_files += encode_videos(
            plan, target, datasets, rows=rows, features=features, reporter=reporter, workers=workers
        )
    except BaseException:
        cameras.cancel()
        raise
    finally:
        sources.close()
    frame_units = stats.video_stats_units(target, rows, fps)
    if frame_units:
        runner = resolve_backend(
            backend,
            workers,
            units=len(frame_units),
            heavy=len(frame_units) >= _PARALLEL_FRAME_STATS,
        )
        reporter.start("camera stats", len(frame_units))
        try:
            sampled = run_units(
                runner,
                frame_stats,
                frame_units,
                describe=lambda u: f"stats of episode {u.output_index} camera {u.key}",
                on_done=reporter.advance,
            )
        finally:
            reporter.finish()
        stats.set_video_stats(frame_units, sampled)
    episodes_files = write_metadata(
        target,
        info=info,
        rows=rows,
        stats_columns=stats.episode_columns(),
        tasks=list(plan.tasks),
        stats=stats.dataset_stats(read_written(target, writer.paths_written)),
        carried_stats=stats.carried_stats_json(),
        settings=plan.settings,
    )
    num_frames = info["total_frames"]
    return ExecutionResult(
        data_files=tuple(writer.paths_written),
        video_files=tuple(video_files),
        episodes_files=tuple(episodes_files),
        num_episodes=len(rows),
        num_frames=num_frames,
        video_bytes_copied=bytes_copied,
        stats_record=stats.stats_record(),
    )
