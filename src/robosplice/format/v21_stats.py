"""A v2.1/v2.0 source's stats in v3.0 form: per-episode columns, stats.json (pure, no I/O).

v2.1 per-episode stats (episodes_stats.jsonl) are carried value for value as `stats/*` cells,
their JSON leaf types kept; a v2.0 episode, which has none, gets its numeric stats computed from
its rows and its cameras' from the source's stats.json. stats.json aggregates the episodes as the
official converter does, keeping any key the source's own has and the aggregate lacks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from robosplice.format import info as info_format
from robosplice.format.info import Features
from robosplice.format.schema import column_values
from robosplice.format.stats import (
    DatasetStats,
    aggregate_stats,
    compute_feature_stats,
    flatten_episode_stats,
    stats_to_json,
)
from robosplice.format.v21 import V2Source


def stats_columns(stats: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`stats/<feature>/<key>` cells holding the JSON values exactly (ints stay ints)."""
    return {
        f"stats/{feature}/{key}": value
        for feature, feature_stats in stats.items()
        for key, value in feature_stats.items()
    }


def stats_fields(rows: list[dict[str, Any]]) -> list[pa.Field]:
    """Arrow fields of the stats columns: the JSON leaf type (bool, int) kept, else float64."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(k for k in row if k.startswith("stats/")))
    fields = []
    for name in names:
        values = [row[name] for row in rows if row.get(name) is not None]
        leaves = [leaf for value in values for leaf in _leaves(value)]
        arrow_type: pa.DataType = pa.float64()
        if leaves and all(isinstance(v, bool) for v in leaves):
            arrow_type = pa.bool_()  # 0.3.3 keeps np.min of a bool feature a bool
        elif leaves and all(isinstance(v, int) and not isinstance(v, bool) for v in leaves):
            arrow_type = pa.int64()
        for _ in range(_depth(values[0]) if values else 1):
            arrow_type = pa.list_(arrow_type)
        fields.append(pa.field(name, arrow_type))
    return fields


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    return depth


def _json_stats_to_numpy(stats: dict[str, dict[str, Any]]) -> DatasetStats:
    return {
        feature: {key: np.atleast_1d(np.array(value)) for key, value in values.items()}
        for feature, values in stats.items()
    }


def v20_episode_stats(
    source: V2Source,
    table: pa.Table,
    features: Features,
    length: int,
    names: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Stats of a v2.0 episode (or of the `names` a v2.1 episode's stats lack): numeric ones
    computed from its rows, cameras from stats.json."""
    stats: DatasetStats = {}
    fps = float(source.info["fps"])
    global_stats = source.global_stats or {}
    for name in names if names is not None else info_format.stats_feature_names(features):
        feature = features[name]
        if feature["dtype"] in info_format.VISUAL_DTYPES:
            if name in global_stats:
                carried = {k: np.asarray(v) for k, v in global_stats[name].items()}
                carried["count"] = np.array([length])
                stats[name] = carried
            continue
        if name == "timestamp":
            values = table.column("frame_index").to_numpy() / fps
        else:
            values = column_values(table.column(name), info_format.feature_shape(feature))
        stats[name] = compute_feature_stats(values)
    flat = flatten_episode_stats(stats)
    result: dict[str, dict[str, Any]] = {}
    for column, value in flat.items():
        feature, _, key = column[len("stats/") :].rpartition("/")
        result.setdefault(feature, {})[key] = value
    return result


def dataset_stats_json(
    episode_stats: list[dict[str, dict[str, Any]]], source_stats: dict[str, Any] | None
) -> dict[str, Any]:
    """stats.json: the episodes' stats aggregated as the official converter does, plus any key
    the source's own stats.json has and the aggregate lacks (e.g. GR00T's q01/q99)."""
    aggregated = stats_to_json(aggregate_stats([_json_stats_to_numpy(s) for s in episode_stats]))
    for feature, values in (source_stats or {}).items():
        if not isinstance(values, dict):
            continue
        target = aggregated.setdefault(feature, {})
        for key, value in values.items():
            target.setdefault(key, value)
    return aggregated
