"""Collect the stats of an edit's output while the engine writes it: per episode, then stats.json.

Carries the source's stats where the output keeps the values they describe and computes them
where it does not; `engine/data_rows.py` feeds it runs of output episodes' rows, `engine/run.py`
the sampled cameras. Writes nothing (`engine/meta.py` writes what it returns).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa

from robosplice.dataset import Dataset
from robosplice.engine.dataset_quantiles import QUANTILE_METHOD, DatasetQuantiles
from robosplice.engine.frame_stats import image_episode_stats, relative_action_stats
from robosplice.engine.rows import episode_columns_numpy
from robosplice.engine.units import FrameStatsUnit
from robosplice.errors import InvalidDatasetError
from robosplice.format import info as info_format
from robosplice.format.episodes import video_columns
from robosplice.format.info import INDEX_COLUMNS
from robosplice.format.paths import video_file_path
from robosplice.format.stats import (
    DatasetStats,
    FeatureStats,
    aggregate_feature_stats,
    complete_stats_entry,
    compute_feature_stats,
    compute_feature_stats_runs,
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
from robosplice.plan.model import OutputEpisode, Plan

logger = logging.getLogger(__name__)

WrittenColumns: TypeAlias = Callable[[list[str]], Iterable[pa.Table]]
"""Reads the named columns of the output's written data files, in batches of rows."""


class StatsCollector:
    """Per-episode stats (carried over or computed) and exact dataset stats.

    Numeric stats are carried from the source for whole episodes and computed from the rows
    otherwise (index columns, added features, trimmed episodes, or `plan.stats.recompute`).
    Camera stats are carried, except for trimmed episodes and the cameras in
    `plan.stats.visual`, which are sampled from the written frames (images from the rows as
    they stream, videos after the video files are closed).
    """

    def __init__(self, plan: Plan, datasets: list[Dataset]) -> None:
        self.plan = plan
        self.datasets = datasets
        features = plan.info["features"]
        self.features = features
        self.stats_names = info_format.stats_feature_names(features)
        self.numeric_names = info_format.numeric_feature_names(features)
        # Dataset quantiles from two passes (the rows as they stream, then the written columns);
        # every value is kept only for relative-action stats, which need whole chunks of rows.
        self.quantiles = {name: DatasetQuantiles() for name in self.numeric_names}
        relative = plan.stats.relative_action
        kept = (relative.action, relative.state) if relative is not None else ()
        self.numeric_values: dict[str, list[np.ndarray]] = {n: [] for n in kept}
        # Every output episode's stats in order (`format/stats_blocks.py`): numeric features'
        # as blocks of consecutive episodes, cameras' as runs carried whole and single cells.
        self.blocks: dict[str, list[StatsBlock]] = {name: [] for name in self.numeric_names}
        self.cameras: dict[str, FeatureCells] = {
            name: FeatureCells() for name in self.stats_names if name not in self.numeric_names
        }
        # (output episode, video key) whose stats are sampled once the video files are written.
        self.pending_video: list[tuple[int, str]] = []
        # Each source's stats/* columns as numpy blocks, made once: an episode's carried stats
        # are views of them, never rebuilt from Python objects.
        self._source_stats: dict[int, EpisodeStatsColumns] = {}
        # Features whose every output episode holds its source episode's values unchanged, with
        # the source's stats carried: stats.json can then be the source's entry, bit for bit.
        self.unchanged: dict[str, bool] = dict.fromkeys(self.stats_names, True)
        self._timestamps: dict[int, FeatureStats] = {}  # stats of timestamps by length

    def _source_columns(self, source: int) -> EpisodeStatsColumns:
        if source not in self._source_stats:
            table = self.datasets[source].episodes_table
            names = [n for n in table.column_names if n.startswith("stats/")]
            self._source_stats[source] = EpisodeStatsColumns(table.select(names))
        return self._source_stats[source]

    def _carried(
        self, name: str, episodes: Sequence[OutputEpisode]
    ) -> tuple[StatsBlock | None, list[FeatureStats | None]]:
        """The source's stats of `name` for `episodes`: one block when the source holds them all
        regularly (one source, no stale cell), else one cell (or None) per episode."""
        stale = self.plan.stats.stale_episodes
        first = episodes[0].segment.source
        if all(e.segment.source == first for e in episodes):
            source_name = self.plan.columns.source_name(first, name)
            if not stale or not any(
                (first, e.segment.episode_index, source_name) in stale for e in episodes
            ):
                rows = np.fromiter((e.segment.episode_index for e in episodes), dtype=np.int64)
                block = self._source_columns(first).feature_block(source_name, rows)
                if block is not None:
                    return block, []
        cells: list[FeatureStats | None] = []
        for episode in episodes:
            segment = episode.segment
            source_name = self.plan.columns.source_name(segment.source, name)
            if (segment.source, segment.episode_index, source_name) in stale:
                cells.append(None)  # disagrees with the rows: rebuilt
                continue
            stats = self._source_columns(segment.source).episode(
                segment.episode_index, (source_name,)
            )
            cells.append(stats.get(source_name))
        return None, cells

    def _stats_values(self, table: pa.Table) -> dict[str, np.ndarray]:
        """Numeric columns of `table` as their stats see them."""
        numeric = episode_columns_numpy(table, self.features)
        if "timestamp" in numeric and "frame_index" in numeric:
            # The recorder's stats see float64 frame_index / fps, not the float32 column.
            numeric["timestamp"] = numeric["frame_index"] / float(self.plan.info["fps"])
        return numeric

    def _samples_frames(self, name: str, whole: bool, carried: FeatureStats | None) -> bool:
        """Whether camera `name` of an episode gets stats from sampled frames.

        Also when the source episode has none (e.g. 0.6.1 `convert_image_to_video_dataset`
        output): they are rebuilt from the frames.
        """
        if info_format.is_depth_feature(self.features[name]):
            # Depth stats come from the raw depth maps at recording, not from decoded video.
            return False
        return name in self.plan.stats.visual or carried is None or not whole

    def _index_unchanged(
        self, name: str, output: pa.Table, source: pa.Table | None, starts: np.ndarray
    ) -> np.ndarray:
        """Per episode (rows from `starts`), whether an index column of the output holds the
        source's values."""
        if source is None or name not in source.column_names:
            return np.zeros(len(starts), dtype=bool)
        before = source.column(name).to_numpy()
        after = output.column(name).to_numpy()
        if before.dtype != after.dtype or len(before) != len(after):
            return np.zeros(len(starts), dtype=bool)
        if len(after) == 0:
            return np.ones(len(starts), dtype=bool)
        return np.logical_and.reduceat(before == after, starts)

    def run_stats(
        self,
        first_output: int,
        table: pa.Table,
        source_table: pa.Table | None,
        lengths: np.ndarray,
    ) -> None:
        """Stats of consecutive output episodes, numbered from `first_output`, whose rows `table`
        holds one after the other (`lengths` each; none empty unless alone); numeric ones also
        feed the dataset stats, computed for all the episodes at once.

        `source_table` holds the source rows `table` was made from: an index column whose values
        did not change (an episode that keeps its number and position) keeps its source stats.
        """
        count = len(lengths)
        starts = np.cumsum(lengths) - lengths
        episodes = self.plan.episodes[first_output : first_output + count]
        numeric = self._stats_values(table)
        kept = [e.whole and e.segment.step == 1 for e in episodes]
        for name in self.numeric_names:
            if name in self.stats_names:
                self.blocks[name].extend(
                    self._numeric_run_stats(
                        name,
                        numeric[name],
                        table,
                        source_table,
                        starts,
                        lengths,
                        kept,
                        self._carried(name, episodes),
                    )
                )
        cameras = list(self.cameras)
        carried = {name: self._carried(name, episodes) for name in cameras}
        # Per camera, the first position of the run of episodes carrying the block's cells as
        # they are: the run is kept as a slice of the block, not a dict per episode.
        runs: dict[str, int | None] = dict.fromkeys(cameras)
        for position in range(count):
            for name in cameras:
                block, cells = carried[name]
                carried_cell = block.cell(position) if block is not None else cells[position]
                pending = len(self.pending_video)
                value = self._camera_stats(
                    name,
                    first_output + position,
                    lambda start=int(starts[position]), length=int(lengths[position]): (
                        table.slice(start, length) if count > 1 else table
                    ),
                    kept=kept[position],
                    carried=carried_cell,
                )
                as_carried = value is carried_cell and len(self.pending_video) == pending
                if block is not None and as_carried:
                    if runs[name] is None:
                        runs[name] = position
                    continue
                self._end_carried_run(name, block, runs, position)
                self.cameras[name].add(value)
        for name in cameras:
            self._end_carried_run(name, carried[name][0], runs, count)

    def _end_carried_run(
        self, name: str, block: StatsBlock | None, runs: dict[str, int | None], stop: int
    ) -> None:
        start = runs[name]
        if block is not None and start is not None:
            self.cameras[name].add_block(block.slice(start, stop))
        runs[name] = None

    def _numeric_run_stats(
        self,
        name: str,
        values: np.ndarray,
        table: pa.Table,
        source_table: pa.Table | None,
        starts: np.ndarray,
        lengths: np.ndarray,
        kept: list[bool],
        carried: tuple[StatsBlock | None, list[FeatureStats | None]],
    ) -> list[StatsBlock]:
        """One numeric feature's stats of a run's episodes, as blocks: carried, or computed
        together."""
        self.quantiles[name].add(values)
        if name in self.numeric_values:
            self.numeric_values[name].extend(
                values[int(s) : int(s + n)] for s, n in zip(starts, lengths, strict=True)
            )
        count = len(lengths)
        changed = np.array(
            [self.plan.stats.recompute or not k or name in self.plan.columns.added for k in kept]
        )
        if name in INDEX_COLUMNS and not changed.all():
            changed |= ~self._index_unchanged(name, table, source_table, starts)
        if changed.any():
            self.unchanged[name] = False
        block, cells = carried
        missing = (
            np.zeros(count, dtype=bool)
            if block is not None
            else np.array([cell is None for cell in cells], dtype=bool)
        )
        # Stats rebuilt only because the source lacks them describe the same values:
        # stats.json stays the source's (issue 21: a repair changes nothing that was right).
        chosen = np.flatnonzero(changed | missing)
        if count == 1:
            fresh = [compute_feature_stats(values)] if len(chosen) else []
        elif name == "timestamp" and "frame_index" in table.column_names:
            # Every episode's timestamps are frame_index / fps from 0: one result a length.
            fresh = [self._timestamp_stats(int(n)) for n in lengths[chosen]]
        else:
            fresh = compute_feature_stats_runs(values, starts[chosen], lengths[chosen])
        if block is None:
            merged = list(cells)
            for position, stats in zip(chosen.tolist(), fresh, strict=True):
                merged[position] = stats
            assert all(cell is not None for cell in merged)
            return blocks_of_cells([cell for cell in merged if cell is not None])
        is_fresh = np.zeros(count, dtype=bool)
        is_fresh[chosen] = True
        edges = (np.flatnonzero(np.diff(is_fresh.astype(np.int8))) + 1).tolist()
        fresh_at = dict(zip(chosen.tolist(), fresh, strict=True))
        result: list[StatsBlock] = []
        for start, stop in zip([0, *edges], [*edges, count], strict=True):
            if is_fresh[start]:
                result += blocks_of_cells([fresh_at[p] for p in range(start, stop)])
            else:
                result.append(block.slice(start, stop))
        return result

    def _timestamp_stats(self, length: int) -> FeatureStats:
        """Stats of an episode's `length` timestamps (frame_index / fps), computed once."""
        if length not in self._timestamps:
            stats = compute_feature_stats(np.arange(length) / float(self.plan.info["fps"]))
            for array in stats.values():
                array.flags.writeable = False  # shared by every episode of this length
            self._timestamps[length] = stats
        return self._timestamps[length]

    def _camera_stats(
        self,
        name: str,
        output_index: int,
        table: Callable[[], pa.Table],
        *,
        kept: bool,
        carried: FeatureStats | None,
    ) -> FeatureStats | None:
        """One camera's stats of one episode: carried, sampled from the rows' images, or a
        placeholder for a video sampled once written (None: left out)."""
        episode = self.plan.episodes[output_index]
        if name in self.plan.videos or not kept:
            self.unchanged[name] = False  # encoded anew, or frames cut: other values
        if self._samples_frames(name, episode.whole, carried):
            if name in self.plan.stats.visual:
                self.unchanged[name] = False
            if self.features[name]["dtype"] == "video":
                self.pending_video.append((output_index, name))
                return carried  # placeholder, replaced in add_video_stats
            sampled = image_episode_stats(
                table().column(name), self.datasets[episode.segment.source].root
            )
            return sampled if sampled is not None else carried
        if carried is None:
            self.unchanged[name] = False  # e.g. a depth camera without stats: left out
        return carried

    def video_stats_units(
        self, target: Path, rows: list[dict[str, Any]], fps: float
    ) -> list[FrameStatsUnit]:
        """One unit per pending (episode, camera): its frames are sampled from the written files."""
        units = []
        for output_index, key in self.pending_video:
            chunk, file, start, _ = video_columns(key)
            row = rows[output_index]
            units.append(
                FrameStatsUnit(
                    output_index=output_index,
                    key=key,
                    path=target / video_file_path(key, (int(row[chunk]), int(row[file]))),
                    from_timestamp=float(row[start]),
                    length=int(row["length"]),
                    fps=fps,
                )
            )
        self.pending_video.clear()
        return units

    def set_video_stats(self, units: list[FrameStatsUnit], results: list[FeatureStats]) -> None:
        """Put the sampled cameras' stats in place of the carried placeholders."""
        for unit, result in zip(units, results, strict=True):
            self.cameras[unit.key].replace(unit.output_index, result)

    def episode_columns(self) -> dict[str, pa.Array]:
        """The episodes' stats as `stats/*` columns (one cell per episode), features in feature
        order; a camera has columns when the first episode has its stats."""
        columns: dict[str, pa.Array] = {}
        for name in self.stats_names:
            if name in self.blocks:
                columns.update(block_column_arrays(name, self.blocks[name]))
            elif name in self.cameras and len(self.cameras[name]):
                cells = self.cameras[name]
                if cells.cell(0) is None:
                    continue
                blocks = cells.blocks()
                if blocks is not None:
                    columns.update(block_column_arrays(name, blocks))
                    continue
                columns.update(
                    stats_column_arrays([{name: c} if c is not None else {} for c in cells.cells()])
                )
        return columns

    def _keeps_every_episode(self) -> bool:
        """Whether the output holds each episode of its single source once, whole."""
        if len(self.datasets) != 1:
            return False
        taken = [
            e.segment.episode_index for e in self.plan.episodes if e.whole and e.segment.step == 1
        ]
        return len(taken) == len(self.plan.episodes) and sorted(taken) == list(
            range(self.datasets[0].num_episodes)
        )

    def _source_dataset_stats(self) -> DatasetStats:
        """The single source's stats.json, renamed, when the output keeps all its episodes whole."""
        if not self._keeps_every_episode():
            return {}
        try:
            stats = self.datasets[0].stats or {}
        except InvalidDatasetError:  # unreadable stats.json: rebuilt from the episodes
            return {}
        stale = self.plan.stats.stale_dataset
        return {
            name: stats[self.plan.columns.source_name(0, name)]
            for name in self.stats_names
            if self.plan.columns.source_name(0, name) in stats
            and (0, self.plan.columns.source_name(0, name)) not in stale
        }

    def stats_record(self) -> dict[str, Any]:
        """How stats.json was made, for the edit log (issue 21: say which quantile method an
        edit used): the entries kept bit for bit from the source, and those whose quantiles were
        computed anew. Call after `dataset_stats`."""
        carried = self.carried_stats_json()
        recomputed = self._recomputed_quantiles(carried)
        record: dict[str, Any] = {"kept_from_source": sorted(carried)}
        if recomputed:
            record["quantiles_recomputed"] = sorted(recomputed)
            record["quantile_method"] = QUANTILE_METHOD
        return record

    def _recomputed_quantiles(self, carried: Mapping[str, Any]) -> list[str]:
        """Numeric features whose stats.json quantiles are computed anew: not carried from the
        source, and with values."""
        return [
            name
            for name in self.numeric_names
            if name not in carried and self.quantiles[name].frames
        ]

    def carried_stats_json(self) -> dict[str, Any]:
        """stats.json entries kept exactly as the source wrote them (output names, source order).

        An entry is kept when the output holds every source episode whole, this feature's values
        are unchanged in each, and the source's entry is complete (min, max, mean, std, count of
        numbers). Its quantiles are then the source's, whatever method made them.
        """
        if self.plan.stats.recompute or not self._keeps_every_episode():
            return {}
        raw = self.datasets[0].stats_json
        output_names = {self.plan.columns.source_name(0, name): name for name in self.stats_names}
        relative = self.plan.stats.relative_action
        kept = {}
        for source_name, entry in raw.items():
            name = output_names.get(source_name)
            if name is None or not self.unchanged.get(name) or not complete_stats_entry(entry):
                continue
            if (0, source_name) in self.plan.stats.stale_dataset:
                continue
            if relative is not None and name == relative.action:
                continue
            kept[name] = entry
        return kept

    def _count_written(self, names: list[str], written: WrittenColumns) -> None:
        """The quantiles' second pass: `names`' values read back from the written data files."""
        if not names:
            return
        # timestamp's stats are computed from frame_index (`_stats_values`).
        extra = ["frame_index"] if "timestamp" in names else []
        for table in written(list(dict.fromkeys([*names, *extra]))):
            numeric = self._stats_values(table)
            for name in names:
                self.quantiles[name].count(numeric[name])

    def dataset_stats(self, written: WrittenColumns) -> DatasetStats:
        """stats.json: moments aggregated exactly over episodes (parallel variance); quantiles of
        numeric features computed over all their values, never averaged across episodes.

        `written` reads columns of the written data files back in batches (the quantiles'
        second pass, `engine/dataset_quantiles.py`); entries carried from the source skip it.

        A feature no episode has stats for keeps the source's stats.json entry when the output
        holds every source episode whole (as 0.6.1 `recompute_stats` keeps what it skips).
        """
        result: DatasetStats = {}
        fallback = self._source_dataset_stats()
        recomputed = self._recomputed_quantiles(self.carried_stats_json())
        self._count_written(recomputed, written)
        for name in self.stats_names:
            if name in self.blocks:
                blocks = self.blocks[name]
                if not any(block.episodes for block in blocks):
                    if name in fallback:
                        result[name] = fallback[name]
                    continue
                merged = aggregate_blocks(blocks)
                if name in recomputed:
                    merged.update(self.quantiles[name].quantiles())
                result[name] = merged
                continue
            cells = self.cameras.get(name)
            blocks = cells.blocks() if cells is not None else None
            if blocks and len(_shapes_of_blocks(blocks)) == 1:
                merged = aggregate_blocks(blocks)
                if name in recomputed:
                    merged.update(self.quantiles[name].quantiles())
                result[name] = merged
                continue
            episodes = [c for c in cells.cells() if c is not None] if cells is not None else []
            if not episodes:
                if name in fallback:
                    result[name] = fallback[name]
                continue
            shapes = {v.shape for stats in episodes for k, v in stats.items() if k != "count"}
            if len(shapes) > 1 and name not in self.numeric_names:
                # Sources disagree on a camera's stat shape (e.g. (3, 1, 1) factory-style depth
                # stats merged with the recorder's (1, 1, 1)): aggregate in the recorder's shape.
                channels = int(info_format.feature_shape(self.features[name])[-1])
                logger.warning(
                    "%s: episode stats of shapes %s aggregated as (%d, 1, 1)",
                    name,
                    sorted(shapes),
                    channels,
                )
                episodes = [_channel_stats(stats, channels) for stats in episodes]
            merged = aggregate_feature_stats(episodes)
            if name in recomputed:
                merged.update(self.quantiles[name].quantiles())
            result[name] = merged
        relative = self.plan.stats.relative_action
        if relative is not None and self.numeric_values.get(relative.action):
            result[relative.action] = relative_action_stats(
                self.numeric_values[relative.action],
                self.numeric_values[relative.state],
                chunk_size=relative.chunk_size,
                mask=relative.mask,
            )
        return result


def _shapes_of_blocks(blocks: Sequence[StatsBlock]) -> set[tuple[int, ...]]:
    """The shapes of the blocks' cells (counts aside), as the per-episode path collects them."""
    return {
        array.shape[1:] for block in blocks for key, array in block.arrays.items() if key != "count"
    }


def _channel_stats(stats: FeatureStats, channels: int) -> FeatureStats:
    """A camera's (k, 1, 1) stats as (channels, 1, 1): spread one channel, or pool k into one."""
    result: FeatureStats = {}
    for key, value in stats.items():
        array = np.asarray(value)
        if key == "count" or array.ndim != 3 or array.shape[0] == channels:
            result[key] = array
        elif array.shape[0] == 1:
            result[key] = np.broadcast_to(array, (channels, *array.shape[1:])).copy()
        elif channels == 1:
            pool = {"min": np.min, "max": np.max}.get(key, np.mean)
            result[key] = pool(array, axis=0, keepdims=True)
        else:
            result[key] = array
    return result
