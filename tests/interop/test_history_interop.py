"""The edit log (meta/robosplice/) is invisible to the official loader.

Why here: a test marked `interop` only runs where `make interop` collects (tests/interop); it used to
live in tests/safety, where no run executed it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from harness import load_with_lerobot

from robosplice.dataset import Dataset
from robosplice.history import read_history
from robosplice.ops.delete import delete_episodes
from robosplice.ops.trim import trim_episodes

pytestmark = pytest.mark.interop


def test_the_official_loader_ignores_the_log(
    fixture_dataset, lerobot_python: Path, tmp_path: Path
) -> None:
    """A dataset with an edit log loads exactly like the same dataset without it."""
    output = delete_episodes(fixture_dataset("v3_av1_single"), [1], tmp_path / "with-log")
    output = trim_episodes(output, {0: (2, 30)}, tmp_path / "with-longer-log")
    assert len(read_history(output.root)) == 2
    bare = shutil.copytree(output.root, tmp_path / "without-log")
    shutil.rmtree(bare / "meta" / "robosplice")
    with_log = load_with_lerobot(output.root, "pyav", python=lerobot_python, cache=False)
    without = load_with_lerobot(bare, "pyav", python=lerobot_python, cache=False)
    assert sorted(with_log) == sorted(without)
    for key in with_log:
        np.testing.assert_array_equal(with_log[key], without[key], err_msg=key)
    assert len(with_log["index"]) == Dataset(output.root).num_frames
