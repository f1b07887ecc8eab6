"""Family "stats": meta/stats.json — present for every feature with stats, numbers of the
expected shapes (FORMAT.md §1.3, §4.1). Values against the data: `stale_stats.py`."""

from __future__ import annotations

import json
from typing import Any, Final

import numpy as np

from robosplice.checks._common import REQUIRED_STAT_KEYS, problem_maker, short
from robosplice.checks.context import KINDS as COMMON_KINDS
from robosplice.checks.context import STATS_JSON_REBUILT, Context
from robosplice.checks.kinds import Decision, EditFacts, Kind, OnEdit, always
from robosplice.errors import Problem
from robosplice.format.info import (
    DEFAULT_FEATURE_NAMES,
    VISUAL_DTYPES,
    Features,
    stats_feature_names,
)
from robosplice.format.paths import STATS_PATH

__all__ = ["KINDS", "run", "validate_stats"]

# An edit that recomputes every stat repairs each of these kinds outright.
_STATS_JSON_ENTRY: Final = OnEdit(decide=STATS_JSON_REBUILT, repaired_by_recompute=always)


def _unusual_shape_on_edit(problem: Problem, facts: EditFacts) -> Decision:
    if facts.recomputes_stats:
        return "rebuilt", "recomputed with the recorder's shapes"
    # The loader casts and broadcasts it; the recorder's test factories write such files.
    return "carried", "kept as the source has it (the official loader accepts it)"


KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="missing_stats", severity="error",
         meaning="meta/stats.json lacks a non-default numeric feature or one of"
         " min/max/mean/std/count",
         why="trainers normalize state and action with these: a missing entry trains on"
         " unnormalized numbers or fails",
         on_edit=_STATS_JSON_ENTRY),
    Kind(name="missing_optional_stats", severity="warning",
         meaning="meta/stats.json lacks the stats of a camera or of a default feature (timestamp,"
         " frame_index, episode_index, index, task_index)",
         why="it loads and trains (lerobot's own convert_image_to_video drops camera stats, and"
         " index features are never normalized); recompute-stats --decode adds them",
         on_edit=_STATS_JSON_ENTRY),
    Kind(name="bad_stats_shape", severity="error",
         meaning="a stat is not numbers of a shape that broadcasts against the feature",
         why="normalization fails or mixes dimensions", on_edit=_STATS_JSON_ENTRY),
    Kind(name="unusual_stats_shape", severity="warning",
         meaning="a stat has a shape the loader accepts but the recorder would not write, e.g."
         " (3, 1, 1) for a one-channel depth camera, or (1,) for a vector",
         why="the loader casts it and it broadcasts (lerobot's own test factories write depth"
         " stats as (3, 1, 1)); recompute-stats writes the recorder's shapes",
         on_edit=OnEdit(decide=_unusual_shape_on_edit, repaired_by_recompute=always)),
)  # fmt: skip
"""The kinds this family reports: severity, and why, beside the checks below."""

_KNOWN_STAT_KEYS: Final = (*REQUIRED_STAT_KEYS, "q01", "q10", "q50", "q90", "q99")
_problem = problem_maker(KINDS, COMMON_KINDS)


def run(ctx: Context) -> None:
    """Check stats.json's presence and shapes; later families get it parsed (`ctx.stats`)."""
    ctx.stats = ctx.guarded(STATS_PATH, None, lambda: _check_stats(ctx, ctx.features))


def validate_stats(stats: object, features: Features) -> list[Problem]:
    """Return the problems of a parsed meta/stats.json against `features` (pure; FORMAT.md §1.3).

    Checks presence of min/max/mean/std/count for every feature with stats, and the shapes of
    §4.1: (1,) for scalars, (D,) for vectors, the last axis (or the full shape) for arrays,
    (C, 1, 1) for cameras, (1,) for count. Values are not compared with the data.
    """
    problems: list[Problem] = []

    def report(loc: str, kind: str, message: str) -> None:
        problems.append(_problem(file=STATS_PATH, loc=loc, kind=kind, message=message))

    if not isinstance(stats, dict):
        report("", "invalid_json", f"expected a JSON object, got {type(stats).__name__}")
        return problems
    for name in stats_feature_names(features):
        feature = features[name]
        # Cameras and the default index features load and train without stats (see KINDS).
        optional = feature.get("dtype") in VISUAL_DTYPES or name in DEFAULT_FEATURE_NAMES
        missing_kind = "missing_optional_stats" if optional else "missing_stats"
        fix = (
            "recompute-stats --decode adds them"
            if feature.get("dtype") in VISUAL_DTYPES
            else ("recompute the stats ('robosplice recompute-stats')")
        )
        feature_stats = stats.get(name)
        if feature_stats is None:
            report(
                name,
                missing_kind,
                f"no stats for feature {name!r}; policies normalize with them and merge needs"
                f" them; {fix}",
            )
            continue
        if not isinstance(feature_stats, dict):
            report(name, "bad_stats_shape", f"expected an object of stats, got {feature_stats!r}")
            continue
        missing = [key for key in REQUIRED_STAT_KEYS if key not in feature_stats]
        if missing:
            report(
                name,
                missing_kind,
                f"expected stats {list(REQUIRED_STAT_KEYS)}, missing {missing}; {fix}",
            )
        expected = _expected_stat_shapes(feature)
        for key in _KNOWN_STAT_KEYS:
            if key not in feature_stats:
                continue
            shapes = {(1,)} if key == "count" else expected
            got = _stat_shape(feature_stats[key])
            if got is None:
                report(
                    f"{name}.{key}",
                    "bad_stats_shape",
                    "expected a rectangular nested list of numbers, got"
                    f" {short(feature_stats[key])}",
                )
            elif got not in shapes:
                wanted = " or ".join(str(shape) for shape in sorted(shapes))
                # A shape that still broadcasts per channel / per dimension loads and trains.
                tolerated = key != "count" and _broadcasts(got, feature)
                report(
                    f"{name}.{key}",
                    "unusual_stats_shape" if tolerated else "bad_stats_shape",
                    f"expected shape {wanted}, got {got}; recompute the stats",
                )
    return problems


def _check_stats(ctx: Context, features: Features) -> dict[str, Any] | None:
    """Check stats.json's presence and shapes; return it parsed (None if unreadable)."""
    path = ctx.root / STATS_PATH
    if not path.is_file():
        ctx.report(
            STATS_PATH,
            "",
            "missing_file",
            "meta/stats.json is missing; the dataset loads but policies cannot normalize"
            " and merge fails; recompute the stats",
        )
        return None
    try:
        stats = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        ctx.report(STATS_PATH, "", "invalid_json", f"cannot parse JSON ({exc})")
        return None
    ctx.add_problems(validate_stats(stats, features))
    return stats if isinstance(stats, dict) else None


def _expected_stat_shapes(feature: dict[str, Any]) -> set[tuple[int, ...]]:
    """FORMAT.md §4.1: the shapes a feature's stats may have (bar `count`)."""
    shape = tuple(int(s) for s in feature.get("shape") or ())
    if feature.get("dtype") in VISUAL_DTYPES:
        channels = {shape[-1], shape[0]} if shape else {3}
        return {(c, 1, 1) for c in channels}
    if len(shape) <= 1:
        return {shape or (1,)}
    # The official code reshapes to (-1, last_dim): stats per last axis; the full shape also loads.
    return {(shape[-1],), shape}


def _broadcasts(got: tuple[int, ...], feature: dict[str, Any]) -> bool:
    """Whether a stat of shape `got` broadcasts against the frames the loader returns.

    Cameras come out of the loader as (3, H, W) for video and (C, H, W) for images, so (1, 1, 1)
    and (3, 1, 1) always broadcast (lerobot's test factories write (3, 1, 1) for depth); a
    numeric feature of shape (..., D) takes (1,) too.
    """
    shape = tuple(int(s) for s in feature.get("shape") or ())
    if feature.get("dtype") in VISUAL_DTYPES:
        return got in {(1, 1, 1), (3, 1, 1)}
    return got == (1,) and len(shape) >= 1


def _stat_shape(value: object) -> tuple[int, ...] | None:
    try:
        array = np.atleast_1d(np.array(value))
    except ValueError:
        return None
    if array.dtype.kind not in "biuf":
        return None
    return tuple(int(s) for s in array.shape)
