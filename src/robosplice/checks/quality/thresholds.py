"""Thresholds of the quality checks, and the per-dimension scales they are measured in.

Every threshold is relative to the data: each state/action dimension gets a **scale** (the 95th
percentile, over episodes, of that episode's 2nd–98th percentile range) and a **noise floor**
(the white-noise σ that explains the median |second difference|, `1.4826·median|Δ²x| / √6`,
the median taken over episodes). A frame "moves" when some dimension is more than
`max(motion_noise_k · noise, motion_rel · scale)` away from the episode's resting pose. The
defaults below are what `doctor` uses; pass a `Thresholds` with other values to override them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Final

import numpy as np

MAD_TO_SIGMA: Final = 1.4826


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """Knobs of the quality checks (all overridable; defaults documented in README).

    Args:
        motion_features: features judged for motion (default: observation.state and action,
            else every float feature).
        motion_noise_k: motion means more than this many noise σ from the resting pose...
        motion_rel: ...and more than this fraction of the dimension's scale.
        min_idle_s: an idle head/tail shorter than this is natural and not reported.
        spike_k: a one-frame spike departs from the mean of its two neighbours by more than
            this many robust σ of that dimension's departures...
        spike_rel: ...and by more than this fraction of the dimension's scale, while the
            neighbours agree with each other to within half the departure.
        spike_steps: ...and by more than this many steps of the dimension's resolution (the
            smallest change its readings make, a coarse encoder's step): readings that flip a
            step or two and back are the sensor's sub-step noise, not a spike.
        spike_warn_rel / spike_feature_rel: a spike is a warning when it is at least this
            fraction of its dimension's scale, or of its feature's typical scale (the median
            over the feature's live dimensions); smaller ones (a blip on a joint that barely
            moves) are reported as `info`.
        max_spikes: spikes reported per episode and dimension (the rest are counted).
        duplicate_min_s: the shortest overlap (seconds) compared for near-duplicates.
        duplicate_noise_k / duplicate_rel / duplicate_feature_rel: two episodes are
            near-duplicates when every dimension differs by at most max(k · noise, rel · scale,
            feature_rel · its feature's typical scale) over their common frames. The last term
            is the floor of sensor noise the white-noise estimate cannot see (low-pass filtered
            noise, a drift or bias, a coarse encoder's steps): a copy exported with its own such
            noise still matches, while two demonstrations of one task differ by far more.
        length_k: a length outlier's |log length − median| exceeds this many robust σ...
        length_min_log_sigma: ...with that σ at least this (0.25 ≈ a factor 1.28).
        jitter_s: frame intervals off 1/fps by more than this are jitter (the loader's 1e-4 s).
        camera_black_level: a decoded frame darker than this mean (0–255) is black.
        camera_frozen_s: at least this long unchanged is a frozen camera (shorter: repeated).
        camera_repeat_ratio: a frame is unchanged when it differs from the one before by at
            most this fraction of the episode's median frame-to-frame change.
    """

    motion_features: tuple[str, ...] | None = None
    motion_noise_k: float = 6.0
    motion_rel: float = 0.005
    min_idle_s: float = 0.5
    spike_k: float = 12.0
    spike_rel: float = 0.02
    spike_steps: float = 2.5
    spike_warn_rel: float = 0.05
    spike_feature_rel: float = 0.02
    max_spikes: int = 5
    duplicate_min_s: float = 1.0
    duplicate_noise_k: float = 8.0
    duplicate_rel: float = 0.002
    duplicate_feature_rel: float = 0.01
    length_k: float = 4.0
    length_min_log_sigma: float = 0.25
    jitter_s: float = 1e-4
    camera_black_level: float = 8.0
    camera_frozen_s: float = 1.0
    camera_repeat_ratio: float = 0.25


def parse_overrides(pairs: list[str], base: Thresholds | None = None) -> Thresholds:
    """`Thresholds` with `name=value` overrides (the CLI's `--set min_idle_s=1.0`).

    Raises:
        ValueError: an unknown name or a value that is not a number.
    """
    import dataclasses

    values: dict[str, object] = {}
    known = {f.name: f for f in dataclasses.fields(Thresholds)}
    for pair in pairs:
        name, _, text = pair.partition("=")
        name = name.strip()
        if name not in known or not text:
            raise ValueError(
                f"unknown threshold {pair!r}: give NAME=VALUE with NAME one of {sorted(known)}"
            )
        if name == "motion_features":
            values[name] = tuple(part.strip() for part in text.split(",") if part.strip())
            continue
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"threshold {name}: {text!r} is not a number") from None
        values[name] = int(number) if name == "max_spikes" else number
    return dataclasses.replace(base or Thresholds(), **values)


@dataclass(frozen=True, slots=True, kw_only=True)
class DimensionProfile:
    """Per flat motion dimension: scale, noise floor, departure σ, whether it is dead."""

    scale: np.ndarray
    noise: np.ndarray
    departure_sigma: np.ndarray
    dead: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    feature_scale: np.ndarray | None = None  # per dimension: its feature's typical scale
    resolution: np.ndarray | None = None  # per dimension: the smallest change of its readings

    def with_feature_scales(self, features: list[str]) -> DimensionProfile:
        """The profile with each dimension's feature scale: the median scale of the live
        dimensions of the same feature (`features[i]` is dimension i's feature)."""
        names = np.asarray(features)
        typical = np.zeros(len(names))
        for name in set(features):
            mine = names == name
            live = mine & ~self.dead
            typical[mine] = float(np.median(self.scale[live])) if live.any() else 0.0
        return dataclasses.replace(self, feature_scale=typical)

    def spike_is_warning(self, size: float, dimension: int, thresholds: Thresholds) -> bool:
        """A spike a person would act on: large against its dimension or its feature."""
        if size >= thresholds.spike_warn_rel * self.scale[dimension]:
            return True
        typical = self.feature_scale[dimension] if self.feature_scale is not None else 0.0
        return bool(typical > 0 and size >= thresholds.spike_feature_rel * typical)

    def motion_threshold(self, thresholds: Thresholds) -> np.ndarray:
        """How far from rest a dimension must be to count as moving (inf for dead ones)."""
        value = np.maximum(
            thresholds.motion_noise_k * self.noise, thresholds.motion_rel * self.scale
        )
        return np.where(self.dead, np.inf, np.maximum(value, 1e-12))

    def spike_threshold(self, thresholds: Thresholds) -> np.ndarray:
        """The departure from the neighbours' mean that makes a one-frame spike."""
        value = np.maximum(
            thresholds.spike_k * self.departure_sigma, thresholds.spike_rel * self.scale
        )
        if self.resolution is not None:
            value = np.maximum(value, thresholds.spike_steps * self.resolution)
        return np.where(self.dead, np.inf, np.maximum(value, 1e-12))

    def duplicate_tolerance(self, thresholds: Thresholds) -> np.ndarray:
        """The largest difference two near-duplicate episodes may have, per dimension."""
        value = np.maximum(
            thresholds.duplicate_noise_k * self.noise, thresholds.duplicate_rel * self.scale
        )
        if self.feature_scale is not None:
            value = np.maximum(value, thresholds.duplicate_feature_rel * self.feature_scale)
        return np.maximum(value, 1e-12)


class ProfileBuilder:
    """Collects per-episode summaries (pass 1) and turns them into a `DimensionProfile`."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.ranges: list[np.ndarray] = []
        self.second: list[np.ndarray] = []
        self.steps: list[np.ndarray] = []
        self.minimum = np.full(width, np.inf)
        self.maximum = np.full(width, -np.inf)

    def observe(self, values: np.ndarray) -> None:
        """Add one episode's (frames, width) values; episodes with NaN/Inf are skipped."""
        if len(values) == 0 or not np.isfinite(values).all():
            return
        self.minimum = np.minimum(self.minimum, values.min(axis=0))
        self.maximum = np.maximum(self.maximum, values.max(axis=0))
        if len(values) < 3:
            return
        low, high = np.percentile(values, [2, 98], axis=0)
        self.ranges.append(high - low)
        second = values[2:] - 2 * values[1:-1] + values[:-2]
        self.second.append(np.median(np.abs(second), axis=0))
        change = np.abs(np.diff(values, axis=0))
        self.steps.append(np.where(change > 0, change, np.inf).min(axis=0))

    def finish(self) -> DimensionProfile:
        """The profile over every observed episode."""
        if not self.ranges:
            zeros = np.zeros(self.width)
            return DimensionProfile(
                scale=zeros,
                noise=zeros,
                departure_sigma=zeros,
                dead=np.ones(self.width, bool),
                minimum=zeros,
                maximum=zeros,
            )
        ranges = np.stack(self.ranges)
        second = np.median(np.stack(self.second), axis=0)
        spread = self.maximum - self.minimum
        scale = np.percentile(ranges, 95, axis=0)
        scale = np.where(scale > 0, scale, spread)  # moves in only a few episodes
        dead = spread <= 1e-9 * np.maximum(1.0, np.abs(self.maximum))
        steps = np.median(np.stack(self.steps), axis=0)  # one odd episode does not set it
        return DimensionProfile(
            resolution=np.where(np.isfinite(steps), steps, 0.0),
            scale=scale,
            noise=MAD_TO_SIGMA * second / math.sqrt(6.0),
            departure_sigma=MAD_TO_SIGMA * second / 2.0,
            dead=dead,
            minimum=self.minimum,
            maximum=self.maximum,
        )
