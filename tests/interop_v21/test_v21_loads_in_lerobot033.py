"""`convert --to v2.1` outputs under lerobot 0.3.3, item for item, and the round trips.

- The recorder's v3.0 fixtures (AV1 multi-file with per-camera windows, H.264 with B-frames,
  image) convert to v2.1, and 0.3.3 returns, with both backends, the same items 0.6.1 returns on
  the v3.0 source: every value and every frame bit for bit.
- The v2.1 sources the tests write (tests/v21_fixtures.py) load in 0.3.3 as their files say, so
  the default suite's v2.1 inputs are real v2.1.
- Round trips: v3.0 → v2.1 → v3.0 loads in 0.6.1 with the source's items; v2.1 → v3.0 → v2.1
  loads in 0.3.3 with the source's items.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from harness import BACKENDS, assert_same_items, fixtures_dir, load_with_lerobot

import robosplice as rs
from fixture_data import copy_tree_writable
from v21_fixtures import v21_from_v3


def _same(items_a: dict, items_b: dict) -> None:
    """Items equal on every key both loaders return (0.6.1 may add keys 0.3.3 does not know)."""
    keys = {k for k in items_a if not k.startswith("meta/")} & {
        k for k in items_b if not k.startswith("meta/")
    }
    only = {k for k in items_b if not k.startswith("meta/")} - keys
    assert only <= {"task_index"} or not only, only
    a = {k: v for k, v in items_a.items() if k in keys or k.startswith("meta/")}
    b = {k: v for k, v in items_b.items() if k in keys or k.startswith("meta/")}
    assert_same_items(a, b, np.arange(int(b["meta/len"])))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fixture", ["v3_av1_multifile", "v3_h264_bframes", "v3_image"])
def test_v21_output_gives_the_v30_items(
    fixture: str, backend: str, lerobot_python: Path, lerobot_v21_python: Path, tmp_path: Path
) -> None:
    src = copy_tree_writable(fixtures_dir() / fixture, tmp_path / "src")
    rs.convert(src, tmp_path / "v21", to="v2.1")
    got = load_with_lerobot(tmp_path / "v21", backend, python=lerobot_v21_python)
    assert str(got["meta/lerobot_version"]) == "0.3.3"
    want = load_with_lerobot(src, backend, python=lerobot_python)
    _same(got, want)
    # ... and back to v3.0: 0.6.1 sees the source's items again.
    rs.convert(tmp_path / "v21", tmp_path / "v30", to="v3.0")
    _same(load_with_lerobot(tmp_path / "v30", backend, python=lerobot_python), want)


@pytest.mark.parametrize("codec", ["h264", "av1"])
def test_round_trip_v21_v30_v21_in_lerobot033(
    codec: str, lerobot_v21_python: Path, tmp_path: Path
) -> None:
    fixture = "v3_h264_bframes" if codec == "h264" else "v3_av1_single"
    src = v21_from_v3(fixtures_dir() / fixture, tmp_path / "v21", codec=codec)
    source_items = load_with_lerobot(src, "pyav", python=lerobot_v21_python)
    rs.convert(src, tmp_path / "v30", to="v3.0")
    rs.convert(tmp_path / "v30", tmp_path / "back", to="v2.1")
    for backend in BACKENDS:
        want = load_with_lerobot(src, backend, python=lerobot_v21_python)
        got = load_with_lerobot(tmp_path / "back", backend, python=lerobot_v21_python)
        assert_same_items(got, want, np.arange(int(want["meta/len"])))
    assert int(source_items["meta/num_episodes"]) > 1
