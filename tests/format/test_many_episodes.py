"""bench/make_many_episodes.py: the synthetic many-episodes dataset of issue 22 is a valid v3.0
dataset whose metadata says where every episode's rows and frames are.

Checked independently of the generator and of robosplice's readers: rows with pyarrow, frames
with PyAV (a window's pts, count and colour), stats.json against the per-episode columns; and
`validate` finds nothing, but does find a planted fault.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from robosplice.checks import validate_dataset
from robosplice.checks.data_moments import read_moments
from robosplice.format.info import read_info
from robosplice.format.stats import aggregate_feature_stats

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import make_many_episodes as many

EPISODES = 200
PER_FILE = 70  # 3 data files and 3 video files: windows restart at 0 in each


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("many") / "many-200"
    return many.ensure(EPISODES, root, episodes_per_file=PER_FILE)


def _episodes(root: Path) -> list[dict]:
    paths = sorted((root / "meta/episodes").glob("*/*.parquet"))
    rows: list[dict] = []
    for path in paths:
        table = pq.read_table(path)
        keep = [n for n in table.column_names if not n.startswith("stats/")]
        rows += table.select(keep).to_pylist()
    return rows


def test_small_build_validates_clean(built: Path) -> None:
    assert validate_dataset(built) == []


def test_rows_match_the_episode_metadata(built: Path) -> None:
    episodes = _episodes(built)
    assert [e["episode_index"] for e in episodes] == list(range(EPISODES))
    data = [pq.read_table(p) for p in sorted((built / "data").glob("*/*.parquet"))]
    assert len(data) == -(-EPISODES // PER_FILE)
    index = np.concatenate([t.column("index").to_numpy() for t in data])
    assert np.array_equal(index, np.arange(len(index)))
    info = json.loads((built / "meta/info.json").read_text())
    assert info["total_frames"] == len(index) == sum(e["length"] for e in episodes)
    for episode in episodes:
        table = data[episode["data/file_index"]]
        rows = table.filter(pc.equal(table.column("episode_index"), episode["episode_index"]))
        assert rows.num_rows == episode["length"]
        assert 8 <= episode["length"] <= 20
        got = rows.column("index").to_numpy()
        assert got[0] == episode["dataset_from_index"]
        assert got[-1] + 1 == episode["dataset_to_index"]
        assert rows.column("frame_index").to_pylist() == list(range(episode["length"]))


def test_frames_match_the_episode_windows(built: Path) -> None:
    """Each window holds `length` frames at from + k / fps, all showing the episode's colour."""
    episodes = _episodes(built)
    key = many.CAMERA
    palette = np.random.default_rng(1234).integers(16, 240, size=(many.PALETTE, 3))
    by_file: dict[int, list[dict]] = {}
    for episode in episodes:
        by_file.setdefault(episode[f"videos/{key}/file_index"], []).append(episode)
    for number, file_episodes in by_file.items():
        path = built / f"videos/{key}/chunk-000/file-{number:03d}.mp4"
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert stream.average_rate == Fraction(many.FPS)
            frames = [
                (float(f.pts * f.time_base), f.to_ndarray(format="rgb24").mean(axis=(0, 1)))
                for f in container.decode(stream)
            ]
        times = np.array([t for t, _ in frames])
        for episode in file_episodes:
            start = episode[f"videos/{key}/from_timestamp"]
            stop = episode[f"videos/{key}/to_timestamp"]
            assert stop - start == pytest.approx(episode["length"] / many.FPS)
            inside = np.flatnonzero((times >= start - 1e-4) & (times < stop - 1e-4))
            assert len(inside) == episode["length"]
            expected = start + np.arange(episode["length"]) / many.FPS
            assert np.allclose(times[inside], expected, atol=1e-4)
            colour = palette[episode["episode_index"] % many.PALETTE]
            for position in inside[[0, -1]]:
                assert np.abs(frames[position][1] - colour).max() < 6


def test_stats_json_is_the_aggregate_of_the_episode_columns(built: Path) -> None:
    stats_json = json.loads((built / "meta/stats.json").read_text())
    table = pq.read_table(built / "meta/episodes/chunk-000/file-000.parquet")
    for feature in ("observation.state", "index"):
        per_episode = [
            {k: np.array(table.column(f"stats/{feature}/{k}")[row].as_py()) for k in
             ("min", "max", "mean", "std", "count")}
            for row in range(table.num_rows)
        ]  # fmt: skip
        expected = aggregate_feature_stats(per_episode)
        for key in ("min", "max", "mean", "std", "count"):
            assert np.allclose(stats_json[feature][key], expected[key], rtol=1e-9), key


def test_moments_aggregate_equals_aggregate_feature_stats(built: Path) -> None:
    """The vectorised aggregate `validate` uses gives aggregate_feature_stats' floats exactly."""
    features = read_info(built)["features"]
    moments = read_moments(built, features, ["observation.state", "action", "timestamp"])
    for name, feature_moments in moments.items():
        expected = aggregate_feature_stats(feature_moments.episode_stats())
        got = feature_moments.aggregate()
        assert set(got) == set(expected), name
        for key, value in expected.items():
            assert np.array_equal(got[key], value), (name, key)


def test_a_planted_window_fault_is_found(built: Path, tmp_path: Path) -> None:
    """Shift one window by a frame in a copy: validate names that episode (and only it)."""
    import shutil

    root = tmp_path / "shifted"
    shutil.copytree(built, root)
    path = root / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(path)
    column = f"videos/{many.CAMERA}/from_timestamp"
    values = table.column(column).to_numpy().copy()
    values[150] += 0.5 / many.FPS  # half a frame: no frame at from_timestamp
    table = table.set_column(table.schema.get_field_index(column), column, [values])
    pq.write_table(table, path)
    findings = validate_dataset(root)
    assert {(f.kind, f.loc) for f in findings} >= {("video_window_start", "episode 150")}
    assert {f.loc for f in findings if f.severity == "error"} == {"episode 150"}
