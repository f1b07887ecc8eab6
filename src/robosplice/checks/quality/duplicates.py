"""Near-duplicate episodes: the same trajectory twice, whole or as a prefix of a longer one.

Scales to thousands of episodes: each episode gets a cheap signature (its values at 8 frames
spread over its first `duplicate_min_s` seconds, divided by each dimension's tolerance), the
signatures are sorted along one random projection, and only pairs whose projections are close
enough to possibly match (|p_a − p_b| ≤ Σ|r|, the most two matching signatures can differ) are
compared, first by signature, then frame by frame over their common frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robosplice.checks.finding import Finding
from robosplice.checks.quality.fixes import delete_fix
from robosplice.checks.quality.thresholds import DimensionProfile, Thresholds

CHECK = "duplicate_episode"
_SIGNATURE_FRAMES = 8


def signature_frames(fps: float, thresholds: Thresholds) -> int:
    """Frames an episode needs to be compared at all (the shortest overlap)."""
    return max(_SIGNATURE_FRAMES, round(thresholds.duplicate_min_s * fps))


def signature(values: np.ndarray, frames: int) -> np.ndarray | None:
    """The episode's values at 8 frames spread over its first `frames` (None if shorter)."""
    if len(values) < frames or not np.isfinite(values[:frames]).all():
        return None
    rows = np.linspace(0, frames - 1, _SIGNATURE_FRAMES).round().astype(int)
    return values[rows]


def candidate_pairs(
    signatures: dict[int, np.ndarray], tolerance: np.ndarray, *, seed: int = 0
) -> list[tuple[int, int]]:
    """Pairs (earlier, later) whose signatures agree within `tolerance` in every entry."""
    if len(signatures) < 2:
        return []
    episodes = sorted(signatures)
    matrix = np.stack([(signatures[e] / tolerance).reshape(-1) for e in episodes])
    direction = np.random.default_rng(seed).standard_normal(matrix.shape[1])
    projection = matrix @ direction
    window = float(np.abs(direction).sum())
    order = np.argsort(projection, kind="stable")
    pairs = []
    for position, row in enumerate(order):
        for other in order[position + 1 :]:
            if projection[other] - projection[row] > window:
                break
            if np.abs(matrix[row] - matrix[other]).max() <= 1.0:
                first, second = sorted((episodes[row], episodes[other]))
                pairs.append((first, second))
    return sorted(pairs)


def compare(
    earlier: int,
    later: int,
    first: np.ndarray,
    second: np.ndarray,
    profile: DimensionProfile,
    thresholds: Thresholds,
    fps: float,
) -> Finding | None:
    """A finding on `later` if it repeats `earlier` over their common frames (with motion)."""
    common = min(len(first), len(second))
    a, b = first[:common], second[:common]
    live = ~profile.dead
    if not live.any():
        return None
    if (np.abs(a - b)[:, live] > profile.duplicate_tolerance(thresholds)[live]).any():
        return None
    moving = (np.ptp(a, axis=0) > profile.motion_threshold(thresholds))[live].any()
    if not moving:
        return None  # two still episodes at one pose: the frozen check reports them
    if len(first) == len(second):
        how = f"all {common} frames"
    elif len(second) < len(first):
        how = f"all its {common} frames are the first {common} of episode {earlier}"
    else:
        how = f"its first {common} frames are all of episode {earlier}"
    return Finding(
        check=CHECK,
        severity="warning",
        episode=later,
        other_episode=earlier,
        frames=(0, common),
        message=(
            f"repeats episode {earlier} ({how}, {common / fps:.1f} s, every dimension within"
            " its noise floor): recorded or copied twice; delete the later copy"
        ),
        fix=delete_fix(later),
    )


def earliest_matches(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per repeated episode: the one naming the earliest original."""
    best: dict[int, Finding] = {}
    for finding in findings:
        episode, other = finding.episode, finding.other_episode
        if episode is None or other is None:
            continue
        known = best.get(episode)
        if known is None or other < (known.other_episode or 0):
            best[episode] = finding
    return [best[e] for e in sorted(best)]
