"""`convert --to v3.0` outputs under lerobot 0.6.1, and the official v2.1 → v3.0 converter beside it.

- Every v2.1/v2.0 source (written by tests/v21_fixtures.py: AV1 g=2, H.264 with B-frames, HEVC,
  image-only, v2.0, 300 × 4-frame episodes) converts, and 0.6.1 loads the output with both
  backends, frame for frame: every camera frame equals a PyAV decode of the source's per-episode
  mp4 (bit for bit), and every data value equals the source's per-episode parquet.
- The official converter on the same source gives the same items where it works (AV1), and fails
  to load on the 300 × 4-frame case (FrameTimestampError, conversion.md §2.3) where ours loads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from harness import (
    BACKENDS,
    LerobotLoadError,
    assert_same_items,
    fixtures_dir,
    frame_identities,
    load_with_lerobot,
)

import robosplice as rs
from v21_fixtures import synthetic_v21, v21_from_v3

OFFICIAL = Path(__file__).resolve().with_name("official_convert_v21.py")
SPECS = {
    "av1": ("v3_av1_single", {"codec": "av1"}),
    "h264": ("v3_h264_bframes", {"codec": "h264"}),
    "hevc": ("v3_av1_single", {"codec": "hevc"}),
    "image": ("v3_image", {"codec": None}),
    "v20": ("v3_h264_bframes", {"codec": "h264", "version": "v2.0"}),
    # What the official converter can read: no 2-D feature (its pandas concat crashes on the
    # (2, 3) `observation.pose`: 'PandasArrayExtensionDtype' object has no attribute 'v').
    "av1-flat": ("v3_av1_single", {"codec": "av1", "drop": ("observation.pose",)}),
    "h264-flat": ("v3_h264_bframes", {"codec": "h264", "drop": ("observation.pose",)}),
}


@pytest.fixture(scope="session")
def v21_source(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            root = tmp_path_factory.mktemp("v21src") / name
            if name == "short300":
                built[name] = synthetic_v21(root, episodes=300, length=4, codec="h264")
            else:
                fixture, options = SPECS[name]
                built[name] = v21_from_v3(fixtures_dir() / fixture, root, **options)
        return built[name]

    return get


def expected_items(v21: Path) -> dict[str, np.ndarray]:
    """What a loader must return for a v2.x folder, read straight from its files with PyAV/pyarrow."""
    info = json.loads((v21 / "meta/info.json").read_text())
    features = info["features"]
    tables = []
    frames: dict[str, list[np.ndarray]] = {}
    episodes = [json.loads(line) for line in (v21 / "meta/episodes.jsonl").read_text().splitlines()]
    for line in episodes:
        number = line["episode_index"]
        chunk = number // info["chunks_size"]
        tables.append(pq.read_table(v21 / f"data/chunk-{chunk:03d}/episode_{number:06d}.parquet"))
        for key, feature in features.items():
            if feature["dtype"] != "video":
                continue
            path = v21 / f"videos/chunk-{chunk:03d}/{key}/episode_{number:06d}.mp4"
            with av.open(str(path)) as container:
                decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            frames.setdefault(key, []).extend(decoded[: line["length"]])
    data = pa.concat_tables(tables)
    items: dict[str, np.ndarray] = {}
    for name in data.column_names:
        column = data.column(name).combine_chunks()
        if features[name]["dtype"] == "image":
            continue
        if isinstance(column, pa.ExtensionArray):
            column = column.storage
        while pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type):
            column = column.flatten()
        values = column.to_numpy(zero_copy_only=False)
        items[name] = values.reshape(data.num_rows, *features[name]["shape"])
    for key, stacked in frames.items():
        items[key] = np.stack(stacked).transpose(0, 3, 1, 2)
    return items


def assert_matches_source(items: dict[str, np.ndarray], v21: Path) -> None:
    want = expected_items(v21)
    assert int(items["meta/len"]) == len(want["index"])
    for key, values in want.items():
        got = items[key]
        np.testing.assert_array_equal(got.reshape(values.shape), values, err_msg=key)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["av1", "h264", "hevc", "image", "v20", "short300"])
def test_v30_output_loads_frame_for_frame(
    name: str, backend: str, v21_source, lerobot_python: Path, tmp_path: Path
) -> None:
    src = v21_source(name)
    rs.convert(src, tmp_path / "v30", to="v3.0")
    items = load_with_lerobot(tmp_path / "v30", backend, python=lerobot_python)
    assert str(items["meta/lerobot_version"]) == "0.6.1"
    assert_matches_source(items, src)
    if name != "short300":  # the synthetic frames carry no identity blocks
        cams = [str(k) for k in items["meta/camera_keys"]]
        ids = np.stack([items["episode_index"], items["frame_index"]], axis=1)
        for cam in cams:
            np.testing.assert_array_equal(frame_identities(items[cam]), ids)


def _official(python: Path, v21: Path, tmp_path: Path) -> Path:
    root = tmp_path / "official"
    shutil.copytree(v21, root)
    proc = subprocess.run(
        [str(python), str(OFFICIAL), str(root)], capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return root


@pytest.mark.parametrize("name", ["av1-flat", "h264-flat"])
def test_same_items_as_the_official_converter(
    name: str, v21_source, lerobot_python: Path, tmp_path: Path
) -> None:
    src = v21_source(name)
    ours = rs.convert(src, tmp_path / "ours", to="v3.0").root
    official = _official(lerobot_python, src, tmp_path)
    for backend in BACKENDS:
        a = load_with_lerobot(ours, backend, python=lerobot_python)
        b = load_with_lerobot(official, backend, python=lerobot_python)
        assert_same_items(a, b, np.arange(int(b["meta/len"])))
    # What the official tool drops and we carry (conversion.md §2.2).
    assert (ours / "meta/modality.json").is_file()
    assert not (official / "meta/modality.json").exists()


def test_official_converter_drifts_where_ours_does_not(
    v21_source, lerobot_python: Path, tmp_path: Path
) -> None:
    """300 × 4-frame episodes in one file: the official output fails to load, ours is exact."""
    src = v21_source("short300")
    official = _official(lerobot_python, src, tmp_path)
    with pytest.raises(LerobotLoadError, match=r"FrameTimestampError|tolerance"):
        load_with_lerobot(official, "pyav", python=lerobot_python)
    ours = rs.convert(src, tmp_path / "ours", to="v3.0").root
    assert_matches_source(load_with_lerobot(ours, "pyav", python=lerobot_python), src)
