"""One feature's per-episode stats held as blocks: each key an (episodes, *shape) array.

An edit of many short episodes spent seconds building one dict of small arrays per episode and
feature, then stacking them again for the `stats/*` columns and again for stats.json. A block
holds consecutive episodes whose stats have the same keys, in the same order, and per key one
dtype and shape, so columns and aggregates are built by concatenating blocks. Results are those
of the per-episode path bit for bit: each block keeps its cells' own dtype (a float32 std is
squared in float32 before promotion, as `aggregate_feature_stats` does cell by cell), and
concatenating blocks promotes exactly as stacking their cells does.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from robosplice.format.stats import (
    FeatureStats,
    check_stats_shapes,
    combine_stacked,
    is_quantile_key,
)

__all__ = ["FeatureCells", "StatsBlock", "aggregate_blocks", "blocks_of_cells"]


@dataclass(frozen=True, slots=True)
class StatsBlock:
    """Stats of consecutive episodes of one feature: `values(key)[i]` is episode i's cell.

    With `rows`, episode i's cells are `arrays[key][rows[i]]`: the block names rows of arrays it
    shares (a source's stats columns) instead of holding a copy of them.
    """

    arrays: dict[str, npt.NDArray[Any]]
    rows: npt.NDArray[np.int64] | None = None

    @property
    def episodes(self) -> int:
        if self.rows is not None:
            return len(self.rows)
        return len(next(iter(self.arrays.values())))

    def values(self, key: str) -> npt.NDArray[Any]:
        """Every episode's `key` cell, as one (episodes, *shape) array."""
        array = self.arrays[key]
        return array if self.rows is None else array[self.rows]

    def slice(self, start: int, stop: int) -> StatsBlock:
        if self.rows is not None:
            return StatsBlock(self.arrays, self.rows[start:stop])
        return StatsBlock({key: array[start:stop] for key, array in self.arrays.items()})

    def cell(self, episode: int) -> FeatureStats:
        """Episode `episode`'s stats (views of the block)."""
        row = episode if self.rows is None else int(self.rows[episode])
        return {key: array[row] for key, array in self.arrays.items()}

    def cells(self) -> list[FeatureStats]:
        """Each episode's stats as the per-episode path holds them (views of the block)."""
        keys = list(self.arrays)
        rows = zip(*(list(self.values(key)) for key in keys), strict=True)
        return [dict(zip(keys, row, strict=True)) for row in rows]


class FeatureCells:
    """One feature's stats of every episode, in order: runs carried whole from a source kept as
    blocks (rows of its stats columns), other episodes one cell each (None: no stats).

    A camera's stats were one dict of views per episode (~1.7 kB: 170 MiB at 100,000 episodes);
    carried runs now cost one block each. Only single cells are replaced (`replace`): a cell to
    be replaced later (a placeholder for sampled frames) is added on its own.
    """

    def __init__(self) -> None:
        self._parts: list[StatsBlock | FeatureStats | None] = []
        self._starts: list[int] = []  # first episode of each part
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add_block(self, block: StatsBlock) -> None:
        """Episodes whose stats are the block's cells, in order."""
        if block.episodes:
            self._starts.append(self._count)
            self._parts.append(block)
            self._count += block.episodes

    def add(self, cell: FeatureStats | None) -> None:
        """One episode's stats (None: it has none)."""
        self._starts.append(self._count)
        self._parts.append(cell)
        self._count += 1

    def _part(self, episode: int) -> int:
        if not 0 <= episode < self._count:
            raise IndexError(f"episode {episode} of {self._count}")
        return bisect.bisect_right(self._starts, episode) - 1

    def cell(self, episode: int) -> FeatureStats | None:
        """Episode `episode`'s stats."""
        part = self._part(episode)
        value = self._parts[part]
        if isinstance(value, StatsBlock):
            return value.cell(episode - self._starts[part])
        return value

    def replace(self, episode: int, cell: FeatureStats | None) -> None:
        """Put `cell` in place of an episode added alone.

        Raises:
            ValueError: the episode is part of a carried block.
        """
        part = self._part(episode)
        if isinstance(self._parts[part], StatsBlock):
            raise ValueError(f"episode {episode}'s stats are carried in a block, not replaceable")
        self._parts[part] = cell

    def cells(self) -> list[FeatureStats | None]:
        """Every episode's stats, one entry each (views of the blocks)."""
        cells: list[FeatureStats | None] = []
        for value in self._parts:
            if isinstance(value, StatsBlock):
                cells.extend(value.cells())
            else:
                cells.append(value)
        return cells

    def blocks(self) -> list[StatsBlock] | None:
        """The cells as blocks (runs of single cells made blocks), or None when an episode has
        no stats or a single cell is not arrays of a dimension or more (the per-episode path's
        to judge)."""
        if any(value is None for value in self._parts):
            return None
        blocks: list[StatsBlock] = []
        run: list[FeatureStats] = []
        for value in self._parts:
            if isinstance(value, StatsBlock):
                blocks += [*blocks_of_cells(run), value]
                run = []
                continue
            assert value is not None
            if not _blockable(value):
                return None
            run.append(value)
        return blocks + blocks_of_cells(run)


def _signature(cell: FeatureStats) -> tuple[Any, ...] | None:
    try:
        return tuple((key, value.dtype, value.shape) for key, value in cell.items())
    except AttributeError:  # not arrays: left to the per-episode path
        return None


def blocks_of_cells(cells: Sequence[FeatureStats]) -> list[StatsBlock]:
    """`cells` as blocks of the runs of consecutive cells alike (keys, dtypes, shapes).

    A cell whose values are not arrays of at least one dimension is refused: the per-episode
    path rejects it (`aggregate_feature_stats`), and so does `aggregate_blocks`.

    Raises:
        ValueError: a cell holds something else than arrays of one dimension or more.
    """
    blocks: list[StatsBlock] = []
    start = 0
    for position in range(1, len(cells) + 1):
        if position < len(cells) and _alike(cells[position], cells[start]):
            continue
        run = cells[start:position]
        if not _blockable(run[0]):
            raise ValueError("stats of an episode must be arrays with at least 1 dimension")
        blocks.append(StatsBlock({key: np.stack([c[key] for c in run]) for key in run[0]}))
        start = position
    return blocks


def _blockable(cell: FeatureStats) -> bool:
    """Whether a cell's values are arrays of a dimension or more, as a block holds them."""
    return _signature(cell) is not None and all(v.ndim > 0 for v in cell.values())


def _alike(cell: FeatureStats, other: FeatureStats) -> bool:
    signature = _signature(cell)
    return signature is not None and signature == _signature(other)


def _concatenated(blocks: Sequence[StatsBlock], key: str, power: int = 1) -> npt.NDArray[Any]:
    """`np.stack` of every cell's `key` (raised to `power` cell by cell, in its own dtype)."""
    if power == 1:
        return np.concatenate([block.values(key) for block in blocks])
    return np.concatenate([block.values(key) ** power for block in blocks])


def aggregate_blocks(blocks: Sequence[StatsBlock]) -> FeatureStats:
    """`aggregate_feature_stats` of every cell of `blocks`, in order, bit for bit.

    Raises:
        ValueError: there are no episodes, a cell is not an array of at least one dimension, or
            a `count` is not of shape (1,).
    """
    blocks = [block for block in blocks if block.episodes]
    if not blocks:
        raise ValueError("cannot aggregate an empty list of stats")
    for block in blocks:
        check_stats_shapes(block.cell(0))  # a block's cells share their shapes
    quantile_keys = [
        key
        for key in blocks[0].arrays
        if is_quantile_key(key) and all(key in block.arrays for block in blocks)
    ]
    return combine_stacked(lambda key, power=1: _concatenated(blocks, key, power), quantile_keys)
