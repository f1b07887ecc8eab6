"""doctor calibrated on recording-like motion: a warning means something a person would act on.

The signals are built the way a teleoperated arm moves, not as sines: minimum-jerk reaches between
random waypoints with pauses between them, 26 joints of different ranges (one wrist joint that
barely moves over the whole dataset, 0.018 rad), encoder-like sensor noise on the state. On such a
recording a 0.0007 rad blip (about 16 σ of its departures) on the quiet wrist joint (4 % of its
range) is no reason to cut anything: it is `info`, while a real spike is a warning; and a
demonstration exported twice, each copy with its own sensor noise, is a duplicate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robosplice.ops.doctor import doctor
from robosplice.testing.synthetic import write_numeric_dataset

JOINTS = 26
WRIST = 17
FPS = 30
RANGES = np.full(JOINTS, 0.9)
RANGES[WRIST] = 0.018
RANGES[-1] = 1.0  # the gripper
NOISE = 3.2e-5  # rad, σ of the state's sensor noise


def _minimum_jerk(a: np.ndarray, b: np.ndarray, frames: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, frames)[:, None]
    return a + (b - a) * (10 * t**3 - 15 * t**4 + 6 * t**5)


def reaching_motion(rng: np.random.Generator, frames: int) -> np.ndarray:
    """Reaches between waypoints (0.6–1.5 s each) with short pauses, per-joint ranges."""
    low = -RANGES / 2
    pose = rng.uniform(low, -low)
    parts = [np.tile(pose, (int(rng.integers(5, 12)), 1))]
    while sum(len(p) for p in parts) < frames:
        target = np.clip(pose + rng.normal(0, 0.35, JOINTS) * RANGES, low, -low)
        parts.append(_minimum_jerk(pose, target, int(rng.integers(18, 46))))
        parts.append(np.tile(target, (int(rng.integers(2, 8)), 1)))
        pose = target
    return np.concatenate(parts)[:frames]


def recording(rng: np.random.Generator, clean: np.ndarray) -> dict[str, np.ndarray]:
    """State = motion + encoder-like noise; action = the command one frame ahead, no noise."""
    noise = rng.normal(0, NOISE, clean.shape)
    state = np.round((clean + noise) / 1e-5) * 1e-5  # encoder resolution
    action = np.concatenate([clean[1:], clean[-1:]])
    return {"observation.state": state.astype(np.float32), "action": action.astype(np.float32)}


def make_episodes(seed: int = 3, count: int = 14) -> tuple[list[dict], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    cleans = [reaching_motion(rng, int(rng.integers(240, 420))) for _ in range(count)]
    return [recording(rng, c) for c in cleans], cleans


def findings_of(root: Path, episodes: list[dict]) -> list[dict]:
    names = {k: [f"joint_{d}" for d in range(JOINTS)] for k in ("observation.state", "action")}
    write_numeric_dataset(root, episodes, fps=FPS, names=names)
    return doctor(root).to_json()["findings"]


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
