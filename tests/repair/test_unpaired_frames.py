"""An episode whose video holds another number of frames than it has rows: which row goes with
which frame cannot be decided, so `repair` refuses it with both counts and the way out, and
`--drop-episodes` takes that way: the other episodes come out row and frame exact, by position.

The source is the v2.1 base of the wild corpus with two frames appended to episode 1's front
camera (re-encoded with the same codec); expectations come from the source files read here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from test_convert_wild import _output_frames, _source_frames
from typer.testing import CliRunner
from wild_corpus import FPS, _v21_base

from robosplice.cli.app import app
from robosplice.commit import find_leftovers
from robosplice.dataset import Dataset
from robosplice.errors import InvalidDatasetError, SelectionError
from robosplice.ops.repair import repair
from robosplice.ops.validate import validate
from robosplice.testing import read_episode_table

CAMERA = "observation.images.front"
BOOKKEEPING = {"index", "episode_index", "frame_index", "task_index", "timestamp"}


def _two_frames_more(path: Path) -> None:
    """Re-encode `path` with its last frame twice more (same codec, pts k/fps)."""
    frames = list(_source_frames(path))
    frames += [frames[-1], frames[-1]]
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w", format="mp4") as out:
        stream = out.add_stream("libsvtav1", rate=FPS)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for k, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = k, Fraction(1, FPS)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.replace(path)


@pytest.fixture
def unpaired_source(tmp_path: Path, source_guard) -> Path:
    root = tmp_path / "src"
    _v21_base(root)
    (mp4,) = root.glob(f"videos/*/{CAMERA}/episode_000001.mp4")
    _two_frames_more(mp4)
    return source_guard(root)


def test_refused_with_both_counts_and_the_way_out(unpaired_source: Path, tmp_path: Path) -> None:
    rows = pq.read_metadata(next(unpaired_source.glob("data/*/episode_000001.parquet"))).num_rows
    with pytest.raises(InvalidDatasetError) as refused:
        repair(unpaired_source, tmp_path / "out")
    (problem,) = [p for p in refused.value.problems if p.kind == "unpaired_frames"]
    assert f"{rows} rows" in problem.message
    assert f"{rows + 2} frames" in problem.message
    assert CAMERA in problem.message
    assert "--drop-episodes 1" in problem.message
    assert problem.loc == "episode 1"
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".robosplice")]


def test_drop_episodes_leaves_it_out_and_the_rest_are_the_authors(
    unpaired_source: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["repair", str(unpaired_source), str(tmp_path / "out"), "--drop-episodes", "1"]
    )
    assert result.exit_code == 0, result.output
    output = Dataset(tmp_path / "out")
    assert [p for p in validate(output) if p.severity == "error"] == []
    kept = [0, 2, 3, 4, 5]
    assert output.num_episodes == len(kept)
    decoded: dict = {}
    for number, original in enumerate(kept):
        authored = pq.read_table(
            next(unpaired_source.glob(f"data/*/episode_{original:06d}.parquet"))
        )
        written = read_episode_table(output, number)
        assert written.num_rows == authored.num_rows
        assert written.column("episode_index").to_pylist() == [number] * authored.num_rows
        for name in set(authored.column_names) - BOOKKEEPING:
            assert written.column(name).to_pylist() == authored.column(name).to_pylist(), name
        for key in output.video_keys:
            (mp4,) = unpaired_source.glob(f"videos/*/{key}/episode_{original:06d}.mp4")
            assert np.array_equal(_output_frames(output, key, number, decoded), _source_frames(mp4))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".robosplice")]
    assert find_leftovers(tmp_path / "out") == []


def test_drop_episodes_killed_mid_run_leaves_a_leftover_the_next_run_removes(
    unpaired_source: Path, tmp_path: Path
) -> None:
    """SIGKILL while the whole conversion sits beside the output: the work folder is a staging
    leftover of a dead process, named as such, and the rerun removes it and succeeds."""
    out = tmp_path / "out"
    argv = ["repair", str(unpaired_source), str(out), "--drop-episodes", "1"]
    code = "from robosplice.cli.app import main; main()"
    child = subprocess.Popen([sys.executable, "-c", code, *argv])
    deadline = time.monotonic() + 120
    try:
        while not list(
            tmp_path.glob(f".out.robosplice-staging-{child.pid}-*/{unpaired_source.name}")
        ):
            assert child.poll() is None, "the repair ended before its work folder appeared"
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    (left,) = find_leftovers(out)
    assert (left.kind, left.pid) == ("staging", child.pid)
    assert not left.alive
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert not left.path.exists()
    assert find_leftovers(out) == []
    assert Dataset(out).num_episodes == 5


def test_drop_episodes_must_name_listed_episodes(unpaired_source: Path, tmp_path: Path) -> None:
    with pytest.raises(SelectionError, match="no such episode"):
        repair(unpaired_source, tmp_path / "out", drop_episodes=[1, 40])
    assert not (tmp_path / "out").exists()
