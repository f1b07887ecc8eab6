"""DoctorReport without a dataset: the recipe it proposes, exit codes, JSON, threshold overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from robosplice.checks.finding import Finding
from robosplice.checks.quality import KINDS, TITLES
from robosplice.checks.quality.fixes import delete_fix, trim_fix
from robosplice.checks.quality.thresholds import Thresholds, parse_overrides
from robosplice.ops.doctor import DoctorReport


def report(*findings: Finding) -> DoctorReport:
    return DoctorReport(
        dataset="d", root=Path("/nonexistent"), episodes=9, frames=900, fps=30.0, findings=findings
    )


def test_fixes_merge_into_one_delete_per_reason_and_one_trim():
    steps = report(
        Finding(check="idle_head", severity="warning", message="", episode=3, fix=trim_fix(3, 40, 200)),
        Finding(check="idle_tail", severity="warning", message="", episode=3, fix=trim_fix(3, 0, 180)),
        Finding(check="idle_head", severity="warning", message="", episode=5, fix=trim_fix(5, 20, 90)),
        Finding(check="non_finite", severity="error", message="", episode=5, fix=delete_fix(5)),
        Finding(check="non_finite", severity="error", message="", episode=5, dimension=2, fix=delete_fix(5)),
        Finding(check="duplicate_episode", severity="warning", message="", episode=5, fix=delete_fix(5)),
        Finding(check="duplicate_episode", severity="warning", message="", episode=8, fix=delete_fix(8)),
        Finding(check="spike", severity="warning", message="", episode=4),
    ).recipe_steps()  # fmt: skip
    assert [s.to_json() for s in steps] == [
        {"op": "delete_episodes", "args": {"episode_indices": [5]}, "reason": "NaN/Inf values"},
        {
            "op": "delete_episodes",
            "args": {"episode_indices": [8]},
            "reason": "near-duplicate of an earlier episode",
        },
        {
            "op": "trim_episodes",
            "args": {"ranges": {"3": [40, 180]}},
            "reason": "idle head and idle tail",
        },
    ]


def test_exit_code_and_json_shape():
    info = Finding(check="length_outlier", severity="info", message="m", episode=1)
    assert report().exit_code == 0
    assert report(info).exit_code == 0
    warning = Finding(check="spike", severity="warning", message="m", episode=1, frames=(4, 5))
    assert report(info, warning).exit_code == 1
    document = report(warning).to_json()
    assert document["findings"][0]["frames"] == [4, 5]
    assert document["findings"][0]["other_episode"] is None


def test_every_kind_has_a_title():
    assert set(TITLES) == {kind.name for kind in KINDS}


def test_threshold_overrides():
    assert parse_overrides(["min_idle_s=1.5", "max_spikes=2"]) == Thresholds(
        min_idle_s=1.5, max_spikes=2
    )
    assert parse_overrides(["motion_features=action"]).motion_features == ("action",)
    with pytest.raises(ValueError, match="unknown threshold"):
        parse_overrides(["nope=1"])
    with pytest.raises(ValueError, match="not a number"):
        parse_overrides(["spike_k=big"])
