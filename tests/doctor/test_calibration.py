"""doctor calibrated on recording-like motion: a warning means something a person would act on.

The signals are built the way a teleoperated arm moves, not as sines: minimum-jerk reaches between
random waypoints with pauses between them, 26 joints of different ranges (one wrist joint that
barely moves over the whole dataset, 0.018 rad), encoder-like sensor noise on the state. On such a
recording a 0.0007 rad blip (about 16 σ of its departures) on the quiet wrist joint (4 % of its
range) is no reason to cut anything: it is `info`, while a real spike is a warning; and a
demonstration exported twice, each copy with its own sensor noise, is a duplicate. The builders are
in `motion_signals.py`; duplicates under non-white sensor noise are `test_duplicates_noise.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from motion_signals import (
    ENCODER_STEP,
    WRIST,
    coarse_encoder,
    findings_of,
    make_episodes,
    recording,
)


def test_a_blip_on_a_joint_that_barely_moves_is_info_and_a_real_spike_a_warning(
    tmp_path: Path,
) -> None:
    episodes, _ = make_episodes()
    episodes[4]["observation.state"][100, WRIST] += 0.0007  # ~16 departure σ, 4 % of 0.018
    episodes[9]["observation.state"][150, 3] += 0.05  # 6 % of the joint's range
    spikes = [f for f in findings_of(tmp_path / "d", episodes) if f["check"] == "spike"]
    by_place = {(f["episode"], f["dimension"]): f for f in spikes}
    assert by_place[(9, 3)]["severity"] == "warning"
    assert by_place[(9, 3)]["frames"] == [150, 151]
    blip = by_place.get((4, WRIST))
    assert blip is not None, "the blip is above the noise: it is reported"
    assert blip["severity"] == "info"
    warnings = [f for f in spikes if f["severity"] == "warning"]
    assert [(f["episode"], f["dimension"]) for f in warnings] == [(9, 3)]


def test_clean_recording_like_motion_gives_no_warning(tmp_path: Path) -> None:
    episodes, _ = make_episodes(seed=5)
    found = findings_of(tmp_path / "d", episodes)
    assert [f for f in found if f["severity"] != "info"] == []


def test_a_coarse_encoder_flipping_between_steps_is_no_spike_and_a_real_one_is(
    tmp_path: Path,
) -> None:
    """A 12-bit encoder with sub-step noise: the quiet wrist's readings flip a step and back all
    the time (one step is 8 % of its range). That is the sensor; a 6-step jump there, or a
    30-step one (5 % of its range) on a wide joint, is a spike."""
    episodes, _ = make_episodes(seed=5, sensor=coarse_encoder)
    episodes[6]["observation.state"][120, WRIST] += 6 * ENCODER_STEP
    episodes[9]["observation.state"][80, 2] += 30 * ENCODER_STEP
    spikes = [f for f in findings_of(tmp_path / "d", episodes) if f["check"] == "spike"]
    found = sorted((f["episode"], f["dimension"], f["frames"], f["severity"]) for f in spikes)
    assert found == [(6, WRIST, [120, 121], "warning"), (9, 2, [80, 81], "warning")]


def test_a_demonstration_exported_twice_with_fresh_sensor_noise_is_a_duplicate(
    tmp_path: Path,
) -> None:
    episodes, cleans = make_episodes(seed=7)
    rng = np.random.default_rng(99)
    episodes[11] = recording(rng, cleans[5])  # same motion, its own noise
    duplicates = [
        f for f in findings_of(tmp_path / "d", episodes) if f["check"] == "duplicate_episode"
    ]
    assert [(f["episode"], f["other_episode"]) for f in duplicates] == [(11, 5)]
