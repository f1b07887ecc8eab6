"""Stats held as blocks give the per-episode path's columns and stats.json bit for bit.

Cells are drawn as edits make them: carried from a source (float64, int64 counts), computed from
float32 rows (float32 moments, float64 upper quantiles), with or without quantiles, of one shape
or another; blocks are then cut where the cells differ and wherever a random edge falls.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robosplice.format.stats import (
    STAT_KEYS,
    aggregate_feature_stats,
    compute_feature_stats,
    flatten_episode_stats,
)
from robosplice.format.stats_blocks import (
    FeatureCells,
    StatsBlock,
    aggregate_blocks,
    blocks_of_cells,
)
from robosplice.format.stats_columns import (
    EpisodeStatsColumns,
    block_column_arrays,
    stats_column_arrays,
)


def _cell(rng: np.random.Generator, kind: str, width: int) -> dict[str, Any]:
    frames = int(rng.integers(1, 30))
    if kind == "computed32":
        return compute_feature_stats(rng.normal(size=(frames, width)).astype(np.float32))
    if kind == "computed64":
        return compute_feature_stats(rng.normal(size=(frames, width)))
    if kind == "int":
        return compute_feature_stats(rng.integers(0, 10**6, size=frames))
    cell = compute_feature_stats(rng.normal(size=(frames, width)))
    cell = {
        key: np.asarray(value, dtype=np.int64 if key == "count" else np.float64)
        for key, value in cell.items()
    }
    if kind == "carried_no_quantiles":
        cell = {key: cell[key] for key in STAT_KEYS[:5]}
    if kind == "camera":  # a camera's (channels, 1, 1) stats, count (1,)
        cell = {k: v if k == "count" else v.reshape(width, 1, 1) for k, v in cell.items()}
    return cell


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert list(a) == list(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert a[key].shape == b[key].shape, key
        assert np.array_equal(a[key], b[key], equal_nan=True), key


def _cut(blocks: list[StatsBlock], rng: np.random.Generator) -> list[StatsBlock]:
    """Blocks cut at random edges; some as rows of a shuffled larger array (as a source's)."""
    cut = []
    for block in blocks:
        if rng.random() < 0.5:
            block = _as_rows_of_a_larger_array(block, rng)
        edges = sorted({0, block.episodes, *rng.integers(0, block.episodes + 1, 2).tolist()})
        cut += [block.slice(a, b) for a, b in itertools.pairwise(edges)]
    return cut


def _as_rows_of_a_larger_array(block: StatsBlock, rng: np.random.Generator) -> StatsBlock:
    episodes = block.episodes
    size = episodes + int(rng.integers(0, 5))
    rows = rng.permutation(size)[:episodes]
    shared = {}
    for key in block.arrays:
        values = block.values(key)
        base = np.full((size, *values.shape[1:]), 7, dtype=values.dtype)  # rows never named
        base[rows] = values
        shared[key] = base
    return StatsBlock(shared, rows.astype(np.int64))


KINDS = ["computed32", "computed64", "carried", "carried_no_quantiles"]


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4),
    width=st.sampled_from([1, 3]),
    episodes=st.integers(1, 40),
)
def test_blocks_aggregate_and_flatten_as_cells_do(seed, kinds, width, episodes) -> None:
    rng = np.random.default_rng(seed)
    cells = [_cell(rng, kinds[int(rng.integers(len(kinds)))], width) for _ in range(episodes)]
    blocks = _cut(blocks_of_cells(cells), rng)
    assert sum(block.episodes for block in blocks) == episodes
    for held, cell in zip([c for b in blocks for c in b.cells()], cells, strict=True):
        _same(held, cell)
    _same(aggregate_blocks(blocks), aggregate_feature_stats(cells))
    expected = stats_column_arrays([{"f": cell} for cell in cells])
    got = block_column_arrays("f", blocks)
    assert list(got) == list(expected)
    for name in expected:
        assert got[name].type == expected[name].type, name
        assert got[name].equals(expected[name]), name


def test_integer_cells_and_counts() -> None:
    rng = np.random.default_rng(3)
    cells = [_cell(rng, "int", 1) for _ in range(25)]
    blocks = blocks_of_cells(cells)
    assert len(blocks) == 1  # every cell alike: one block
    _same(aggregate_blocks(blocks), aggregate_feature_stats(cells))
    got, expected = block_column_arrays("i", blocks), stats_column_arrays([{"i": c} for c in cells])
    assert all(got[name].equals(expected[name]) for name in expected)


def test_bad_cells_are_refused_as_the_per_episode_path_refuses_them() -> None:
    good = compute_feature_stats(np.arange(5.0))
    scalar = {**good, "mean": np.float64(1.0)}
    with pytest.raises(ValueError, match="at least 1 dimension"):
        aggregate_feature_stats([good, scalar])
    with pytest.raises(ValueError, match="at least 1 dimension"):
        aggregate_blocks(blocks_of_cells([good, scalar]))
    wide_count = {**good, "count": np.array([5, 5])}
    with pytest.raises(ValueError, match="'count' must have shape"):
        aggregate_feature_stats([good, wide_count])
    with pytest.raises(ValueError, match="'count' must have shape"):
        aggregate_blocks(blocks_of_cells([good, wide_count]))
    with pytest.raises(ValueError, match="contains '/'"):
        block_column_arrays("a/b", blocks_of_cells([good]))


def test_a_source_columns_block_is_its_rows_cells() -> None:
    rng = np.random.default_rng(5)
    rows = []
    for episode in range(12):
        stats = {"x": _cell(rng, "carried", 2), "y": _cell(rng, "carried", 1)}
        if episode == 7:
            del stats["y"]  # a null cell: no block for y over rows holding 7
        rows.append(flatten_episode_stats(stats))
    columns = EpisodeStatsColumns(pa.Table.from_pylist(rows))
    wanted = np.array([3, 0, 11, 3, 5], dtype=np.int64)
    block = columns.feature_block("x", wanted)
    assert block is not None
    assert block.rows is not None  # rows of the columns' own arrays, not a copy of them
    for position, row in enumerate(wanted.tolist()):
        _same(block.cell(position), columns.episode(row)["x"])
    assert columns.feature_block("y", wanted) is not None
    assert columns.feature_block("y", np.array([6, 7])) is None
    assert columns.feature_block("z", wanted) is None
    assert columns.episode(7, ("y",)) == {}


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), episodes=st.integers(1, 40))
def test_feature_cells_hold_each_episodes_cell_in_order(seed, episodes) -> None:
    """Carried runs as blocks (rows of a larger array) and single cells, some replaced later:
    each episode's cell, the cells as blocks, and their columns and aggregate are the cells'."""
    rng = np.random.default_rng(seed)
    cells = [_cell(rng, "camera", 3) for _ in range(episodes)]
    held = FeatureCells()
    position, replaced = 0, {}
    while position < episodes:
        length = int(rng.integers(1, 6))
        run = cells[position : position + length]
        if rng.random() < 0.5:
            (block,) = blocks_of_cells(run)
            held.add_block(_as_rows_of_a_larger_array(block, rng))
        else:
            for offset, cell in enumerate(run):
                if rng.random() < 0.3:  # a placeholder, replaced once sampled
                    held.add({key: value * 0 for key, value in cell.items()})
                    replaced[position + offset] = cell
                else:
                    held.add(cell)
        position += len(run)
    for episode, cell in replaced.items():
        held.replace(episode, cell)
    assert len(held) == episodes
    for episode, cell in enumerate(cells):
        got = held.cell(episode)
        assert got is not None
        _same(got, cell)
    blocks = held.blocks()
    assert blocks is not None
    _same(aggregate_blocks(blocks), aggregate_feature_stats(cells))
    expected = stats_column_arrays([{"c": cell} for cell in cells])
    got_columns = block_column_arrays("c", blocks)
    assert list(got_columns) == list(expected)
    for name in expected:
        assert got_columns[name].equals(expected[name]), name


def test_feature_cells_without_stats_for_an_episode_go_cell_by_cell() -> None:
    rng = np.random.default_rng(9)
    held = FeatureCells()
    (block,) = blocks_of_cells([_cell(rng, "camera", 3) for _ in range(3)])
    held.add_block(block)
    held.add(None)
    assert held.blocks() is None
    assert [cell is None for cell in held.cells()] == [False, False, False, True]
    with pytest.raises(ValueError, match="carried in a block"):
        held.replace(1, _cell(rng, "camera", 3))
    held.replace(3, _cell(rng, "camera", 3))
    assert held.blocks() is not None
    with pytest.raises(IndexError):
        held.cell(4)
