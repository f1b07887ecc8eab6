"""Plain mp4s are edited as byte ranges: no op demuxes or muxes a recorder's video.

The README promises "no demux, no mux" for the recorder's mp4s (their sample tables are read and
samples copied by offset). Frame-identity tests pass either way, so this guards the path itself:
the PyAV muxer (`PacketWriter`) and the packet demuxer (`PacketReader.packets`) raise here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fixture_data import VIDEO_FIXTURES
from robosplice.dataset import Dataset
from robosplice.format import video
from robosplice.ops.apply import apply
from robosplice.ops.convert_version import convert
from robosplice.ops.delete import delete_episodes
from robosplice.ops.filter import filter_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.repack import repack
from robosplice.ops.split import split_dataset
from robosplice.ops.trim import trim_episodes
from robosplice.recipe import Step, make_recipe
from robosplice.testing import decode_episode_frames


def _refuse(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("a plain mp4 went through PyAV's demuxer or muxer, not byte ranges")


@pytest.fixture
def no_mux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video.PacketWriter, "__init__", _refuse)
    monkeypatch.setattr(video.PacketReader, "packets", _refuse)


def _edit(op: str, source: Path, out: Path) -> None:
    lengths = [e.length for e in Dataset(source).episodes]
    last = len(lengths) - 1
    if op == "delete":
        delete_episodes(source, [0], out)
    elif op == "trim":
        trim_episodes(source, {0: (3, lengths[0] - 2), last: (1, lengths[last] - 5)}, out)
    elif op == "split":
        split_dataset(source, {"a": 0.5, "b": 0.5}, out)
    elif op == "filter":
        filter_episodes(source, min_length=sorted(lengths)[1], output_dir=out)
    elif op == "merge":
        merge_datasets([source, source], "t/m", out, video_files_size_in_mb=0.1)
    elif op == "repack":
        repack(source, out, video_files_size_in_mb=0.03)
    elif op == "apply":
        steps = [
            Step(op="delete_episodes", args={"episode_indices": [0]}),
            Step(op="trim_episodes", args={"ranges": {str(last): [2, lengths[last] - 3]}}),
        ]
        apply(make_recipe(source, steps), source, out)
    elif op == "to_v21":
        convert(source, out, to="v2.1")


OPS = ("delete", "trim", "split", "filter", "merge", "repack", "apply", "to_v21")


@pytest.mark.parametrize("name", VIDEO_FIXTURES)
@pytest.mark.parametrize("op", OPS)
def test_edits_of_plain_mp4s_neither_demux_nor_mux(op, name, no_mux, fixture_dataset, tmp_path):
    source = fixture_dataset(name)
    out = tmp_path / "out"
    _edit(op, source, out)
    assert any(out.rglob("*.mp4"))


def test_the_guard_sees_a_muxed_copy(no_mux, fixture_dataset, tmp_path):
    """The guard is live: the muxer path (used for files whose tables are not read) trips it."""
    source = Dataset(fixture_dataset("v3_av1_single"))
    with pytest.raises(AssertionError, match="byte ranges"):
        video.PacketWriter(tmp_path / "x.mp4", None)
    camera = source.video_keys[0]
    assert np.asarray(decode_episode_frames(source, camera, 0)).size  # decoding is not refused
