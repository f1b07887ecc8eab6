"""Family "episodes": meta/episodes rows on their own — columns, order, ranges, lengths.

FORMAT.md §1.5.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pyarrow.parquet as pq

from robosplice.checks._common import PARQUET_ERRORS, REPAIR_FIX, REQUIRED_STAT_KEYS, short
from robosplice.checks._common import WRONG as _WRONG
from robosplice.checks.context import Context, EpisodeRows
from robosplice.checks.kinds import Decision, EditFacts, Kind, OnEdit, always, rebuilt
from robosplice.errors import Problem
from robosplice.format.episodes import sort_episodes_files, video_columns
from robosplice.format.info import (
    VISUAL_DTYPES,
    Features,
    is_depth_feature,
    stats_feature_names,
    video_keys,
)
from robosplice.format.paths import EPISODES_DIR

__all__ = ["CORE_EPISODE_COLUMNS", "KINDS", "run"]

# Not needed to load, but the official tools raise KeyError without them (FORMAT.md §1.5); what
# an edit's output derives each from.
_TOOL_COLUMN_SOURCES: Final = {
    "tasks": "from each episode's task_index and meta/tasks.parquet",
    "length": "as dataset_to_index - dataset_from_index",
    "data/chunk_index": "from the data files' row ranges",
    "data/file_index": "from the data files' row ranges",
    "meta/episodes/chunk_index": "written with the output's episode files",
    "meta/episodes/file_index": "written with the output's episode files",
}


def _missing_column_on_edit(problem: Problem, facts: EditFacts) -> Decision | None:
    # Only the official tools read these columns; every one is derivable from the files.
    action = _TOOL_COLUMN_SOURCES.get(problem.loc)
    return ("rebuilt", action) if action is not None else None


def _missing_stats_on_edit(problem: Problem, facts: EditFacts) -> Decision:
    feature = facts.features.get(problem.loc.removeprefix("stats/"), {})
    if feature.get("dtype") in VISUAL_DTYPES:
        if is_depth_feature(feature):
            # Depth stats are taken from the raw maps at recording; a video holds codes.
            return "carried", "left out: depth stats cannot be rebuilt from encoded frames"
        return "rebuilt", "computed from frames sampled as the recorder samples them"
    return "rebuilt", "computed from the episode's rows"


KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="missing_optional_column", severity="warning",
         meaning="an episodes file lacks a column only the official tools read (tasks, length,"
         " data/chunk_index, data/file_index, meta/episodes/chunk_index, meta/episodes/file_index)",
         why="the loader works without it (lerobot's own convert_image_to_video writes such"
         " files); robosplice rebuilds it in its outputs",
         on_edit=OnEdit(decide=_missing_column_on_edit)),
    Kind(name="stray_episodes_file", severity="error",
         meaning="an episodes file lists only episodes another episodes file lists",
         why="the loader reads every meta/episodes/*/*.parquet and counts them twice",
         on_edit=OnEdit(decide=rebuilt("left out; the episodes are read from the other file"))),
    Kind(name="bad_episode_index", severity="error",
         meaning="episode rows do not run 0..E-1 in order across files",
         why=f"{_WRONG}: episode rows are read by position"),
    Kind(name="bad_episode_range", severity="error",
         meaning="dataset_from_index/to_index are not contiguous or not the episode's rows",
         why=f"{_WRONG}: delta timestamps and sampling use the range"),
    Kind(name="bad_length", severity="error",
         meaning="`length` is not dataset_to_index - dataset_from_index",
         why="samplers and the official tools trust it and get wrong episode bounds"),
    Kind(name="missing_episode_stats", severity="warning",
         meaning="episode rows lack the stats/<feature>/* columns",
         why="the loader and trainers read stats.json, not these; lerobot's own"
         " convert_image_to_video omits them; recompute-stats rebuilds them",
         on_edit=OnEdit(decide=_missing_stats_on_edit, repaired_by_recompute=always)),
)  # fmt: skip
"""The kinds this family reports: severity, and why, beside the checks below."""

CORE_EPISODE_COLUMNS: Final = ("episode_index", "dataset_from_index", "dataset_to_index")
_TOOL_EPISODE_COLUMNS: Final = tuple(_TOOL_COLUMN_SOURCES)


def run(ctx: Context) -> None:
    """Read and check the episode rows; later families get them (None if unusable)."""
    ctx.episodes = ctx.guarded(EPISODES_DIR, None, lambda: _check_episodes(ctx, ctx.features))


def _check_episodes(ctx: Context, features: Features) -> EpisodeRows | None:
    """Read and check the episode rows on their own; None if the core columns are missing."""
    files, strays = sort_episodes_files(ctx.root)
    for path in strays:
        ctx.report(
            ctx.relative(path),
            "",
            "stray_episodes_file",
            "expected each episode in one episodes file, got a file whose every episode"
            f" {short([ctx.relative(p) for p in files])} already lists (the loader reads both"
            f" and counts them twice); delete it, or {REPAIR_FIX} without it",
        )
    if not files:
        ctx.report(
            EPISODES_DIR,
            "",
            "missing_file",
            "no meta/episodes/*/*.parquet files; the loader needs one row per episode",
        )
        return None
    cameras = video_keys(features)
    wanted = [*CORE_EPISODE_COLUMNS, *_TOOL_EPISODE_COLUMNS]
    for key in cameras:
        wanted.extend(video_columns(key))
    columns: dict[str, list[Any]] = {name: [] for name in wanted}
    row_files: list[str] = []
    usable = True
    skipped_keys: set[str] = set()
    stats_names = stats_feature_names(features)
    for path in files:
        relative = ctx.relative(path)
        try:
            parquet = pq.ParquetFile(path)
            names = parquet.schema_arrow.names
            table = parquet.read(columns=[name for name in wanted if name in names])
        except PARQUET_ERRORS as exc:
            ctx.report(relative, "", "corrupt_parquet", f"cannot read Parquet ({exc})")
            usable = False
            continue
        for name in wanted:
            if name in names:
                continue
            if name in _TOOL_EPISODE_COLUMNS:
                ctx.report(
                    relative,
                    name,
                    "missing_optional_column",
                    f"expected column {name!r} (read by the official tools, not the loader),"
                    " got none; robosplice edits rebuild it",
                )
                continue
            ctx.report(
                relative,
                name,
                "missing_column",
                f"expected column {name!r} (needed by the loader), got none",
            )
            if name in CORE_EPISODE_COLUMNS:
                usable = False
        skipped_keys.update(
            key for key in cameras if any(c not in names for c in video_columns(key))
        )
        _check_episode_stats_columns(ctx, relative, names, stats_names)
        for name in wanted:
            if name in names:
                columns[name].extend(table.column(name).to_pylist())
            else:
                columns[name].extend([None] * table.num_rows)
        row_files.extend([relative] * table.num_rows)
    if not usable:
        return None
    episodes = EpisodeRows(
        columns=columns, files=row_files, skipped_video_keys=frozenset(skipped_keys)
    )
    _check_episode_rows(ctx, episodes)
    return episodes


def _check_episode_stats_columns(
    ctx: Context, relative: str, names: list[str], stats_names: list[str]
) -> None:
    for feature in stats_names:
        missing = [
            f"stats/{feature}/{key}"
            for key in REQUIRED_STAT_KEYS
            if f"stats/{feature}/{key}" not in names
        ]
        if missing:
            ctx.report(
                relative,
                f"stats/{feature}",
                "missing_episode_stats",
                f"expected per-episode stats columns {missing}, got none; the official"
                " tools aggregate them (delete, split, merge); recompute the stats",
            )


def _check_episode_rows(ctx: Context, episodes: EpisodeRows) -> None:
    """Episode order, contiguous ranges and lengths, from the rows alone."""
    columns = episodes.columns
    if _rows_in_order(columns):
        return  # nothing below would report; checked on whole columns
    valid: list[int] = []
    for row in range(episodes.num_rows):
        nulls = [name for name in CORE_EPISODE_COLUMNS if columns[name][row] is None]
        if nulls:
            ctx.report(
                episodes.files[row],
                episodes.where(row),
                "missing_value",
                f"episode row {row}: expected values in {nulls}, got null",
            )
        else:
            valid.append(row)
    out_of_place = [row for row in valid if int(columns["episode_index"][row]) != row]
    if out_of_place:
        first = out_of_place[0]
        ctx.report(
            episodes.files[first],
            f"row {first}",
            "bad_episode_index",
            f"expected episode_index {first} at row {first}, got"
            f" {columns['episode_index'][first]} ({len(out_of_place)} rows out of place);"
            " episode rows must run 0..E-1 in order across files, because the loader reads"
            " them by position; sort and renumber them",
        )
    ordered = sorted(valid, key=lambda row: int(columns["episode_index"][row]))
    previous_stop = 0
    for row in ordered:
        start = int(columns["dataset_from_index"][row])
        stop = int(columns["dataset_to_index"][row])
        if start != previous_stop or stop < start:
            ctx.range_reported.add(row)
            ctx.report(
                episodes.files[row],
                episodes.where(row),
                "bad_episode_range",
                f"expected dataset_from_index {previous_stop} (the previous episode's"
                f" dataset_to_index) and dataset_to_index >= it, got [{start}, {stop});"
                " episodes must cover the rows 0..N-1 back to back",
            )
        previous_stop = stop
        length = columns["length"][row]
        if length is not None and int(length) != stop - start:
            ctx.report(
                episodes.files[row],
                episodes.where(row),
                "bad_length",
                f"expected length {stop - start} (dataset_to_index - dataset_from_index),"
                f" got {length}",
            )


def _rows_in_order(columns: dict[str, list[Any]]) -> bool:
    """Whether `_check_episode_rows` would pass every row: integer values without nulls, episode
    i at row i, ranges back to back from 0, lengths that match (whole columns at once)."""
    names = [*CORE_EPISODE_COLUMNS, "length"]
    if any(None in columns[name] for name in names):
        return False
    episode, start, stop, length = (np.asarray(columns[name]) for name in names)
    if any(a.dtype.kind not in "iu" for a in (episode, start, stop, length)):
        return False
    if not len(episode):
        return True
    return bool(
        np.array_equal(episode, np.arange(len(episode)))
        and start[0] == 0
        and np.array_equal(start[1:], stop[:-1])
        and np.all(stop >= start)
        and np.array_equal(length, stop - start)
    )
