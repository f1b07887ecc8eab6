"""Write the metadata of an output: episodes table, tasks, info.json (totals, splits), stats.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from robosplice.format import info as info_format
from robosplice.format.episodes import video_columns, write_episodes
from robosplice.format.paths import DATA_PATH_TEMPLATE, STATS_PATH, VIDEO_PATH_TEMPLATE
from robosplice.format.stats import DatasetStats, stats_to_json
from robosplice.format.stats_columns import stats_column_type
from robosplice.format.tasks import write_tasks
from robosplice.plan.model import OutputSettings


def episodes_schema(video_keys: list[str], stats_rows: list[dict[str, Any]]) -> pa.Schema:
    """Schema of episode rows in the 0.6.1 recorder's column order (FORMAT.md §1.5)."""
    fields = [
        pa.field("episode_index", pa.int64()),
        pa.field("tasks", pa.list_(pa.string())),
        pa.field("length", pa.int64()),
        pa.field("data/chunk_index", pa.int64()),
        pa.field("data/file_index", pa.int64()),
        pa.field("dataset_from_index", pa.int64()),
        pa.field("dataset_to_index", pa.int64()),
    ]
    for key in video_keys:
        chunk, file, start, end = video_columns(key)
        fields += [
            pa.field(chunk, pa.int64()),
            pa.field(file, pa.int64()),
            pa.field(start, pa.float64()),
            pa.field(end, pa.float64()),
        ]
    if stats_rows:
        for column, value in stats_rows[0].items():
            fields.append(pa.field(column, stats_column_type(column, value)))
    fields += [
        pa.field("meta/episodes/chunk_index", pa.int64()),
        pa.field("meta/episodes/file_index", pa.int64()),
    ]
    return pa.schema(fields)


def write_metadata(
    target: Path,
    *,
    info: info_format.Info,
    rows: list[dict[str, Any]],
    tasks: list[str],
    stats: DatasetStats,
    settings: OutputSettings,
    carried_stats: Mapping[str, Any] | None = None,
    stats_columns: Mapping[str, pa.Array] | None = None,
) -> list[str]:
    """Write every metadata file; fill in info totals and splits. Returns episode files written.

    Each row holds the base columns, `videos/<key>/*` for every video key, and its flattened
    `stats/*` columns (all rows the same set), unless `stats_columns` holds those columns
    already built (one cell per row, `stats_column_arrays`). `carried_stats` are stats.json
    entries written as given instead of `stats`' (a source's entries for values the edit did
    not change); when they cover every feature, stats.json keeps their order too.
    """
    video_keys = info_format.video_keys(info["features"])
    if stats_columns is not None:
        schema = episodes_schema(video_keys, [])
        meta = len(schema) - 2  # the meta/episodes/* columns stay last
        for name, array in stats_columns.items():
            schema = schema.insert(meta, pa.field(name, array.type))
            meta += 1
        episodes_files = write_episodes(target, rows, schema, columns=stats_columns)
    else:
        stats_rows = [{k: v for k, v in rows[0].items() if k.startswith("stats/")}] if rows else []
        episodes_files = write_episodes(target, rows, episodes_schema(video_keys, stats_rows))
    write_tasks(target, tasks)
    info["total_episodes"] = len(rows)
    info["total_frames"] = sum(int(row["length"]) for row in rows)
    info["total_tasks"] = len(tasks)
    info["chunks_size"] = settings.chunks_size
    info["data_files_size_in_mb"] = settings.data_files_size_in_mb
    info["video_files_size_in_mb"] = settings.video_files_size_in_mb
    info["splits"] = {"train": f"0:{len(rows)}"}
    # Files are written at the standard paths whatever templates a source declared.
    info["data_path"] = DATA_PATH_TEMPLATE
    info["video_path"] = VIDEO_PATH_TEMPLATE if video_keys else None
    info_format.write_info(target, info)
    as_json = stats_to_json(stats)
    carried = dict(carried_stats or {})
    if carried and set(carried) >= set(as_json):
        as_json = carried
    else:
        as_json = {name: carried.get(name, value) for name, value in as_json.items()}
    (target / STATS_PATH).write_text(json.dumps(as_json, indent=4), encoding="utf-8")
    return episodes_files
