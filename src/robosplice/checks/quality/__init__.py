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
from robosplice.checks.context import Context
from robosplice.checks.finding import Finding
from robosplice.checks.kinds import Kind
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

_TRAIN = "the dataset loads, but a policy trained on it learns from bad demonstrations"

KINDS: Final[tuple[Kind, ...]] = (
    Kind(name=finite.CHECK, severity="error",
         meaning="NaN or ±Inf in a float feature (episode, feature, dimension, frames); fix: delete"
         " the episode",
         why="a trainer gets NaN losses and normalization stats become NaN"),
    Kind(name=motion.FROZEN, severity="warning",
         meaning="no state/action dimension moves beyond its noise floor in the whole episode;"
         " fix: delete the episode", why=_TRAIN),
    Kind(name=motion.IDLE_HEAD, severity="warning",
         meaning="no motion for at least min_idle_s (0.5 s) at the start; fix: trim it",
         why=_TRAIN + " (a policy learns to wait)"),
    Kind(name=motion.IDLE_TAIL, severity="warning",
         meaning="no motion for at least min_idle_s (0.5 s) at the end; fix: trim it",
         why=_TRAIN + " (a policy learns to stall)"),
    Kind(name=motion.DEAD, severity="warning",
         meaning="a state/action dimension constant over the whole dataset (named by index and"
         " info.json name)",
         why="its std is 0, so mean/std normalization divides by zero; the joint never reported"),
    Kind(name=motion.SPIKE, severity="warning",
         meaning="one frame of one dimension far outside its step distribution, straight back"
         " after", why=_TRAIN + " (a sensor glitch)"),
    Kind(name=duplicates.CHECK, severity="warning",
         meaning="an episode repeats an earlier one (whole or prefix) within the noise floor;"
         " fix: delete the later one", why="it weighs one demonstration twice"),
    Kind(name=timing.LENGTH, severity="warning",
         meaning="an episode far shorter or longer than the others (robust log-length score)",
         why="often an aborted or runaway recording"),
    Kind(name=timing.JITTER, severity="warning",
         meaning="frame intervals off 1/fps by more than jitter_s (1e-4 s)",
         why="dropped or late frames; the loader matches video frames by time"),
    Kind(name=camera.BLACK, severity="warning",
         meaning="decoded camera frames darker than camera_black_level (--decode)",
         why=_TRAIN + " (a covered or dead camera)"),
    Kind(name=camera.FROZEN, severity="warning",
         meaning="a camera image unchanged for at least camera_frozen_s (--decode)",
         why=_TRAIN + " (a stalled camera stream)"),
    Kind(name=camera.REPEATED, severity="warning",
         meaning="single camera frames that repeat the frame before (--decode)",
         why="dropped frames filled with copies: image and state no longer line up"),
)  # fmt: skip
"""The kinds this family reports (doctor's quality checks; registered in `checks.registry`)."""

TITLES: Final = {
    "non_finite": "NaN/Inf values",
    "frozen_episode": "frozen episode",
    "idle_head": "idle head",
    "idle_tail": "idle tail",
    "dead_dimension": "dead dimension",
    "spike": "one-frame spike",
    "duplicate_episode": "near-duplicate of an earlier episode",
    "length_outlier": "length outlier",
    "timestamp_jitter": "timestamp jitter",
    "camera_black": "black frames",
    "camera_frozen": "frozen camera",
    "camera_repeated": "repeated frames",
}
"""Short titles, for reports and the `reason` of recipe steps."""


def run(
    ctx: Context,
    *,
    thresholds: Thresholds | None = None,
    results: list[QualityResult] | None = None,
) -> None:
    """The registry's entry point: run the quality checks unless the structure is unreadable.

    `results` (if given) receives the `QualityResult`, for reports that plot what was measured.
    """
    if ctx.stop or ctx.has_errors(lambda f: f.check in _UNREADABLE):
        return
    result = run_quality(
        Dataset(ctx.root), thresholds=thresholds, decode=ctx.decode, progress=ctx.progress
    )
    if results is not None:
        results.append(result)
    for finding in result.findings:
        ctx.add(finding)


_UNREADABLE: Final = frozenset(
    {"missing_file", "invalid_json", "corrupt_parquet", "missing_column", "bad_column_type"}
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
    profile = builder.finish().with_feature_scales([c.feature for c in columns])
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


__all__ = ["KINDS", "TITLES", "QualityResult", "Thresholds", "run", "run_quality"]
