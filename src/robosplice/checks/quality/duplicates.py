"""Near-duplicate episodes: the same trajectory twice, whole or as a prefix of a longer one.

Scales to thousands of episodes: each episode gets a cheap signature (its values at 8 frames
spread over its first `duplicate_min_s` seconds, divided by each dimension's tolerance), the
signatures are sorted along the entry that spreads them most, and only episodes within 1 along it
(matching ones cannot be further apart) are compared, first by signature, then frame by frame
over their common frames.
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
    signatures: dict[int, np.ndarray], tolerance: np.ndarray
) -> list[tuple[int, int]]:
    """Pairs (earlier, later) whose signatures agree within `tolerance` in every entry.

    Entries are divided by their tolerance, so matching signatures differ by at most 1 in each;
    sorted along the entry that spreads the episodes most, each episode is compared (at once,
    vectorized) only with those within 1 along it.
    """
    if len(signatures) < 2:
        return []
    episodes = np.asarray(sorted(signatures))
    matrix = np.stack([(signatures[int(e)] / tolerance).reshape(-1) for e in episodes])
    key = int(np.argmax(matrix.std(axis=0)))
    order = np.argsort(matrix[:, key], kind="stable")
    keys = matrix[order, key]
    ends = np.searchsorted(keys, keys + 1.0, side="right")
    pairs = []
    for position, row in enumerate(order):
        stop = int(ends[position])
        if stop <= position + 1:
            continue
        others = order[position + 1 : stop]
        close = (np.abs(matrix[others] - matrix[row]) <= 1.0).all(axis=1)
        for other in others[close]:
            first, second = sorted((int(episodes[row]), int(episodes[other])))
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
