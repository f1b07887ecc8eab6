"""Every backend writes the same bytes; a failing unit is retried once, then nothing is published.

Outputs of the serial backend (the reference) and of a 2-process pool are hashed file by file
(the edit log aside, which records times); whole source files kept by an edit are checked to
be the source's bytes; injected unit failures are retried or abort the edit cleanly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend_faults import FaultyBackend
from fixture_data import FIXTURE_NAMES
from robosplice.dataset import Dataset
from robosplice.engine.backends import UnitFailedError, execution
from robosplice.format.paths import HISTORY_PATH
from robosplice.ops.delete import delete_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.repack import repack
from robosplice.ops.split import split_dataset
from robosplice.ops.trim import trim_episodes
from robosplice.ops.validate import validate
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


def _run(op: str, source: Path, out: Path) -> None:
    dataset = Dataset(source)
    last = dataset.num_episodes - 1
    if op == "delete":
        delete_episodes(source, [1], out)
    elif op == "split":
        split_dataset(source, {"a": 0.5, "b": 0.5}, out)
    elif op == "merge":
        merge_datasets([source, source], "t/m", out, video_files_size_in_mb=0.1)
    elif op == "trim":
        lengths = [e.length for e in dataset.episodes]
        trim_episodes(source, {0: (3, lengths[0] - 2), last: (1, lengths[last] - 5)}, out)
    elif op == "repack":
        repack(source, out, video_files_size_in_mb=0.03, data_files_size_in_mb=0.01)


OPS = ("delete", "split", "merge", "trim", "repack")


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_process_backend_writes_the_serial_bytes(name, op, fixture_dataset, tmp_path):
    source = fixture_dataset(name)
    with execution("serial"):
        _run(op, source, tmp_path / "serial")
    with execution("process", workers=2):
        _run(op, source, tmp_path / "process")
    serial = _digest(tmp_path / "serial")
    assert any(path.endswith(".parquet") for path in serial)
    assert _digest(tmp_path / "process") == serial


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
