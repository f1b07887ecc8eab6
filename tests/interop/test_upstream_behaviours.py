"""Every behaviour lerobot 0.6.1's own tests assert for `dataset_tools` and `aggregate_datasets`,
checked on robosplice's outputs as the official `LeRobotDataset` loads them.

Inputs are made by the official recorder in the interop venv (make_upstream_datasets.py): the
upstream `sample_dataset` recipe (image dataset: action (6), observation.state (4),
observation.images.top 32x32x3 instead of 224x224, 5 episodes x 10 frames, tasks task_0/task_1
alternating), smaller image datasets of the same recipe to merge, and video / image datasets with
two RGB cameras and a depth camera (`info.is_depth_map`) for the aggregate and depth tests; the
shared fixture v3_av1_single for the RGB-only aggregate tests. Every output is opened with the
official loader: `harness.load_with_lerobot(root, "pyav")`, or, for datasets with a depth
camera, the same loader through `make_upstream_datasets.load_with_depth` (lerobot_dump.py
rejects depth frames, which the loader returns in millimetres). Video outputs are also loaded
with "torchcodec" and must give the same items. The outputs a group of tests reads are built
once per module and loaded in one loader process (`load_batch`): starting the loader costs more
than loading these small datasets, and this keeps the file at a couple of minutes.

Mapping: upstream test (tests/datasets/test_dataset_tools.py, test_aggregate.py at v0.6.1)
-> robosplice test here (or elsewhere in the interop tier).

test_dataset_tools.py
  test_delete_single_episode ............... test_delete_renumbers_the_kept_episodes[2]
  test_delete_multiple_episodes ............ test_delete_renumbers_the_kept_episodes[1,3]
  test_delete_consecutive_episodes ......... test_delete_renumbers_the_kept_episodes[1,2,3]
  test_delete_first_and_last_episodes ...... test_delete_renumbers_the_kept_episodes[0,4]
  test_delete_invalid_episodes ............. test_delete_rejects_a_bad_selection[invalid]
  test_delete_all_episodes ................. test_delete_rejects_a_bad_selection[all]
  test_delete_empty_list ................... test_delete_rejects_a_bad_selection[empty]
  test_delete_episodes_preserves_stats ..... test_delete_writes_stats_of_the_kept_frames
  test_delete_episodes_preserves_tasks ..... test_delete_keeps_the_tasks_of_the_kept_episodes
  test_split_by_episodes ................... test_split_by_episode_lists
  test_split_by_fractions .................. test_split_by_fractions[two]
  test_split_three_ways .................... test_split_by_fractions[three]
  test_split_all_episodes_assigned ......... test_split_assigning_every_episode
  test_split_preserves_stats ............... test_split_writes_stats_of_each_part
  test_split_overlapping_episodes .......... test_split_rejects_bad_splits[overlap]
  test_split_invalid_fractions ............. test_split_rejects_bad_splits[fractions]
  test_split_empty ......................... test_split_rejects_bad_splits[empty]
  test_merge_two_datasets .................. test_merge_two_datasets
  test_merge_three_datasets ................ test_merge_three_datasets
  test_merge_preserves_stats ............... test_merge_two_datasets (stats part)
  test_merge_empty_list .................... test_merge_rejects_an_empty_list
  test_add_features_with_values[4 shapes] .. test_add_features_from_arrays[scalar_1d|...|matrix]
  test_add_features_with_callable .......... test_add_feature_from_a_per_frame_function
  test_add_features_preserves_existing_stats test_add_features_keeps_the_existing_stats
  test_add_existing_feature ................ test_feature_edits_reject_bad_requests[existing]
  test_add_feature_invalid_info ............ test_feature_edits_reject_bad_requests[info]
  test_modify_features_add_and_remove ...... test_modify_features_adds_and_removes_at_once
  test_modify_features_only_add ............ test_modify_features_only_adds
  test_modify_features_only_remove ......... test_modify_features_only_removes
  test_modify_features_no_changes .......... test_feature_edits_reject_bad_requests[nothing]
  test_modify_features_preserves_file_structure
                                             test_add_features_keeps_data_file_positions
  test_remove_single_feature ............... test_remove_one_feature
  test_remove_multiple_features ............ test_remove_two_features
  test_remove_feature_updates_stats ........ test_remove_one_feature, test_remove_two_features
  test_remove_nonexistent_feature .......... test_feature_edits_reject_bad_requests[unknown]
  test_remove_required_feature ............. test_feature_edits_reject_bad_requests[required]
  test_remove_camera_feature ............... test_remove_the_camera
  test_complex_workflow_integration ........ test_add_delete_split_merge_workflow
  test_modify_tasks_single_task_for_all .... test_modify_tasks_in_place_sets_one_task
  test_modify_tasks_preserves_other_metadata test_modify_tasks_in_place_sets_one_task
  test_modify_tasks_in_place ............... test_modify_tasks_in_place_sets_one_task
  test_modify_tasks_episode_specific ....... test_modify_tasks_sets_each_episode[episode_tasks]
  test_modify_tasks_updates_info_json ...... test_modify_tasks_sets_each_episode[episode_tasks]
  test_modify_tasks_task_index_correct ..... test_modify_tasks_sets_each_episode[episode_tasks]
  test_modify_tasks_default_with_overrides . test_modify_tasks_sets_each_episode[default+overrides]
  test_modify_tasks_replacements ........... test_modify_tasks_sets_each_episode[replacements]
  test_modify_tasks_replacements_with_episode_overrides
                                             test_modify_tasks_sets_each_episode[replacements+overrides]
  test_modify_tasks_default_task_and_replacements
                                             test_modify_tasks_sets_each_episode[default+replacements]
  test_modify_tasks_keeps_original_when_not_overridden
                                             test_modify_tasks_sets_each_episode[partial]
  test_modify_tasks_no_task_specified ...... test_modify_tasks_rejects_bad_requests[nothing]
  test_modify_tasks_invalid_episode_indices  test_modify_tasks_rejects_bad_requests[episodes]
  test_modify_tasks_invalid_task_replacements test_modify_tasks_rejects_bad_requests[replacements]
  test_convert_image_to_video_dataset (Hub) . test_convert_image_dataset_to_video (local sample)
  test_convert_image_to_video_dataset_subset_episodes (Hub)
                                             test_convert_a_subset_of_episodes (local 3 episodes)
  test_convert_image_to_video_dataset_depth  test_convert_depth_images_with_the_depth_encoder
                                             (frames vs the recorder: test_convert_interop.py::
                                             test_depth_conversion_matches_the_recorder)
  test_reencode_dataset_depth_uses_depth_encoder
                                             test_reencode_depth_in_place_with_the_depth_encoder
  test_reencode_dataset_multi_key_multiprocessing
                                             test_reencode_two_cameras_with_workers

test_aggregate.py
  test_aggregate_datasets .................. test_aggregate_two_depth_datasets
  test_aggregate_datasets_without_concatenation
                                             test_aggregate_without_concatenation
  test_aggregate_incomplete_video_encoder_info_warns_and_nuls_encoders[mismatched_value|missing_key]
                                             test_aggregate_nulls_unlike_encoder_info[...]
  test_aggregate_with_low_threshold ........ test_aggregate_with_low_size_limits
                                             (more rotation, 3 sources: test_ops_load.py::
                                             test_merge_of_three_multifile_datasets_crossing_size_limits)
  test_video_timestamps_regression ......... test_aggregate_of_three_small_depth_datasets
  test_aggregate_one_row_group_per_episode[video|image]
                                             test_aggregate_writes_one_row_group_per_episode[...]
  test_aggregate_image_datasets ............ test_aggregate_image_datasets
  test_aggregate_already_merged_dataset .... test_aggregate_an_already_aggregated_dataset
  test_aggregate_updates_per_episode_stats . test_aggregate_shifts_per_episode_index_stats

Deliberate differences from the official tools, asserted as robosplice behaves (README):
- modify_tasks and reencode_dataset write a new folder unless `in_place=True`
  (test_modify_tasks_writes_a_new_dataset_by_default); in place they return a new handle on the
  same root (the official mutates and returns the same object).
- Stats of edited datasets are computed from the output's frames (the official keeps stale
  index/task stats); the upstream tests only ask for their presence, these also check values.
- Episode edits and merges copy video packets: frames are bit-identical to the source.
- Not a robosplice difference: FORMAT.md §7 lists "3-channel tensors" for every image key of the
  image aggregate; lerobot 0.6.1's loader returns a depth image item with 1 channel (millimetres),
  so the test asserts 3 channels for RGB and 1 for depth, as the official loader returns them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from harness import (
    INDEX_KEYS,
    assert_same_items,
    copy_dataset,
    fixtures_dir,
    frame_identities,
    load_with_lerobot,
)
from make_upstream_datasets import (
    DATASETS,
    DEPTH_CAMERA,
    RGB_CAMERAS,
    SAMPLE_CAMERA,
    encoder_fields,
    load_batch,
    load_with_depth,
    recorded_datasets,
)

import robosplice as rs
from robosplice import Dataset

SAMPLE_FRAMES = 50
NEW_TASK = "Pick up the cube and place it"
VIDEO_ENCODER_INFO_KEYS = (
    "video.g",
    "video.crf",
    "video.preset",
    "video.fast_decode",
    "video.extra_options",
    "video.video_backend",
)
RGB_ENCODER_TARGET = {"vcodec": "h264", "g": 6, "crf": 23, "pix_fmt": "yuv420p"}
DEPTH_ENCODER_TARGET = {"vcodec": "hevc", "g": 6, "crf": 23}
DEPTH_CONVERT_ENCODER = {"vcodec": "hevc", "g": 4, "crf": 20, "depth_max": 8.0}


def _float_info(*shape: int) -> dict[str, Any]:
    return {"dtype": "float32", "shape": shape, "names": None}


def _added_features() -> dict[str, tuple[Any, dict[str, Any]]]:
    """The upstream value shapes (scalar as (N,) and (N, 1), vector, matrix) and a callable."""
    rng = np.random.default_rng(11)
    n = SAMPLE_FRAMES
    return {
        "scalar_1d": (rng.normal(size=n).astype(np.float32), _float_info(1)),
        "scalar_2d": (rng.normal(size=(n, 1)).astype(np.float32), _float_info(1)),
        "vector": (rng.normal(size=(n, 7)).astype(np.float32), _float_info(7)),
        "matrix": (rng.normal(size=(n, 1, 4)).astype(np.float32), _float_info(1, 4)),
        "reward": (lambda row, episode, frame: float(episode * 10 + frame), _float_info(1)),
    }


ADDED = _added_features()
ADDED_ITEM_SHAPES = {"scalar_1d": (), "scalar_2d": (), "vector": (7,), "matrix": (1, 4)}
REWARD = np.random.default_rng(12).normal(size=SAMPLE_FRAMES).astype(np.float32)
SUCCESS = (np.arange(SAMPLE_FRAMES) % 10 == 9).astype(np.float32)

DELETIONS = {"2": [2], "1,3": [1, 3], "1,2,3": [1, 2, 3], "0,4": [0, 4]}

# case -> (modify_tasks keyword arguments, expected task of episodes 0..4)
TASK_CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "episode_tasks": (
        {"episode_tasks": {0: "Alpha", 1: "Beta", 2: "Alpha", 3: "Gamma", 4: "Beta"}},
        ["Alpha", "Beta", "Alpha", "Gamma", "Beta"],
    ),
    "default+overrides": (
        {"new_task": "Default task", "episode_tasks": {2: "Special task", 4: "Special task"}},
        ["Default task", "Default task", "Special task", "Default task", "Special task"],
    ),
    "replacements": (
        {"task_replacements": {"task_0": "Pick the cube", "task_1": "Place the cube"}},
        ["Pick the cube", "Place the cube", "Pick the cube", "Place the cube", "Pick the cube"],
    ),
    "replacements+overrides": (
        {
            "task_replacements": {"task_0": "Pick the cube", "task_1": "Place the cube"},
            "episode_tasks": {1: "Inspect the cube"},
        },
        ["Pick the cube", "Inspect the cube", "Pick the cube", "Place the cube", "Pick the cube"],
    ),
    "default+replacements": (
        {"new_task": "Default task", "task_replacements": {"task_0": "Pick the cube"}},
        ["Pick the cube", "Default task", "Pick the cube", "Default task", "Pick the cube"],
    ),
    "partial": (
        {"episode_tasks": {2: "New Task A", 3: "New Task B", 4: "New Task A"}},
        ["task_0", "task_1", "New Task A", "New Task B", "New Task A"],
    ),
}


# ------------------------------------------------------------------------------------- helpers


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def info_of(root: Path) -> dict[str, Any]:
    return read_json(root / "meta" / "info.json")


def stats_of(root: Path) -> dict[str, Any]:
    return read_json(root / "meta" / "stats.json")


def episode_rows(root: Path) -> list[dict[str, Any]]:
    """meta/episodes rows from disk, by episode_index."""
    files = sorted((root / "meta" / "episodes").glob("*/*.parquet"))
    rows = [row for path in files for row in pq.read_table(path).to_pylist()]
    return sorted(rows, key=lambda row: row["episode_index"])


def tasks_of(root: Path) -> list[str]:
    """meta/tasks.parquet from disk: the task strings in task_index order."""
    rows = pq.read_table(root / "meta" / "tasks.parquet").to_pylist()
    ordered = sorted(rows, key=lambda row: row["task_index"])
    return [next(v for k, v in row.items() if k != "task_index") for row in ordered]


def data_files(root: Path) -> list[Path]:
    return sorted((root / "data").glob("*/*.parquet"))


def video_files(root: Path, key: str) -> list[Path]:
    return sorted((root / "videos" / key).glob("*/*.mp4"))


def rows_of(root: Path, episodes: Sequence[int]) -> np.ndarray:
    """Global row numbers of the given source episodes, in the order given."""
    records = Dataset(root).episodes
    return np.concatenate(
        [np.arange(records[e].dataset_from_index, records[e].dataset_to_index) for e in episodes]
    ).astype(np.int64)


def concat_items(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Several loader dumps as one, in order (for merge outputs)."""
    keys = [k for k in parts[0] if not k.startswith("meta/")]
    joined = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    joined["meta/len"] = np.asarray(sum(int(p["meta/len"]) for p in parts))
    joined["meta/camera_keys"] = parts[0]["meta/camera_keys"]
    return joined


def assert_renumbered(
    out: dict[str, np.ndarray], src: dict[str, np.ndarray], src_root: Path, kept: Sequence[int]
) -> None:
    """`out` holds the `kept` source episodes in order, renumbered 0.., item for item."""
    rows = rows_of(src_root, kept)
    assert int(out["meta/len"]) == len(rows)
    assert int(out["meta/num_episodes"]) == len(kept)
    assert_same_items(out, src, rows, exclude=INDEX_KEYS)
    lengths = [Dataset(src_root).episodes[e].length for e in kept]
    np.testing.assert_array_equal(out["episode_index"], np.repeat(np.arange(len(kept)), lengths))
    np.testing.assert_array_equal(out["index"], np.arange(len(rows)))
    np.testing.assert_array_equal(out["frame_index"], src["frame_index"][rows])
    np.testing.assert_array_equal(out["timestamp"], src["timestamp"][rows])


def assert_stats_of_items(root: Path, items: dict[str, np.ndarray]) -> None:
    """stats.json has mean and std of action and observation.state, and they are the frames'."""
    stats = stats_of(root)
    for key in ("action", "observation.state"):
        assert {"mean", "std"} <= set(stats[key]), f"{key} stats: {sorted(stats[key])}"
        values = items[key].astype(np.float64)
        np.testing.assert_allclose(stats[key]["mean"], values.mean(axis=0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(stats[key]["std"], values.std(axis=0), rtol=1e-4, atol=1e-5)


def assert_one_row_group_per_episode(root: Path) -> set[int]:
    """Every data shard holds one row group per episode; returns the episodes seen."""
    seen: set[int] = set()
    for path in data_files(root):
        shard = pq.ParquetFile(path)
        groups = [
            set(shard.read_row_group(i, columns=["episode_index"]).column(0).to_pylist())
            for i in range(shard.num_row_groups)
        ]
        assert all(len(group) == 1 for group in groups), f"{path}: row groups {groups}"
        episodes = [group.pop() for group in groups]
        assert len(set(episodes)) == len(episodes), f"{path}: an episode spans row groups"
        seen |= set(episodes)
    return seen


_FRAME_COUNTS: dict[tuple[Path, int], int] = {}


def frame_count(path: Path) -> int:
    """Number of frames (non-empty packets) in an mp4."""
    key = (path, path.stat().st_mtime_ns)
    if key not in _FRAME_COUNTS:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            _FRAME_COUNTS[key] = sum(1 for packet in container.demux(stream) if packet.size)
    return _FRAME_COUNTS[key]


def assert_video_windows_in_bounds(root: Path) -> None:
    """Every episode's [from, to) window of every camera lies within its file's frames."""
    info = info_of(root)
    fps = info["fps"]
    keys = [k for k, f in info["features"].items() if f["dtype"] == "video"]
    for row in episode_rows(root):
        for key in keys:
            path = root / info["video_path"].format(
                video_key=key,
                chunk_index=row[f"videos/{key}/chunk_index"],
                file_index=row[f"videos/{key}/file_index"],
            )
            first = round(row[f"videos/{key}/from_timestamp"] * fps)
            last = round(row[f"videos/{key}/to_timestamp"] * fps)
            where = f"episode {row['episode_index']} {key}"
            assert 0 <= first < last <= frame_count(path), f"{where}: [{first}, {last})"
            assert last - first == row["length"], f"{where}: window != length {row['length']}"


def without_encoder_keys(features: dict[str, Any]) -> dict[str, Any]:
    """Features as `features_equal_for_merge` compares them (encoder info keys dropped)."""
    out = json.loads(json.dumps(features))
    for feature in out.values():
        if feature["dtype"] == "video":
            for key in VIDEO_ENCODER_INFO_KEYS:
                (feature.get("info") or {}).pop(key, None)
    return out


@contextlib.contextmanager
def warnings_logged() -> Iterator[list[logging.LogRecord]]:
    """Collect WARNING+ log records of any logger while the block runs."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield records
    finally:
        root.removeHandler(handler)


def aggregate(sources: Sequence[Path], target: Path, **options: Any) -> Path:
    """The official `aggregate_datasets` call, through robosplice; returns the output root."""
    rs.aggregate_datasets(
        [f"upstream/{root.name}" for root in sources],
        f"upstream/{target.name}",
        roots=list(sources),
        aggr_root=target,
        **options,
    )
    return target


class Outputs:
    """The results a group of tests reads, built once; a failed build fails only its readers."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._made: dict[str, Any] = {}
        self._failed: dict[str, BaseException] = {}
        self.warnings: dict[str, list[logging.LogRecord]] = {}

    def make(self, name: str, build: Callable[[Path], Any]) -> None:
        try:
            with warnings_logged() as records:
                self._made[name] = build(self.base / name)
            self.warnings[name] = records
        except Exception as exc:  # re-raised by __getitem__ in the tests that read it
            self._failed[name] = exc

    def __getitem__(self, name: str) -> Any:
        if name in self._failed:
            error = self._failed[name]
            raise RuntimeError(f"building output {name!r} failed: {error!r}") from error
        return self._made[name]

    def names(self) -> list[str]:
        """Names of the outputs that were built."""
        return list(self._made)

    def roots(self, *names: str) -> list[Path]:
        """Roots of the named (default: all) outputs that were built."""
        roots: list[Path] = []
        for name, value in self._made.items():
            if names and name not in names:
                continue
            values = value.values() if isinstance(value, dict) else [value]
            roots.extend(root_of(v) for v in values)
        return roots


def root_of(result: Any) -> Path:
    """The folder of an op's result: a robosplice Dataset, or a path (aggregate_datasets)."""
    return result if isinstance(result, Path) else Path(result.root)


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def sources(lerobot_python, tmp_path_factory) -> dict[str, Path]:
    """Module copies of the recorded inputs (made once per session) and of v3_av1_single."""
    recorded = recorded_datasets(lerobot_python)
    base = tmp_path_factory.mktemp("upstream-sources")
    copies = {name: copy_dataset(recorded / name, base / name) for name in DATASETS}
    copies["single"] = copy_dataset(fixtures_dir() / "v3_av1_single", base / "single")
    return copies


@pytest.fixture(scope="module")
def sample(sources) -> Path:
    return sources["sample"]


@pytest.fixture(scope="module")
def tools(lerobot_python, sources, tmp_path_factory) -> Outputs:
    """Outputs of the dataset_tools tests, loaded by the official loader in one batch."""
    out = Outputs(tmp_path_factory.mktemp("tools"))
    s = sources["sample"]
    for name, deleted in DELETIONS.items():
        out.make(f"delete {name}", lambda p, d=deleted: rs.delete_episodes(s, d, p))
    out.make("delete 0", lambda p: rs.delete_episodes(s, [0], p))
    out.make("split lists", lambda p: rs.split_dataset(s, {"train": [0, 1, 2], "val": [3, 4]}, p))
    out.make("split two", lambda p: rs.split_dataset(s, {"train": 0.6, "val": 0.4}, p))
    out.make(
        "split three", lambda p: rs.split_dataset(s, {"train": 0.6, "val": 0.2, "test": 0.2}, p)
    )
    out.make(
        "split all",
        lambda p: rs.split_dataset(s, {"split1": [0, 1], "split2": [2, 3], "split3": [4]}, p),
    )
    out.make(
        "merge two", lambda p: rs.merge_datasets([s, sources["sample_3ep"]], "upstream/two", p)
    )
    out.make(
        "merge three",
        lambda p: rs.merge_datasets(
            [s, sources["sample_2ep_a"], sources["sample_2ep_b"]], "upstream/three", p
        ),
    )
    out.make("added", lambda p: rs.add_features(s, ADDED, p))
    out.make(
        "add and remove",
        lambda p: rs.modify_features(
            out["added"], {"success": (SUCCESS, _float_info(1))}, "reward", p
        ),
    )
    out.make(
        "only add", lambda p: rs.modify_features(s, {"reward": (REWARD, _float_info(1))}, None, p)
    )
    out.make(
        "only remove",
        lambda p: rs.modify_features(out["only add"], remove_features="reward", output_dir=p),
    )
    out.make("remove one", lambda p: rs.remove_feature(out["added"], "reward", p))
    out.make("remove two", lambda p: rs.remove_feature(out["added"], ["reward", "scalar_1d"], p))
    out.make("remove camera", lambda p: rs.remove_feature(s, SAMPLE_CAMERA, p))

    def workflow(path: Path) -> Any:
        deleted = rs.delete_episodes(out["only add"], [2], path / "deleted")
        parts = rs.split_dataset(deleted, {"train": 0.75, "val": 0.25}, path / "splits")
        return rs.merge_datasets([parts["train"], parts["val"]], "upstream/wf", path / "merged")

    out.make("workflow", workflow)
    out.make(
        "split then add",
        lambda p: rs.add_features(
            out["split lists"]["train"], {"reward": (REWARD[:30], _float_info(1))}, p
        ),
    )

    def tasks_in_place(path: Path) -> Any:
        copy_dataset(s, path)
        return rs.modify_tasks(path, new_task=NEW_TASK, in_place=True)

    out.make("tasks in place", tasks_in_place)
    for case, (kwargs, _expected) in TASK_CASES.items():
        out.make(f"tasks {case}", lambda p, k=kwargs: rs.modify_tasks(s, **k, output_dir=p))
    encoder = {"vcodec": "libsvtav1", "pix_fmt": "yuv420p", "g": 2, "crf": 30}
    out.make(
        "converted",
        lambda p: rs.convert_image_to_video_dataset(
            s, p, rgb_encoder=encoder, episode_indices=[0, 1]
        ),
    )
    out.make(
        "converted subset",
        lambda p: rs.convert_image_to_video_dataset(
            sources["sample_3ep"], p, rgb_encoder=encoder, episode_indices=[0]
        ),
    )
    out.make(
        "converted depth",
        lambda p: rs.convert_image_to_video_dataset(
            sources["image_a"], p, depth_encoder=DEPTH_CONVERT_ENCODER, num_workers=2
        ),
    )

    def reencode_depth(path: Path) -> Any:
        copy_dataset(sources["video_c"], path)
        return rs.reencode_dataset(path, depth_encoder=DEPTH_ENCODER_TARGET, in_place=True)

    def reencode_rgb(path: Path) -> Any:
        copy_dataset(sources["video_d"], path)
        # Any object with the encoder-config fields is accepted (duck-typed, no lerobot import).
        target = types.SimpleNamespace(**RGB_ENCODER_TARGET)
        return rs.reencode_dataset(path, rgb_encoder=target, num_workers=2, in_place=True)

    out.make("reencoded depth", reencode_depth)
    out.make("reencoded rgb", reencode_rgb)

    depth_outputs = ("converted depth", "reencoded depth", "reencoded rgb")
    plain = [r for name in out.names() if name not in depth_outputs for r in out.roots(name)]
    plain += [sources[n] for n in ("sample", "sample_3ep", "sample_2ep_a", "sample_2ep_b")]
    plain += [(r, "torchcodec") for r in out.roots("converted", "converted subset")]
    depth: dict[Any, Any] = dict.fromkeys(
        (sources["image_a"], sources["video_c"], sources["video_d"])
    )
    for name in depth_outputs:
        for root in out.roots(name):
            depth[root] = depth[(root, "torchcodec")] = expect_for(name)
    load_batch(lerobot_python, plain=plain, depth=depth)
    return out


def expect_for(name: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """The official encoder configs each depth-test output's info must rebuild to."""
    if name == "converted depth":
        return {
            DEPTH_CAMERA: ("DepthEncoderConfig", DEPTH_CONVERT_ENCODER),
            **{key: ("RGBEncoderConfig", {}) for key in RGB_CAMERAS},
        }
    if name == "reencoded depth":
        return {DEPTH_CAMERA: ("DepthEncoderConfig", DEPTH_ENCODER_TARGET)}
    return dict.fromkeys(RGB_CAMERAS, ("RGBEncoderConfig", RGB_ENCODER_TARGET))


def load(result: Any) -> dict[str, np.ndarray]:
    return load_with_lerobot(root_of(result), "pyav")


# ---------------------------------------------------------------------------- delete_episodes


@pytest.mark.parametrize("name", list(DELETIONS))
def test_delete_renumbers_the_kept_episodes(tools, sample, name):
    kept = [e for e in range(5) if e not in DELETIONS[name]]
    output = tools[f"delete {name}"]
    items = load(output)
    info = info_of(output.root)
    assert (info["total_episodes"], info["total_frames"]) == (len(kept), 10 * len(kept))
    assert int(items["meta/len"]) == 10 * len(kept)
    assert set(items["episode_index"].tolist()) == set(range(len(kept)))
    assert_renumbered(items, load(sample), sample, kept)


def test_delete_writes_stats_of_the_kept_frames(tools):
    output = tools["delete 2"]
    items = load(output)
    assert_stats_of_items(output.root, items)
    # Deliberate difference: index stats describe the renumbered output (the official copies the
    # source episodes' episode_index/index stats unchanged, stale after renumbering).
    for row in episode_rows(output.root):
        first, stop = row["dataset_from_index"], row["dataset_to_index"]
        assert (
            row["stats/episode_index/min"]
            == row["stats/episode_index/max"]
            == [row["episode_index"]]
        )
        assert (row["stats/index/min"], row["stats/index/max"]) == ([first], [stop - 1])
    stats = stats_of(output.root)
    assert (stats["index"]["min"], stats["index"]["max"]) == ([0], [39])
    assert stats["episode_index"]["max"] == [3]


def test_delete_keeps_the_tasks_of_the_kept_episodes(tools, sample):
    output = tools["delete 0"]
    items = load(output)
    assert sorted(tasks_of(output.root)) == ["task_0", "task_1"]
    assert info_of(output.root)["total_tasks"] == 2
    assert all(task for task in items["task"])
    assert_renumbered(items, load(sample), sample, [1, 2, 3, 4])


@pytest.mark.parametrize(
    ("indices", "message"),
    [
        ([10, 20], "Invalid episode indices"),
        ([0, 1, 2, 3, 4], "Cannot delete all episodes"),
        ([], "No episodes to delete"),
    ],
    ids=["invalid", "all", "empty"],
)
def test_delete_rejects_a_bad_selection(sample, tmp_path, indices, message):
    with pytest.raises(ValueError, match=message):
        rs.delete_episodes(sample, indices, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a staging folder


# ------------------------------------------------------------------------------ split_dataset


def test_split_by_episode_lists(tools, sample):
    parts = tools["split lists"]
    assert set(parts) == {"train", "val"}
    for name, kept in (("train", [0, 1, 2]), ("val", [3, 4])):
        items = load(parts[name])
        info = info_of(parts[name].root)
        assert (info["total_episodes"], info["total_frames"]) == (len(kept), 10 * len(kept))
        assert set(items["episode_index"].tolist()) == set(range(len(kept)))
        assert_renumbered(items, load(sample), sample, kept)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("split two", {"train": [0, 1, 2], "val": [3, 4]}),
        ("split three", {"train": [0, 1, 2], "val": [3], "test": [4]}),
    ],
    ids=["two", "three"],
)
def test_split_by_fractions(tools, sample, case, expected):
    parts = tools[case]
    assert set(parts) == set(expected)
    total = 0
    for name, kept in expected.items():
        items = load(parts[name])
        assert info_of(parts[name].root)["total_episodes"] == len(kept)
        assert_renumbered(items, load(sample), sample, kept)
        total += int(items["meta/len"])
    assert total == SAMPLE_FRAMES


def test_split_assigning_every_episode(tools, sample):
    parts = tools["split all"]
    expected = {"split1": [0, 1], "split2": [2, 3], "split3": [4]}
    assert sum(info_of(p.root)["total_episodes"] for p in parts.values()) == 5
    for name, kept in expected.items():
        assert_renumbered(load(parts[name]), load(sample), sample, kept)


def test_split_writes_stats_of_each_part(tools):
    for part in tools["split lists"].values():
        assert_stats_of_items(part.root, load(part))


@pytest.mark.parametrize(
    ("splits", "message"),
    [
        ({"train": [0, 1, 2], "val": [2, 3, 4]}, "Episodes cannot appear in multiple splits"),
        ({"train": 0.7, "val": 0.5}, r"Split fractions must sum to <= 1\.0"),
        ({}, "No splits provided"),
    ],
    ids=["overlap", "fractions", "empty"],
)
def test_split_rejects_bad_splits(sample, tmp_path, splits, message):
    with pytest.raises(ValueError, match=message):
        rs.split_dataset(sample, splits, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- merge_datasets


def test_merge_two_datasets(tools, sources):
    merged = tools["merge two"]
    items = load(merged)
    info = info_of(merged.root)
    assert (info["total_episodes"], info["total_frames"]) == (8, 80)
    assert sorted(set(items["episode_index"].tolist())) == list(range(8))
    both = concat_items([load(sources["sample"]), load(sources["sample_3ep"])])
    assert_same_items(items, both, np.arange(80), exclude=INDEX_KEYS)
    np.testing.assert_array_equal(items["index"], np.arange(80))
    assert_stats_of_items(merged.root, items)


def test_merge_three_datasets(tools, sources):
    merged = tools["merge three"]
    items = load(merged)
    info = info_of(merged.root)
    assert (info["total_episodes"], info["total_frames"]) == (9, 90)
    assert int(items["meta/num_episodes"]) == 9
    parts = [load(sources[n]) for n in ("sample", "sample_2ep_a", "sample_2ep_b")]
    assert_same_items(items, concat_items(parts), np.arange(90), exclude=INDEX_KEYS)


def test_merge_rejects_an_empty_list(tmp_path):
    with pytest.raises(ValueError, match="No datasets to merge"):
        rs.merge_datasets([], "upstream/nothing", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- add / modify / remove features


@pytest.mark.parametrize("name", list(ADDED_ITEM_SHAPES))
def test_add_features_from_arrays(tools, name):
    output = tools["added"]
    items = load(output)
    values, feature_info = ADDED[name]
    stored = info_of(output.root)["features"][name]
    assert stored == {**feature_info, "shape": list(feature_info["shape"])}
    assert int(items["meta/len"]) == SAMPLE_FRAMES
    assert items[name].shape == (SAMPLE_FRAMES, *ADDED_ITEM_SHAPES[name])
    np.testing.assert_array_equal(items[name], values.reshape(items[name].shape))


def test_add_feature_from_a_per_frame_function(tools):
    items = load(tools["added"])
    assert "reward" in info_of(tools["added"].root)["features"]
    first_episode = np.flatnonzero(items["episode_index"] == 0)
    assert len(first_episode) == 10
    assert items["frame_index"][0] == 0
    assert float(items["reward"][0]) == 0.0
    expected = items["episode_index"] * 10 + items["frame_index"]
    np.testing.assert_array_equal(items["reward"], expected.astype(np.float32))


def test_add_features_keeps_the_existing_stats(tools, sample):
    before, after = stats_of(sample), stats_of(tools["added"].root)
    for key in ("action", "observation.state"):
        for stat in ("mean", "std"):
            np.testing.assert_allclose(after[key][stat], before[key][stat], rtol=1e-6)


def test_modify_features_adds_and_removes_at_once(tools):
    output = tools["add and remove"]
    items = load(output)
    features = info_of(output.root)["features"]
    assert "success" in features
    assert "reward" not in features
    assert "success" in items
    assert "reward" not in items
    assert int(items["meta/len"]) == SAMPLE_FRAMES
    np.testing.assert_array_equal(items["success"], SUCCESS)


def test_modify_features_only_adds(tools, sample):
    output = tools["only add"]
    items = load(output)
    assert "reward" in info_of(output.root)["features"]
    assert int(items["meta/len"]) == SAMPLE_FRAMES
    np.testing.assert_array_equal(items["reward"], REWARD)
    kept = {k: v for k, v in items.items() if k != "reward"}
    assert_same_items(kept, load(sample), np.arange(SAMPLE_FRAMES))


def test_modify_features_only_removes(tools, sample):
    output = tools["only remove"]
    items = load(output)
    assert "reward" not in info_of(output.root)["features"]
    assert "reward" not in items
    assert_same_items(items, load(sample), np.arange(SAMPLE_FRAMES))


def test_remove_one_feature(tools):
    output = tools["remove one"]
    items = load(output)
    assert "reward" not in info_of(output.root)["features"]
    assert "reward" not in items
    assert "reward" not in stats_of(output.root)
    added = load(tools["added"])
    assert_same_items(items, {k: v for k, v in added.items() if k != "reward"}, np.arange(50))


def test_remove_two_features(tools):
    output = tools["remove two"]
    items = load(output)
    features, stats = info_of(output.root)["features"], stats_of(output.root)
    for name in ("reward", "scalar_1d"):
        assert name not in features
        assert name not in items
        assert name not in stats
    assert "vector" in items


def test_remove_the_camera(tools, sample):
    output = tools["remove camera"]
    items = load(output)
    assert SAMPLE_CAMERA not in info_of(output.root)["features"]
    assert SAMPLE_CAMERA not in [str(k) for k in items["meta/camera_keys"]]
    assert SAMPLE_CAMERA not in items
    source = load(sample)
    source = {k: v for k, v in source.items() if k != SAMPLE_CAMERA}
    source["meta/camera_keys"] = items["meta/camera_keys"]
    assert_same_items(items, source, np.arange(SAMPLE_FRAMES))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s, p: rs.add_features(s, {"action": (np.zeros(50), _float_info(1))}, p),
            "Feature 'action' already exists",
        ),
        (
            lambda s, p: rs.add_features(s, {"reward": (np.zeros(50), {"dtype": "float32"})}, p),
            "feature_info for 'reward' must contain keys",
        ),
        (
            lambda s, p: rs.modify_features(s, output_dir=p),
            "Must specify at least one of add_features or remove_features",
        ),
        (
            lambda s, p: rs.remove_feature(s, "nonexistent", p),
            "Feature 'nonexistent' not found",
        ),
        (lambda s, p: rs.remove_feature(s, "timestamp", p), "Cannot remove required features"),
    ],
    ids=["existing", "info", "nothing", "unknown", "required"],
)
def test_feature_edits_reject_bad_requests(sample, tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(sample, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_add_features_keeps_data_file_positions(tools):
    train = tools["split lists"]["train"]
    output = tools["split then add"]
    items = load(output)
    assert "reward" in info_of(output.root)["features"]
    np.testing.assert_array_equal(items["reward"], REWARD[:30])
    positions = [
        [(row["data/chunk_index"], row["data/file_index"]) for row in episode_rows(root)]
        for root in (train.root, output.root)
    ]
    assert positions[0] == positions[1]


def test_add_delete_split_merge_workflow(tools, sample):
    merged = tools["workflow"]
    items = load(merged)
    info = info_of(merged.root)
    assert (info["total_episodes"], info["total_frames"]) == (4, 40)
    assert "reward" in info["features"]
    assert int(items["meta/len"]) == 40
    # Episodes 0, 1, 3 (train) then 4 (val) of the sample, each with its reward.
    kept = [0, 1, 3, 4]
    np.testing.assert_array_equal(items["reward"], REWARD[rows_of(sample, kept)])
    assert_renumbered({k: v for k, v in items.items() if k != "reward"}, load(sample), sample, kept)


# ------------------------------------------------------------------------------- modify_tasks


def test_modify_tasks_in_place_sets_one_task(tools, sample):
    output = tools["tasks in place"]
    # robosplice: a new handle on the same root (the official returns the same object).
    assert output.root == (tools.base / "tasks in place").resolve()
    items = load(output)
    assert tasks_of(output.root) == [NEW_TASK]
    info, before = info_of(output.root), info_of(sample)
    assert info["total_tasks"] == 1
    for key in ("total_frames", "total_episodes", "fps"):
        assert info[key] == before[key]
    np.testing.assert_array_equal(items["task_index"], np.zeros(SAMPLE_FRAMES, np.int64))
    assert set(items["task"].tolist()) == {NEW_TASK}
    exclude = ("task", "task_index")
    assert_same_items(items, load(sample), np.arange(SAMPLE_FRAMES), exclude=exclude)


@pytest.mark.parametrize("case", list(TASK_CASES))
def test_modify_tasks_sets_each_episode(tools, sample, case):
    output = tools[f"tasks {case}"]
    expected = TASK_CASES[case][1]
    items = load(output)
    tasks = sorted(set(expected))  # the task table is alphabetical, as the official writes it
    assert tasks_of(output.root) == tasks
    assert info_of(output.root)["total_tasks"] == len(tasks)
    assert [row["tasks"][0] for row in episode_rows(output.root)] == expected
    per_item = [expected[e] for e in items["episode_index"]]
    assert items["task"].tolist() == per_item
    np.testing.assert_array_equal(items["task_index"], [tasks.index(t) for t in per_item])
    exclude = ("task", "task_index")
    assert_same_items(items, load(sample), np.arange(SAMPLE_FRAMES), exclude=exclude)


def test_modify_tasks_writes_a_new_dataset_by_default(tools, sample):
    # Deliberate difference: without in_place=True the source is left as it was.
    for case in TASK_CASES:
        assert tools[f"tasks {case}"].root != sample.resolve()
    assert tasks_of(sample) == ["task_0", "task_1"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "Must specify at least one of new_task, episode_tasks, or task_replacements"),
        ({"episode_tasks": {10: "A", 20: "B"}}, "Invalid episode indices"),
        ({"task_replacements": {"unknown task": "A"}}, "Task replacements reference unknown tasks"),
    ],
    ids=["nothing", "episodes", "replacements"],
)
def test_modify_tasks_rejects_bad_requests(sample, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        rs.modify_tasks(sample, **kwargs, output_dir=tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------- conversion and re-encoding


def assert_same_frames_with_torchcodec(root: Path) -> None:
    pyav = load_with_lerobot(root, "pyav")
    torchcodec = load_with_lerobot(root, "torchcodec")
    assert_same_items(torchcodec, pyav, np.arange(int(pyav["meta/len"])))


def test_convert_image_dataset_to_video(tools, sample):
    output = tools["converted"]
    items = load(output)
    info = info_of(output.root)
    assert [str(k) for k in items["meta/video_keys"]] == [SAMPLE_CAMERA]
    assert info["features"][SAMPLE_CAMERA]["dtype"] == "video"
    assert info["total_episodes"] == 2
    rows = rows_of(sample, [0, 1])
    assert int(items["meta/len"]) == len(rows) == info["total_frames"]
    assert video_files(output.root, SAMPLE_CAMERA)
    assert items[SAMPLE_CAMERA].shape == (len(rows), 3, 32, 32)
    assert "action" in items
    assert_same_items(items, load(sample), rows, exclude=(SAMPLE_CAMERA,))
    assert_same_frames_with_torchcodec(output.root)


def test_convert_a_subset_of_episodes(tools, sources):
    output = tools["converted subset"]
    items = load(output)
    assert info_of(output.root)["total_episodes"] == 1
    assert [str(k) for k in items["meta/video_keys"]] == [SAMPLE_CAMERA]
    source = sources["sample_3ep"]
    assert_same_items(items, load(source), rows_of(source, [0]), exclude=(SAMPLE_CAMERA,))
    assert_same_frames_with_torchcodec(output.root)


def assert_backends_agree(python: Path, root: Path, expect: Any = None) -> None:
    """torchcodec returns exactly the items pyav returns (depth included)."""
    pyav = load_with_depth(root, python, expect)
    torchcodec = load_with_depth(root, python, expect, backend="torchcodec")
    assert_same_items(torchcodec, pyav, np.arange(int(pyav["meta/len"])))


def assert_encoders_rebuild(items: dict[str, np.ndarray], keys: Sequence[str]) -> None:
    """The official `encoder_config_from_video_info` rebuilds exactly the expected config."""
    for key in keys:
        assert encoder_fields(items, key) == encoder_fields(items, key, expected=True), key


def test_convert_depth_images_with_the_depth_encoder(lerobot_python, tools, sources):
    output = tools["converted depth"]
    items = load_with_depth(output.root, lerobot_python, expect_for("converted depth"))
    source = load_with_depth(sources["image_a"], lerobot_python)
    features = info_of(output.root)["features"]
    assert all(features[key]["dtype"] == "video" for key in (*RGB_CAMERAS, DEPTH_CAMERA))
    assert [str(k) for k in items["meta/depth_keys"]] == [DEPTH_CAMERA]
    assert_encoders_rebuild(items, [DEPTH_CAMERA, *RGB_CAMERAS])
    assert features[DEPTH_CAMERA]["info"]["is_depth_map"] is True
    for key in RGB_CAMERAS:
        assert features[key]["info"]["is_depth_map"] is False
        assert features[key]["info"]["video.codec"] == "av1"
    assert_same_items(items, source, np.arange(18), exclude=(*RGB_CAMERAS, DEPTH_CAMERA))
    # 12-bit log quantisation up to depth_max 8 m: well under 1% off the recorded millimetres.
    np.testing.assert_allclose(items[DEPTH_CAMERA], source[DEPTH_CAMERA], rtol=0.01)
    assert_backends_agree(lerobot_python, output.root, expect_for("converted depth"))


def test_reencode_depth_in_place_with_the_depth_encoder(lerobot_python, tools, sources):
    output = tools["reencoded depth"]
    assert output.root == (tools.base / "reencoded depth").resolve()
    items = load_with_depth(output.root, lerobot_python, expect_for("reencoded depth"))
    source = load_with_depth(sources["video_c"], lerobot_python)
    assert_encoders_rebuild(items, [DEPTH_CAMERA])
    assert info_of(output.root)["features"][DEPTH_CAMERA]["info"]["is_depth_map"] is True
    assert [str(k) for k in items["meta/depth_keys"]] == [DEPTH_CAMERA]
    # Lossless HEVC both before and after: the same 12-bit codes, so the same millimetres.
    np.testing.assert_array_equal(items[DEPTH_CAMERA], source[DEPTH_CAMERA])
    assert_same_items(items, source, np.arange(len(source["index"])))
    assert_backends_agree(lerobot_python, output.root, expect_for("reencoded depth"))


def test_reencode_two_cameras_with_workers(lerobot_python, tools, sources):
    output = tools["reencoded rgb"]
    items = load_with_depth(output.root, lerobot_python, expect_for("reencoded rgb"))
    source = load_with_depth(sources["video_d"], lerobot_python)
    assert_encoders_rebuild(items, RGB_CAMERAS)
    for key in RGB_CAMERAS:
        assert info_of(output.root)["features"][key]["info"]["video.codec"] == "h264"
        identities = np.stack([items["episode_index"], items["frame_index"]], axis=1)
        np.testing.assert_array_equal(frame_identities(items[key]), identities)
    # The depth camera had no encoder given: copied as it was.
    assert encoder_fields(items, DEPTH_CAMERA) == encoder_fields(source, DEPTH_CAMERA)
    n = len(source["index"])
    assert_same_items(items, source, np.arange(n), exclude=RGB_CAMERAS)
    assert_backends_agree(lerobot_python, output.root, expect_for("reencoded rgb"))


# -------------------------------------------------------------------------- aggregate_datasets


@pytest.fixture(scope="module")
def aggregates(lerobot_python, sources, tmp_path_factory) -> Outputs:
    """Outputs of the aggregate tests, loaded by the official loader in one batch."""
    out = Outputs(tmp_path_factory.mktemp("aggregates"))
    a, b, c, d = (sources[n] for n in ("video_a", "video_b", "video_c", "video_d"))
    single = sources["single"]
    out.make("two", lambda p: aggregate([a, b], p))
    out.make(
        "no concatenation",
        lambda p: aggregate(
            [single, copy_dataset(single, p.parent / "single_again")],
            p,
            concatenate_videos=False,
            concatenate_data=False,
        ),
    )
    out.make(
        "low limits",
        lambda p: aggregate([a, b], p, data_files_size_in_mb=0.01, video_files_size_in_mb=0.1),
    )
    out.make(
        "three small", lambda p: aggregate([c, d, copy_dataset(c, p.parent / "video_c_again")], p)
    )
    out.make("images", lambda p: aggregate([sources["image_a"], sources["image_b"]], p))
    out.make("again", lambda p: aggregate([root_of(out["low limits"]), c], p))

    def unlike_encoders(path: Path, case: str) -> Path:
        edited = copy_dataset(single, path.parent / f"single_{case}")
        info = info_of(edited)
        for feature in info["features"].values():
            if feature["dtype"] == "video":
                if case == "mismatched_value":
                    feature["info"]["video.crf"] = 99
                    feature["info"]["video.extra_options"] = {"tune": "film"}
                else:
                    feature["info"].pop("video.crf")
                    feature["info"].pop("video.extra_options")
        (edited / "meta" / "info.json").write_text(json.dumps(info, indent=4))
        return aggregate([single, edited], path)

    for case in ("mismatched_value", "missing_key"):
        out.make(f"encoders {case}", lambda p, c=case: unlike_encoders(p, c))

    plain_names = ("no concatenation", "encoders mismatched_value", "encoders missing_key")
    plain: list[Path | tuple[Path, str]] = [single, (single, "torchcodec")]
    plain += out.roots(*plain_names)
    plain += [(root, "torchcodec") for root in out.roots("no concatenation")]
    depth_roots: list[Any] = [sources[n] for n in ("video_a", "video_b", "video_c", "video_d")]
    depth_roots += [sources["image_a"], sources["image_b"]]
    depth_roots += [r for name in out.names() if name not in plain_names for r in out.roots(name)]
    depth_roots += [(r, "torchcodec") for r in out.roots("two", "low limits", "three small")]
    load_batch(lerobot_python, plain=plain, depth=dict.fromkeys(depth_roots))
    return out


def assert_aggregate_of(
    root: Path,
    items: dict[str, np.ndarray],
    parts: Sequence[tuple[Path, dict[str, np.ndarray]]],
) -> None:
    """The upstream integrity checks of an aggregate of `parts` (source root, source items)."""
    sizes = [int(p["meta/len"]) for _, p in parts]
    episodes = [int(p["meta/num_episodes"]) for _, p in parts]
    n = sum(sizes)
    info = info_of(root)
    assert (info["total_episodes"], info["total_frames"]) == (sum(episodes), n)
    assert int(items["meta/len"]) == n
    assert int(items["meta/num_episodes"]) == sum(episodes)
    # Every item (every camera frame, depth included, bit for bit) is its source item.
    assert_same_items(items, concat_items([p for _, p in parts]), np.arange(n), exclude=INDEX_KEYS)
    np.testing.assert_array_equal(items["index"], np.arange(n))
    # Each part's episodes occupy its own range of episode indices.
    start = 0
    for size, first, count in zip(sizes, np.cumsum([0, *episodes[:-1]]), episodes, strict=True):
        part = items["episode_index"][start : start + size]
        assert first <= part.min()
        assert part.max() < first + count
        start += size
    first_info = info_of(parts[0][0])
    for source_root, _ in parts:
        assert info["fps"] == info_of(source_root)["fps"]
        assert info["robot_type"] == info_of(source_root)["robot_type"]
        assert without_encoder_keys(info["features"]) == without_encoder_keys(
            info_of(source_root)["features"]
        )
    union: list[str] = []
    for source_root, _ in parts:
        union += [t for t in tasks_of(source_root) if t not in union]
    assert tasks_of(root) == union
    assert sorted(set(items["task"].tolist())) == sorted(union)
    if "meta/depth_keys" in items:
        assert [str(k) for k in items["meta/depth_keys"]] == [
            k
            for k, f in first_info["features"].items()
            if (f.get("info") or {}).get("is_depth_map")
        ]
        for key in items["meta/depth_keys"]:
            assert info["features"][str(key)]["info"]["is_depth_map"] is True
    if any(f["dtype"] == "video" for f in info["features"].values()):
        assert_video_windows_in_bounds(root)


def depth_items(python: Path, root: Path) -> dict[str, np.ndarray]:
    return load_with_depth(root, python)


def test_aggregate_two_depth_datasets(lerobot_python, aggregates, sources):
    root = root_of(aggregates["two"])
    items = depth_items(lerobot_python, root)
    parts = [(sources[n], depth_items(lerobot_python, sources[n])) for n in ("video_a", "video_b")]
    assert all(len(p["meta/depth_keys"]) for _, p in parts)
    assert_aggregate_of(root, items, parts)
    assert tasks_of(root) == ["reach", "grasp", "place"]
    assert_backends_agree(lerobot_python, root)


def test_aggregate_without_concatenation(aggregates, sources):
    root = root_of(aggregates["no concatenation"])
    items = load_with_lerobot(root, "pyav")
    single = load_with_lerobot(sources["single"], "pyav")
    copy_root = root.parent / "single_again"
    assert_aggregate_of(root, items, [(sources["single"], single), (copy_root, single)])
    assert len(data_files(root)) == 2
    keys = [str(k) for k in items["meta/video_keys"]]
    assert keys
    for key in keys:
        assert len(video_files(root, key)) == 2
    assert_same_frames_with_torchcodec(root)


@pytest.mark.parametrize("case", ["mismatched_value", "missing_key"])
def test_aggregate_nulls_unlike_encoder_info(aggregates, sources, case):
    root = root_of(aggregates[f"encoders {case}"])
    messages = [r.getMessage().lower() for r in aggregates.warnings[f"encoders {case}"]]
    assert any("heterogeneous" in m or "incomplete" in m for m in messages), messages
    merged, first = info_of(root)["features"], info_of(sources["single"])["features"]
    video_keys = [k for k, f in merged.items() if f["dtype"] == "video"]
    assert video_keys
    for key in video_keys:
        info = merged[key]["info"]
        assert info["video.crf"] is None
        assert info["video.extra_options"] == {}
        for name in set(VIDEO_ENCODER_INFO_KEYS) - {"video.crf", "video.extra_options"}:
            assert info.get(name) == first[key]["info"].get(name), name
    items = load_with_lerobot(root, "pyav")
    single = load_with_lerobot(sources["single"], "pyav")
    assert_same_items(items, concat_items([single, single]), np.arange(2 * 234), exclude=INDEX_KEYS)


def test_aggregate_with_low_size_limits(lerobot_python, aggregates, sources):
    root = root_of(aggregates["low limits"])
    items = depth_items(lerobot_python, root)
    parts = [(sources[n], depth_items(lerobot_python, sources[n])) for n in ("video_a", "video_b")]
    assert_aggregate_of(root, items, parts)
    assert len(data_files(root)) > 1
    keys = [*RGB_CAMERAS, DEPTH_CAMERA]
    assert sum(len(video_files(root, key)) for key in keys) > len(keys)
    assert_backends_agree(lerobot_python, root)


def test_aggregate_of_three_small_depth_datasets(lerobot_python, aggregates, sources):
    root = root_of(aggregates["three small"])
    items = depth_items(lerobot_python, root)
    c = depth_items(lerobot_python, sources["video_c"])
    d = depth_items(lerobot_python, sources["video_d"])
    again = root.parent / "video_c_again"
    assert_aggregate_of(root, items, [(sources["video_c"], c), (sources["video_d"], d), (again, c)])
    assert [str(k) for k in items["meta/depth_keys"]] == [str(k) for k in c["meta/depth_keys"]]
    n = int(items["meta/len"])
    for key in (*RGB_CAMERAS, DEPTH_CAMERA):
        channels = 1 if key == DEPTH_CAMERA else 3
        assert items[key].shape[:2] == (n, channels), key
    assert_backends_agree(lerobot_python, root)


@pytest.mark.parametrize("kind", ["video", "image"])
def test_aggregate_writes_one_row_group_per_episode(aggregates, kind):
    root = root_of(aggregates["two" if kind == "video" else "images"])
    assert assert_one_row_group_per_episode(root) == set(range(7))


def test_aggregate_image_datasets(lerobot_python, aggregates, sources):
    root = root_of(aggregates["images"])
    items = depth_items(lerobot_python, root)
    parts = [(sources[n], depth_items(lerobot_python, sources[n])) for n in ("image_a", "image_b")]
    assert list(items["meta/image_keys"]) == list(parts[0][1]["meta/image_keys"])
    assert len(items["meta/image_keys"]) == 3
    assert_aggregate_of(root, items, parts)
    # The data files declare the cameras as datasets.Image (what HF `datasets` reads back).
    for path in data_files(root):
        metadata = pq.read_schema(path).metadata or {}
        hf_features = json.loads(metadata[b"huggingface"])["info"]["features"]
        for key in (*RGB_CAMERAS, DEPTH_CAMERA):
            assert hf_features[key] == {"_type": "Image"}, (path, key)
    # Items: 3-channel RGB; the depth camera as 0.6.1's loader returns it (1 channel, mm).
    for key in RGB_CAMERAS:
        assert items[key].shape[1] == 3
        assert items[key].ndim == 4
    assert items[DEPTH_CAMERA].shape[1] == 1


def test_aggregate_an_already_aggregated_dataset(lerobot_python, aggregates, sources):
    first = root_of(aggregates["low limits"])
    root = root_of(aggregates["again"])
    assert len(data_files(first)) > 1
    info = info_of(root)
    for row in episode_rows(root):
        path = root / info["data_path"].format(
            chunk_index=row["data/chunk_index"], file_index=row["data/file_index"]
        )
        assert path.is_file(), path
    items = depth_items(lerobot_python, root)
    parts = [(first, depth_items(lerobot_python, first))]
    parts.append((sources["video_c"], depth_items(lerobot_python, sources["video_c"])))
    assert_aggregate_of(root, items, parts)
    assert info["total_episodes"] == 3 + 4 + 2


def test_aggregate_shifts_per_episode_index_stats(aggregates, sources):
    root = root_of(aggregates["two"])
    tasks = tasks_of(root)
    assert tasks == ["reach", "grasp", "place"]  # "grasp" is in both sources, counted once
    source_rows = episode_rows(sources["video_a"]) + episode_rows(sources["video_b"])
    offsets = [(0, 0)] * 3 + [(3, 36)] * 4  # (episodes, frames) before each source episode
    rows = episode_rows(root)
    assert len(rows) == len(source_rows) == 7
    for row, source, (episode_offset, frame_offset) in zip(rows, source_rows, offsets, strict=True):
        task_id = tasks.index(source["tasks"][0])
        stat_columns = [c for c in source if c.startswith("stats/")]
        assert sorted(stat_columns) == sorted(c for c in row if c.startswith("stats/"))
        for column in stat_columns:
            feature, stat = column[len("stats/") :].rsplit("/", 1)
            got, was = np.asarray(row[column]), np.asarray(source[column])
            where = f"episode {row['episode_index']} {column}"
            if feature in ("episode_index", "index") and stat not in ("std", "count"):
                shift = episode_offset if feature == "episode_index" else frame_offset
                np.testing.assert_allclose(got, was + shift, rtol=0, atol=1e-9, err_msg=where)
            elif feature == "task_index" and stat != "count":
                want = 0.0 if stat == "std" else float(task_id)
                # atol: robosplice's histogram quantiles of a constant leave ~1e-16 residues.
                np.testing.assert_allclose(got, np.full_like(was, want), atol=1e-9, err_msg=where)
            else:
                np.testing.assert_array_equal(got, was, err_msg=where)
