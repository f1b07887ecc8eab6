"""Recording-like motion for doctor's calibration tests: how a teleoperated arm moves and how its
sensors read it, not sines.

Minimum-jerk reaches between waypoints with pauses between them, 26 joints of different ranges
(one wrist joint that barely moves over the whole dataset, 0.018 rad; a gripper), and the sensor
models real recordings carry on the state: white encoder-like noise, low-pass (correlated) noise,
a slow drift with a bias, and a coarse 12-bit encoder. `task_demonstrations` gives distinct
demonstrations of one task: the same sequence of reaches, each with its own waypoints (an object a
few centimetres elsewhere) and its own pace.
"""

from __future__ import annotations

from collections.abc import Callable
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
NOISE = 3.2e-5  # rad, σ of the state's white sensor noise
ENCODER_STEP = 2 * np.pi / 4096  # a 12-bit absolute encoder (hobby servos, low-cost arms)

Sensor = Callable[[np.random.Generator, np.ndarray], np.ndarray]


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


def task_demonstrations(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """`count` demonstrations of one task: one home pose and one sequence of 5 reaches; each
    demonstration moves its waypoints by ~4 % of each joint's range and its pace by ±20 %."""
    low = -RANGES / 2
    home = rng.uniform(low, -low) * 0.5
    waypoints = [home]
    for _ in range(5):
        waypoints.append(np.clip(waypoints[-1] + rng.normal(0, 0.35, JOINTS) * RANGES, low, -low))
    durations = rng.integers(24, 46, 5)
    pauses = rng.integers(3, 9, 5)
    demonstrations = []
    for _ in range(count):
        pose = home + rng.normal(0, 0.005, JOINTS) * RANGES
        parts = [np.tile(pose, (int(rng.integers(6, 12)), 1))]
        for k in range(5):
            target = np.clip(waypoints[k + 1] + rng.normal(0, 0.04, JOINTS) * RANGES, low, -low)
            frames = max(8, round(durations[k] * rng.uniform(0.8, 1.2)))
            parts.append(_minimum_jerk(pose, target, frames))
            parts.append(np.tile(target, (max(1, round(pauses[k] * rng.uniform(0.7, 1.3))), 1)))
            pose = target
        demonstrations.append(np.concatenate(parts))
    return demonstrations


def white_sensor(rng: np.random.Generator, clean: np.ndarray) -> np.ndarray:
    """Encoder-like white noise at a fine resolution (1e-5 rad)."""
    return np.round((clean + rng.normal(0, NOISE, clean.shape)) / 1e-5) * 1e-5


def lowpass_sensor(rng: np.random.Generator, clean: np.ndarray) -> np.ndarray:
    """Noise through the drive's low-pass filter: AR(1) at 0.95 a frame (≈ 0.5 Hz corner at
    30 fps), σ 10× the white noise's; its second differences are far below its amplitude."""
    white = rng.normal(0, 10 * NOISE * np.sqrt(1 - 0.95**2), clean.shape)
    noise = np.zeros_like(clean)
    noise[0] = rng.normal(0, 10 * NOISE, clean.shape[1])
    for t in range(1, len(clean)):
        noise[t] = 0.95 * noise[t - 1] + white[t]
    return white_sensor(rng, clean + noise)


def drifting_sensor(rng: np.random.Generator, clean: np.ndarray) -> np.ndarray:
    """A calibration bias (σ 3e-4 rad) and a thermal drift (up to ~1e-3 rad by the end of the
    episode, approaching its level exponentially) on top of white noise."""
    bias = rng.normal(0, 3e-4, clean.shape[1])
    level = rng.normal(0, 6e-4, clean.shape[1])
    t = np.arange(len(clean))[:, None] / len(clean)
    return white_sensor(rng, clean + bias + level * (1 - np.exp(-3 * t)))


def coarse_encoder(rng: np.random.Generator, clean: np.ndarray) -> np.ndarray:
    """A 12-bit encoder (0.0015 rad a step) with sub-step noise: readings flip between steps."""
    return np.round((clean + rng.normal(0, 0.3 * ENCODER_STEP, clean.shape)) / ENCODER_STEP) * (
        ENCODER_STEP
    )


SENSORS: dict[str, Sensor] = {
    "white": white_sensor,
    "lowpass": lowpass_sensor,
    "drift_bias": drifting_sensor,
    "coarse_encoder": coarse_encoder,
}


def recording(
    rng: np.random.Generator, clean: np.ndarray, sensor: Sensor = white_sensor
) -> dict[str, np.ndarray]:
    """State = motion read by `sensor`; action = the command one frame ahead, no noise."""
    state = sensor(rng, clean)
    action = np.concatenate([clean[1:], clean[-1:]])
    return {"observation.state": state.astype(np.float32), "action": action.astype(np.float32)}


def make_episodes(
    seed: int = 3, count: int = 14, sensor: Sensor = white_sensor
) -> tuple[list[dict], list[np.ndarray]]:
    """`count` recordings of random reaching motion (240–420 frames) and their clean motions."""
    rng = np.random.default_rng(seed)
    cleans = [reaching_motion(rng, int(rng.integers(240, 420))) for _ in range(count)]
    return [recording(rng, c, sensor) for c in cleans], cleans


def findings_of(root: Path, episodes: list[dict]) -> list[dict]:
    """doctor's findings (JSON) on a v3.0 dataset written from `episodes`."""
    names = {k: [f"joint_{d}" for d in range(JOINTS)] for k in ("observation.state", "action")}
    write_numeric_dataset(root, episodes, fps=FPS, names=names)
    return doctor(root).to_json()["findings"]
