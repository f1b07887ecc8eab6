"""`write_sample` and the encoder under it: the sample must look like the official recorder's output.

Frames are checked by decoding every mp4 in order (no seeking) and reading the identity blocks
(tests/fixtures/datasets/README.md) of each frame inside each episode's window, so a frame that is
missing, duplicated or shifted by one shows up as a wrong (episode, frame) pair.
"""

from __future__ import annotations

import json
import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import fixtures_dir
from robosplice.dataset import Dataset
from robosplice.errors import OutputExistsError, SelectionError, VideoError
from robosplice.format.data import data_files
from robosplice.format.info import DEFAULT_FEATURE_NAMES, stats_feature_names
from robosplice.format.stats import STAT_KEYS, sample_indices
from robosplice.format.video import read_packet_index
from robosplice.format.video_codec import (
    EncoderSettings,
    available_encoders,
    encode_episode_video,
    video_feature_info,
)
from robosplice.ops.repack import repack
from robosplice.ops.sample import DEFAULT_CAMERAS, ROBOT_TYPE, SAMPLE_TASKS, write_sample

FIXTURES = fixtures_dir()
ID_BITS = 10
ID_BLOCK = 8
ID_THRESHOLD = 128.0
SMALL = {"episodes": 4, "min_length": 12, "max_length": 24, "seed": 3}


Frames = dict[tuple[int, int], np.ndarray]


# ------------------------------------------------------------------------------------- helpers


def identity(image: np.ndarray) -> tuple[int, int]:
    """(episode, frame) read from the identity blocks of an HxWx3 frame."""
    top = image[: 2 * ID_BLOCK, : ID_BITS * ID_BLOCK].astype(np.float64)
    means = top.reshape(2, ID_BLOCK, ID_BITS, ID_BLOCK, 3).mean(axis=(1, 3, 4))
    weights = 1 << np.arange(ID_BITS)
    episode, frame = ((means >= ID_THRESHOLD) * weights).sum(axis=1)
    return int(episode), int(frame)


def decode_in_order(path: Path) -> tuple[dict[int, np.ndarray], Fraction]:
    """Every frame of `path` by pts, decoded front to back without seeking."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = {frame.pts: frame.to_ndarray(format="rgb24") for frame in container.decode(stream)}
        return frames, Fraction(stream.time_base)


def episode_frames(dataset: Dataset, key: str) -> Frames:
    """Decoded frames of camera `key` by (episode, frame), from the episodes' windows."""
    decoded: dict[Path, tuple[dict[int, np.ndarray], Fraction]] = {}
    result: Frames = {}
    for episode in dataset.episodes:
        window = episode.videos[key]
        path = dataset.video_path(key, window.position)
        if path not in decoded:
            decoded[path] = decode_in_order(path)
        frames, time_base = decoded[path]
        first = round(Fraction(window.from_timestamp) / time_base)
        ticks = round(1 / (dataset.fps * time_base))
        assert round(Fraction(window.to_timestamp) / time_base) == first + episode.length * ticks
        for frame_index in range(episode.length):
            pts = first + frame_index * ticks
            assert pts in frames, f"{path}: no frame at pts {pts} (episode {episode.episode_index})"
            result[episode.episode_index, frame_index] = frames[pts]
    return result


def read_data(root: Path) -> pa.Table:
    """All data rows in the loader's file order."""
    return pa.concat_tables([pq.read_table(path) for path in data_files(root)])


def assert_identities(dataset: Dataset) -> None:
    """Every frame of every camera decodes to its own (episode, frame)."""
    assert dataset.video_keys
    for key in dataset.video_keys:
        frames = episode_frames(dataset, key)
        assert len(frames) == dataset.num_frames
        wrong = {
            where: identity(image) for where, image in frames.items() if identity(image) != where
        }
        assert not wrong, f"{key}: frames decode as the wrong (episode, frame): {wrong}"


def assert_episodes_start_on_keyframes(dataset: Dataset) -> None:
    """In decode order, each episode's first packet is a keyframe showing its first frame."""
    for key in dataset.video_keys:
        for episode in dataset.episodes:
            window = episode.videos[key]
            index = read_packet_index(dataset.video_path(key, window.position))
            time_base = index.facts.time_base
            first = round(Fraction(window.from_timestamp) / time_base)
            end = round(Fraction(window.to_timestamp) / time_base)
            inside = np.flatnonzero((index.pts >= first) & (index.pts < end))
            assert len(inside) == episode.length
            assert np.array_equal(inside, np.arange(inside[0], inside[0] + len(inside)))
            assert index.keyframe[inside[0]], f"{key} episode {episode.episode_index}"
            assert index.pts[inside[0]] == first


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample") / "sample"
    write_sample(root, **SMALL)
    return root


@pytest.fixture(scope="module")
def multifile_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample") / "multifile"
    write_sample(
        root,
        episodes=6,
        min_length=20,
        max_length=40,
        seed=7,
        video_files_size_in_mb=0.02,
        data_files_size_in_mb=0.005,
        chunks_size=2,
    )
    return root


# ---------------------------------------------------------------------------------- the sample


def test_sample_has_the_asked_episodes_and_frames(sample_root: Path) -> None:
    dataset = Dataset(sample_root)
    info = dataset.info
    lengths = [episode.length for episode in dataset.episodes]
    assert dataset.num_episodes == info["total_episodes"] == SMALL["episodes"]
    assert all(SMALL["min_length"] <= n <= SMALL["max_length"] for n in lengths)
    assert info["total_frames"] == sum(lengths) == read_data(sample_root).num_rows
    assert info["total_tasks"] == len(dataset.tasks) == len(set(dataset.tasks))
    assert set(dataset.tasks) <= set(SAMPLE_TASKS)
    assert [task for episode in dataset.episodes for task in episode.tasks] == [
        dataset.tasks[i] for i in _first_task_per_episode(sample_root)
    ]
    assert info["robot_type"] == ROBOT_TYPE
    assert info["splits"] == {"train": f"0:{SMALL['episodes']}"}
    assert list(info["features"]) == [
        "observation.state",
        "action",
        *(key for key, _, _ in DEFAULT_CAMERAS),
        *DEFAULT_FEATURE_NAMES,
    ]
    for key, height, width in DEFAULT_CAMERAS:
        feature = info["features"][key]
        assert feature["shape"] == [height, width, 3]
        assert feature["names"] == ["height", "width", "channels"]
    assert not list(sample_root.glob("tmp*")), "temporary encodes must not be published"


def _first_task_per_episode(root: Path) -> list[int]:
    table = read_data(root)
    episodes = table.column("episode_index").to_numpy()
    tasks = table.column("task_index").to_numpy()
    _, first = np.unique(episodes, return_index=True)
    return [int(tasks[i]) for i in first]


def test_data_rows_are_contiguous_with_exact_timestamps(sample_root: Path) -> None:
    dataset = Dataset(sample_root)
    table = read_data(sample_root)
    assert table.column_names == [
        name for name, f in dataset.features.items() if f["dtype"] != "video"
    ]
    assert table.schema.field("observation.state").type == pa.list_(pa.float32(), 6)
    index = table.column("index").to_numpy()
    frame_index = table.column("frame_index").to_numpy()
    episode_index = table.column("episode_index").to_numpy()
    timestamp = table.column("timestamp").to_numpy()
    np.testing.assert_array_equal(index, np.arange(table.num_rows))
    np.testing.assert_array_equal(timestamp, (frame_index / dataset.fps).astype(np.float32))
    for episode in dataset.episodes:
        rows = slice(episode.dataset_from_index, episode.dataset_to_index)
        assert episode.dataset_to_index - episode.dataset_from_index == episode.length
        np.testing.assert_array_equal(frame_index[rows], np.arange(episode.length))
        assert set(episode_index[rows].tolist()) == {episode.episode_index}
    state = np.stack(table.column("observation.state").to_numpy(zero_copy_only=False))
    # Smooth motion: consecutive frames of an episode move by far less than the joint range.
    first_episode = state[: dataset.episodes[0].length]
    assert np.abs(np.diff(first_episode, axis=0)).max() < 0.2
    assert np.ptp(first_episode, axis=0).max() > 0.05


def test_every_episode_starts_on_a_keyframe(sample_root: Path) -> None:
    assert_episodes_start_on_keyframes(Dataset(sample_root))


def test_decoded_frames_carry_their_identity(sample_root: Path) -> None:
    assert_identities(Dataset(sample_root))


def test_video_files_look_like_the_official_encoder(sample_root: Path) -> None:
    dataset = Dataset(sample_root)
    reference = json.loads((FIXTURES / "v3_av1_single" / "meta" / "info.json").read_text())
    reference_info = reference["features"]["observation.images.front"]["info"]
    for key, height, width in DEFAULT_CAMERAS:
        info = dataset.features[key]["info"]
        assert list(info) == list(reference_info)
        expected = {**reference_info, "video.height": height, "video.width": width}
        assert info == expected
        index = read_packet_index(dataset.video_path(key, (0, 0)))
        assert index.facts.time_base == Fraction(1, 15360)
        np.testing.assert_array_equal(np.sort(index.pts), np.arange(index.num_packets) * 512)


def test_stats_cover_every_feature(sample_root: Path) -> None:
    dataset = Dataset(sample_root)
    stats = json.loads((sample_root / "meta" / "stats.json").read_text())
    names = stats_feature_names(dataset.features)
    assert list(stats) == names
    for name in names:
        assert list(stats[name]) == list(STAT_KEYS)
    for key, _, _ in DEFAULT_CAMERAS:
        for stat in ("min", "max", "mean", "std", "q50"):
            value = np.asarray(stats[key][stat])
            assert value.shape == (3, 1, 1)
            assert ((value >= 0) & (value <= 1)).all()
        # count = sampled frames (FORMAT.md §4.1), summed over episodes.
        sampled = sum(len(sample_indices(e.length)) for e in dataset.episodes)
        assert stats[key]["count"] == [sampled]
    assert stats["index"]["count"] == [dataset.num_frames]
    assert stats["index"]["max"] == [dataset.num_frames - 1]
    assert stats["episode_index"]["max"] == [dataset.num_episodes - 1]
    columns = dataset.episodes_table.column_names
    for name in names:
        for stat in STAT_KEYS:
            assert f"stats/{name}/{stat}" in columns


def test_same_seed_same_sample(tmp_path: Path) -> None:
    arguments = {"episodes": 2, "min_length": 5, "max_length": 9, "cameras": ()}
    first = write_sample(tmp_path / "a", seed=11, **arguments)
    again = write_sample(tmp_path / "b", seed=11, **arguments)
    other = write_sample(tmp_path / "c", seed=12, **arguments)
    assert read_data(first.root).equals(read_data(again.root))
    assert not read_data(first.root).equals(read_data(other.root))
    assert first.info["video_path"] is None
    assert first.video_keys == []


# ------------------------------------------------------------------------- several video files


def test_small_video_files_span_several_files(multifile_root: Path) -> None:
    dataset = Dataset(multifile_root)
    for key in dataset.video_keys:
        positions = [episode.videos[key].position for episode in dataset.episodes]
        assert len(set(positions)) > 1, f"{key}: expected several video files"
        assert positions == sorted(positions)
        previous = None
        for episode, position in zip(dataset.episodes, positions, strict=True):
            window = episode.videos[key]
            if position != previous:
                assert window.from_timestamp == 0.0  # a new file starts at 0
            previous = position
    assert len(data_files(multifile_root)) > 1
    assert any(path.parent.name == "chunk-001" for path in data_files(multifile_root))
    assert_episodes_start_on_keyframes(dataset)
    assert_identities(dataset)


@pytest.mark.parametrize(
    ("source", "video_files_size_in_mb"),
    [("sample", 0.01), ("multifile", 200)],
    ids=["into-several-files", "into-one-file"],
)
def test_repack_keeps_every_decoded_frame(
    source: str,
    video_files_size_in_mb: float,
    sample_root: Path,
    multifile_root: Path,
    tmp_path: Path,
) -> None:
    root = sample_root if source == "sample" else multifile_root
    before = Dataset(root)
    after = repack(root, tmp_path / "repacked", video_files_size_in_mb=video_files_size_in_mb)
    assert isinstance(after, Dataset)
    assert after.num_frames == before.num_frames
    files_after = {e.videos[k].position for e in after.episodes for k in after.video_keys}
    assert (len(files_after) > 1) == (source == "sample")
    for key in before.video_keys:
        original = episode_frames(before, key)
        repacked = episode_frames(after, key)
        assert original.keys() == repacked.keys()
        for where, image in original.items():
            assert np.array_equal(repacked[where], image), f"{key} {where} changed"


# ------------------------------------------------------------------------- encoders and safety


def test_h264_sample_loads_frame_for_frame(tmp_path: Path) -> None:
    dataset = write_sample(tmp_path / "h264", vcodec="libx264", **SMALL)
    assert dataset.features["observation.images.top"]["info"]["video.codec"] == "h264"
    assert_episodes_start_on_keyframes(dataset)
    assert_identities(dataset)


def test_missing_encoder_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="robosplice.ops.sample"):
        dataset = write_sample(
            tmp_path / "fallback", vcodec="no-such-encoder", episodes=1, min_length=4, max_length=4
        )
    assert "no-such-encoder" in caplog.text
    assert dataset.features["observation.images.top"]["info"]["video.codec"] == "av1"


def test_encoding_with_a_missing_encoder_names_it_and_the_available_ones(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    frames = [np.zeros((16, 80, 3), np.uint8)]
    with pytest.raises(VideoError, match="no-such-encoder") as raised:
        encode_episode_video(frames, path, fps=30, vcodec="no-such-encoder")
    assert available_encoders()[0] in str(raised.value)
    assert not path.exists()


def test_encoded_episode_matches_the_official_info(tmp_path: Path) -> None:
    path = tmp_path / "episode.mp4"
    frames = (np.full((64, 96, 3), 8 * k, np.uint8) for k in range(10))
    settings = encode_episode_video(frames, path, fps=30)
    assert settings == EncoderSettings(preset=12)
    assert settings.codec_options() == {
        "g": "2",
        "crf": "30",
        "preset": "12",
        "svtav1-params": "fast-decode=0",
    }
    reference = json.loads((FIXTURES / "v3_av1_single" / "meta" / "info.json").read_text())
    assert (
        video_feature_info(path, settings)
        == (reference["features"]["observation.images.front"]["info"])
    )
    index = read_packet_index(path)
    assert index.num_packets == 10
    assert index.keyframe[0]
    np.testing.assert_array_equal(index.pts, np.arange(10) * 512)


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    arguments = {"episodes": 1, "min_length": 3, "max_length": 3, "cameras": ()}
    target = tmp_path / "out"
    write_sample(target, seed=1, **arguments)
    with pytest.raises(OutputExistsError):
        write_sample(target, seed=2, **arguments)
    write_sample(target, seed=2, overwrite=True, **arguments)
    assert read_data(target).equals(
        read_data(write_sample(tmp_path / "ref", seed=2, **arguments).root)
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "ref"]


def test_bad_arguments_are_all_reported_before_writing(tmp_path: Path) -> None:
    target = tmp_path / "never"
    with pytest.raises(SelectionError) as raised:
        write_sample(
            target,
            episodes=0,
            min_length=10,
            max_length=5,
            cameras=(("observation.images.tiny", 8, 8),),
            video_files_size_in_mb=0,
        )
    message = str(raised.value)
    for part in ("episodes", "min_length", "observation.images.tiny", "video_files_size_in_mb"):
        assert part in message
    assert not target.exists()
