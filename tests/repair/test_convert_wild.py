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
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from wild_corpus import BASE_LENGTHS, CASES_BY_NAME, INEXACT_TICKS, WildCase

from robosplice.dataset import Dataset
from robosplice.errors import InvalidDatasetError
from robosplice.format.paths import HISTORY_PATH
from robosplice.format.v2_repair import TIMESTAMP_SOURCE
from robosplice.ops.convert_version import ConversionPlan, ConversionResult, convert
from robosplice.ops.repair import repair
from robosplice.ops.validate import validate
from robosplice.testing import read_episode_table

CONVERTED_TODAY: tuple[str, ...] = (
    "3_float64_stored",
    "3_groot_annotations",
    "6_codec_label",
    "4_v21_v3_placeholders",
    "6_channel_first",
    "6_mpeg4_part2",
    "6_long_gop_bframes",
    "7_junk",
    "7_spaces_in_folders",
    "8_many_short",
    "8_single_episode",
)
REPAIRED_ONLY: tuple[str, ...] = (
    "1_wallclock_timestamps",
    "1_late_timestamps",
    "2_no_episodes_stats",
    "3_no_index",
    "3_no_task_index",
    "3_no_frame_index",
    "3_partial_features",
    "3_undeclared_column",
    "3_float64_inexact",
    "6_camera_without_files",
    "7_half_uploaded_chunk",
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


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_authors_by_position(case: WildCase, source: Path, output: Dataset) -> None:
    """The output is valid, and its k-th row and frame of each episode are the source's."""
    info = json.loads((source / "meta/info.json").read_text())
    errors = [p for p in validate(output) if p.severity == "error"]
    assert not errors, errors
    assert [e.length for e in output.episodes] == list(case.lengths)
    assert output.fps == info["fps"]
    tasks = [row["task"] for row in _jsonl(source / "meta/tasks.jsonl")]
    episode_tasks = [row["tasks"] for row in _jsonl(source / "meta/episodes.jsonl")]
    decoded: dict[Path, list] = {}
    episode_tables = [
        source / f"data/chunk-{n // 1000:03d}/episode_{n:06d}.parquet"
        for n in range(len(episode_tasks))
    ]
    assert len(episode_tables) == len(case.lengths)
    start = 0
    for number, path in enumerate(episode_tables):
        written = read_episode_table(output, number)
        authored = pq.read_table(path)
        rows = authored.num_rows
        k = np.arange(rows)
        assert written.column("index").to_pylist() == list(start + k)
        assert written.column("frame_index").to_pylist() == list(k)
        assert written.column("episode_index").to_pylist() == [number] * rows
        stamps = written.column("timestamp").to_numpy()
        assert np.array_equal(stamps, (k / output.fps).astype(np.float32)), number
        if "timestamp" in authored.column_names and TIMESTAMP_SOURCE in written.column_names:
            kept = written.column(TIMESTAMP_SOURCE)
            assert kept.type == authored.column("timestamp").type
            assert kept.to_pylist() == authored.column("timestamp").to_pylist()
        if "task_index" in authored.column_names:
            expected_tasks = authored.column("task_index").to_pylist()
        else:
            expected_tasks = [tasks.index(episode_tasks[number][0])] * rows
        assert written.column("task_index").to_pylist() == expected_tasks
        for name in authored.column_names:
            if name in BOOKKEEPING:
                continue
            ours = np.asarray(written.column(name).to_pylist(), dtype=float)
            theirs = np.asarray(authored.column(name).to_pylist(), dtype=float)
            assert ours.shape == theirs.shape, (number, name)
            assert np.array_equal(ours, theirs), (number, name)
        for key in output.video_keys:
            mp4s = list(source.glob(f"*/*/{key}/episode_{number:06d}.mp4"))
            assert len(mp4s) == 1, (key, number)
            expected = _source_frames(mp4s[0])
            got = _output_frames(output, key, number, decoded)
            assert got.shape == expected.shape, (key, number)
            assert np.array_equal(got, expected), (key, number)
        start += rows


@pytest.mark.parametrize("name", CONVERTED_TODAY)
def test_converted_output_is_the_authors_by_position(
    name: str, tmp_path: Path, source_guard
) -> None:
    case = CASES_BY_NAME[name]
    case.build(tmp_path / "src")
    source = source_guard(tmp_path / "src")
    convert(source, tmp_path / "out", to="v3.0")
    assert_authors_by_position(case, source, Dataset(tmp_path / "out"))


@pytest.mark.parametrize("name", REPAIRED_ONLY)
def test_convert_refuses_what_repair_takes(name: str, tmp_path: Path) -> None:
    CASES_BY_NAME[name].build(tmp_path / "src")
    with pytest.raises(InvalidDatasetError):
        convert(tmp_path / "src", tmp_path / "out", to="v3.0")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", REPAIRED_ONLY + CONVERTED_TODAY)
def test_repaired_output_is_the_authors_by_position(
    name: str, tmp_path: Path, source_guard
) -> None:
    case = CASES_BY_NAME[name]
    case.build(tmp_path / "src")
    source = source_guard(tmp_path / "src")
    plan = repair(source, tmp_path / "out", dry_run=True)
    assert isinstance(plan, ConversionPlan)
    assert not (tmp_path / "out").exists()
    result = repair(source, tmp_path / "out")
    assert isinstance(result, ConversionResult)
    assert result.plan.repairs == plan.repairs
    if name in REPAIRED_ONLY:
        assert plan.repairs, "a source convert refuses needs a repair said aloud"
    assert_authors_by_position(case, source, Dataset(tmp_path / "out"))
    log = _jsonl(tmp_path / "out" / HISTORY_PATH)
    assert log[-1]["operation"] == "repair"
    assert [r["message"] for r in log[-1].get("repairs", [])] == list(plan.repairs)


def test_repair_keeps_rewritten_timestamps_as_a_declared_feature(tmp_path: Path) -> None:
    CASES_BY_NAME["1_wallclock_timestamps"].build(tmp_path / "src")
    repair(tmp_path / "src", tmp_path / "out")
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    declared = info["features"][TIMESTAMP_SOURCE]
    assert (declared["dtype"], declared["shape"]) == ("float32", [1])
    stats = json.loads((tmp_path / "out/meta/stats.json").read_text())
    assert stats[TIMESTAMP_SOURCE]["min"][0] == pytest.approx(0.03, abs=1e-6)
    assert stats["timestamp"]["min"][0] == 0.0


def test_repair_drops_a_camera_with_no_files_and_leaves_out_stray_episodes(tmp_path: Path) -> None:
    CASES_BY_NAME["6_camera_without_files"].build(tmp_path / "a")
    plan = repair(tmp_path / "a", tmp_path / "a_out", dry_run=True)
    assert any("observation.images.side" in message for message in plan.repairs)
    repair(tmp_path / "a", tmp_path / "a_out")
    info = json.loads((tmp_path / "a_out/meta/info.json").read_text())
    assert "observation.images.side" not in info["features"]
    assert "observation.images.front" in info["features"]

    CASES_BY_NAME["7_half_uploaded_chunk"].build(tmp_path / "b")
    result = repair(tmp_path / "b", tmp_path / "b_out")
    assert any("chunk-001/episode_001000.parquet" in m for m in result.plan.repairs)
    written = sorted(
        p.relative_to(tmp_path / "b_out").as_posix() for p in (tmp_path / "b_out").rglob("*")
    )
    assert not [p for p in written if "episode_0010" in p]


def test_videos_elsewhere_are_refused_naming_the_folder_then_read_from_it(
    tmp_path: Path, source_guard
) -> None:
    case = CASES_BY_NAME["6_videos_elsewhere"]
    case.build(tmp_path / "src")
    source = source_guard(tmp_path / "src")
    with pytest.raises(InvalidDatasetError, match="cannot be repaired") as raised:
        repair(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    messages = [p.message for p in raised.value.problems]
    assert len(messages) == 2  # one per camera, not one per file
    assert all("6 same-named file(s) under video/" in m for m in messages), messages
    assert all("--videos-dir video" in m for m in messages)
    result = repair(source, tmp_path / "out", videos_dir="video")
    assert result.plan.repairs[0] == "videos: read from video/ (--videos-dir)"
    assert_authors_by_position(case, source, Dataset(tmp_path / "out"))


def test_repair_refuses_an_episode_whose_frames_tasks_are_not_written(tmp_path: Path) -> None:
    """Two tasks and no task_index: which frame had which task is nowhere; nothing is guessed."""
    source = tmp_path / "src"
    CASES_BY_NAME["3_no_task_index"].build(source)
    episodes = _jsonl(source / "meta/episodes.jsonl")
    tasks = [row["task"] for row in _jsonl(source / "meta/tasks.jsonl")]
    episodes[2]["tasks"] = tasks[:2]
    (source / "meta/episodes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in episodes))
    with pytest.raises(InvalidDatasetError, match="cannot be repaired") as raised:
        repair(source, tmp_path / "out", dry_run=True)
    assert [p.loc for p in raised.value.problems] == ["episode 2"]
    assert "undecidable_task_index" in {p.kind for p in raised.value.problems}
    with pytest.raises(InvalidDatasetError):
        repair(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_v2_template_placeholder_nobody_can_fill_is_named(tmp_path: Path) -> None:
    from robosplice.format.v21 import v2_data_path

    info = {"chunks_size": 1000, "data_path": "data/{shard}/episode_{episode_index:06d}.parquet"}
    with pytest.raises(InvalidDatasetError, match=r"data_path .*\{shard\}.*'shard'"):
        v2_data_path(info, 3)
    spelled_v3 = {"chunks_size": 2, "data_path": "data/chunk-{chunk_index:03d}/e{episode_index}.pq"}
    assert v2_data_path(spelled_v3, 5) == "data/chunk-002/e5.pq"


def test_info_reads_a_v2_folder_and_validate_points_at_repair(tmp_path: Path) -> None:
    from robosplice.ops.info import dataset_info

    case = CASES_BY_NAME["1_late_timestamps"]
    case.build(tmp_path / "src")
    summary = dataset_info(tmp_path / "src")
    assert summary["codebase_version"] == "v2.1"
    assert summary["total_episodes"] == len(case.lengths)
    assert summary["total_frames"] == sum(case.lengths)
    assert "robosplice repair" in summary["advice"]
    problems = validate(tmp_path / "src")
    assert any("robosplice repair" in p.message for p in problems), problems


def _bits(column) -> np.ndarray:
    """The float64 bit patterns of a (list) column's values, row-major."""
    flat = column.combine_chunks()
    while hasattr(flat, "flatten"):
        flat = flat.flatten()
    return np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float64).view(np.uint64)


def test_values_float32_cannot_hold_are_kept_bit_exact_as_float64(
    tmp_path: Path, source_guard
) -> None:
    """The issue's rule: keep the values exactly; cast only where every value round-trips, else
    declare what is stored and say which."""
    CASES_BY_NAME["3_float64_inexact"].build(tmp_path / "src")
    source = source_guard(tmp_path / "src")
    with pytest.raises(InvalidDatasetError, match="robosplice repair") as raised:
        convert(source, tmp_path / "converted", to="v3.0")
    assert "`observation.state` is stored as list<element: double>" in str(raised.value)
    assert not (tmp_path / "converted").exists()
    result = repair(source, tmp_path / "out")
    said = [m for m in result.plan.repairs if "cannot hold exactly" in m]
    assert len(said) == 2, result.plan.repairs
    assert all("declared float64, values kept" in m for m in said)
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    for name in ("observation.state", "action"):
        assert info["features"][name]["dtype"] == "float64"
    output = Dataset(tmp_path / "out")
    for number in range(len(BASE_LENGTHS)):
        authored = pq.read_table(source / f"data/chunk-000/episode_{number:06d}.parquet")
        written = read_episode_table(output, number)
        for name in ("observation.state", "action"):
            assert np.array_equal(_bits(written.column(name)), _bits(authored.column(name)))
    assert _bits(read_episode_table(output, 0).column("action"))[0] == np.float64(
        INEXACT_TICKS
    ).view(np.uint64)
    log = _jsonl(tmp_path / "out" / HISTORY_PATH)
    assert [r["message"] for r in log[-1]["repairs"]] == list(result.plan.repairs)


def test_float64_values_float32_holds_exactly_are_cast_and_said(tmp_path: Path) -> None:
    CASES_BY_NAME["3_float64_stored"].build(tmp_path / "src")
    result = repair(tmp_path / "src", tmp_path / "out")
    said = [m for m in result.plan.repairs if "every value exact" in m]
    assert [m.split("`")[1] for m in said] == ["observation.state", "action"]
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    assert info["features"]["action"]["dtype"] == "float32"


def test_convert_writes_the_streams_codec_not_a_wrong_label_and_says_so(
    tmp_path: Path, source_guard
) -> None:
    """Be strict in what you write: the label is derivable, so a plain convert corrects it."""
    from typer.testing import CliRunner

    from robosplice.cli.app import app

    CASES_BY_NAME["6_codec_label"].build(tmp_path / "src")
    source = source_guard(tmp_path / "src")
    key = "observation.images.front"
    with av.open(str(next(source.glob(f"videos/*/{key}/episode_000000.mp4")))) as container:
        stream_codec = container.streams.video[0].codec_context.codec.canonical_name
    declared = json.loads((source / "meta/info.json").read_text())["features"][key]["info"]
    assert (declared["video.codec"], stream_codec) == ("h264", "av1")
    run = CliRunner().invoke(app, ["convert", str(source), str(tmp_path / "out"), "--to", "v3.0"])
    assert run.exit_code == 0, run.output
    said = [line for line in run.output.splitlines() if line.startswith("corrected:")]
    assert len(said) == 1, run.output
    assert key in said[0]
    assert "labelled 'h264' but its stream is 'av1'" in said[0]
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    assert info["features"][key]["info"]["video.codec"] == stream_codec
    assert info["features"]["observation.images.wrist"]["info"]["video.codec"] == "av1"
    assert not [p for p in validate(tmp_path / "out") if p.severity == "error"]
    log = _jsonl(tmp_path / "out" / HISTORY_PATH)
    assert log[-1]["operation"] == "convert"
    assert [r["message"] for r in log[-1]["repairs"]] == [said[0].removeprefix("corrected: ")]


def test_float64_capture_times_are_rewritten_and_kept_in_float64(tmp_path: Path) -> None:
    """Timestamps are the exception to declaring what is stored: `timestamp` is frame_index / fps
    in the declared float32, and the author's float64 capture times are kept, bit for bit, as
    `observation.timestamp_source` declared float64."""
    source = tmp_path / "src"
    CASES_BY_NAME["1_late_timestamps"].build(source)
    for path in sorted(source.glob("data/*/episode_*.parquet")):
        table = pq.read_table(path)
        k = np.arange(table.num_rows)
        stamps = pa.array(1712345678.25 + k / 30 + 1e-7 * k**1.5)  # a float64 capture clock
        index = table.schema.get_field_index("timestamp")
        pq.write_table(table.set_column(index, "timestamp", stamps), path)
    result = repair(source, tmp_path / "out")
    assert any("`timestamp` is stored as float64" in m for m in result.plan.repairs)
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    assert info["features"]["timestamp"]["dtype"] == "float32"
    assert info["features"][TIMESTAMP_SOURCE]["dtype"] == "float64"
    output = Dataset(tmp_path / "out")
    assert not [p for p in validate(output) if p.severity == "error"]
    for number in range(len(BASE_LENGTHS)):
        authored = pq.read_table(source / f"data/chunk-000/episode_{number:06d}.parquet")
        written = read_episode_table(output, number)
        kept = written.column(TIMESTAMP_SOURCE)
        assert np.array_equal(_bits(kept), _bits(authored.column("timestamp")))
        k = np.arange(written.num_rows)
        assert np.array_equal(written.column("timestamp").to_numpy(), (k / 30).astype(np.float32))
