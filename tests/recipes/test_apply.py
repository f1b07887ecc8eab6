"""apply: every step of a recipe in one pass; output rows and frames equal the source's, bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ops.test_episode_edits import assert_episode_matches
from robosplice.cli.app import app
from robosplice.dataset import Dataset
from robosplice.errors import SelectionError, SourceMismatchError
from robosplice.history import read_history
from robosplice.ops.apply import apply
from robosplice.ops.validate import validate
from robosplice.recipe import Step, dump, make_recipe
from robosplice.testing import read_episode_table


def test_episode_steps_compose_against_the_source(fixture_dataset, tmp_path):
    root = fixture_dataset("v3_av1_multifile")
    source = Dataset(root)
    recipe = make_recipe(
        root,
        [
            Step(op="delete_episodes", args={"episode_indices": [3, 7]}, reason="frozen"),
            Step(op="trim_episodes", args={"ranges": {"4": [5, 40], "0": [2, 25]}}),
            Step(op="trim_episodes", args={"ranges": {"4": [9, 50]}}),  # intersection: [9, 40)
            Step(
                op="filter_episodes", args={"min_length": 35}
            ),  # source lengths: drops 0 (30), 6 (33)
            Step(op="trim_episodes", args={"ranges": {"7": [0, 5]}}),  # deleted anyway
        ],
        created_by="test",
    )
    output = apply(recipe, root, tmp_path / "out")
    expected = {1: None, 2: None, 4: (9, 40), 5: None, 8: None, 9: None}
    assert output.num_episodes == len(expected)
    assert validate(output) == []
    for new, (old, frame_range) in enumerate(expected.items()):
        assert_episode_matches(output, new, source, old, *(frame_range or (0, None)))
    entry = read_history(output.root)[-1]
    assert entry["operation"] == "apply"
    # The recipe as written, but its source by folder name: the log is pushed with the dataset.
    document = recipe.to_json()
    document["source"]["path"] = Path(root).name
    assert entry["arguments"]["recipe"] == document
    assert str(tmp_path) not in json.dumps(entry)


def test_feature_task_and_stats_steps_in_the_same_pass(fixture_dataset, tmp_path):
    root = fixture_dataset("v3_av1_single")
    source = Dataset(root)
    only_task_2 = [i for i, e in enumerate(source.episodes) if e.tasks == (source.tasks[2],)]
    recipe = make_recipe(
        root,
        [
            Step(
                op="rename_feature",
                args={"renames": {"observation.images.front": "observation.images.top"}},
            ),
            Step(op="remove_feature", args={"feature_names": ["observation.images.top"]}),
            Step(op="delete_episodes", args={"episode_indices": only_task_2}),
            Step(op="modify_tasks", args={"task_replacements": {source.tasks[0]: "first task"}}),
            Step(op="recompute_stats"),
        ],
    )
    output = apply(dump(recipe, tmp_path / "fix.json"), root, tmp_path / "out")
    assert validate(output) == []
    assert "observation.images.front" not in output.features
    assert "observation.images.top" not in output.features
    assert not (output.root / "videos/observation.images.front").exists()
    assert output.tasks == sorted(["first task", source.tasks[1]])
    kept = [i for i in range(source.num_episodes) if i not in only_task_2]
    for new, old in enumerate(kept):
        got = read_episode_table(output, new)
        want = read_episode_table(source, old)
        np.testing.assert_array_equal(
            np.stack(got.column("observation.state").to_numpy(zero_copy_only=False)),
            np.stack(want.column("observation.state").to_numpy(zero_copy_only=False)),
        )
        renamed = {source.tasks[0]: "first task"}
        want_tasks = [
            renamed.get(source.tasks[i], source.tasks[i])
            for i in want.column("task_index").to_pylist()
        ]
        assert [output.tasks[i] for i in got.column("task_index").to_pylist()] == want_tasks


def test_refuses_another_dataset_unless_forced(fixture_dataset, tmp_path):
    root = fixture_dataset("v3_av1_single")
    other = fixture_dataset("v3_image")
    recipe = make_recipe(other, [Step(op="delete_episodes", args={"episode_indices": [0]})])
    with pytest.raises(SourceMismatchError, match="not the dataset this recipe was made for"):
        apply(recipe, root, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    output = apply(recipe, root, tmp_path / "out", force=True)
    assert output.num_episodes == Dataset(root).num_episodes - 1


def test_bad_steps_write_nothing(fixture_dataset, tmp_path):
    root = fixture_dataset("v3_av1_single")
    length = Dataset(root).episodes[1].length
    for steps, message in [
        ([Step(op="trim_episodes", args={"ranges": {"1": [0, length + 1]}})], "outside its frames"),
        ([Step(op="delete_episodes", args={"episode_indices": [99]})], "Invalid episode indices"),
        ([Step(op="keep_episodes", args={"episode_indices": []})], "deletes every episode"),
        ([Step(op="remove_feature", args={"feature_names": ["nope"]})], "feature 'nope'"),
    ]:
        with pytest.raises(SelectionError, match=message):
            apply(make_recipe(root, steps), root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_dry_run_and_exit_codes(fixture_dataset, tmp_path):
    root = fixture_dataset("v3_h264_bframes")
    path = dump(
        make_recipe(root, [Step(op="trim_episodes", args={"ranges": {"1": [9, 30]}})]),
        tmp_path / "r.json",
    )
    runner = CliRunner()
    dry = runner.invoke(app, ["apply", str(path), str(root), str(tmp_path / "out"), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "0:1[9:30]→1" in dry.output
    assert not (tmp_path / "out").exists()
    done = runner.invoke(app, ["apply", str(path), str(root), str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert_episode_matches(Dataset(tmp_path / "out"), 1, Dataset(root), 1, 9, 30)
    again = runner.invoke(app, ["apply", str(path), str(root), str(tmp_path / "out")])
    assert again.exit_code == 1
    assert "already exists" in again.output
    document = json.loads(path.read_text())
    document["source"]["fingerprint"] = "0" * 64
    path.write_text(json.dumps(document))
    refused = runner.invoke(app, ["apply", str(path), str(root), str(tmp_path / "o2")])
    assert refused.exit_code == 1
    assert "--force" in refused.output
