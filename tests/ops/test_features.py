"""add / remove / rename / modify features: values at the right frames, stats, cameras, errors.

Every output passes `validate`, and sources are byte-identical afterwards (the `fixture_dataset`
guard). Values are read back straight from the data files, in global index order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from robosplice.dataset import Dataset
from robosplice.errors import SelectionError
from robosplice.format.data import data_files
from robosplice.format.info import DEFAULT_FEATURE_NAMES, feature_shape
from robosplice.format.schema import column_values
from robosplice.format.stats import QUANTILE_KEYS, compute_feature_stats, unflatten_episode_stats
from robosplice.ops.features import (
    add_features,
    modify_features,
    plan_modify_features,
    remove_feature,
    rename_feature,
)
from robosplice.ops.validate import validate
from robosplice.plan.model import Plan
from robosplice.testing import decode_episode_frames, episode_packets

REWARD_INFO = {"dtype": "float32", "shape": [1], "names": None}


def read_column(dataset: Dataset, name: str) -> np.ndarray:
    """A column over all frames, in global index order, read straight from the data files."""
    shape = feature_shape(dataset.features[name])
    table = pa.concat_tables(
        pq.read_table(p, columns=["index", name]) for p in data_files(dataset.root)
    )
    assert table.column("index").to_pylist() == list(range(dataset.num_frames))
    return column_values(table.column(name), shape)


def episode_stats(dataset: Dataset) -> list[dict]:
    return [unflatten_episode_stats(row) for row in dataset.episodes_table.to_pylist()]


def assert_stats_of(dataset: Dataset, name: str, values: np.ndarray) -> None:
    """Per-episode stats of `name` are those of its values; stats.json quantiles are exact."""
    for number, (record, stats) in enumerate(
        zip(dataset.episodes, episode_stats(dataset), strict=True)
    ):
        expected = compute_feature_stats(
            values[record.dataset_from_index : record.dataset_to_index]
        )
        assert set(stats[name]) == set(expected), number
        for key, value in expected.items():
            np.testing.assert_allclose(
                stats[name][key], value, rtol=1e-6, err_msg=f"{number} {key}"
            )
    exact = compute_feature_stats(values)
    for key in (*QUANTILE_KEYS, "min", "max", "count"):
        np.testing.assert_allclose(dataset.stats[name][key], exact[key], rtol=1e-6, err_msg=key)
    np.testing.assert_allclose(dataset.stats[name]["mean"], exact["mean"], rtol=1e-5)


# ------------------------------------------------------------------------------------- adding


@pytest.mark.parametrize(
    ("values_shape", "info_shape", "read_shape"),
    [
        ((), [1], ()),  # scalar given as (N,)
        ((1,), [1], ()),  # official quirk: (N, 1) for shape (1,) is flattened
        ((7,), [7], (7,)),
        ((1, 4), [1, 4], (1, 4)),
        ((2, 3), [2, 3], (2, 3)),  # 2-D features crash the official tool
    ],
    ids=["scalar_1d", "scalar_2d", "vector", "matrix", "pose_like"],
)
def test_add_array_values_land_on_their_frames(
    values_shape, info_shape, read_shape, fixture_dataset, tmp_path
):
    source = Dataset(fixture_dataset("v3_av1_multifile"))
    n = source.num_frames
    values = np.random.default_rng(0).normal(size=(n, *values_shape))  # float64, cast to float32
    info = {"dtype": "float32", "shape": info_shape, "names": None}
    output = add_features(source, {"extra": (values, info)}, tmp_path / "out")
    assert validate(output) == []
    assert output.features["extra"] == info
    got = read_column(output, "extra")
    assert got.dtype == np.float32
    assert got.shape == (n, *read_shape)
    np.testing.assert_array_equal(got, values.astype(np.float32).reshape(got.shape))
    assert_stats_of(output, "extra", got)
    # Everything else is untouched, and episodes stay in the data files they were in.
    for name in ("observation.state", "observation.pose", "next.success"):
        np.testing.assert_array_equal(read_column(output, name), read_column(source, name))
    assert [e.data_position for e in output.episodes] == [e.data_position for e in source.episodes]
    for key in source.video_keys:
        for episode in range(source.num_episodes):
            assert episode_packets(output, key, episode) == episode_packets(source, key, episode)


def test_added_features_come_before_the_default_columns(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = add_features(
        source, {"reward": (np.zeros(source.num_frames), REWARD_INFO)}, tmp_path / "o"
    )
    names = list(output.features)
    assert names[-6:] == ["reward", *DEFAULT_FEATURE_NAMES]
    assert pq.read_schema(data_files(output.root)[0]).names == [
        n for n in names if output.features[n]["dtype"] != "video"
    ]


def test_add_per_frame_callable_official_form(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_image"))
    seen_rows = []

    def reward(row, episode_index, frame_index):
        seen_rows.append(row)
        return float(episode_index * 10 + frame_index)

    output = add_features(source, {"reward": (reward, REWARD_INFO)}, tmp_path / "out")
    assert validate(output) == []
    expected = np.concatenate(
        [e.episode_index * 10 + np.arange(e.length) for e in source.episodes]
    ).astype(np.float32)
    np.testing.assert_array_equal(read_column(output, "reward"), expected)
    assert read_column(output, "reward")[0] == 0.0
    first = seen_rows[0]
    assert first["frame_index"] == 0
    assert first["episode_index"] == 0
    np.testing.assert_array_equal(
        first["observation.state"], read_column(source, "observation.state")[0]
    )
    assert_stats_of(output, "reward", expected)


def test_add_batch_callable_gets_an_episodes_columns(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_multifile"))
    calls = []

    def delta(columns, episode_index):
        calls.append((episode_index, len(columns["index"])))
        return columns["action"] - columns["observation.state"]

    info = {"dtype": "float32", "shape": [6], "names": [f"d{i}" for i in range(6)]}
    output = add_features(source, {"delta": (delta, info)}, tmp_path / "out")
    assert validate(output) == []
    assert calls == [(e.episode_index, e.length) for e in source.episodes]
    expected = read_column(source, "action") - read_column(source, "observation.state")
    np.testing.assert_array_equal(read_column(output, "delta"), expected)
    assert output.features["delta"]["names"] == info["names"]


def test_add_accepts_torch_like_tensors_and_int_to_float(fixture_dataset, tmp_path):
    class FakeTensor:  # what the façade needs of a torch.Tensor
        def __init__(self, array):
            self.array = array

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.array

    source = Dataset(fixture_dataset("v3_av1_single"))
    values = np.arange(source.num_frames, dtype=np.int64)
    output = add_features(
        source,
        {
            "t": (FakeTensor(values), {"dtype": "float64", "shape": [1]}),
            "label": (
                np.array(["a", "b"] * (source.num_frames // 2)),
                {"dtype": "string", "shape": [1]},
            ),
        },
        tmp_path / "out",
    )
    assert validate(output) == []
    np.testing.assert_array_equal(read_column(output, "t"), values.astype(np.float64))
    assert "label" not in output.stats  # strings have no stats, as in the official format
    labels = (
        pq.read_table(data_files(output.root)[0], columns=["label"]).column("label").to_pylist()
    )
    assert labels[:3] == ["a", "b", "a"]


# ------------------------------------------------------------------------------------ removing


def test_remove_numeric_feature_and_video_camera(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_multifile"))
    removed = ["observation.effort", "observation.images.wrist"]
    output = remove_feature(source, removed, tmp_path / "out")
    assert validate(output) == []
    for name in removed:
        assert name not in output.features
        assert name not in output.stats
        assert not [c for c in output.episodes_table.column_names if f"/{name}/" in c]
    assert "observation.effort" not in pq.read_schema(data_files(output.root)[0]).names
    assert not (output.root / "videos" / "observation.images.wrist").exists()
    assert output.video_keys == ["observation.images.front"]
    for episode in range(source.num_episodes):
        assert episode_packets(output, "observation.images.front", episode) == episode_packets(
            source, "observation.images.front", episode
        )
    for before, after in zip(episode_stats(source), episode_stats(output), strict=True):
        for key, value in before["observation.images.front"].items():
            np.testing.assert_array_equal(after["observation.images.front"][key], value)


def test_remove_image_camera(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_image"))
    output = remove_feature(source, "observation.images.front", tmp_path / "out")
    assert validate(output) == []
    assert output.camera_keys == ["observation.images.wrist"]
    assert "observation.images.front" not in pq.read_schema(data_files(output.root)[0]).names
    assert "observation.images.front" not in output.stats


def test_remove_multidimensional_feature(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_h264_bframes"))
    output = remove_feature(source, ["observation.pose"], tmp_path / "out")
    assert validate(output) == []
    assert "observation.pose" not in output.features


# ------------------------------------------------------------------------------------ renaming


def test_rename_video_camera_keeps_packets_and_stats(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_h264_bframes"))
    output = rename_feature(
        source, {"observation.images.front": "observation.images.main"}, tmp_path / "o"
    )
    assert validate(output) == []
    assert output.video_keys == ["observation.images.main", "observation.images.wrist"]
    assert output.features["observation.images.main"] == source.features["observation.images.front"]
    assert (output.root / "videos" / "observation.images.main").is_dir()
    assert not (output.root / "videos" / "observation.images.front").exists()
    assert "videos/observation.images.main/from_timestamp" in output.episodes_table.column_names
    for episode in range(source.num_episodes):
        assert episode_packets(output, "observation.images.main", episode) == episode_packets(
            source, "observation.images.front", episode
        )
    for before, after in zip(episode_stats(source), episode_stats(output), strict=True):
        assert "observation.images.front" not in after
        for key, value in before["observation.images.front"].items():
            np.testing.assert_array_equal(after["observation.images.main"][key], value)
    for key in ("mean", "q50", "count"):
        np.testing.assert_allclose(
            output.stats["observation.images.main"][key],
            source.stats["observation.images.front"][key],
        )


def test_rename_numeric_and_image_features(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_image"))
    renames = {"action": "action.joints", "observation.images.wrist": "observation.images.hand"}
    output = rename_feature(source, renames, tmp_path / "out")
    assert validate(output) == []
    np.testing.assert_array_equal(
        read_column(output, "action.joints"), read_column(source, "action")
    )
    table = pq.read_table(data_files(output.root)[0])
    assert (
        table.column("observation.images.hand").to_pylist()
        == pq.read_table(data_files(source.root)[0]).column("observation.images.wrist").to_pylist()
    )
    assert list(output.features).index("action.joints") == list(source.features).index("action")
    for key in ("min", "max", "count"):
        np.testing.assert_array_equal(
            output.stats["action.joints"][key], source.stats["action"][key]
        )
    # The recorder aggregated episode by episode; the same formula in another order.
    np.testing.assert_allclose(output.stats["action.joints"]["std"], source.stats["action"]["std"])


def test_swap_two_names(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = rename_feature(
        source, {"action": "observation.state", "observation.state": "action"}, tmp_path / "o"
    )
    assert validate(output) == []
    np.testing.assert_array_equal(
        read_column(output, "action"), read_column(source, "observation.state")
    )


# ----------------------------------------------------------------------------- all in one pass


def test_modify_adds_removes_and_renames_in_one_pass(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_multifile"))
    success = np.arange(source.num_frames) % 3 == 0
    output = modify_features(
        source,
        add_features={"success": (success, {"dtype": "bool", "shape": [1], "names": None})},
        remove_features=["next.reward", "observation.images.wrist"],
        output_dir=tmp_path / "out",
        rename={"observation.images.front": "observation.images.top"},
    )
    assert validate(output) == []
    assert "success" in output.features
    assert "next.reward" not in output.features
    assert output.video_keys == ["observation.images.top"]
    np.testing.assert_array_equal(read_column(output, "success"), success)
    for episode in (0, source.num_episodes - 1):
        np.testing.assert_array_equal(
            decode_episode_frames(output, "observation.images.top", episode),
            decode_episode_frames(source, "observation.images.front", episode),
        )
    assert output.stats["success"]["count"][0] == source.num_frames
    assert (
        json.loads((output.root / "meta/info.json").read_text())["total_frames"]
        == source.num_frames
    )


def test_official_no_op_forms_copy_the_dataset(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    copied = remove_feature(source, [], tmp_path / "a")
    assert list(copied.features) == list(source.features)
    copied = modify_features(source, add_features={}, output_dir=tmp_path / "b")
    assert validate(copied) == []


def test_dry_run_returns_the_plan_and_writes_nothing(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    plan = modify_features(
        source,
        {"reward": (np.zeros(source.num_frames), REWARD_INFO)},
        "observation.effort",
        tmp_path / "out",
        rename={"action": "act"},
        dry_run=True,
    )
    assert isinstance(plan, Plan)
    text = plan.describe()
    assert "add features: reward" in text
    assert "drop features: observation.effort" in text
    assert "action→act" in text
    assert not (tmp_path / "out").exists()


def test_in_place_replaces_the_source(tmp_path):
    from fixture_data import copy_tree_writable, fixtures_dir

    root = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "ds")
    source = Dataset(root, repo_id="me/ds")
    output = add_features(
        source, {"reward": (np.ones(source.num_frames), REWARD_INFO)}, in_place=True
    )
    assert output.root == root.resolve()
    assert output.repo_id == "me/ds"
    assert "reward" in Dataset(root).features
    assert validate(root) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no staging or backup left


# -------------------------------------------------------------------------------------- errors


def _n(dataset: Dataset) -> int:
    return dataset.num_frames


ERRORS = [
    pytest.param(
        lambda d, o: modify_features(d, output_dir=o),
        "Must specify at least one of add_features or remove_features",
        id="no_changes",
    ),
    pytest.param(
        lambda d, o: add_features(d, {"action": (np.zeros(_n(d)), REWARD_INFO)}, o),
        "Feature 'action' already exists",
        id="add_existing",
    ),
    pytest.param(
        lambda d, o: add_features(d, {"reward": (np.zeros(_n(d)), {"dtype": "float32"})}, o),
        "feature_info for 'reward' must contain keys",
        id="info_missing_shape",
    ),
    pytest.param(
        lambda d, o: remove_feature(d, "nonexistent", o),
        "Feature 'nonexistent' not found",
        id="remove_unknown",
    ),
    pytest.param(
        lambda d, o: remove_feature(d, ["timestamp"], o),
        "Cannot remove required features",
        id="remove_required",
    ),
    pytest.param(lambda d, o: add_features(d, {}, o), "No features provided", id="add_empty"),
    pytest.param(lambda d, o: rename_feature(d, {}, o), "No features provided", id="rename_empty"),
    pytest.param(
        lambda d, o: rename_feature(d, {"nonexistent": "x"}, o),
        "Feature 'nonexistent' not found",
        id="rename_unknown",
    ),
    pytest.param(
        lambda d, o: rename_feature(d, {"action": "observation.state"}, o),
        "Feature 'observation.state' already exists",
        id="rename_onto_existing",
    ),
    pytest.param(
        lambda d, o: rename_feature(d, {"index": "row"}, o),
        "Cannot rename required features",
        id="rename_required",
    ),
    pytest.param(
        lambda d, o: rename_feature(d, {"action": "a/b"}, o), "contain no '/'", id="slash_in_name"
    ),
    pytest.param(
        lambda d, o: modify_features(d, None, ["action"], o, rename={"action": "x"}),
        "both removed and renamed",
        id="remove_and_rename",
    ),
    pytest.param(
        lambda d, o: add_features(d, {"reward": (np.zeros(_n(d) - 1), REWARD_INFO)}, o),
        "expected 234 (one row per frame in global index order)",
        id="wrong_length",
    ),
    pytest.param(
        lambda d, o: add_features(d, {"reward": (np.zeros((_n(d), 2)), REWARD_INFO)}, o),
        "rows of shape [2], its info says shape [1]",
        id="wrong_row_shape",
    ),
    pytest.param(
        lambda d, o: add_features(d, {"r": (np.zeros(_n(d)), {"dtype": "int64", "shape": [1]})}, o),
        "cannot be stored as int64",
        id="float_to_int",
    ),
    pytest.param(
        lambda d, o: add_features(
            d, {"r": (np.array(["x"] * _n(d)), {"dtype": "float32", "shape": [1]})}, o
        ),
        "cannot be stored as float32",
        id="str_to_float",
    ),
    pytest.param(
        lambda d, o: add_features(
            d, {"r": (np.zeros(_n(d)), {"dtype": "image", "shape": [2, 2, 3]})}, o
        ),
        "cannot be added",
        id="image_dtype",
    ),
    pytest.param(
        lambda d, o: add_features(
            d, {"r": (np.zeros(_n(d)), {"dtype": "complex", "shape": [1]})}, o
        ),
        "unsupported dtype",
        id="unknown_dtype",
    ),
    pytest.param(
        lambda d, o: add_features(
            d, {"r": (np.zeros(_n(d)), {"dtype": "float32", "shape": [0]})}, o
        ),
        "positive sizes",
        id="zero_size",
    ),
    pytest.param(
        lambda d, o: add_features(d, {"r": (lambda a: a, REWARD_INFO)}, o),
        "the callable must take",
        id="callable_arity",
    ),
    pytest.param(
        lambda d, o: add_features(d, {"r": (lambda c, e: np.zeros(3), REWARD_INFO)}, o),
        "for episode 0 (40 frames), gave 3 rows",
        id="batch_wrong_rows",
    ),
    pytest.param(
        lambda d, o: add_features(d, {"r": (lambda row, e, f: [1.0, 2.0], REWARD_INFO)}, o),
        "in episode 0, gave rows of shape [2]",
        id="frame_wrong_shape",
    ),
]


@pytest.mark.parametrize(("call", "phrase"), ERRORS)
def test_errors_write_nothing(call, phrase, fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    assert source.num_frames == 234
    assert source.episodes[0].length == 40
    with pytest.raises(SelectionError, match=re.escape(phrase)) as caught:
        call(source, tmp_path / "out")
    assert isinstance(caught.value, ValueError)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["src"]  # no staging folder left either


def test_messages_lead_with_the_official_phrase(fixture_dataset):
    source = Dataset(fixture_dataset("v3_av1_single"))
    with pytest.raises(SelectionError) as caught:
        plan_modify_features(source, remove_features=["frame_index"])
    assert str(caught.value).startswith(
        "Cannot remove required features: {'timestamp', 'frame_index', 'episode_index', 'index',"
        " 'task_index'}"
    )
    with pytest.raises(SelectionError) as caught:
        plan_modify_features(source, {"next.reward": (np.zeros(234), REWARD_INFO)})
    assert str(caught.value).startswith("Feature 'next.reward' already exists in dataset")


def test_source_path_is_rejected_as_output(fixture_dataset):
    from robosplice.errors import OutputExistsError

    root = fixture_dataset("v3_av1_single")
    with pytest.raises(OutputExistsError):
        add_features(root, {"reward": (np.zeros(234), REWARD_INFO)}, root)


def test_lists_of_values_from_a_path_handle(fixture_dataset, tmp_path):
    root: Path = fixture_dataset("v3_av1_single")
    output = add_features(str(root), {"reward": (list(range(234)), REWARD_INFO)}, tmp_path / "out")
    np.testing.assert_array_equal(read_column(output, "reward"), np.arange(234, dtype=np.float32))


def test_removing_every_camera_leaves_a_video_free_dataset(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = remove_feature(source, source.video_keys, tmp_path / "out")
    assert validate(output) == []
    assert output.info["video_path"] is None
    assert not (output.root / "videos").exists()
    assert not [c for c in output.episodes_table.column_names if c.startswith("videos/")]


def test_added_feature_survives_delete_split_and_merge(fixture_dataset, tmp_path):
    """The official complex workflow: add → delete [2] → split 0.75/0.25 → merge."""
    from robosplice.ops.delete import delete_episodes
    from robosplice.ops.merge import merge_datasets
    from robosplice.ops.split import split_dataset

    source = Dataset(fixture_dataset("v3_av1_single"))
    reward = np.arange(source.num_frames, dtype=np.float32)
    added = add_features(source, {"reward": (reward, REWARD_INFO)}, tmp_path / "added")
    deleted = delete_episodes(added, [2], tmp_path / "deleted")
    splits = split_dataset(deleted, {"train": 0.75, "val": 0.25}, tmp_path / "splits")
    merged = merge_datasets([splits["train"], splits["val"]], "t/merged", tmp_path / "merged")
    assert validate(merged) == []
    assert merged.num_episodes == source.num_episodes - 1
    kept = np.concatenate(
        [
            reward[e.dataset_from_index : e.dataset_to_index]
            for e in source.episodes
            if e.episode_index != 2
        ]
    )
    np.testing.assert_array_equal(read_column(merged, "reward"), kept)
    assert_stats_of(merged, "reward", kept)
