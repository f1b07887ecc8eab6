"""`repair` outputs in the official loader: every item is the author's row and frame, by position.

Each case of `tests/repair/wild_corpus.py` that `repair` takes (issue 21's classes) is repaired and
loaded by lerobot 0.6.1's `LeRobotDataset` with both video backends. Expected values come from the
source files, read here: the k-th row of an episode's parquet, the k-th frame of its mp4 decoded
with PyAV (by position, not at the source's timestamp), the episode's task string from
meta/tasks.jsonl (v3.0 sources: `wild_corpus.read_v3_episodes`, which follows the templates the
source declares and reads its real episodes file and tasks.parquet). With pyav the frames must be bit-identical; torchcodec converts colours its own
way, and MPEG-4 Part 2 decoders are not bit-exact across FFmpeg builds (its IDCT is not specified
to the bit; the lerobot venv's PyAV bundles another build), so there each frame must be nearest to
the source frame at its position and within a few levels of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from harness import BACKENDS, camera_keys, load_with_lerobot

from repair.wild_corpus import CASES_BY_NAME, V3_REPAIRED, read_v3_episodes
from robosplice.ops.repair import repair

REPAIRED = (
    "1_wallclock_timestamps",
    "1_late_timestamps",
    "2_no_episodes_stats",
    "3_no_index",
    "3_no_task_index",
    "3_no_frame_index",
    "3_partial_features",
    "3_undeclared_column",
    "6_camera_without_files",
    "6_codec_label",
    "7_half_uploaded_chunk",
    "3_float64_stored",
    "3_float64_inexact",
    "1_recorded_wallclock",
    "2_recorded_no_episodes_stats",
    "3_recorded_no_index",
    "3_groot_annotations",
    "4_v21_v3_placeholders",
    "6_channel_first",
    "6_mpeg4_part2",
    "6_long_gop_bframes",
    "7_junk",
    "7_spaces_in_folders",
    "8_single_episode",
)
BOOKKEEPING = {"index", "episode_index", "frame_index", "task_index", "timestamp"}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _expected(source: Path) -> dict[str, np.ndarray | list]:
    """Rows, frames (CHW) and task strings of the source, concatenated in episode order."""
    tasks = [row["task"] for row in _jsonl(source / "meta/tasks.jsonl")]
    episodes = _jsonl(source / "meta/episodes.jsonl")
    info = json.loads((source / "meta/info.json").read_text())
    cameras = [
        k
        for k, f in info["features"].items()
        if f["dtype"] == "video" and any(source.glob(f"*/*/{k}/*.mp4"))
    ]
    columns: dict[str, list] = {}
    frames: dict[str, list] = {key: [] for key in cameras}
    strings: list[str] = []
    for number in range(len(episodes)):
        table = pq.read_table(
            source / f"data/chunk-{number // 1000:03d}/episode_{number:06d}.parquet"
        )
        for name in table.column_names:
            if name not in BOOKKEEPING:
                columns.setdefault(name, []).append(
                    np.asarray(table.column(name).to_pylist(), dtype=np.float64)
                )
        if "task_index" in table.column_names:
            strings += [tasks[i] for i in table.column("task_index").to_pylist()]
        else:
            strings += [episodes[number]["tasks"][0]] * table.num_rows
        for key in cameras:
            (mp4,) = source.glob(f"*/*/{key}/episode_{number:06d}.mp4")
            frames[key].append(_decode(mp4)[: table.num_rows].transpose(0, 3, 1, 2))
    expected: dict[str, np.ndarray | list] = {
        name: np.concatenate(parts) for name, parts in columns.items()
    }
    expected |= {f"camera:{key}": np.concatenate(parts) for key, parts in frames.items()}
    expected["task"] = strings
    return expected


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", REPAIRED)
def test_repaired_dataset_loads_the_authors_rows_and_frames(
    name: str, backend: str, tmp_path: Path, lerobot_python: Path
) -> None:
    source = tmp_path / "src"
    CASES_BY_NAME[name].build(source)
    repair(source, tmp_path / "out")
    items = load_with_lerobot(tmp_path / "out", backend, python=lerobot_python)
    expected = _expected(source)
    n = sum(CASES_BY_NAME[name].lengths)
    assert int(items["meta/len"]) == n
    assert np.array_equal(
        items["frame_index"].reshape(-1),
        np.concatenate([np.arange(length) for length in CASES_BY_NAME[name].lengths]),
    )
    assert [str(t) for t in items["task"]] == expected["task"]
    for column, values in expected.items():
        if column == "task" or column.startswith("camera:"):
            continue
        if f"meta/stored/{column}" in items:  # declared float64: what float32 cannot hold
            stored = items[f"meta/stored/{column}"].reshape(values.shape)
            assert np.array_equal(stored.view(np.uint64), values.view(np.uint64)), column
            values = values.astype(np.float32)  # the loader's items: torch.tensor(list)
        got = items[column].astype(np.float64).reshape(values.shape)
        assert np.array_equal(got, values), column
    for key in camera_keys(items):
        exact = backend == "pyav" and name != "6_mpeg4_part2"
        _assert_frames(items[key], np.asarray(expected[f"camera:{key}"]), key, exact=exact)


def _assert_frames(got: np.ndarray, want: np.ndarray, key: str, *, exact: bool) -> None:
    """Loaded frames (CHW) are the source's at the same positions: bit for bit when `exact`."""
    assert got.shape == want.shape, key
    if exact:
        assert np.array_equal(got, want), key
        return
    flat_got = got.reshape(len(got), -1).astype(np.int16)
    flat_want = want.reshape(len(want), -1).astype(np.int16)
    assert np.abs(flat_got - flat_want).mean(axis=1).max() < 4, key
    for k in range(len(got)):  # nearest source frame is the one at the same position
        lo, hi = max(0, k - 3), min(len(want), k + 4)
        distances = np.abs(flat_want[lo:hi] - flat_got[k]).mean(axis=1)
        assert lo + int(np.argmin(distances)) == k or distances.min() == distances[k - lo], (
            key,
            k,
        )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", V3_REPAIRED)
def test_repaired_v3_dataset_loads_the_authors_rows_tasks_and_frames(
    name: str, backend: str, tmp_path: Path, lerobot_python: Path
) -> None:
    """v3.0 sources other converters wrote: rows, task strings and frames by position."""
    source = tmp_path / "src"
    CASES_BY_NAME[name].build(source)
    repair(source, tmp_path / "out")
    items = load_with_lerobot(tmp_path / "out", backend, python=lerobot_python)
    authored = read_v3_episodes(source, [source / CASES_BY_NAME[name].episodes_file])
    assert int(items["meta/len"]) == sum(e.rows.num_rows for e in authored)
    assert [str(t) for t in items["task"]] == [t for e in authored for t in e.tasks]
    for column in authored[0].rows.column_names:
        if column in BOOKKEEPING:
            continue
        want = np.concatenate(
            [np.asarray(e.rows.column(column).to_pylist(), dtype=np.float64) for e in authored]
        )
        got = items[column].astype(np.float64).reshape(want.shape)
        assert np.array_equal(got, want), column
    assert sorted(camera_keys(items)) == sorted(authored[0].frames)
    for key in camera_keys(items):
        want = np.concatenate([e.frames[key] for e in authored]).transpose(0, 3, 1, 2)
        _assert_frames(items[key], want, key, exact=backend == "pyav")
