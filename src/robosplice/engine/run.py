"""Execute a Plan into a folder: data rows, video packets, then metadata.

Memory holds one episode's rows and one episode's packets at a time, plus the numeric columns
needed for exact dataset stats (no images, no video).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa

from robosplice._types import ProgressReporter
from robosplice.dataset import Dataset
from robosplice.engine.backends import (
    Backend,
    UnitBatch,
    current_options,
    resolve_backend,
    run_units,
)
from robosplice.engine.frame_stats import image_episode_stats, relative_action_stats
from robosplice.engine.meta import write_metadata
from robosplice.engine.progress import resolve_progress
from robosplice.engine.rows import episode_columns_numpy, transform_episode_rows
from robosplice.engine.sources import SourceSet
from robosplice.engine.units import (
    CameraCopyUnit,
    CopySegment,
    FrameStatsUnit,
    copy_camera,
    frame_stats,
    split_by_file,
)
from robosplice.engine.video_encode import encode_videos
from robosplice.errors import InvalidDatasetError
from robosplice.format import info as info_format
from robosplice.format.data import DataFileWriter
from robosplice.format.episodes import video_columns
from robosplice.format.info import INDEX_COLUMNS
from robosplice.format.paths import mebibytes_to_bytes, video_file_path
from robosplice.format.schema import data_schema
from robosplice.format.stats import (
    QUANTILE_KEYS,
    DatasetStats,
    FeatureStats,
    aggregate_feature_stats,
    complete_stats_entry,
    compute_feature_stats,
)
from robosplice.format.stats_columns import EpisodeStatsColumns, stats_column_arrays
from robosplice.format.video import read_packet_index
from robosplice.plan.model import Plan

logger = logging.getLogger(__name__)

_UNLIMITED_MB = float(2**40)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionResult:
    """What the engine wrote (relative paths) and how much."""

    data_files: tuple[str, ...]
    video_files: tuple[str, ...]
    episodes_files: tuple[str, ...]
    num_episodes: int
    num_frames: int
    video_bytes_copied: int


def _passthrough_fields(sources: SourceSet, plan: Plan) -> dict[str, pa.Field]:
    """Fields of dtypes robosplice does not model (kept as the first source stores them)."""
    features = plan.info["features"]
    first = plan.episodes[0].segment if plan.episodes else None
    if first is None:
        return {}
    record = sources.episode(first.source, first.episode_index)
    schema = sources.source_schema(first.source, record.data_position)
    return {
        name: schema.field(name)
        for name, feature in features.items()
        if feature["dtype"] == "language" and name in schema.names
    }


class _StatsCollector:
    """Per-episode stats (carried over or computed) and exact dataset stats.

    Numeric stats are carried from the source for whole episodes and computed from the rows
    otherwise (index columns, added features, trimmed episodes, or `plan.stats.recompute`).
    Camera stats are carried, except for trimmed episodes and the cameras in
    `plan.stats.visual`, which are sampled from the written frames (images from the rows as
    they stream, videos after the video files are closed).
    """

    def __init__(self, plan: Plan, datasets: list[Dataset]) -> None:
        self.plan = plan
        self.datasets = datasets
        features = plan.info["features"]
        self.features = features
        self.stats_names = info_format.stats_feature_names(features)
        self.numeric_names = info_format.numeric_feature_names(features)
        self.numeric_values: dict[str, list[np.ndarray]] = {n: [] for n in self.numeric_names}
        self.episodes: list[DatasetStats] = []
        # (output episode, video key) whose stats are sampled once the video files are written.
        self.pending_video: list[tuple[int, str]] = []
        # Each source's stats/* columns as numpy blocks, made once: an episode's carried stats
        # are views of them, never rebuilt from Python objects.
        self._source_stats: dict[int, EpisodeStatsColumns] = {}
        # Features whose every output episode holds its source episode's values unchanged, with
        # the source's stats carried: stats.json can then be the source's entry, bit for bit.
        self.unchanged: dict[str, bool] = dict.fromkeys(self.stats_names, True)

    def _source_episode_stats(self, source: int, episode_index: int) -> DatasetStats:
        if source not in self._source_stats:
            table = self.datasets[source].episodes_table
            names = [n for n in table.column_names if n.startswith("stats/")]
            self._source_stats[source] = EpisodeStatsColumns(table.select(names))
        return self._source_stats[source].episode(episode_index)

    def _samples_frames(self, name: str, whole: bool, carried: FeatureStats | None) -> bool:
        """Whether camera `name` of an episode gets stats from sampled frames.

        Also when the source episode has none (e.g. 0.6.1 `convert_image_to_video_dataset`
        output): they are rebuilt from the frames.
        """
        if info_format.is_depth_feature(self.features[name]):
            # Depth stats come from the raw depth maps at recording, not from decoded video.
            return False
        return name in self.plan.stats.visual or carried is None or not whole

    def _index_unchanged(self, name: str, output: pa.Table, source: pa.Table | None) -> bool:
        """Whether an index column of the output episode holds the source's values."""
        if source is None or name not in source.column_names:
            return False
        before = source.column(name).to_numpy()
        after = output.column(name).to_numpy()
        return before.dtype == after.dtype and np.array_equal(before, after)

    def episode_stats(
        self, output_index: int, table: pa.Table, source_table: pa.Table | None = None
    ) -> DatasetStats:
        """Stats of one output episode; numeric ones also feed the dataset stats.

        `source_table` holds the source rows `table` was made from: an index column whose values
        did not change (an episode that keeps its number and position) keeps its source stats.
        """
        episode = self.plan.episodes[output_index]
        segment = episode.segment
        source_stats = self._source_episode_stats(segment.source, segment.episode_index)
        numeric = episode_columns_numpy(table, self.features)
        if "timestamp" in numeric:
            # The recorder's stats see float64 frame_index / fps, not the float32 column.
            numeric["timestamp"] = numeric["frame_index"] / float(self.plan.info["fps"])
        kept = episode.whole and segment.step == 1
        stats: DatasetStats = {}
        stale = self.plan.stats.stale_episodes
        for name in self.stats_names:
            source_name = self.plan.columns.source_name(segment.source, name)
            carried = source_stats.get(source_name)
            if (segment.source, segment.episode_index, source_name) in stale:
                carried = None  # disagrees with the rows: rebuilt
            if name in self.numeric_names:
                values = numeric[name]
                self.numeric_values[name].append(values)
                recompute = (
                    self.plan.stats.recompute
                    or not kept
                    or carried is None
                    or name in self.plan.columns.added
                    or (
                        name in INDEX_COLUMNS
                        and not self._index_unchanged(name, table, source_table)
                    )
                )
                if recompute:
                    self.unchanged[name] = False
                stats[name] = compute_feature_stats(values) if recompute else carried
                continue
            if name in self.plan.videos or not kept:
                self.unchanged[name] = False  # encoded anew, or frames cut: other values
            if self._samples_frames(name, episode.whole, carried):
                self.unchanged[name] = False
                if self.features[name]["dtype"] == "video":
                    self.pending_video.append((output_index, name))
                    if carried is not None:
                        stats[name] = carried  # placeholder, replaced in add_video_stats
                    continue
                sampled = image_episode_stats(
                    table.column(name), self.datasets[segment.source].root
                )
                if sampled is not None:
                    stats[name] = sampled
                elif carried is not None:
                    stats[name] = carried
            elif carried is not None:
                stats[name] = carried
            else:
                self.unchanged[name] = False  # e.g. a depth camera without stats: left out
        self.episodes.append(stats)
        return stats

    def video_stats_units(
        self, target: Path, rows: list[dict[str, Any]], fps: float
    ) -> list[FrameStatsUnit]:
        """One unit per pending (episode, camera): its frames are sampled from the written files."""
        units = []
        for output_index, key in self.pending_video:
            chunk, file, start, _ = video_columns(key)
            row = rows[output_index]
            units.append(
                FrameStatsUnit(
                    output_index=output_index,
                    key=key,
                    path=target / video_file_path(key, (int(row[chunk]), int(row[file]))),
                    from_timestamp=float(row[start]),
                    length=int(row["length"]),
                    fps=fps,
                )
            )
        self.pending_video.clear()
        return units

    def set_video_stats(self, units: list[FrameStatsUnit], results: list[FeatureStats]) -> None:
        """Put the sampled cameras' stats in place of the carried placeholders."""
        for unit, result in zip(units, results, strict=True):
            self.episodes[unit.output_index][unit.key] = result

    def episode_columns(self) -> dict[str, pa.Array]:
        """The episodes' stats as `stats/*` columns (one cell per episode), features in feature
        order."""
        return stats_column_arrays(
            [{n: stats[n] for n in self.stats_names if n in stats} for stats in self.episodes]
        )

    def _keeps_every_episode(self) -> bool:
        """Whether the output holds each episode of its single source once, whole."""
        if len(self.datasets) != 1:
            return False
        taken = [
            e.segment.episode_index for e in self.plan.episodes if e.whole and e.segment.step == 1
        ]
        return len(taken) == len(self.plan.episodes) and sorted(taken) == list(
            range(self.datasets[0].num_episodes)
        )

    def _source_dataset_stats(self) -> DatasetStats:
        """The single source's stats.json, renamed, when the output keeps all its episodes whole."""
        if not self._keeps_every_episode():
            return {}
        try:
            stats = self.datasets[0].stats or {}
        except InvalidDatasetError:  # unreadable stats.json: rebuilt from the episodes
            return {}
        stale = self.plan.stats.stale_dataset
        return {
            name: stats[self.plan.columns.source_name(0, name)]
            for name in self.stats_names
            if self.plan.columns.source_name(0, name) in stats
            and (0, self.plan.columns.source_name(0, name)) not in stale
        }

    def carried_stats_json(self) -> dict[str, Any]:
        """stats.json entries kept exactly as the source wrote them (output names, source order).

        An entry is kept when the output holds every source episode whole, this feature's values
        are unchanged in each, and the source's entry is complete (min, max, mean, std, count of
        numbers). Its quantiles are then the source's, whatever method made them.
        """
        if self.plan.stats.recompute or not self._keeps_every_episode():
            return {}
        raw = self.datasets[0].stats_json
        output_names = {self.plan.columns.source_name(0, name): name for name in self.stats_names}
        relative = self.plan.stats.relative_action
        kept = {}
        for source_name, entry in raw.items():
            name = output_names.get(source_name)
            if name is None or not self.unchanged.get(name) or not complete_stats_entry(entry):
                continue
            if (0, source_name) in self.plan.stats.stale_dataset:
                continue
            if relative is not None and name == relative.action:
                continue
            kept[name] = entry
        return kept

    def dataset_stats(self) -> DatasetStats:
        """stats.json: moments aggregated exactly over episodes (parallel variance); quantiles of
        numeric features computed over all their values, never averaged across episodes.

        A feature no episode has stats for keeps the source's stats.json entry when the output
        holds every source episode whole (as 0.6.1 `recompute_stats` keeps what it skips).
        """
        result: DatasetStats = {}
        fallback = self._source_dataset_stats()
        for name in self.stats_names:
            episodes = [stats[name] for stats in self.episodes if name in stats]
            if not episodes:
                if name in fallback:
                    result[name] = fallback[name]
                continue
            shapes = {v.shape for stats in episodes for k, v in stats.items() if k != "count"}
            if len(shapes) > 1 and name not in self.numeric_names:
                # Sources disagree on a camera's stat shape (e.g. (3, 1, 1) factory-style depth
                # stats merged with the recorder's (1, 1, 1)): aggregate in the recorder's shape.
                channels = int(info_format.feature_shape(self.features[name])[-1])
                logger.warning(
                    "%s: episode stats of shapes %s aggregated as (%d, 1, 1)",
                    name,
                    sorted(shapes),
                    channels,
                )
                episodes = [_channel_stats(stats, channels) for stats in episodes]
            merged = aggregate_feature_stats(episodes)
            values = self.numeric_values.get(name)
            if values:
                exact = compute_feature_stats(np.concatenate(values))
                merged.update({key: exact[key] for key in QUANTILE_KEYS if key in exact})
            result[name] = merged
        relative = self.plan.stats.relative_action
        if relative is not None and self.numeric_values.get(relative.action):
            result[relative.action] = relative_action_stats(
                self.numeric_values[relative.action],
                self.numeric_values[relative.state],
                chunk_size=relative.chunk_size,
                mask=relative.mask,
            )
        return result


def _channel_stats(stats: FeatureStats, channels: int) -> FeatureStats:
    """A camera's (k, 1, 1) stats as (channels, 1, 1): spread one channel, or pool k into one."""
    result: FeatureStats = {}
    for key, value in stats.items():
        array = np.asarray(value)
        if key == "count" or array.ndim != 3 or array.shape[0] == channels:
            result[key] = array
        elif array.shape[0] == 1:
            result[key] = np.broadcast_to(array, (channels, *array.shape[1:])).copy()
        elif channels == 1:
            pool = {"min": np.min, "max": np.max}.get(key, np.mean)
            result[key] = pool(array, axis=0, keepdims=True)
        else:
            result[key] = array
    return result


def _episode_tasks(task_index: np.ndarray, tasks: tuple[str, ...]) -> list[str]:
    """Unique tasks of an episode in order of first appearance (deterministic, unlike a set)."""
    _, first = np.unique(task_index, return_index=True)
    return [tasks[int(task_index[i])] for i in sorted(first)]


# Work below these sizes runs in this process unless a backend is asked for: a pool's start-up
# costs more than it saves.
_PARALLEL_VIDEO_BYTES = 32 * 2**20
_PARALLEL_FRAME_STATS = 16


def _file_episodes(dataset: Dataset, key: str) -> dict[tuple[int, int], list[int]]:
    """Source episodes of each video file of camera `key`, in the order they sit in the file."""
    files: dict[tuple[int, int], list[tuple[float, int]]] = {}
    for record in dataset.episodes:
        window = record.videos.get(key)
        if window is not None:
            files.setdefault(window.position, []).append(
                (window.from_timestamp, record.episode_index)
            )
    return {position: [e for _, e in sorted(pairs)] for position, pairs in files.items()}


def _camera_unit(
    plan: Plan, datasets: list[Dataset], target: Path, key: str, *, link_files: bool
) -> CameraCopyUnit:
    """The copy unit of camera `key`, marking runs of episodes that keep a source file whole.

    A run qualifies when it is every episode of one source file, whole and in order, and the
    file's packets are under the size limit and fill it enough that packet copy would start a
    new file after them anyway (or files are kept apart): then the file is copied as it is.
    """
    settings = plan.settings
    limit = mebibytes_to_bytes(settings.video_files_size_in_mb)
    segments: list[CopySegment] = []
    layouts: dict[int, dict[tuple[int, int], list[int]]] = {}
    payload_bytes: dict[Path, int] = {}
    for episode in plan.episodes:
        segment = episode.segment
        source_key = plan.columns.source_name(segment.source, key)
        dataset = datasets[segment.source]
        window = dataset.episodes[segment.episode_index].videos[source_key]
        segments.append(
            CopySegment(
                source=segment.source,
                path=dataset.video_path(source_key, window.position),
                from_timestamp=window.from_timestamp,
                to_timestamp=window.to_timestamp,
                start=segment.start,
                stop=segment.stop,
            )
        )
    number = 0
    while number < len(plan.episodes):
        episode = plan.episodes[number]
        segment = episode.segment
        source_key = plan.columns.source_name(segment.source, key)
        if segment.source not in layouts:
            layouts[segment.source] = _file_episodes(datasets[segment.source], source_key)
        position = datasets[segment.source].episodes[segment.episode_index].videos[source_key]
        in_file = layouts[segment.source][position.position]
        if in_file[0] != segment.episode_index:  # a whole file's run starts at its first episode
            number += 1
            continue
        run = plan.episodes[number : number + len(in_file)]
        # Payload bytes, as the writer counts them against the limit (the index is the one
        # pre-flight validation read).
        path = segments[number].path
        if path not in payload_bytes:
            payload_bytes[path] = int(read_packet_index(path).size_bytes.sum())
        size = payload_bytes[path]
        full = size * (1 + 1 / len(in_file)) >= limit or not settings.concatenate_videos
        if (
            size < limit
            and full
            and [e.segment.episode_index for e in run] == in_file
            and all(
                e.whole and e.segment.step == 1 and e.segment.source == segment.source for e in run
            )
            and _frames_in_file(segments[number].path) == sum(e.segment.length for e in run)
        ):
            segments[number] = replace(segments[number], whole_file=True, run_length=len(run))
            number += len(run)
        else:
            number += 1
    in_whole_run = [False] * len(segments)  # segments copied as part of a whole file
    for start, segment in enumerate(segments):
        if segment.whole_file:
            in_whole_run[start : start + segment.run_length] = [True] * segment.run_length
    copied = {s.path for n, s in enumerate(segments) if not in_whole_run[n]}
    # Indexes only demuxing could build travel with the unit (pre-flight validation read them);
    # a unit reads the others from the mp4 tables itself, in milliseconds, so the unit stays
    # small however many files the camera has.
    demuxed = {
        path: index for path in sorted(copied) if (index := read_packet_index(path)).track is None
    }
    return CameraCopyUnit(
        indexes=demuxed,
        key=key,
        target=target,
        fps=float(plan.info["fps"]),
        segments=tuple(segments),
        file_size_mb=settings.video_files_size_in_mb,
        chunks_size=settings.chunks_size,
        concatenate=settings.concatenate_videos,
        link_files=link_files,
    )


def _frames_in_file(path: Path) -> int:
    """Frames the mp4 header declares (reads the header only; -1 if it cannot say)."""
    try:
        with av.open(str(path)) as container:
            return int(container.streams.video[0].frames) or -1
    except (av.error.FFmpegError, IndexError, OSError):
        return -1


def execute(
    plan: Plan,
    target: Path,
    *,
    progress: ProgressReporter | None = None,
    workers: int | None = None,
    backend: str | Backend | None = None,
    link_files: bool | None = None,
) -> ExecutionResult:
    """Write the dataset `plan` describes into the empty folder `target`.

    Work units (each copied camera; each episode whose camera stats are sampled from frames)
    run on `backend` with `workers` workers (engine/backends.py: serial, process, ray; None:
    `execution(...)`'s, else chosen by size) while this process streams the data rows; the
    finalize (metadata, stats, info.json) runs here. `workers` threads also encode the cameras
    of `plan.videos`. `link_files` hard-links source video files kept whole instead of copying.
    Every backend writes the same bytes.
    """
    reporter = resolve_progress(progress)
    options = current_options()
    if link_files is None:
        link_files = options.link_files
    datasets = [Dataset(root) for root in plan.sources]
    sources = SourceSet(datasets)
    info = info_format.copy_info(dict(plan.info))
    features = info["features"]
    fps = float(info["fps"])
    settings = plan.settings
    schema = data_schema(features, _passthrough_fields(sources, plan))
    task_maps = [np.asarray(m, dtype=np.int64) for m in plan.task_maps]
    task_positions = {task: i for i, task in enumerate(plan.tasks)}
    stats = _StatsCollector(plan, datasets)
    rows: list[dict[str, Any]] = []
    copied_keys = [k for k in info_format.video_keys(features) if k not in plan.videos]
    camera_units = [
        part
        for key in (copied_keys if plan.episodes else [])
        for part in split_by_file(_camera_unit(plan, datasets, target, key, link_files=link_files))
    ]
    video_bytes = sum(
        s.path.stat().st_size
        for u in camera_units
        for s in {x.path: x for x in u.segments}.values()
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
        writer = DataFileWriter(
            target,
            schema,
            # keep_data_files: source files are not split (they met a limit when written).
            file_size_mb=_UNLIMITED_MB
            if settings.keep_data_files
            else settings.data_files_size_in_mb,
            chunks_size=settings.chunks_size,
        )
        reporter.start("data", len(plan.episodes))
        global_start = 0
        previous_file: tuple[int, tuple[int, int]] | None = None
        try:
            for output_index, episode in enumerate(plan.episodes):
                segment = episode.segment
                record = sources.episode(segment.source, segment.episode_index)
                source_file = (segment.source, record.data_position)
                apart = not settings.concatenate_data or settings.keep_data_files
                if apart and previous_file not in (None, source_file):
                    writer.start_new_file()
                previous_file = source_file
                table = sources.read_episode_rows(
                    segment.source, segment.episode_index, segment.start, segment.stop
                )
                if segment.step != 1:  # change_fps: keep every step-th frame
                    table = table.take(np.arange(0, table.num_rows, segment.step))
                output = transform_episode_rows(
                    table,
                    schema=schema,
                    features=features,
                    source_number=segment.source,
                    columns=plan.columns,
                    output_episode_index=output_index,
                    global_start=global_start,
                    fps=fps,
                    task_map=task_maps[segment.source],
                    task_override=(
                        task_positions[episode.task_override] if episode.task_override else None
                    ),
                )
                position = writer.write_episode(output)
                task_index = output.column("task_index").to_numpy()
                rows.append(
                    {
                        "episode_index": output_index,
                        "tasks": _episode_tasks(task_index, plan.tasks),
                        "length": output.num_rows,
                        "data/chunk_index": position[0],
                        "data/file_index": position[1],
                        "dataset_from_index": global_start,
                        "dataset_to_index": global_start + output.num_rows,
                    }
                )
                stats.episode_stats(output_index, output, table)
                global_start += output.num_rows
                reporter.advance()
        finally:
            writer.close()
            reporter.finish()
        video_files: list[str] = []
        bytes_copied = 0
        reporter.start("video", len(camera_units))
        try:
            results = cameras.results(on_done=reporter.advance)
        finally:
            reporter.finish()
        filled: dict[str, int] = {}  # per camera: output episodes placed so far
        for unit, result in zip(camera_units, results, strict=True):
            chunk, file, start, end = video_columns(unit.key)
            first = filled.get(unit.key, 0)
            filled[unit.key] = first + len(result.windows)
            for row, written in zip(rows[first : filled[unit.key]], result.windows, strict=True):
                row.update(
                    {
                        chunk: written.position[0],
                        file: written.position[1],
                        start: written.from_timestamp,
                        end: written.to_timestamp,
                    }
                )
            video_files += result.files
            bytes_copied += result.bytes_copied
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
        stats=stats.dataset_stats(),
        carried_stats=stats.carried_stats_json(),
        settings=settings,
    )
    num_frames = info["total_frames"]
    return ExecutionResult(
        data_files=tuple(writer.paths_written),
        video_files=tuple(video_files),
        episodes_files=tuple(episodes_files),
        num_episodes=len(rows),
        num_frames=num_frames,
        video_bytes_copied=bytes_copied,
    )
