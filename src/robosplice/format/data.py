"""Data parquet files: read one episode's rows, write episodes one row group each (FORMAT.md §1.6).

Reads touch only the row groups that hold the wanted rows, so memory stays bounded by a row
group whatever the dataset size. Writes follow the 0.6.1 layout: one row group per episode,
snappy, a new file once the size limit would be crossed (the recorder's estimate, §2.2); only
text columns are dictionary encoded (`dictionary_columns`).
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.errors import InvalidDatasetError, Problem
from robosplice.format.paths import (
    DATA_PATH_TEMPLATE,
    FIRST_POSITION,
    FilePosition,
    data_file_path,
    declared_template,
    mebibytes_to_bytes,
    next_position,
    template_position,
)

_MAX_WINDOW: Final = 256  # row groups read ahead at most
READ_BYTES: Final = 2**20
"""Bytes of the wanted columns (as read, `_decoded_bytes`) read at once when row groups are
read in runs. A read costs ~0.3 ms of overhead whatever its size, which dominates for small row
groups (one episode of a few joints is tens of kB): runs of them are read at once. A group this
big or bigger is read alone, so memory stays bounded by one episode's rows (or this, if more)."""
_READ_ERRORS: Final = (pa.ArrowException, OSError, ValueError)


def row_group_runs(
    metadata: pq.FileMetaData, columns: list[str] | None, limit: int = READ_BYTES
) -> Iterator[list[int]]:
    """Row groups in order, in runs whose `columns` (None: all) take up to `limit` bytes once
    read; a run holds one group at least."""
    if not metadata.num_row_groups:
        return
    # Column paths from a row group's chunks: `metadata.schema` would tie the metadata (MiBs for
    # thousands of row groups) in a reference cycle, freed only when the cyclic GC next runs.
    first_group = metadata.row_group(0)
    positions = [
        i
        for i in range(metadata.num_columns)
        if columns is None
        or any(
            path == name or path.startswith(name + ".")
            for path in [first_group.column(i).path_in_schema]
            for name in columns
        )
    ]
    run: list[int] = []
    size = 0
    for group in range(metadata.num_row_groups):
        group_size = _decoded_bytes(metadata.row_group(group), positions)
        if run and size + group_size > limit:
            yield run
            run, size = [], 0
        run.append(group)
        size += group_size
    if run:
        yield run


def _decoded_bytes(row_group: pq.RowGroupMetaData, columns: Iterable[int]) -> int:
    """About what these columns of a row group take once read: their uncompressed bytes, or 8
    bytes a value where encoding made them smaller (dictionaries, run lengths)."""
    return sum(
        max(row_group.column(i).total_uncompressed_size, 8 * row_group.column(i).num_values)
        for i in columns
    )


def iter_row_groups(parquet: pq.ParquetFile, columns: list[str] | None) -> Iterator[pa.Table]:
    """Each row group's rows in order, as `read_row_group` gives them, read in runs of groups.

    A run that cannot be read is read again group by group, so a broken group raises where a
    group-by-group read would, after the groups before it.
    """
    metadata = parquet.metadata
    for groups in row_group_runs(metadata, columns):
        try:
            table = parquet.read_row_groups(groups, columns=columns)
        except _READ_ERRORS:
            for group in groups:
                yield parquet.read_row_group(group, columns=columns)
            continue
        offset = 0
        for group in groups:
            rows = metadata.row_group(group).num_rows
            yield table.slice(offset, rows)
            offset += rows


def data_files(root: Path) -> list[Path]:
    """Data files in the loader's order (sorted relative path)."""
    return sorted((root / "data").glob("*/*.parquet"), key=lambda p: p.relative_to(root).as_posix())


def data_template(root: Path, info: Mapping[str, Any]) -> str:
    """The data_path template the data files under `root` follow: the declared one, unless it
    names none of them (`format.paths.declared_template`; the loader globs, it does not format)."""
    present = [path.relative_to(root).as_posix() for path in data_files(root)]
    return declared_template(info, "data_path", present)


def file_positions(
    root: Path, template: str = DATA_PATH_TEMPLATE
) -> list[tuple[FilePosition, int, int]]:
    """(chunk, file) and global row range [start, stop) of every data file, in the loader's order.

    Read from the Parquet footers only; rebuilds `data/chunk_index`/`file_index` when an
    episodes file lacks them. Positions are what the dataset's `template` gives each path; a
    file the template does not name still counts its rows (the loader reads it) but has none.
    """
    result = []
    start = 0
    for path in data_files(root):
        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise _corrupt(root, path, exc) from exc
        position = template_position(template, path.relative_to(root).as_posix())
        if position is not None:
            result.append((position, start, start + rows))
        start += rows
    return result


def episode_spans(root: Path) -> dict[int, tuple[int, int]]:
    """Each episode's global row range [start, stop) in the data files (loader's order).

    From the `episode_index` column alone; {} when the data cannot be read (no evidence).
    """
    spans: dict[int, tuple[int, int]] = {}
    offset = 0
    try:
        for path in data_files(root):
            for table in DataFileReader(root, path).iter_tables(columns=["episode_index"]):
                values = table.column(0).to_numpy(zero_copy_only=False)
                bounds = [0, *(np.flatnonzero(np.diff(values)) + 1).tolist(), len(values)]
                for start, stop in itertools.pairwise(bounds):
                    if start < stop:
                        episode = int(values[start])
                        first = spans.get(episode, (offset + start, 0))[0]
                        spans[episode] = (first, offset + stop)
                offset += len(values)
    except (InvalidDatasetError, KeyError, TypeError, ValueError):
        return {}
    return spans


def episode_task_indices(root: Path) -> dict[int, list[int]]:
    """Each episode's task indices in order of first appearance, from the data's index columns.

    Rebuilds the episodes' `tasks` column when it is missing (0.6.1 `convert_image_to_video`).
    """
    found: dict[int, dict[int, None]] = {}
    for path in data_files(root):
        reader = DataFileReader(root, path)
        for table in reader.iter_tables(columns=["episode_index", "task_index"]):
            episodes = table.column(0).to_numpy()
            tasks = table.column(1).to_numpy()
            if table.column(0).null_count or table.column(1).null_count:
                pairs = list(zip(episodes.tolist(), tasks.tolist(), strict=True))
            else:
                # Each (episode, task) pair once, in order of first appearance.
                unique, first = np.unique(
                    np.stack([episodes, tasks], axis=1).astype(np.int64),
                    axis=0,
                    return_index=True,
                )
                pairs = unique[np.argsort(first, kind="stable")].tolist()
            for episode, task in pairs:
                found.setdefault(int(episode), {})[int(task)] = None
    return {episode: list(tasks) for episode, tasks in found.items()}


def _corrupt(root: Path, path: Path, exc: Exception) -> InvalidDatasetError:
    relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return InvalidDatasetError(
        f"{path}: unreadable parquet ({exc})",
        [Problem(file=relative, loc="", kind="corrupt_parquet", message=str(exc))],
    )


class DataFileReader:
    """Reads row ranges of one data file, one row group at a time, keeping the last ones read."""

    def __init__(self, root: Path, path: Path) -> None:
        self.root = root
        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise _corrupt(root, path, exc) from exc
        self.num_rows = self._file.metadata.num_rows
        # Rows of row groups [first, stop) read last; `_window` groups are read ahead while
        # reads go forward (the next episodes' groups come in the same read), one otherwise.
        self._cached_first = 0
        self._cached_stop = 0
        self._cached_table: pa.Table | None = None
        self._window = 1

    @functools.cached_property
    def _group_starts(self) -> list[int]:
        """First row of each row group, and the number of rows last."""
        metadata = self._file.metadata
        starts = [0]
        for group in range(metadata.num_row_groups):
            starts.append(starts[-1] + metadata.row_group(group).num_rows)
        return starts

    @functools.cached_property
    def _group_bytes(self) -> list[int]:
        """`_decoded_bytes` of each row group, every column (made when rows are read by
        position: a file streamed by `iter_tables` needs only its chosen columns')."""
        metadata = self._file.metadata
        columns = range(metadata.num_columns)
        return [
            _decoded_bytes(metadata.row_group(g), columns) for g in range(metadata.num_row_groups)
        ]

    @property
    def cached_bytes(self) -> int:
        """Bytes of the rows kept from the last read."""
        return self._cached_table.nbytes if self._cached_table is not None else 0

    def release(self) -> None:
        """Drop the rows kept from the last read (the next read reads again)."""
        self._cached_table = None
        self._cached_first = self._cached_stop = 0
        self._window = 1

    @property
    def row_bytes(self) -> float:
        """About what one row takes once read (the file's decoded bytes over its rows)."""
        return sum(self._group_bytes) / max(self.num_rows, 1)

    @property
    def schema(self) -> pa.Schema:
        """Arrow schema of the file as stored."""
        return self._file.schema_arrow

    def read_column(self, name: str) -> np.ndarray:
        """One column of the whole file as numpy (used for the small int index columns)."""
        try:
            column = self._file.read(columns=[name]).column(name)
        except (pa.ArrowInvalid, OSError, KeyError) as exc:
            raise _corrupt(self.root, self.path, exc) from exc
        return column.to_numpy()

    def read_rows(self, start: int, stop: int) -> pa.Table:
        """Rows [start, stop) by position in the file."""
        first = bisect.bisect_right(self._group_starts, start) - 1
        last = bisect.bisect_left(self._group_starts, stop) - 1
        cached = self._cached_table is not None
        if not (cached and self._cached_first <= first and last < self._cached_stop):
            forward = cached and self._cached_stop <= first < self._cached_stop + self._window
            self._window = min(2 * self._window, _MAX_WINDOW) if forward else 1
            groups = self._groups_to_read(first, last)
            try:
                self._cached_table = self._file.read_row_groups(groups)
            except (pa.ArrowInvalid, OSError) as exc:
                raise _corrupt(self.root, self.path, exc) from exc
            self._cached_first, self._cached_stop = groups[0], groups[-1] + 1
        assert self._cached_table is not None
        offset = self._group_starts[self._cached_first]
        return self._cached_table.slice(start - offset, stop - start)

    def _groups_to_read(self, first: int, last: int) -> list[int]:
        """Groups first..last, and up to `_window` groups from `first` within `READ_BYTES`."""
        stop = min(max(last + 1, first + self._window), len(self._group_bytes))
        groups = list(range(first, last + 1))
        size = sum(self._group_bytes[first : last + 1])
        for group in range(last + 1, stop):
            size += self._group_bytes[group]
            if size > READ_BYTES:
                break
            groups.append(group)
        return groups

    def iter_tables(self, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """Stream the file in runs of row groups (up to `READ_BYTES` each)."""
        try:
            for groups in row_group_runs(self._file.metadata, columns):
                yield self._file.read_row_groups(groups, columns=columns)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _corrupt(self.root, self.path, exc) from exc


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns worth dictionary encoding: text, whose values repeat.

    Numbers are written plain: in a row group of one episode the dictionary page costs more than
    it saves (files 20 % smaller without it on recorder-like rows) and half the write time.
    """
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_dictionary)
    return [field.name for field in schema if any(test(field.type) for test in text)]


MAX_COLUMN_CHUNKS_PER_FILE: Final = 2**14
"""Row groups × leaf columns of one data file at most. The Parquet writer holds ~0.9 kB of
metadata per column chunk until the footer is written, and every reader parses that footer
whole: 10,000 one-episode row groups of 7 columns held 60 MiB and made a 21 MB file of 11 MB of
rows. Short episodes therefore start a new file at this bound, whatever the size limit."""


def _leaf_columns(data_type: pa.DataType) -> int:
    """Parquet column chunks one field of this type makes (one per leaf)."""
    if pa.types.is_struct(data_type):
        return sum(_leaf_columns(data_type.field(i).type) for i in range(data_type.num_fields))
    lists = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list)
    if any(is_list(data_type) for is_list in lists):
        return _leaf_columns(data_type.value_type)
    return 1


_WRITE_BUFFER_BYTES = 1 << 20


class DataFileWriter:
    """Writes episodes into numbered data files, one row group per episode.

    A file ends when the next episode would cross `file_size_mb`, or when it holds
    `MAX_COLUMN_CHUNKS_PER_FILE` column chunks (`bound_row_groups=False`: only the size, for
    outputs that keep their sources' files as they are).
    """

    def __init__(
        self,
        root: Path,
        schema: pa.Schema,
        *,
        file_size_mb: float,
        chunks_size: int,
        bound_row_groups: bool = True,
    ) -> None:
        self.root = root
        self.schema = schema
        self.limit_bytes = mebibytes_to_bytes(file_size_mb)
        self.chunks_size = chunks_size
        leaves = max(1, sum(_leaf_columns(field.type) for field in schema))
        self.max_row_groups = (
            max(1, MAX_COLUMN_CHUNKS_PER_FILE // leaves) if bound_row_groups else None
        )
        self._groups_in_file = 0
        self.position: FilePosition = FIRST_POSITION
        self.paths_written: list[str] = []
        self._writer: pq.ParquetWriter | None = None
        self._sink: pa.NativeFile | None = None
        self._rows_in_file = 0

    def _open(self) -> None:
        relative = data_file_path(self.position)
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        # The writer makes ~2 small writes per column chunk; buffered, one episode's row group is
        # one system call instead of ~14 (a quarter of its cost for short episodes).
        self._sink = pa.BufferedOutputStream(pa.OSFile(str(path), "wb"), _WRITE_BUFFER_BYTES)
        self._writer = pq.ParquetWriter(
            self._sink,
            self.schema,
            compression="snappy",
            use_dictionary=dictionary_columns(self.schema) or False,
        )
        # The C++ writer checks the schema too; the Python wrapper's second check costs ~30 µs an
        # episode (a third of the write for short episodes).
        self._write = getattr(self._writer, "writer", self._writer).write_table
        self.paths_written.append(relative)
        self._rows_in_file = 0
        self._groups_in_file = 0

    def _bytes_in_file(self) -> int:
        assert self._sink is not None
        return int(self._sink.tell())

    def write_episode(self, table: pa.Table) -> FilePosition:
        """Append one episode as one row group; return the (chunk, file) it landed in."""
        if self._writer is not None and self._rows_in_file > 0:
            size = self._bytes_in_file()
            estimate = size + size / self._rows_in_file * table.num_rows
            full = self.max_row_groups is not None and self._groups_in_file >= self.max_row_groups
            if estimate >= self.limit_bytes or full:
                self.close()
                self.position = next_position(self.position, self.chunks_size)
        if self._writer is None:
            self._open()
        assert self._writer is not None
        self._write(table, row_group_size=max(1, table.num_rows))
        self._rows_in_file += table.num_rows
        self._groups_in_file += 1
        return self.position

    def start_new_file(self) -> None:
        """Put the next episode in a new file (used when sources' files are kept apart)."""
        if self._writer is not None:
            self.close()
            self.position = next_position(self.position, self.chunks_size)

    def close(self) -> None:
        """Finish the current file (writes its footer)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._sink is not None:
            self._sink.close()
            self._sink = None
