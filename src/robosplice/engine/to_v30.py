"""Convert a v2.1/v2.0 dataset into a v3.0 folder: rows streamed, video packets copied.

Each per-episode mp4 is appended to its camera's v3 file by packet copy (`VideoFileSequence`):
pts and dts shift by the integer tick count written so far, so an episode's `from_timestamp`
is exactly `frames_before / fps` and never drifts (the official converter's concat demuxer
accumulates µs rounding, conversion.md §2.3). Each episode's rows become one row group, values
and order untouched. Per-episode stats are carried value for value from episodes_stats.jsonl
(`format/v21_stats.py`).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice._types import ProgressReporter
from robosplice.engine.meta import episodes_schema
from robosplice.engine.progress import resolve_progress
from robosplice.engine.rows import nest_flat
from robosplice.engine.video_copy import VideoFileSequence, ending
from robosplice.errors import InvalidDatasetError, Problem, VideoError
from robosplice.format import info as info_format
from robosplice.format.data import DataFileWriter
from robosplice.format.episodes import video_columns, write_episodes
from robosplice.format.info import Features
from robosplice.format.packet_ranges import plan_packet_range
from robosplice.format.paths import STATS_PATH, video_file_path
from robosplice.format.schema import column_values, data_schema, dtype_of_arrow, leaf_type
from robosplice.format.tasks import write_tasks
from robosplice.format.timing import TOLERANCE_S
from robosplice.format.v2_repair import V2Repairs, inexact_values, repair_episode_table
from robosplice.format.v21 import (
    V2Source,
    carried_files,
    owned_v2_files,
    v2_extra_layout_files,
    v30_info_from_v2,
)
from robosplice.format.v21_stats import (
    dataset_stats_json,
    stats_columns,
    stats_fields,
    v20_episode_stats,
)
from robosplice.format.video import PacketIndex, PacketReader, read_packet_index


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvertedFiles:
    """What a conversion wrote besides the layout's own files."""

    carried: tuple[str, ...]
    data_files: tuple[str, ...]
    video_files: tuple[str, ...]


def copy_carried(root: Path, target: Path, relatives: list[str]) -> None:
    """Copy files verbatim from `root` to the same relative paths under `target`."""
    for relative in relatives:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, destination)


def check_v2_files(source: V2Source) -> list[Problem]:
    """Every file the episodes need is there and no stray episode file is (no video is read:
    the copy checks each video as it reads it, see `index_problem`)."""
    problems: list[Problem] = []
    for episode in source.episodes:
        where = f"episode {episode.episode_index}"
        data = source.data_path(episode.episode_index)
        if not data.is_file():
            problems.append(
                Problem(
                    file=data.relative_to(source.root).as_posix(),
                    loc=where,
                    kind="missing_file",
                    message="the episode's data file is missing",
                )
            )
        for key in source.video_keys:
            path = source.video_path(key, episode.episode_index)
            relative = path.relative_to(source.root).as_posix()
            if not path.is_file():
                problems.append(
                    Problem(
                        file=relative,
                        loc=where,
                        kind="missing_file",
                        message=f"the episode's video of {key} is missing",
                    )
                )
                continue
    problems += [
        Problem(
            file=relative,
            loc="",
            kind="extra_file",
            message="not the file of any episode in meta/episodes.jsonl (a v2.1 loader would"
            " read it too); remove it or add its episode",
        )
        for relative in v2_extra_layout_files(source)
    ]
    return problems


def index_problem(index: PacketIndex, length: int, fps: float) -> str | None:
    """Why a per-episode video cannot be concatenated as is, or None.

    It must hold at least `length` frames, the first at pts 0 and frame k at k/fps within the
    loader's tolerance (the v2.1 loader queried it at the parquet timestamps)."""
    if index.num_packets < length:
        return f"expected at least {length} frames (the episode's length), got {index.num_packets}"
    seconds = np.sort(index.pts).astype(np.float64)[:length] * float(index.facts.time_base)
    expected = np.arange(length) / fps
    off = np.flatnonzero(np.abs(seconds - expected) > TOLERANCE_S)
    if len(off):
        k = int(off[0])
        return (
            f"frame {k} is at {seconds[k]:.6f}s, expected {expected[k]:.6f}s (k/fps): the"
            " per-episode video must start at 0 with one frame every 1/fps"
        )
    return None


def _check_rows(table: pa.Table, episode_index: int, start: int, fps: float, tasks: int) -> None:
    """Index columns of one v2 episode are what its position says; raise naming the episode."""
    problems = []
    rows = table.num_rows
    expected = {
        "episode_index": np.full(rows, episode_index),
        "frame_index": np.arange(rows),
        "index": np.arange(start, start + rows),
    }
    for name, want in expected.items():
        got = table.column(name).to_numpy()
        if not np.array_equal(got, want):
            k = int(np.flatnonzero(got != want)[0])
            problems.append(f"{name} of row {k} is {got[k]}, expected {want[k]}")
    timestamps = table.column("timestamp").to_numpy().astype(np.float64)
    off = np.flatnonzero(np.abs(timestamps - np.arange(rows) / fps) > TOLERANCE_S)
    if len(off):
        k = int(off[0])
        problems.append(f"timestamp of frame {k} is {timestamps[k]}, expected {k / fps:.6f}")
    task_index = table.column("task_index").to_numpy()
    if rows and (task_index.min() < 0 or task_index.max() >= tasks):
        problems.append(f"task_index values must be 0..{tasks - 1}")
    if problems:
        raise InvalidDatasetError(
            f"episode {episode_index}: its rows do not match its position; nothing was written",
            [
                Problem(file=f"episode {episode_index}", loc="", kind="bad_index", message=message)
                for message in problems
            ],
        )


def cast_rows(table: pa.Table, schema: pa.Schema, features: Features, where: str) -> pa.Table:
    """Columns of `schema` from `table`, values unchanged, types the recorder's."""
    missing = [f.name for f in schema if f.name not in table.column_names]
    extra = [n for n in table.column_names if n not in schema.names]
    if missing or extra:
        raise InvalidDatasetError(
            f"{where}: the columns do not match info.json features (missing {missing}, not in"
            f" features {extra}); nothing was written"
        )
    arrays = []
    for field in schema:
        column = table.column(field.name)
        if column.type != field.type:
            _refuse_inexact_cast(column, field, where)
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                shape = info_format.feature_shape(features[field.name])
                values = column_values(column, shape)
                flat = pa.array(np.asarray(values).reshape(-1), type=leaf_type(field.type))
                column = pa.chunked_array([nest_flat(flat, field.type, values.shape[1:])])
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=schema)


def _refuse_inexact_cast(column: pa.ChunkedArray, field: pa.Field, where: str) -> None:
    """A cast to the declared dtype must keep every value (issue 21: nothing silently lost)."""
    declared = dtype_of_arrow(leaf_type(field.type))
    if declared is None or declared in ("bool", "string"):
        return
    wrong = inexact_values(column, declared)
    if len(wrong):
        raise InvalidDatasetError(
            f"{where}: `{field.name}` is stored as {column.type} and {len(wrong)} of its values"
            f" (e.g. {wrong[0].item()!r}) do not survive the cast to the declared {declared};"
            " nothing was written. 'robosplice repair' declares what is stored and keeps them"
        )


def convert_v2_to_v30(
    source: V2Source,
    target: Path,
    *,
    data_files_size_in_mb: float,
    video_files_size_in_mb: float,
    progress: ProgressReporter | None = None,
    repairs: V2Repairs | None = None,
) -> ConvertedFiles:
    """Write the v3.0 form of `source` into the empty folder `target` (with `repairs` applied to
    its rows; its info is already `repairs.repaired_source`'s, see `format.v2_repair`).

    Raises:
        InvalidDatasetError: files missing or stray, rows not matching their episode, videos
            not starting at 0 or not one frame per 1/fps (every problem found is listed).
    """
    reporter = resolve_progress(progress)
    problems = check_v2_files(source)
    if problems:
        raise InvalidDatasetError(
            f"{source.root} cannot be converted ({len(problems)} problem(s)); nothing was written:",
            problems,
        )
    info = v30_info_from_v2(
        source.info,
        data_files_size_in_mb=data_files_size_in_mb,
        video_files_size_in_mb=video_files_size_in_mb,
    )
    features = info["features"]
    fps = float(info["fps"])
    chunks_size = int(info["chunks_size"])
    schema = data_schema(features)
    rows: list[dict[str, Any]] = []
    episode_stats: list[dict[str, dict[str, Any]]] = []
    writer = DataFileWriter(
        target, schema, file_size_mb=data_files_size_in_mb, chunks_size=chunks_size
    )
    reporter.start("data", len(source.episodes))
    start = 0
    try:
        for episode in source.episodes:
            number = episode.episode_index
            path = source.data_path(number)
            where = path.relative_to(source.root).as_posix()
            # One small file per episode: ParquetFile without threads is ~9x faster than read_table.
            table = pq.ParquetFile(path).read(use_threads=False)
            if repairs:
                tasks = episode.row.get("tasks") or []
                table = repair_episode_table(
                    table,
                    repairs,
                    episode_index=number,
                    start=start,
                    fps=fps,
                    task_index=source.tasks.index(tasks[0])
                    if len(tasks) == 1 and tasks[0] in source.tasks
                    else None,
                )
            if table.num_rows != episode.length:
                raise InvalidDatasetError(
                    f"{where}: episode {number} has {table.num_rows} rows but length"
                    f" {episode.length} in meta/episodes.jsonl; nothing was written"
                )
            output = cast_rows(table, schema, features, where)
            _check_rows(output, number, start, fps, len(source.tasks))
            position = writer.write_episode(output)
            tasks = episode.row.get("tasks")
            if tasks is None:  # not written by every v2.0 tool: derive it from task_index
                task_index = output.column("task_index").to_numpy()
                _, first = np.unique(task_index, return_index=True)
                tasks = [source.tasks[int(task_index[i])] for i in sorted(first)]
            row: dict[str, Any] = {
                "episode_index": number,
                "tasks": tasks,
                "length": episode.length,
            }
            row.update(
                {
                    "data/chunk_index": position[0],
                    "data/file_index": position[1],
                    "dataset_from_index": start,
                    "dataset_to_index": start + episode.length,
                }
            )
            row.update(
                {
                    k: v
                    for k, v in episode.row.items()
                    if k not in ("episode_index", "tasks", "length")
                }
            )
            stats = episode.stats
            if stats is None:
                stats = v20_episode_stats(source, output, features, episode.length)
            else:  # exporters leave out the stats of columns they added (GR00T annotations)
                stale = ("timestamp",) if repairs and repairs.rewrite_timestamps else ()
                lacking = [
                    name
                    for name in info_format.stats_feature_names(features)
                    if (name not in stats or name in stale)
                    and features[name]["dtype"] not in info_format.VISUAL_DTYPES
                ]
                if lacking:
                    derived = v20_episode_stats(
                        source, output, features, episode.length, names=lacking
                    )
                    stats = {**stats, **derived}
            episode_stats.append(stats)
            row.update(stats_columns(stats))
            rows.append(row)
            start += episode.length
            reporter.advance()
    finally:
        writer.close()
        reporter.finish()
    video_files = _copy_videos(source, target, rows, fps, info, reporter)
    extras = list(
        dict.fromkeys(
            key
            for episode in source.episodes
            for key in episode.row
            if key not in ("episode_index", "tasks", "length")
        )
    )
    _write_episodes(target, rows, source.video_keys, extras)
    write_tasks(target, source.tasks)
    info["total_episodes"] = len(rows)
    info["total_frames"] = start
    info["total_tasks"] = len(source.tasks)
    info["splits"] = {"train": f"0:{len(rows)}"}
    info_format.write_info(target, info)
    (target / STATS_PATH).write_text(
        json.dumps(dataset_stats_json(episode_stats, source.global_stats), indent=4),
        encoding="utf-8",
    )
    carried = carried_files(source.root, owned_v2_files(source))
    copy_carried(source.root, target, carried)
    return ConvertedFiles(
        carried=tuple(carried),
        data_files=tuple(writer.paths_written),
        video_files=tuple(video_files),
    )


def _copy_videos(
    source: V2Source,
    target: Path,
    rows: list[dict[str, Any]],
    fps: float,
    info: dict[str, Any],
    reporter: ProgressReporter,
) -> list[str]:
    """Append every episode file to its camera's v3 files; every unusable video is reported
    together at the end (the output is still in staging, so nothing is published)."""
    written: list[str] = []
    problems: list[Problem] = []
    for key in source.video_keys:
        sequence = VideoFileSequence(
            target,
            lambda position, key=key: target / video_file_path(key, position),
            file_size_mb=float(info["video_files_size_in_mb"]),
            chunks_size=int(info["chunks_size"]),
        )
        reporter.start(f"video {key}", len(source.episodes))
        try:
            with ending([sequence]):
                for episode, row in zip(source.episodes, rows, strict=True):
                    path = source.video_path(key, episode.episode_index)
                    where = f"episode {episode.episode_index}"
                    relative = path.relative_to(source.root).as_posix()
                    try:
                        index = read_packet_index(path)
                    except (VideoError, OSError) as exc:
                        problems.append(
                            Problem(file=relative, loc=where, kind="bad_video", message=str(exc))
                        )
                        continue
                    problem = index_problem(index, episode.length, fps)
                    if problem is not None:
                        problems.append(
                            Problem(file=relative, loc=where, kind="bad_video", message=problem)
                        )
                        continue
                    if problems:
                        continue  # the output will not be published: only look for problems
                    packet_range = plan_packet_range(
                        index,
                        from_timestamp=0.0,
                        fps=fps,
                        start=0,
                        stop=episode.length,
                        where=f"{path} (camera {key}, {where})",
                    )
                    reader = PacketReader(path)  # opened only if the file is not copied as bytes
                    try:
                        window = sequence.append(
                            index,
                            packet_range,
                            lambda span=packet_range, reader=reader: (
                                list(reader.packets(span.first, span.stop)),
                                reader.stream,
                            ),
                        )
                    finally:
                        reader.close()
                    chunk, file, start, end = video_columns(key)
                    row.update(
                        {
                            chunk: window.position[0],
                            file: window.position[1],
                            start: window.from_timestamp,
                            end: window.to_timestamp,
                        }
                    )
                    reporter.advance()
        finally:
            reporter.finish()
        written += [p.relative_to(target).as_posix() for p in sequence.paths_written]
    if problems:
        raise InvalidDatasetError(
            f"{source.root} cannot be converted ({len(problems)} video problem(s)); nothing was"
            " written:",
            problems,
        )
    return written


def _write_episodes(
    target: Path, rows: list[dict[str, Any]], video_keys: list[str], extras: list[str]
) -> list[str]:
    """meta/episodes in the recorder's column order, extra episodes.jsonl keys after `length`."""
    base = episodes_schema(video_keys, [])
    extra_fields = []
    for name in extras:
        values = [row.get(name) for row in rows]
        try:
            extra_fields.append(pa.field(name, pa.array(values).type))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidDatasetError(
                f"meta/episodes.jsonl: the values of {name!r} have no common type ({exc})"
            ) from exc
    fields = list(base)
    at = fields.index(base.field("length")) + 1
    fields[at:at] = extra_fields
    meta = fields[-2:]
    fields = fields[:-2] + stats_fields(rows) + meta
    return write_episodes(target, rows, pa.schema(fields))
