"""Exact dataset quantiles of a numeric feature in memory that does not grow with the dataset.

stats.json's quantiles are those of one `compute_feature_stats` over every value of the output
(5000 bins between the dataset's min and max). Keeping every value for that costs ~88 B a frame;
instead the first pass (while rows stream) keeps each dimension's min, max and the count, and the
second pass reads the written column back in batches and adds up each batch's bin counts. Bin
counts of parts add up to the whole's, so the quantiles are the one-batch answer, bit for bit.
Reads nothing itself: the caller hands the second pass its batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from robosplice.format.stats import (
    NUM_QUANTILE_BINS,
    QUANTILE_KEYS,
    FeatureStats,
    compute_feature_stats,
    histogram_quantiles,
    keep_frame_axis,
    quantile_arrays,
    quantile_edges,
)

QUANTILE_METHOD = (
    f"q01-q99 of every value of the output at once, from the recorder's {NUM_QUANTILE_BINS}-bin"
    " histogram between the dataset's min and max (lerobot's aggregate_stats averages each"
    " episode's quantiles instead)"
)


def _as_batch(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Values as `compute_feature_stats` bins them: (rows, last axis), promoted to a float."""
    rows = values.reshape(-1, 1) if values.ndim == 1 else values
    batch = rows.reshape(-1, rows.shape[-1])
    return batch.astype(np.result_type(batch.dtype, np.float32), copy=False)


class DatasetQuantiles:
    """One numeric feature's exact dataset quantiles, from two passes over its values."""

    def __init__(self) -> None:
        self.frames = 0
        self._rows = 0
        self._ndim = 0
        self._minimum: Any = None
        self._maximum: Any = None
        # Fewer than 2 frames take `compute_feature_stats`' no-histogram path: kept as they are.
        self._few: list[npt.NDArray[Any]] = []
        self._edges: list[npt.NDArray[Any]] = []
        self._histograms: npt.NDArray[np.float64] | None = None

    def add(self, values: npt.NDArray[Any]) -> None:
        """First pass: one episode's values (one row per frame)."""
        if values.shape[0] == 0:
            return
        if self.frames < 2:
            self._few.append(values)
        self.frames += values.shape[0]
        self._ndim = values.ndim
        batch = _as_batch(values)
        self._rows += batch.shape[0]
        minimum, maximum = np.min(batch, axis=0), np.max(batch, axis=0)
        if self._minimum is None:
            self._minimum, self._maximum = minimum, maximum
        else:
            self._minimum = np.minimum(self._minimum, minimum)
            self._maximum = np.maximum(self._maximum, maximum)

    def count(self, values: npt.NDArray[Any]) -> None:
        """Second pass: a batch of the same values again (any split, any order)."""
        if self.frames < 2 or values.shape[0] == 0:
            return
        if self._histograms is None:
            width = self._minimum.shape[0]
            self._edges = [quantile_edges(self._minimum[d], self._maximum[d]) for d in range(width)]
            self._histograms = np.zeros((width, NUM_QUANTILE_BINS))
        batch = _as_batch(values)
        for dimension, edges in enumerate(self._edges):
            self._histograms[dimension] += np.histogram(batch[:, dimension], bins=edges)[0]

    def quantiles(self) -> FeatureStats:
        """The quantile stats of every value added, once the second pass has counted them all."""
        if self.frames < 2:
            exact = compute_feature_stats(np.concatenate(self._few))
            return {key: exact[key] for key in QUANTILE_KEYS}
        if self._histograms is None:
            raise ValueError("the second pass counted no values")
        per_dimension = [
            histogram_quantiles(histogram, edges, self._rows)
            for histogram, edges in zip(self._histograms, self._edges, strict=True)
        ]
        quantiles = quantile_arrays(per_dimension)
        # compute_feature_stats keeps the frame axis of 1-D values only (the official rule).
        return keep_frame_axis(quantiles, 1) if self._ndim == 1 else quantiles
