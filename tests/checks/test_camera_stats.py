"""validate --decode compares camera stats with the decoded frames."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.checks import validate_dataset

EPISODES = "meta/episodes/chunk-000/file-000.parquet"


def test_a_stale_image_mean_in_one_episode_is_found_only_when_decoding(tmp_path: Path) -> None:
    root = copy_tree_writable(fixtures_dir() / "v3_image", tmp_path / "image")
    column = "stats/observation.images.wrist/mean"
    table = pq.read_table(root / EPISODES)
    cells = table.column(column).to_pylist()
    cells[3] = [[[channel[0][0] + 0.1]] for channel in cells[3]]  # every channel brighter
    index = table.column_names.index(column)
    table = table.set_column(index, column, pa.array(cells, type=table.schema.field(column).type))
    pq.write_table(table, root / EPISODES)
    assert validate_dataset(root) == []  # without decoding, frames are not looked at
    (problem,) = validate_dataset(root, decode=True)
    assert (problem.kind, problem.severity) == ("stale_camera_stats", "error")
    assert (problem.file, problem.loc) == (EPISODES, "episode 3")
    assert "stats/observation.images.wrist/mean of episode 3: channel 0" in problem.message


def test_a_stale_video_mean_in_stats_json_is_found_when_decoding(tmp_path: Path) -> None:
    root = copy_tree_writable(fixtures_dir() / "v3_h264_bframes", tmp_path / "video")
    path = root / "meta/stats.json"
    stats = json.loads(path.read_text())
    key = next(k for k in stats if k.startswith("observation.images"))
    stats[key]["mean"] = [[[0.2 + c[0][0]]] for c in stats[key]["mean"]]
    path.write_text(json.dumps(stats))
    assert validate_dataset(root) == []
    problems = validate_dataset(root, decode=True)
    assert {(p.kind, p.file, p.loc) for p in problems} == {
        ("stale_camera_stats", "meta/stats.json", f"{key}.mean")
    }
