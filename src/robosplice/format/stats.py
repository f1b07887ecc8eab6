"""Compute, aggregate and (de)serialize LeRobot stats exactly as lerobot 0.6.1 does.

The numbers must match what the official recorder writes (FORMAT.md §4), bit for bit where it
can be done, so every function mirrors the operations and dtype promotions of 0.6.1's
`lerobot/datasets/compute_stats.py` rather than computing the "best" statistic. This module is
pure numpy: it reads no files, decodes no images and knows nothing about Parquet schemas;
callers hand it arrays and rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "IMAGE_DOWNSAMPLE_TARGET",
    "IMAGE_DOWNSAMPLE_THRESHOLD",
    "NUM_QUANTILE_BINS",
    "QUANTILES",
    "QUANTILE_KEYS",
    "STATS_COLUMN_PREFIX",
    "STAT_KEYS",
    "DatasetStats",
    "FeatureStats",
    "aggregate_feature_stats",
    "aggregate_stats",
    "check_stats_shapes",
    "combine_stacked",
    "complete_stats_entry",
    "compute_feature_stats",
    "compute_feature_stats_runs",
    "compute_image_stats",
    "downsample_image",
    "downsample_stride",
    "estimate_num_samples",
    "flatten_episode_stats",
    "histogram_quantiles",
    "is_quantile_key",
    "keep_frame_axis",
    "ordered_stat_keys",
    "quantile_arrays",
    "quantile_edges",
    "sample_indices",
    "shift_stats",
    "stat_json_value",
    "stats_from_json",
    "stats_to_json",
    "unflatten_episode_stats",
]

FeatureStats: TypeAlias = dict[str, npt.NDArray[Any]]
"""One feature's stats: stat key (`min`, `q01`, …) to array."""
DatasetStats: TypeAlias = dict[str, FeatureStats]
"""Stats of several features: feature name to its `FeatureStats`."""

STAT_KEYS: Final = ("min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99")
QUANTILES: Final = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS: Final = ("q01", "q10", "q50", "q90", "q99")
NUM_QUANTILE_BINS: Final = 5000
STATS_COLUMN_PREFIX: Final = "stats/"
IMAGE_DOWNSAMPLE_TARGET: Final = 150
IMAGE_DOWNSAMPLE_THRESHOLD: Final = 300

# The official bins span [min - 1e-10, max + 1e-10]; the pad is added in the data's own dtype.
_HISTOGRAM_PADDING: Final = 1e-10
_MIN_SAMPLES: Final = 100
_MAX_SAMPLES: Final = 10_000
_SAMPLES_POWER: Final = 0.75


def compute_feature_stats(values: npt.ArrayLike, *, keep_dims: bool | None = None) -> FeatureStats:
    """Compute one episode's stats of a numeric feature, as `compute_episode_stats` does.

    Values of shape (N,) or (N, 1) give stats of shape (1,), and (N, D) gives (D,). With more
    feature axes the official code reshapes to (-1, last_dim), so a (2, 3) feature gets (3,)
    stats, while `count` stays N, the number of frames. Fewer than 2 frames fall back to plain
    numpy stats with every quantile equal to the mean (and no reshape, so (1, 2, 3) gives (2, 3)).

    Args:
        values: One row per frame. Integers and bools are promoted to float as the official code
            does (to at least float32), so results keep its rounding.
        keep_dims: numpy's `keepdims` for the frame axis; by default True only for 1-D values,
            which is the official rule.

    Returns:
        Stats in `STAT_KEYS` order.

    Raises:
        ValueError: `values` is a scalar or holds no frames.
    """
    array = np.asarray(values)
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"stats need at least one frame, got values of shape {array.shape}")
    keepdims = array.ndim == 1 if keep_dims is None else keep_dims
    sample_count = array.shape[0]
    rows = array.reshape(-1, 1) if array.ndim == 1 else array
    stats = _basic_stats(rows, sample_count) if rows.shape[0] < 2 else _histogram_stats(rows)
    stats["count"] = np.array([sample_count])
    return keep_frame_axis(stats, array.ndim) if keepdims else stats


def compute_feature_stats_runs(
    values: npt.NDArray[Any], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> list[FeatureStats]:
    """`compute_feature_stats` of each slice `values[start:start + length]`, bit for bit.

    Episodes of one column are computed together (issue 22: per-episode numpy calls cost more
    than the arithmetic): 1-D integer values whose sums are exact in float64 take a vectorised
    path, whatever the order of summation; anything else is computed slice by slice.
    """
    results: list[FeatureStats | None] = [None] * len(starts)
    fast = _exact_integer_runs(values, starts, lengths)
    for position in np.flatnonzero(~fast):
        start, length = int(starts[position]), int(lengths[position])
        results[position] = compute_feature_stats(values[start : start + length])
    chosen = np.flatnonzero(fast)
    while len(chosen):
        # As many slices as fit in `_CELLS_AT_ONCE` once padded to the longest.
        widest = np.maximum.accumulate(lengths[chosen])
        taken = max(1, int(np.searchsorted(widest * np.arange(1, len(chosen) + 1), _CELLS_AT_ONCE)))
        group, chosen = chosen[:taken], chosen[taken:]
        for position, stats in zip(
            group, _integer_runs_stats(values, starts[group], lengths[group]), strict=True
        ):
            start, length = int(starts[position]), int(lengths[position])
            results[position] = (
                stats
                if stats is not None
                else compute_feature_stats(values[start : start + length])
            )
    return [stats for stats in results if stats is not None]


_CELLS_AT_ONCE: Final = 2**21  # values sorted at once, padded to the longest slice (16 MB)
_EXACT_FLOAT64_INT: Final = 2**53


def _exact_integer_runs(
    values: npt.NDArray[Any], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which slices sum, and sum their squares, exactly in float64 (so any order gives
    `np.mean`'s answer): 1-D integers, 2 rows or more, length x max|v|^2 below 2**53."""
    if values.ndim != 1 or values.dtype.kind not in "iu" or len(starts) == 0:
        return np.zeros(len(starts), dtype=bool)
    if np.any(lengths < 2):
        fast = lengths >= 2
        if not fast.any():
            return fast
    else:
        fast = np.ones(len(starts), dtype=bool)
    magnitude = np.abs(values.astype(np.float64))
    # Reduce [start, start + length) of each slice: the odd pieces lie between slices.
    edges = np.stack([starts, starts + np.maximum(lengths, 1)], axis=1).reshape(-1)
    largest = np.maximum.reduceat(np.append(magnitude, 0.0), edges)[::2]
    bound = lengths.astype(np.float64) * largest * largest
    return fast & (bound < _EXACT_FLOAT64_INT / 2)


def _integer_runs_stats(
    values: npt.NDArray[Any], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> list[FeatureStats | None]:
    """`compute_feature_stats` of exact integer slices at once (None: take the slice path).

    Mirrors `_histogram_stats` and `_sorted_quantiles` elementwise: the same float64 operations
    on arrays over episodes instead of on scalars, so every result has the same bits.
    """
    episodes = len(starts)
    widest = int(lengths.max())
    # Each slice's values sorted in a row, padded with +inf (never below an edge).
    rows = np.repeat(np.arange(episodes), lengths)
    columns = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    taken = np.repeat(starts, lengths) + columns
    ordered = np.full((episodes, widest), np.inf)
    ordered[rows, columns] = values[taken].astype(np.float64)
    ordered.sort(axis=1)
    batch = ordered  # float64, as `_histogram_stats` promotes integers
    finite = np.isfinite(batch)
    total = np.where(finite, batch, 0.0).sum(axis=1)  # exact: any order
    squares = np.where(finite, batch, 0.0) ** 2
    minimum = batch[:, 0].copy()
    maximum = batch[np.arange(episodes), lengths - 1]
    # `_histogram_stats`'s `+ (mean - mean) * 1.0` only changes an infinite mean: these are
    # finite (exact integers), so it is left out.
    mean = total / lengths
    mean_of_squares = squares.sum(axis=1) / lengths
    std = np.sqrt(np.maximum(0, mean_of_squares - mean**2))
    usable, quantiles = _runs_sorted_quantiles(batch, lengths, minimum, maximum)
    block = np.stack([minimum, maximum, mean, std, *quantiles.T], axis=1)
    block.flags.writeable = False  # handed out as views
    keys = ("min", "max", "mean", "std", *QUANTILE_KEYS)
    results: list[FeatureStats | None] = []
    for row in range(episodes):
        if not usable[row]:
            results.append(None)
            continue
        cells = block[row]
        stats: FeatureStats = {key: cells[i : i + 1] for i, key in enumerate(keys)}
        stats["count"] = np.array([int(lengths[row])])
        # `compute_feature_stats` key order: min, max, mean, std, count, quantiles.
        results.append({key: stats[key] for key in STAT_KEYS})
    return results


def _runs_sorted_quantiles(
    ordered: npt.NDArray[np.float64],
    lengths: npt.NDArray[np.int64],
    minimum: npt.NDArray[np.float64],
    maximum: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """`_sorted_quantiles` of each row of `ordered` (sorted, +inf padded) over its own edges, as
    (rows whose edges take that path in `_dimension_quantiles`, (rows, quantiles) answers)."""
    first_edge = minimum - _HISTOGRAM_PADDING
    last_edge = maximum + _HISTOGRAM_PADDING
    # np.linspace's edges, one at a time: arange(k) * step + start, the last one `stop` (with
    # a zero step it divides first, which gives `start` all the same).
    step = (last_edge - first_edge) / NUM_QUANTILE_BINS
    rows = np.arange(len(lengths))
    count = lengths.astype(np.float64)

    def edge_at(index: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        inner = index.astype(np.float64) * step + first_edge
        return np.where(index >= NUM_QUANTILE_BINS, last_edge, inner)

    # Inner edges increase with k by construction; the last one is set, so check it, as
    # `_dimension_quantiles` checks them all.
    usable = (
        np.isfinite(first_edge)
        & np.isfinite(last_edge)
        & (edge_at(np.full(len(rows), NUM_QUANTILE_BINS - 1)) <= last_edge)
    )

    def edges_up_to(value: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """How many edges of each row are <= its `value` (`searchsorted(..., "right")`), by
        bisection over the edges, which never decrease."""
        low = np.zeros(len(value), dtype=np.int64)
        high = np.full(len(value), NUM_QUANTILE_BINS + 1, dtype=np.int64)
        while np.any(low < high):
            middle = (low + high) // 2
            above = edge_at(np.minimum(middle, NUM_QUANTILE_BINS)) > value
            searching = low < high
            high = np.where(searching & above, middle, high)
            low = np.where(searching & ~above, middle + 1, low)
        return low

    def below_edge(edge_index: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """How many values of each row lie below its edge `edge_index`."""
        bounds = edge_at(edge_index)
        return (ordered < bounds[:, None]).sum(axis=1).astype(np.float64)

    below = below_edge(np.zeros(len(rows), dtype=np.int64))
    last = (ordered <= last_edge[:, None]).sum(axis=1).astype(np.float64) - below

    def cumulative(bin_index: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        inner = np.minimum(bin_index + 1, NUM_QUANTILE_BINS)
        return np.where(bin_index == NUM_QUANTILE_BINS - 1, last, below_edge(inner) - below)

    answers = []
    for quantile in QUANTILES:
        target = quantile * count
        needed = np.maximum(np.ceil(target), 0)
        position = (needed + below - 1).astype(np.int64)
        inside = (needed > 0) & (needed + below <= count)
        probe = ordered[rows, np.clip(position, 0, ordered.shape[1] - 1)]
        edge = edges_up_to(probe)
        bin_index = np.where(
            needed == 0, 0, np.where(inside, np.maximum(edge, 1) - 1, NUM_QUANTILE_BINS)
        )
        bin_index = np.where(
            (bin_index >= NUM_QUANTILE_BINS - 1) & (last >= needed),
            NUM_QUANTILE_BINS - 1,
            bin_index,
        ).astype(np.int64)
        inner = np.clip(bin_index, 1, NUM_QUANTILE_BINS - 1)
        after, before = cumulative(inner), cumulative(inner - 1)
        low, high = edge_at(inner), edge_at(inner + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = (target - before) / (after - before)
            interpolated = low + fraction * (high - low)
        value = np.where(
            bin_index == 0,
            first_edge,
            np.where(
                bin_index >= NUM_QUANTILE_BINS,
                last_edge,
                np.where(after == before, low, interpolated),
            ),
        )
        answers.append(value)
    return usable, np.stack(answers, axis=1)


def keep_frame_axis(stats: FeatureStats, values_ndim: int) -> FeatureStats:
    """`stats` of values with `values_ndim` axes, reshaped as numpy's `keepdims` would."""
    return {
        key: value if key == "count" else _keep_frame_axis(value, values_ndim)
        for key, value in stats.items()
    }


def compute_image_stats(
    frames: npt.ArrayLike, *, is_depth: bool = False, from_counts: bool = False
) -> FeatureStats:
    """Compute one episode's per-channel stats of sampled camera frames.

    Pass the frames picked by `sample_indices`, as (n, C, H, W) uint8 for colour. Frames of
    300 px or more are strided first, as `auto_downsample_height_width` does; the stride is
    idempotent, so frames already downsampled by the caller give the same result.

    Returns:
        Stats of shape (C, 1, 1), divided by 255 unless `is_depth`; `count` is the number of
        frames n, not of pixels (FORMAT.md §4.1).

    Raises:
        ValueError: `frames` is not 4-D or is empty.
    """
    array = np.asarray(frames)
    if array.ndim != 4 or 0 in array.shape:
        raise ValueError(f"image stats need frames of shape (n, C, H, W), got {array.shape}")
    stride = downsample_stride(height=array.shape[2], width=array.shape[3])
    array = array[:, :, ::stride, ::stride]
    frame_count, channels = array.shape[0], array.shape[1]
    pixels = array.transpose(0, 2, 3, 1).reshape(-1, channels)
    if from_counts and pixels.dtype == np.uint8 and pixels.shape[0] >= 2:
        stats = _uint8_histogram_stats(pixels)
    elif pixels.shape[0] < 2:
        stats = _basic_stats(pixels, frame_count)
    else:
        stats = _histogram_stats(pixels)
    stats["count"] = np.array([frame_count])
    result: FeatureStats = {}
    for key, value in stats.items():
        if key == "count":
            result[key] = value
            continue
        per_channel = value.reshape(1, -1, 1, 1) if value.ndim == 1 else value
        # Official: np.squeeze(v / 255.0, axis=0); float32 / 255.0 stays float32 under NEP 50.
        scaled = per_channel if is_depth else per_channel / 255.0
        result[key] = np.squeeze(scaled, axis=0)
    return result


def estimate_num_samples(length: int) -> int:
    """Return how many frames of an episode of `length` frames feed its image stats."""
    minimum = min(_MIN_SAMPLES, length)
    return max(minimum, min(int(length**_SAMPLES_POWER), _MAX_SAMPLES))


def sample_indices(length: int) -> list[int]:
    """Return the frame indices of an episode whose images feed its stats (all if < 100)."""
    count = estimate_num_samples(length)
    indices: list[int] = np.round(np.linspace(0, length - 1, count)).astype(int).tolist()
    return indices


def downsample_stride(*, height: int, width: int) -> int:
    """Return the pixel stride the official image stats use for a frame of this size (1: none)."""
    if max(width, height) < IMAGE_DOWNSAMPLE_THRESHOLD:
        return 1
    longest = width if width > height else height
    return int(longest / IMAGE_DOWNSAMPLE_TARGET)


def downsample_image(image: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Stride a (C, H, W) frame the way `auto_downsample_height_width` does, as a view."""
    stride = downsample_stride(height=image.shape[-2], width=image.shape[-1])
    return image[..., ::stride, ::stride]


def aggregate_feature_stats(stats_list: Sequence[FeatureStats]) -> FeatureStats:
    """Combine one feature's stats over several episodes or datasets, as lerobot 0.6.1 does.

    min, max, mean, std and count are exact (the std by the parallel population-variance
    formula). Each quantile that every input has is the count-weighted average of the inputs'
    quantiles: the official approximation, kept because stats.json must agree with it.

    Raises:
        ValueError: `stats_list` is empty, or a `count` is not of shape (1,).
    """
    if not stats_list:
        raise ValueError("cannot aggregate an empty list of stats")
    for stats in stats_list:
        check_stats_shapes(stats)

    def stacked(key: str, power: int = 1) -> npt.NDArray[Any]:
        if power == 1:
            return np.stack([stats[key] for stats in stats_list])
        return np.stack([stats[key] ** power for stats in stats_list])

    # Official: quantile keys are taken from the first input, and kept only if all inputs have them.
    quantile_keys = [
        key
        for key in stats_list[0]
        if is_quantile_key(key) and all(key in stats for stats in stats_list)
    ]
    return combine_stacked(stacked, quantile_keys)


def combine_stacked(
    stacked: Callable[..., npt.NDArray[Any]], quantile_keys: Sequence[str]
) -> FeatureStats:
    """The aggregation over inputs stacked one per row: `stacked(key)` gives every input's
    `key`, `stacked(key, 2)` their squares (each squared in its own dtype, as 0.6.1 does).

    Shared by `aggregate_feature_stats` (cells stacked) and `format/stats_blocks.py` (blocks
    concatenated), so both give the same bits.
    """
    means = stacked("mean")
    variances = stacked("std", 2)
    counts = stacked("count")
    total_count = counts.sum(axis=0)
    while counts.ndim < means.ndim:
        counts = np.expand_dims(counts, axis=-1)
    total_mean = (means * counts).sum(axis=0) / total_count
    delta_means = means - total_mean
    total_variance = ((variances + delta_means**2) * counts).sum(axis=0) / total_count
    aggregated: FeatureStats = {
        "min": np.min(stacked("min"), axis=0),
        "max": np.max(stacked("max"), axis=0),
        "mean": total_mean,
        "std": np.sqrt(total_variance),
        "count": total_count,
    }
    for key in quantile_keys:
        aggregated[key] = (stacked(key) * counts).sum(axis=0) / total_count
    return aggregated


def aggregate_stats(stats_list: Sequence[DatasetStats]) -> DatasetStats:
    """Combine several datasets' or episodes' stats into one, over the union of features.

    Each feature is aggregated over the inputs that have it, with `aggregate_feature_stats`.
    Features come out in first-seen order (the official code uses a set, whose order varies).
    Unlike 0.6.1 this does not require stats of features named "*image*" to be (3, 1, 1).
    """
    features: dict[str, None] = {}
    for stats in stats_list:
        features.update(dict.fromkeys(stats))
    return {
        feature: aggregate_feature_stats(
            [stats[feature] for stats in stats_list if feature in stats]
        )
        for feature in features
    }


def shift_stats(stats: FeatureStats, offset: float) -> FeatureStats:
    """Return `stats` of the feature's values plus `offset`, e.g. when `index` is renumbered.

    min, max, mean and quantiles move; std and count do not (as 0.6.1 aggregate shifts them).
    The moved stats are float64, so a float32 array does not round a large index away.
    """
    return {
        key: value if key in ("std", "count") else np.asarray(value, dtype=np.float64) + offset
        for key, value in stats.items()
    }


def stats_to_json(stats: Mapping[str, FeatureStats]) -> dict[str, dict[str, Any]]:
    """Return stats as the nested lists of `meta/stats.json`, with `count` a list of ints."""
    return {
        feature: {key: stat_json_value(key, value) for key, value in feature_stats.items()}
        for feature, feature_stats in stats.items()
    }


def complete_stats_entry(entry: object) -> bool:
    """Whether a stats.json entry has min, max, mean, std and count, each numbers of one shape."""
    if not isinstance(entry, Mapping) or not all(key in entry for key in STAT_KEYS[:5]):
        return False
    for value in entry.values():
        try:
            array = np.asarray(value)
        except ValueError:
            return False
        if array.dtype.kind not in "biuf":
            return False
    return True


def stats_from_json(data: Mapping[str, Mapping[str, Any]]) -> DatasetStats:
    """Parse `meta/stats.json` the way the loader does: `np.atleast_1d(np.array(value))`."""
    return {
        feature: {key: np.atleast_1d(np.array(value)) for key, value in feature_stats.items()}
        for feature, feature_stats in data.items()
    }


def flatten_episode_stats(stats: Mapping[str, FeatureStats]) -> dict[str, list[Any]]:
    """Return one episode's stats as `stats/<feature>/<stat>` column values of meta/episodes.

    Features keep their order and stats follow `STAT_KEYS` (FORMAT.md §1.5); any other stat key
    comes after them in its own order.

    Raises:
        ValueError: a feature name contains "/", which would make the column name ambiguous.
    """
    columns: dict[str, list[Any]] = {}
    for feature, feature_stats in stats.items():
        if "/" in feature:
            raise ValueError(f"feature {feature!r} contains '/', so its stats cannot be flattened")
        for key in ordered_stat_keys(feature_stats):
            columns[f"{STATS_COLUMN_PREFIX}{feature}/{key}"] = stat_json_value(
                key, feature_stats[key]
            )
    return columns


def unflatten_episode_stats(row: Mapping[str, Any]) -> DatasetStats:
    """Rebuild per-feature stats from one meta/episodes row, skipping non-stats and null cells.

    Image and video stats come back as (C, 1, 1) because their cells are nested lists.
    """
    stats: DatasetStats = {}
    for column, cell in row.items():
        if not column.startswith(STATS_COLUMN_PREFIX) or cell is None:
            continue
        feature, _, key = column[len(STATS_COLUMN_PREFIX) :].rpartition("/")
        if not feature:
            continue
        stats.setdefault(feature, {})[key] = np.atleast_1d(np.array(_to_nested_list(cell)))
    return stats


def _histogram_stats(rows: npt.NDArray[Any]) -> FeatureStats:
    """Mirror one `RunningQuantileStats.update` + `get_statistics` on a (rows, dims) batch."""
    batch = rows.reshape(-1, rows.shape[-1])
    # 0.6.1 promotes integer, bool and low-precision inputs before squaring.
    batch = batch.astype(np.result_type(batch.dtype, np.float32), copy=False)
    count = batch.shape[0]
    mean = np.mean(batch, axis=0)
    mean_of_squares = np.mean(batch**2, axis=0)
    minimum = np.min(batch, axis=0)
    maximum = np.max(batch, axis=0)
    # The official running update then adds (batch_mean - mean) * 1.0 with batch_mean == mean;
    # kept because it turns an infinite mean into NaN in the official output.
    mean = mean + (mean - mean) * 1.0
    mean_of_squares = mean_of_squares + (mean_of_squares - mean_of_squares) * 1.0
    variance = mean_of_squares - mean**2
    stats: FeatureStats = {
        "min": minimum.copy(),
        "max": maximum.copy(),
        "mean": mean.copy(),
        "std": np.sqrt(np.maximum(0, variance)),
        "count": np.array([count]),
    }
    per_dimension = [
        _dimension_quantiles(batch[:, dimension], minimum[dimension], maximum[dimension], count)
        for dimension in range(batch.shape[1])
    ]
    stats.update(quantile_arrays(per_dimension))
    return stats


def quantile_arrays(per_dimension: Sequence[Sequence[np.floating[Any]]]) -> FeatureStats:
    """{q01: array over dimensions, …} from each dimension's `QUANTILES`."""
    return {
        key: np.array([quantiles[position] for quantiles in per_dimension])
        for position, key in enumerate(QUANTILE_KEYS)
    }


def _uint8_histogram_stats(pixels: npt.NDArray[np.uint8]) -> FeatureStats:
    """`_histogram_stats` of uint8 pixels from their value counts: ~20x faster, same histogram.

    Every pixel of one value falls in one bin, so the 5000-bin histogram is the 256 value counts
    placed in their bins; moments are summed in float64, so they can differ from the official
    float32 running sums in the last bits. Used for frames decoded from video, which differ from
    the recorder's raw frames anyway.
    """
    count = pixels.shape[0]
    values = np.arange(256, dtype=np.float64)
    per_channel = [np.bincount(pixels[:, c], minlength=256) for c in range(pixels.shape[1])]
    stats_columns: dict[str, list[Any]] = {key: [] for key in ("min", "max", "mean", "std")}
    quantiles: list[list[Any]] = []
    for counts in per_channel:
        present = np.flatnonzero(counts)
        minimum, maximum = np.float32(present[0]), np.float32(present[-1])
        mean = float(counts @ values) / count
        variance = float(counts @ (values**2)) / count - mean**2
        stats_columns["min"].append(minimum)
        stats_columns["max"].append(maximum)
        stats_columns["mean"].append(mean)
        stats_columns["std"].append(np.sqrt(max(0.0, variance)))
        edges = np.linspace(
            minimum - _HISTOGRAM_PADDING, maximum + _HISTOGRAM_PADDING, NUM_QUANTILE_BINS + 1
        )
        bins = np.clip(
            np.searchsorted(edges, values[present], side="right") - 1, 0, NUM_QUANTILE_BINS - 1
        )
        histogram = np.zeros(NUM_QUANTILE_BINS)
        np.add.at(histogram, bins, counts[present])
        cumulative = np.cumsum(histogram)
        quantiles.append([_single_quantile(cumulative, edges, q * count) for q in QUANTILES])
    stats: FeatureStats = {
        "min": np.array(stats_columns["min"], dtype=np.float32),
        "max": np.array(stats_columns["max"], dtype=np.float32),
        "mean": np.array(stats_columns["mean"]),
        "std": np.array(stats_columns["std"]),
        "count": np.array([count]),
    }
    for position, key in enumerate(QUANTILE_KEYS):
        stats[key] = np.array([dimension[position] for dimension in quantiles])
    return stats


def _dimension_quantiles(
    column: npt.NDArray[Any], minimum: np.floating[Any], maximum: np.floating[Any], count: int
) -> list[np.floating[Any]]:
    """Return the histogram quantiles of one dimension, mirroring `_compute_single_quantile`."""
    edges = quantile_edges(minimum, maximum)
    if (
        column.dtype == edges.dtype
        and np.isfinite(edges[0])
        and np.isfinite(edges[-1])
        and not np.any(edges[1:] < edges[:-1])  # np.histogram raises on these: let it
    ):
        return _sorted_quantiles(np.sort(column), edges, count)
    histogram = np.zeros(NUM_QUANTILE_BINS)
    histogram += np.histogram(column, bins=edges)[0]
    return histogram_quantiles(histogram, edges, count)


def _sorted_quantiles(
    ordered: npt.NDArray[Any], edges: npt.NDArray[Any], count: int
) -> list[np.floating[Any]]:
    """`histogram_quantiles` of sorted values, without building the 5000-bin histogram.

    The histogram's cumulative count at bin k is the number of values below edge k + 1 (the last
    edge inclusive), found by `searchsorted` as `np.histogram` finds it; only the few bins the
    quantiles look at are counted, so the answer is the histogram's, bit for bit, ~3x faster.
    `ordered` and `edges` share a dtype; the edges are finite and increase.
    """
    below = int(ordered.searchsorted(edges[0], "left"))
    last = int(ordered.searchsorted(edges[-1], "right")) - below

    def cumulative(bin_index: int) -> np.float64:
        if bin_index == NUM_QUANTILE_BINS - 1:
            return np.float64(last)
        return np.float64(int(ordered.searchsorted(edges[bin_index + 1], "left")) - below)

    answers = []
    for quantile in QUANTILES:
        target = quantile * count
        # The first bin whose cumulative count reaches `target` (`np.searchsorted` on the
        # histogram's cumsum): counts are whole, so it is the first to hold ceil(target) values.
        needed = max(math.ceil(target), 0)
        bin_index = NUM_QUANTILE_BINS
        if needed == 0:
            bin_index = 0
        elif needed + below <= len(ordered):
            # Below edge i lie >= `needed` values exactly when the needed-th value is below it.
            edge = int(edges.searchsorted(ordered[needed + below - 1], "right"))
            bin_index = max(edge, 1) - 1
        if bin_index >= NUM_QUANTILE_BINS - 1 and last >= needed:
            bin_index = NUM_QUANTILE_BINS - 1
        answers.append(_bin_quantile(edges, bin_index, cumulative, target))
    return answers


def quantile_edges(minimum: np.floating[Any], maximum: np.floating[Any]) -> npt.NDArray[Any]:
    """The official quantile bins' edges of one dimension, from its min and max."""
    # Under NEP 50 a float32 minimum minus 1e-10 stays float32, and so do the edges: keep them so.
    return np.linspace(
        minimum - _HISTOGRAM_PADDING, maximum + _HISTOGRAM_PADDING, NUM_QUANTILE_BINS + 1
    )


def histogram_quantiles(
    histogram: npt.NDArray[Any], edges: npt.NDArray[Any], count: int
) -> list[np.floating[Any]]:
    """`QUANTILES` of `count` values from their counts in the bins of `edges` (official rule).

    Histograms of parts of the values add up to the whole's, so this is also the exact
    one-batch answer for values seen in several passes (`engine/dataset_quantiles.py`).
    """
    cumulative = np.cumsum(histogram)
    return [_single_quantile(cumulative, edges, quantile * count) for quantile in QUANTILES]


def _single_quantile(
    cumulative: npt.NDArray[Any], edges: npt.NDArray[Any], target: float
) -> np.floating[Any]:
    """Interpolate inside the bin where the cumulative count reaches `target` (official rule).

    Edge answers stay numpy scalars of the edges' dtype (float32 for float32 data), as in
    0.6.1: the dtype of the quantile array, and so the rounding of image quantiles / 255, follows.
    """
    bin_index = int(np.searchsorted(cumulative, target))
    return _bin_quantile(edges, bin_index, lambda index: cumulative[index], target)


def _bin_quantile(
    edges: npt.NDArray[Any],
    bin_index: int,
    cumulative: Callable[[int], Any],
    target: float,
) -> np.floating[Any]:
    """The official answer once the bin reaching `target` is known (`cumulative(k)`: the count up
    to bin k)."""
    value: np.floating[Any]
    if bin_index == 0:
        # FORMAT.md §4.1: the first bin holds the target already, so the answer is min - 1e-10.
        value = edges[0]
    elif bin_index >= len(edges) - 1:
        value = edges[-1]
    elif cumulative(bin_index) == cumulative(bin_index - 1):
        value = edges[bin_index]
    else:
        count_before = cumulative(bin_index - 1)
        fraction = (target - count_before) / (cumulative(bin_index) - count_before)
        value = edges[bin_index] + fraction * (edges[bin_index + 1] - edges[bin_index])
    return value


def _basic_stats(rows: npt.NDArray[Any], sample_count: int) -> FeatureStats:
    """Return numpy stats of fewer than 2 rows, quantiles equal to the mean (no promotion)."""
    stats: FeatureStats = {
        "min": np.min(rows, axis=0),
        "max": np.max(rows, axis=0),
        "mean": np.mean(rows, axis=0),
        "std": np.std(rows, axis=0),
        "count": np.array([sample_count]),
    }
    for key in QUANTILE_KEYS:
        stats[key] = stats["mean"].copy()
    return stats


def _keep_frame_axis(value: npt.NDArray[Any], values_ndim: int) -> npt.NDArray[Any]:
    """Reshape a stat as `_reshape_for_vector_stats` does when `keepdims` is set."""
    if values_ndim == 1 and value.ndim > 0:
        return value.reshape(1)
    if values_ndim >= 2 and value.ndim == 1:
        return value.reshape(1, -1)
    return value


def check_stats_shapes(stats: FeatureStats) -> None:
    """Raise on what 0.6.1's `_assert_type_and_shape` rejects (bar its "image" name check)."""
    for key, value in stats.items():
        if not isinstance(value, np.ndarray) or value.ndim == 0:
            raise ValueError(f"stat {key!r} must be an array with at least 1 dimension")
        if key == "count" and value.shape != (1,):
            raise ValueError(f"stat 'count' must have shape (1,), got {value.shape}")


def is_quantile_key(key: str) -> bool:
    """Return whether `key` names a quantile (`q01`, `q99`, …), by the official test."""
    return key.startswith("q") and key[1:].isdigit()


def ordered_stat_keys(stats: Mapping[str, Any]) -> list[str]:
    """Return the keys of `stats` in `STAT_KEYS` order, unknown keys last."""
    known = [key for key in STAT_KEYS if key in stats]
    return known + [key for key in stats if key not in STAT_KEYS]


def stat_json_value(key: str, value: npt.ArrayLike) -> list[Any]:
    """Return a stat as nested lists; `count` as a list of ints."""
    array = np.asarray(value)
    if key == "count":
        return [int(item) for item in array.reshape(-1)]
    nested: list[Any] = np.atleast_1d(array).tolist()
    return nested


def _to_nested_list(cell: object) -> object:
    """Turn a Parquet cell (lists, or numpy object arrays from pandas) into nested lists."""
    if isinstance(cell, np.ndarray) and cell.dtype != object:
        return cell.tolist()
    if isinstance(cell, Iterable) and not isinstance(cell, (str, bytes)):
        return [_to_nested_list(item) for item in cell]
    return cell
