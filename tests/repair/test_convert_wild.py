"""Wild v2.x datasets that `convert --to v3.0` already takes: the output is the author's, by position.

Each case comes from `wild_corpus.py` (issue 21's classes). Expected values come from the source files
read here with pyarrow and PyAV: the k-th row of an episode's parquet and the k-th frame of its
mp4 (by position, not by timestamp) must be the k-th row and frame of the converted episode.
The classes convert does not take yet are in docs/repair-survey.md; `repair` is issue 21.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from wild_corpus import CASES_BY_NAME, WildCase

from robosplice.dataset import Dataset
from robosplice.ops.convert_version import convert
from robosplice.ops.validate import validate
from robosplice.testing import read_episode_table

CONVERTED_TODAY = (
    "3_float64_stored",
    "3_groot_annotations",
    "4_v21_v3_placeholders",
    "6_channel_first",
    "6_mpeg4_part2",
    "6_long_gop_bframes",
    "7_junk",
    "7_spaces_in_folders",
    "8_many_short",
    "8_single_episode",
)
BOOKKEEPING = {"index", "episode_index", "frame_index", "task_index", "timestamp"}


def _source_frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _output_frames(output: Dataset, key: str, number: int, cache: dict) -> np.ndarray:
    """The episode's frames, from one decode of its output file (shared by its episodes)."""
    window = output.episodes[number].videos[key]
    path = output.video_path(key, window.position)
    if path not in cache:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            cache[path] = [
                (float(f.pts * stream.time_base), f.to_ndarray(format="rgb24"))
                for f in container.decode(stream)
            ]
    inside = [
        image
        for seconds, image in cache[path]
        if window.from_timestamp - 1e-4 <= seconds < window.to_timestamp - 1e-4
    ]
    return np.stack(inside)


def _v2_files(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern))


@pytest.fixture(params=CONVERTED_TODAY)
def case(request: pytest.FixtureRequest) -> WildCase:
    return CASES_BY_NAME[request.param]


def test_converted_output_is_the_authors_by_position(
    case: WildCase, tmp_path: Path, source_guard
) -> None:
    source = case.build(tmp_path / "src") or tmp_path / "src"
    source_guard(source)
    info = json.loads((source / "meta/info.json").read_text())
    convert(source, tmp_path / "out", to="v3.0")
    output = Dataset(tmp_path / "out")

    errors = [p for p in validate(output) if p.severity == "error"]
    assert not errors, errors
    assert [e.length for e in output.episodes] == list(case.lengths)

    decoded: dict[Path, list] = {}
    episode_tables = _v2_files(source, "data/*/episode_*.parquet")
    assert len(episode_tables) == len(case.lengths)
    for number, path in enumerate(episode_tables):
        written = read_episode_table(output, number)
        authored = pq.read_table(path)
        for name in authored.column_names:
            if name in BOOKKEEPING:
                continue
            ours = np.asarray(written.column(name).to_pylist(), dtype=object)
            theirs = np.asarray(authored.column(name).to_pylist(), dtype=object)
            assert ours.shape == theirs.shape, (number, name)
            assert np.array_equal(
                np.asarray(written.column(name).to_pylist(), dtype=float),
                np.asarray(authored.column(name).to_pylist(), dtype=float),
            ), (number, name)
        for key in output.video_keys:
            mp4s = list(source.glob(f"videos/*/{key}/episode_{number:06d}.mp4"))
            assert len(mp4s) == 1, (key, number)
            expected = _source_frames(mp4s[0])
            got = _output_frames(output, key, number, decoded)
            assert got.shape == expected.shape, (key, number)
            assert np.array_equal(got, expected), (key, number)
    assert output.fps == info["fps"]


def test_a_v2_template_placeholder_nobody_can_fill_is_named(tmp_path: Path) -> None:
    from robosplice.errors import InvalidDatasetError
    from robosplice.format.v21 import v2_data_path

    info = {"chunks_size": 1000, "data_path": "data/{shard}/episode_{episode_index:06d}.parquet"}
    with pytest.raises(InvalidDatasetError, match=r"data_path .*\{shard\}.*'shard'"):
        v2_data_path(info, 3)
    spelled_v3 = {"chunks_size": 2, "data_path": "data/chunk-{chunk_index:03d}/e{episode_index}.pq"}
    assert v2_data_path(spelled_v3, 5) == "data/chunk-002/e5.pq"
