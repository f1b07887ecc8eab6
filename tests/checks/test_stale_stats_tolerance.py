"""Float32 stats written by a clean writer are not stale: long, near-constant dimensions stay quiet."""

from __future__ import annotations

from pathlib import Path

import pytest

import robosplice.checks.stale_stats as stale_stats
from robosplice.checks import run_checks
from robosplice.testing.synthetic import realistic_episodes, write_numeric_dataset


@pytest.fixture(scope="module")
def long_gripper_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Seed 9 makes a 26-joint recording whose gripper dimension has float32 stds 1.2e-5 off the
    # float64 truth: the tolerance of 1e-5 called this clean data stale (found by doctor's corpus).
    root = tmp_path_factory.mktemp("gripper") / "ds"
    episodes = realistic_episodes(
        episodes=3, dims=26, fps=50, seed=9, min_length=150, max_length=600
    )
    write_numeric_dataset(root, episodes, fps=50)
    return root


def test_float32_stats_of_clean_data_are_not_stale(long_gripper_dataset: Path) -> None:
    assert [f for f in run_checks(long_gripper_dataset) if "stale" in f.check] == []


def test_the_same_data_is_flagged_under_the_old_tolerance(
    long_gripper_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stale_stats, "VARIANCE_TOLERANCE", 1e-5)
    stale = [f for f in run_checks(long_gripper_dataset) if f.check == "stale_stats"]
    assert stale, "the regression case no longer exercises the variance tolerance"
    assert all(f.feature == "action" or "std" in f.message for f in stale)
