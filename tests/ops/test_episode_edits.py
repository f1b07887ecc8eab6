"""delete, split, merge, trim, filter: every output episode equals its source episode or range.

Frames are decoded from the files and compared bit for bit; data rows are compared column by
column (index columns are recomputed and checked separately); `validate` passes; sources are
byte-identical afterwards (the `fixture_dataset` guard).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from fixture_data import FIXTURE_NAMES, VIDEO_FIXTURES
from robosplice.dataset import Dataset
from robosplice.errors import IncompatibleDatasetsError, OutputExistsError, SelectionError
from robosplice.format.info import INDEX_COLUMNS
from robosplice.ops.delete import delete_episodes
from robosplice.ops.filter import filter_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.split import split_dataset
from robosplice.ops.trim import trim_episodes
from robosplice.ops.validate import validate
from robosplice.testing import decode_episode_frames, frame_identity, read_episode_table


def assert_episode_matches(
    output: Dataset,
    output_episode: int,
    source: Dataset,
    source_episode: int,
    start: int = 0,
    stop: int | None = None,
) -> None:
    """Rows and decoded frames of an output episode equal the source episode's [start, stop)."""
    stop = source.episodes[source_episode].length if stop is None else stop
    got = read_episode_table(output, output_episode)
    want = read_episode_table(source, source_episode).slice(start, stop - start)
    assert got.num_rows == stop - start
    for name in want.column_names:
        if name not in INDEX_COLUMNS:
            assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
    assert got.column("frame_index").to_pylist() == list(range(stop - start))
    assert got.column("episode_index").to_pylist() == [output_episode] * (stop - start)
    np.testing.assert_allclose(
        got.column("timestamp").to_numpy(),
        np.arange(stop - start, dtype=np.float32) / np.float32(output.fps),
        rtol=1e-6,
    )
    out_tasks = [output.tasks[i] for i in got.column("task_index").to_pylist()]
    src_tasks = [source.tasks[i] for i in want.column("task_index").to_pylist()]
    assert out_tasks == src_tasks
    for key in source.video_keys:
        expected = decode_episode_frames(source, key, source_episode)[start:stop]
        frames = decode_episode_frames(output, key, output_episode)
        assert frames.shape == expected.shape, key
        np.testing.assert_array_equal(frames, expected)


def assert_global_index(output: Dataset) -> None:
    import pyarrow as pa

    from robosplice.format.data import data_files

    rows = pa.concat_tables([pq.read_table(p, columns=["index"]) for p in data_files(output.root)])
    assert rows.column("index").to_pylist() == list(range(output.num_frames))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_delete_keeps_the_others_in_order(name, fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset(name))
    deleted = [0, 2, source.num_episodes - 1]
    output = delete_episodes(source, deleted, tmp_path / "out")
    kept = [i for i in range(source.num_episodes) if i not in deleted]
    assert output.num_episodes == len(kept)
    assert validate(output) == []
    for new, old in enumerate(kept):
        assert_episode_matches(output, new, source, old)
        for key in source.video_keys:  # the recorder drew (episode, frame) into every image
            first = decode_episode_frames(output, key, new)[0]
            assert frame_identity(first) == (old, 0)
    assert_global_index(output)


def test_delete_drops_tasks_no_kept_episode_uses(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))  # tasks rotate per episode
    only_task_2 = [i for i, e in enumerate(source.episodes) if e.tasks == (source.tasks[2],)]
    output = delete_episodes(source, only_task_2, tmp_path / "out")
    assert output.tasks == source.tasks[:2]
    assert validate(output) == []


@pytest.mark.parametrize("name", VIDEO_FIXTURES)
def test_trim_between_keyframes_is_frame_exact(name, fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset(name))
    ranges = {0: (5, 27), 1: (1, 20), 3: (7, 29)}
    output = trim_episodes(source, ranges, tmp_path / "out")
    assert validate(output) == []
    for episode in range(source.num_episodes):
        assert_episode_matches(output, episode, source, episode, *ranges.get(episode, (0, None)))
    # per-episode stats of a trimmed episode come from its kept frames
    row = output.episodes_table.slice(0, 1).to_pylist()[0]
    assert row["stats/frame_index/max"] == [21.0]
    assert row["stats/frame_index/count"] == [22]


def test_trim_then_delete_stays_lossless(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_h264_bframes"))
    trimmed = trim_episodes(source, {1: (9, 30)}, tmp_path / "trimmed")
    output = delete_episodes(trimmed, [0], tmp_path / "out")
    assert validate(output) == []
    assert_episode_matches(output, 0, source, 1, 9, 30)


@pytest.mark.parametrize(
    ("splits", "expected"),
    [
        ({"train": 0.8, "val": 0.2}, {"train": [0, 1, 2, 3, 4, 5, 6, 7], "val": [8, 9]}),
        ({"a": 0.6, "b": 0.2, "c": 0.2}, {"a": [0, 1, 2, 3, 4, 5], "b": [6, 7], "c": [8, 9]}),
        ({"train": [0, 2, 4, 6, 8], "val": [1, 3]}, {"train": [0, 2, 4, 6, 8], "val": [1, 3]}),
    ],
)
def test_split_writes_each_split(splits, expected, fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_multifile"))
    outputs = split_dataset(source, splits, tmp_path / "splits")
    assert set(outputs) == set(expected)
    for name, episodes in expected.items():
        output = outputs[name]
        assert output.root == (tmp_path / "splits" / name).resolve()
        assert validate(output) == []
        assert output.num_episodes == len(episodes)
        for new, old in enumerate(episodes):
            assert_episode_matches(output, new, source, old)


def test_split_shuffle_is_reproducible_and_covers_everything(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_image"))
    first = split_dataset(source, {"train": 0.5, "val": 0.5}, shuffle=True, seed=7, dry_run=True)
    again = split_dataset(source, {"train": 0.5, "val": 0.5}, shuffle=True, seed=7, dry_run=True)
    picked = {n: [e.segment.episode_index for e in p.episodes] for n, p in first.items()}
    assert picked == {n: [e.segment.episode_index for e in p.episodes] for n, p in again.items()}
    assert sorted(picked["train"] + picked["val"]) == list(range(source.num_episodes))
    assert picked["train"] != [0, 1, 2]  # seed 7 shuffles


def test_merge_three_sources_across_size_limits(fixture_dataset, tmp_path):
    first = Dataset(fixture_dataset("v3_av1_multifile"))
    second = Dataset(fixture_dataset("v3_av1_single"))
    third = trim_episodes(first, {2: (3, 40)}, tmp_path / "third")
    merged = merge_datasets(
        [first, second, third],
        "test/merged",
        tmp_path / "merged",
        data_files_size_in_mb=0.03,
        video_files_size_in_mb=0.06,
        chunk_size=3,
    )
    assert validate(merged) == []
    assert merged.num_episodes == first.num_episodes + second.num_episodes + third.num_episodes
    assert len(list((merged.root / "data").rglob("*.parquet"))) > 1
    assert len(list((merged.root / "videos/observation.images.front").rglob("*.mp4"))) > 2
    assert (merged.root / "videos/observation.images.front/chunk-001").is_dir()
    offset = 0
    for source in (first, second, third):
        for episode in range(source.num_episodes):
            assert_episode_matches(merged, offset + episode, source, episode)
        offset += source.num_episodes
    assert_global_index(merged)


def test_merge_unions_tasks_in_order_of_appearance(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    only_last = filter_episodes(source, tasks=source.tasks[2], output_dir=tmp_path / "last")
    merged = merge_datasets([only_last, source], "t/m", tmp_path / "m")
    assert merged.tasks == [source.tasks[2], source.tasks[0], source.tasks[1]]
    assert validate(merged) == []
    # Every frame keeps its task by name: the second source's task indices are remapped.
    offset = 0
    for part in (only_last, source):
        for episode in range(part.num_episodes):
            got = read_episode_table(merged, offset + episode).column("task_index").to_pylist()
            want = read_episode_table(part, episode).column("task_index").to_pylist()
            assert [merged.tasks[t] for t in got] == [part.tasks[t] for t in want], episode
        offset += part.num_episodes


def test_merge_with_feature_rename(fixture_dataset, tmp_path):
    from robosplice.ops.features import rename_feature

    source = Dataset(fixture_dataset("v3_av1_single"))
    renamed = rename_feature(
        source, {"observation.images.front": "observation.images.fixed"}, tmp_path / "r"
    )
    merged = merge_datasets(
        [source, renamed],
        "t/m",
        tmp_path / "m",
        feature_renames=[None, {"observation.images.fixed": "observation.images.front"}],
    )
    assert validate(merged) == []
    assert_episode_matches(merged, source.num_episodes, source, 0)


def test_merge_without_concatenation_keeps_source_files_apart(fixture_dataset, tmp_path):
    a = Dataset(fixture_dataset("v3_av1_single"))
    merged = merge_datasets(
        [a, a], "t/m", tmp_path / "m", concatenate_videos=False, concatenate_data=False
    )
    assert len(list((merged.root / "data").rglob("*.parquet"))) == 2
    assert len(list((merged.root / "videos/observation.images.front").rglob("*.mp4"))) == 2
    assert validate(merged) == []


def test_merge_reports_every_difference(fixture_dataset, tmp_path):
    names = ("v3_av1_single", "v3_h264_bframes", "v3_image")
    sources = [fixture_dataset(n) for n in names]
    # A private parent (not an absolute path a root run could create): the refusal writes nothing.
    parent = tmp_path / "outputs"
    parent.mkdir()
    with pytest.raises(IncompatibleDatasetsError) as caught:
        merge_datasets(sources, "t/m", parent / "out")
    assert list(parent.iterdir()) == [], "a refused merge left an output or staging folder"
    text = str(caught.value)
    assert "'h264'" in text
    assert "dtype 'image'" in text
    assert len(caught.value.differences) >= 4


@pytest.mark.parametrize(
    ("kwargs", "kept"),
    [
        ({"episodes": [1, 3]}, [1, 3]),
        ({"tasks": "open the drawer"}, [2, 5]),
        ({"tasks": re.compile("cube|drawer")}, [0, 2, 3, 5]),
        ({"min_length": 36, "max_length": 50}, [0, 4, 5]),
        ({"predicate": lambda row: row["length"] % 2 == 1}, [1, 2, 3, 4]),
    ],
)
def test_filter_keeps_matching_episodes(kwargs, kept, fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = filter_episodes(source, **kwargs, output_dir=tmp_path / "out")
    assert [e for e in range(source.num_episodes) if e in kept] == kept
    assert output.num_episodes == len(kept)
    for new, old in enumerate(kept):
        assert_episode_matches(output, new, source, old)


def test_in_place_delete_swaps_atomically(fixture_dataset, tmp_path):
    root = Path(tmp_path / "ds")
    from fixture_data import copy_tree_writable, fixtures_dir

    copy_tree_writable(fixtures_dir() / "v3_av1_single", root)
    reference = Dataset(fixture_dataset("v3_av1_single"))
    output = delete_episodes(root, [0], in_place=True)
    assert output.root == root.resolve()
    assert output.num_episodes == reference.num_episodes - 1
    assert validate(output) == []
    assert_episode_matches(output, 0, reference, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "src"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, o: delete_episodes(s, [], o), "No episodes to delete"),
        (lambda s, o: delete_episodes(s, [10, 20], o), "Invalid episode indices"),
        (lambda s, o: delete_episodes(s, [1, 1], o), "more than once"),
        (lambda s, o: delete_episodes(s, list(range(6)), o), "Cannot delete all episodes"),
        (lambda s, o: split_dataset(s, {}, o), "No splits provided"),
        (
            lambda s, o: split_dataset(s, {"a": [0, 1], "b": [1, 2]}, o),
            "Episodes cannot appear in multiple splits",
        ),
        (
            lambda s, o: split_dataset(s, {"a": 0.7, "b": 0.5}, o),
            "Split fractions must sum to <= 1.0",
        ),
        (lambda s, o: split_dataset(s, {"a": [0], "b": []}, o), "has no episodes"),
        (lambda s, o: split_dataset(s, {"a": 0.5, "b": 0.1, "c": 0.4}, o), "would get no episodes"),
        (lambda s, o: merge_datasets([], "x", o), "No datasets to merge"),
        (lambda s, o: trim_episodes(s, {0: (30, 20)}, o), "outside its frames"),
        (lambda s, o: trim_episodes(s, {0: (0, 41)}, o), "range \\(0, 41\\) is outside"),
        (lambda s, o: trim_episodes(s, {9: (0, 10)}, o), "Invalid episode indices.*trim ranges"),
        (lambda s, o: filter_episodes(s, min_length=1000, output_dir=o), "No episode"),
        (lambda s, o: filter_episodes(s, output_dir=o), "No filter given"),
    ],
)
def test_bad_selection_is_refused_and_nothing_is_written(call, message, fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_single")
    with pytest.raises(SelectionError, match=message) as caught:
        call(source, tmp_path / "out")
    assert isinstance(caught.value, ValueError)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if ".robosplice-" in p.name]


def test_output_exists_is_refused(fixture_dataset, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputExistsError):
        delete_episodes(fixture_dataset("v3_av1_single"), [0], tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_output_inside_source_is_refused(fixture_dataset):
    source = fixture_dataset("v3_av1_single")
    with pytest.raises(SelectionError, match="inside the source"):
        delete_episodes(source, [0], source / "edited")
