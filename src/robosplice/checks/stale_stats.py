"""Family "stale_stats": stats against the data — per-episode `stats/*` against each episode's rows, stats.json against
their aggregate, and NaN/Inf anywhere in either.

Stale stats are the defect that silently ruins training: normalization uses them and nothing
else looks at them. The data files are read once, numeric columns only, row group by row group;
each episode keeps min, max, sum, sum of squares and count per dimension, in float64.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.checks.context import Context
from robosplice.checks.finding import Finding
from robosplice.checks.kinds import Kind
from robosplice.format.data import data_files
from robosplice.format.episodes import episodes_files
from robosplice.format.info import (
    DEFAULT_FEATURE_NAMES,
    Features,
    feature_shape,
    numeric_feature_names,
)
from robosplice.format.paths import HISTORY_PATH, STATS_PATH
from robosplice.format.schema import column_values
from robosplice.format.stats import FeatureStats, aggregate_feature_stats

__all__ = ["KINDS", "RELATIVE_TOLERANCE", "run", "stats_against_data"]

_FIX: Final = "run 'robosplice recompute-stats' to rewrite them from the data"

KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="stale_stats", severity="error",
         meaning="a stat (min/max/mean/std/count) of a numeric feature in meta/stats.json or"
         " an episode's stats/* disagrees with the data",
         why="trainers normalize with these numbers: stale stats silently train on wrongly"
         " scaled inputs and actions"),
    Kind(name="stale_index_stats", severity="warning",
         meaning="a stat of timestamp, frame_index, episode_index, index or task_index"
         " disagrees with the data",
         why="no trainer normalizes these, and lerobot's own delete, split and merge leave them"
         " stale; recompute-stats fixes them"),
    Kind(name="nan_stats", severity="error",
         meaning="a stat in meta/stats.json or an episode's stats/* is NaN or infinite",
         why="normalizing with it turns every value of the feature into NaN"),
)  # fmt: skip
"""The kinds this family reports: severity, and why, beside the checks below."""

RELATIVE_TOLERANCE: Final = 1e-5
"""mean/std tolerance, relative to max|x| (mean) and E[x²] (variance): ~80 float32 epsilons."""
_COMPARED: Final = ("min", "max", "mean", "std", "count")
_PARQUET_ERRORS: Final = (pa.ArrowException, OSError, ValueError)
_SEVERITY: Final = {kind.name: kind.severity for kind in KINDS}


@dataclass(slots=True)
class _Moments:
    """Running per-dimension min, max, sum, sum of squares and counts of one episode's feature."""

    minimum: npt.NDArray[np.float64]
    maximum: npt.NDArray[np.float64]
    total: npt.NDArray[np.float64]
    squares: npt.NDArray[np.float64]
    dtype: np.dtype[Any]  # the column's values after promotion; min/max compare in it
    samples: int = 0  # rows after the official reshape to (-1, last_dim)
    frames: int = 0

    def stats(self) -> FeatureStats:
        mean = self.total / self.samples
        variance = np.maximum(self.squares / self.samples - mean**2, 0.0)
        return {
            "min": self.minimum,
            "max": self.maximum,
            "mean": mean,
            "std": np.sqrt(variance),
            "count": np.array([self.frames]),
            "scale": np.maximum(np.abs(self.minimum), np.abs(self.maximum)),
            "square_mean": self.squares / self.samples,
            "dtype_probe": np.zeros(1, dtype=self.dtype),
        }


@dataclass(slots=True)
class _DataStats:
    """Per feature, per episode_index: the moments of that episode's rows."""

    episodes: dict[str, dict[int, _Moments]] = field(default_factory=dict)
    unusable: set[str] = field(default_factory=set)  # features with nulls or odd shapes


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
    data = _read_data(root, features, names) if compare else _DataStats()
    computed = {
        name: {episode: moments.stats() for episode, moments in by_episode.items()}
        for name, by_episode in data.episodes.items()
        if name not in data.unusable
    }
    for relative, episode, stored in _stored_episode_stats(root, names):
        for name, feature_stats in stored.items():
            problems.extend(_nan(relative, f"episode {episode}", name, episode, feature_stats))
            expected = computed.get(name, {}).get(episode)
            if expected is None:
                continue
            for key, message in _differences(feature_stats, expected):
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
    if isinstance(stats_json, Mapping):
        relative = _relative_action_feature(root)
        for name in names:
            raw = stats_json.get(name)
            if not isinstance(raw, Mapping):
                continue  # missing or malformed: reported by the stats.json check
            feature_stats = _as_arrays(raw)
            problems.extend(_nan(STATS_PATH, name, name, None, _as_arrays(raw, all_keys=True)))
            episodes = computed.get(name)
            if not episodes or name == relative:
                continue
            expected = aggregate_feature_stats([episodes[e] for e in sorted(episodes)])
            expected["scale"] = np.max([s["scale"] for s in episodes.values()], axis=0)
            expected["square_mean"] = expected["std"] ** 2 + expected["mean"] ** 2
            expected["dtype_probe"] = next(iter(episodes.values()))["dtype_probe"]
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
            allowed = RELATIVE_TOLERANCE * np.maximum(expected["square_mean"], 1e-24)
            wrong = np.abs(got64**2 - want**2) > allowed
        positions = np.flatnonzero(wrong)
        if len(positions):
            i = int(positions[0])
            more = f" (and {len(positions) - 1} more)" if len(positions) > 1 else ""
            yield (
                key,
                f"dimension {i}: expected {float(want[i]):.9g}, got {float(got64[i]):.9g}{more}",
            )


def _read_data(root: Path, features: Features, names: list[str]) -> _DataStats:
    """Stream the data files' numeric columns and accumulate per-episode moments."""
    result = _DataStats()
    for path in data_files(root):
        try:
            _read_data_file(path, features, names, result)
        except _PARQUET_ERRORS:
            continue  # reported by the data check
    return result


def _read_data_file(path: Path, features: Features, names: list[str], result: _DataStats) -> None:
    parquet = pq.ParquetFile(path)
    present = set(parquet.schema_arrow.names)
    columns = [name for name in names if name in present]
    if "episode_index" not in present or not columns:
        return
    wanted = list(dict.fromkeys(["episode_index", *columns]))
    for group in range(parquet.metadata.num_row_groups):
        table = parquet.read_row_group(group, columns=wanted)
        episode = np.asarray(table.column("episode_index").to_numpy(), dtype=np.int64)
        if not len(episode):
            continue
        starts = np.flatnonzero(np.r_[True, episode[1:] != episode[:-1]])
        for name in columns:
            if name in result.unusable:
                continue
            values = _numeric(table.column(name), features[name])
            if values is None:
                result.unusable.add(name)
                continue
            _accumulate(result.episodes.setdefault(name, {}), episode, starts, values)


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


def _accumulate(
    by_episode: dict[int, _Moments],
    episode: npt.NDArray[np.int64],
    starts: npt.NDArray[np.intp],
    values: npt.NDArray[Any],
) -> None:
    stops = np.r_[starts[1:], len(episode)]
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        run = values[start:stop].reshape(-1, values.shape[-1])
        wide = run.astype(np.float64)
        moments = by_episode.get(int(episode[start]))
        low, high = run.min(axis=0).astype(np.float64), run.max(axis=0).astype(np.float64)
        if moments is None:
            moments = _Moments(
                dtype=run.dtype,
                minimum=low,
                maximum=high,
                total=np.zeros(run.shape[1]),
                squares=np.zeros(run.shape[1]),
            )
            by_episode[int(episode[start])] = moments
        else:
            moments.minimum = np.minimum(moments.minimum, low)
            moments.maximum = np.maximum(moments.maximum, high)
        moments.total += wide.sum(axis=0)
        moments.squares += (wide * wide).sum(axis=0)
        moments.samples += run.shape[0]
        moments.frames += stop - start


def _stored_episode_stats(
    root: Path, names: list[str]
) -> Iterator[tuple[str, int, dict[str, FeatureStats]]]:
    """(episodes file, episode_index, {feature: stats}) for each episode row, numeric features."""
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
        cells = {name: table.column(name).to_pylist() for name in columns}
        for row, episode in enumerate(table.column("episode_index").to_pylist()):
            if episode is None:
                continue
            stats: dict[str, FeatureStats] = {}
            for column, values in cells.items():
                if values[row] is None:
                    continue
                name, _, key = column[len("stats/") :].rpartition("/")
                array = _array(values[row])
                if array is not None:
                    stats.setdefault(name, {})[key] = array
            yield relative, int(episode), stats


def _as_arrays(raw: Mapping[str, Any], *, all_keys: bool = False) -> FeatureStats:
    keys = list(raw) if all_keys else [key for key in _COMPARED if key in raw]
    return {key: array for key in keys if (array := _array(raw[key])) is not None}


def _array(value: object) -> npt.NDArray[Any] | None:
    try:
        array = np.atleast_1d(np.array(value))
    except (ValueError, TypeError):
        return None
    return array if array.dtype.kind in "biuf" else None
