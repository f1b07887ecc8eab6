"""modify_tasks: per-frame task strings, tasks table, episode rows and stats stay consistent.

Covers the official tests' behaviours (precedence, alphabetical task table, in place) and
robosplice's own: multi-task episodes survive replacements, regex replacements, new folder by
default. Every output passes `validate`; sources are byte-identical (the guard) except in the
in-place tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.dataset import Dataset
from robosplice.errors import SelectionError
from robosplice.format.data import data_files
from robosplice.format.info import INDEX_COLUMNS
from robosplice.format.stats import (
    aggregate_feature_stats,
    compute_feature_stats,
    stats_to_json,
    unflatten_episode_stats,
)
from robosplice.ops.tasks import modify_tasks, plan_modify_tasks
from robosplice.ops.validate import validate
from robosplice.plan.model import Plan
from robosplice.testing import read_episode_table

PICK, PUSH, DRAWER = "pick up the red cube", "push the block to the goal", "open the drawer"


def frame_tasks(dataset: Dataset) -> list[str]:
    """The task string of every frame, in global index order, from the data files."""
    table = pa.concat_tables(
        pq.read_table(p, columns=["task_index"]) for p in data_files(dataset.root)
    )
    return [dataset.tasks[i] for i in table.column("task_index").to_pylist()]


def episode_frame_tasks(dataset: Dataset, episode: int) -> list[str]:
    return [
        dataset.tasks[i]
        for i in read_episode_table(dataset, episode).column("task_index").to_pylist()
    ]


def assert_consistent(output: Dataset, source: Dataset) -> None:
    """Valid; only task_index changed in the data; episode rows and stats follow the data."""
    assert validate(output) == []
    assert output.num_frames == source.num_frames
    assert output.num_episodes == source.num_episodes
    assert output.fps == source.fps
    assert output.info["total_tasks"] == len(output.tasks)
    assert output.tasks == sorted(output.tasks)
    stats = [unflatten_episode_stats(r) for r in output.episodes_table.to_pylist()]
    for episode in range(source.num_episodes):
        got, want = read_episode_table(output, episode), read_episode_table(source, episode)
        for name in want.column_names:
            if name not in INDEX_COLUMNS:
                assert got.column(name).equals(want.column(name)), name
        task_index = got.column("task_index").to_numpy()
        used = list(dict.fromkeys(output.tasks[i] for i in task_index))
        assert list(output.episodes[episode].tasks) == used
        np.testing.assert_allclose(stats[episode]["task_index"]["mean"], [task_index.mean()])
    used_anywhere = set(frame_tasks(output))
    assert used_anywhere == set(output.tasks)


@pytest.fixture
def multitask(tmp_path: Path, source_guard) -> Path:
    """v3_av1_single with episode 0 switching from PICK to PUSH at frame 20 (guarded)."""
    root = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "src" / "multi")
    source = Dataset(root)
    assert source.tasks[:2] == [PICK, PUSH]
    assert source.episodes[0].tasks == (PICK,)
    path = data_files(root)[0]
    table = pq.read_table(path)
    task_index = table.column("task_index").to_numpy().copy()
    task_index[20 : source.episodes[0].length] = 1
    table = table.set_column(
        table.schema.get_field_index("task_index"), "task_index", pa.array(task_index)
    )
    pq.write_table(table, path)
    episodes_path = sorted((root / "meta/episodes").rglob("*.parquet"))[0]
    episodes = pq.read_table(episodes_path)
    tasks = episodes.column("tasks").to_pylist()
    tasks[0] = [PICK, PUSH]
    column = pa.array(tasks, type=episodes.schema.field("tasks").type)
    episodes = episodes.set_column(episodes.schema.get_field_index("tasks"), "tasks", column)
    # A recorder would have written the task_index stats of these frames: keep them true.
    per_episode = []
    for row, episode in enumerate(source.episodes):
        values = task_index[episode.dataset_from_index : episode.dataset_to_index]
        per_episode.append(compute_feature_stats(values))
        if row == 0:
            for key, value in per_episode[0].items():
                name = f"stats/task_index/{key}"
                cells = episodes.column(name).to_pylist()
                cells[0] = value.tolist()
                column = pa.array(cells, type=episodes.schema.field(name).type)
                episodes = episodes.set_column(episodes.schema.get_field_index(name), name, column)
    pq.write_table(episodes, episodes_path)
    stats = json.loads((root / "meta/stats.json").read_text())
    stats["task_index"] = stats_to_json({"task_index": aggregate_feature_stats(per_episode)})[
        "task_index"
    ]
    (root / "meta/stats.json").write_text(json.dumps(stats, indent=4))
    return source_guard(root)


# ---------------------------------------------------------------------- the official behaviours


def test_single_task_for_all(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = modify_tasks(
        source, new_task="Pick up the cube and place it", output_dir=tmp_path / "o"
    )
    assert output.tasks == ["Pick up the cube and place it"]
    assert set(frame_tasks(output)) == {"Pick up the cube and place it"}
    assert_consistent(output, source)


def test_episode_specific_tasks(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    wanted = {0: "A", 1: "B", 2: "A", 3: "C", 4: "B", 5: "A"}
    output = modify_tasks(source, episode_tasks=wanted, output_dir=tmp_path / "o")
    assert len(output.tasks) == 3
    assert output.info["total_tasks"] == 3
    assert {e: output.episodes[e].tasks[0] for e in wanted} == wanted
    assert_consistent(output, source)


def test_default_with_overrides(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = modify_tasks(
        source,
        new_task="Default task",
        episode_tasks={2: "Special task", 4: "Special task"},
        output_dir=tmp_path / "o",
    )
    assert output.tasks == ["Default task", "Special task"]
    assert [e.tasks[0] for e in output.episodes] == [
        "Default task",
        "Default task",
        "Special task",
        "Default task",
        "Special task",
        "Default task",
    ]
    assert_consistent(output, source)


def test_replacements(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = modify_tasks(
        source,
        task_replacements={PICK: "Pick the cube", PUSH: "Push it"},
        output_dir=tmp_path / "o",
    )
    renamed = {PICK: "Pick the cube", PUSH: "Push it", DRAWER: DRAWER}
    assert [e.tasks[0] for e in output.episodes] == [renamed[e.tasks[0]] for e in source.episodes]
    assert frame_tasks(output) == [renamed[t] for t in frame_tasks(source)]
    assert_consistent(output, source)


def test_episode_override_beats_replacement(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = modify_tasks(
        source,
        episode_tasks={0: "Special"},
        task_replacements={PICK: "Pick"},
        output_dir=tmp_path / "o",
    )
    assert output.episodes[0].tasks == ("Special",)
    assert output.episodes[3].tasks == ("Pick",)
    assert output.tasks == sorted(["Special", "Pick", PUSH, DRAWER])
    assert_consistent(output, source)


def test_replacement_beats_new_task(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = modify_tasks(
        source, new_task="Other", task_replacements={PICK: "Pick"}, output_dir=tmp_path / "o"
    )
    assert [e.tasks[0] for e in output.episodes] == [
        "Pick",
        "Other",
        "Other",
        "Pick",
        "Other",
        "Other",
    ]
    assert output.tasks == ["Other", "Pick"]
    assert_consistent(output, source)


def test_task_index_follows_alphabetical_order(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    wanted = {0: "Gamma", 1: "Alpha", 2: "Beta", 3: "Alpha", 4: "Gamma", 5: "Beta"}
    output = modify_tasks(source, episode_tasks=wanted, output_dir=tmp_path / "o")
    assert output.tasks == ["Alpha", "Beta", "Gamma"]
    for episode, task in wanted.items():
        index = read_episode_table(output, episode).column("task_index").to_numpy()
        assert set(index.tolist()) == {["Alpha", "Beta", "Gamma"].index(task)}
    assert_consistent(output, source)


def test_keeps_original_when_not_overridden(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    output = modify_tasks(
        source,
        episode_tasks={2: "New Task A", 3: "New Task B", 4: "New Task A"},
        output_dir=tmp_path / "o",
    )
    assert [e.tasks[0] for e in output.episodes] == [
        source.episodes[0].tasks[0],
        source.episodes[1].tasks[0],
        "New Task A",
        "New Task B",
        "New Task A",
        source.episodes[5].tasks[0],
    ]
    assert_consistent(output, source)


def test_in_place_returns_a_handle_on_the_same_root(tmp_path):
    root = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "ds")
    before = Dataset(root)
    frames = before.num_frames
    output = modify_tasks(root, new_task="Only task", in_place=True)
    assert output.root == root.resolve()
    reopened = Dataset(root)
    assert reopened.tasks == ["Only task"]
    assert reopened.num_frames == frames
    assert validate(reopened) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


# --------------------------------------------------------------------- robosplice's own rules


def test_replacement_keeps_multi_task_episodes(multitask, tmp_path):
    source = Dataset(multitask)
    output = modify_tasks(
        source, task_replacements={PICK: "grab the cube"}, output_dir=tmp_path / "o"
    )
    assert output.episodes[0].tasks == ("grab the cube", PUSH)
    assert episode_frame_tasks(output, 0) == ["grab the cube"] * 20 + [PUSH] * (
        source.episodes[0].length - 20
    )
    assert_consistent(output, source)


def test_new_task_sets_every_frame_of_an_episode(multitask, tmp_path):
    source = Dataset(multitask)
    output = modify_tasks(source, new_task="one task", output_dir=tmp_path / "o")
    assert output.episodes[0].tasks == ("one task",)
    assert_consistent(output, source)


def test_regex_replacement(multitask, tmp_path):
    source = Dataset(multitask)
    output = modify_tasks(
        source,
        task_replacements={re.compile(r"^(pick|push) (.*)$"): r"\1 carefully \2"},
        output_dir=tmp_path / "o",
    )
    assert output.episodes[0].tasks == (
        "pick carefully up the red cube",
        "push carefully the block to the goal",
    )
    assert output.tasks == sorted(
        ["pick carefully up the red cube", "push carefully the block to the goal", DRAWER]
    )
    assert_consistent(output, source)


def test_exact_key_wins_over_pattern(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    plan = plan_modify_tasks(source, task_replacements={re.compile("cube"): "regex", PICK: "exact"})
    assert plan.tasks == tuple(sorted(["exact", PUSH, DRAWER]))


def test_writes_a_new_folder_by_default(fixture_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_HOME", str(tmp_path / "home"))
    source = Dataset(fixture_dataset("v3_av1_single"), repo_id="me/pushes")
    output = modify_tasks(source, new_task="x")
    assert output.root == (tmp_path / "home" / "me" / "pushes_modified").resolve()
    assert Dataset(source.root).tasks == [PICK, PUSH, DRAWER]


def test_dry_run(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    plan = modify_tasks(source, new_task="x", output_dir=tmp_path / "o", dry_run=True)
    assert isinstance(plan, Plan)
    assert plan.tasks == ("x",)
    assert "tasks: 1" in plan.describe()
    assert not (tmp_path / "o").exists()


# -------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        pytest.param(
            {},
            "Must specify at least one of new_task, episode_tasks, or task_replacements",
            id="none",
        ),
        pytest.param(
            {"new_task": "", "episode_tasks": {}},
            "Must specify at least one of new_task",
            id="empty",
        ),
        pytest.param(
            {"episode_tasks": {10: "A", 20: "B"}},
            "Invalid episode indices: {10, 20}",
            id="episodes",
        ),
        pytest.param(
            {"task_replacements": {"no such task": "x"}},
            "Task replacements reference unknown tasks: ['no such task']",
            id="unknown",
        ),
        pytest.param(
            {"task_replacements": {re.compile("^zzz"): "x"}},
            "Task replacements reference unknown tasks: ['^zzz']",
            id="regex",
        ),
        pytest.param(
            {"episode_tasks": {0: ""}},
            "episode_tasks[0] must be a non-empty string",
            id="empty_task",
        ),
    ],
)
def test_errors_write_nothing(kwargs, phrase, fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_single"))
    with pytest.raises(SelectionError, match=re.escape(phrase)) as caught:
        modify_tasks(source, **kwargs, output_dir=tmp_path / "o")
    assert isinstance(caught.value, ValueError)
    assert not (tmp_path / "o").exists()
