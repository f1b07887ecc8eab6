"""Every robosplice op accepts what the official 0.6.1 tools write, and its outputs load frame for frame.

Inputs (make_official_outputs.py, built once per session with lerobot 0.6.1): the output of each
official operation (delete, split, aggregate, add/remove feature, modify_tasks, image→video,
reencode) and a recorder dataset whose depth camera has (3, 1, 1) stats as lerobot's test
factories write them, plus an aggregate of two such datasets. Each is run through every robosplice
op (delete, split, merge, trim, filter, repack, add/remove/rename feature, modify tasks, recompute
stats; images-to-video for the image dataset). Every output must

* be written (no refusal) and pass `validate` without errors;
* record the pre-flight repairs of its source in its edit log (when the source needed any);
* load in the official `LeRobotDataset`, each item equal to the source item the request maps it
  to (delete episode 0; even/odd episodes; episode 0 without its first and last frame; the
  episodes with the first task; the source twice): numbers exactly, frames bit for bit (depth in
  millimetres too), except what the op changes on purpose (index columns, the added/removed/
  renamed feature, tasks). The mapping is written from the request and the loaded source's
  episode_index/frame_index/task, never from the op's own plan.

Speed: all inputs come from one lerobot process; all outputs and sources are loaded in one more
(make_upstream_datasets.load_batch), so the tier costs about two loader start-ups plus the ops.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from harness import INDEX_KEYS, assert_same_items, copy_dataset
from make_official_outputs import (
    CONVERT_DEPTH,
    CONVERT_RGB,
    DEPTH_CAMERA,
    OUTPUTS,
    official_outputs,
)
from make_upstream_datasets import RGB_CAMERAS, load_batch, load_with_depth

import robosplice as rs
from robosplice.dataset import Dataset
from robosplice.format.paths import HISTORY_PATH

RENAME = ("observation.state", "observation.joints")
REMOVED = "observation.state"
ADDED = "bonus"
NEW_TASK = "tidy up"
IMAGE_INPUTS = ("images_delete",)
INPUTS = tuple(name for name in OUTPUTS if name not in IMAGE_INPUTS)
OPS = (
    "delete",
    "split",
    "merge",
    "trim",
    "filter",
    "repack",
    "add_feature",
    "remove_feature",
    "rename_feature",
    "modify_tasks",
    "recompute_stats",
)


@dataclass
class Edit:
    """One op run on one input: its output roots (a split's: one per requested part)."""

    input: str
    op: str
    outputs: list[Path] = field(default_factory=list)
    error: BaseException | None = None
    seconds: float = 0.0


def first_task(src: Path) -> str:
    """The task the `filter` request keeps: the first episode's first task."""
    return Dataset(src).episodes[0].tasks[0]


def expected_rows(op: str, source: dict[str, np.ndarray], output: Path, task: str) -> np.ndarray:
    """The source item of each output item, from the request alone (see `_run`) and the source's
    loaded episode_index, frame_index and task: never from what the op planned."""
    episode = source["episode_index"].reshape(-1).astype(np.int64)
    frame = source["frame_index"].reshape(-1).astype(np.int64)
    rows = np.arange(len(episode))
    if op == "delete":  # episode 0 deleted
        return rows[episode != 0]
    if op == "split":  # a: even episodes, b: odd ones
        return rows[episode % 2 == (0 if output.name == "a" else 1)]
    if op == "trim":  # episode 0 keeps [1, length - 1)
        length = int((episode == 0).sum())
        return rows[(episode != 0) | ((frame >= 1) & (frame < length - 1))]
    if op == "filter":  # the episodes with a frame of the first task
        kept = np.unique(episode[np.asarray(source["task"]).reshape(-1) == task])
        return rows[np.isin(episode, kept)]
    if op == "merge":  # the source, then the source again
        return np.arange(2 * len(episode))
    return rows  # every other op keeps every row in order


def _run(src: Path, op: str, out: Path) -> list[Path]:
    """Run `op` on `src` into `out`; return the output roots (a split has several)."""
    dataset = Dataset(src)
    n = dataset.num_episodes
    first_length = dataset.episodes[0].length
    frames = dataset.num_frames
    bonus = {ADDED: (np.arange(frames, dtype=np.float32) * 0.5, _float(1))}
    task = first_task(src)
    calls: dict[str, Callable[..., Any]] = {
        "delete": lambda **k: rs.delete_episodes(src, [0], out, **k),
        "split": lambda **k: rs.split_dataset(
            src,
            {"a": list(range(0, n, 2)), "b": list(range(1, n, 2))} if n > 1 else {"a": [0]},
            out,
            **k,
        ),
        # Videos kept in separate files: a recorder hevc file that ends on a CRA frame followed by
        # another file's first IDR is not seekable at the junction under pyav, whoever joins them
        # (0.6.1 aggregate_datasets of the same sources fails the same way).
        "merge": lambda **k: rs.merge_datasets(
            [src, src], "official/merged", out, concatenate_videos=False, **k
        ),
        "trim": lambda **k: rs.trim_episodes(src, {0: (1, first_length - 1)}, out, **k),
        "filter": lambda **k: rs.filter_episodes(
            src, tasks=re.compile(f"^{re.escape(task)}$"), output_dir=out, **k
        ),
        "repack": lambda **k: rs.repack(src, out, data_files_size_in_mb=0.02, **k),
        "add_feature": lambda **k: rs.add_features(src, bonus, out, **k),
        "remove_feature": lambda **k: rs.remove_feature(src, REMOVED, out, **k),
        "rename_feature": lambda **k: rs.rename_feature(src, dict([RENAME]), out, **k),
        "modify_tasks": lambda **k: rs.modify_tasks(src, new_task=NEW_TASK, output_dir=out, **k),
        "recompute_stats": lambda **k: rs.recompute_stats(src, output_dir=out, **k),
        "images_to_video": lambda **k: rs.convert_image_to_video_dataset(
            src, out, rgb_encoder=CONVERT_RGB, depth_encoder=CONVERT_DEPTH, num_workers=1, **k
        ),
    }
    calls[op]()
    if op == "split":
        return [out / "a", out / "b"] if n > 1 else [out / "a"]
    return [out]


def _float(*shape: int) -> dict[str, Any]:
    return {"dtype": "float32", "shape": list(shape), "names": None}


@pytest.fixture(scope="module")
def inputs(lerobot_python, tmp_path_factory) -> dict[str, Path]:
    """Module copies of the official outputs (built once per session by lerobot 0.6.1)."""
    built = official_outputs(lerobot_python)
    failed = {p.stem: p.read_text()[-3000:] for p in built.glob("*.err")}
    assert not failed, f"official tools failed: {failed}"
    base = tmp_path_factory.mktemp("official")
    return {name: copy_dataset(built / name, base / name) for name in OUTPUTS}


@pytest.fixture(scope="module")
def edits(lerobot_python, inputs, tmp_path_factory) -> dict[tuple[str, str], Edit]:
    """Every op on every input, then one loader process for every source and output."""
    base = tmp_path_factory.mktemp("edits")
    result: dict[tuple[str, str], Edit] = {}
    pairs = [(name, op) for name in INPUTS for op in OPS]
    pairs += [(name, "images_to_video") for name in IMAGE_INPUTS]
    for name, op in pairs:
        edit = Edit(input=name, op=op)
        start = time.perf_counter()
        try:
            edit.outputs += _run(inputs[name], op, base / name / op)
        except Exception as exc:  # reported by the test of this pair
            edit.error = exc
        edit.seconds = time.perf_counter() - start
        result[(name, op)] = edit
    # A factory-style (3, 1, 1) depth dataset merged with the recorder's (1, 1, 1) original.
    mixed = Edit(input="depth_311", op="merge_recorder")
    recorded = inputs["depth_311"].parent / "recorded_video"
    if not recorded.exists():
        copy_dataset(official_outputs(lerobot_python) / "_recorded" / "video", recorded)
    try:
        out = base / "depth_311" / "merge_recorder"
        rs.merge_datasets([inputs["depth_311"], recorded], "o/mixed", out)
        mixed.outputs.append(out)
    except Exception as exc:
        mixed.error = exc
    result[("depth_311", "merge_recorder")] = mixed
    roots = [*inputs.values(), recorded, *(r for e in result.values() for r in e.outputs)]
    load_batch(lerobot_python, depth=dict.fromkeys(roots))
    return result


def _loaded(root: Path, python: Path) -> dict[str, np.ndarray]:
    return load_with_depth(root, python)


def _concat_sources(items: dict[str, np.ndarray], copies: int) -> dict[str, np.ndarray]:
    """A source dump repeated `copies` times (a merge of a dataset with itself)."""
    if copies == 1:
        return items
    combined = {
        k: np.concatenate([v] * copies) for k, v in items.items() if not k.startswith("meta/")
    }
    combined.update({k: v for k, v in items.items() if k.startswith("meta/")})
    combined["meta/len"] = np.asarray(int(items["meta/len"]) * copies)
    return combined


@pytest.mark.parametrize(
    ("name", "op"),
    [(n, o) for n in INPUTS for o in OPS] + [(n, "images_to_video") for n in IMAGE_INPUTS],
)
def test_op_accepts_official_output_and_loads(lerobot_python, inputs, edits, name, op):
    edit = edits[(name, op)]
    assert edit.error is None, f"{op} refused or failed on the official {name!r}: {edit.error!r}"
    loaded = _loaded(inputs[name], lerobot_python)
    source = _concat_sources(loaded, 2 if op == "merge" else 1)
    for root in edit.outputs:
        rows = expected_rows(op, loaded, root, first_task(inputs[name]))
        problems = [p for p in rs.validate(root) if p.severity == "error"]
        assert problems == [], f"{op} output of {name}: {[str(p) for p in problems]}"
        items = _loaded(root, lerobot_python)
        assert int(items["meta/len"]) == len(rows)
        np.testing.assert_array_equal(items["index"].reshape(-1), np.arange(len(rows)))
        want = dict(source)
        exclude: list[str] = list(INDEX_KEYS)
        if op == "add_feature":
            np.testing.assert_array_equal(
                items[ADDED].reshape(-1), np.arange(len(rows), dtype=np.float32) * 0.5
            )
            exclude.append(ADDED)
        elif op == "remove_feature":
            assert REMOVED not in items
            exclude.append(REMOVED)
        elif op == "rename_feature":
            want[RENAME[1]] = want.pop(RENAME[0])
        elif op == "modify_tasks":
            assert set(items["task"].tolist()) == {NEW_TASK}
            exclude.append("task")
        elif op == "images_to_video":
            _assert_converted(items, want, rows)
            exclude += [*RGB_CAMERAS, DEPTH_CAMERA]
        assert_same_items(items, want, rows, exclude=exclude)


def _assert_converted(items: dict, source: dict, rows: np.ndarray) -> None:
    """Encoded cameras (lossy): each output frame is nearest to its own source frame of all the
    source's frames, and the depth is within 1 % of the recorded millimetres."""
    for key in RGB_CAMERAS:
        got = items[key].reshape(len(rows), -1).astype(np.float64)
        every = source[key].reshape(len(source[key]), -1).astype(np.float64)
        distances = np.abs(got[:, None, :] - every[None, :, :]).mean(axis=2)
        np.testing.assert_array_equal(distances.argmin(axis=1), rows, err_msg=key)
    np.testing.assert_allclose(items[DEPTH_CAMERA], source[DEPTH_CAMERA][rows], rtol=0.01)


@pytest.mark.parametrize("name", ["image_to_video", "delete", "depth_311", "add_features"])
def test_repairs_are_recorded_in_the_edit_log(edits, name):
    """The pre-flight notes of a source that needed repairs are in the output's edit log."""
    edit = edits[(name, "repack")]
    assert edit.error is None, repr(edit.error)
    lines = (edit.outputs[0] / HISTORY_PATH).read_text().splitlines()
    repairs = json.loads(lines[-1]).get("repairs") or []
    kinds = {r["kind"] for r in repairs}
    expected = {
        "image_to_video": {"missing_optional_column", "missing_episode_stats"},
        "delete": {"stale_index_stats"},
        "depth_311": {"unusual_stats_shape"},
        "add_features": {"missing_stats", "missing_episode_stats"},
    }[name]
    assert expected <= kinds, kinds
    assert all(r["handling"] in ("rebuilt", "carried") for r in repairs)


def test_image_to_video_output_gets_its_metadata_rebuilt(inputs, edits):
    """tasks, meta/episodes positions, per-episode and camera stats: all present after repack."""
    out = Dataset(edits[("image_to_video", "repack")].outputs[0])
    table = out.episodes_table
    for column in ("tasks", "meta/episodes/chunk_index", "meta/episodes/file_index"):
        assert column in table.column_names
    for key in out.camera_keys:
        if key == DEPTH_CAMERA:
            continue  # depth stats come from raw maps only
        assert f"stats/{key}/mean" in table.column_names
        assert key in (out.stats or {})
    source = Dataset(inputs["image_to_video"])
    tasks = [list(t) for t in table.column("tasks").to_pylist()]
    # The recorded sample alternates task_0 / task_1 (make_upstream_datasets "sample" recipe).
    assert tasks == [[f"task_{i % 2}"] for i in range(source.num_episodes)]


def test_depth_311_stats_are_carried_through_merge(inputs, edits):
    """(3, 1, 1) depth stats stay as the source had them (the loader accepts them)."""
    out = edits[("depth_311", "merge")].outputs[0]
    stats = json.loads((out / "meta/stats.json").read_text())
    assert np.asarray(stats[DEPTH_CAMERA]["mean"]).shape == (3, 1, 1)
    repacked = edits[("depth_311", "repack")].outputs[0]
    assert (repacked / "meta/stats.json").read_bytes() == (
        inputs["depth_311"] / "meta/stats.json"
    ).read_bytes()


def test_timing_report(edits):
    """Not an assertion of speed: prints the slowest ops so the tier's cost stays visible."""
    slowest = sorted(edits.values(), key=lambda e: -e.seconds)[:5]
    total = sum(e.seconds for e in edits.values())
    print(f"\n{len(edits)} edits in {total:.1f} s; slowest:")
    for e in slowest:
        print(f"  {e.input} {e.op}: {e.seconds:.1f} s")


def test_depth_311_merges_with_the_recorders_1_1_1_stats(lerobot_python, inputs, edits):
    """Mixed shapes of one camera's stats across sources: merged, and aggregated as (1, 1, 1)."""
    edit = edits[("depth_311", "merge_recorder")]
    assert edit.error is None, repr(edit.error)
    out = edit.outputs[0]
    stats = json.loads((out / "meta/stats.json").read_text())
    assert np.asarray(stats[DEPTH_CAMERA]["mean"]).shape == (1, 1, 1)
    recorded = inputs["depth_311"].parent / "recorded_video"
    a = _loaded(inputs["depth_311"], lerobot_python)
    b = _loaded(recorded, lerobot_python)
    keys = [k for k in a if not k.startswith("meta/")]
    combined = {k: np.concatenate([a[k], b[k]]) for k in keys}
    combined["meta/len"] = np.asarray(int(a["meta/len"]) + int(b["meta/len"]))
    combined["meta/camera_keys"] = a["meta/camera_keys"]
    rows = np.arange(int(combined["meta/len"]))  # the first source's rows, then the second's
    assert_same_items(_loaded(out, lerobot_python), combined, rows, exclude=INDEX_KEYS)
