"""Video conversion against lerobot 0.6.1: the official loader opens every output, and the
official converter is the yardstick for image quality.

- robosplice's image→video output loads with both backends; data items equal the source's and
  decoded frames carry the right identity blocks.
- robosplice and the official `convert_image_to_video_dataset` convert the same recorder-made
  image dataset at the same settings, side by side: PSNR of the loaded frames against the source
  images (median and minimum) must be within about 1 dB of the official's, or better.
- Depth: datasets recorded by the official recorder with a depth camera (`info.is_depth_map`)
  survive delete / trim / split / merge bit for bit and load (depth decodes with pyav only);
  conversion and re-encode use the depth encoder settings, keep the 12-bit codes, and write the
  depth `info` exactly as the official recorder does.

The official tools run in the interop venv (lerobot_video_tools.py) on copies of the inputs.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from harness import (
    BACKENDS,
    INDEX_KEYS,
    assert_same_items,
    copy_dataset,
    fixtures_dir,
    frame_identities,
    load_with_lerobot,
)

from robosplice.dataset import Dataset
from robosplice.ops.convert import change_fps, convert_image_to_video_dataset, reencode_dataset
from robosplice.ops.delete import delete_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.split import split_dataset
from robosplice.ops.trim import trim_episodes
from robosplice.ops.validate import validate
from robosplice.testing import episode_packets

TOOLS = Path(__file__).resolve().with_name("lerobot_video_tools.py")
DEPTH_KEY = "observation.images.depth"
RGB_KEY = "observation.images.front"
CAMERAS = ("observation.images.front", "observation.images.wrist")
TIMEOUT_S = 900


def run_tools(python: Path, *args: str | Path) -> str:
    """Run lerobot_video_tools.py in the interop venv; return its stdout."""
    proc = subprocess.run(
        [str(python), str(TOOLS), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"lerobot_video_tools.py {args[0]} failed:\n{proc.stderr[-6000:]}")
    return proc.stdout


def psnr_per_frame(frames: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """PSNR in dB of each frame against its reference (uint8 images, any layout)."""
    error = ((frames.astype(np.float64) - reference.astype(np.float64)) ** 2).reshape(
        len(frames), -1
    )
    return 10 * np.log10(255.0**2 / np.maximum(error.mean(axis=1), 1e-12))


def identities(items: dict[str, np.ndarray]) -> np.ndarray:
    """(episode_index, frame_index) of every item, shape (N, 2)."""
    return np.stack([items["episode_index"].reshape(-1), items["frame_index"].reshape(-1)], axis=1)


def assert_identities(items: dict[str, np.ndarray], key: str) -> None:
    """Every loaded frame shows the (episode, frame) of its item."""
    np.testing.assert_array_equal(frame_identities(items[key]), identities(items))


# ----------------------------------------------------------------------------- image → video


@pytest.mark.parametrize("backend", BACKENDS)
def test_converted_dataset_loads(lerobot_python, tmp_path, backend):
    source = copy_dataset(fixtures_dir() / "v3_image", tmp_path / "src")
    output = convert_image_to_video_dataset(source, tmp_path / "out", num_workers=2)
    assert validate(output) == []
    out_items = load_with_lerobot(tmp_path / "out", backend)
    src_items = load_with_lerobot(source, backend)
    assert [str(k) for k in out_items["meta/video_keys"]] == list(CAMERAS)
    mapping = np.arange(int(src_items["meta/len"]))
    # Data, tasks and index columns are the source's; camera frames are checked below.
    assert_same_items(out_items, src_items, mapping, exclude=CAMERAS)
    for key in CAMERAS:
        assert_identities(out_items, key)
        values = psnr_per_frame(out_items[key], src_items[key])
        assert np.median(values) > 24


@pytest.mark.parametrize("backend", BACKENDS)
def test_reencoded_and_slowed_datasets_load(lerobot_python, tmp_path, backend):
    source = copy_dataset(fixtures_dir() / "v3_h264_bframes", tmp_path / "src")
    src_items = load_with_lerobot(source, backend)
    reencoded = reencode_dataset(
        source, {"vcodec": "libsvtav1", "crf": 26, "preset": 8}, output_dir=tmp_path / "av1"
    )
    out_items = load_with_lerobot(reencoded.root, backend)
    assert_same_items(out_items, src_items, np.arange(int(src_items["meta/len"])), exclude=CAMERAS)
    for key in CAMERAS:
        assert_identities(out_items, key)
        assert np.median(psnr_per_frame(out_items[key], src_items[key])) > 28

    slowed = change_fps(source, 15, output_dir=tmp_path / "fps15")
    assert validate(slowed) == []
    dataset = Dataset(source)
    kept = np.concatenate(
        [e.dataset_from_index + np.arange(0, e.length, 2) for e in dataset.episodes]
    )
    slow_items = load_with_lerobot(slowed.root, backend)
    assert_same_items(slow_items, src_items, kept, exclude=(*CAMERAS, *INDEX_KEYS))
    np.testing.assert_array_equal(
        slow_items["episode_index"].reshape(-1), src_items["episode_index"].reshape(-1)[kept]
    )
    np.testing.assert_allclose(
        slow_items["timestamp"].reshape(-1),
        slow_items["frame_index"].reshape(-1) / np.float32(15),
        rtol=1e-6,
    )
    for key in CAMERAS:
        np.testing.assert_array_equal(
            frame_identities(slow_items[key]), frame_identities(src_items[key][kept])
        )


@pytest.fixture(scope="session")
def recorded_images(lerobot_python, tmp_path_factory) -> Path:
    """An image dataset made by the official recorder (fixture recipe, no Array2D feature)."""
    root = tmp_path_factory.mktemp("recorded") / "images"
    run_tools(
        lerobot_python,
        "record-images",
        root,
        "--fixtures",
        fixtures_dir(),
        "--lengths",
        "40,55,32,61,47,38",
        "--size",
        "96x128",
    )
    return root


@pytest.mark.parametrize(
    "settings",
    [
        {"vcodec": "libsvtav1", "crf": 30, "g": 2},
        {"vcodec": "h264", "crf": 23, "g": 12},
    ],
    ids=["av1-crf30", "h264-crf23"],
)
def test_psnr_side_by_side_with_official(
    lerobot_python, recorded_images, tmp_path, settings, record_property
):
    official_input = copy_dataset(recorded_images, tmp_path / "official_src")
    official_out = tmp_path / "official"
    started = time.perf_counter()
    stdout = run_tools(
        lerobot_python,
        "convert",
        official_input,
        official_out,
        "--vcodec",
        settings["vcodec"],
        "--crf",
        str(settings["crf"]),
        "--g",
        str(settings["g"]),
    )
    official_s = float(stdout.strip().splitlines()[-1])
    official_wall_s = time.perf_counter() - started
    started = time.perf_counter()
    ours = convert_image_to_video_dataset(recorded_images, tmp_path / "robosplice", **settings)
    ours_s = time.perf_counter() - started
    assert validate(ours) == []

    source_items = load_with_lerobot(recorded_images, "pyav")
    results = {}
    for name, root in (("official", official_out), ("robosplice", tmp_path / "robosplice")):
        items = load_with_lerobot(root, "pyav")
        assert int(items["meta/len"]) == int(source_items["meta/len"])
        if name == "robosplice":
            assert_identities(items, RGB_KEY)
        values = psnr_per_frame(items[RGB_KEY], source_items[RGB_KEY])
        size = sum(p.stat().st_size for p in (root / "videos").rglob("*.mp4"))
        wrong = int((frame_identities(items[RGB_KEY]) != identities(items)).any(axis=1).sum())
        results[name] = (float(np.median(values)), float(values.min()), size, wrong)
    o_median, o_min, o_size, o_wrong = results["official"]
    r_median, r_min, r_size, _ = results["robosplice"]
    report = (
        f"{settings}: PSNR median/min official {o_median:.2f}/{o_min:.2f} dB, robosplice"
        f" {r_median:.2f}/{r_min:.2f} dB; video bytes {o_size} vs {r_size}; time official"
        f" {official_s:.2f}s (+{official_wall_s - official_s:.1f}s startup), robosplice"
        f" {ours_s:.2f}s; official frames showing another frame's identity: {o_wrong}"
    )
    print(report)
    record_property("comparison", report)
    assert r_median >= o_median - 1.0, report
    assert r_min >= o_min - 1.5, report


# ----------------------------------------------------------------------------------- depth


@pytest.fixture(scope="session")
def depth_datasets(lerobot_python, tmp_path_factory) -> dict[str, Path]:
    """A depth video dataset and the same frames as an image dataset, both from the recorder."""
    base = tmp_path_factory.mktemp("depth")
    run_tools(lerobot_python, "record-depth", base / "video", "--videos")
    run_tools(lerobot_python, "record-depth", base / "images", "--images")
    return {"video": base / "video", "images": base / "images"}


@pytest.fixture(scope="session")
def depth_dump(lerobot_python, tmp_path_factory) -> Callable[[Path], dict[str, np.ndarray]]:
    """root → the official loader's depth (mm, float32), RGB, episode and frame of every item."""
    base = tmp_path_factory.mktemp("depth-dumps")
    cache: dict[Path, dict[str, np.ndarray]] = {}

    def dump(root: Path) -> dict[str, np.ndarray]:
        if root not in cache:
            out = base / f"{len(cache)}.npz"
            run_tools(lerobot_python, "dump-depth", root, out)
            with np.load(out) as npz:
                cache[root] = {key: npz[key] for key in npz.files}
        return cache[root]

    return dump


def item_rows(dataset: Dataset, plan_episodes: list[tuple[int, int, int]]) -> np.ndarray:
    """Source item numbers of (source episode, start, stop) ranges, in order."""
    rows: list[int] = []
    for episode, start, stop in plan_episodes:
        first = dataset.episodes[episode].dataset_from_index
        rows.extend(range(first + start, first + stop))
    return np.asarray(rows)


def assert_depth_items(out: dict, src: dict, rows: np.ndarray) -> None:
    np.testing.assert_array_equal(out[DEPTH_KEY], src[DEPTH_KEY][rows])
    np.testing.assert_array_equal(out[RGB_KEY], src[RGB_KEY][rows])


def test_depth_survives_episode_edits(depth_datasets, depth_dump, tmp_path):
    source_root = copy_dataset(depth_datasets["video"], tmp_path / "src")
    source = Dataset(source_root)
    assert source.features[DEPTH_KEY]["info"]["is_depth_map"] is True
    source_items = depth_dump(source_root)
    assert [str(k) for k in source_items["meta/depth_keys"]] == [DEPTH_KEY]
    lengths = [e.length for e in source.episodes]

    deleted = delete_episodes(source, [1], tmp_path / "deleted")
    trimmed = trim_episodes(source, {0: (3, 10), 2: (1, 14)}, tmp_path / "trimmed")
    splits = split_dataset(source, {"a": [2, 0], "b": [1]}, tmp_path / "split")
    other = copy_dataset(depth_datasets["video"], tmp_path / "other")
    merged = merge_datasets([source, other], "interop/merged", tmp_path / "merged")
    cases = [
        (deleted, [(0, 0, lengths[0]), (2, 0, lengths[2])], [0, 2]),
        (trimmed, [(0, 3, 10), (1, 0, lengths[1]), (2, 1, 14)], None),
        (splits["a"], [(0, 0, lengths[0]), (2, 0, lengths[2])], [0, 2]),
        (splits["b"], [(1, 0, lengths[1])], [1]),
    ]
    for output, ranges, whole in cases:
        assert validate(output) == []
        assert output.features[DEPTH_KEY] == source.features[DEPTH_KEY]
        assert_depth_items(depth_dump(output.root), source_items, item_rows(source, ranges))
        for new, old in enumerate(whole or []):  # whole episodes: the same packets
            assert episode_packets(output, DEPTH_KEY, new) == episode_packets(
                source, DEPTH_KEY, old
            )
    assert validate(merged) == []
    assert merged.features[DEPTH_KEY]["info"] == source.features[DEPTH_KEY]["info"]
    merged_items = depth_dump(merged.root)
    doubled = {key: np.concatenate([source_items[key]] * 2) for key in (DEPTH_KEY, RGB_KEY)}
    assert_depth_items(merged_items, doubled, np.arange(2 * source.num_frames))


def test_depth_conversion_matches_the_recorder(depth_datasets, depth_dump, tmp_path):
    images = copy_dataset(depth_datasets["images"], tmp_path / "images")
    recorded = Dataset(depth_datasets["video"])
    output = convert_image_to_video_dataset(images, tmp_path / "converted", num_workers=2)
    assert validate(output) == []
    # Same frames, same default depth encoder: the recorder's exact info and 12-bit codes.
    assert output.features[DEPTH_KEY] == recorded.features[DEPTH_KEY]
    assert output.features[DEPTH_KEY]["info"]["video.codec"] == "hevc"
    ours, theirs = depth_dump(output.root), depth_dump(recorded.root)
    np.testing.assert_array_equal(ours[DEPTH_KEY], theirs[DEPTH_KEY])
    assert np.median(psnr_per_frame(ours[RGB_KEY], theirs[RGB_KEY])) > 30
    # Depth stats are the raw-depth stats recorded with the images (not divided by 255).
    stats = json.loads((output.root / "meta/stats.json").read_text())
    source_stats = json.loads((images / "meta/stats.json").read_text())
    assert stats[DEPTH_KEY]["mean"] == source_stats[DEPTH_KEY]["mean"]


def test_depth_reencode_and_fps_keep_codes(depth_datasets, depth_dump, tmp_path):
    source_root = copy_dataset(depth_datasets["video"], tmp_path / "src")
    source = Dataset(source_root)
    source_items = depth_dump(source_root)
    plan = reencode_dataset(source, rgb_encoder={"vcodec": "h264", "crf": 20}, dry_run=True)
    assert list(plan.videos) == [RGB_KEY]  # no depth encoder: the depth camera is copied
    output = reencode_dataset(
        source, depth_encoder={"crf": 18, "g": 4}, output_dir=tmp_path / "depth_reencoded"
    )
    assert validate(output) == []
    info = output.features[DEPTH_KEY]["info"]
    assert (info["video.crf"], info["video.g"], info["video.pix_fmt"]) == (18, 4, "gray12le")
    before = source.features[DEPTH_KEY]["info"]
    for key in ("is_depth_map", "depth_unit", "video.depth_min", "video.depth_max", "video.shift"):
        assert info[key] == before[key]
    items = depth_dump(output.root)
    np.testing.assert_array_equal(items[DEPTH_KEY], source_items[DEPTH_KEY])
    for episode in range(source.num_episodes):  # RGB copied packet for packet
        assert episode_packets(output, RGB_KEY, episode) == episode_packets(
            source, RGB_KEY, episode
        )

    slower = change_fps(source, 15, output_dir=tmp_path / "fps15")
    assert validate(slower) == []
    rows = item_rows(source, [(e, 0, r.length) for e, r in enumerate(source.episodes)])
    kept = rows[
        np.concatenate([np.arange(0, r.length, 2) + r.dataset_from_index for r in source.episodes])
    ]
    slow_items = depth_dump(slower.root)
    np.testing.assert_array_equal(slow_items[DEPTH_KEY], source_items[DEPTH_KEY][kept])
    np.testing.assert_array_equal(
        slow_items["frame_index"],
        np.concatenate([np.arange(len(range(0, r.length, 2))) for r in source.episodes]),
    )
