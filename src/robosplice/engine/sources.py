"""Read access to the sources of a plan, with per-file caches (readers, packet indexes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from robosplice.dataset import Dataset, EpisodeRecord
from robosplice.errors import InvalidDatasetError, Problem
from robosplice.format.data import DataFileReader
from robosplice.format.paths import FilePosition
from robosplice.format.video import PacketIndex, PacketReader, read_packet_index

_OPEN_DATA_FILES = 4
"""Data files kept open: edits read a file's episodes in one go, then move on; a few stay open
for episodes taken out of file order (each open file holds its footer: MiBs for thousands of row
groups)."""


class SourceSet:
    """The datasets a plan reads, opened once; caches keyed by file."""

    def __init__(self, datasets: list[Dataset]) -> None:
        self.datasets = datasets
        self._data_readers: dict[tuple[int, FilePosition], DataFileReader] = {}
        self._index_columns: dict[tuple[int, FilePosition], np.ndarray] = {}
        self._packet_indexes: dict[Path, PacketIndex] = {}
        self._packet_readers: dict[Path, PacketReader] = {}
        self._reading: tuple[int, FilePosition] | None = None  # the data file read last
        self._row_bytes: dict[tuple[int, FilePosition], float] = {}

    def episode(self, source: int, episode_index: int) -> EpisodeRecord:
        """The record of one source episode."""
        return self.datasets[source].episodes[episode_index]

    def _data_reader(self, source: int, position: FilePosition) -> DataFileReader:
        """The reader of a data file. Few stay open, and only the file being read keeps its
        last rows: a row group can be a whole file's rows (tens of MiB), and an open Parquet
        reader also keeps a buffer of the last one it read."""
        key = (source, position)
        if self._reading != key and self._reading in self._data_readers:
            self._data_readers[self._reading].release()
        self._reading = key
        if key not in self._data_readers:
            dataset = self.datasets[source]
            path = dataset.data_path(position)
            if not path.is_file():
                raise InvalidDatasetError(
                    f"{path}: data file referenced by the episodes metadata is missing",
                    [
                        Problem(
                            file=path.relative_to(dataset.root).as_posix(),
                            loc="",
                            kind="missing_file",
                            message="referenced by meta/episodes but not on disk",
                        )
                    ],
                )
            while len(self._data_readers) >= _OPEN_DATA_FILES:  # the least recently opened goes
                self._data_readers.pop(next(iter(self._data_readers)))
            self._data_readers[key] = DataFileReader(dataset.root, path)
        return self._data_readers[key]

    def read_episode_rows(self, source: int, episode_index: int, start: int, stop: int) -> pa.Table:
        """Data rows of frames [start, stop) of a source episode."""
        reader, (first,) = self._first_rows(source, [episode_index])
        return reader.read_rows(int(first) + start, int(first) + stop)

    def read_run_rows(self, source: int, episode_indices: list[int]) -> pa.Table:
        """Data rows of whole source episodes, in this order, all in one data file: one read
        of the rows from the first to the last when they go forward in the file (kept
        episodes of a file, with gaps where episodes were left out)."""
        reader, firsts = self._first_rows(source, episode_indices)
        lengths = np.array([self.episode(source, e).length for e in episode_indices])
        if np.all(firsts[1:] >= firsts[:-1] + lengths[:-1]):
            span = reader.read_rows(int(firsts[0]), int(firsts[-1] + lengths[-1]))
            if span.num_rows == int(lengths.sum()):
                return span
            offsets = firsts - firsts[0]
            return pa.concat_tables(
                [span.slice(int(o), int(n)) for o, n in zip(offsets, lengths, strict=True)]
            )
        return pa.concat_tables(
            [
                reader.read_rows(int(first), int(first + length))
                for first, length in zip(firsts, lengths, strict=True)
            ]
        )

    def _first_rows(
        self, source: int, episode_indices: list[int]
    ) -> tuple[DataFileReader, np.ndarray]:
        """The reader of these episodes' data file (one file) and each one's first row in it,
        checked against the episodes' index range."""
        records = [self.episode(source, e) for e in episode_indices]
        position = records[0].data_position
        reader = self._data_reader(source, position)
        key = (source, position)
        if key not in self._index_columns:
            self._index_columns[key] = reader.read_column("index")
        index_column = self._index_columns[key]
        starts = np.array([r.dataset_from_index for r in records], dtype=np.int64)
        stops = np.array([r.dataset_to_index for r in records], dtype=np.int64)
        lengths = np.array([r.length for r in records], dtype=np.int64)
        firsts = np.searchsorted(index_column, starts)
        ends = firsts + lengths
        inside = ends <= len(index_column)
        safe_first = np.minimum(firsts, max(len(index_column) - 1, 0))
        safe_last = np.clip(ends - 1, 0, max(len(index_column) - 1, 0))
        good = inside & (len(index_column) > 0)
        if len(index_column):
            good &= (index_column[safe_first] == starts) & (index_column[safe_last] == stops - 1)
        if not good.all():
            bad = int(np.flatnonzero(~good)[0])
            record = records[bad]
            relative = reader.path.relative_to(reader.root).as_posix()
            raise InvalidDatasetError(
                f"episode {episode_indices[bad]}: rows index {record.dataset_from_index}.."
                f"{record.dataset_to_index - 1} are not all in {relative}",
                [
                    Problem(
                        file=relative,
                        loc=f"episode {episode_indices[bad]}",
                        kind="episode_rows_missing",
                        message="dataset_from_index/to_index do not match the data rows",
                    )
                ],
            )
        return reader, firsts

    def row_bytes(self, source: int, position: FilePosition) -> float:
        """About how many bytes a row of a source data file takes once read (asked for every
        episode while runs are planned: kept, so asking opens no file again)."""
        key = (source, position)
        if key not in self._row_bytes:
            self._row_bytes[key] = self._data_reader(source, position).row_bytes
        return self._row_bytes[key]

    def source_schema(self, source: int, position: FilePosition) -> pa.Schema:
        """Arrow schema of a source data file."""
        return self._data_reader(source, position).schema

    def packet_index(self, path: Path) -> PacketIndex:
        """Packet index of a video file, read once."""
        if path not in self._packet_indexes:
            if not path.is_file():
                raise InvalidDatasetError(
                    f"{path}: video file referenced by the episodes metadata is missing",
                    [Problem(file=str(path), loc="", kind="missing_file", message="not on disk")],
                )
            self._packet_indexes[path] = read_packet_index(path)
        return self._packet_indexes[path]

    def packet_reader(self, path: Path) -> PacketReader:
        """A forward packet reader of a video file (one open file per path)."""
        if path not in self._packet_readers:
            self._packet_readers[path] = PacketReader(path)
        return self._packet_readers[path]

    def release_video(self, path: Path) -> None:
        """Close a video file once no later episode needs it."""
        reader = self._packet_readers.pop(path, None)
        if reader is not None:
            reader.close()
        self._packet_indexes.pop(path, None)

    def close(self) -> None:
        """Close every open file."""
        for reader in self._packet_readers.values():
            reader.close()
        self._packet_readers.clear()
        self._data_readers.clear()
