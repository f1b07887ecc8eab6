"""`convert --to v2.1` outputs under lerobot 0.3.3, item for item, and the round trips.

- The recorder's v3.0 fixtures (AV1 multi-file with per-camera windows, H.264 with B-frames,
  image) convert to v2.1, and 0.3.3 returns, with both backends, the same items 0.6.1 returns on
  the v3.0 source: every value and every frame bit for bit.
- The v2.1 sources the tests write (tests/v21_fixtures.py) load in 0.3.3 as their files say, so
  the default suite's v2.1 inputs are real v2.1.
- Round trips: v3.0 → v2.1 → v3.0 loads in 0.6.1 with the source's items; v2.1 → v3.0 → v2.1
  loads in 0.3.3 with the source's items.
- A dataset recorded by 0.3.3 itself (video and image) converts both ways, and the official
  converter's output of it gives 0.6.1 the same items as ours.

Each loader run costs tens of seconds here (torch import), so backends are doubled only where
video is decoded.
"""

from __future__ import annotations

import shutil
import subprocess
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


# Image datasets do not touch the video backend: one load is enough for them.
CASES = [
    ("v3_av1_multifile", "pyav"),
    ("v3_av1_multifile", "torchcodec"),
    ("v3_h264_bframes", "pyav"),
    ("v3_h264_bframes", "torchcodec"),
    ("v3_image", "pyav"),
]


@pytest.fixture(scope="session")
def v3_source(tmp_path_factory: pytest.TempPathFactory):
    """name → a session copy of a recorder v3.0 fixture (its 0.6.1 dumps are cached)."""
    copies: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in copies:
            copies[name] = copy_tree_writable(
                fixtures_dir() / name, tmp_path_factory.mktemp("v3") / name
            )
        return copies[name]

    return get


@pytest.mark.parametrize(("fixture", "backend"), CASES)
def test_v21_output_gives_the_v30_items(
    fixture: str,
    backend: str,
    v3_source,
    lerobot_python: Path,
    lerobot_v21_python: Path,
    tmp_path: Path,
) -> None:
    src = v3_source(fixture)
    rs.convert(src, tmp_path / "v21", to="v2.1")
    got = load_with_lerobot(tmp_path / "v21", backend, python=lerobot_v21_python)
    assert str(got["meta/lerobot_version"]) == "0.3.3"
    _same(got, load_with_lerobot(src, backend, python=lerobot_python))


def test_round_trip_v30_v21_v30_in_lerobot061(
    v3_source, lerobot_python: Path, tmp_path: Path
) -> None:
    """v3.0 → v2.1 → v3.0: 0.6.1 sees the source's items again."""
    src = v3_source("v3_h264_bframes")
    rs.convert(src, tmp_path / "v21", to="v2.1")
    rs.convert(tmp_path / "v21", tmp_path / "v30", to="v3.0")
    want = load_with_lerobot(src, "pyav", python=lerobot_python)
    _same(load_with_lerobot(tmp_path / "v30", "pyav", python=lerobot_python), want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_trip_v21_v30_v21_in_lerobot033(
    backend: str, lerobot_v21_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """v2.1 (H.264 with B-frames) → v3.0 → v2.1: 0.3.3 sees the source's items again."""
    base = tmp_path_factory.mktemp("rt")
    src = v21_from_v3(fixtures_dir() / "v3_h264_bframes", base / "v21", codec="h264")
    rs.convert(src, base / "v30", to="v3.0")
    rs.convert(base / "v30", base / "back", to="v2.1")
    want = load_with_lerobot(src, backend, python=lerobot_v21_python)
    got = load_with_lerobot(base / "back", backend, python=lerobot_v21_python)
    assert int(want["meta/num_episodes"]) > 1
    assert_same_items(got, want, np.arange(int(want["meta/len"])))


RECORDER = Path(__file__).resolve().with_name("record_v21_033.py")
OFFICIAL = Path(__file__).resolve().parents[1] / "interop" / "official_convert_v21.py"


@pytest.fixture(scope="session")
def recorded(lerobot_v21_python: Path, tmp_path_factory: pytest.TempPathFactory):
    """mode → a v2.1 dataset written by lerobot 0.3.3's own recorder (do not write into it)."""
    built: dict[str, Path] = {}

    def get(mode: str) -> Path:
        if mode not in built:
            root = tmp_path_factory.mktemp("recorded") / mode
            proc = subprocess.run(
                [str(lerobot_v21_python), str(RECORDER), str(root), mode],
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            assert proc.returncode == 0, proc.stderr[-4000:]
            built[mode] = root
        return built[mode]

    return get


@pytest.mark.parametrize("mode", ["video", "image"])
def test_recorder_v21_converts_loads_and_comes_back(
    mode: str,
    recorded,
    source_guard,
    lerobot_python: Path,
    lerobot_v21_python: Path,
    tmp_path: Path,
) -> None:
    """A dataset 0.3.3 recorded: v3.0 output gives 0.6.1 the items 0.3.3 gives on the source;
    converting back gives 0.3.3 the same items again and byte-identical JSONL metadata."""
    src = source_guard(recorded(mode))
    rs.convert(src, tmp_path / "v30", to="v3.0")
    assert rs.validate(tmp_path / "v30") == []
    rs.convert(tmp_path / "v30", tmp_path / "back", to="v2.1")
    for relative in ("meta/tasks.jsonl", "meta/episodes.jsonl", "meta/episodes_stats.jsonl"):
        assert (tmp_path / "back" / relative).read_bytes() == (src / relative).read_bytes()
    for backend in BACKENDS if mode == "video" else ("pyav",):
        want = load_with_lerobot(src, backend, python=lerobot_v21_python)
        assert int(want["meta/num_episodes"]) == 4
        _same(load_with_lerobot(tmp_path / "v30", backend, python=lerobot_python), want)
        if backend == "pyav":
            back = load_with_lerobot(tmp_path / "back", backend, python=lerobot_v21_python)
            assert_same_items(back, want, np.arange(int(want["meta/len"])))


def test_recorder_v21_same_items_as_the_official_converter(
    recorded, lerobot_python: Path, tmp_path: Path
) -> None:
    src = recorded("video")
    ours = rs.convert(src, tmp_path / "ours", to="v3.0").root
    official = tmp_path / "official"
    shutil.copytree(src, official)
    proc = subprocess.run(
        [str(lerobot_python), str(OFFICIAL), str(official)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert_same_items(
        load_with_lerobot(ours, "pyav", python=lerobot_python),
        load_with_lerobot(official, "pyav", python=lerobot_python),
        np.arange(sum((12, 7, 15, 9))),
    )
