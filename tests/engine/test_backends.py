"""Every backend writes the same bytes; a failing unit is retried once, then nothing is published.

Outputs of the serial backend (the reference) and of a 2-process pool, chosen by each op's
`backend=`/`workers=` keywords, are hashed file by file (the edit log aside, which records
times); whole source files kept by an edit are checked to be the source's bytes; injected unit
failures are retried or abort the edit cleanly; bad options are refused before anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backend_faults import (
    CountingBackend,
    FaultyBackend,
    RecordPid,
    RefusingBackend,
    report_pid,
)
from fixture_data import FIXTURE_NAMES
from robosplice.dataset import Dataset
from robosplice.engine.backends import (
    InvalidBackendError,
    ProcessBackend,
    UnitFailedError,
    execution,
)
from robosplice.format.paths import HISTORY_PATH
from robosplice.ops.apply import apply
from robosplice.ops.convert import change_fps, reencode_dataset
from robosplice.ops.delete import delete_episodes
from robosplice.ops.features import rename_feature
from robosplice.ops.filter import filter_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.repack import repack
from robosplice.ops.split import split_dataset
from robosplice.ops.stats import recompute_stats
from robosplice.ops.tasks import modify_tasks
from robosplice.ops.trim import trim_episodes
from robosplice.ops.validate import validate
from robosplice.recipe import Step, make_recipe
from robosplice.testing import decode_episode_frames, read_episode_table, tree_digest


def _digest(root: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(root).items() if not k.endswith(HISTORY_PATH)}


def assert_episode_matches(output: Dataset, number: int, source: Dataset, episode: int) -> None:
    """Decoded frames and the state column of an output episode equal the source episode's."""
    got, want = read_episode_table(output, number), read_episode_table(source, episode)
    assert got.column("observation.state").equals(want.column("observation.state"))
    for key in source.video_keys:
        np.testing.assert_array_equal(
            decode_episode_frames(output, key, number), decode_episode_frames(source, key, episode)
        )


def _run(op: str, source: Path, out: Path, **options: Any) -> None:
    """Run `op` on `source` into `out`, with `options` (backend=, workers=) as its keywords."""
    dataset = Dataset(source)
    last = dataset.num_episodes - 1
    lengths = [e.length for e in dataset.episodes]
    if op == "delete":
        delete_episodes(source, [1], out, **options)
    elif op == "split":
        split_dataset(source, {"a": 0.5, "b": 0.5}, out, **options)
    elif op == "merge":
        merge_datasets([source, source], "t/m", out, video_files_size_in_mb=0.1, **options)
    elif op == "trim":
        ranges = {0: (3, lengths[0] - 2), last: (1, lengths[last] - 5)}
        trim_episodes(source, ranges, out, **options)
    elif op == "filter":
        filter_episodes(source, min_length=sorted(lengths)[1], output_dir=out, **options)
    elif op == "repack":
        repack(source, out, video_files_size_in_mb=0.03, data_files_size_in_mb=0.01, **options)
    elif op == "stats":  # camera stats sampled from every episode's frames: frame-stats units
        recompute_stats(source, skip_image_video=False, output_dir=out, **options)
    elif op == "tasks":
        modify_tasks(source, new_task="do the thing", output_dir=out, **options)
    elif op == "rename":
        rename_feature(source, {"observation.state": "observation.joints"}, out, **options)
    elif op == "apply":
        steps = [Step(op="delete_episodes", args={"episode_indices": [0]})]
        apply(make_recipe(source, steps), source, out, **options)
    elif op in ("reencode", "change_fps"):  # these name the worker count num_workers (0.6.1)
        workers = options.pop("workers", None)
        if op == "reencode":
            camera = dataset.video_keys[0]
            reencode_dataset(
                source, cameras=[camera], g=4, num_workers=workers, output_dir=out, **options
            )
        else:
            change_fps(source, dataset.fps // 2, output_dir=out, num_workers=workers, **options)


OPS = ("delete", "split", "merge", "trim", "filter", "repack", "stats")
ENCODING_OPS = ("reencode", "change_fps")  # their num_workers is the worker count
ONE_FIXTURE_OPS = ("tasks", "rename", "apply", *ENCODING_OPS)  # the units of the ones above
ALL_OPS = OPS + ONE_FIXTURE_OPS


@pytest.mark.parametrize(
    ("op", "name"),
    [(op, name) for op in OPS for name in FIXTURE_NAMES]
    + [(op, "v3_av1_multifile") for op in ONE_FIXTURE_OPS],
)
def test_process_backend_writes_the_serial_bytes(name, op, fixture_dataset, tmp_path):
    source = fixture_dataset(name)  # the guard checks it stays byte-identical
    with execution(RefusingBackend()):  # the keywords win over the block
        _run(op, source, tmp_path / "serial", backend="serial")
        _run(op, source, tmp_path / "process", backend="process", workers=2)
    serial = _digest(tmp_path / "serial")
    assert any(path.endswith(".parquet") for path in serial)
    assert _digest(tmp_path / "process") == serial


@pytest.mark.parametrize("op", ALL_OPS)
def test_bad_backend_options_are_refused_before_anything_is_written(op, fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_single")
    out = tmp_path / "out"
    with pytest.raises(InvalidBackendError, match="'rey': expected one of serial, process, ray"):
        _run(op, source, out, backend="rey")
    if op not in ENCODING_OPS:  # their num_workers=0 means one per core, as in 0.6.1
        with pytest.raises(InvalidBackendError, match="workers must be an integer >= 1, got 0"):
            _run(op, source, out, backend="process", workers=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no output, no staging


@pytest.mark.parametrize("op", ALL_OPS)
def test_the_backend_keyword_runs_the_work_units(op, fixture_dataset, tmp_path):
    counting = CountingBackend()
    _run(op, fixture_dataset("v3_av1_single"), tmp_path / "out", backend=counting)
    assert counting.units > 0


def test_execution_refuses_bad_options_at_once():
    with pytest.raises(InvalidBackendError, match="expected one of serial, process, ray"):
        execution("threads").__enter__()
    with pytest.raises(InvalidBackendError, match="got -1"):
        execution("process", workers=-1).__enter__()


def test_the_keyword_wins_over_the_block_and_none_keeps_the_block(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_multifile")
    delete_episodes(source, [1], tmp_path / "reference", backend="serial")
    failing = FaultyBackend("copy_camera", tmp_path / "flag", always=True)
    with execution(failing):
        delete_episodes(source, [1], tmp_path / "keyword", backend="serial")
        assert failing.calls == 0
        with pytest.raises(UnitFailedError, match="failed twice"):
            delete_episodes(source, [1], tmp_path / "block", workers=2)  # backend=None
    assert failing.calls > 0
    assert not (tmp_path / "block").exists()
    assert _digest(tmp_path / "keyword") == _digest(tmp_path / "reference")


def test_source_files_kept_whole_are_copied_as_they_are(fixture_dataset, tmp_path):
    source = Dataset(fixture_dataset("v3_av1_multifile"))
    front = "videos/observation.images.front/chunk-000"
    first, second = [0, 1, 2, 3, 4, 5], [6, 7, 8, 9]  # front files (0,0), (0,1) | (1,0), (1,1)
    split_dataset(source, {"a": first, "b": second}, tmp_path / "out")
    out = Dataset(tmp_path / "out" / "a")
    for name in ("file-000.mp4", "file-001.mp4"):
        assert (out.root / front / name).read_bytes() == (source.root / front / name).read_bytes()
    for number, episode in enumerate(first):
        assert_episode_matches(out, number, source, episode)
    assert validate(out) == []
    with execution(link_files=True):
        split_dataset(source, {"a": first, "b": second}, tmp_path / "linked")
    linked = tmp_path / "linked" / "a" / front / "file-000.mp4"
    assert linked.stat().st_ino == (source.root / front / "file-000.mp4").stat().st_ino


def test_a_unit_that_fails_once_is_retried_and_the_output_is_unchanged(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_multifile")
    with execution("serial"):
        delete_episodes(source, [4], tmp_path / "reference")
    backend = FaultyBackend("copy_camera", tmp_path / "flag")
    with execution(backend):
        delete_episodes(source, [4], tmp_path / "retried")
    assert (tmp_path / "flag").exists()
    files = list((tmp_path / "retried" / "videos").rglob("*.mp4"))
    assert backend.calls == len(files) + 1  # a unit per camera and output file, one retry
    assert _digest(tmp_path / "retried") == _digest(tmp_path / "reference")


def test_a_unit_that_always_fails_publishes_nothing(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_multifile")  # the guard checks it stays byte-identical
    out = tmp_path / "out"
    with (
        execution(FaultyBackend("frame_stats", tmp_path / "flag", always=True)),
        pytest.raises(UnitFailedError, match="failed twice"),
    ):
        trim_episodes(source, {0: (2, 20)}, out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_process_backend_units_run_in_other_processes():
    pids = {ProcessBackend(2).submit(report_pid, unit).result(timeout=120) for unit in range(8)}
    assert os.getpid() not in pids


@pytest.mark.parametrize("op", ["repack", "stats", "reencode"])
def test_an_ops_process_units_leave_the_calling_process(op, fixture_dataset, tmp_path, monkeypatch):
    """Every unit an op hands to `backend="process"` runs in a worker, never in this process."""
    pids = tmp_path / "pids"
    pids.mkdir()
    submit = ProcessBackend.submit

    def recording(self, fn, unit):
        return submit(self, RecordPid(fn, pids), unit)

    monkeypatch.setattr(ProcessBackend, "submit", recording)
    _run(op, fixture_dataset("v3_av1_multifile"), tmp_path / "out", backend="process", workers=2)
    seen = {int(path.name) for path in pids.iterdir()}
    assert seen, "no unit reached the process backend"
    assert os.getpid() not in seen
