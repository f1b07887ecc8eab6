"""convert_image_to_video_dataset, reencode_dataset, change_fps: the ops that encode.

Converted frames are decoded and compared with the source images (PSNR, identity blocks of
tests/fixtures/datasets/README.md); every episode must start on a keyframe so that later edits still cut
by packet copy; outputs pass `validate`; sources stay byte-identical (the `fixture_dataset`
guard); bad settings fail before anything is written.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.cli.app import app
from robosplice.dataset import Dataset
from robosplice.errors import SelectionError
from robosplice.format.data import data_files
from robosplice.format.video import read_packet_index
from robosplice.ops.convert import change_fps, convert_image_to_video_dataset, reencode_dataset
from robosplice.ops.delete import delete_episodes
from robosplice.ops.validate import validate
from robosplice.plan.model import Plan
from robosplice.testing import decode_episode_frames, episode_packets, frame_identity

CAMERAS = ("observation.images.front", "observation.images.wrist")
# The 0.6.1 video `info` keys, in the order the official tools write them (FORMAT.md §1.2).
INFO_KEYS = [
    "video.height",
    "video.width",
    "video.codec",
    "video.pix_fmt",
    "video.fps",
    "video.channels",
    "has_audio",
    "video.g",
    "video.crf",
    "video.preset",
    "video.fast_decode",
    "video.video_backend",
    "video.extra_options",
    "is_depth_map",
]


# Every encoded frame, not only the median, must be this close to its own source frame: the noisy
# 64x96 images at crf 30 reach 23 dB at worst, the recorder's frames re-encoded 33 dB.
MIN_CONVERT_PSNR_DB = 21.0
MIN_REENCODE_PSNR_DB = 30.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def frame_psnrs(frames: np.ndarray, sources: np.ndarray) -> list[float]:
    """PSNR of each frame against its matching source frame, after checking that every frame is
    nearer to that source frame than to any other of the episode (lossy, but the right frame)."""
    assert frames.shape == sources.shape
    got = frames.reshape(len(frames), -1).astype(np.float64)
    every = sources.reshape(len(sources), -1).astype(np.float64)
    errors = np.stack([np.mean((every - row) ** 2, axis=1) for row in got])
    np.testing.assert_array_equal(errors.argmin(axis=1), np.arange(len(frames)))
    return [psnr(a, b) for a, b in zip(frames, sources)]


def source_images(dataset: Dataset, key: str, episode: int) -> np.ndarray:
    """An image episode's frames (N, H, W, 3), decoded from the parquet cells."""
    record = dataset.episodes[episode]
    table = pq.read_table(dataset.data_path(record.data_position), columns=[key, "index"])
    first = table.column("index").to_pylist().index(record.dataset_from_index)
    frames = []
    for cell in table.column(key).slice(first, record.length).to_pylist():
        with av.open(io.BytesIO(cell["bytes"])) as container:
            frames.append(next(container.decode(video=0)).to_ndarray(format="rgb24"))
    return np.stack(frames)


def assert_episodes_start_on_keyframes(dataset: Dataset) -> None:
    for key in dataset.video_keys:
        for episode in range(dataset.num_episodes):
            window = dataset.episodes[episode].videos[key]
            index = read_packet_index(dataset.video_path(key, window.position))
            target = round(Fraction(window.from_timestamp) / index.facts.time_base)
            first = int(np.argmin(np.abs(index.pts - target)))
            assert index.keyframe[first], f"{key} episode {episode} does not start on a keyframe"
            assert index.pts[first] == index.pts[index.pts >= index.pts[first]].min()


@pytest.fixture
def image_source(fixture_dataset) -> Dataset:
    return Dataset(fixture_dataset("v3_image"))


@pytest.fixture
def converted(image_source, tmp_path) -> Dataset:
    output = convert_image_to_video_dataset(image_source, tmp_path / "video", num_workers=2)
    assert isinstance(output, Dataset)
    return output


def test_convert_frames_close_to_images(image_source, converted, record_property):
    assert validate(converted, decode=True) == []
    assert converted.video_keys == list(CAMERAS)
    assert converted.num_frames == image_source.num_frames
    values = []
    for key in CAMERAS:
        for episode in range(converted.num_episodes):
            frames = decode_episode_frames(converted, key, episode)
            images = source_images(image_source, key, episode)
            assert frames.shape == images.shape
            assert [frame_identity(f) for f in frames] == [(episode, i) for i in range(len(images))]
            values += frame_psnrs(frames, images)
    median, minimum = float(np.median(values)), float(np.min(values))
    record_property("psnr_median_db", round(median, 2))
    record_property("psnr_min_db", round(minimum, 2))
    print(f"image→video PSNR (libsvtav1 crf 30): median {median:.2f} dB, min {minimum:.2f} dB")
    assert median > 24  # noisy 64x96 frames at crf 30 land near 27 dB
    assert minimum > MIN_CONVERT_PSNR_DB, "one frame is far from its source image"
    assert_episodes_start_on_keyframes(converted)


def test_convert_writes_official_info_keeps_tasks_and_stats(image_source, converted):
    for key in CAMERAS:
        info = converted.features[key]["info"]
        assert list(info) == INFO_KEYS
        height, width, channels = image_source.features[key]["shape"]
        assert (info["video.height"], info["video.width"], info["video.channels"]) == (
            height,
            width,
            channels,
        )
        assert (info["video.codec"], info["video.pix_fmt"]) == ("av1", "yuv420p")
        assert (info["video.g"], info["video.crf"], info["video.preset"]) == (2, 30, 12)
        assert (info["video.fps"], info["is_depth_map"]) == (30, False)
    columns = converted.episodes_table.column_names
    assert {"tasks", "meta/episodes/chunk_index"} <= set(columns)
    source_table = image_source.episodes_table
    for key in CAMERAS:  # image stats become the video feature's stats, unchanged
        assert (
            converted.episodes_table.column(f"stats/{key}/mean").to_pylist()
            == source_table.column(f"stats/{key}/mean").to_pylist()
        )
    stats = json.loads((converted.root / "meta/stats.json").read_text())
    assert set(CAMERAS) <= set(stats)
    info = json.loads((converted.root / "meta/info.json").read_text())
    assert info["video_path"].startswith("videos/")
    for path in data_files(converted.root):
        parquet = pq.ParquetFile(path)
        assert not set(CAMERAS) & set(parquet.schema_arrow.names)
        assert parquet.metadata.num_row_groups == converted.num_episodes  # one per episode


def test_delete_after_convert_copies_packets(converted, tmp_path):
    output = delete_episodes(converted, [1, 4], tmp_path / "deleted")
    assert validate(output) == []
    kept = [0, 2, 3, 5]
    for key in CAMERAS:
        for new, old in enumerate(kept):
            assert episode_packets(output, key, new) == episode_packets(converted, key, old)
            np.testing.assert_array_equal(
                decode_episode_frames(output, key, new), decode_episode_frames(converted, key, old)
            )


def test_convert_subset_is_renumbered(image_source, tmp_path):
    output = convert_image_to_video_dataset(
        image_source, tmp_path / "subset", episode_indices=[4, 1], num_workers=1
    )
    assert validate(output) == []
    assert [e.episode_index for e in output.episodes] == [0, 1]
    assert output.num_frames == sum(image_source.episodes[i].length for i in (4, 1))
    index = pq.read_table(data_files(output.root)[0], columns=["index", "episode_index"])
    assert index.column("index").to_pylist() == list(range(output.num_frames))
    for new, old in enumerate([4, 1]):
        frames = decode_episode_frames(output, CAMERAS[0], new)
        assert {frame_identity(f)[0] for f in frames} == {old}
        assert output.episodes[new].tasks == image_source.episodes[old].tasks


def test_convert_batch_limits_start_new_files(image_source, tmp_path):
    output = convert_image_to_video_dataset(
        image_source, tmp_path / "batched", max_episodes_per_batch=2, vcodec="libx264", crf=28
    )
    assert validate(output) == []
    for key in CAMERAS:
        files = [e.videos[key].position for e in output.episodes]
        assert files == [(0, 0), (0, 0), (0, 1), (0, 1), (0, 2), (0, 2)]
    info = output.features[CAMERAS[0]]["info"]
    assert (info["video.codec"], info["video.crf"], info["video.preset"]) == ("h264", 28, None)


@dataclass
class _EncoderConfig:
    """Stands in for lerobot's RGBEncoderConfig: only the fields are read."""

    vcodec: str = "libx264"
    pix_fmt: str = "yuv420p"
    g: int | None = 4
    crf: int | None = 26
    preset: str | None = "veryfast"
    fast_decode: int = 0
    video_backend: str = "pyav"
    extra_options: dict[str, Any] = field(default_factory=dict)


def test_convert_takes_duck_typed_config_and_dry_run(image_source, tmp_path):
    plan = convert_image_to_video_dataset(
        image_source, tmp_path / "dry", rgb_encoder=_EncoderConfig(), dry_run=True
    )
    assert isinstance(plan, Plan)
    text = plan.describe()
    for key in CAMERAS:
        assert f"encode {key} ({image_source.num_frames} frames)" in text
    assert "libx264 yuv420p g=4 crf=26 preset=veryfast" in text
    assert not (tmp_path / "dry").exists()


def test_bad_encoder_lists_available_and_writes_nothing(image_source, tmp_path):
    with pytest.raises(SelectionError, match="not in this PyAV build") as caught:
        convert_image_to_video_dataset(image_source, tmp_path / "out", vcodec="nope264")
    message = str(caught.value)
    for name in ("nope264", "libsvtav1", "libx264"):
        assert name in message
    with pytest.raises(SelectionError, match="pix_fmt 'rgb48le' is not supported"):
        convert_image_to_video_dataset(
            image_source, tmp_path / "out", rgb_encoder={"pix_fmt": "rgb48le"}
        )
    with pytest.raises(SelectionError, match="unknown field"):
        convert_image_to_video_dataset(image_source, tmp_path / "out", rgb_encoder={"qp": 3})
    assert not (tmp_path / "out").exists()


def test_official_errors(fixture_dataset, tmp_path):
    video = fixture_dataset("v3_av1_single")
    with pytest.raises(ValueError, match="This operation is for image datasets only"):
        convert_image_to_video_dataset(video, tmp_path / "out")
    with pytest.raises(ValueError, match="Either rgb_encoder or depth_encoder must be provided"):
        reencode_dataset(video, output_dir=tmp_path / "out")
    with pytest.raises(ValueError, match="Invalid episode indices"):
        convert_image_to_video_dataset(
            fixture_dataset("v3_image"), tmp_path / "o", episode_indices=[9], dry_run=True
        )
    assert not (tmp_path / "out").exists()


def test_reencode_h264_to_av1_and_back(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_h264_bframes"))
    av1 = reencode_dataset(
        source, {"vcodec": "libsvtav1", "crf": 24, "preset": 8}, output_dir=tmp_path / "av1"
    )
    assert validate(av1, decode=True) == []
    back = reencode_dataset(
        av1, output_dir=tmp_path / "h264", vcodec="h264", crf=20, g=12, cameras=CAMERAS[0]
    )
    assert validate(back, decode=True) == []
    assert back.features[CAMERAS[0]]["info"]["video.codec"] == "h264"
    assert back.features[CAMERAS[0]]["info"]["video.g"] == 12
    assert back.features[CAMERAS[1]]["info"] == av1.features[CAMERAS[1]]["info"]
    for key in CAMERAS:
        assert av1.features[key]["info"]["video.codec"] == "av1"
        for episode in range(source.num_episodes):
            original = decode_episode_frames(source, key, episode)
            for output in (av1, back):
                frames = decode_episode_frames(output, key, episode)
                assert frames.shape == original.shape
                assert [frame_identity(f) for f in frames] == [
                    (episode, i) for i in range(len(frames))
                ]
                values = frame_psnrs(frames, original)
                assert np.median(values) > 28
                assert min(values) > MIN_REENCODE_PSNR_DB, f"{key} episode {episode}"
        # The untouched camera of `back` is copied packet for packet.
        if key == CAMERAS[1]:
            assert episode_packets(back, key, 2) == episode_packets(av1, key, 2)
    assert_episodes_start_on_keyframes(back)


def test_reencode_with_the_same_settings_does_nothing(fixture_dataset, tmp_path, caplog):
    source = Dataset(fixture_dataset("v3_av1_single"))
    same = {"vcodec": "av1", "g": 2, "crf": 30}  # alias and default preset compare equal
    plan = reencode_dataset(source, same, dry_run=True)
    assert isinstance(plan, Plan)
    assert not plan.videos
    with caplog.at_level("WARNING"):
        assert reencode_dataset(source, same) is source
    assert "no videos to re-encode" in caplog.text


def test_change_fps_keeps_every_second_frame(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_h264_bframes"))
    output = change_fps(source, 15, output_dir=tmp_path / "fps15", num_workers=2)
    assert validate(output, decode=True) == []
    assert (output.fps, output.num_episodes) == (15, source.num_episodes)
    info = json.loads((output.root / "meta/info.json").read_text())
    assert info["fps"] == 15
    for key in CAMERAS:
        assert info["features"][key]["info"]["video.fps"] == 15
        assert info["features"][key]["info"]["video.codec"] == "h264"
    for episode in range(source.num_episodes):
        length = source.episodes[episode].length
        assert output.episodes[episode].length == len(range(0, length, 2))
        table = pq.read_table(data_files(output.root)[0]).filter(
            pq.read_table(data_files(output.root)[0]).column("episode_index").to_numpy() == episode
        )
        frames = table.column("frame_index").to_pylist()
        assert frames == list(range(len(frames)))
        np.testing.assert_allclose(
            table.column("timestamp").to_numpy(), np.arange(len(frames)) / 15, rtol=1e-6
        )
        for key in CAMERAS:
            decoded = decode_episode_frames(output, key, episode)
            assert [frame_identity(f) for f in decoded] == [
                (episode, i) for i in range(0, length, 2)
            ]
            kept = decode_episode_frames(source, key, episode)[::2]
            values = frame_psnrs(decoded, kept)
            assert min(values) > MIN_REENCODE_PSNR_DB, f"{key} episode {episode}"
    stats = json.loads((output.root / "meta/stats.json").read_text())
    assert stats["frame_index"]["max"] == [
        max(len(range(0, e.length, 2)) for e in source.episodes) - 1
    ]


def test_change_fps_needs_an_integer_factor(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_single")
    with pytest.raises(SelectionError, match="choose one of 15, 10, 6, 5, 3, 2, 1"):
        change_fps(source, 20, output_dir=tmp_path / "out")
    with pytest.raises(SelectionError, match="integer k >= 2"):
        change_fps(source, 30, output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_dry_runs(fixture_dataset, tmp_path):
    runner = CliRunner()
    images = str(fixture_dataset("v3_image"))
    result = runner.invoke(
        app, ["images-to-video", images, str(tmp_path / "v"), "--crf", "28", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "libsvtav1 yuv420p g=2 crf=28" in result.output
    video = str(fixture_dataset("v3_av1_single"))
    result = runner.invoke(
        app,
        [
            "reencode",
            video,
            str(tmp_path / "r"),
            "--vcodec",
            "h264",
            "--size",
            "48x32",
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "scaled to 48x32" in result.output
    result = runner.invoke(app, ["change-fps", video, str(tmp_path / "f"), "--fps", "7"])
    assert result.exit_code == 1
    assert "choose one of" in result.output
    result = runner.invoke(app, ["reencode", video, str(tmp_path / "r"), "--vcodec", "x"])
    assert result.exit_code == 1
    assert "available" in result.output
    assert not any((tmp_path / name).exists() for name in "vrf")


def test_reencode_in_place_resizes_one_camera(tmp_path):
    root = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "ds")
    before = Dataset(root)
    front_packets = episode_packets(before, CAMERAS[0], 3)
    output = reencode_dataset(root, in_place=True, cameras=[CAMERAS[1]], size="96x64", crf=28)
    assert output.root == before.root
    assert validate(output, decode=True) == []
    feature = output.features[CAMERAS[1]]
    assert feature["shape"] == [64, 96, 3]
    assert (feature["info"]["video.width"], feature["info"]["video.height"]) == (96, 64)
    assert feature["info"]["video.crf"] == 28
    assert decode_episode_frames(output, CAMERAS[1], 0).shape[1:] == (64, 96, 3)
    assert episode_packets(output, CAMERAS[0], 3) == front_packets  # untouched camera
    assert not list(tmp_path.glob(".ds*"))  # no staging or backup left behind


def test_change_fps_of_an_image_dataset(image_source, tmp_path):
    output = change_fps(image_source, 10, output_dir=tmp_path / "fps10")
    assert validate(output, decode=True) == []
    assert output.fps == 10
    for episode in range(output.num_episodes):
        length = image_source.episodes[episode].length
        images = source_images(output, CAMERAS[0], episode)
        assert [frame_identity(f) for f in images] == [(episode, i) for i in range(0, length, 3)]
