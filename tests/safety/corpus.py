"""A corpus of malformed LeRobot v3.0 datasets, each built from a copy of a shared fixture.

Every `Case` names the one thing broken in it, the problem kind `validate` must report, and the
text an error about it must contain (the file, key or episode where it applies). The builders
change only what they say they change, so each case isolates one fault.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fixture_data import copy_tree_writable, fixtures_dir

DATA = "data/chunk-000/file-000.parquet"
EPISODES = "meta/episodes/chunk-000/file-000.parquet"
TASKS = "meta/tasks.parquet"
INFO = "meta/info.json"
STATS = "meta/stats.json"
FRONT = "observation.images.front"
FRONT_VIDEO = f"videos/{FRONT}/chunk-000/file-000.mp4"
# v3_av1_single: 6 episodes of lengths 40, 25, 55, 31, 47, 36 (rows 0..233), 3 tasks.
EPISODE_2_ROWS = (65, 120)


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One malformed dataset: how to break a fixture copy, and how the break must be reported.

    Args:
        name: the case id.
        base: the shared fixture it starts from.
        build: breaks the copy in place.
        kind: a `Problem.kind` that `validate` must report.
        where: strings an error message must contain (file, key, episode).
        says: a regex an op's error message must match (defaults to `kind`).
    """

    name: str
    base: str
    build: Callable[[Path], None]
    kind: str
    where: tuple[str, ...]
    says: str = ""

    @property
    def pattern(self) -> str:
        """What an op's error must say about the problem."""
        return self.says or self.kind


# --- helpers ------------------------------------------------------------------------------


def _read(path: Path) -> pa.Table:
    return pq.read_table(path)


def _write(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path, compression="snappy")


def _edit_table(root: Path, relative: str, edit: Callable[[pa.Table], pa.Table]) -> None:
    path = root / relative
    _write(path, edit(_read(path)))


def _set_column(table: pa.Table, name: str, values: object) -> pa.Table:
    position = table.column_names.index(name)
    field = table.schema.field(name)
    return table.set_column(position, field, pa.array(values, type=field.type))


def _edit_column(
    root: Path, relative: str, name: str, edit: Callable[[np.ndarray], Iterable[object]]
) -> None:
    def change(table: pa.Table) -> pa.Table:
        values = np.array(table.column(name).to_pylist(), dtype=object)
        return _set_column(table, name, list(edit(values)))

    _edit_table(root, relative, change)


def _edit_json(root: Path, relative: str, edit: Callable[[dict], None]) -> None:
    path = root / relative
    document = json.loads(path.read_text(encoding="utf-8"))
    edit(document)
    path.write_text(json.dumps(document, indent=4), encoding="utf-8")


def _truncate(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def _scribble(path: Path, start_fraction: float = 0.0) -> None:
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    start = int(len(data) * start_fraction)
    data[start:] = rng.integers(0, 256, len(data) - start, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def _keep_packets(path: Path, count: int) -> None:
    """Rewrite an mp4 with only its first `count` packets (decode order), stream-copied."""
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(path)) as source, av.open(str(tmp), "w", format="mp4") as target:
        stream = source.streams.video[0]
        out = target.add_stream_from_template(stream, opaque=True)
        out.time_base = stream.time_base
        kept = 0
        for packet in source.demux(stream):
            if packet.dts is None or kept >= count:
                continue
            packet.stream = out
            target.mux(packet)
            kept += 1
    tmp.replace(path)


# --- builders -----------------------------------------------------------------------------


def truncated_data(root: Path) -> None:
    _truncate(root / DATA, 0.5)


def garbage_data(root: Path) -> None:
    _scribble(root / DATA)


def empty_data(root: Path) -> None:
    (root / DATA).write_bytes(b"")


def missing_data(root: Path) -> None:
    (root / DATA).unlink()


def missing_one_of_several_data_files(root: Path) -> None:
    (root / "data/chunk-000/file-001.parquet").unlink()


def missing_video(root: Path) -> None:
    (root / FRONT_VIDEO).unlink()


def empty_video(root: Path) -> None:
    (root / FRONT_VIDEO).write_bytes(b"")


def garbage_video(root: Path) -> None:
    _scribble(root / FRONT_VIDEO)


def corrupt_video_header(root: Path) -> None:
    data = bytearray((root / FRONT_VIDEO).read_bytes())
    data[4:64] = b"\xff" * 60
    (root / FRONT_VIDEO).write_bytes(bytes(data))


def truncated_video(root: Path) -> None:
    _truncate(root / FRONT_VIDEO, 0.5)


def video_shorter_than_episodes(root: Path) -> None:
    _keep_packets(root / FRONT_VIDEO, 200)  # episodes need 234 frames


def wrong_total_frames(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.update(total_frames=info["total_frames"] + 5))


def wrong_total_episodes(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.update(total_episodes=9))


def wrong_total_tasks(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.update(total_tasks=7))


def episode_points_at_missing_data_file(root: Path) -> None:
    _edit_column(root, EPISODES, "data/file_index", lambda v: [0, 0, 7, 0, 0, 0])


def episode_points_at_missing_video_file(root: Path) -> None:
    column = f"videos/{FRONT}/file_index"
    _edit_column(root, EPISODES, column, lambda v: [0, 0, 0, 5, 0, 0])


def index_gap(root: Path) -> None:
    _edit_column(root, DATA, "index", lambda v: [i + (1 if i >= 100 else 0) for i in v])


def index_duplicate(root: Path) -> None:
    _edit_column(root, DATA, "index", lambda v: [i - (1 if i == 100 else 0) for i in v])


def null_index(root: Path) -> None:
    _edit_column(root, DATA, "index", lambda v: [None if i == 100 else i for i in v])


def extra_data_column(root: Path) -> None:
    _edit_table(root, DATA, lambda t: t.append_column("surprise", pa.array(np.zeros(t.num_rows))))


def missing_data_column(root: Path) -> None:
    _edit_table(root, DATA, lambda t: t.drop_columns(["observation.effort"]))


def feature_shape_mismatch(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info["features"]["observation.state"].update(shape=[7]))


def feature_dtype_mismatch(root: Path) -> None:
    def change(table: pa.Table) -> pa.Table:
        values = [str(v) for v in table.column("next.reward").to_pylist()]
        position = table.column_names.index("next.reward")
        return table.set_column(position, "next.reward", pa.array(values, pa.string()))

    _edit_table(root, DATA, change)


def non_monotonic_timestamps(root: Path) -> None:
    def change(values: np.ndarray) -> np.ndarray:
        values = values.copy()
        values[70], values[71] = values[71], values[70]
        return values

    _edit_column(root, DATA, "timestamp", change)


def shifted_timestamps(root: Path) -> None:
    _edit_column(root, DATA, "timestamp", lambda v: [t + (0.01 if t > 1.0 else 0.0) for t in v])


def wrong_frame_index(root: Path) -> None:
    def change(values: np.ndarray) -> np.ndarray:
        values = values.copy()
        values[80] = 99
        return values

    _edit_column(root, DATA, "frame_index", change)


def unknown_task_index(root: Path) -> None:
    def change(values: np.ndarray) -> np.ndarray:
        values = values.copy()
        values[EPISODE_2_ROWS[0] : EPISODE_2_ROWS[1]] = 9
        return values

    _edit_column(root, DATA, "task_index", change)


def episode_rows_not_contiguous(root: Path) -> None:
    def change(table: pa.Table) -> pa.Table:
        order = list(range(table.num_rows))
        order[30], order[100] = order[100], order[30]
        return table.take(pa.array(order))

    _edit_table(root, DATA, change)


def missing_tasks(root: Path) -> None:
    (root / TASKS).unlink()


def tasks_without_pandas_metadata(root: Path) -> None:
    _edit_table(root, TASKS, lambda t: t.replace_schema_metadata(None))


def tasks_unsorted(root: Path) -> None:
    _edit_table(root, TASKS, lambda t: t.take(pa.array([2, 0, 1])))


def duplicate_task(root: Path) -> None:
    _edit_column(root, TASKS, "task", lambda v: [v[0], v[0], v[2]])


def garbage_tasks(root: Path) -> None:
    _scribble(root / TASKS)


def garbage_episodes(root: Path) -> None:
    _scribble(root / EPISODES)


def truncated_episodes(root: Path) -> None:
    _truncate(root / EPISODES, 0.6)


def missing_episodes(root: Path) -> None:
    shutil.rmtree(root / "meta/episodes")


def episode_rows_out_of_order(root: Path) -> None:
    _edit_table(root, EPISODES, lambda t: t.take(pa.array([1, 0, 2, 3, 4, 5])))


def missing_episode_row(root: Path) -> None:
    _edit_table(root, EPISODES, lambda t: t.take(pa.array([0, 1, 2, 3, 4])))


def wrong_episode_length(root: Path) -> None:
    _edit_column(root, EPISODES, "length", lambda v: [40, 25, 50, 31, 47, 36])


def wrong_episode_range(root: Path) -> None:
    _edit_column(root, EPISODES, "dataset_to_index", lambda v: [40, 65, 118, 151, 198, 234])


def episode_without_core_column(root: Path) -> None:
    _edit_table(root, EPISODES, lambda t: t.drop_columns(["dataset_from_index"]))


def null_in_episode_row(root: Path) -> None:
    _edit_column(root, EPISODES, "dataset_from_index", lambda v: [0, 40, None, 120, 151, 198])


def shifted_video_window(root: Path) -> None:
    column = f"videos/{FRONT}/from_timestamp"
    _edit_column(root, EPISODES, column, lambda v: [v[0], v[1], v[2] + 0.5 / 30, *v[3:]])


def overlapping_video_windows(root: Path) -> None:
    start, stop = f"videos/{FRONT}/from_timestamp", f"videos/{FRONT}/to_timestamp"

    def change(table: pa.Table) -> pa.Table:
        starts = table.column(start).to_pylist()
        stops = table.column(stop).to_pylist()
        starts[2], stops[2] = starts[1], starts[1] + 55 / 30
        return _set_column(_set_column(table, start, starts), stop, stops)

    _edit_table(root, EPISODES, change)


def episode_tasks_mismatch(root: Path) -> None:
    _edit_column(root, EPISODES, "tasks", lambda v: [v[0], v[1], ["open the drawer!"], *v[3:]])


def invalid_stats_json(root: Path) -> None:
    (root / STATS).write_text("{not json", encoding="utf-8")


def stats_missing_feature(root: Path) -> None:
    _edit_json(root, STATS, lambda stats: stats.pop("action"))


def episode_stats_columns_missing(root: Path) -> None:
    _edit_table(
        root,
        EPISODES,
        lambda t: t.drop_columns([c for c in t.column_names if c.startswith("stats/action/")]),
    )


def invalid_info_json(root: Path) -> None:
    (root / INFO).write_text('{"codebase_version": "v3.0", ', encoding="utf-8")


def info_not_an_object(root: Path) -> None:
    (root / INFO).write_text("[1, 2, 3]", encoding="utf-8")


def codebase_v21(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.update(codebase_version="v2.1"))


def missing_codebase_version(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.pop("codebase_version"))


def fps_zero(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.update(fps=0))


def fps_string(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.update(fps="30"))


def missing_fps(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.pop("fps"))


def missing_features(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.pop("features"))


def missing_video_path(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.pop("video_path"))


def bad_video_path(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.update(video_path="videos/{camera}/{oops}.mp4"))


def missing_data_path(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.pop("data_path"))


def chunks_size_zero(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info.update(chunks_size=0))


def feature_with_slash(root: Path) -> None:
    def change_info(info: dict) -> None:
        info["features"] = {
            ("observation/effort" if name == "observation.effort" else name): feature
            for name, feature in info["features"].items()
        }

    _edit_json(root, INFO, change_info)
    _edit_table(
        root,
        DATA,
        lambda t: t.rename_columns(
            ["observation/effort" if n == "observation.effort" else n for n in t.column_names]
        ),
    )
    _edit_json(
        root,
        STATS,
        lambda stats: stats.update({"observation/effort": stats.pop("observation.effort")}),
    )


def missing_default_feature(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info["features"].pop("frame_index"))


def bad_feature_shape(root: Path) -> None:
    _edit_json(root, INFO, lambda info: info["features"]["action"].update(shape=[0]))


def video_info_mismatch(root: Path) -> None:
    def change(info: dict) -> None:
        info["features"][FRONT]["shape"] = [32, 48, 3]
        info["features"][FRONT]["info"].update({"video.height": 32, "video.width": 48})

    _edit_json(root, INFO, change)


def image_column_wrong_type(root: Path) -> None:
    key = "observation.images.front"

    def change(table: pa.Table) -> pa.Table:
        position = table.column_names.index(key)
        return table.set_column(position, key, pa.array(np.zeros(table.num_rows, np.int64)))

    _edit_table(root, DATA, change)


def null_timestamp(root: Path) -> None:
    def change(table: pa.Table) -> pa.Table:
        position = table.column_names.index("timestamp")
        values = pc.if_else(
            pa.array([i == 10 for i in range(table.num_rows)]),
            pa.nulls(table.num_rows, pa.float32()),
            table.column("timestamp"),
        )
        return table.set_column(position, table.schema.field("timestamp"), values)

    _edit_table(root, DATA, change)


# --- the corpus ---------------------------------------------------------------------------

SINGLE = "v3_av1_single"
# merge reads each source's first video header while planning, before the sources are validated.
CORRUPT_VIDEO = "corrupt_video|cannot read video"

CASES: tuple[Case, ...] = (
    Case(
        name="truncated_data_parquet",
        base=SINGLE,
        build=truncated_data,
        kind="corrupt_parquet",
        where=(DATA,),
    ),
    Case(
        name="garbage_data_parquet",
        base=SINGLE,
        build=garbage_data,
        kind="corrupt_parquet",
        where=(DATA,),
    ),
    Case(
        name="empty_data_parquet",
        base=SINGLE,
        build=empty_data,
        kind="corrupt_parquet",
        where=(DATA,),
    ),
    Case(
        name="missing_data_parquet",
        base=SINGLE,
        build=missing_data,
        kind="missing_file",
        where=("data",),
    ),
    Case(
        name="missing_one_of_several_data_files",
        base="v3_av1_multifile",
        build=missing_one_of_several_data_files,
        kind="missing_file",
        where=("data/chunk-000/file-001.parquet",),
    ),
    Case(
        name="missing_mp4",
        base=SINGLE,
        build=missing_video,
        kind="missing_file",
        where=(FRONT_VIDEO,),
    ),
    Case(
        name="empty_mp4",
        base=SINGLE,
        build=empty_video,
        kind="corrupt_video",
        where=(FRONT_VIDEO,),
        says=CORRUPT_VIDEO,
    ),
    Case(
        name="garbage_mp4",
        base=SINGLE,
        build=garbage_video,
        kind="corrupt_video",
        where=(FRONT_VIDEO,),
        says=CORRUPT_VIDEO,
    ),
    Case(
        name="corrupt_mp4_header",
        base=SINGLE,
        build=corrupt_video_header,
        kind="corrupt_video",
        where=(FRONT_VIDEO,),
        says=CORRUPT_VIDEO,
    ),
    Case(
        name="truncated_mp4",
        base=SINGLE,
        build=truncated_video,
        kind="video_too_short",
        where=(FRONT_VIDEO, "episode "),
        says="video_too_short|corrupt_video",
    ),
    Case(
        name="video_shorter_than_episodes",
        base=SINGLE,
        build=video_shorter_than_episodes,
        kind="video_too_short",
        where=(FRONT_VIDEO, "episode 5"),
    ),
    Case(
        name="h264_video_shorter_than_episodes",
        base="v3_h264_bframes",
        build=video_shorter_than_episodes,
        kind="video_too_short",
        where=(FRONT_VIDEO, "episode 4"),
    ),
    Case(
        name="wrong_total_frames",
        base=SINGLE,
        build=wrong_total_frames,
        kind="wrong_total",
        where=(INFO, "total_frames"),
    ),
    Case(
        name="wrong_total_episodes",
        base=SINGLE,
        build=wrong_total_episodes,
        kind="wrong_total",
        where=(INFO, "total_episodes"),
    ),
    Case(
        name="wrong_total_tasks",
        base=SINGLE,
        build=wrong_total_tasks,
        kind="wrong_total",
        where=(INFO, "total_tasks"),
    ),
    Case(
        name="episode_row_points_at_missing_data_file",
        base=SINGLE,
        build=episode_points_at_missing_data_file,
        kind="missing_file",
        where=("data/chunk-000/file-007.parquet", "episode 2"),
    ),
    Case(
        name="episode_row_points_at_missing_video_file",
        base=SINGLE,
        build=episode_points_at_missing_video_file,
        kind="missing_file",
        where=(f"videos/{FRONT}/chunk-000/file-005.mp4", "episode 3"),
    ),
    Case(
        name="index_gap",
        base=SINGLE,
        build=index_gap,
        kind="index_not_contiguous",
        where=(DATA, "episode 2"),
    ),
    Case(
        name="index_duplicate",
        base=SINGLE,
        build=index_duplicate,
        kind="index_not_contiguous",
        where=(DATA, "episode 2"),
    ),
    Case(
        name="null_index",
        base=SINGLE,
        build=null_index,
        kind="missing_value",
        where=(DATA, "index"),
    ),
    Case(
        name="extra_data_column",
        base=SINGLE,
        build=extra_data_column,
        kind="extra_column",
        where=(DATA, "surprise"),
    ),
    Case(
        name="missing_data_column",
        base=SINGLE,
        build=missing_data_column,
        kind="missing_column",
        where=(DATA, "observation.effort"),
    ),
    Case(
        name="feature_shape_mismatch",
        base=SINGLE,
        build=feature_shape_mismatch,
        kind="bad_column_type",
        where=(DATA, "observation.state"),
    ),
    Case(
        name="feature_dtype_mismatch",
        base=SINGLE,
        build=feature_dtype_mismatch,
        kind="bad_column_type",
        where=(DATA, "next.reward"),
    ),
    Case(
        name="non_monotonic_timestamps",
        base=SINGLE,
        build=non_monotonic_timestamps,
        kind="bad_timestamp",
        where=(DATA, "episode 2"),
    ),
    Case(
        name="shifted_timestamps",
        base=SINGLE,
        build=shifted_timestamps,
        kind="bad_timestamp",
        where=(DATA, "episode 0"),
    ),
    Case(
        name="wrong_frame_index",
        base=SINGLE,
        build=wrong_frame_index,
        kind="bad_frame_index",
        where=(DATA, "episode 2"),
    ),
    Case(
        name="unknown_task_index",
        base=SINGLE,
        build=unknown_task_index,
        kind="unknown_task_index",
        where=(DATA, "episode 2"),
    ),
    Case(
        name="episode_rows_not_contiguous",
        base=SINGLE,
        build=episode_rows_not_contiguous,
        kind="episode_not_contiguous",
        where=(DATA, "episode "),
    ),
    Case(
        name="missing_tasks_parquet",
        base=SINGLE,
        build=missing_tasks,
        kind="missing_file",
        where=(TASKS,),
    ),
    Case(
        name="tasks_without_pandas_metadata",
        base=SINGLE,
        build=tasks_without_pandas_metadata,
        kind="tasks_no_pandas_index",
        where=(TASKS,),
    ),
    Case(
        name="tasks_unsorted",
        base=SINGLE,
        build=tasks_unsorted,
        kind="tasks_not_sorted",
        where=(TASKS,),
    ),
    Case(
        name="duplicate_task",
        base=SINGLE,
        build=duplicate_task,
        kind="duplicate_task",
        where=(TASKS,),
    ),
    Case(
        name="garbage_tasks_parquet",
        base=SINGLE,
        build=garbage_tasks,
        kind="corrupt_parquet",
        where=(TASKS,),
    ),
    Case(
        name="garbage_episodes_parquet",
        base=SINGLE,
        build=garbage_episodes,
        kind="corrupt_parquet",
        where=(EPISODES,),
    ),
    Case(
        name="truncated_episodes_parquet",
        base=SINGLE,
        build=truncated_episodes,
        kind="corrupt_parquet",
        where=(EPISODES,),
    ),
    Case(
        name="missing_episodes_parquet",
        base=SINGLE,
        build=missing_episodes,
        kind="missing_file",
        where=("meta/episodes",),
    ),
    Case(
        name="episode_rows_out_of_order",
        base=SINGLE,
        build=episode_rows_out_of_order,
        kind="bad_episode_index",
        where=(EPISODES,),
    ),
    Case(
        name="missing_episode_row",
        base=SINGLE,
        build=missing_episode_row,
        kind="unknown_episode",
        where=(DATA, "episode 5"),
    ),
    Case(
        name="wrong_episode_length",
        base=SINGLE,
        build=wrong_episode_length,
        kind="bad_length",
        where=(EPISODES, "episode 2"),
    ),
    Case(
        name="wrong_episode_range",
        base=SINGLE,
        build=wrong_episode_range,
        kind="bad_episode_range",
        where=(EPISODES, "episode 2"),
    ),
    Case(
        name="episodes_without_dataset_from_index",
        base=SINGLE,
        build=episode_without_core_column,
        kind="missing_column",
        where=("meta/episodes", "dataset_from_index"),
    ),
    Case(
        name="null_in_episode_row",
        base=SINGLE,
        build=null_in_episode_row,
        kind="missing_value",
        where=("meta/episodes", "row 2", "dataset_from_index"),
    ),
    Case(
        name="video_window_shifted_half_a_frame",
        base=SINGLE,
        build=shifted_video_window,
        kind="video_window_start",
        where=(FRONT_VIDEO, "episode 2"),
    ),
    Case(
        name="overlapping_video_windows",
        base=SINGLE,
        build=overlapping_video_windows,
        kind="video_windows_overlap",
        where=(FRONT_VIDEO, "episode "),
    ),
    Case(
        name="episode_tasks_mismatch",
        base=SINGLE,
        build=episode_tasks_mismatch,
        kind="episode_tasks_mismatch",
        where=(EPISODES, "episode 2"),
    ),
    Case(
        name="stats_json_invalid",
        base=SINGLE,
        build=invalid_stats_json,
        kind="invalid_json",
        where=(STATS,),
    ),
    Case(
        name="stats_json_missing_feature",
        base=SINGLE,
        build=stats_missing_feature,
        kind="missing_stats",
        where=(STATS, "action"),
    ),
    Case(
        name="episode_stats_columns_missing",
        base=SINGLE,
        build=episode_stats_columns_missing,
        kind="missing_episode_stats",
        where=(EPISODES, "stats/action"),
    ),
    Case(
        name="info_json_invalid",
        base=SINGLE,
        build=invalid_info_json,
        kind="invalid_json",
        where=(INFO,),
    ),
    Case(
        name="info_json_not_an_object",
        base=SINGLE,
        build=info_not_an_object,
        kind="invalid_json",
        where=(INFO,),
        says="invalid_json|JSON object",
    ),
    Case(
        name="codebase_version_v21",
        base=SINGLE,
        build=codebase_v21,
        kind="unsupported_version",
        where=("codebase_version",),
        says=r"v2\.1",
    ),
    Case(
        name="codebase_version_missing",
        base=SINGLE,
        build=missing_codebase_version,
        kind="missing_field",
        where=("codebase_version",),
        says="missing",
    ),
    Case(name="fps_zero", base=SINGLE, build=fps_zero, kind="bad_field", where=(INFO, "fps")),
    Case(name="fps_string", base=SINGLE, build=fps_string, kind="bad_field", where=(INFO, "fps")),
    Case(
        name="fps_missing",
        base=SINGLE,
        build=missing_fps,
        kind="missing_field",
        where=(INFO, "fps"),
        says="missing",
    ),
    Case(
        name="features_missing",
        base=SINGLE,
        build=missing_features,
        kind="missing_field",
        where=(INFO, "features"),
        says="missing",
    ),
    Case(
        name="video_path_missing",
        base=SINGLE,
        build=missing_video_path,
        kind="missing_field",
        where=(INFO, "video_path"),
    ),
    Case(
        name="video_path_not_a_template",
        base=SINGLE,
        build=bad_video_path,
        kind="bad_field",  # the loader formats video_path: one that does not format cannot load
        where=(INFO, "video_path"),
    ),
    Case(
        name="data_path_missing",
        base=SINGLE,
        build=missing_data_path,
        kind="missing_field",
        where=(INFO, "data_path"),
    ),
    Case(
        name="chunks_size_zero",
        base=SINGLE,
        build=chunks_size_zero,
        kind="bad_field",
        where=(INFO, "chunks_size"),
    ),
    Case(
        name="feature_with_slash",
        base=SINGLE,
        build=feature_with_slash,
        kind="bad_feature",
        where=(INFO, "observation/effort"),
    ),
    Case(
        name="default_feature_missing",
        base=SINGLE,
        build=missing_default_feature,
        kind="missing_feature",
        where=(INFO, "frame_index"),
    ),
    Case(
        name="feature_shape_zero",
        base=SINGLE,
        build=bad_feature_shape,
        kind="bad_feature",
        where=(INFO, "action"),
    ),
    Case(
        name="video_size_differs_from_info",
        base=SINGLE,
        build=video_info_mismatch,
        kind="video_info_mismatch",
        where=(FRONT_VIDEO, FRONT),
    ),
    Case(
        name="image_column_not_images",
        base="v3_image",
        build=image_column_wrong_type,
        kind="bad_column_type",
        where=(DATA, "observation.images.front"),
    ),
    Case(
        name="null_timestamp",
        base=SINGLE,
        build=null_timestamp,
        kind="missing_value",
        where=(DATA, "timestamp"),
    ),
)


def build_case(case: Case, folder: Path) -> Path:
    """Copy the case's fixture into `folder` and break it; return the dataset root."""
    root = copy_tree_writable(fixtures_dir() / case.base, folder / case.name)
    case.build(root)
    return root
