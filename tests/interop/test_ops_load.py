"""robosplice outputs load in the official LeRobotDataset, frame for frame, with both backends.

For each op, the test writes down which source frames every output must hold, from what it asked
for (the episodes to delete, the ranges to trim, the split lists, the filter's criteria applied to the
source as the official loader returns it), never from the op's own plan: a planner that picks the
wrong episodes fails here. Output items are then compared with those source items, and episode and
frame indices with the renumbering the selection implies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from harness import (
    BACKENDS,
    INDEX_KEYS,
    assert_same_items,
    copy_dataset,
    fixtures_dir,
    load_with_lerobot,
)

from robosplice.ops.delete import delete_episodes
from robosplice.ops.filter import filter_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.repack import repack
from robosplice.ops.split import split_dataset
from robosplice.ops.trim import trim_episodes

VIDEO_FIXTURES = ("v3_av1_single", "v3_av1_multifile", "v3_h264_bframes")

# (source root, source episode, first frame, stop frame or None for the end): one output episode.
Segment = tuple[Path, int, int, int | None]


def episode_count(root: Path) -> int:
    return int(json.loads((root / "meta" / "info.json").read_text())["total_episodes"])


def whole(root: Path, episodes: Sequence[int]) -> list[Segment]:
    return [(root, e, 0, None) for e in episodes]


def assert_loads_as(output: Path, segments: Sequence[Segment], backend: str) -> None:
    """The output's items are the listed source frames, in order, renumbered from 0."""
    assert_items_are(load_with_lerobot(output, backend), segments, backend)


def assert_items_are(
    out_items: dict[str, np.ndarray], segments: Sequence[Segment], backend: str
) -> None:
    """Loaded items are the listed source frames, in order, renumbered from 0."""
    roots = list(dict.fromkeys(root for root, *_ in segments))
    source_items = [load_with_lerobot(root, backend) for root in roots]
    # Concatenate the sources' items so one mapping covers a merge.
    offsets = np.cumsum([0] + [int(s["meta/len"]) for s in source_items])
    rows, lengths = [], []
    for root, episode, start, stop in segments:
        number = roots.index(root)
        of_episode = np.flatnonzero(source_items[number]["episode_index"].reshape(-1) == episode)
        picked = of_episode[start:stop]
        assert picked.size, f"test bug: {root.name} episode {episode} [{start}:{stop}] is empty"
        rows.append(offsets[number] + picked)
        lengths.append(picked.size)
    mapping = np.concatenate(rows)
    assert int(out_items["meta/len"]) == len(mapping)
    keys = [k for k in source_items[0] if not k.startswith("meta/")]
    combined = {k: np.concatenate([s[k] for s in source_items]) for k in keys}
    combined["meta/len"] = np.asarray(offsets[-1])
    combined["meta/camera_keys"] = source_items[0]["meta/camera_keys"]
    assert_same_items(out_items, combined, mapping, exclude=INDEX_KEYS)
    # Index columns follow from position.
    np.testing.assert_array_equal(out_items["index"].reshape(-1), np.arange(len(mapping)))
    np.testing.assert_array_equal(
        out_items["episode_index"].reshape(-1), np.repeat(np.arange(len(lengths)), lengths)
    )
    np.testing.assert_array_equal(
        out_items["frame_index"].reshape(-1), np.concatenate([np.arange(n) for n in lengths])
    )


@pytest.fixture
def fixture(tmp_path: Path):
    def get(name: str) -> Path:
        return copy_dataset(fixtures_dir() / name, tmp_path / "src" / name)

    return get


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", [*VIDEO_FIXTURES, "v3_image"])
def test_repack_loads(lerobot_python, fixture, tmp_path, name, backend):
    source = fixture(name)
    repack(source, tmp_path / "out", video_files_size_in_mb=0.03)
    assert_loads_as(tmp_path / "out", whole(source, range(episode_count(source))), backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", VIDEO_FIXTURES)
def test_delete_loads(lerobot_python, fixture, tmp_path, name, backend):
    source = fixture(name)
    delete_episodes(source, [0, 2], tmp_path / "out")
    kept = [e for e in range(episode_count(source)) if e not in (0, 2)]
    assert_loads_as(tmp_path / "out", whole(source, kept), backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", VIDEO_FIXTURES)
def test_trim_between_keyframes_loads(lerobot_python, fixture, tmp_path, name, backend):
    source = fixture(name)
    ranges = {0: (5, 27), 1: (1, 20), 3: (7, 29)}
    trim_episodes(source, ranges, tmp_path / "out")
    expected = [(source, e, *ranges.get(e, (0, None))) for e in range(episode_count(source))]
    assert_loads_as(tmp_path / "out", expected, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_split_and_filter_load(lerobot_python, fixture, tmp_path, backend):
    source = fixture("v3_av1_multifile")
    splits = {"train": [1, 3, 4, 6, 8, 9], "val": [7, 0, 5]}
    split_dataset(source, splits, tmp_path / "splits")
    for name, episodes in splits.items():
        assert_loads_as(tmp_path / "splits" / name, whole(source, sorted(episodes)), backend)

    filter_episodes(
        source, tasks=re.compile("drawer|cube"), min_length=35, output_dir=tmp_path / "f"
    )
    # The filter's criteria, applied to the source as the official loader returns it.
    items = load_with_lerobot(source, backend)
    episode_of_row = items["episode_index"].reshape(-1)
    kept = [
        e
        for e in range(episode_count(source))
        if (episode_of_row == e).sum() >= 35
        and any(re.search("drawer|cube", str(t)) for t in items["task"][episode_of_row == e])
    ]
    assert 0 < len(kept) < episode_count(source), "test bug: the filter must drop some, keep some"
    assert_loads_as(tmp_path / "f", whole(source, kept), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_merge_of_three_multifile_datasets_crossing_size_limits(
    lerobot_python, fixture, tmp_path, backend
):
    multifile, single = fixture("v3_av1_multifile"), fixture("v3_av1_single")
    trimmed = trim_episodes(multifile, {2: (3, 40)}, tmp_path / "third")
    inputs = [multifile, single, trimmed.root]
    kwargs = {"data_files_size_in_mb": 0.03, "video_files_size_in_mb": 0.06, "chunk_size": 3}
    merged = merge_datasets(inputs, "test/merged", tmp_path / "merged", **kwargs)
    assert len(list((merged.root / "data").rglob("*.parquet"))) > 1
    assert len(list((merged.root / "videos").rglob("*.mp4"))) > 4
    # The third input is the first with episode 2 cut to [3, 40): compare with the original frames.
    third = [
        (multifile, e, *((3, 40) if e == 2 else (0, None))) for e in range(episode_count(multifile))
    ]
    expected = [
        *whole(multifile, range(episode_count(multifile))),
        *whole(single, range(episode_count(single))),
        *third,
    ]
    assert_loads_as(merged.root, expected, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sample_loads_with_every_frame_where_it_belongs(lerobot_python, tmp_path, backend):
    from harness import frame_identities

    from robosplice.ops.sample import write_sample
    from robosplice.testing import read_episode_table

    sample = write_sample(
        tmp_path / "sample", episodes=5, min_length=20, max_length=45, video_files_size_in_mb=0.05
    )
    items = load_with_lerobot(sample.root, backend)
    assert int(items["meta/len"]) == sample.num_frames
    expected = np.stack(
        [items["episode_index"].reshape(-1), items["frame_index"].reshape(-1)], axis=1
    )
    for key in sample.video_keys:
        np.testing.assert_array_equal(frame_identities(items[key]), expected)
    state = np.concatenate(
        [
            np.asarray(
                read_episode_table(sample, e).column("observation.state").to_pylist(), np.float32
            )
            for e in range(sample.num_episodes)
        ]
    )
    np.testing.assert_array_equal(items["observation.state"], state)
    assert list(items["task"]) == [sample.tasks[i] for i in items["task_index"].reshape(-1)]
