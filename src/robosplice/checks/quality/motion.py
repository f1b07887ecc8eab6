"""Motion checks of state/action: dead dimensions, frozen episodes, idle heads and tails, and
one-frame spikes, each measured against that dimension's own scale and noise floor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robosplice.checks.finding import Finding
from robosplice.checks.quality.fixes import delete_fix, trim_fix
from robosplice.checks.quality.signals import Column
from robosplice.checks.quality.thresholds import DimensionProfile, Thresholds

DEAD = "dead_dimension"
FROZEN = "frozen_episode"
IDLE_HEAD = "idle_head"
IDLE_TAIL = "idle_tail"
SPIKE = "spike"
_REST_FRAMES = 5  # the resting pose is the median of this many first (last) frames


def _label(column: Column) -> str:
    name = f" ({column.name})" if column.name else ""
    return f"{column.feature}[{column.dimension}]{name}"


def dead_findings(columns: Sequence[Column], profile: DimensionProfile) -> list[Finding]:
    """Dimensions constant over the whole dataset (a joint that never reported)."""
    return [
        Finding(
            check=DEAD,
            severity="warning",
            feature=column.feature,
            dimension=column.dimension,
            dimension_name=column.name,
            message=(
                f"{_label(column)} is {profile.minimum[number]:g} in every frame of every"
                " episode: a dead sensor or an unused joint; its normalized value is 0/0"
            ),
        )
        for number, column in enumerate(columns)
        if profile.dead[number]
    ]


def _first_moving(deviation: np.ndarray, threshold: np.ndarray) -> int | None:
    """The first row where some dimension moves beyond its threshold (None if none does)."""
    moving = np.flatnonzero((deviation > threshold).any(axis=1))
    return int(moving[0]) if len(moving) else None


def idle_findings(
    episode: int,
    values: np.ndarray,
    profile: DimensionProfile,
    thresholds: Thresholds,
    fps: float,
) -> list[Finding]:
    """A frozen episode, else an idle head and/or tail of at least `min_idle_s`."""
    length = len(values)
    if length < 2 or profile.dead.all():
        return []
    threshold = profile.motion_threshold(thresholds)
    rest = np.median(values[:_REST_FRAMES], axis=0)
    head = _first_moving(np.abs(values - rest), threshold)
    if head is None:
        return [
            Finding(
                check=FROZEN,
                severity="warning",
                episode=episode,
                frames=(0, length),
                message=(
                    f"nothing moves in {length} frames ({length / fps:.1f} s): every state/action"
                    " dimension stays within its noise floor of the first pose"
                ),
                fix=delete_fix(episode),
            )
        ]
    findings = []
    minimum = max(1, round(thresholds.min_idle_s * fps))
    if head >= minimum:
        findings.append(
            Finding(
                check=IDLE_HEAD,
                severity="warning",
                episode=episode,
                frames=(0, head),
                message=(
                    f"no motion for the first {head} frames ({head / fps:.1f} s) before the"
                    f" robot moves at frame {head}; trim them"
                ),
                fix=trim_fix(episode, head, length),
            )
        )
    rest = np.median(values[-_REST_FRAMES:], axis=0)
    last = _first_moving(np.abs(values - rest)[::-1], threshold)
    tail = 0 if last is None else last
    if tail >= minimum:
        stop = length - tail
        findings.append(
            Finding(
                check=IDLE_TAIL,
                severity="warning",
                episode=episode,
                frames=(stop, length),
                message=(
                    f"no motion for the last {tail} frames ({tail / fps:.1f} s) after frame"
                    f" {stop - 1}; trim them"
                ),
                fix=trim_fix(episode, 0, stop),
            )
        )
    return findings


def _times(size: float, sigma: float) -> str:
    if sigma <= 0 or size / sigma > 1e6:
        return "where the dimension is otherwise smooth"
    return f"{size / sigma:.0f}× its typical frame-to-frame departure"


def spike_findings(
    episode: int,
    values: np.ndarray,
    columns: Sequence[Column],
    profile: DimensionProfile,
    thresholds: Thresholds,
) -> list[Finding]:
    """Frames where one dimension jumps away and straight back (per dimension, never averaged)."""
    if len(values) < 3:
        return []
    neighbours = (values[:-2] + values[2:]) / 2
    departure = np.abs(values[1:-1] - neighbours)
    spread = np.abs(values[2:] - values[:-2])
    threshold = profile.spike_threshold(thresholds)
    flagged = (departure > threshold) & (spread < 0.5 * departure)
    findings = []
    for number in np.flatnonzero(flagged.any(axis=0)):
        rows = np.flatnonzero(flagged[:, number])
        column = columns[int(number)]
        more = len(rows) - thresholds.max_spikes
        for row in rows[: thresholds.max_spikes]:
            frame = int(row) + 1
            size = departure[row, number]
            scale = profile.scale[number]
            relative = f", {size / scale:.0%} of its range" if scale > 0 else ""
            warning = profile.spike_is_warning(float(size), int(number), thresholds)
            small = (
                ""
                if warning
                else "; small against its range and its feature's other dimensions: likely"
                " sensor noise"
            )
            findings.append(
                Finding(
                    check=SPIKE,
                    severity="warning" if warning else "info",
                    episode=episode,
                    feature=column.feature,
                    dimension=column.dimension,
                    dimension_name=column.name,
                    frames=(frame, frame + 1),
                    message=(
                        f"{_label(column)} jumps by {size:.4g} at frame {frame} and comes straight"
                        f" back ({_times(size, profile.departure_sigma[number])}{relative})"
                        + small
                        + (f"; {more} more spike(s) in this dimension" if more > 0 else "")
                    ),
                )
            )
    return findings
