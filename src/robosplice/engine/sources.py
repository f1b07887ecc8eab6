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


class SourceSet:
    """The datasets a plan reads, opened once; caches keyed by file."""

    def __init__(self, datasets: list[Dataset]) -> None:
        self.datasets = datasets
        self._data_readers: dict[tuple[int, FilePosition], DataFileReader] = {}
        self._index_columns: dict[tuple[int, FilePosition], np.ndarray] = {}
        self._packet_indexes: dict[Path, PacketIndex] = {}
        self._packet_readers: dict[Path, PacketReader] = {}

    def episode(self, source: int, episode_index: int) -> EpisodeRecord:
        """The record of one source episode."""
        return self.datasets[source].episodes[episode_index]

    def _data_reader(self, source: int, position: FilePosition) -> DataFileReader:
        key = (source, position)
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
            if len(self._data_readers) > 8:  # keep a few files open, not the whole dataset
                self._data_readers.pop(next(iter(self._data_readers)))
            self._data_readers[key] = DataFileReader(dataset.root, path)
        return self._data_readers[key]

    def read_episode_rows(self, source: int, episode_index: int, start: int, stop: int) -> pa.Table:
        """Data rows of frames [start, stop) of a source episode."""
        record = self.episode(source, episode_index)
        reader = self._data_reader(source, record.data_position)
        key = (source, record.data_position)
        if key not in self._index_columns:
            self._index_columns[key] = reader.read_column("index")
        index_column = self._index_columns[key]
        first = int(np.searchsorted(index_column, record.dataset_from_index))
        if (
            first + record.length > len(index_column)
            or index_column[first] != record.dataset_from_index
            or index_column[first + record.length - 1] != record.dataset_to_index - 1
        ):
            relative = reader.path.relative_to(reader.root).as_posix()
            raise InvalidDatasetError(
                f"episode {episode_index}: rows index {record.dataset_from_index}.."
                f"{record.dataset_to_index - 1} are not all in {relative}",
                [
                    Problem(
                        file=relative,
                        loc=f"episode {episode_index}",
                        kind="episode_rows_missing",
                        message="dataset_from_index/to_index do not match the data rows",
                    )
                ],
            )
        return reader.read_rows(first + start, first + stop)

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
