"""`meta/episodes/*/*.parquet`: one row per episode (FORMAT.md §1.5)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.errors import InvalidDatasetError, Problem
from robosplice.format.data import episode_spans
from robosplice.format.paths import (
    EPISODES_PATH_TEMPLATE,
    FIRST_POSITION,
    FilePosition,
    episodes_file_path,
    mebibytes_to_bytes,
    next_position,
    template_position,
)

EPISODES_FILE_SIZE_MB: Final = 100  # official aggregate/recorder value for episode metadata
EPISODES_CHUNKS_SIZE: Final = 1000


def video_columns(video_key: str) -> tuple[str, str, str, str]:
    """Names of the four per-camera columns of an episode row."""
    prefix = f"videos/{video_key}/"
    return (
        prefix + "chunk_index",
        prefix + "file_index",
        prefix + "from_timestamp",
        prefix + "to_timestamp",
    )


def episodes_files(root: Path) -> list[Path]:
    """Episode metadata files in the loader's order (sorted relative path), strays left out
    (`sort_episodes_files`)."""
    return sort_episodes_files(root)[0]


def sort_episodes_files(root: Path) -> tuple[list[Path], list[Path]]:
    """(episodes files, strays), each in the loader's order.

    A stray only repeats episodes another file lists (a copy `file-000 (1).parquet`, an older
    export beside the current one): the loader reads every meta/episodes/*/*.parquet and would
    count them twice. Of files listing the same episodes, the one kept is the one whose row
    ranges match the data files, then the one the standard template names, then the first in
    the loader's order. An unreadable file is kept (its reader reports it).
    """
    base = root / "meta" / "episodes"
    found = sorted(base.glob("*/*.parquet"), key=lambda p: p.relative_to(root).as_posix())
    ranges = {path: _episode_ranges(path) for path in found}
    counted = [episode for r in ranges.values() for episode in (r or {})]
    if len(counted) == len(set(counted)):
        return found, []
    spans = episode_spans(root)

    def rank(path: Path) -> tuple[bool, bool]:
        rows = ranges[path]
        matches = rows is not None and all(spans.get(e) == span for e, span in rows.items())
        named = template_position(EPISODES_PATH_TEMPLATE, path.relative_to(root).as_posix())
        return not matches, named is None

    listed: set[int] = set()
    strays: list[Path] = []
    for path in sorted(found, key=rank):
        episodes = set(ranges[path] or ())
        if episodes and episodes <= listed:
            strays.append(path)
        else:
            listed |= episodes
    return [p for p in found if p not in strays], strays


def _episode_ranges(path: Path) -> dict[int, tuple[int, int]] | None:
    """episode_index → (dataset_from_index, dataset_to_index) of a file's rows; None if unreadable."""
    names = ["episode_index", "dataset_from_index", "dataset_to_index"]
    try:
        table = pq.read_table(path, columns=names)
    except (pa.ArrowException, OSError, KeyError, ValueError):
        return None
    columns = [table.column(name) for name in names]
    if not any(column.null_count for column in columns) and all(
        pa.types.is_integer(column.type) for column in columns
    ):  # the usual file: whole columns at once (100,000 rows per file are common)
        episodes, starts, stops = (column.to_numpy().tolist() for column in columns)
        return dict(zip(episodes, zip(starts, stops, strict=True), strict=True))
    episodes, starts, stops = (column.to_pylist() for column in columns)
    return {
        int(e): (int(a), int(b))
        for e, a, b in zip(episodes, starts, stops, strict=True)
        if None not in (e, a, b)
    }


def read_episodes(root: Path) -> pa.Table:
    """All episode rows of `root`, concatenated in the loader's file order."""
    tables = []
    for path in episodes_files(root):
        try:
            tables.append(pq.read_table(path))
        except (pa.ArrowInvalid, OSError) as exc:
            relative = path.relative_to(root).as_posix()
            raise InvalidDatasetError(
                f"{path}: unreadable parquet ({exc})",
                [Problem(file=relative, loc="", kind="corrupt_parquet", message=str(exc))],
            ) from exc
    if not tables:
        raise InvalidDatasetError(
            f"{root}: no episode metadata files under meta/episodes/",
            [
                Problem(
                    file="meta/episodes", loc="", kind="missing_file", message="no parquet files"
                )
            ],
        )
    return pa.concat_tables(tables, promote_options="permissive")


def write_episodes(
    root: Path,
    rows: list[dict[str, Any]],
    schema: pa.Schema,
    *,
    file_size_mb: float = EPISODES_FILE_SIZE_MB,
    chunks_size: int = EPISODES_CHUNKS_SIZE,
    columns: Mapping[str, pa.Array] | None = None,
) -> list[str]:
    """Write episode rows into as many files as the size limit asks; return the paths written.

    Each row's `meta/episodes/chunk_index`/`file_index` is set to the file it lands in.
    `columns` are columns of `schema` given as arrays (one cell per row) rather than in `rows`.
    """
    limit = mebibytes_to_bytes(file_size_mb)
    given = dict(columns or {})
    row_schema = pa.schema([f for f in schema if f.name not in given])

    def table(part: list[dict[str, Any]], start: int) -> pa.Table:
        from_rows = pa.Table.from_pylist(part, schema=row_schema)
        if not given:
            return from_rows
        arrays = [
            given[f.name].slice(start, len(part)) if f.name in given else from_rows.column(f.name)
            for f in schema
        ]
        return pa.Table.from_arrays(arrays, schema=schema)

    full = table(rows, 0)
    bytes_per_row = max(1, full.nbytes // max(1, full.num_rows))
    rows_per_file = max(1, limit // bytes_per_row)
    written = []
    position: FilePosition = FIRST_POSITION
    for start in range(0, len(rows), rows_per_file):
        part = rows[start : start + rows_per_file]
        for row in part:
            row["meta/episodes/chunk_index"], row["meta/episodes/file_index"] = position
        relative = episodes_file_path(position)
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table(part, start), path, compression="snappy")
        written.append(relative)
        position = next_position(position, chunks_size)
    return written
