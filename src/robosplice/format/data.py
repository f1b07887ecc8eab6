"""Data parquet files: read one episode's rows, write episodes one row group each (FORMAT.md §1.6).

Reads touch only the row groups that hold the wanted rows, so memory stays bounded by a row
group whatever the dataset size. Writes follow the 0.6.1 layout: one row group per episode,
snappy, a new file once the size limit would be crossed (the recorder's estimate, §2.2).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.errors import InvalidDatasetError, Problem
from robosplice.format.paths import (
    FIRST_POSITION,
    FilePosition,
    data_file_path,
    mebibytes_to_bytes,
    next_position,
)


def data_files(root: Path) -> list[Path]:
    """Data files in the loader's order (sorted relative path)."""
    return sorted((root / "data").glob("*/*.parquet"), key=lambda p: p.relative_to(root).as_posix())


def file_positions(root: Path) -> list[tuple[FilePosition, int, int]]:
    """(chunk, file) and global row range [start, stop) of every data file, in the loader's order.

    Read from the Parquet footers only; rebuilds `data/chunk_index`/`file_index` when an
    episodes file lacks them.
    """
    result = []
    start = 0
    for path in data_files(root):
        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except (pa.ArrowInvalid, OSError) as exc:
            raise _corrupt(root, path, exc) from exc
        chunk = int(path.parent.name.removeprefix("chunk-"))
        file = int(path.stem.removeprefix("file-"))
        result.append(((chunk, file), start, start + rows))
        start += rows
    return result


def episode_task_indices(root: Path) -> dict[int, list[int]]:
    """Each episode's task indices in order of first appearance, from the data's index columns.

    Rebuilds the episodes' `tasks` column when it is missing (0.6.1 `convert_image_to_video`).
    """
    found: dict[int, dict[int, None]] = {}
    for path in data_files(root):
        reader = DataFileReader(root, path)
        for batch in reader.iter_batches(columns=["episode_index", "task_index"]):
            episodes = batch.column(0).to_numpy(zero_copy_only=False)
            tasks = batch.column(1).to_numpy(zero_copy_only=False)
            for episode, task in zip(episodes.tolist(), tasks.tolist(), strict=True):
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
        metadata = self._file.metadata
        self.num_rows = metadata.num_rows
        self._group_starts = [0]
        for group in range(metadata.num_row_groups):
            self._group_starts.append(self._group_starts[-1] + metadata.row_group(group).num_rows)
        self._cached_groups: tuple[int, ...] = ()
        self._cached_table: pa.Table | None = None

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
        groups = tuple(range(first, last + 1))
        if groups != self._cached_groups or self._cached_table is None:
            try:
                self._cached_table = self._file.read_row_groups(list(groups))
            except (pa.ArrowInvalid, OSError) as exc:
                raise _corrupt(self.root, self.path, exc) from exc
            self._cached_groups = groups
        offset = self._group_starts[first]
        return self._cached_table.slice(start - offset, stop - start)

    def iter_batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """Stream the file by row group."""
        try:
            for group in range(self._file.metadata.num_row_groups):
                yield from self._file.read_row_group(group, columns=columns).to_batches()
        except (pa.ArrowInvalid, OSError) as exc:
            raise _corrupt(self.root, self.path, exc) from exc


class DataFileWriter:
    """Writes episodes into numbered data files, one row group per episode."""

    def __init__(
        self, root: Path, schema: pa.Schema, *, file_size_mb: float, chunks_size: int
    ) -> None:
        self.root = root
        self.schema = schema
        self.limit_bytes = mebibytes_to_bytes(file_size_mb)
        self.chunks_size = chunks_size
        self.position: FilePosition = FIRST_POSITION
        self.paths_written: list[str] = []
        self._writer: pq.ParquetWriter | None = None
        self._sink: pa.NativeFile | None = None
        self._rows_in_file = 0

    def _open(self) -> None:
        relative = data_file_path(self.position)
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pq.ParquetWriter(self._sink, self.schema, compression="snappy")
        self.paths_written.append(relative)
        self._rows_in_file = 0

    def _bytes_in_file(self) -> int:
        assert self._sink is not None
        return int(self._sink.tell())

    def write_episode(self, table: pa.Table) -> FilePosition:
        """Append one episode as one row group; return the (chunk, file) it landed in."""
        if self._writer is not None and self._rows_in_file > 0:
            size = self._bytes_in_file()
            estimate = size + size / self._rows_in_file * table.num_rows
            if estimate >= self.limit_bytes:
                self.close()
                self.position = next_position(self.position, self.chunks_size)
        if self._writer is None:
            self._open()
        assert self._writer is not None
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        self._rows_in_file += table.num_rows
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
