"""Family "data": data/*/*.parquet streamed by row group — columns, types, index, frame numbering,
timestamps, task indices, episode runs; with decode, every embedded image."""

from __future__ import annotations

import io
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from robosplice.checks._common import LOADER as _LOADER
from robosplice.checks._common import (
    PARQUET_ERRORS,
    height_width,
    list_episodes,
    short,
)
from robosplice.checks._common import WRONG as _WRONG
from robosplice.checks.context import Context, DataSummary, EpisodeRows, Span
from robosplice.checks.kinds import Kind
from robosplice.format.data import data_files, data_template, iter_row_groups
from robosplice.format.info import (
    DEFAULT_FEATURE_NAMES,
    DEFAULT_FEATURES,
    NON_STATS_DTYPES,
    VISUAL_DTYPES,
    Features,
    data_column_names,
    image_keys,
)
from robosplice.format.paths import format_template
from robosplice.format.schema import scalar_arrow_type
from robosplice.format.timing import TOLERANCE_S

__all__ = ["KINDS", "run"]

KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="extra_column", severity="error",
         meaning="a data file has a column that is not a feature",
         why="the loader's cast to the features fails"),
    Kind(name="index_not_contiguous", severity="error",
         meaning="`index` is not the row position 0..N-1 across data files in order",
         why=f"{_WRONG}: frames are looked up by index"),
    Kind(name="bad_frame_index", severity="error",
         meaning="frame_index does not run 0..length-1 within an episode", why=_WRONG),
    Kind(name="bad_timestamp", severity="error",
         meaning="timestamp differs from frame_index / fps by more than 1e-4 s",
         why="video frames are looked up at this time: FrameTimestampError or wrong frames"),
    Kind(name="unknown_task_index", severity="error",
         meaning="a frame's task_index is not a row of meta/tasks.parquet",
         why=f"{_LOADER} when it reads that frame's task"),
    Kind(name="episode_not_contiguous", severity="error",
         meaning="an episode's data rows are split into several runs or files",
         why=f"{_WRONG}: an episode is one range of rows"),
    Kind(name="undecodable_image", severity="error",
         meaning="with decode=True, an embedded image does not decode to the feature's size",
         why=f"{_LOADER} or {_WRONG}"),
)  # fmt: skip
"""The kinds this family reports: severity, and why, beside the checks below."""

_ROW_COLUMNS: Final = ("episode_index", "frame_index", "timestamp", "index", "task_index")
_NO_EPISODE: Final = np.iinfo(np.int64).min


def run(ctx: Context) -> None:
    """Stream the data files; later families get each episode's row span (`ctx.summary`)."""
    ctx.summary = ctx.guarded(
        "data",
        DataSummary(complete=False),
        lambda: _check_data(ctx, ctx.features, ctx.fps, ctx.tasks, ctx.episodes),
    )


def _check_data(
    ctx: Context,
    features: Features,
    fps: float | None,
    tasks: list[str] | None,
    episodes: EpisodeRows | None,
) -> DataSummary:
    """Stream the data files: columns, types, index, frame numbering, timestamps, tasks."""
    summary = DataSummary()
    if episodes is not None:
        _check_referenced_data_files(ctx, episodes, summary)
    files = data_files(ctx.root)
    if not files:
        ctx.report("data", "", "missing_file", "no data/*/*.parquet files; the loader needs them")
        summary.complete = False
        return summary
    expected = data_column_names(features)
    expected += [name for name in DEFAULT_FEATURE_NAMES if name not in expected]
    state = _RowState()
    ctx.start_phase("Checking data files", len(files))
    for path in files:
        _check_data_file(ctx, path, features, expected, fps, tasks, summary, state)
        ctx.advance()
    ctx.finish_phase()
    if summary.complete:
        ctx.findings.extend(summary.index_findings)
    return summary


def _check_referenced_data_files(ctx: Context, episodes: EpisodeRows, summary: DataSummary) -> None:
    missing: dict[str, list[str]] = {}
    chunks = episodes.columns["data/chunk_index"]
    file_numbers = episodes.columns["data/file_index"]
    template = data_template(ctx.root, ctx.info or {})
    found: dict[tuple[int, int], tuple[str, bool]] = {}  # a few files for many episodes
    for row, (chunk, number) in enumerate(zip(chunks, file_numbers, strict=True)):
        if chunk is None or number is None:
            continue
        position = (int(chunk), int(number))
        if position not in found:
            relative = format_template(template, position)
            found[position] = relative, (ctx.root / relative).is_file()
        relative, exists = found[position]
        if not exists:
            missing.setdefault(relative, []).append(episodes.where(row))
    for relative, where in missing.items():
        summary.complete = False
        ctx.report(
            relative,
            where[0],
            "missing_file",
            f"referenced by {list_episodes(where)} but missing; without it the loader"
            " goes to the Hub; restore the file or delete those episodes",
        )


def _check_data_file(
    ctx: Context,
    path: Path,
    features: Features,
    expected: list[str],
    fps: float | None,
    tasks: list[str] | None,
    summary: DataSummary,
    state: _RowState,
) -> None:
    relative = ctx.relative(path)
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except PARQUET_ERRORS as exc:
        ctx.report(relative, "", "corrupt_parquet", f"cannot read Parquet ({exc})")
        summary.complete = False
        return
    names = schema.names
    for name in names:
        if name not in expected:
            ctx.report(
                relative,
                name,
                "extra_column",
                f"column {name!r} is not a feature in meta/info.json; the loader's cast"
                " fails on it; drop the column or declare the feature",
            )
    for name in expected:
        if name not in names:
            ctx.report(
                relative,
                name,
                "missing_column",
                f"expected column {name!r} (a non-video feature), got none",
            )
        else:
            _check_column_type(ctx, relative, name, schema.field(name).type, features)
    if "episode_index" not in names:
        summary.complete = False
        return
    columns = [name for name in _ROW_COLUMNS if name in names]
    if ctx.decode:
        columns = list(names)
    try:
        for table in iter_row_groups(parquet, columns):
            _check_rows(ctx, relative, table, fps, tasks, summary, state)
            if ctx.decode:
                _check_images(ctx, relative, table, features)
    except PARQUET_ERRORS as exc:
        ctx.report(relative, "", "corrupt_parquet", f"cannot read Parquet ({exc})")
        summary.complete = False


def _check_column_type(
    ctx: Context, relative: str, name: str, actual: pa.DataType, features: Features
) -> None:
    feature = features.get(name, DEFAULT_FEATURES.get(name))
    if not isinstance(feature, dict):
        return
    expected = _type_mismatch(actual, feature)
    if expected is not None:
        ctx.report(
            relative,
            name,
            "bad_column_type",
            f"expected {expected} for dtype {feature.get('dtype')!r} shape"
            f" {feature.get('shape')}, got Arrow type {actual}; the loader cannot cast it",
        )


def _check_rows(
    ctx: Context,
    relative: str,
    table: pa.Table,
    fps: float | None,
    tasks: list[str] | None,
    summary: DataSummary,
    state: _RowState,
) -> None:
    """Index, frame numbering, timestamps and tasks of one row group."""
    count = table.num_rows
    if count == 0:
        return
    start = summary.total_rows
    positions = np.arange(start, start + count, dtype=np.int64)
    values = {
        name: _column_numpy(ctx, relative, table, name)
        for name in _ROW_COLUMNS
        if name in table.column_names
    }
    episode = values["episode_index"].astype(np.int64)
    previous = np.empty(count, dtype=np.int64)
    previous[0] = state.episode
    previous[1:] = episode[:-1]
    run_starts = episode != previous
    run_start_rows = np.where(run_starts, positions, -1)
    run_start_rows[0] = positions[0] if run_starts[0] else state.run_start
    run_start_rows = np.maximum.accumulate(run_start_rows)
    frame_position = positions - run_start_rows
    _track_spans(ctx, relative, episode, run_starts, positions, values, summary, state)
    if "index" in values and relative not in state.index_reported:
        wrong = np.flatnonzero(values["index"] != positions)
        if len(wrong):
            state.index_reported.add(relative)
            row = int(wrong[0])
            got = int(values["index"][row])
            what = "a duplicate" if got < positions[row] else "a gap"
            summary.index_findings.append(
                ctx.finding(
                    file=relative,
                    loc=f"episode {int(episode[row])}",
                    kind="index_not_contiguous",
                    message=f"row {int(positions[row])} (frame {int(frame_position[row])}):"
                    f" expected index {int(positions[row])}, got {got} ({what}); index must"
                    " be the row position 0..N-1 across data files in sorted order;"
                    " the data rows are out of order or missing; this dataset must be regenerated"
                    " or repaired",
                )
            )
    if "frame_index" in values:
        wrong_rows = np.flatnonzero(values["frame_index"] != frame_position)
        for row in _first_per_episode(episode, wrong_rows, state.frame_reported):
            ctx.report(
                relative,
                f"episode {int(episode[row])}",
                "bad_frame_index",
                f"frame {int(frame_position[row])} (row {int(positions[row])}): expected"
                f" frame_index {int(frame_position[row])}, got {int(values['frame_index'][row])};"
                " frame_index must run 0..length-1 within each episode",
            )
    if "timestamp" in values and fps is not None:
        timestamps = values["timestamp"]
        # Compare with the value as the writer stored it: float32 rounding alone exceeds
        # 1e-4 s past 2048 s (FORMAT.md §3.4), and that is no fault of the file.
        expected_time = (frame_position / fps).astype(timestamps.dtype).astype(np.float64)
        timestamps = timestamps.astype(np.float64)
        wrong_rows = np.flatnonzero(~(np.abs(timestamps - expected_time) <= TOLERANCE_S))
        for row in _first_per_episode(episode, wrong_rows, state.time_reported):
            ctx.report(
                relative,
                f"episode {int(episode[row])}",
                "bad_timestamp",
                f"frame {int(frame_position[row])} (row {int(positions[row])}): expected"
                f" timestamp {expected_time[row]:.6f} (frame_index / fps), got"
                f" {timestamps[row]:.6f}; video frames are looked up at this time, so the"
                " loader raises FrameTimestampError; recompute the column",
            )
    if "task_index" in values and tasks is not None:
        task_index = values["task_index"]
        wrong_rows = np.flatnonzero((task_index < 0) | (task_index >= len(tasks)))
        for row in _first_per_episode(episode, wrong_rows, state.task_reported):
            ctx.report(
                relative,
                f"episode {int(episode[row])}",
                "unknown_task_index",
                f"frame {int(frame_position[row])} (row {int(positions[row])}): expected a"
                f" task_index in 0..{len(tasks) - 1} (rows of meta/tasks.parquet), got"
                f" {int(task_index[row])}; add the task or fix the frame's task_index",
            )
    state.episode = int(episode[-1])
    state.run_start = int(run_start_rows[-1])
    summary.total_rows += count


def _column_numpy(ctx: Context, relative: str, table: pa.Table, name: str) -> npt.NDArray[Any]:
    """A scalar index column as numpy; nulls are reported and read as -1."""
    column = table.column(name)
    if column.null_count:
        ctx.report(
            relative,
            name,
            "missing_value",
            f"expected no nulls in {name!r}, got {column.null_count}",
        )
        column = pc.fill_null(column, -1)
    if pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type):
        column = pc.list_flatten(column)
    return np.asarray(column.to_numpy())


def _track_spans(
    ctx: Context,
    relative: str,
    episode: npt.NDArray[np.int64],
    run_starts: npt.NDArray[np.bool_],
    positions: npt.NDArray[np.int64],
    values: dict[str, npt.NDArray[Any]],
    summary: DataSummary,
    state: _RowState,
) -> None:
    """Record each episode's row range and tasks; report episodes split into several runs."""
    boundaries = [0, *np.flatnonzero(run_starts[1:]) + 1, len(episode)]
    task_index = values.get("task_index")
    run_tasks = _run_tasks(task_index, boundaries) if task_index is not None else None
    for run, (first, stop) in enumerate(itertools.pairwise(boundaries)):
        if first == stop:
            continue
        value = int(episode[first])
        span = summary.spans.get(value)
        if run_starts[first]:
            if span is not None and value not in state.split_reported:
                state.split_reported.add(value)
                ctx.report(
                    relative,
                    f"episode {value}",
                    "episode_not_contiguous",
                    f"rows of episode {value} appear again at row {int(positions[first])}"
                    f" after rows {span.first_row}..{span.stop_row - 1} in {span.file};"
                    " an episode's rows must be contiguous",
                )
            if span is None:
                span = Span(file=relative, first_row=int(positions[first]), stop_row=0)
                summary.spans[value] = span
        assert span is not None
        if span.file != relative and value not in state.split_reported:
            state.split_reported.add(value)
            ctx.report(
                relative,
                f"episode {value}",
                "episode_not_contiguous",
                f"episode {value} starts in {span.file} and continues in {relative}; an"
                " episode must lie in one data file",
            )
        span.stop_row = int(positions[stop - 1]) + 1
        if run_tasks is not None:
            span.task_indices.update(run_tasks[run])
        elif task_index is not None:
            span.task_indices.update(int(t) for t in np.unique(task_index[first:stop]))


def _run_tasks(task_index: npt.NDArray[Any], boundaries: list[int]) -> list[list[int]] | None:
    """The distinct task indices of each run between `boundaries`, for all runs at once;
    None for a column of non-integers (the caller then goes run by run)."""
    if task_index.dtype.kind not in "iu":
        return None
    edges = np.asarray(boundaries, dtype=np.int64)
    count = len(edges) - 1
    tasks = task_index.astype(np.int64)
    if not len(tasks):
        return [[] for _ in range(count)]
    low, high = int(tasks.min()), int(tasks.max())
    if (high - low + 1) * max(count, 1) >= 2**62:
        return None
    runs = np.repeat(np.arange(count), np.diff(edges))
    keys = np.unique(runs * (high - low + 1) + (tasks - low))  # (run, task) pairs, sorted
    pair_runs, pair_tasks = np.divmod(keys, high - low + 1)
    per_run: list[list[int]] = [[] for _ in range(count)]
    for run, task in zip(pair_runs.tolist(), (pair_tasks + low).tolist(), strict=True):
        per_run[run].append(task)
    return per_run


def _check_images(ctx: Context, relative: str, table: pa.Table, features: Features) -> None:
    """decode=True: every embedded image decodes, at the feature's height and width."""
    episode = table.column("episode_index").to_pylist()
    frame = (
        table.column("frame_index").to_pylist()
        if "frame_index" in table.column_names
        else [None] * table.num_rows
    )
    for key in image_keys(features):
        if key not in table.column_names:
            continue
        column = table.column(key)
        reported: set[Any] = set()
        for row, cell in enumerate(column.to_pylist()):
            if episode[row] in reported:
                continue
            error = _image_error(cell, features[key])
            if error is not None:
                reported.add(episode[row])
                ctx.report(
                    relative,
                    f"episode {episode[row]}",
                    "undecodable_image",
                    f"{key} at frame {frame[row]}: {error}",
                )


@dataclass(slots=True)
class _RowState:
    """What streaming the data rows carries from one row group to the next."""

    episode: int = _NO_EPISODE
    run_start: int = 0
    index_reported: set[str] = field(default_factory=set)
    frame_reported: set[int] = field(default_factory=set)
    time_reported: set[int] = field(default_factory=set)
    task_reported: set[int] = field(default_factory=set)
    split_reported: set[int] = field(default_factory=set)


def _type_mismatch(actual: pa.DataType, feature: Mapping[str, Any]) -> str | None:
    """What a column of `feature` should be, when `actual` cannot be cast to it; else None."""
    dtype = feature.get("dtype")
    if dtype == "image":
        if pa.types.is_struct(actual) and actual.get_field_index("bytes") >= 0:
            return None
        return "struct<bytes: binary, path: string>"
    if dtype == "string":
        ok = pa.types.is_string(actual) or pa.types.is_large_string(actual)
        return None if ok else "string"
    if not isinstance(dtype, str) or dtype in NON_STATS_DTYPES or dtype in VISUAL_DTYPES:
        return None
    try:
        scalar_arrow_type(dtype)
    except ValueError:
        return None
    shape = [int(s) for s in feature.get("shape") or ()]
    dims = [] if shape in ([], [1]) else shape
    data_type = actual.storage_type if isinstance(actual, pa.ExtensionType) else actual
    sizes: list[int | None] = []
    while (
        pa.types.is_list(data_type)
        or pa.types.is_large_list(data_type)
        or pa.types.is_fixed_size_list(data_type)
    ):
        sizes.append(data_type.list_size if pa.types.is_fixed_size_list(data_type) else None)
        data_type = data_type.value_type
    numeric = (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_boolean(data_type)
    )
    fits = len(sizes) == len(dims) and all(
        size is None or size == dim for size, dim in zip(sizes, dims, strict=False)
    )
    if numeric and fits:
        return None
    expected = dtype
    for dim in reversed(dims):
        expected = f"list<{expected}>[{dim}]"
    return expected


def _first_per_episode(
    episode: npt.NDArray[np.int64], rows: npt.NDArray[np.intp], reported: set[int]
) -> list[int]:
    """The first of `rows` in each episode not reported yet; marks those episodes reported."""
    if not len(rows):
        return []
    values, first = np.unique(episode[rows], return_index=True)
    result = []
    for value, position in sorted(
        zip(values.tolist(), first.tolist(), strict=True), key=lambda p: p[1]
    ):
        if value in reported:
            continue
        reported.add(value)
        result.append(int(rows[position]))
    return result


def _image_error(cell: object, feature: Mapping[str, Any]) -> str | None:
    """Why an image cell does not decode to the feature's size, or None."""
    data = cell.get("bytes") if isinstance(cell, dict) else cell
    if not isinstance(data, (bytes, bytearray)) or not data:
        return f"expected encoded image bytes, got {short(cell)}"
    try:
        with av.open(io.BytesIO(bytes(data)), mode="r") as container:
            frame = next(container.decode(video=0), None)
    except (av.error.FFmpegError, OSError, ValueError, StopIteration) as exc:
        return f"cannot decode the image ({exc.__class__.__name__}: {exc})"
    if frame is None:
        return "the image holds no frame"
    size = height_width(feature)
    if size is not None:
        height, width = size
        if (frame.height, frame.width) != (height, width):
            return f"expected {height}x{width} pixels, got {frame.height}x{frame.width}"
    return None
