"""Dataset quantiles in stats.json are those of every output value, without keeping the values.

The reference is the recorder's one-batch computation (`compute_feature_stats`) over all values of
the output read back with pyarrow, and numpy's own quantile, which the 5000-bin answer must be
within one bin of. Values include heavy ties, a constant dimension, integers, short episodes
and magnitudes far apart (no NaN: the recorder's stats of NaN are NaN); the two passes alone
also on one frame and a (2, 3) feature.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from robosplice.dataset import Dataset
from robosplice.engine.dataset_quantiles import DatasetQuantiles
from robosplice.format.stats import (
    NUM_QUANTILE_BINS,
    QUANTILE_KEYS,
    QUANTILES,
    compute_feature_stats,
)
from robosplice.ops.delete import delete_episodes
from robosplice.testing.synthetic import write_numeric_dataset

FPS = 30


def _episodes(seed: int, lengths: list[int]) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    episodes = []
    for length in lengths:
        state = np.stack(
            [
                rng.integers(0, 3, length).astype(np.float32),  # three values: ties everywhere
                np.full(length, 5.0, dtype=np.float32),  # constant: min == max
                rng.normal(0, 1e4, length).astype(np.float32),
            ],
            axis=1,
        )
        episodes.append(
            {
                "observation.state": state,
                "action": rng.normal(0, 1e-3, (length, 2)),  # float64
                "grip": rng.integers(-2, 2, length).astype(np.int64),  # 1-D integers
            }
        )
    return episodes


def _written_values(root: Path, name: str, shape: tuple[int, ...]) -> np.ndarray:
    table = pq.read_table(sorted((root / "data").glob("*/*.parquet")))
    if name == "timestamp":  # the recorder's stats see frame_index / fps
        return table.column("frame_index").to_numpy() / FPS
    column = table.column(name).combine_chunks()
    if not shape:
        return column.to_numpy()
    return column.flatten().to_numpy().reshape(-1, *shape)


def test_edit_writes_the_quantiles_of_all_output_values(tmp_path: Path) -> None:
    lengths = [40, 2, 97, 3, 250, 64, 120]
    source = write_numeric_dataset(
        tmp_path / "source", _episodes(0, lengths), fps=FPS, episodes_per_file=3
    ).root
    output = tmp_path / "out"
    delete_episodes(source, [3], output)

    written = json.loads((output / "meta" / "stats.json").read_text())
    shapes = {
        "observation.state": (3,),
        "action": (2,),
        "grip": (),
        "index": (),
        "frame_index": (),
        "episode_index": (),
        "task_index": (),
        "timestamp": (),
    }
    for name, shape in shapes.items():
        values = _written_values(output, name, shape)
        assert len(values) == sum(lengths) - lengths[3]
        expected = compute_feature_stats(values)
        for key in QUANTILE_KEYS:
            assert np.asarray(written[name][key]).tolist() == expected[key].tolist(), (name, key)
        # The 5000-bin answer lies within a bin of numpy's exact quantile of every value (the
        # order statistic the bins' cumulative count reaches: numpy's inverted_cdf).
        flat = values.reshape(-1, values.shape[-1] if values.ndim > 1 else 1).astype(np.float64)
        width = (flat.max(axis=0) - flat.min(axis=0)) / NUM_QUANTILE_BINS + 1e-9
        for key, quantile in zip(QUANTILE_KEYS, QUANTILES, strict=True):
            exact = np.quantile(flat, quantile, axis=0, method="inverted_cdf")
            got = np.asarray(written[name][key], dtype=np.float64).reshape(-1)
            assert np.all(np.abs(got - exact) <= width + 1e-6 * np.abs(exact)), (name, key)
    assert Dataset(output).num_frames == sum(lengths) - lengths[3]


@pytest.mark.parametrize(
    "parts",
    [
        [np.array([7.0])],  # one frame: the no-histogram path
        [np.array([1, 1, 1, 2], dtype=np.int64), np.array([2, 2, 9], dtype=np.int64)],
        [
            np.zeros((5, 2), np.float32),
            np.ones((1, 2), np.float32),
            np.full((3, 2), 0.5, np.float32),
        ],
        [np.arange(24, dtype=np.float16).reshape(4, 2, 3), np.ones((2, 2, 3), np.float16)],
    ],
    ids=["one-frame", "int-ties", "float32-ties", "float16-2x3"],
)
def test_two_passes_match_one_batch_bit_for_bit(parts: list[np.ndarray]) -> None:
    quantiles = DatasetQuantiles()
    for part in parts:
        quantiles.add(part)
    whole = np.concatenate(parts)
    for half in (whole[::2], whole[1::2]):  # the second pass in another split and order
        quantiles.count(half)
    got = quantiles.quantiles()
    expected = compute_feature_stats(whole)
    for key in QUANTILE_KEYS:
        assert got[key].dtype == expected[key].dtype
        assert got[key].shape == expected[key].shape
        assert got[key].tobytes() == expected[key].tobytes(), key
