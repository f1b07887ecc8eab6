"""recompute_stats and the stats the engine computes: exact numbers from the data.

The fixtures were written by the official recorder, so their per-episode stats are the official
`compute_episode_stats` of each episode: after the stats are damaged, recompute_stats must give
them back bit for bit. Dataset quantiles must be those of all values (never averaged).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import FIXTURE_NAMES, copy_tree_writable, fixtures_dir
from robosplice.dataset import Dataset
from robosplice.engine.frame_stats import (
    RunningQuantileStats,
    relative_action_mask,
    relative_action_stats,
)
from robosplice.errors import SelectionError
from robosplice.format.data import data_files
from robosplice.format.info import feature_shape, numeric_feature_names
from robosplice.format.schema import column_values
from robosplice.format.stats import (
    QUANTILE_KEYS,
    compute_feature_stats,
    compute_image_stats,
    sample_indices,
    unflatten_episode_stats,
)
from robosplice.ops.stats import recompute_stats
from robosplice.ops.trim import trim_episodes
from robosplice.ops.validate import validate
from robosplice.plan.model import Plan
from robosplice.testing import decode_episode_frames, read_episode_table


def per_episode(dataset: Dataset) -> list[dict]:
    return [unflatten_episode_stats(row) for row in dataset.episodes_table.to_pylist()]


def all_values(dataset: Dataset, name: str) -> np.ndarray:
    table = pa.concat_tables(pq.read_table(p, columns=[name]) for p in data_files(dataset.root))
    values = column_values(table.column(name), feature_shape(dataset.features[name]))
    if name == "timestamp":  # the recorder's stats see float64 frame_index / fps
        frames = pa.concat_tables(
            pq.read_table(p, columns=["frame_index"]) for p in data_files(dataset.root)
        )
        values = frames.column("frame_index").to_numpy() / float(dataset.fps)
    return values


def damage(root: Path, features: list[str]) -> None:
    """Replace the per-episode and stats.json stats of `features` by nonsense (+1000)."""
    for path in sorted((root / "meta/episodes").rglob("*.parquet")):
        table = pq.read_table(path)
        for column in table.column_names:
            parts = column.split("/")
            if parts[0] == "stats" and "/".join(parts[1:-1]) in features and parts[-1] != "count":
                position = table.schema.get_field_index(column)
                bad = pa.array(
                    _shift(table.column(column).to_pylist()), type=table.schema.field(column).type
                )
                table = table.set_column(position, column, bad)
        pq.write_table(table, path)
    stats_path = root / "meta/stats.json"
    stats = json.loads(stats_path.read_text())
    for name in features:
        stats[name] = {k: (v if k == "count" else _shift(v)) for k, v in stats[name].items()}
    stats_path.write_text(json.dumps(stats))


def _shift(value):
    if isinstance(value, list):
        return [_shift(v) for v in value]
    return value + 1000.0


@pytest.fixture
def damaged(tmp_path: Path, source_guard):
    """name, features → a guarded copy of a fixture whose stats of `features` are wrong."""

    def make(name: str, features: list[str] | None = None) -> tuple[Path, Dataset]:
        original = Dataset(fixtures_dir() / name)
        root = copy_tree_writable(original.root, tmp_path / "src" / name)
        damage(root, features if features is not None else numeric_feature_names(original.features))
        return source_guard(root), original

    return make


# ------------------------------------------------------------------------------ numeric stats


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_recompute_gives_back_the_recorder_stats(name, damaged, tmp_path):
    root, original = damaged(name)
    assert per_episode(Dataset(root))[0]["action"]["min"][0] > 500  # really damaged
    output = recompute_stats(root, output_dir=tmp_path / "out")
    assert validate(output) == []
    got, want = per_episode(output), per_episode(original)
    for number, (episode_got, episode_want) in enumerate(zip(got, want, strict=True)):
        assert list(episode_got) == list(episode_want)
        for feature in numeric_feature_names(original.features):
            for key, value in episode_want[feature].items():
                np.testing.assert_array_equal(
                    episode_got[feature][key], value, err_msg=f"episode {number} {feature} {key}"
                )
    for feature in numeric_feature_names(original.features):
        exact = compute_feature_stats(all_values(original, feature))
        for key in QUANTILE_KEYS:  # from all values, not averaged over episodes
            np.testing.assert_array_equal(output.stats[feature][key], exact[key], err_msg=feature)
        for key in ("min", "max", "count"):
            np.testing.assert_array_equal(output.stats[feature][key], exact[key], err_msg=feature)
        for key in ("mean", "std"):
            np.testing.assert_allclose(output.stats[feature][key], exact[key], rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(
                output.stats[feature][key], original.stats[feature][key], rtol=1e-6, atol=1e-9
            )
    # Data and frames are untouched; episodes stay in their data files.
    for episode in range(original.num_episodes):
        assert read_episode_table(output, episode).equals(read_episode_table(original, episode))
    assert [e.data_position for e in output.episodes] == [
        e.data_position for e in original.episodes
    ]


def test_camera_stats_are_kept_by_default(damaged, tmp_path):
    cameras = ["observation.images.front", "observation.images.wrist"]
    root, _ = damaged("v3_image", cameras)
    output = recompute_stats(root, output_dir=tmp_path / "out")
    for before, after in zip(per_episode(Dataset(root)), per_episode(output), strict=True):
        for camera in cameras:
            for key, value in before[camera].items():
                np.testing.assert_array_equal(after[camera][key], value)


def test_image_stats_sampled_like_the_recorder(damaged, tmp_path):
    cameras = ["observation.images.front", "observation.images.wrist"]
    root, original = damaged("v3_image", cameras)
    output = recompute_stats(root, skip_image_video=False, output_dir=tmp_path / "out")
    assert validate(output) == []
    for got, want in zip(per_episode(output), per_episode(original), strict=True):
        for camera in cameras:
            assert list(got[camera]) == list(want[camera])
            for key, value in want[camera].items():
                np.testing.assert_array_equal(got[camera][key], value, err_msg=f"{camera} {key}")
    for camera in cameras:
        for key in ("min", "max", "mean", "count", "q50"):
            np.testing.assert_allclose(
                output.stats[camera][key], original.stats[camera][key], rtol=1e-6
            )


@pytest.mark.parametrize("name", ["v3_av1_single", "v3_h264_bframes"])
def test_video_stats_sampled_from_the_decoded_frames(name, damaged, tmp_path):
    cameras = ["observation.images.front", "observation.images.wrist"]
    root, original = damaged(name, cameras)
    output = recompute_stats(root, skip_image_video=False, output_dir=tmp_path / "out")
    assert validate(output) == []
    stats = per_episode(output)
    for episode in (0, original.num_episodes - 1):
        for camera in cameras:
            frames = decode_episode_frames(output, camera, episode)
            picked = frames[sample_indices(len(frames))].transpose(0, 3, 1, 2)
            expected = compute_image_stats(picked, from_counts=True)
            for key, value in expected.items():
                np.testing.assert_array_equal(stats[episode][camera][key], value, err_msg=key)
            # The count-based path agrees with the official float32 path to float32 precision.
            official = compute_image_stats(picked)
            for key in ("min", "max", "q01", "q50", "q99"):
                np.testing.assert_array_equal(expected[key], official[key], err_msg=key)
            for key in ("mean", "std"):
                np.testing.assert_allclose(expected[key], official[key], atol=1e-3, err_msg=key)
    # Lossy video: close to the recorder's stats of the raw frames, not equal.
    for got, want in zip(stats, per_episode(original), strict=True):
        for camera in cameras:
            np.testing.assert_allclose(got[camera]["mean"], want[camera]["mean"], atol=0.02)


# ------------------------------------------------------------------------------ trimmed episodes


def test_trimmed_image_episode_gets_fresh_camera_stats(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_image"))
    output = trim_episodes(source, {1: (5, 20)}, tmp_path / "out")
    assert validate(output) == []
    cells = read_episode_table(output, 1).column("observation.images.front")
    from robosplice.engine.frame_stats import decode_png_frames

    frames = decode_png_frames(cells.to_pylist())
    expected = compute_image_stats(frames[sample_indices(15)])
    got = per_episode(output)[1]["observation.images.front"]
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value)
    assert got["count"][0] == 15
    untouched = per_episode(source)[0]["observation.images.front"]
    for key, value in untouched.items():
        np.testing.assert_array_equal(
            per_episode(output)[0]["observation.images.front"][key], value
        )


def test_trimmed_video_episode_gets_fresh_camera_stats(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = trim_episodes(source, {0: (5, 31)}, tmp_path / "out")
    frames = decode_episode_frames(output, "observation.images.wrist", 0)
    assert len(frames) == 26
    expected = compute_image_stats(frames.transpose(0, 3, 1, 2), from_counts=True)
    got = per_episode(output)[0]["observation.images.wrist"]
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value)


# ----------------------------------------------------------------------------- relative actions


def _expected_relative(dataset: Dataset, chunk_size: int, mask: np.ndarray) -> dict:
    actions = all_values(dataset, "action").astype(np.float32)
    states = all_values(dataset, "observation.state").astype(np.float32)
    rows = []
    for record in dataset.episodes:
        for start in range(record.dataset_from_index, record.dataset_to_index - chunk_size + 1):
            chunk = actions[start : start + chunk_size].copy()
            chunk -= states[start] * mask
            rows.append(chunk)
    return compute_feature_stats(np.concatenate(rows))


@pytest.mark.parametrize(("exclude", "mask"), [(None, [1] * 6), (["JOINT_5"], [1] * 5 + [0])])
def test_relative_action_stats(exclude, mask, fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_multifile"))
    output = recompute_stats(
        source,
        relative_action=True,
        relative_exclude_joints=exclude,
        chunk_size=10,
        output_dir=tmp_path / "out",
    )
    assert validate(output) == []
    expected = _expected_relative(source, 10, np.asarray(mask, dtype=np.float32))
    for key, value in expected.items():
        np.testing.assert_allclose(
            output.stats["action"][key], value, rtol=1e-6, atol=1e-6, err_msg=key
        )
    # Per-episode action stats stay absolute.
    first = np.asarray(read_episode_table(source, 0).column("action").to_pylist(), dtype=np.float32)
    absolute = compute_feature_stats(first)
    np.testing.assert_array_equal(per_episode(output)[0]["action"]["mean"], absolute["mean"])


def test_relative_action_mask_rules():
    names = ["shoulder", "elbow", "Gripper_left", "wrist"]
    assert relative_action_mask(names, 4, ["gripper"]) == (True, True, False, True)
    assert relative_action_mask(names, 6, ["gripper"]) == (True, True, False, True, True, True)
    assert relative_action_mask(None, 3, ["gripper"]) == (True, True, True)
    assert relative_action_mask({"motors": names}, 4, ["elbow"]) == (True, False, True, True)
    assert relative_action_mask(names, 4, []) == (True,) * 4


def test_relative_action_without_valid_chunks_writes_nothing(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    with pytest.raises(
        SelectionError, match=re.escape("No valid chunks found (total_frames=234, chunk_size=500)")
    ):
        recompute_stats(source, relative_action=True, chunk_size=500, output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_running_stats_single_update_equals_episode_stats():
    values = np.random.default_rng(1).normal(size=(500, 3)).astype(np.float32)
    running = RunningQuantileStats()
    running.update(values)
    got, want = running.statistics(), compute_feature_stats(values)
    for key, value in want.items():
        np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_running_stats_rebins_when_the_range_grows():
    rng = np.random.default_rng(2)
    running = RunningQuantileStats()
    batches = [rng.normal(size=(400, 2)), rng.normal(loc=3.0, size=(400, 2))]
    for batch in batches:
        running.update(batch)
    stats = running.statistics()
    both = np.concatenate(batches)
    assert stats["count"][0] == 800
    np.testing.assert_allclose(stats["mean"], both.mean(axis=0))
    np.testing.assert_array_equal(stats["min"], both.min(axis=0))
    np.testing.assert_allclose(stats["q50"], np.quantile(both, 0.5, axis=0), atol=0.05)


def test_relative_stats_batches_cover_every_chunk():
    actions = [np.ones((30, 2)), np.ones((5, 2))]
    states = [np.zeros((30, 2)), np.zeros((5, 2))]
    stats = relative_action_stats(actions, states, chunk_size=10, mask=(True, True))
    assert stats["count"][0] == 21 * 10  # 21 chunks in the first episode, none in the second


# --------------------------------------------------------------------------------- the façade


def test_in_place_rewrites_stats_at_the_same_root(tmp_path):
    root = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "ds")
    damage(root, ["action"])
    output = recompute_stats(root, in_place=True)
    assert output.root == root.resolve()
    original = Dataset(fixtures_dir() / "v3_av1_single")
    np.testing.assert_array_equal(
        Dataset(root).stats["action"]["min"], original.stats["action"]["min"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_default_output_and_dry_run(fixture_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_HOME", str(tmp_path / "home"))
    source = Dataset(fixture_dataset("v3_image"), repo_id="me/imgs")
    plan = recompute_stats(
        source, skip_image_video=False, relative_action=True, chunk_size=5, dry_run=True
    )
    assert isinstance(plan, Plan)
    text = plan.describe()
    assert "every episode's numeric stats recomputed" in text
    assert "observation.images.front" in text
    assert "chunks of 5 frames" in text
    assert not (tmp_path / "home").exists()
    output = recompute_stats(source)
    assert output.root == (tmp_path / "home" / "me" / "imgs_recomputed_stats").resolve()
