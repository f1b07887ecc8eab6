"""validate compares stats with the data: stale per-episode and stats.json stats, NaN in stats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.checks import run_checks, validate_dataset
from robosplice.errors import Problem

SINGLE = "v3_av1_single"  # 6 episodes: 40, 25, 55, 31, 47, 36 frames
DATA = "data/chunk-000/file-000.parquet"
EPISODES = "meta/episodes/chunk-000/file-000.parquet"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_tree_writable(fixtures_dir() / SINGLE, tmp_path / SINGLE)


def edit_stats(root: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    path = root / "meta/stats.json"
    stats = json.loads(path.read_text())
    edit(stats)
    path.write_text(json.dumps(stats, indent=4))


def edit_episode_cell(
    root: Path, column: str, row: int, change: Callable[[list[Any]], Any]
) -> None:
    path = root / EPISODES
    table = pq.read_table(path)
    cells = table.column(column).to_pylist()
    cells[row] = change(cells[row])
    index = table.column_names.index(column)
    table = table.set_column(index, column, pa.array(cells, type=table.schema.field(column).type))
    pq.write_table(table, path)


def action_values(root: Path) -> tuple[np.ndarray, np.ndarray]:
    table = pq.read_table(root / DATA, columns=["episode_index", "action"])
    return (
        np.asarray(table.column("episode_index").to_pylist()),
        np.asarray(table.column("action").to_pylist(), dtype=np.float32),
    )


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_clean_fixtures_have_no_stale_stats() -> None:
    for name in ("v3_av1_single", "v3_av1_multifile", "v3_image", "v3_h264_bframes"):
        assert validate_dataset(fixtures_dir() / name) == [], name


def test_stats_json_shifted_by_one_is_an_error_naming_feature_and_stat(root: Path) -> None:
    def shift(stats: dict[str, Any]) -> None:
        stats["action"]["mean"] = [v + 1.0 for v in stats["action"]["mean"]]
        stats["action"]["max"] = [v + 1.0 for v in stats["action"]["max"]]

    edit_stats(root, shift)
    problems = validate_dataset(root)
    assert {(p.kind, p.severity, p.file, p.loc) for p in problems} == {
        ("stale_stats", "error", "meta/stats.json", "action.mean"),
        ("stale_stats", "error", "meta/stats.json", "action.max"),
    }
    _, action = action_values(root)
    maximum = next(p for p in problems if p.loc == "action.max")
    assert f"expected {float(action[:, 0].max()):.9g}" in maximum.message
    assert f"got {float(action[:, 0].max()) + 1.0:.9g}" in maximum.message
    assert all("robosplice recompute-stats" in p.message for p in problems)


def test_one_episodes_stale_min_is_an_error_naming_the_episode(root: Path) -> None:
    edit_episode_cell(root, "stats/action/min", 2, lambda v: [v[0], v[1] - 0.5, *v[2:]])
    problem = only(validate_dataset(root))
    assert (problem.kind, problem.severity) == ("stale_stats", "error")
    assert (problem.file, problem.loc) == (EPISODES, "episode 2")
    episode, action = action_values(root)
    true_min = float(action[episode == 2, 1].min())
    assert "stats/action/min of episode 2: dimension 1" in problem.message
    assert f"expected {true_min:.9g}, got {true_min - 0.5:.9g}" in problem.message
    assert "recompute-stats" in problem.message


def test_data_edited_after_the_stats_is_caught_per_episode_and_in_stats_json(root: Path) -> None:
    path = root / DATA
    table = pq.read_table(path)
    action = table.column("action").to_pylist()
    episode = table.column("episode_index").to_pylist()
    row = episode.index(3) + 5
    action[row] = [v + 10.0 for v in action[row]]  # a trainer would now see other numbers
    index = table.column_names.index("action")
    table = table.set_column(
        index, "action", pa.array(action, type=table.schema.field("action").type)
    )
    pq.write_table(table.replace_schema_metadata(pq.read_schema(path).metadata), path)
    problems = validate_dataset(root)
    assert {p.kind for p in problems} == {"stale_stats"}
    per_episode = {(p.loc, p.message.split(":")[0]) for p in problems if p.file == EPISODES}
    assert per_episode == {
        ("episode 3", f"stats/action/{key} of episode 3") for key in ("max", "mean", "std")
    }
    assert {p.loc for p in problems if p.file == "meta/stats.json"} == {
        "action.max",
        "action.mean",
        "action.std",
    }


def test_count_off_by_one_is_an_error(root: Path) -> None:
    edit_episode_cell(root, "stats/observation.state/count", 4, lambda v: [v[0] + 1])
    problem = only(validate_dataset(root))
    assert (problem.kind, problem.loc) == ("stale_stats", "episode 4")
    assert "expected 47, got 48" in problem.message


def test_float32_rounding_of_mean_and_std_is_not_stale(root: Path) -> None:
    def jitter(stats: dict[str, Any]) -> None:
        for key in ("mean", "std"):
            values = np.asarray(stats["observation.state"][key], dtype=np.float32)
            stats["observation.state"][key] = np.nextafter(values, np.float32(np.inf)).tolist()

    edit_stats(root, jitter)
    assert validate_dataset(root) == []


def test_stale_index_stats_are_a_warning(root: Path) -> None:
    # lerobot's own delete/split leave these stale; no trainer normalizes them.
    edit_stats(root, lambda s: s["index"].update(max=[s["index"]["max"][0] + 7]))
    problem = only(validate_dataset(root))
    assert (problem.kind, problem.severity, problem.loc) == (
        "stale_index_stats",
        "warning",
        "index.max",
    )


@pytest.mark.parametrize("where", ["stats.json", "episode"])
def test_nan_in_stats_is_an_error(root: Path, where: str) -> None:
    if where == "stats.json":
        edit_stats(root, lambda s: s["observation.state"]["std"].__setitem__(2, float("nan")))
        expected = ("nan_stats", "error", "meta/stats.json", "observation.state")
    else:
        edit_episode_cell(root, "stats/action/mean", 1, lambda v: [float("nan"), *v[1:]])
        expected = ("nan_stats", "error", EPISODES, "episode 1")
    problem = only(validate_dataset(root))
    assert (problem.kind, problem.severity, problem.file, problem.loc) == expected
    assert "NaN" in problem.message


def test_stale_stats_findings_name_episode_and_feature(root: Path) -> None:
    edit_episode_cell(root, "stats/action/max", 5, lambda v: [x + 1.0 for x in v])
    (finding,) = run_checks(root)
    assert (finding.check, finding.episode, finding.feature) == ("stale_stats", 5, "action")


def test_an_edit_accepts_stale_index_stats_and_writes_true_ones(root: Path, tmp_path: Path) -> None:
    from robosplice.ops.delete import delete_episodes

    edit_stats(root, lambda s: s["index"].update(max=[s["index"]["max"][0] + 7]))
    output = delete_episodes(root, [1], output_dir=tmp_path / "out")
    assert validate_dataset(output.root) == []
