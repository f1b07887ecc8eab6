"""Tests of `robosplice.format.stats` against datasets written by the official 0.6.1 recorder.

Every expected number comes from the fixtures in tests/fixtures/datasets (their data parquet, the
`stats/*` columns of meta/episodes and meta/stats.json), never from hard-coded values.
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import fixtures_dir
from robosplice.format.stats import (
    NUM_QUANTILE_BINS,
    QUANTILE_KEYS,
    STAT_KEYS,
    DatasetStats,
    FeatureStats,
    aggregate_feature_stats,
    aggregate_stats,
    compute_feature_stats,
    compute_image_stats,
    downsample_image,
    downsample_stride,
    estimate_num_samples,
    flatten_episode_stats,
    sample_indices,
    shift_stats,
    stats_from_json,
    stats_to_json,
    unflatten_episode_stats,
)

FIXTURES = fixtures_dir()
FIXTURE_NAMES = ("v3_av1_single", "v3_av1_multifile", "v3_image", "v3_h264_bframes")
CAMERA_DTYPES = ("image", "video")


@dataclass(frozen=True)
class Recorded:
    """One fixture dataset as the recorder left it: features, frames and per-episode rows."""

    name: str
    fps: int
    features: dict[str, dict[str, Any]]
    data: pa.Table
    episode_rows: list[dict[str, Any]]
    stats_json: dict[str, dict[str, Any]]

    def numeric_features(self) -> list[str]:
        return [
            name
            for name, feature in self.features.items()
            if feature["dtype"] not in (*CAMERA_DTYPES, "string", "language")
        ]

    def camera_features(self) -> list[str]:
        return [
            name for name, feature in self.features.items() if feature["dtype"] in CAMERA_DTYPES
        ]

    def frames(self, feature: str, row: dict[str, Any]) -> np.ndarray:
        """Return one episode's values of a numeric feature, shaped (N, *shape) or (N,)."""
        start, stop = row["dataset_from_index"], row["dataset_to_index"]
        column = self.data.column(feature).slice(start, stop - start).combine_chunks()
        while pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type):
            column = column.flatten()
        values: np.ndarray = column.to_numpy(zero_copy_only=False)
        shape = tuple(self.features[feature]["shape"])
        return values if shape == (1,) else values.reshape(stop - start, *shape)

    def recorder_input(self, feature: str, row: dict[str, Any]) -> np.ndarray:
        """Return the array the recorder fed to `compute_episode_stats` for a numeric feature."""
        if feature == "timestamp":
            # The recorder computes stats on its buffer of Python floats `frame_index / fps`
            # (float64), while the parquet column holds them as float32.
            return np.arange(row["length"]) / self.fps
        return self.frames(feature, row)

    def sampled_images(self, feature: str, row: dict[str, Any]) -> np.ndarray:
        """Decode the PNG frames `sample_indices` picks, as (n, C, H, W) uint8."""
        start = row["dataset_from_index"]
        cells = self.data.column(feature).slice(start, row["length"]).combine_chunks()
        png_bytes = cells.field("bytes").to_pylist()
        return np.stack([_decode_png(png_bytes[i]) for i in sample_indices(row["length"])])


@functools.cache
def load_recorded(name: str) -> Recorded:
    root = FIXTURES / name
    info = json.loads((root / "meta" / "info.json").read_text())
    data_files = sorted((root / "data").glob("*/*.parquet"))
    episode_files = sorted((root / "meta" / "episodes").glob("*/*.parquet"))
    return Recorded(
        name=name,
        fps=info["fps"],
        features=info["features"],
        data=pa.concat_tables(pq.read_table(path) for path in data_files),
        episode_rows=[row for path in episode_files for row in pq.read_table(path).to_pylist()],
        stats_json=json.loads((root / "meta" / "stats.json").read_text()),
    )


def _decode_png(png: bytes) -> np.ndarray:
    # PIL is not a dependency; PyAV's png decoder gives the same pixels (PNG is lossless).
    with av.open(io.BytesIO(png), mode="r") as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24").transpose(2, 0, 1)


def _recomputed_episode_stats(recorded: Recorded, row: dict[str, Any]) -> DatasetStats:
    """Recompute what can be recomputed of one episode; take video stats from its row."""
    stored = unflatten_episode_stats(row)
    stats: DatasetStats = {}
    for feature, description in recorded.features.items():
        if description["dtype"] == "image":
            stats[feature] = compute_image_stats(recorded.sampled_images(feature, row))
        elif description["dtype"] == "video":
            # The recorder computed these from its staging PNGs, which are gone. The row holds
            # the float32 stats widened to float64; std is squared before widening in the
            # aggregation, so restore its float32 dtype to fold exactly as the recorder did.
            stats[feature] = {**stored[feature], "std": stored[feature]["std"].astype(np.float32)}
        elif feature in recorded.numeric_features():
            stats[feature] = compute_feature_stats(recorded.recorder_input(feature, row))
    return stats


def _assert_same_stats(actual: FeatureStats, expected: FeatureStats, where: str) -> None:
    assert list(actual) == list(expected), where
    for key, value in expected.items():
        got = np.asarray(actual[key])
        assert got.shape == value.shape, f"{where} {key}: shape {got.shape} != {value.shape}"
        np.testing.assert_array_equal(got.astype(np.float64), value, err_msg=f"{where} {key}")


def _histogram_bin_width(stats: FeatureStats) -> float:
    """Return the widest quantile histogram bin of a feature, plus a little for rounding."""
    span: float = np.max(stats["max"] - stats["min"]).item()
    return span / NUM_QUANTILE_BINS * 1.001


def _fold(stats_list: list[DatasetStats]) -> DatasetStats:
    """Aggregate one episode at a time, as the recorder updates stats.json after each episode."""
    total = stats_list[0]
    for stats in stats_list[1:]:
        total = aggregate_stats([total, stats])
    return total


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_episode_numeric_stats_match_recorder_exactly(name: str) -> None:
    recorded = load_recorded(name)
    for row in recorded.episode_rows:
        stored = unflatten_episode_stats(row)
        for feature in recorded.numeric_features():
            actual = compute_feature_stats(recorded.recorder_input(feature, row))
            where = f"{name} episode {row['episode_index']} {feature}"
            _assert_same_stats(actual, stored[feature], where)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_timestamp_stats_from_parquet_float32_are_close(name: str) -> None:
    # Irreducible: the stored float32 timestamps differ from the recorder's float64 ones by
    # up to half a float32 ulp, so min, max, mean and std agree to ~1e-7 only. A quantile can
    # move by up to one histogram bin, (max - min) / 5000, when a value on a bin edge changes side.
    recorded = load_recorded(name)
    for row in recorded.episode_rows:
        expected = unflatten_episode_stats(row)["timestamp"]
        actual = compute_feature_stats(recorded.frames("timestamp", row))
        bin_width = _histogram_bin_width(expected)
        for key in STAT_KEYS:
            tolerance = bin_width if key in QUANTILE_KEYS else 1e-9
            np.testing.assert_allclose(actual[key], expected[key], rtol=1e-6, atol=tolerance)


def test_pose_feature_uses_last_axis_and_counts_frames() -> None:
    recorded = load_recorded("v3_image")
    row = recorded.episode_rows[0]
    values = recorded.frames("observation.pose", row)
    stats = compute_feature_stats(values)
    assert values.shape == (row["length"], 2, 3)
    assert {key: stats[key].shape for key in STAT_KEYS if key != "count"} == dict.fromkeys(
        (key for key in STAT_KEYS if key != "count"), (3,)
    )
    assert stats["count"].tolist() == [row["length"]]


def test_image_stats_match_recorder_exactly() -> None:
    recorded = load_recorded("v3_image")
    for row in recorded.episode_rows:
        stored = unflatten_episode_stats(row)
        for feature in recorded.camera_features():
            actual = compute_image_stats(recorded.sampled_images(feature, row))
            where = f"episode {row['episode_index']} {feature}"
            _assert_same_stats(actual, stored[feature], where)
            assert stored[feature]["mean"].shape == (3, 1, 1)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_episode_by_episode_aggregate_equals_stats_json(name: str) -> None:
    recorded = load_recorded(name)
    per_episode = [_recomputed_episode_stats(recorded, row) for row in recorded.episode_rows]
    total = _fold(per_episode)
    expected = stats_from_json(recorded.stats_json)
    assert set(total) == set(expected)
    for feature, feature_stats in expected.items():
        _assert_same_stats(total[feature], feature_stats, f"{name} {feature}")


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_one_shot_aggregate_of_stored_rows_is_close_to_stats_json(name: str) -> None:
    # One aggregate over all episodes equals the recorder's episode-by-episode fold up to
    # float rounding (~1e-8 for the camera std, whose float32 dtype the rows no longer carry).
    recorded = load_recorded(name)
    total = aggregate_stats([unflatten_episode_stats(row) for row in recorded.episode_rows])
    for feature, feature_stats in stats_from_json(recorded.stats_json).items():
        assert list(total[feature]) == list(STAT_KEYS)
        for key, value in feature_stats.items():
            np.testing.assert_allclose(total[feature][key], value, rtol=1e-7, atol=1e-12)
        assert total[feature]["count"].tolist() == [len(recorded.data)]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_stats_json_round_trip(name: str) -> None:
    recorded = load_recorded(name)
    stats = stats_from_json(recorded.stats_json)
    as_json = stats_to_json(stats)
    assert json.loads(json.dumps(as_json)) == recorded.stats_json
    for feature, feature_stats in stats_from_json(as_json).items():
        _assert_same_stats(feature_stats, stats[feature], feature)
    assert all(isinstance(count, int) for count in as_json["index"]["count"])


def test_stats_to_json_of_computed_stats_gives_int_counts_and_nested_lists() -> None:
    recorded = load_recorded("v3_image")
    row = recorded.episode_rows[0]
    stats = {
        "observation.images.front": compute_image_stats(
            recorded.sampled_images("observation.images.front", row)
        ),
        "frame_index": compute_feature_stats(recorded.frames("frame_index", row)),
    }
    as_json = json.loads(json.dumps(stats_to_json(stats)))
    assert as_json["frame_index"]["count"] == [row["length"]]
    assert np.array(as_json["observation.images.front"]["mean"]).shape == (3, 1, 1)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_flatten_unflatten_round_trip_on_real_rows(name: str) -> None:
    recorded = load_recorded(name)
    for row in recorded.episode_rows:
        stats_columns = {
            column: cell for column, cell in row.items() if column.startswith("stats/")
        }
        flattened = flatten_episode_stats(unflatten_episode_stats(row))
        assert list(flattened) == list(stats_columns)
        assert flattened == stats_columns


def test_flatten_of_recomputed_stats_equals_recorded_row() -> None:
    recorded = load_recorded("v3_image")
    for row in recorded.episode_rows:
        stats_columns = {
            column: cell for column, cell in row.items() if column.startswith("stats/")
        }
        flattened = flatten_episode_stats(_recomputed_episode_stats(recorded, row))
        assert list(flattened) == list(stats_columns)
        assert flattened == stats_columns


def test_unflatten_accepts_numpy_object_cells_and_skips_nulls() -> None:
    row = load_recorded("v3_image").episode_rows[0]
    as_pandas_would = {
        column: np.array([np.array(item, dtype=object) for item in cell], dtype=object)
        if column.startswith("stats/observation.images.front/") and column[-5:] != "count"
        else cell
        for column, cell in row.items()
    }
    as_pandas_would["stats/observation.effort/q01"] = None
    expected = unflatten_episode_stats(row)
    actual = unflatten_episode_stats(as_pandas_would)
    del expected["observation.effort"]["q01"]
    assert actual["observation.images.front"]["mean"].shape == (3, 1, 1)
    for feature, feature_stats in expected.items():
        _assert_same_stats(actual[feature], feature_stats, feature)


def test_flatten_rejects_slash_in_feature_name() -> None:
    with pytest.raises(ValueError, match="contains '/'"):
        flatten_episode_stats({"a/b": compute_feature_stats(np.arange(3.0))})


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_parallel_variance_equals_std_of_concatenated_data(name: str) -> None:
    recorded = load_recorded(name)
    for feature in ("observation.state", "observation.effort", "index"):
        # float64 input keeps the per-episode running sums exact enough to compare with numpy.
        parts = [recorded.frames(feature, row).astype(np.float64) for row in recorded.episode_rows]
        total = aggregate_feature_stats([compute_feature_stats(part) for part in parts])
        everything = np.concatenate(parts)
        np.testing.assert_allclose(total["mean"], everything.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(total["std"], everything.std(axis=0), rtol=1e-9)
        np.testing.assert_array_equal(
            total["min"], everything.min(axis=0, keepdims=everything.ndim == 1)
        )
        np.testing.assert_array_equal(
            total["max"], everything.max(axis=0, keepdims=everything.ndim == 1)
        )
        assert total["count"].tolist() == [len(everything)]


def test_aggregate_keeps_union_of_features_and_only_shared_quantiles() -> None:
    recorded = load_recorded("v3_av1_single")
    first, second = (unflatten_episode_stats(row) for row in recorded.episode_rows[:2])
    del second["next.reward"]
    del second["action"]["q50"]
    total = aggregate_stats([first, second])
    assert set(total) == set(first)
    assert total["next.reward"]["count"].tolist() == first["next.reward"]["count"].tolist()
    assert "q50" not in total["action"]
    assert set(QUANTILE_KEYS) - {"q50"} <= set(total["action"])


def test_aggregate_rejects_empty_list_and_bad_count() -> None:
    with pytest.raises(ValueError, match="empty"):
        aggregate_feature_stats([])
    stats = compute_feature_stats(np.arange(4.0))
    with pytest.raises(ValueError, match="count"):
        aggregate_feature_stats([{**stats, "count": np.array([[4]])}])


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_shift_stats_matches_stats_of_shifted_values(name: str) -> None:
    recorded = load_recorded(name)
    offset = 1000
    for row in recorded.episode_rows:
        index = recorded.frames("index", row)
        shifted = shift_stats(compute_feature_stats(index), offset)
        expected = compute_feature_stats(index + offset)
        assert list(shifted) == list(expected)
        for key in ("min", "max", "mean", "count"):
            np.testing.assert_array_equal(shifted[key], expected[key])
        # Integers sit on histogram edges, and shifting moves the edges by a rounding error,
        # so a quantile may land one bin away: shifting is exact only up to a bin width.
        bin_width = _histogram_bin_width(expected)
        for key in QUANTILE_KEYS:
            np.testing.assert_allclose(shifted[key], expected[key], rtol=0, atol=bin_width)
        np.testing.assert_array_equal(shifted["std"], compute_feature_stats(index)["std"])


def test_fewer_than_two_frames_use_numpy_stats_and_mean_quantiles() -> None:
    row = load_recorded("v3_image").episode_rows[0]
    pose = load_recorded("v3_image").frames("observation.pose", row)[:1]
    stats = compute_feature_stats(pose)
    # Official quirk: the single-frame path does not reshape, so (1, 2, 3) gives (2, 3).
    assert stats["mean"].shape == (2, 3)
    assert stats["count"].tolist() == [1]
    for key in QUANTILE_KEYS:
        np.testing.assert_array_equal(stats[key], stats["mean"])
    scalar = compute_feature_stats(np.array([7]))
    assert {key: value.tolist() for key, value in scalar.items()} == {
        **{key: [7] for key in ("min", "max", "mean", *QUANTILE_KEYS)},
        "std": [0.0],
        "count": [1],
    }


def test_compute_feature_stats_rejects_empty_values() -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        compute_feature_stats(np.zeros((0, 6), dtype=np.float32))


def test_keep_dims_keeps_the_frame_axis() -> None:
    values = load_recorded("v3_image").frames("action", load_recorded("v3_image").episode_rows[0])
    assert compute_feature_stats(values, keep_dims=True)["mean"].shape == (1, 6)
    assert compute_feature_stats(values)["mean"].shape == (6,)


@pytest.mark.parametrize(
    ("length", "expected"),
    [(1, 1), (20, 20), (99, 99), (100, 100), (500, 105), (1000, 177), (10**6, 10_000)],
)
def test_estimate_num_samples(length: int, expected: int) -> None:
    assert estimate_num_samples(length) == expected
    indices = sample_indices(length)
    assert len(indices) == expected
    assert indices[0] == 0
    assert indices[-1] == length - 1


@pytest.mark.parametrize(
    ("height", "width", "stride"),
    [(64, 96, 1), (299, 299, 1), (300, 200, 2), (240, 320, 2), (480, 640, 4), (1080, 1920, 12)],
)
def test_downsample_stride(height: int, width: int, stride: int) -> None:
    assert downsample_stride(height=height, width=width) == stride
    image = np.zeros((3, height, width), dtype=np.uint8)
    once = downsample_image(image)
    assert once.shape == (3, len(range(0, height, stride)), len(range(0, width, stride)))
    # Idempotent, so compute_image_stats can stride frames the caller already strided.
    assert downsample_image(once).shape == once.shape


def test_image_stats_of_large_frames_equal_stats_of_downsampled_frames() -> None:
    row = load_recorded("v3_image").episode_rows[0]
    frames = load_recorded("v3_image").sampled_images("observation.images.front", row)
    large = np.tile(frames, (1, 1, 5, 4))  # 320 x 384: strided by 2
    expected = compute_image_stats(np.stack([downsample_image(frame) for frame in large]))
    _assert_same_stats(compute_image_stats(large), expected, "large frames")
    assert expected["count"].tolist() == [len(frames)]


def test_depth_stats_are_not_divided_by_255() -> None:
    row = load_recorded("v3_image").episode_rows[0]
    frames = load_recorded("v3_image").sampled_images("observation.images.front", row)
    depth = compute_image_stats(frames[:, :1], is_depth=True)
    colour = compute_image_stats(frames)
    assert depth["max"].shape == (1, 1, 1)
    np.testing.assert_allclose(depth["mean"][0] / 255.0, colour["mean"][0], rtol=1e-6)


def _official_quantiles(values: np.ndarray) -> dict[str, np.ndarray]:
    """0.6.1 `RunningQuantileStats` quantiles after one update, written out from its source: a
    5000-bin `np.histogram` per dimension, then `_compute_single_quantile` on its cumsum."""
    batch = values.reshape(-1, values.shape[-1]) if values.ndim > 1 else values.reshape(-1, 1)
    batch = batch.astype(np.result_type(batch.dtype, np.float32), copy=False)
    minimum, maximum = np.min(batch, axis=0), np.max(batch, axis=0)
    per_dimension = []
    for dimension in range(batch.shape[1]):
        edges = np.linspace(minimum[dimension] - 1e-10, maximum[dimension] + 1e-10, 5001)
        histogram = np.zeros(5000)
        histogram += np.histogram(batch[:, dimension], bins=edges)[0]
        cumulative = np.cumsum(histogram)
        answers = []
        for quantile in (0.01, 0.10, 0.50, 0.90, 0.99):
            target = quantile * batch.shape[0]
            index = int(np.searchsorted(cumulative, target))
            if index == 0:
                answers.append(edges[0])
            elif index >= len(cumulative):
                answers.append(edges[-1])
            elif cumulative[index] == cumulative[index - 1]:
                answers.append(edges[index])
            else:
                before = cumulative[index - 1]
                fraction = (target - before) / (cumulative[index] - before)
                answers.append(edges[index] + fraction * (edges[index + 1] - edges[index]))
        per_dimension.append(answers)
    return {key: np.array([d[i] for d in per_dimension]) for i, key in enumerate(QUANTILE_KEYS)}


def _bookkeeping_columns(length: int) -> dict[str, np.ndarray]:
    """Index columns as an edit writes them: renumbered, shifted, constant, repeated, divided."""
    frames = np.arange(length, dtype=np.int64)
    rng = np.random.default_rng(length)
    return {
        "frame_index": frames,
        "index": frames + 12_345,
        "index far": frames + (2**24 - 3),  # past float32's exact integers
        "index huge": frames + 10**12,
        "episode_index": np.full(length, 1_919, dtype=np.int64),
        "task_index": rng.integers(0, 3, length),
        "timestamp": frames / 30.0,
        "timestamp float32": (frames / 29.97).astype(np.float32),
        "float32 on edges": np.linspace(-1.0, 1.0, 5001, dtype=np.float32)[
            rng.integers(0, 5001, length)
        ],
        "float32 pose": rng.normal(size=(length, 2, 3)).astype(np.float32),
    }


@pytest.mark.parametrize("length", [2, 3, 99, 100, 101, 250, 4_999, 5_000, 5_001, 70_001])
def test_quantiles_are_the_official_histograms_bit_for_bit(length: int) -> None:
    # compute_feature_stats counts only the bins its quantiles read: the answer must still be
    # the full histogram's, dtype and every bit (episode stats are written from it).
    for column, values in _bookkeeping_columns(length).items():
        actual = compute_feature_stats(values)
        for key, expected in _official_quantiles(values).items():
            got = np.asarray(actual[key]).reshape(-1)
            assert got.dtype == expected.dtype, f"{column} {key} at {length} frames"
            assert got.tobytes() == expected.tobytes(), f"{column} {key} at {length} frames"


def test_one_frame_quantiles_are_the_value() -> None:
    for column, values in _bookkeeping_columns(1).items():
        stats = compute_feature_stats(values)
        for key in QUANTILE_KEYS:
            expected = values[0].reshape(-1)
            np.testing.assert_array_equal(stats[key].reshape(-1), expected, err_msg=column)
