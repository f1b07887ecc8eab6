"""validate: recorder-written datasets and their repacks are clean; each planted fault is named.

Every fault is planted in a private copy of a shared fixture (those are read-only) and must be
reported with exactly one kind, naming the file and the episode or field it is in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import fixtures_dir
from robosplice.checks import KINDS, PROBLEM_KINDS, validate_dataset, validate_info
from robosplice.dataset import Dataset
from robosplice.errors import DatasetNotFoundError
from robosplice.ops.repack import repack
from robosplice.ops.validate import validate

FIXTURES_DIR = fixtures_dir()
FIXTURES = ("v3_av1_single", "v3_av1_multifile", "v3_image", "v3_h264_bframes")

SINGLE = "v3_av1_single"  # 6 episodes: 40, 25, 55, 31, 47, 36 frames; one file of each kind
MULTI = "v3_av1_multifile"  # 10 episodes over 3 data files, 4 front and 6 wrist video files
DATA = "data/chunk-000/file-000.parquet"
EPISODES = "meta/episodes/chunk-000/file-000.parquet"
FRONT = "videos/observation.images.front/chunk-000/file-000.mp4"
FRONT_KEY = "observation.images.front"

Packets = list[Any]  # PyAV packets in decode order (their pts/dts are typed optional)


def copy_fixture(name: str, tmp_path: Path) -> Path:
    """A writable private copy of a shared fixture (the originals are read-only)."""
    target = tmp_path / name
    shutil.copytree(FIXTURES_DIR / name, target, copy_function=shutil.copyfile)
    for folder, _, files in os.walk(target):
        for entry in [".", *files]:
            path = Path(folder, entry)
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# --- mutation helpers -------------------------------------------------------------------------


def edit_json(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, indent=4), encoding="utf-8")


def rewrite_parquet(path: Path, transform: Callable[[pa.Table], pa.Table]) -> None:
    """Rewrite a Parquet file through `transform`, keeping the schema metadata."""
    table = pq.read_table(path)
    metadata = table.schema.metadata
    pq.write_table(transform(table).replace_schema_metadata(metadata), path)


def set_values(name: str, change: Callable[[np.ndarray], object]) -> Callable[[pa.Table], pa.Table]:
    """A transform that edits one numeric column in numpy."""

    def transform(table: pa.Table) -> pa.Table:
        position = table.schema.get_field_index(name)
        column = table.column(name)
        values = column.to_numpy().copy()
        change(values)
        return table.set_column(
            position, table.schema.field(position), pa.array(values, column.type)
        )

    return transform


def set_cell(name: str, row: int, value: Any) -> Callable[[pa.Table], pa.Table]:
    """A transform that sets one cell of any column."""

    def transform(table: pa.Table) -> pa.Table:
        position = table.schema.get_field_index(name)
        values = table.column(name).to_pylist()
        values[row] = value
        field = table.schema.field(position)
        return table.set_column(position, field, pa.array(values, field.type))

    return transform


def remux(path: Path, edit: Callable[[Packets], Packets]) -> None:
    """Rewrite an mp4 with its packets (decode order) passed through `edit`; payloads untouched."""
    source = path.with_name(path.name + ".orig")
    path.rename(source)
    with av.open(str(source)) as reader, av.open(str(path), "w", format="mp4") as writer:
        stream = reader.streams.video[0]
        output = writer.add_stream_from_template(stream, opaque=True)
        output.time_base = stream.time_base
        packets = [packet for packet in reader.demux(stream) if packet.dts is not None]
        for packet in edit(packets):
            packet.stream = output
            writer.mux(packet)
    source.unlink()


def keep_first_packets(count: int) -> Callable[[Packets], Packets]:
    return lambda packets: packets[:count]


def start_without_keyframe(packets: Packets) -> Packets:
    """Drop the leading keyframe and pad the end, so only the first frame's keyframe is gone."""
    ticks = packets[1].pts - packets[0].pts
    kept = packets[1:]
    for packet in kept:
        packet.pts -= ticks
        packet.dts -= ticks
    last = kept[-1]
    pad = av.Packet(bytes(last))
    pad.pts, pad.dts, pad.time_base = last.pts + ticks, last.dts + ticks, last.time_base
    pad.duration = ticks
    return [*kept, pad]


# --- planted faults ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One planted fault: where to plant it, and the problem it must produce."""

    id: str
    fixture: str
    plant: Callable[[Path], object]
    kind: str
    file: str
    loc: str
    mentions: tuple[str, ...] = ()  # further text the message must contain
    decode: bool = False
    also: tuple[str, ...] = ()  # the other kinds a fault that breaks several rules must produce


def _info(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    return lambda root: edit_json(root / "meta/info.json", edit)


def _stats(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    return lambda root: edit_json(root / "meta/stats.json", edit)


def _parquet(relative: str, transform: Callable[[pa.Table], pa.Table]) -> Callable[[Path], None]:
    return lambda root: rewrite_parquet(root / relative, transform)


def _delete(relative: str) -> Callable[[Path], None]:
    def plant(root: Path) -> None:
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()

    return plant


def _truncate(relative: str) -> Callable[[Path], None]:
    def plant(root: Path) -> None:
        path = root / relative
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return plant


def _garbage(relative: str) -> Callable[[Path], object]:
    return lambda root: (root / relative).write_bytes(b"not a video at all " * 64)


def _remux(relative: str, edit: Callable[[Packets], Packets]) -> Callable[[Path], None]:
    return lambda root: remux(root / relative, edit)


def _swap_rows(first: int, second: int) -> Callable[[pa.Table], pa.Table]:
    def transform(table: pa.Table) -> pa.Table:
        order = list(range(table.num_rows))
        order[first], order[second] = order[second], order[first]
        return table.take(order)

    return transform


def _shift_window(key: str, row: int, from_s: float, to_s: float) -> Callable[[pa.Table], pa.Table]:
    def transform(table: pa.Table) -> pa.Table:
        for column, delta in (("from_timestamp", from_s), ("to_timestamp", to_s)):
            table = set_values(f"videos/{key}/{column}", _add_at(row, delta))(table)
        return table

    return transform


def _add_at(row: int, delta: float) -> Callable[[np.ndarray], None]:
    def change(values: np.ndarray) -> None:
        values[row] += delta

    return change


def _shift_range(row: int, delta: int) -> Callable[[pa.Table], pa.Table]:
    def transform(table: pa.Table) -> pa.Table:
        for column in ("dataset_from_index", "dataset_to_index"):
            table = set_values(column, _add_at(row, delta))(table)
        return table

    return transform


def _move_packet(position: int, ticks: int) -> Callable[[Packets], Packets]:
    def edit(packets: Packets) -> Packets:
        packets[position].pts += ticks
        return packets

    return edit


def _insert_packet_after(position: int) -> Callable[[Packets], Packets]:
    """Add a copy of a packet one tick after it: one frame too many in that window."""

    def edit(packets: Packets) -> Packets:
        original = packets[position]
        copy = av.Packet(bytes(original))
        copy.pts, copy.dts = original.pts + 1, original.dts + 1
        copy.time_base, copy.duration = original.time_base, original.duration
        return [*packets[: position + 1], copy, *packets[position + 1 :]]

    return edit


def _add_column(table: pa.Table) -> pa.Table:
    return table.append_column("extra", pa.array(np.zeros(table.num_rows, np.float32)))


def _drop_stats_columns(feature: str) -> Callable[[pa.Table], pa.Table]:
    return lambda table: table.drop(
        [name for name in table.column_names if name.startswith(f"stats/{feature}/")]
    )


def _strip_metadata(path: Path) -> None:
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata(None), path)


def _cast_column(name: str, target: pa.DataType) -> Callable[[pa.Table], pa.Table]:
    def transform(table: pa.Table) -> pa.Table:
        position = table.schema.get_field_index(name)
        return table.set_column(position, name, table.column(name).cast(target))

    return transform


def _corrupt_image(table: pa.Table) -> pa.Table:
    return set_cell("observation.images.wrist", 30, {"bytes": b"\x89PNG broken", "path": None})(
        table
    )


FRAME = 1 / 30
FAULTS = [
    Fault("total_frames", SINGLE, _info(lambda i: i.update(total_frames=235)), "wrong_total",
          "meta/info.json", "total_frames", ("234",)),
    Fault("total_episodes", MULTI, _info(lambda i: i.update(total_episodes=9)), "wrong_total",
          "meta/info.json", "total_episodes", ("10",)),
    Fault("version_v21", SINGLE, _info(lambda i: i.update(codebase_version="v2.1")),
          "unsupported_version", "meta/info.json", "codebase_version", ("v2.1",)),
    Fault("info_not_json", SINGLE, lambda root: (root / "meta/info.json").write_text("{oops"),
          "invalid_json", "meta/info.json", ""),
    Fault("fps_zero", SINGLE, _info(lambda i: i.update(fps=0)), "bad_field", "meta/info.json", "fps"),
    Fault("data_path_template", SINGLE, _info(lambda i: i.update(data_path="data/{chunk_index}.parquet")),
          "bad_path_template", "meta/info.json", "data_path"),
    Fault("default_feature_missing", SINGLE, _info(lambda i: i["features"].pop("frame_index")),
          "missing_feature", "meta/info.json", "features.frame_index"),
    Fault("missing_video_file", MULTI, _delete("videos/observation.images.front/chunk-000/file-001.mp4"),
          "missing_file", "videos/observation.images.front/chunk-000/file-001.mp4", "episode 3",
          ("episodes [3, 4, 5]",)),
    Fault("missing_data_file", MULTI, _delete("data/chunk-000/file-001.parquet"), "missing_file",
          "data/chunk-000/file-001.parquet", "episode 4", ("episodes [4, 5, 6]",)),
    Fault("missing_tasks_file", SINGLE, _delete("meta/tasks.parquet"), "missing_file",
          "meta/tasks.parquet", ""),
    Fault("missing_episodes_files", SINGLE, _delete("meta/episodes"), "missing_file",
          "meta/episodes", ""),
    Fault("truncated_data_parquet", SINGLE, _truncate(DATA), "corrupt_parquet", DATA, ""),
    Fault("extra_data_column", "v3_image", _parquet(DATA, _add_column), "extra_column", DATA, "extra"),
    Fault("column_type", SINGLE, _parquet(DATA, _cast_column("next.reward", pa.string())),
          "bad_column_type", DATA, "next.reward", ("string",)),
    # Episode 1 holds rows 40..64; row 57 is its frame 17.
    Fault("index_gap", SINGLE, _parquet(DATA, set_values("index", lambda v: v.__setitem__(slice(57, None), v[57:] + 1))),
          "index_not_contiguous", DATA, "episode 1", ("row 57", "expected index 57, got 58", "gap")),
    Fault("index_duplicate", SINGLE, _parquet(DATA, set_values("index", lambda v: v.__setitem__(58, 57))),
          "index_not_contiguous", DATA, "episode 1", ("row 58", "duplicate")),
    Fault("frame_index", SINGLE, _parquet(DATA, set_values("frame_index", lambda v: v.__setitem__(70, 0))),
          "bad_frame_index", DATA, "episode 2", ("frame 5",)),
    Fault("timestamp_off", SINGLE, _parquet(DATA, set_values("timestamp", lambda v: v.__setitem__(50, v[50] + 0.01))),
          "bad_timestamp", DATA, "episode 1", ("frame 10",)),
    Fault("unknown_task_index", SINGLE, _parquet(DATA, set_values("task_index", lambda v: v.__setitem__(5, 9))),
          "unknown_task_index", DATA, "episode 0", ("frame 5", "got 9")),
    Fault("episode_rows_out_of_order", SINGLE, _parquet(EPISODES, _swap_rows(1, 2)), "bad_episode_index",
          EPISODES, "row 1", ("expected episode_index 1", "got 2")),
    Fault("wrong_length", SINGLE, _parquet(EPISODES, set_values("length", lambda v: v.__setitem__(3, 32))),
          "bad_length", EPISODES, "episode 3", ("expected length 31", "got 32")),
    Fault("episode_tasks", SINGLE, _parquet(EPISODES, set_cell("tasks", 0, ["open the drawer"])),
          "episode_tasks_mismatch", EPISODES, "episode 0", ("pick up the red cube",)),
    Fault("episode_stats_columns", SINGLE, _parquet(EPISODES, _drop_stats_columns("action")),
          "missing_episode_stats", EPISODES, "stats/action"),
    Fault("tasks_without_pandas_metadata", SINGLE, lambda root: _strip_metadata(root / "meta/tasks.parquet"),
          "tasks_no_pandas_index", "meta/tasks.parquet", ""),
    Fault("tasks_not_sorted", SINGLE, _parquet("meta/tasks.parquet", lambda t: t.take([2, 1, 0])),
          "tasks_not_sorted", "meta/tasks.parquet", "task_index"),
    Fault("stats_missing_feature", SINGLE, _stats(lambda s: s.pop("action")), "missing_stats",
          "meta/stats.json", "action"),
    Fault("stats_bad_shape", SINGLE, _stats(lambda s: s["observation.state"].update(mean=[0.0] * 5)),
          "bad_stats_shape", "meta/stats.json", "observation.state.mean", ("(6,)", "(5,)")),
    Fault("stats_file_missing", "v3_image", _delete("meta/stats.json"), "missing_file", "meta/stats.json", ""),
    # Episode 2 is frames 65..119 of the front file: move its window one frame later.
    Fault("window_shifted_one_frame", SINGLE, _parquet(EPISODES, _shift_window(FRONT_KEY, 2, FRAME, FRAME)),
          "video_windows_overlap", FRONT, "episode 3", ("episode 2",)),
    Fault("from_timestamp_shifted", SINGLE, _parquet(EPISODES, _shift_window(FRONT_KEY, 2, FRAME, 0.0)),
          # its 55 frames from the new start reach into episode 3's first: no end is derivable
          "video_window_duration", FRONT, "episode 2", ("55/30",), also=("video_windows_overlap",)),
    Fault("from_timestamp_half_frame", SINGLE, _parquet(EPISODES, _shift_window(FRONT_KEY, 2, FRAME / 2, FRAME / 2)),
          "video_window_start", FRONT, "episode 2", ("2.183333",)),
    # 234 frames; episode 5 is the last 36: keep 200 packets.
    Fault("video_truncated", SINGLE, _remux(FRONT, keep_first_packets(200)), "video_too_short", FRONT,
          "episode 5", ("36 frames",)),
    Fault("video_no_keyframe", SINGLE, _remux(FRONT, start_without_keyframe), "no_keyframe", FRONT,
          "episode 0"),
    Fault("video_corrupt", SINGLE, _garbage(FRONT), "corrupt_video", FRONT, "episode 0"),
    Fault("video_info_fps", SINGLE,
          _info(lambda i: i["features"][FRONT_KEY]["info"].update({"video.fps": 15})),
          "video_info_mismatch", FRONT, f"features.{FRONT_KEY}.info.video.fps", ("15", "30")),
    Fault("video_info_codec", "v3_h264_bframes",
          _info(lambda i: i["features"][FRONT_KEY]["info"].update({"video.codec": "av1"})),
          "video_info_mismatch", FRONT, f"features.{FRONT_KEY}.info.video.codec", ("h264",)),
    Fault("image_undecodable", "v3_image", _parquet(DATA, _corrupt_image), "undecodable_image", DATA,
          "episode 1", ("observation.images.wrist", "frame 10"), decode=True),
    Fault("wrong_data_file", MULTI, _parquet(EPISODES, set_values("data/file_index", lambda v: v.__setitem__(4, 0))),
          "wrong_data_file", EPISODES, "episode 4", ("data/chunk-000/file-001.parquet",)),
    Fault("episode_range_moved", SINGLE, _parquet(EPISODES, _shift_range(2, 1)), "bad_episode_range",
          EPISODES, "episode 2", ("[66, 121)",)),
    Fault("missing_data_column", SINGLE, _parquet(DATA, lambda t: t.drop(["action"])), "missing_column",
          DATA, "action"),
    Fault("null_from_timestamp", SINGLE,
          _parquet(EPISODES, set_cell(f"videos/{FRONT_KEY}/from_timestamp", 1, None)),
          "missing_value", EPISODES, "episode 1"),
    Fault("tasks_index_values", SINGLE,
          _parquet("meta/tasks.parquet", set_values("task_index", lambda v: v.__setitem__(2, 5))),
          "bad_task_index", "meta/tasks.parquet", "task_index", ("0..2",)),
    Fault("truncated_episodes_parquet", SINGLE, _truncate(EPISODES), "corrupt_parquet", EPISODES, ""),
    Fault("stats_not_json", SINGLE, lambda root: (root / "meta/stats.json").write_text("{"),
          "invalid_json", "meta/stats.json", ""),
    # Frame 100 of the file is frame 35 of episode 2: move it by half a frame.
    Fault("video_frame_moved", SINGLE, _remux(FRONT, _move_packet(100, 256)), "video_frame_spacing",
          FRONT, "episode 2", ("frame 35",)),
    # H.264 with B-frames: episode 1 is frames 48..83; move its window one frame later.
    Fault("h264_window_shifted", "v3_h264_bframes",
          _parquet(EPISODES, _shift_window(FRONT_KEY, 1, FRAME, FRAME)), "video_windows_overlap", FRONT,
          "episode 2", ("episode 1",)),
    Fault("video_shape", SINGLE, _info(lambda i: i["features"][FRONT_KEY].update(shape=[32, 96, 3])),
          "video_info_mismatch", FRONT, f"features.{FRONT_KEY}.shape", ("32x96", "64x96")),
    Fault("index_offset", SINGLE, _parquet(DATA, set_values("index", lambda v: v.__iadd__(5))),
          "index_not_contiguous", DATA, "episode 0", ("expected index 0, got 5",)),
    # Faults that break several rules at once.
    Fault("episode_relabelled", SINGLE,
          _parquet(DATA, set_values("episode_index", lambda v: v.__setitem__(slice(198, None), 99))),
          "unknown_episode", DATA, "episode 99", ("rows 198..233",), also=("episode_without_data",)),
    Fault("episode_row_dropped", SINGLE, _parquet(EPISODES, lambda t: t.slice(0, 5)), "unknown_episode",
          DATA, "episode 5", also=("wrong_total",)),
    Fault("episode_split", SINGLE,
          _parquet(DATA, set_values("episode_index", lambda v: v.__setitem__(10, 1))),
          "episode_not_contiguous", DATA, "episode 0", ("row 11",),
          also=("bad_frame_index", "bad_timestamp", "bad_episode_range", "episode_tasks_mismatch")),
    Fault("duplicate_task", SINGLE, _parquet("meta/tasks.parquet", set_cell("task", 2, "pick up the red cube")),
          "duplicate_task", "meta/tasks.parquet", "task", also=("episode_tasks_mismatch",)),
    Fault("video_extra_frame", SINGLE, _remux(FRONT, _insert_packet_after(100)), "video_window_frames",
          FRONT, "episode 2", ("expected 55 frames", "got 56"), also=("video_info_mismatch",)),
]  # fmt: skip


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.id for fault in FAULTS])
def test_planted_fault_is_reported_with_its_kind(fault: Fault, tmp_path: Path) -> None:
    root = copy_fixture(fault.fixture, tmp_path)
    fault.plant(root)
    problems = validate_dataset(root, decode=fault.decode)
    assert problems, f"{fault.id}: nothing reported"
    assert {p.kind for p in problems} == {fault.kind, *fault.also}, [str(p) for p in problems]
    matching = [p for p in problems if p.file == fault.file and p.loc == fault.loc]
    assert matching, [str(p) for p in problems]
    for text in fault.mentions:
        assert any(text in p.message for p in matching), (text, [str(p) for p in matching])
    assert all(p.kind in PROBLEM_KINDS for p in problems)


def test_at_least_fourteen_distinct_kinds_are_planted() -> None:
    assert len({fault.kind for fault in FAULTS if not fault.also}) >= 14


# --- clean datasets ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_recorder_fixture_is_clean(name: str) -> None:
    before = tree_hashes(FIXTURES_DIR / name)
    assert validate_dataset(FIXTURES_DIR / name) == []
    assert tree_hashes(FIXTURES_DIR / name) == before


@pytest.mark.parametrize("name", ["v3_h264_bframes", "v3_image"])
def test_fixture_is_clean_when_every_frame_is_decoded(name: str) -> None:
    assert validate_dataset(FIXTURES_DIR / name, decode=True) == []


@pytest.mark.parametrize("name", FIXTURES)
def test_repack_output_is_clean(name: str, tmp_path: Path) -> None:
    output = repack(FIXTURES_DIR / name, tmp_path / "out")
    assert isinstance(output, Dataset)
    assert validate_dataset(output.root) == []


def test_rechunked_repack_output_is_clean(tmp_path: Path) -> None:
    output = repack(
        FIXTURES_DIR / MULTI, tmp_path / "out", video_files_size_in_mb=0.02, chunks_size=3
    )
    assert isinstance(output, Dataset)
    assert validate_dataset(output.root, decode=True) == []


# --- a few more behaviours --------------------------------------------------------------------


def test_several_faults_are_all_reported(tmp_path: Path) -> None:
    root = copy_fixture(SINGLE, tmp_path)
    edit_json(root / "meta/info.json", lambda i: i.update(total_frames=1, total_tasks=7))
    _stats(lambda s: s.pop("action"))(root)
    kinds = sorted((p.kind, p.loc) for p in validate_dataset(root))
    assert kinds == [
        ("missing_stats", "action"),
        ("wrong_total", "total_frames"),
        ("wrong_total", "total_tasks"),
    ]


def test_any_v3_version_is_accepted(tmp_path: Path) -> None:
    root = copy_fixture(SINGLE, tmp_path)
    edit_json(root / "meta/info.json", lambda i: i.update(codebase_version="v3.1"))
    assert validate_dataset(root) == []


def test_missing_info_is_one_problem(tmp_path: Path) -> None:
    problems = validate_dataset(tmp_path)
    assert [(p.file, p.kind) for p in problems] == [("meta/info.json", "missing_file")]


def test_decode_reports_a_corrupt_video_payload(tmp_path: Path) -> None:
    root = copy_fixture(SINGLE, tmp_path)

    def scramble(packets: Packets) -> Packets:
        broken = av.Packet(b"\x00" * 32)
        broken.pts, broken.dts, broken.time_base = (
            packets[0].pts,
            packets[0].dts,
            packets[0].time_base,
        )
        broken.is_keyframe = True
        return [broken, *packets[1:]]

    remux(root / FRONT, scramble)
    assert validate_dataset(root) == []  # packet level: all frames are there
    problems = validate_dataset(root, decode=True)
    assert {(p.kind, p.file) for p in problems} == {("undecodable_video", FRONT)}


def test_problem_prints_where_what_and_kind(tmp_path: Path) -> None:
    root = copy_fixture(SINGLE, tmp_path)
    edit_json(root / "meta/info.json", lambda i: i.update(total_frames=235))
    (problem,) = validate_dataset(root)
    assert str(problem) == (
        "error: meta/info.json: total_frames: expected 234 (the dataset has 234 data rows), got 235;"
        " set total_frames to 234 [wrong_total]"
    )


# --- severities -------------------------------------------------------------------------------


def _drop_episode_columns(*names: str) -> Callable[[pa.Table], pa.Table]:
    def drop(table: pa.Table) -> pa.Table:
        return table.drop([n for n in table.column_names if n in names or n.startswith("stats/")])

    return drop


def test_what_lerobot_convert_image_to_video_writes_is_only_warnings(tmp_path: Path) -> None:
    # Its episodes have no tasks, stats/* or meta/episodes/* columns and stats.json no cameras.
    root = copy_fixture(SINGLE, tmp_path)
    _parquet(
        EPISODES,
        _drop_episode_columns("tasks", "meta/episodes/chunk_index", "meta/episodes/file_index"),
    )(root)
    _stats(lambda s: [s.pop(key) for key in list(s) if key.startswith("observation.images")])(root)
    problems = validate_dataset(root)
    assert {(p.kind, p.severity) for p in problems} == {
        ("missing_optional_column", "warning"),
        ("missing_episode_stats", "warning"),
        ("missing_optional_stats", "warning"),
    }
    assert {p.loc for p in problems if p.kind == "missing_optional_column"} == {
        "tasks",
        "meta/episodes/chunk_index",
        "meta/episodes/file_index",
    }
    assert {p.loc for p in problems if p.kind == "missing_optional_stats"} == {
        "observation.images.front",
        "observation.images.wrist",
    }


def test_a_depth_like_camera_with_three_channel_stats_is_a_warning(tmp_path: Path) -> None:
    # lerobot's test factories write (3, 1, 1) stats for a one-channel depth camera.
    root = copy_fixture("v3_image", tmp_path)
    info = json.loads((root / "meta/info.json").read_text())
    camera = next(k for k, f in info["features"].items() if f["dtype"] == "image")
    _stats(lambda s: s[camera].update(min=[[[0.0]]] * 2))(root)  # (2, 1, 1): broadcasts nowhere
    assert {(p.kind, p.severity) for p in validate_dataset(root)} == {("bad_stats_shape", "error")}
    root = copy_fixture("v3_image", tmp_path / "depth")
    shape = info["features"][camera]["shape"]
    _info(lambda i: i["features"][camera].update(shape=[shape[0], shape[1], 1]))(root)
    problems = [p for p in validate_dataset(root) if p.file == "meta/stats.json"]
    assert problems
    assert {(p.kind, p.severity) for p in problems} == {("unusual_stats_shape", "warning")}
    assert {p.loc.rpartition(".")[2] for p in problems} >= {"min", "max", "mean", "std"}


def test_missing_action_stats_is_an_error(tmp_path: Path) -> None:
    root = copy_fixture(SINGLE, tmp_path)
    _stats(lambda s: s.pop("action"))(root)
    (problem,) = validate_dataset(root)
    assert (problem.kind, problem.severity, problem.loc) == ("missing_stats", "error", "action")


def test_every_reported_problem_has_its_kinds_severity(tmp_path: Path) -> None:
    severity = {kind.name: kind.severity for kind in KINDS}
    root = copy_fixture(SINGLE, tmp_path)
    _info(lambda i: i.update(total_frames=1, data_path="data/{chunk_index}.parquet"))(root)
    problems = validate_dataset(root)
    assert {(p.kind, p.severity) for p in problems} == {
        ("wrong_total", "error"),
        ("bad_path_template", "warning"),
    }
    assert all(p.severity == severity[p.kind] for p in problems)


def test_validate_info_is_pure_and_lists_every_problem() -> None:
    info = {
        "codebase_version": "v3.0",
        "fps": -1,
        "chunks_size": 0,
        "features": {"a/b": {"dtype": "float32", "shape": [2]}},
    }
    problems = validate_info(info)
    assert sorted((p.loc, p.kind) for p in problems) == sorted(
        [
            ("fps", "bad_field"),
            ("chunks_size", "bad_field"),
            ("features.a/b", "bad_feature"),
            ("data_path", "missing_field"),
            *[
                (f"features.{name}", "missing_feature")
                for name in ("timestamp", "frame_index", "episode_index", "index", "task_index")
            ],
        ]
    )


def test_every_kind_is_documented_with_a_severity_and_a_reason() -> None:
    assert [kind.name for kind in KINDS] == list(PROBLEM_KINDS)
    assert len(set(PROBLEM_KINDS)) == len(PROBLEM_KINDS)
    for kind in KINDS:
        assert kind.severity in ("error", "warning"), kind
        assert len(kind.meaning) > 20, kind
        assert len(kind.why) > 10, kind


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def start(self, description: str, total: int) -> None:
        self.events.append((description, total))

    def advance(self, amount: int = 1) -> None:
        self.events.append(("advance", amount))

    def finish(self) -> None:
        self.events.append(("finish", 0))


def test_progress_sees_each_file() -> None:
    recorder = _Recorder()
    validate_dataset(FIXTURES_DIR / MULTI, progress=recorder)
    starts = [event for event in recorder.events if event[0].startswith("Checking")]
    assert starts == [("Checking data files", 3), ("Checking videos", 10)]
    assert recorder.events.count(("advance", 1)) == 13


# --- the op -----------------------------------------------------------------------------------


class _HasRoot:
    def __init__(self, root: Path) -> None:
        self.root = root


@pytest.mark.parametrize("form", ["str", "path", "dataset", "has_root"])
def test_op_accepts_every_dataset_form(form: str) -> None:
    root = FIXTURES_DIR / "v3_image"
    dataset: Any = {
        "str": str(root),
        "path": root,
        "dataset": Dataset(root),
        "has_root": _HasRoot(root),
    }[form]
    assert validate(dataset) == []


def test_op_reports_a_broken_info_instead_of_raising(tmp_path: Path) -> None:
    root = copy_fixture("v3_image", tmp_path)
    (root / "meta/info.json").write_text("[]")
    assert [p.kind for p in validate(root)] == ["invalid_json"]


def test_op_raises_on_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError):
        validate(tmp_path / "nothing")
