"""Repair instead of refuse: sources the official loader accepts are edited, and the output carries
the rebuilt metadata.

Each input is a fixture copy with metadata taken away or made unusual the way lerobot 0.6.1's own
tools leave it (convert_image_to_video_dataset: no `tasks`, no `stats/*`, no meta/episodes
positions, no camera stats; test factories: camera stats of another channel count; delete/split:
stale index stats). Expected values are computed here from the data with pyarrow and numpy, never
taken from robosplice.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from robosplice.errors import InvalidDatasetError
from robosplice.format.paths import HISTORY_PATH
from robosplice.ops.delete import delete_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.repack import repack
from robosplice.ops.trim import trim_episodes
from robosplice.ops.validate import validate

CAMERAS = ("observation.images.front", "observation.images.wrist")
STRIPPED_COLUMNS = (
    "tasks",
    "data/chunk_index",
    "data/file_index",
    "meta/episodes/chunk_index",
    "meta/episodes/file_index",
)


# ------------------------------------------------------------------------------ making inputs


def episodes_paths(root: Path) -> list[Path]:
    return sorted((root / "meta/episodes").glob("*/*.parquet"))


def rewrite_episodes(root: Path, change) -> None:
    for path in episodes_paths(root):
        table = change(pq.read_table(path))
        pq.write_table(table, path)


def strip_like_image_to_video(root: Path) -> None:
    """What 0.6.1 convert_image_to_video_dataset leaves out (plus the data positions)."""

    def change(table: pa.Table) -> pa.Table:
        drop = [n for n in table.column_names if n in STRIPPED_COLUMNS or n.startswith("stats/")]
        return table.drop_columns(drop)

    rewrite_episodes(root, change)
    stats = json.loads((root / "meta/stats.json").read_text())
    for camera in CAMERAS:
        stats.pop(camera, None)
    (root / "meta/stats.json").write_text(json.dumps(stats, indent=4))


def data_table(root: Path) -> pa.Table:
    paths = sorted(
        (root / "data").glob("*/*.parquet"), key=lambda p: p.relative_to(root).as_posix()
    )
    return pa.concat_tables([pq.read_table(p) for p in paths])


def expected_tasks(root: Path) -> list[list[str]]:
    """Each episode's tasks in order of first appearance, from the rows and tasks.parquet."""
    tasks_table = pq.read_table(root / "meta/tasks.parquet")
    by_index = dict(
        zip(
            tasks_table.column("task_index").to_pylist(),
            tasks_table.column("task").to_pylist(),
            strict=True,
        )
    )
    rows = data_table(root).select(["episode_index", "task_index"]).to_pylist()
    found: dict[int, list[str]] = {}
    for row in rows:
        tasks = found.setdefault(row["episode_index"], [])
        task = by_index[row["task_index"]]
        if task not in tasks:
            tasks.append(task)
    return [found[e] for e in sorted(found)]


def episode_values(root: Path, feature: str) -> list[np.ndarray]:
    table = data_table(root).select(["episode_index", feature])
    episodes = np.asarray(table.column("episode_index").to_pylist())
    values = np.asarray(table.column(feature).to_pylist(), dtype=np.float64)
    values = values.reshape(len(values), -1) if values.ndim > 1 else values.reshape(-1, 1)
    return [values[episodes == e] for e in np.unique(episodes)]


def episodes_column(root: Path, name: str) -> list:
    return (
        pa.concat_tables([pq.read_table(p) for p in episodes_paths(root)]).column(name).to_pylist()
    )


def last_log_line(root: Path) -> dict:
    return json.loads((root / HISTORY_PATH).read_text().splitlines()[-1])


@pytest.fixture
def altered(tmp_path, source_guard):
    """(fixture name, change) → a private copy with `change(root)` applied, then guarded."""
    from fixture_data import copy_tree_writable, fixtures_dir

    def make(name: str, change, label: str = "src") -> Path:
        root = copy_tree_writable(fixtures_dir() / name, tmp_path / label / name)
        change(root)
        return source_guard(root)

    return make


# ---------------------------------------------------------------------------------------- tests


def test_image_to_video_like_source_is_repacked_with_its_metadata_rebuilt(
    altered, tmp_path, caplog
):
    source = altered("v3_av1_multifile", strip_like_image_to_video)
    want_tasks = expected_tasks(source)
    with caplog.at_level(logging.WARNING, logger="robosplice"):
        output = repack(source, tmp_path / "out")
    assert validate(output) == []
    assert [list(t) for t in episodes_column(output.root, "tasks")] == want_tasks
    # Episode positions follow the output files (multi-file data: not all (0, 0)).
    positions = list(
        zip(
            episodes_column(output.root, "data/chunk_index"),
            episodes_column(output.root, "data/file_index"),
            strict=True,
        )
    )
    starts = episodes_column(output.root, "dataset_from_index")
    for (chunk, file), start, length in zip(
        positions, starts, episodes_column(output.root, "length"), strict=True
    ):
        path = output.root / f"data/chunk-{chunk:03d}/file-{file:03d}.parquet"
        rows = pq.read_table(path, columns=["index"]).column("index").to_pylist()
        assert start in rows
        assert start + length - 1 in rows
    # Per-episode numeric stats from the rows.
    for feature in ("action", "observation.state"):
        for episode, values in enumerate(episode_values(output.root, feature)):
            row = {
                k: episodes_column(output.root, f"stats/{feature}/{k}")[episode]
                for k in ("min", "max", "mean", "std", "count")
            }
            np.testing.assert_array_equal(row["min"], values.min(axis=0).astype(np.float32))
            np.testing.assert_array_equal(row["max"], values.max(axis=0).astype(np.float32))
            np.testing.assert_allclose(row["mean"], values.mean(axis=0), rtol=1e-5, atol=1e-6)
            # The official std is sqrt(E[x²] - E[x]²) in float32: a few epsilons of max|x|.
            scale = float(np.abs(values).max())
            np.testing.assert_allclose(row["std"], values.std(axis=0), atol=1e-4 * scale)
            assert row["count"] == [len(values)]
    # Camera stats from sampled frames: present, per channel, close to the recorder's own.
    original = json.loads((fixture_path("v3_av1_multifile") / "meta/stats.json").read_text())
    stats = json.loads((output.root / "meta/stats.json").read_text())
    for camera in CAMERAS:
        assert np.asarray(stats[camera]["mean"]).shape == (3, 1, 1)
        np.testing.assert_allclose(stats[camera]["mean"], original[camera]["mean"], atol=0.02)
        cells = episodes_column(output.root, f"stats/{camera}/mean")
        assert all(np.asarray(c).shape == (3, 1, 1) for c in cells)
    # Every repair reported: logged, and in the edit log.
    repairs = last_log_line(output.root)["repairs"]
    kinds = {(r["kind"], r["handling"]) for r in repairs}
    assert ("missing_optional_column", "rebuilt") in kinds
    assert ("missing_episode_stats", "rebuilt") in kinds
    assert ("missing_optional_stats", "rebuilt") in kinds
    assert {r["loc"] for r in repairs if r["kind"] == "missing_optional_column"} >= set(
        STRIPPED_COLUMNS
    )
    assert any("missing_episode_stats" in m for m in caplog.messages)


def test_image_to_video_like_source_delete_keeps_the_right_tasks(altered, tmp_path):
    source = altered("v3_av1_multifile", strip_like_image_to_video)
    want = expected_tasks(source)
    output = delete_episodes(source, [0, 3], tmp_path / "out")
    assert validate(output) == []
    kept = [t for e, t in enumerate(want) if e not in (0, 3)]
    assert [list(t) for t in episodes_column(output.root, "tasks")] == kept
    task_table = pq.read_table(output.root / "meta/tasks.parquet")
    used = {t for tasks in kept for t in tasks}
    assert set(task_table.column("task").to_pylist()) == used


def fixture_path(name: str) -> Path:
    from fixture_data import fixtures_dir

    return fixtures_dir() / name


def one_channel_camera_stats(root: Path, camera: str) -> None:
    """Give a 3-channel camera (1, 1, 1) stats (the channel mean): unusual, but it broadcasts."""
    stats = json.loads((root / "meta/stats.json").read_text())
    for key, value in stats[camera].items():
        if key != "count":
            stats[camera][key] = np.asarray(value).mean(axis=0, keepdims=True).tolist()
    (root / "meta/stats.json").write_text(json.dumps(stats, indent=4))

    def change(table: pa.Table) -> pa.Table:
        prefix = f"stats/{camera}/"
        for i, name in enumerate(table.column_names):
            if name.startswith(prefix) and not name.endswith("/count"):
                cells = [
                    np.asarray(c).mean(axis=0, keepdims=True).tolist()
                    for c in table.column(name).to_pylist()
                ]
                table = table.set_column(i, name, pa.array(cells, table.schema.field(i).type))
        return table

    rewrite_episodes(root, change)


def test_merge_accepts_unusual_camera_stats_shapes_and_carries_them(altered, tmp_path):
    camera = CAMERAS[0]
    a, b = (
        altered(name, lambda root: one_channel_camera_stats(root, camera))
        for name in ("v3_av1_single", "v3_av1_multifile")
    )
    for root in (a, b):
        assert {p.kind for p in validate(root)} == {"unusual_stats_shape"}
    merged = merge_datasets([a, b], "test/merged", tmp_path / "merged")
    stats = json.loads((merged.root / "meta/stats.json").read_text())
    assert np.asarray(stats[camera]["mean"]).shape == (1, 1, 1)
    # The merged mean is the count-weighted mean of the sources' per-episode (1, 1, 1) means.
    means = [np.asarray(c) for r in (a, b) for c in episodes_column(r, f"stats/{camera}/mean")]
    counts = [c[0] for r in (a, b) for c in episodes_column(r, f"stats/{camera}/count")]
    want = sum(m * n for m, n in zip(means, counts, strict=True)) / sum(counts)
    np.testing.assert_allclose(stats[camera]["mean"], want, rtol=1e-12)
    assert all(p.severity == "warning" for p in validate(merged))
    repairs = last_log_line(merged.root)["repairs"]
    assert {r["handling"] for r in repairs if r["kind"] == "unusual_stats_shape"} == {"carried"}


def test_stale_stats_are_recomputed_not_carried(altered, tmp_path):
    def shift(table: pa.Table) -> pa.Table:
        for stat in ("mean", "max"):
            name = f"stats/action/{stat}"
            i = table.column_names.index(name)
            cells = table.column(name).to_pylist()
            cells[1] = [v + 1.0 for v in cells[1]]
            table = table.set_column(i, name, pa.array(cells, table.schema.field(i).type))
        return table

    def make_stale(root: Path) -> None:
        rewrite_episodes(root, shift)
        stats = json.loads((root / "meta/stats.json").read_text())
        stats["action"]["max"] = [v + 1.0 for v in stats["action"]["max"]]
        (root / "meta/stats.json").write_text(json.dumps(stats, indent=4))

    source = altered("v3_av1_single", make_stale)
    stats = json.loads((source / "meta/stats.json").read_text())
    assert "stale_stats" in {p.kind for p in validate(source)}
    output = repack(source, tmp_path / "out")
    assert validate(output) == []
    values = episode_values(output.root, "action")
    got = episodes_column(output.root, "stats/action/max")
    for episode, episode_rows in enumerate(values):
        np.testing.assert_array_equal(got[episode], episode_rows.max(axis=0).astype(np.float32))
    everything = np.concatenate(values)
    out_stats = json.loads((output.root / "meta/stats.json").read_text())
    np.testing.assert_array_equal(
        out_stats["action"]["max"], everything.max(axis=0).astype(np.float32)
    )
    # Features whose stats were right stay bit-exact.
    assert out_stats["observation.state"] == stats["observation.state"]
    assert {r["kind"] for r in last_log_line(output.root)["repairs"]} == {"stale_stats"}


def test_tasks_without_pandas_index_are_rewritten(altered, tmp_path):
    def drop_pandas_metadata(root: Path) -> None:
        path = root / "meta/tasks.parquet"
        pq.write_table(pq.read_table(path).replace_schema_metadata(None), path)

    source = altered("v3_image", drop_pandas_metadata)
    table = pq.read_table(source / "meta/tasks.parquet")
    assert "tasks_no_pandas_index" in {p.kind for p in validate(source)}
    output = trim_episodes(source, {0: (2, 10)}, tmp_path / "out")
    assert validate(output) == []
    rewritten = pq.read_table(output.root / "meta/tasks.parquet")
    assert b"pandas" in (rewritten.schema.metadata or {})
    assert rewritten.column("task").to_pylist() == table.column("task").to_pylist()


def test_errors_that_would_make_the_output_wrong_still_refuse(altered, tmp_path):
    def break_it(root: Path) -> None:
        strip_like_image_to_video(root)
        info = json.loads((root / "meta/info.json").read_text())
        info["fps"] = 0
        (root / "meta/info.json").write_text(json.dumps(info))

    source = altered("v3_av1_single", break_it)
    with pytest.raises(InvalidDatasetError) as caught:
        repack(source, tmp_path / "out")
    kinds = {p.kind for p in caught.value.problems}
    assert "bad_field" in kinds
    # Repairable problems are not listed as reasons to refuse.
    assert "missing_optional_column" not in kinds
    assert not (tmp_path / "out").exists()
