"""CLI: add-feature, remove-feature, rename-feature, modify-tasks, recompute-stats.

Each command is called through typer's CliRunner; the library does the work, so these check the
argument plumbing, the file loaders and the exit codes (0 ok, 1 edit error, 2 usage).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from robosplice.cli.app import app
from robosplice.dataset import Dataset
from robosplice.format.data import data_files
from robosplice.ops.validate import validate

runner = CliRunner()


def read(dataset: Dataset, name: str) -> list:
    return (
        pa.concat_tables(pq.read_table(p, columns=[name]) for p in data_files(dataset.root))
        .column(name)
        .to_pylist()
    )


@pytest.fixture
def source(fixture_dataset) -> Dataset:
    return Dataset(fixture_dataset("v3_av1_multifile"))


def test_add_feature_from_npy(source, tmp_path):
    values = np.arange(source.num_frames * 2, dtype=np.float32).reshape(-1, 2)
    np.save(tmp_path / "v.npy", values)
    result = runner.invoke(
        app,
        [
            "add-feature",
            str(source.root),
            str(tmp_path / "out"),
            "grip",
            "--from",
            str(tmp_path / "v.npy"),
            "--names",
            "a,b",
        ],
    )
    assert result.exit_code == 0, result.output
    output = Dataset(tmp_path / "out")
    assert output.features["grip"] == {"dtype": "float32", "shape": [2], "names": ["a", "b"]}
    assert read(output, "grip")[3] == [6.0, 7.0]
    assert validate(output) == []


def test_add_feature_from_parquet_column_with_dtype(source, tmp_path):
    table = pa.table(
        {
            "reward": np.arange(source.num_frames, dtype=np.int64),
            "other": np.zeros(source.num_frames),
        }
    )
    pq.write_table(table, tmp_path / "r.parquet")
    result = runner.invoke(
        app,
        [
            "add-feature",
            str(source.root),
            str(tmp_path / "out"),
            "reward",
            "--from",
            str(tmp_path / "r.parquet"),
            "--column",
            "reward",
            "--dtype",
            "float32",
            "--shape",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert read(Dataset(tmp_path / "out"), "reward")[:3] == [0.0, 1.0, 2.0]


def test_add_feature_from_per_episode_files(source, tmp_path):
    folder = tmp_path / "values"
    folder.mkdir()
    for record in source.episodes:
        np.save(
            folder / f"episode_{record.episode_index:06d}.npy",
            np.full(record.length, record.episode_index),
        )
    result = runner.invoke(
        app, ["add-feature", str(source.root), str(tmp_path / "out"), "ep", "--from", str(folder)]
    )
    assert result.exit_code == 0, result.output
    output = Dataset(tmp_path / "out")
    assert read(output, "ep") == read(source, "episode_index")
    assert output.features["ep"]["dtype"] == "int64"


def test_add_feature_errors(source, tmp_path):
    np.save(tmp_path / "short.npy", np.zeros(3))
    result = runner.invoke(
        app,
        [
            "add-feature",
            str(source.root),
            str(tmp_path / "out"),
            "r",
            "--from",
            str(tmp_path / "short.npy"),
        ],
    )
    assert result.exit_code == 1
    assert "one row per frame" in result.output
    (tmp_path / "folder").mkdir()
    np.save(tmp_path / "folder" / "0.npy", np.zeros(3))
    result = runner.invoke(
        app,
        [
            "add-feature",
            str(source.root),
            str(tmp_path / "out"),
            "r",
            "--from",
            str(tmp_path / "folder"),
        ],
    )
    assert result.exit_code == 1
    assert "need one .npy per episode" in result.output
    assert not (tmp_path / "out").exists()


def test_remove_and_rename_feature(source, tmp_path):
    result = runner.invoke(
        app,
        [
            "remove-feature",
            str(source.root),
            str(tmp_path / "a"),
            "observation.effort",
            "observation.images.wrist",
        ],
    )
    assert result.exit_code == 0, result.output
    assert Dataset(tmp_path / "a").video_keys == ["observation.images.front"]
    result = runner.invoke(
        app,
        [
            "rename-feature",
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            "observation.images.front",
            "observation.images.top",
        ],
    )
    assert result.exit_code == 0, result.output
    assert Dataset(tmp_path / "b").video_keys == ["observation.images.top"]
    result = runner.invoke(app, ["remove-feature", str(source.root), str(tmp_path / "c"), "index"])
    assert result.exit_code == 1
    assert "Cannot remove required features" in result.output


def test_modify_tasks_command(source, tmp_path):
    result = runner.invoke(
        app,
        [
            "modify-tasks",
            str(source.root),
            str(tmp_path / "out"),
            "--episode-task",
            "0=Special",
            "--replace",
            "open the drawer=open it",
            "--new-task",
            "Other",
        ],
    )
    assert result.exit_code == 0, result.output
    output = Dataset(tmp_path / "out")
    assert output.tasks == ["Other", "Special", "open it"]
    assert output.episodes[0].tasks == ("Special",)
    result = runner.invoke(app, ["modify-tasks", str(source.root), str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "Must specify at least one of" in result.output
    result = runner.invoke(app, ["modify-tasks", str(source.root), "--new-task", "x"])
    assert result.exit_code == 2  # neither OUTPUT nor --in-place


def test_modify_tasks_regex_dry_run(source, tmp_path):
    result = runner.invoke(
        app,
        [
            "modify-tasks",
            str(source.root),
            str(tmp_path / "out"),
            "--replace-regex",
            "^pick (.*)=grab \\1",
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "modify_tasks" in result.output
    assert not (tmp_path / "out").exists()


def test_recompute_stats_in_place(tmp_path):
    from fixture_data import copy_tree_writable, fixtures_dir

    root = copy_tree_writable(fixtures_dir() / "v3_image", tmp_path / "ds")
    result = runner.invoke(app, ["recompute-stats", str(root), "--in-place", "--include-images"])
    assert result.exit_code == 0, result.output
    assert validate(root) == []
    result = runner.invoke(
        app,
        [
            "recompute-stats",
            str(root),
            str(tmp_path / "rel"),
            "--relative-action",
            "--chunk-size",
            "1000",
        ],
    )
    assert result.exit_code == 1
    assert "No valid chunks found" in result.output
