"""Stream an edit's data rows into the output's data files, in runs of source episodes.

Each output episode's rows are read from its source, cut to its frames, transformed
(`engine/rows.py`) and appended; its episode row (tasks, length, data position, index range) is
returned for the metadata, and its stats go to the `StatsCollector`. Video is not touched here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from robosplice._types import ProgressReporter
from robosplice.engine.rows import transform_run_rows
from robosplice.engine.sources import SourceSet
from robosplice.engine.stats_collector import StatsCollector
from robosplice.format.data import READ_BYTES, DataFileReader, DataFileWriter
from robosplice.format.info import Features
from robosplice.format.paths import FilePosition
from robosplice.format.schema import data_schema
from robosplice.plan.model import Plan, Segment

_UNLIMITED_MB = float(2**40)
_RUN_BYTES = READ_BYTES
"""Rows (as read) of one run of episodes at most: runs bound memory, as one episode did."""


def output_schema(sources: SourceSet, plan: Plan) -> pa.Schema:
    """The output data files' schema: the features', plus dtypes kept as the first source has them."""
    return data_schema(plan.info["features"], _passthrough_fields(sources, plan))


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


def write_data(
    plan: Plan,
    writer: DataFileWriter,
    sources: SourceSet,
    *,
    features: Features,
    stats: StatsCollector,
    reporter: ProgressReporter,
) -> list[dict[str, Any]]:
    """Write every output episode's rows through `writer`; return their episode rows.

    Consecutive whole episodes of one source file go as a run (`_runs`): read in one call,
    renumbered and cast over whole columns, their stats computed together; each is still
    written as its own row group, so files and their rollover are as one at a time.
    """
    settings = plan.settings
    fps = float(plan.info["fps"])
    task_maps = [np.asarray(m, dtype=np.int64) for m in plan.task_maps]
    task_positions = {task: i for i, task in enumerate(plan.tasks)}
    apart = not settings.concatenate_data or settings.keep_data_files
    rows: list[dict[str, Any]] = []
    reporter.start("data", len(plan.episodes))
    global_start = 0
    previous_file: tuple[int, tuple[int, int]] | None = None
    try:
        for first, stop in _runs(plan, sources):
            episodes = plan.episodes[first:stop]
            segment = episodes[0].segment
            record = sources.episode(segment.source, segment.episode_index)
            source_file = (segment.source, record.data_position)
            if apart and previous_file not in (None, source_file):
                writer.start_new_file()
            previous_file = source_file
            table, lengths = _read_run(sources, [e.segment for e in episodes])
            override = episodes[0].task_override
            output = transform_run_rows(
                table,
                schema=writer.schema,
                features=features,
                source_number=segment.source,
                columns=plan.columns,
                first_output_index=first,
                lengths=lengths,
                global_start=global_start,
                fps=fps,
                task_map=task_maps[segment.source],
                task_override=task_positions[override] if override else None,
            )
            starts = np.cumsum(lengths) - lengths
            tasks = _run_tasks(output.column("task_index").to_numpy(), starts, lengths, plan.tasks)
            for position, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist())):
                episode_rows = output.slice(start, length) if len(lengths) > 1 else output
                chunk, file = writer.write_episode(episode_rows)
                rows.append(
                    {
                        "episode_index": first + position,
                        "tasks": tasks[position],
                        "length": length,
                        "data/chunk_index": chunk,
                        "data/file_index": file,
                        "dataset_from_index": global_start + start,
                        "dataset_to_index": global_start + start + length,
                    }
                )
            stats.run_stats(first, output, table, lengths)
            global_start += output.num_rows
            reporter.advance(stop - first)
    finally:
        writer.close()
        reporter.finish()
    return rows


def _read_run(sources: SourceSet, segments: list[Segment]) -> tuple[pa.Table, np.ndarray]:
    """The source rows of a run's segments, and each one's number of rows."""
    segment = segments[0]
    if len(segments) == 1:
        table = sources.read_episode_rows(
            segment.source, segment.episode_index, segment.start, segment.stop
        )
        if segment.step != 1:  # change_fps: keep every step-th frame
            table = table.take(np.arange(0, table.num_rows, segment.step))
        return table, np.array([table.num_rows], dtype=np.int64)
    table = sources.read_run_rows(segment.source, [s.episode_index for s in segments])
    return table, np.array([s.stop - s.start for s in segments], dtype=np.int64)


def _runs(plan: Plan, sources: SourceSet) -> Iterator[tuple[int, int]]:
    """Output episodes [first, stop) that go through together: whole, at full rate, without
    producers, from rows going forward in one source file, one task override, up to
    `_RUN_BYTES` of rows (the left-out rows between them count: they are read too); any other
    episode goes alone."""
    first = 0
    read = 0.0  # bytes of the run's rows as read
    previous: tuple[tuple[int, FilePosition, str | None], int] | None = None
    for index, episode in enumerate(plan.episodes):
        segment = episode.segment
        record = sources.episode(segment.source, segment.episode_index)
        alone = not episode.whole or segment.step != 1 or bool(plan.columns.added)
        alone = alone or record.length == 0 or segment.stop - segment.start != record.length
        key = (segment.source, record.data_position, episode.task_override)
        row_bytes = sources.row_bytes(segment.source, record.data_position)
        follows = (
            previous is not None
            and not alone
            and previous[0] == key
            and previous[1] <= record.dataset_from_index
            and read + (record.dataset_to_index - previous[1]) * row_bytes <= _RUN_BYTES
        )
        if follows:
            assert previous is not None
            read += (record.dataset_to_index - previous[1]) * row_bytes
        else:
            if index > first:
                yield first, index
            first, read = index, record.length * row_bytes
        previous = None if alone else (key, record.dataset_to_index)
    if first < len(plan.episodes):
        yield first, len(plan.episodes)


def read_written(target: Path, paths: Sequence[str]) -> Callable[[list[str]], Iterator[pa.Table]]:
    """A reader of columns of the data files written at `paths` (relative to `target`), in
    runs of row groups of bounded size, files in order."""

    def read(columns: list[str]) -> Iterator[pa.Table]:
        for relative in paths:
            yield from DataFileReader(target, target / relative).iter_tables(columns)

    return read


def data_writer(plan: Plan, target: Path, schema: pa.Schema) -> DataFileWriter:
    """The output's data file writer, at the plan's file size (unlimited when source files are
    kept: they met a limit when written)."""
    settings = plan.settings
    return DataFileWriter(
        target,
        schema,
        file_size_mb=_UNLIMITED_MB if settings.keep_data_files else settings.data_files_size_in_mb,
        chunks_size=settings.chunks_size,
        bound_row_groups=not settings.keep_data_files,
    )


def _run_tasks(
    task_index: np.ndarray, starts: np.ndarray, lengths: np.ndarray, tasks: tuple[str, ...]
) -> list[list[str]]:
    """`_episode_tasks` of each episode of a run; one task throughout is the common case."""
    if len(task_index) and lengths.all():
        low = np.minimum.reduceat(task_index, starts)
        single = low == np.maximum.reduceat(task_index, starts)
    else:
        low, single = np.zeros(len(starts), dtype=np.int64), np.zeros(len(starts), dtype=bool)
    return [
        [tasks[int(low[i])]]
        if single[i]
        else _episode_tasks(task_index[int(s) : int(s + n)], tasks)
        for i, (s, n) in enumerate(zip(starts, lengths, strict=True))
    ]


def _episode_tasks(task_index: np.ndarray, tasks: tuple[str, ...]) -> list[str]:
    """Unique tasks of an episode in order of first appearance (deterministic, unlike a set)."""
    _, first = np.unique(task_index, return_index=True)
    return [tasks[int(task_index[i])] for i in sorted(first)]
