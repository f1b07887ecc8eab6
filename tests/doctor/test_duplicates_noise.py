"""Duplicates under sensor noise that is not white (issue 21), on recording-like motion.

A demonstration recorded or exported twice carries fresh sensor noise in its copy, and real sensor
noise is rarely white: a drive's low-pass filter correlates it, a calibration adds a bias and
warm-up a slow drift, a 12-bit encoder flips between steps. The white-noise floor doctor measures
(from second differences) does not see such noise, so every sensor model here must still find the
copy as `duplicate_episode`, while distinct demonstrations of the same task (one sequence of
reaches, each with its own waypoints and pace) must not match one another. The signals are built
in `motion_signals.py`; each dataset is recorded entirely with one sensor model, as a real one is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from motion_signals import SENSORS, findings_of, reaching_motion, recording, task_demonstrations


def _duplicates(findings: list[dict]) -> list[tuple[int, int]]:
    return [
        (f["episode"], f["other_episode"]) for f in findings if f["check"] == "duplicate_episode"
    ]


@pytest.mark.parametrize("sensor", list(SENSORS))
def test_a_demonstration_exported_twice_is_found_whatever_its_sensor_noise(
    sensor: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(11)
    cleans = task_demonstrations(rng, 14)
    episodes = [recording(rng, clean, SENSORS[sensor]) for clean in cleans]
    episodes.insert(9, recording(rng, cleans[5], SENSORS[sensor]))  # the copy, its own noise
    assert _duplicates(findings_of(tmp_path / "d", episodes)) == [(9, 5)]


@pytest.mark.parametrize("sensor", list(SENSORS))
def test_distinct_demonstrations_of_one_task_are_not_duplicates(
    sensor: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(12)
    episodes = [recording(rng, clean, SENSORS[sensor]) for clean in task_demonstrations(rng, 20)]
    assert _duplicates(findings_of(tmp_path / "d", episodes)) == []


@pytest.mark.parametrize("sensor", ["lowpass", "drift_bias", "coarse_encoder"])
def test_a_copy_cut_short_is_found_and_clean_random_motion_matches_nothing(
    sensor: str, tmp_path: Path
) -> None:
    """A prefix copy (an export stopped early) matches too; episodes of unrelated motion never."""
    rng = np.random.default_rng(13)
    cleans = [reaching_motion(rng, int(rng.integers(240, 420))) for _ in range(12)]
    episodes = [recording(rng, clean, SENSORS[sensor]) for clean in cleans]
    assert _duplicates(findings_of(tmp_path / "clean", episodes)) == []
    copy = recording(rng, cleans[3], SENSORS[sensor])
    episodes.append({name: values[:150] for name, values in copy.items()})
    assert _duplicates(findings_of(tmp_path / "copied", episodes)) == [(12, 3)]
