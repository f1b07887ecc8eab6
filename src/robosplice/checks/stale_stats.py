"""Family "stale_stats": stats against the data — per-episode `stats/*` against each episode's rows, stats.json against
their aggregate, and NaN/Inf anywhere in either.

Stale stats are the defect that silently ruins training: normalization uses them and nothing
else looks at them. The data files are read once, numeric columns only, row group by row group;
each episode keeps min, max, sum, sum of squares and count per dimension, in float64
(`data_moments.py`).

Tolerances: min, max and count must match exactly (min/max are taken after the official
promotion to at least float32, so a recorder-written value matches bit for bit). mean and std
are compared within `RELATIVE_TOLERANCE` of the feature's scale: the recorder sums in float32
and takes std as sqrt(E[x²] - E[x]²), so an honest value may be off by a few float32 epsilons of
max|x| (mean) and of E[x²] (variance), never by a visible shift. Quantiles are not compared:
the official tools average them across episodes, an approximation by design.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.checks.context import Context
from robosplice.checks.data_moments import Moments, read_moments
from robosplice.checks.finding import Finding
from robosplice.checks.kinds import Decision, EditFacts, Kind, OnEdit, always
from robosplice.errors import Problem
from robosplice.format.episodes import episodes_files
from robosplice.format.info import (
    DEFAULT_FEATURE_NAMES,
    Features,
    numeric_feature_names,
)
from robosplice.format.paths import HISTORY_PATH, STATS_PATH
from robosplice.format.stats import FeatureStats
from robosplice.format.stats_columns import stats_block

__all__ = ["KINDS", "RELATIVE_TOLERANCE", "VARIANCE_TOLERANCE", "run", "stats_against_data"]

_FIX: Final = "run 'robosplice recompute-stats' to rewrite them from the data"


def _recomputed_on_edit(problem: Problem, facts: EditFacts) -> Decision:
    # Carrying them would make the output wrong; the rows are right, so recompute.
    where = "the aggregate of the episodes" if problem.file == STATS_PATH else "the rows"
    return "rebuilt", f"recomputed from {where}"


_RECOMPUTED: Final = OnEdit(
    decide=_recomputed_on_edit, repaired_by_recompute=always, names_stale_stats=True
)

KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="stale_stats", severity="error",
         meaning="a stat (min/max/mean/std/count) of a numeric feature in meta/stats.json or"
         " an episode's stats/* disagrees with the data",
         why="trainers normalize with these numbers: stale stats silently train on wrongly"
         " scaled inputs and actions",
         on_edit=_RECOMPUTED),
    Kind(name="stale_index_stats", severity="warning",
         meaning="a stat of timestamp, frame_index, episode_index, index or task_index"
         " disagrees with the data",
         why="no trainer normalizes these, and lerobot's own delete, split and merge leave them"
         " stale; recompute-stats fixes them",
         on_edit=_RECOMPUTED),
    Kind(name="nan_stats", severity="error",
         meaning="a stat in meta/stats.json or an episode's stats/* is NaN or infinite",
         why="normalizing with it turns every value of the feature into NaN",
         on_edit=_RECOMPUTED),
)  # fmt: skip
"""The kinds this family reports: severity, and why, beside the checks below."""

RELATIVE_TOLERANCE: Final = 1e-4
"""mean tolerance, relative to max|x|: float32 accumulation in the writer's own stats, with margin."""
VARIANCE_TOLERANCE: Final = 1e-3
"""std² tolerance, relative to E[x²]. Writers compute std in float32: a near-constant dimension of a
long episode was seen 2.4e-5 off in variance (robosplice's own stats of a 600-frame episode), so a
tighter bound flags clean data; a stale stat after an edit or a hand change is far larger."""
_COMPARED: Final = ("min", "max", "mean", "std", "count")
_PARQUET_ERRORS: Final = (pa.ArrowException, OSError, ValueError)
_SEVERITY: Final = {kind.name: kind.severity for kind in KINDS}


def run(ctx: Context) -> None:
    """Compare when the rows are what the loader sees (no data or episode-row errors so far);
    look for NaN in any case."""
    sound = ctx.summary.complete and not ctx.has_errors(
        lambda f: (f.file or "").startswith(("data", "meta/episodes"))
    )
    ctx.findings.extend(stats_against_data(ctx.root, ctx.features, ctx.stats, compare=sound))


def stats_against_data(
    root: Path, features: Features, stats_json: Mapping[str, Any] | None, *, compare: bool = True
) -> list[Finding]:
    """Return the stale and NaN stats of the dataset at `root` (numeric features only).

    Args:
        root: the dataset folder.
        features: info.json's features.
        stats_json: the parsed meta/stats.json, or None when it is missing or unreadable.
        compare: compare with the data (else only look for NaN); pass False when the data or
            episode rows have errors, since episodes are then not what the loader sees.
    """
    names = numeric_feature_names(features)
    problems: list[Finding] = []
    computed = read_moments(root, features, names) if compare else {}
    for relative, table, columns in _stored_episode_tables(root, names):
        problems.extend(_episode_findings(relative, table, columns, computed))
    if isinstance(stats_json, Mapping):
        relative = _relative_action_feature(root)
        for name in names:
            raw = stats_json.get(name)
            if not isinstance(raw, Mapping):
                continue  # missing or malformed: reported by the stats.json check
            feature_stats = _as_arrays(raw)
            problems.extend(_nan(STATS_PATH, name, name, None, _as_arrays(raw, all_keys=True)))
            moments = computed.get(name)
            if moments is None or name == relative:
                continue
            expected = moments.aggregate()
            expected["scale"] = np.max(moments.scale(), axis=0)
            expected["square_mean"] = expected["std"] ** 2 + expected["mean"] ** 2
            expected["dtype_probe"] = moments.stats(moments.first)["dtype_probe"]
            for key, message in _differences(feature_stats, expected):
                problems.append(
                    _stale(
                        name,
                        episode=None,
                        file=STATS_PATH,
                        loc=f"{name}.{key}",
                        message=f"{name} {key}: {message} (the aggregate of every episode's"
                        f" rows); {_FIX}",
                    )
                )
    return problems


def _relative_action_feature(root: Path) -> str | None:
    """ "action" when the edit log says stats.json holds relative-action stats, else None.

    `recompute-stats --relative-action` replaces stats.json's action stats with those of
    action - state over chunks (0.6.1 `compute_relative_action_stats`): right, but not the stats
    of the action column. Only the log says so; a dataset from lerobot's own tool has no log.
    """
    path = root / HISTORY_PATH
    if not path.is_file():
        return None
    relative = None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and entry.get("operation") == "recompute_stats":
            arguments = entry.get("arguments") or {}
            relative = "action" if arguments.get("relative_action") else None
    return relative


def _stale(feature: str, *, episode: int | None, file: str, loc: str, message: str) -> Finding:
    kind = "stale_index_stats" if feature in DEFAULT_FEATURE_NAMES else "stale_stats"
    return Finding(
        check=kind,
        severity=_SEVERITY[kind],
        message=message,
        file=file,
        loc=loc,
        episode=episode,
        feature=feature,
    )


def _nan(
    file: str, loc: str, feature: str, episode: int | None, stats: FeatureStats
) -> list[Finding]:
    bad = [
        key
        for key, value in stats.items()
        if value.dtype.kind in "fc" and not np.all(np.isfinite(value))
    ]
    if not bad:
        return []
    where = feature if episode is None else f"stats/{feature}"
    message = (
        f"{where}: {', '.join(bad)} hold NaN or Inf; normalizing with them makes the feature NaN;"
        " if the data hold NaN, fix or drop those frames first, then recompute the stats"
    )
    return [
        Finding(
            check="nan_stats",
            severity=_SEVERITY["nan_stats"],
            message=message,
            file=file,
            loc=loc,
            episode=episode,
            feature=feature,
        )
    ]


def _differences(stored: FeatureStats, expected: FeatureStats) -> Iterator[tuple[str, str]]:
    """(stat, what differs) for each compared stat of `stored` that disagrees with `expected`."""
    scale = expected["scale"]
    for key in _COMPARED:
        got = stored.get(key)
        if got is None or got.dtype.kind not in "biuf":
            continue
        want = expected[key]
        if key == "count":
            if got.shape == (1,) and int(got[0]) != int(want[0]):
                yield key, f"expected {int(want[0])}, got {int(got[0])}"
            continue
        if got.shape != want.shape or not np.all(np.isfinite(got)):
            continue  # shape problems and NaN are reported on their own
        got64 = got.astype(np.float64)
        if key in ("min", "max"):
            # The recorder may take stats before the column is stored (float64 timestamps in a
            # float32 column): compare in the column's type.
            column_type = expected["dtype_probe"].dtype
            wrong = got64.astype(column_type) != want.astype(column_type)
        elif key == "mean":
            wrong = np.abs(got64 - want) > RELATIVE_TOLERANCE * np.maximum(scale, 1e-12)
        else:
            allowed = VARIANCE_TOLERANCE * np.maximum(expected["square_mean"], 1e-24)
            wrong = np.abs(got64**2 - want**2) > allowed
        positions = np.flatnonzero(wrong)
        if len(positions):
            i = int(positions[0])
            more = f" (and {len(positions) - 1} more)" if len(positions) > 1 else ""
            yield (
                key,
                f"dimension {i}: expected {float(want[i]):.9g}, got {float(got64[i]):.9g}{more}",
            )


def _episode_findings(
    relative: str, table: pa.Table, columns: list[str], computed: Mapping[str, Moments]
) -> list[Finding]:
    """The NaN and stale stats of one episodes file's rows, in row order then feature order.

    Whole columns are compared at once; a row goes through the per-episode comparison (which
    words the findings) only for the features where that finds something or cannot say.
    """
    episode_cells = table.column("episode_index").to_pylist()
    episodes = np.array([-1 if e is None else e for e in episode_cells], dtype=np.int64)
    by_feature: dict[str, list[str]] = {}
    for column in columns:
        name, _, _ = column[len("stats/") :].rpartition("/")
        by_feature.setdefault(name, []).append(column)
    flagged = {
        name: _rows_to_check(table, names, episodes, computed.get(name))
        for name, names in by_feature.items()
    }
    problems: list[Finding] = []
    for row, episode in enumerate(episode_cells):
        if episode is None:
            continue
        for name, names in by_feature.items():
            if not flagged[name][row]:
                continue
            feature_stats: FeatureStats = {}
            for column in names:
                cell = table.column(column)[row].as_py()
                array = None if cell is None else _array(cell)
                if array is not None:
                    feature_stats[column.rpartition("/")[2]] = array
            if not feature_stats:
                continue
            problems.extend(_nan(relative, f"episode {episode}", name, episode, feature_stats))
            moments = computed.get(name)
            position = -1 if moments is None else int(moments.rows_of(np.array([episode]))[0])
            if moments is None or position < 0:
                continue
            for key, message in _differences(feature_stats, moments.stats(position)):
                problems.append(
                    _stale(
                        name,
                        episode=episode,
                        file=relative,
                        loc=f"episode {episode}",
                        message=f"stats/{name}/{key} of episode {episode}: {message} (the"
                        f" episode's rows); {_FIX}",
                    )
                )
    return problems


def _rows_to_check(
    table: pa.Table, columns: list[str], episodes: npt.NDArray[np.int64], moments: Moments | None
) -> npt.NDArray[np.bool_]:
    """Rows whose stats of one feature `_differences` or `_nan` may have something to say about.

    The same tests as theirs, on whole columns: a row left out is one they would pass.
    """
    flag = np.zeros(len(episodes), dtype=bool)
    rows = moments.rows_of(episodes) if moments is not None else np.full(len(episodes), -1)
    for column in columns:
        key = column.rpartition("/")[2]
        regular = stats_block(table.column(column))
        if regular is None:
            flag[:] = True  # cells of odd shapes or types: row by row
            continue
        block, positions = regular
        present = positions >= 0
        cells = block[positions[present]]
        finite = np.ones(len(cells), dtype=bool)
        if cells.dtype.kind == "f":
            finite = np.isfinite(cells).reshape(len(cells), -1).all(axis=1)
            flag[np.flatnonzero(present)[~finite]] = True
        if moments is None:
            continue
        where = np.flatnonzero(present)
        known = rows[where] >= 0
        where, cells, finite = where[known], cells[known], finite[known]
        expected_rows = rows[where]
        if key == "count":
            if cells.shape[1:] != (1,):
                continue  # not compared
            if cells.dtype.kind not in "iu":
                flag[where] = True
                continue
            wrong = cells[:, 0] != moments.frames[expected_rows]
        else:
            if cells.shape[1:] != moments.minimum.shape[1:]:
                continue  # not compared
            got = cells.astype(np.float64)
            wrong = np.zeros(cells.shape, dtype=bool)
            if key in ("min", "max"):
                want = (moments.minimum if key == "min" else moments.maximum)[expected_rows]
                codes, row_codes = moments.dtype_codes()
                for dtype, code in codes.items():
                    same = row_codes[expected_rows] == code
                    if same.any():
                        wrong[same] = got[same].astype(dtype) != want[same].astype(dtype)
            elif key == "mean":
                want = moments.mean()[expected_rows]
                scale = moments.scale()[expected_rows]
                wrong = np.abs(got - want) > RELATIVE_TOLERANCE * np.maximum(scale, 1e-12)
            elif key == "std":
                want = moments.std()[expected_rows]
                allowed = VARIANCE_TOLERANCE * np.maximum(
                    moments.square_mean()[expected_rows], 1e-24
                )
                wrong = np.abs(got**2 - want**2) > allowed
            else:
                continue
            wrong = wrong.reshape(len(wrong), -1).any(axis=1) & finite
        flag[where[wrong]] = True
    return flag


def _stored_episode_tables(
    root: Path, names: list[str]
) -> Iterator[tuple[str, pa.Table, list[str]]]:
    """(episodes file, its episode_index and compared stats/* columns, those columns) per file."""
    for path in episodes_files(root):
        try:
            parquet = pq.ParquetFile(path)
            present = parquet.schema_arrow.names
        except _PARQUET_ERRORS:
            continue  # reported by the episodes check
        columns = [
            f"stats/{name}/{key}"
            for name in names
            for key in _COMPARED
            if f"stats/{name}/{key}" in present
        ]
        if "episode_index" not in present or not columns:
            continue
        relative = path.relative_to(root).as_posix()
        try:
            table = parquet.read(columns=["episode_index", *columns])
        except _PARQUET_ERRORS:
            continue
        yield relative, table, columns


def _as_arrays(raw: Mapping[str, Any], *, all_keys: bool = False) -> FeatureStats:
    keys = list(raw) if all_keys else [key for key in _COMPARED if key in raw]
    return {key: array for key in keys if (array := _array(raw[key])) is not None}


def _array(value: object) -> npt.NDArray[Any] | None:
    try:
        array = np.atleast_1d(np.array(value))
    except (ValueError, TypeError):
        return None
    return array if array.dtype.kind in "biuf" else None
