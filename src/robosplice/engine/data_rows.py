"""Stream an edit's data rows into the output's data files, one source episode at a time.

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
from robosplice.engine.rows import transform_episode_rows
from robosplice.engine.sources import SourceSet
from robosplice.engine.stats_collector import StatsCollector
from robosplice.format.data import DataFileReader, DataFileWriter
from robosplice.format.info import Features
from robosplice.format.schema import data_schema
from robosplice.plan.model import Plan

_UNLIMITED_MB = float(2**40)


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
    """Write every output episode's rows through `writer`; return their episode rows."""
    settings = plan.settings
    fps = float(plan.info["fps"])
    task_maps = [np.asarray(m, dtype=np.int64) for m in plan.task_maps]
    task_positions = {task: i for i, task in enumerate(plan.tasks)}
    rows: list[dict[str, Any]] = []
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
                schema=writer.schema,
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
    return rows


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
    )


def _episode_tasks(task_index: np.ndarray, tasks: tuple[str, ...]) -> list[str]:
    """Unique tasks of an episode in order of first appearance (deterministic, unlike a set)."""
    _, first = np.unique(task_index, return_index=True)
    return [tasks[int(task_index[i])] for i in sorted(first)]
