"""Per-episode moments of a dataset's numeric columns, read once from its data files.

The data files are read numeric columns only, in runs of row groups; each episode keeps min,
max, sum, sum of squares and count per dimension, in float64, after the official promotion to
at least float32 (so min/max compare bit for bit with a recorder-written value). The "stale_stats"
family (`stale_stats.py`) compares stored stats against them; this module judges nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.format.data import data_files, row_group_runs
from robosplice.format.info import Features, feature_shape
from robosplice.format.schema import column_values
from robosplice.format.stats import FeatureStats

__all__ = ["Moments", "read_moments"]

_PARQUET_ERRORS: Final = (pa.ArrowException, OSError, ValueError)


@dataclass(frozen=True, slots=True)
class Moments:
    """One feature's per-dimension min, max, sum, sum of squares and counts, per episode.

    Row i is episode `episodes[i]` (sorted); `read_dtypes[dtype_of[i]]` is the type of its
    values after the official promotion (min/max compare in it).
    """

    episodes: npt.NDArray[np.int64]
    minimum: npt.NDArray[np.float64]
    maximum: npt.NDArray[np.float64]
    total: npt.NDArray[np.float64]
    squares: npt.NDArray[np.float64]
    samples: npt.NDArray[np.int64]  # rows after the official reshape to (-1, last_dim)
    frames: npt.NDArray[np.int64]
    read_dtypes: tuple[np.dtype[Any], ...]  # one per read
    dtype_of: npt.NDArray[np.int64]  # row → its read's position in `read_dtypes`
    first: int  # row of the episode read first

    def mean(self) -> npt.NDArray[np.float64]:
        return self.total / self.samples[:, None]

    def square_mean(self) -> npt.NDArray[np.float64]:
        return self.squares / self.samples[:, None]

    def std(self) -> npt.NDArray[np.float64]:
        mean = self.mean()
        return np.sqrt(np.maximum(self.square_mean() - mean**2, 0.0))

    def scale(self) -> npt.NDArray[np.float64]:
        return np.maximum(np.abs(self.minimum), np.abs(self.maximum))

    def rows_of(self, episodes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Row of each episode number, -1 where the data have no such episode."""
        rows = np.searchsorted(self.episodes, episodes)
        found = rows < len(self.episodes)
        found[found] = self.episodes[rows[found]] == episodes[found]
        return np.where(found, rows, -1)

    def episode_stats(self) -> list[FeatureStats]:
        """min, max, mean, std and count of every episode, as `stats(row)` gives them."""
        mean, std = self.mean(), self.std()
        counts = self.frames.reshape(-1, 1)
        return [
            {
                "min": self.minimum[row],
                "max": self.maximum[row],
                "mean": mean[row],
                "std": std[row],
                "count": counts[row],
            }
            for row in range(len(self.episodes))
        ]

    def aggregate(self) -> FeatureStats:
        """`aggregate_feature_stats(self.episode_stats())`, without a dict per episode.

        The same formula on the same stacked arrays, so the same floats (a test holds them
        equal); at 100,000 episodes the per-episode dicts cost seconds.
        """
        means, variances = self.mean(), self.std() ** 2
        counts = self.frames.reshape(-1, 1)
        total_count = counts.sum(axis=0)
        total_mean = (means * counts).sum(axis=0) / total_count
        delta_means = means - total_mean
        total_variance = ((variances + delta_means**2) * counts).sum(axis=0) / total_count
        return {
            "min": np.min(self.minimum, axis=0),
            "max": np.max(self.maximum, axis=0),
            "mean": total_mean,
            "std": np.sqrt(total_variance),
            "count": total_count,
        }

    def dtype_codes(self) -> tuple[dict[np.dtype[Any], int], npt.NDArray[np.int64]]:
        """(dtype → code, each row's code): `dtypes` as an array, for masks over many rows."""
        codes: dict[np.dtype[Any], int] = {}
        of_read = np.array([codes.setdefault(d, len(codes)) for d in self.read_dtypes])
        return codes, of_read.astype(np.int64)[self.dtype_of]

    def stats(self, row: int) -> FeatureStats:
        """The stats of the episode at `row`, with the comparison's helpers (scale, …)."""
        mean = self.total[row] / self.samples[row]
        square_mean = self.squares[row] / self.samples[row]
        variance = np.maximum(square_mean - mean**2, 0.0)
        return {
            "min": self.minimum[row],
            "max": self.maximum[row],
            "mean": mean,
            "std": np.sqrt(variance),
            "count": np.array([int(self.frames[row])]),
            "scale": np.maximum(np.abs(self.minimum[row]), np.abs(self.maximum[row])),
            "square_mean": square_mean,
            "dtype_probe": np.zeros(1, dtype=self.read_dtypes[self.dtype_of[row]]),
        }


@dataclass(slots=True)
class _Runs:
    """One feature's partial moments per run (one episode's rows in one read), in read order."""

    episodes: list[npt.NDArray[np.int64]] = field(default_factory=list)
    minimum: list[npt.NDArray[np.float64]] = field(default_factory=list)
    maximum: list[npt.NDArray[np.float64]] = field(default_factory=list)
    total: list[npt.NDArray[np.float64]] = field(default_factory=list)
    squares: list[npt.NDArray[np.float64]] = field(default_factory=list)
    samples: list[npt.NDArray[np.int64]] = field(default_factory=list)
    frames: list[npt.NDArray[np.int64]] = field(default_factory=list)
    dtypes: list[np.dtype[Any]] = field(default_factory=list)  # one per read
    reads: list[int] = field(default_factory=list)  # runs per read

    def fold(self) -> Moments:
        """Each episode's moments over its runs, added in read order."""
        episodes = np.concatenate(self.episodes)
        order, first_run, inverse = np.unique(episodes, return_index=True, return_inverse=True)
        width = self.minimum[0].shape[1]
        minimum = np.full((len(order), width), np.inf)
        maximum = np.full((len(order), width), -np.inf)
        total = np.zeros((len(order), width))
        squares = np.zeros((len(order), width))
        np.minimum.at(minimum, inverse, np.concatenate(self.minimum))
        np.maximum.at(maximum, inverse, np.concatenate(self.maximum))
        np.add.at(total, inverse, np.concatenate(self.total))
        np.add.at(squares, inverse, np.concatenate(self.squares))
        samples = np.zeros(len(order), dtype=np.int64)
        frames = np.zeros(len(order), dtype=np.int64)
        np.add.at(samples, inverse, np.concatenate(self.samples))
        np.add.at(frames, inverse, np.concatenate(self.frames))
        run_dtypes = np.repeat(np.arange(len(self.dtypes)), self.reads)
        return Moments(
            episodes=order.astype(np.int64),
            minimum=minimum,
            maximum=maximum,
            total=total,
            squares=squares,
            samples=samples,
            frames=frames,
            read_dtypes=tuple(self.dtypes),
            dtype_of=run_dtypes[first_run].astype(np.int64),
            first=int(inverse[0]),
        )


@dataclass(slots=True)
class _DataStats:
    """Per feature: the runs read so far; features with nulls or odd shapes are unusable."""

    runs: dict[str, _Runs] = field(default_factory=dict)
    unusable: set[str] = field(default_factory=set)


def read_moments(root: Path, features: Features, names: list[str]) -> dict[str, Moments]:
    """Stream the data files' numeric columns `names`; return each usable feature's moments.

    A feature with nulls or values that are not numbers of its shape is left out.
    """
    result = _DataStats()
    for path in data_files(root):
        try:
            _read_data_file(path, features, names, result)
        except _PARQUET_ERRORS:
            continue  # reported by the data check
    return {
        name: runs.fold()
        for name, runs in result.runs.items()
        if name not in result.unusable and runs.episodes
    }


def _read_data_file(path: Path, features: Features, names: list[str], result: _DataStats) -> None:
    """Read the numeric columns in runs of row groups (`row_group_runs`); a row group that
    cannot be read stops the file there, as reading one group at a time would."""
    parquet = pq.ParquetFile(path)
    present = set(parquet.schema_arrow.names)
    columns = [name for name in names if name in present]
    if "episode_index" not in present or not columns:
        return
    wanted = list(dict.fromkeys(["episode_index", *columns]))
    for groups in row_group_runs(parquet.metadata, wanted):
        try:
            table = parquet.read_row_groups(groups, columns=wanted)
        except _PARQUET_ERRORS:
            for group in groups:  # up to the broken group, as one group at a time
                table = parquet.read_row_group(group, columns=wanted)
                _accumulate_table(table, columns, features, result)
            continue
        _accumulate_table(table, columns, features, result)


def _accumulate_table(
    table: pa.Table, columns: list[str], features: Features, result: _DataStats
) -> None:
    """Add each run of one episode's rows in `table` as partial moments (reduceat, no loop)."""
    episode = np.asarray(table.column("episode_index").to_numpy(), dtype=np.int64)
    if not len(episode):
        return
    starts = np.flatnonzero(np.r_[True, episode[1:] != episode[:-1]])
    frames = np.diff(np.r_[starts, len(episode)])
    for name in columns:
        if name in result.unusable:
            continue
        values = _numeric(table.column(name), features[name])
        if values is None:
            result.unusable.add(name)
            continue
        per_frame = values.shape[1]
        flat = values.reshape(-1, values.shape[-1])
        sample_starts = starts * per_frame
        wide = flat.astype(np.float64)
        runs = result.runs.setdefault(name, _Runs())
        runs.episodes.append(episode[starts])
        runs.minimum.append(np.minimum.reduceat(flat, sample_starts, axis=0).astype(np.float64))
        runs.maximum.append(np.maximum.reduceat(flat, sample_starts, axis=0).astype(np.float64))
        runs.total.append(np.add.reduceat(wide, sample_starts, axis=0))
        runs.squares.append(np.add.reduceat(np.square(wide, out=wide), sample_starts, axis=0))
        runs.samples.append(frames * per_frame)
        runs.frames.append(frames)
        runs.dtypes.append(flat.dtype)
        runs.reads.append(len(starts))


def _numeric(column: pa.ChunkedArray, feature: dict[str, Any]) -> npt.NDArray[Any] | None:
    """Rows × (rows per frame after the official reshape) × last dim, promoted as 0.6.1 does."""
    if column.null_count:
        return None
    shape = feature_shape(feature) or (1,)
    try:
        values = np.asarray(column_values(column, shape))
    except (pa.ArrowException, ValueError):
        return None
    if values.dtype.kind not in "biuf":
        return None
    values = values.astype(np.result_type(values.dtype, np.float32), copy=False)
    frames = values.shape[0]
    return values.reshape(frames, -1, shape[-1])
