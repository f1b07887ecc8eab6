"""Episode lengths far from the others, and frame intervals that are not 1/fps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robosplice.checks.finding import Finding
from robosplice.checks.quality.signals import EpisodeSignals
from robosplice.checks.quality.thresholds import MAD_TO_SIGMA, Thresholds

LENGTH = "length_outlier"
JITTER = "timestamp_jitter"
_MIN_EPISODES = 5


def length_findings(lengths: Sequence[int], fps: float, thresholds: Thresholds) -> list[Finding]:
    """Episodes whose log length is more than `length_k` robust σ from the median."""
    if len(lengths) < _MIN_EPISODES:
        return []
    logs = np.log(np.maximum(np.asarray(lengths, dtype=np.float64), 1.0))
    median = float(np.median(logs))
    sigma = max(
        MAD_TO_SIGMA * float(np.median(np.abs(logs - median))), thresholds.length_min_log_sigma
    )
    typical = float(np.exp(median))
    findings = []
    for episode, (length, value) in enumerate(zip(lengths, logs)):
        score = abs(value - median) / sigma
        if score > thresholds.length_k:
            kind = "short" if value < median else "long"
            findings.append(
                Finding(
                    check=LENGTH,
                    severity="warning",
                    episode=episode,
                    frames=(0, int(length)),
                    message=(
                        f"{length} frames ({length / fps:.1f} s) is unusually {kind}: the median"
                        f" episode has {typical:.0f} ({score:.1f} robust σ on a log scale);"
                        " an aborted or runaway recording?"
                    ),
                )
            )
    return findings


def jitter_findings(signals: EpisodeSignals, fps: float, thresholds: Thresholds) -> list[Finding]:
    """Frame intervals off the stored 1/fps grid by more than `jitter_s` (frames [first, last))."""
    stamps = signals.timestamp
    if stamps is None or len(stamps) < 2 or not np.isfinite(stamps).all():
        return []
    grid = (np.arange(len(stamps)) / fps).astype(np.float32).astype(np.float64)
    error = np.abs(np.diff(stamps.astype(np.float64)) - np.diff(grid))
    bad = np.flatnonzero(error > thresholds.jitter_s)
    if len(bad) == 0:
        return []
    return [
        Finding(
            check=JITTER,
            severity="warning",
            episode=signals.episode_index,
            feature="timestamp",
            frames=(int(bad[0]), int(bad[-1]) + 2),
            message=(
                f"{len(bad)} frame interval(s) differ from 1/fps = {1 / fps:.6f} s by up to"
                f" {error[bad].max() * 1000:.2f} ms (first between frames {bad[0]} and"
                f" {bad[0] + 1}); dropped or late frames, and the loader matches video by time"
            ),
        )
    ]
