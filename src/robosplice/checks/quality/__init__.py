"""Quality checks (`doctor`): what to cut from a valid dataset, each finding at its episode,
feature, dimension and frames, with the recipe step that fixes it.

Two streaming passes over the numeric columns (row group by row group): the first collects per-
episode summaries (NaN/Inf, timestamps, ranges, noise, signatures), from which each dimension's
scale and noise floor are derived (`thresholds.py`); the second judges motion (frozen, idle,
spikes) against them and compares duplicate candidates. Lengths come from the metadata. With
`decode`, every camera window is decoded once. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from robosplice._types import ProgressReporter
from robosplice.checks.finding import Finding, Severity
from robosplice.checks.quality import camera, duplicates, finite, motion, timing
from robosplice.checks.quality.signals import (
    Column,
    columns_of,
    float_features,
    motion_features,
    stream_episodes,
)
from robosplice.checks.quality.thresholds import DimensionProfile, ProfileBuilder, Thresholds
from robosplice.dataset import Dataset


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityCheck:
    """One entry of the registry: id, what it finds, its severity, the fix it proposes."""

    check: str
    title: str
    severity: Severity
    fix: str | None = None
    decode: bool = False


QUALITY_CHECKS: Final[tuple[QualityCheck, ...]] = (
    QualityCheck(check=finite.CHECK, title="NaN / Inf values", severity="error", fix="delete"),
    QualityCheck(check=motion.FROZEN, title="frozen episode", severity="warning", fix="delete"),
    QualityCheck(check=motion.IDLE_HEAD, title="idle head", severity="warning", fix="trim"),
    QualityCheck(check=motion.IDLE_TAIL, title="idle tail", severity="warning", fix="trim"),
    QualityCheck(check=motion.DEAD, title="dead dimension", severity="warning"),
    QualityCheck(check=motion.SPIKE, title="one-frame spike", severity="warning"),
    QualityCheck(
        check=duplicates.CHECK, title="near-duplicate episode", severity="warning", fix="delete"
    ),
    QualityCheck(check=timing.LENGTH, title="length outlier", severity="warning"),
    QualityCheck(check=timing.JITTER, title="timestamp jitter", severity="warning"),
    QualityCheck(check=camera.BLACK, title="black frames", severity="warning", decode=True),
    QualityCheck(check=camera.FROZEN, title="frozen camera", severity="warning", decode=True),
    QualityCheck(check=camera.REPEATED, title="repeated frames", severity="warning", decode=True),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityResult:
    """The findings, and what they were measured against (for reports and plots)."""

    findings: tuple[Finding, ...]
    columns: tuple[Column, ...]
    profile: DimensionProfile


def _motion_matrix(signals_values: dict[str, np.ndarray], features: list[str]) -> np.ndarray:
    return np.concatenate([signals_values[f] for f in features], axis=1)


def run_quality(
    dataset: Dataset,
    *,
    thresholds: Thresholds | None = None,
    decode: bool = False,
    progress: ProgressReporter | None = None,
    on_episode: Callable[[int], None] | None = None,
) -> QualityResult:
    """Run every quality check over every episode of `dataset`."""
    limits = thresholds or Thresholds()
    fps = float(dataset.fps)
    floats = float_features(dataset)
    moving = motion_features(dataset, limits.motion_features)
    columns = columns_of(dataset, moving)
    by_feature = {f: columns_of(dataset, [f]) for f in floats}
    findings: list[Finding] = []
    builder = ProfileBuilder(len(columns))
    signature_length = duplicates.signature_frames(fps, limits)
    raw_signatures: dict[int, np.ndarray] = {}
    total = dataset.num_episodes
    if progress is not None:
        progress.start("doctor: statistics", total)
    for signals in stream_episodes(dataset, floats, timestamps=True):
        findings += finite.non_finite_findings(signals, by_feature)
        findings += timing.jitter_findings(signals, fps, limits)
        if moving:
            values = _motion_matrix(dict(signals.values), moving)
            builder.observe(values)
            sig = duplicates.signature(values, signature_length)
            if sig is not None:
                raw_signatures[signals.episode_index] = sig
        if progress is not None:
            progress.advance()
    if progress is not None:
        progress.finish()
    profile = builder.finish()
    findings += motion.dead_findings(columns, profile)
    findings += timing.length_findings([e.length for e in dataset.episodes], fps, limits)
    if moving:
        findings += _second_pass(
            dataset, moving, columns, profile, limits, raw_signatures, progress
        )
    if decode:
        for key in dataset.video_keys:
            for episode in range(dataset.num_episodes):
                findings += camera.camera_findings(dataset, key, episode, limits)
    return QualityResult(findings=tuple(findings), columns=tuple(columns), profile=profile)


def _second_pass(
    dataset: Dataset,
    moving: list[str],
    columns: list[Column],
    profile: DimensionProfile,
    limits: Thresholds,
    raw_signatures: dict[int, np.ndarray],
    progress: ProgressReporter | None,
) -> list[Finding]:
    """Frozen/idle/spikes per episode, and frame-by-frame comparison of duplicate candidates."""
    fps = float(dataset.fps)
    live = ~profile.dead
    tolerance = profile.duplicate_tolerance(limits)
    signatures = {e: s[:, live] for e, s in raw_signatures.items()}
    pairs = duplicates.candidate_pairs(signatures, tolerance[live]) if live.any() else []
    needed: dict[int, int] = {}
    for first, second in pairs:
        needed[first] = needed.get(first, 0) + 1
        needed[second] = needed.get(second, 0) + 1
    later_of: dict[int, list[int]] = {}
    for first, second in pairs:
        later_of.setdefault(second, []).append(first)
    cache: dict[int, np.ndarray] = {}
    findings: list[Finding] = []
    repeats: list[Finding] = []
    if progress is not None:
        progress.start("doctor: motion", dataset.num_episodes)
    for signals in stream_episodes(dataset, moving):
        episode = signals.episode_index
        values = _motion_matrix(dict(signals.values), moving)
        if np.isfinite(values).all():
            findings += motion.idle_findings(episode, values, profile, limits, fps)
            findings += motion.spike_findings(episode, values, columns, profile, limits)
        if episode in needed:
            cache[episode] = values
            for earlier in later_of.get(episode, []):
                if earlier in cache:
                    found = duplicates.compare(
                        earlier, episode, cache[earlier], values, profile, limits, fps
                    )
                    if found is not None:
                        repeats.append(found)
                for done in (earlier, episode):
                    needed[done] -= 1
                    if needed[done] == 0:
                        cache.pop(done, None)
        if progress is not None:
            progress.advance()
    if progress is not None:
        progress.finish()
    return findings + duplicates.earliest_matches(repeats)


__all__ = [
    "QUALITY_CHECKS",
    "QualityCheck",
    "QualityResult",
    "Thresholds",
    "run_quality",
]
