"""Check a LeRobot v3.0 folder for everything the official loader or a trainer would trip on.

`validate_dataset` returns *every* problem it finds as a `Problem(file, loc, kind, message)`; it
never raises for a broken dataset (pyarrow, PyAV and robosplice errors become problems) and never
writes. It does not repair anything, and it does not compare stats values with the data (only
their presence and shapes). Data files are streamed by row group reading only the index columns
(all columns with `decode=True`), and each video file's packets are indexed once.

Problem kinds (`Problem.kind`):
    missing_file: a required file (info, tasks, episodes, data, stats) or a file an episode row
        references does not exist.
    invalid_json: meta/info.json or meta/stats.json is not a JSON object.
    unsupported_version: codebase_version is not v3.x.
    missing_field: a required info.json key (codebase_version, fps, features, data_path,
        video_path) is missing.
    bad_field: an info.json value has the wrong type or range (fps <= 0, chunks_size <= 0, ...).
    bad_path_template: data_path or video_path is not the default template the tools hard-code.
    missing_feature: one of the five default features is missing from info.json.
    bad_feature: a feature entry is malformed (dtype, shape, "/" in the name, wrong default).
    wrong_total: total_episodes, total_frames or total_tasks disagrees with the files.
    corrupt_parquet: a Parquet file cannot be read.
    missing_column: a data file lacks a feature column, or an episodes/tasks file a needed column.
    extra_column: a data file has a column that is not a feature (the loader's cast fails).
    bad_column_type: a column's Arrow type cannot be cast to its feature's type.
    missing_value: a null where the loader needs a value.
    index_not_contiguous: `index` is not the row position 0..N-1 across data files in order.
    bad_episode_index: episode rows do not run 0..E-1 in order across files.
    episode_not_contiguous: an episode's data rows are split into several runs or files.
    episode_without_data: an episode row whose episode_index no data row has.
    unknown_episode: data rows whose episode_index has no episode row.
    bad_episode_range: dataset_from_index/to_index are not contiguous or not the episode's rows.
    bad_length: `length` is not dataset_to_index - dataset_from_index.
    wrong_data_file: data/chunk_index, data/file_index do not name the file holding the episode.
    bad_frame_index: frame_index does not run 0..length-1 within an episode.
    bad_timestamp: timestamp differs from frame_index / fps by more than 1e-4 s.
    unknown_task_index: a frame's task_index is not a row of meta/tasks.parquet.
    episode_tasks_mismatch: an episode row's `tasks` differ from the tasks its frames use.
    tasks_no_pandas_index: tasks.parquet lacks the pandas index metadata (tasks load as ints).
    tasks_not_sorted: tasks.parquet row i does not hold task_index i.
    bad_task_index: tasks.parquet task_index values are not 0..T-1.
    duplicate_task: a task string appears twice in tasks.parquet.
    missing_stats: meta/stats.json lacks a feature or one of min/max/mean/std/count.
    bad_stats_shape: a stat in meta/stats.json is not numbers of the expected shape.
    missing_episode_stats: episode rows lack the stats/<feature>/* columns.
    corrupt_video: a video file cannot be demuxed, or has no video stream.
    video_info_mismatch: the stream's fps, size or codec disagree with the feature.
    video_window_duration: to_timestamp - from_timestamp is not length / fps.
    video_window_start: no frame lies at from_timestamp (within 1e-4 s).
    video_frame_spacing: a frame of the window is missing or not at from + k / fps.
    video_too_short: the file ends before the episode's last frame.
    video_window_frames: the window [from, to) holds another number of frames than the episode.
    video_windows_overlap: two episodes' windows share frames of one file.
    no_keyframe: an episode's first frame has no keyframe at or before it in the file.
    undecodable_video: with decode=True, PyAV fails to decode every frame of a file.
    undecodable_image: with decode=True, an embedded image does not decode to the feature's size.
    check_failed: a check stopped on an unexpected error (the message has it; please report it).
"""

from __future__ import annotations

import functools
import io
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import av
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from typing_extensions import TypeIs

from robosplice._types import ProgressReporter
from robosplice.errors import Problem, RobospliceError
from robosplice.format.data import data_files
from robosplice.format.episodes import episodes_files, video_columns
from robosplice.format.info import (
    DEFAULT_FEATURE_NAMES,
    DEFAULT_FEATURES,
    NON_STATS_DTYPES,
    VISUAL_DTYPES,
    Features,
    data_column_names,
    image_keys,
    stats_feature_names,
    video_keys,
)
from robosplice.format.paths import (
    DATA_PATH_TEMPLATE,
    EPISODES_DIR,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    VIDEO_PATH_TEMPLATE,
    data_file_path,
)
from robosplice.format.schema import scalar_arrow_type
from robosplice.format.video import PacketIndex, read_packet_index

__all__ = [
    "PROBLEM_KINDS",
    "TOLERANCE_S",
    "validate_dataset",
    "validate_info",
    "validate_stats",
]

PROBLEM_KINDS: Final = (
    "missing_file",
    "invalid_json",
    "unsupported_version",
    "missing_field",
    "bad_field",
    "bad_path_template",
    "missing_feature",
    "bad_feature",
    "wrong_total",
    "corrupt_parquet",
    "missing_column",
    "extra_column",
    "bad_column_type",
    "missing_value",
    "index_not_contiguous",
    "bad_episode_index",
    "episode_not_contiguous",
    "episode_without_data",
    "unknown_episode",
    "bad_episode_range",
    "bad_length",
    "wrong_data_file",
    "bad_frame_index",
    "bad_timestamp",
    "unknown_task_index",
    "episode_tasks_mismatch",
    "tasks_no_pandas_index",
    "tasks_not_sorted",
    "bad_task_index",
    "duplicate_task",
    "missing_stats",
    "bad_stats_shape",
    "missing_episode_stats",
    "corrupt_video",
    "video_info_mismatch",
    "video_window_duration",
    "video_window_start",
    "video_frame_spacing",
    "video_too_short",
    "video_window_frames",
    "video_windows_overlap",
    "no_keyframe",
    "undecodable_video",
    "undecodable_image",
    "check_failed",
)
"""Every `Problem.kind` this module reports; the module docstring says what each means."""

# FORMAT.md §3.4: the loader's default tolerance_s, for video pts and data timestamps alike.
TOLERANCE_S: Final = 1e-4
REQUIRED_STAT_KEYS: Final = ("min", "max", "mean", "std", "count")
_KNOWN_STAT_KEYS: Final = (*REQUIRED_STAT_KEYS, "q01", "q10", "q50", "q90", "q99")
_CORE_EPISODE_COLUMNS: Final = ("episode_index", "dataset_from_index", "dataset_to_index")
# Not needed to load, but the official tools raise KeyError without them (FORMAT.md §1.5).
_TOOL_EPISODE_COLUMNS: Final = (
    "tasks",
    "length",
    "data/chunk_index",
    "data/file_index",
    "meta/episodes/chunk_index",
    "meta/episodes/file_index",
)
_ROW_COLUMNS: Final = ("episode_index", "frame_index", "timestamp", "index", "task_index")
_PARQUET_ERRORS: Final = (pa.ArrowException, OSError, ValueError)
_NO_EPISODE: Final = np.iinfo(np.int64).min
_T = TypeVar("_T")


def validate_dataset(
    root: Path, *, decode: bool = False, progress: ProgressReporter | None = None
) -> list[Problem]:
    """Return every problem of the dataset at `root`; empty when the loader would read it right.

    Args:
        root: the dataset folder.
        decode: also decode every video frame and every embedded image (slow).
        progress: receives one phase per kind of file checked.
    """
    return _Validator(Path(root), decode=decode, progress=progress).run()


def validate_info(info: object) -> list[Problem]:
    """Return the problems of a parsed meta/info.json (pure; FORMAT.md §0.1, §1.1-1.2)."""
    problems: list[Problem] = []

    def report(loc: str, kind: str, message: str) -> None:
        problems.append(Problem(file=INFO_PATH, loc=loc, kind=kind, message=message))

    if not isinstance(info, dict):
        report("", "invalid_json", f"expected a JSON object, got {type(info).__name__}")
        return problems
    version = info.get("codebase_version")
    if version is None:
        report(
            "codebase_version",
            "missing_field",
            'codebase_version is missing; a v3.0 dataset says "v3.0"',
        )
        return problems
    if not (isinstance(version, str) and version.startswith("v3")):
        hint = (
            "convert it with 'robosplice convert SRC OUT --to v3.0' first"
            if str(version).startswith("v2")
            else "robosplice reads only v3.x"
        )
        report(
            "codebase_version",
            "unsupported_version",
            f"expected a v3.x codebase_version, got {version!r}; {hint}",
        )
        return problems
    fps = info.get("fps")
    if fps is None:
        report("fps", "missing_field", "fps is missing; set it to the recording's frame rate")
    elif not _is_number(fps) or fps <= 0:
        report("fps", "bad_field", f"expected a number > 0, got {fps!r}")
    for key in ("chunks_size", "data_files_size_in_mb", "video_files_size_in_mb"):
        value = info.get(key)
        if value is not None and (not _is_number(value) or value <= 0):
            report(key, "bad_field", f"expected a number > 0, got {value!r}")
    for key in ("total_episodes", "total_frames", "total_tasks"):
        value = info.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            report(key, "bad_field", f"expected an integer, got {value!r}")
    features = info.get("features")
    if features is None:
        report("features", "missing_field", "features is missing; it must list every feature")
        return problems
    if not isinstance(features, dict):
        report("features", "bad_field", f"expected an object, got {type(features).__name__}")
        return problems
    problems.extend(_feature_problems(features))
    problems.extend(_template_problems(info, features))
    return problems


def validate_stats(stats: object, features: Features) -> list[Problem]:
    """Return the problems of a parsed meta/stats.json against `features` (pure; FORMAT.md §1.3).

    Checks presence of min/max/mean/std/count for every feature with stats, and the shapes of
    §4.1: (1,) for scalars, (D,) for vectors, the last axis (or the full shape) for arrays,
    (C, 1, 1) for cameras, (1,) for count. Values are not compared with the data.
    """
    problems: list[Problem] = []

    def report(loc: str, kind: str, message: str) -> None:
        problems.append(Problem(file=STATS_PATH, loc=loc, kind=kind, message=message))

    if not isinstance(stats, dict):
        report("", "invalid_json", f"expected a JSON object, got {type(stats).__name__}")
        return problems
    for name in stats_feature_names(features):
        feature_stats = stats.get(name)
        if feature_stats is None:
            report(
                name,
                "missing_stats",
                f"no stats for feature {name!r}; policies normalize with them and merge needs"
                " them; recompute the stats",
            )
            continue
        if not isinstance(feature_stats, dict):
            report(name, "bad_stats_shape", f"expected an object of stats, got {feature_stats!r}")
            continue
        missing = [key for key in REQUIRED_STAT_KEYS if key not in feature_stats]
        if missing:
            report(
                name,
                "missing_stats",
                f"expected stats {list(REQUIRED_STAT_KEYS)}, missing {missing}; recompute them",
            )
        expected = _expected_stat_shapes(features[name])
        for key in _KNOWN_STAT_KEYS:
            if key not in feature_stats:
                continue
            shapes = {(1,)} if key == "count" else expected
            got = _stat_shape(feature_stats[key])
            if got is None:
                report(
                    f"{name}.{key}",
                    "bad_stats_shape",
                    "expected a rectangular nested list of numbers, got"
                    f" {_short(feature_stats[key])}",
                )
            elif got not in shapes:
                wanted = " or ".join(str(shape) for shape in sorted(shapes))
                report(
                    f"{name}.{key}",
                    "bad_stats_shape",
                    f"expected shape {wanted}, got {got}; recompute the stats",
                )
    return problems


@dataclass(slots=True)
class _Span:
    """Where one episode's data rows are (global row positions) and which tasks they use."""

    file: str
    first_row: int
    stop_row: int
    task_indices: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _DataSummary:
    """What streaming the data files found, for the checks against the episode rows."""

    spans: dict[int, _Span] = field(default_factory=dict)
    total_rows: int = 0
    complete: bool = True  # every data file read in full, so row positions are the loader's
    index_problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class _EpisodeRows:
    """The non-stats columns of every episode row, concatenated in the loader's order."""

    columns: dict[str, list[Any]]
    files: list[str]  # the episodes file of each row
    skipped_video_keys: frozenset[str]  # video keys whose columns are missing somewhere

    @property
    def num_rows(self) -> int:
        return len(self.files)

    def episode_index(self, row: int) -> int | None:
        value = self.columns["episode_index"][row]
        return int(value) if value is not None else None

    def where(self, row: int) -> str:
        """Loc of a row: `episode N`, or `row N` when its episode_index is null."""
        episode = self.episode_index(row)
        return f"episode {episode}" if episode is not None else f"row {row}"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Window:
    """One episode's window in one video file."""

    episode: str  # loc, e.g. "episode 3"
    from_timestamp: float
    to_timestamp: float
    frames: int


class _Validator:
    """Runs the checks in dependency order and collects their problems."""

    def __init__(self, root: Path, *, decode: bool, progress: ProgressReporter | None) -> None:
        self.root = root
        self.decode = decode
        self.progress = progress
        self.problems: list[Problem] = []
        self.range_reported: set[int] = set()  # episode rows with a bad_episode_range already

    def report(self, file: str, loc: str, kind: str, message: str) -> None:
        self.problems.append(Problem(file=file, loc=loc, kind=kind, message=message))

    def guarded(self, file: str, fallback: _T, check: Callable[[], _T]) -> _T:
        """Run one check; an unexpected error becomes a problem so the other checks still run."""
        try:
            return check()
        except Exception as exc:  # validate must never raise on a broken dataset
            self.report(
                file,
                "",
                "check_failed",
                f"the check stopped on {exc.__class__.__name__}: {exc}; the dataset is likely"
                " broken here in a way robosplice does not recognize (please report it)",
            )
            return fallback

    def run(self) -> list[Problem]:
        info = self.check_info()
        if info is None:
            return self.problems
        # Malformed entries are reported by validate_info; the other checks skip them.
        features: Features = {
            name: feature for name, feature in info["features"].items() if isinstance(feature, dict)
        }
        raw_fps = info.get("fps")
        fps = float(raw_fps) if _is_number(raw_fps) and raw_fps > 0 else None
        tasks = self.guarded(TASKS_PATH, None, self.check_tasks)
        episodes = self.guarded(EPISODES_DIR, None, lambda: self.check_episodes(features))
        summary = self.guarded(
            "data",
            _DataSummary(complete=False),
            lambda: self.check_data(features, fps, tasks, episodes),
        )
        self.guarded(EPISODES_DIR, None, lambda: self.check_against_data(episodes, summary, tasks))
        self.guarded(INFO_PATH, None, lambda: self.check_totals(info, episodes, summary, tasks))
        self.guarded(STATS_PATH, None, lambda: self.check_stats(features))
        if fps is not None:
            self.guarded("videos", None, lambda: self.check_videos(info, features, fps, episodes))
        return self.problems

    # --- meta/info.json -------------------------------------------------------------------

    def check_info(self) -> dict[str, Any] | None:
        """Parse and check info.json; None when nothing else can be checked without it."""
        path = self.root / INFO_PATH
        if not path.is_file():
            self.report(
                INFO_PATH,
                "",
                "missing_file",
                f"no meta/info.json under {self.root}; this is not a LeRobot v3.0 dataset",
            )
            return None
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
            self.report(INFO_PATH, "", "invalid_json", f"cannot parse JSON ({exc})")
            return None
        problems = validate_info(info)
        self.problems.extend(problems)
        blocking = {"invalid_json", "unsupported_version"}
        if any(p.kind in blocking or p.loc in ("codebase_version", "features") for p in problems):
            return None
        assert isinstance(info, dict)
        return info

    # --- meta/tasks.parquet ---------------------------------------------------------------

    def check_tasks(self) -> list[str] | None:
        """Check tasks.parquet; return task strings by task_index, or None if unreadable."""
        path = self.root / TASKS_PATH
        if not path.is_file():
            self.report(
                TASKS_PATH, "", "missing_file", "meta/tasks.parquet is missing; the loader needs it"
            )
            return None
        try:
            table = pq.read_table(path)
        except _PARQUET_ERRORS as exc:
            self.report(TASKS_PATH, "", "corrupt_parquet", f"cannot read Parquet ({exc})")
            return None
        names = table.column_names
        pandas_metadata = _pandas_metadata(table.schema)
        index_columns = [
            name
            for name in (pandas_metadata or {}).get("index_columns", [])
            if isinstance(name, str)
        ]
        text_column = next(
            (name for name in (*index_columns, "task", "__index_level_0__") if name in names),
            None,
        )
        if "task_index" not in names or text_column is None:
            self.report(
                TASKS_PATH,
                "task_index" if "task_index" not in names else "task",
                "missing_column",
                f"expected columns ['task_index', 'task'], got {names}; rewrite tasks.parquet",
            )
            return None
        if pandas_metadata is None or text_column not in index_columns:
            got = "no pandas metadata" if pandas_metadata is None else f"index {index_columns}"
            self.report(
                TASKS_PATH,
                "",
                "tasks_no_pandas_index",
                f"expected pandas metadata with the task string as index ({text_column!r}), got"
                f" {got}; without it dataset[i]['task'] is an integer, not the string; rewrite"
                " the file with pandas (DataFrame indexed by task) or robosplice",
            )
        text_type = table.schema.field(text_column).type
        if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)):
            self.report(
                TASKS_PATH,
                text_column,
                "bad_column_type",
                f"expected task strings, got Arrow type {text_type}",
            )
            return None
        indices = table.column("task_index").to_pylist()
        texts = table.column(text_column).to_pylist()
        if None in indices or None in texts:
            self.report(TASKS_PATH, "", "missing_value", "task_index and task must not be null")
            return None
        count = len(texts)
        if indices != list(range(count)):
            if sorted(indices) == list(range(count)):
                self.report(
                    TASKS_PATH,
                    "task_index",
                    "tasks_not_sorted",
                    f"expected row i to hold task_index i, got task_index order {indices[:20]};"
                    " the loader looks tasks up by row, so frames get the wrong task strings;"
                    " sort the rows by task_index",
                )
            else:
                self.report(
                    TASKS_PATH,
                    "task_index",
                    "bad_task_index",
                    f"expected task_index values 0..{count - 1}, got {sorted(indices)[:20]};"
                    " renumber the tasks and the data's task_index to match",
                )
                return list(texts)
        duplicates = sorted({text for text in texts if texts.count(text) > 1})
        if duplicates:
            self.report(
                TASKS_PATH,
                "task",
                "duplicate_task",
                f"expected unique task strings, got {duplicates} more than once; merge their"
                " task_index values",
            )
        by_index = dict(zip(indices, texts, strict=True))
        return [by_index[position] for position in range(count)]

    # --- meta/episodes --------------------------------------------------------------------

    def check_episodes(self, features: Features) -> _EpisodeRows | None:
        """Read and check the episode rows on their own; None if the core columns are missing."""
        files = episodes_files(self.root)
        if not files:
            self.report(
                EPISODES_DIR,
                "",
                "missing_file",
                "no meta/episodes/*/*.parquet files; the loader needs one row per episode",
            )
            return None
        cameras = video_keys(features)
        wanted = [*_CORE_EPISODE_COLUMNS, *_TOOL_EPISODE_COLUMNS]
        for key in cameras:
            wanted.extend(video_columns(key))
        columns: dict[str, list[Any]] = {name: [] for name in wanted}
        row_files: list[str] = []
        usable = True
        skipped_keys: set[str] = set()
        stats_names = stats_feature_names(features)
        for path in files:
            relative = self.relative(path)
            try:
                parquet = pq.ParquetFile(path)
                names = parquet.schema_arrow.names
                table = parquet.read(columns=[name for name in wanted if name in names])
            except _PARQUET_ERRORS as exc:
                self.report(relative, "", "corrupt_parquet", f"cannot read Parquet ({exc})")
                usable = False
                continue
            for name in wanted:
                if name in names:
                    continue
                needed_by = "the tools" if name in _TOOL_EPISODE_COLUMNS else "the loader"
                self.report(
                    relative,
                    name,
                    "missing_column",
                    f"expected column {name!r} (needed by {needed_by}), got none",
                )
                if name in _CORE_EPISODE_COLUMNS:
                    usable = False
            skipped_keys.update(
                key for key in cameras if any(c not in names for c in video_columns(key))
            )
            self.check_episode_stats_columns(relative, names, stats_names)
            for name in wanted:
                if name in names:
                    columns[name].extend(table.column(name).to_pylist())
                else:
                    columns[name].extend([None] * table.num_rows)
            row_files.extend([relative] * table.num_rows)
        if not usable:
            return None
        episodes = _EpisodeRows(
            columns=columns, files=row_files, skipped_video_keys=frozenset(skipped_keys)
        )
        self.check_episode_rows(episodes)
        return episodes

    def check_episode_stats_columns(
        self, relative: str, names: list[str], stats_names: list[str]
    ) -> None:
        for feature in stats_names:
            missing = [
                f"stats/{feature}/{key}"
                for key in REQUIRED_STAT_KEYS
                if f"stats/{feature}/{key}" not in names
            ]
            if missing:
                self.report(
                    relative,
                    f"stats/{feature}",
                    "missing_episode_stats",
                    f"expected per-episode stats columns {missing}, got none; the official"
                    " tools aggregate them (delete, split, merge); recompute the stats",
                )

    def check_episode_rows(self, episodes: _EpisodeRows) -> None:
        """Episode order, contiguous ranges and lengths, from the rows alone."""
        columns = episodes.columns
        valid: list[int] = []
        for row in range(episodes.num_rows):
            nulls = [name for name in _CORE_EPISODE_COLUMNS if columns[name][row] is None]
            if nulls:
                self.report(
                    episodes.files[row],
                    episodes.where(row),
                    "missing_value",
                    f"episode row {row}: expected values in {nulls}, got null",
                )
            else:
                valid.append(row)
        out_of_place = [row for row in valid if int(columns["episode_index"][row]) != row]
        if out_of_place:
            first = out_of_place[0]
            self.report(
                episodes.files[first],
                f"row {first}",
                "bad_episode_index",
                f"expected episode_index {first} at row {first}, got"
                f" {columns['episode_index'][first]} ({len(out_of_place)} rows out of place);"
                " episode rows must run 0..E-1 in order across files, because the loader reads"
                " them by position; sort and renumber them",
            )
        ordered = sorted(valid, key=lambda row: int(columns["episode_index"][row]))
        previous_stop = 0
        for row in ordered:
            start = int(columns["dataset_from_index"][row])
            stop = int(columns["dataset_to_index"][row])
            if start != previous_stop or stop < start:
                self.range_reported.add(row)
                self.report(
                    episodes.files[row],
                    episodes.where(row),
                    "bad_episode_range",
                    f"expected dataset_from_index {previous_stop} (the previous episode's"
                    f" dataset_to_index) and dataset_to_index >= it, got [{start}, {stop});"
                    " episodes must cover the rows 0..N-1 back to back",
                )
            previous_stop = stop
            length = columns["length"][row]
            if length is not None and int(length) != stop - start:
                self.report(
                    episodes.files[row],
                    episodes.where(row),
                    "bad_length",
                    f"expected length {stop - start} (dataset_to_index - dataset_from_index),"
                    f" got {length}",
                )

    # --- data/*/*.parquet -----------------------------------------------------------------

    def check_data(
        self,
        features: Features,
        fps: float | None,
        tasks: list[str] | None,
        episodes: _EpisodeRows | None,
    ) -> _DataSummary:
        """Stream the data files: columns, types, index, frame numbering, timestamps, tasks."""
        summary = _DataSummary()
        if episodes is not None:
            self.check_referenced_data_files(episodes, summary)
        files = data_files(self.root)
        if not files:
            self.report(
                "data", "", "missing_file", "no data/*/*.parquet files; the loader needs them"
            )
            summary.complete = False
            return summary
        expected = data_column_names(features)
        expected += [name for name in DEFAULT_FEATURE_NAMES if name not in expected]
        state = _RowState()
        self.start_phase("Checking data files", len(files))
        for path in files:
            self.check_data_file(path, features, expected, fps, tasks, summary, state)
            self.advance()
        self.finish_phase()
        if summary.complete:
            self.problems.extend(summary.index_problems)
        return summary

    def check_referenced_data_files(self, episodes: _EpisodeRows, summary: _DataSummary) -> None:
        missing: dict[str, list[str]] = {}
        chunks = episodes.columns["data/chunk_index"]
        file_numbers = episodes.columns["data/file_index"]
        for row in range(episodes.num_rows):
            if chunks[row] is None or file_numbers[row] is None:
                continue
            relative = data_file_path((int(chunks[row]), int(file_numbers[row])))
            if not (self.root / relative).is_file():
                missing.setdefault(relative, []).append(episodes.where(row))
        for relative, where in missing.items():
            summary.complete = False
            self.report(
                relative,
                where[0],
                "missing_file",
                f"referenced by {_list_episodes(where)} but missing; without it the loader"
                " goes to the Hub; restore the file or delete those episodes",
            )

    def check_data_file(
        self,
        path: Path,
        features: Features,
        expected: list[str],
        fps: float | None,
        tasks: list[str] | None,
        summary: _DataSummary,
        state: _RowState,
    ) -> None:
        relative = self.relative(path)
        try:
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow
        except _PARQUET_ERRORS as exc:
            self.report(relative, "", "corrupt_parquet", f"cannot read Parquet ({exc})")
            summary.complete = False
            return
        names = schema.names
        for name in names:
            if name not in expected:
                self.report(
                    relative,
                    name,
                    "extra_column",
                    f"column {name!r} is not a feature in meta/info.json; the loader's cast"
                    " fails on it; drop the column or declare the feature",
                )
        for name in expected:
            if name not in names:
                self.report(
                    relative,
                    name,
                    "missing_column",
                    f"expected column {name!r} (a non-video feature), got none",
                )
            else:
                self.check_column_type(relative, name, schema.field(name).type, features)
        if "episode_index" not in names:
            summary.complete = False
            return
        columns = [name for name in _ROW_COLUMNS if name in names]
        if self.decode:
            columns = list(names)
        try:
            for group in range(parquet.metadata.num_row_groups):
                table = parquet.read_row_group(group, columns=columns)
                self.check_rows(relative, table, fps, tasks, summary, state)
                if self.decode:
                    self.check_images(relative, table, features)
        except _PARQUET_ERRORS as exc:
            self.report(relative, "", "corrupt_parquet", f"cannot read Parquet ({exc})")
            summary.complete = False

    def check_column_type(
        self, relative: str, name: str, actual: pa.DataType, features: Features
    ) -> None:
        feature = features.get(name, DEFAULT_FEATURES.get(name))
        if not isinstance(feature, dict):
            return
        expected = _type_mismatch(actual, feature)
        if expected is not None:
            self.report(
                relative,
                name,
                "bad_column_type",
                f"expected {expected} for dtype {feature.get('dtype')!r} shape"
                f" {feature.get('shape')}, got Arrow type {actual}; the loader cannot cast it",
            )

    def check_rows(
        self,
        relative: str,
        table: pa.Table,
        fps: float | None,
        tasks: list[str] | None,
        summary: _DataSummary,
        state: _RowState,
    ) -> None:
        """Index, frame numbering, timestamps and tasks of one row group."""
        count = table.num_rows
        if count == 0:
            return
        start = summary.total_rows
        positions = np.arange(start, start + count, dtype=np.int64)
        values = {
            name: self.column_numpy(relative, table, name)
            for name in _ROW_COLUMNS
            if name in table.column_names
        }
        episode = values["episode_index"].astype(np.int64)
        previous = np.empty(count, dtype=np.int64)
        previous[0] = state.episode
        previous[1:] = episode[:-1]
        run_starts = episode != previous
        run_start_rows = np.where(run_starts, positions, -1)
        run_start_rows[0] = positions[0] if run_starts[0] else state.run_start
        run_start_rows = np.maximum.accumulate(run_start_rows)
        frame_position = positions - run_start_rows
        self.track_spans(relative, episode, run_starts, positions, values, summary, state)
        if "index" in values and relative not in state.index_reported:
            wrong = np.flatnonzero(values["index"] != positions)
            if len(wrong):
                state.index_reported.add(relative)
                row = int(wrong[0])
                got = int(values["index"][row])
                what = "a duplicate" if got < positions[row] else "a gap"
                summary.index_problems.append(
                    Problem(
                        file=relative,
                        loc=f"episode {int(episode[row])}",
                        kind="index_not_contiguous",
                        message=f"row {int(positions[row])} (frame {int(frame_position[row])}):"
                        f" expected index {int(positions[row])}, got {got} ({what}); index must"
                        " be the row position 0..N-1 across data files in sorted order;"
                        " the data rows are out of order or missing; this dataset must be regenerated or repaired",
                    )
                )
        if "frame_index" in values:
            wrong_rows = np.flatnonzero(values["frame_index"] != frame_position)
            for row in _first_per_episode(episode, wrong_rows, state.frame_reported):
                self.report(
                    relative,
                    f"episode {int(episode[row])}",
                    "bad_frame_index",
                    f"frame {int(frame_position[row])} (row {int(positions[row])}): expected"
                    f" frame_index {int(frame_position[row])}, got {int(values['frame_index'][row])};"
                    " frame_index must run 0..length-1 within each episode",
                )
        if "timestamp" in values and fps is not None:
            timestamps = values["timestamp"]
            # Compare with the value as the writer stored it: float32 rounding alone exceeds
            # 1e-4 s past 2048 s (FORMAT.md §3.4), and that is no fault of the file.
            expected_time = (frame_position / fps).astype(timestamps.dtype).astype(np.float64)
            timestamps = timestamps.astype(np.float64)
            wrong_rows = np.flatnonzero(~(np.abs(timestamps - expected_time) <= TOLERANCE_S))
            for row in _first_per_episode(episode, wrong_rows, state.time_reported):
                self.report(
                    relative,
                    f"episode {int(episode[row])}",
                    "bad_timestamp",
                    f"frame {int(frame_position[row])} (row {int(positions[row])}): expected"
                    f" timestamp {expected_time[row]:.6f} (frame_index / fps), got"
                    f" {timestamps[row]:.6f}; video frames are looked up at this time, so the"
                    " loader raises FrameTimestampError; recompute the column",
                )
        if "task_index" in values and tasks is not None:
            task_index = values["task_index"]
            wrong_rows = np.flatnonzero((task_index < 0) | (task_index >= len(tasks)))
            for row in _first_per_episode(episode, wrong_rows, state.task_reported):
                self.report(
                    relative,
                    f"episode {int(episode[row])}",
                    "unknown_task_index",
                    f"frame {int(frame_position[row])} (row {int(positions[row])}): expected a"
                    f" task_index in 0..{len(tasks) - 1} (rows of meta/tasks.parquet), got"
                    f" {int(task_index[row])}; add the task or fix the frame's task_index",
                )
        state.episode = int(episode[-1])
        state.run_start = int(run_start_rows[-1])
        summary.total_rows += count

    def column_numpy(self, relative: str, table: pa.Table, name: str) -> npt.NDArray[Any]:
        """A scalar index column as numpy; nulls are reported and read as -1."""
        column = table.column(name)
        if column.null_count:
            self.report(
                relative,
                name,
                "missing_value",
                f"expected no nulls in {name!r}, got {column.null_count}",
            )
            column = pc.fill_null(column, -1)
        if pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type):
            column = pc.list_flatten(column)
        return np.asarray(column.to_numpy())

    def track_spans(
        self,
        relative: str,
        episode: npt.NDArray[np.int64],
        run_starts: npt.NDArray[np.bool_],
        positions: npt.NDArray[np.int64],
        values: dict[str, npt.NDArray[Any]],
        summary: _DataSummary,
        state: _RowState,
    ) -> None:
        """Record each episode's row range and tasks; report episodes split into several runs."""
        boundaries = [0, *np.flatnonzero(run_starts[1:]) + 1, len(episode)]
        task_index = values.get("task_index")
        for first, stop in itertools.pairwise(boundaries):
            if first == stop:
                continue
            value = int(episode[first])
            span = summary.spans.get(value)
            if run_starts[first]:
                if span is not None and value not in state.split_reported:
                    state.split_reported.add(value)
                    self.report(
                        relative,
                        f"episode {value}",
                        "episode_not_contiguous",
                        f"rows of episode {value} appear again at row {int(positions[first])}"
                        f" after rows {span.first_row}..{span.stop_row - 1} in {span.file};"
                        " an episode's rows must be contiguous",
                    )
                if span is None:
                    span = _Span(file=relative, first_row=int(positions[first]), stop_row=0)
                    summary.spans[value] = span
            assert span is not None
            if span.file != relative and value not in state.split_reported:
                state.split_reported.add(value)
                self.report(
                    relative,
                    f"episode {value}",
                    "episode_not_contiguous",
                    f"episode {value} starts in {span.file} and continues in {relative}; an"
                    " episode must lie in one data file",
                )
            span.stop_row = int(positions[stop - 1]) + 1
            if task_index is not None:
                span.task_indices.update(int(t) for t in np.unique(task_index[first:stop]))

    def check_images(self, relative: str, table: pa.Table, features: Features) -> None:
        """decode=True: every embedded image decodes, at the feature's height and width."""
        episode = table.column("episode_index").to_pylist()
        frame = (
            table.column("frame_index").to_pylist()
            if "frame_index" in table.column_names
            else [None] * table.num_rows
        )
        for key in image_keys(features):
            if key not in table.column_names:
                continue
            column = table.column(key)
            reported: set[Any] = set()
            for row, cell in enumerate(column.to_pylist()):
                if episode[row] in reported:
                    continue
                error = _image_error(cell, features[key])
                if error is not None:
                    reported.add(episode[row])
                    self.report(
                        relative,
                        f"episode {episode[row]}",
                        "undecodable_image",
                        f"{key} at frame {frame[row]}: {error}",
                    )

    # --- episode rows against the data -----------------------------------------------------

    def check_against_data(
        self, episodes: _EpisodeRows | None, summary: _DataSummary, tasks: list[str] | None
    ) -> None:
        if episodes is None:
            return
        columns = episodes.columns
        listed: set[int] = set()
        for row in range(episodes.num_rows):
            episode = episodes.episode_index(row)
            if any(columns[name][row] is None for name in _CORE_EPISODE_COLUMNS):
                continue
            assert episode is not None
            listed.add(episode)
            span = summary.spans.get(episode)
            data_file = _position_path(
                columns["data/chunk_index"][row], columns["data/file_index"][row]
            )
            if span is None:
                if summary.complete:
                    self.report(
                        episodes.files[row],
                        f"episode {episode}",
                        "episode_without_data",
                        f"expected data rows with episode_index {episode}, got none; delete the"
                        " episode row or restore its data",
                    )
                continue
            start, stop = columns["dataset_from_index"][row], columns["dataset_to_index"][row]
            if (
                summary.complete
                and row not in self.range_reported
                and (span.first_row, span.stop_row) != (start, stop)
            ):
                self.report(
                    episodes.files[row],
                    f"episode {episode}",
                    "bad_episode_range",
                    f"expected [dataset_from_index, dataset_to_index) = [{span.first_row},"
                    f" {span.stop_row}) (the episode's rows in the data), got [{start}, {stop})",
                )
            if data_file is not None and data_file != span.file:
                self.report(
                    episodes.files[row],
                    f"episode {episode}",
                    "wrong_data_file",
                    f"expected data/chunk_index, data/file_index to name {span.file} (which"
                    f" holds the episode's rows), got {data_file}",
                )
            listed_tasks = columns["tasks"][row]
            if listed_tasks is not None and tasks is not None:
                used = {tasks[t] for t in span.task_indices if 0 <= t < len(tasks)}
                if used != set(listed_tasks):
                    self.report(
                        episodes.files[row],
                        f"episode {episode}",
                        "episode_tasks_mismatch",
                        f"expected tasks {sorted(used)} (those its frames use), got"
                        f" {sorted(listed_tasks)}; the tools rely on this column",
                    )
        for episode in sorted(set(summary.spans) - listed):
            span = summary.spans[episode]
            self.report(
                span.file,
                f"episode {episode}",
                "unknown_episode",
                f"rows {span.first_row}..{span.stop_row - 1} have episode_index {episode}, which"
                " no episode row lists; add the row or delete these frames",
            )

    def check_totals(
        self,
        info: dict[str, Any],
        episodes: _EpisodeRows | None,
        summary: _DataSummary,
        tasks: list[str] | None,
    ) -> None:
        actual: dict[str, tuple[int | None, str]] = {
            "total_episodes": (
                episodes.num_rows if episodes is not None else None,
                "episode rows",
            ),
            "total_frames": (summary.total_rows if summary.complete else None, "data rows"),
            "total_tasks": (len(tasks) if tasks is not None else None, "tasks"),
        }
        for key, (count, what) in actual.items():
            # A missing total reads as 0 in 0.6.1's DatasetInfo, so len(dataset) would be 0.
            value = info.get(key, 0)
            if count is None or not isinstance(value, int) or isinstance(value, bool):
                continue
            if value != count:
                got = value if key in info else "none (read as 0)"
                self.report(
                    INFO_PATH,
                    key,
                    "wrong_total",
                    f"expected {count} (the dataset has {count} {what}), got {got}; set"
                    f" {key} to {count}",
                )

    # --- meta/stats.json ------------------------------------------------------------------

    def check_stats(self, features: Features) -> None:
        path = self.root / STATS_PATH
        if not path.is_file():
            self.report(
                STATS_PATH,
                "",
                "missing_file",
                "meta/stats.json is missing; the dataset loads but policies cannot normalize"
                " and merge fails; recompute the stats",
            )
            return
        try:
            stats = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
            self.report(STATS_PATH, "", "invalid_json", f"cannot parse JSON ({exc})")
            return
        self.problems.extend(validate_stats(stats, features))

    # --- videos ---------------------------------------------------------------------------

    def check_videos(
        self,
        info: dict[str, Any],
        features: Features,
        fps: float,
        episodes: _EpisodeRows | None,
    ) -> None:
        """Per video file: exists, demuxes, agrees with the feature, holds each episode's window."""
        if episodes is None:
            return
        declared = info.get("video_path")
        template = (
            declared
            if isinstance(declared, str) and _is_video_template(declared)
            else VIDEO_PATH_TEMPLATE
        )
        windows: dict[tuple[str, str], list[_Window]] = {}
        for key in video_keys(features):
            if key in episodes.skipped_video_keys:
                continue
            chunk_column, file_column, from_column, to_column = video_columns(key)
            for row in range(episodes.num_rows):
                cells = [episodes.columns[c][row] for c in video_columns(key)]
                start = episodes.columns["dataset_from_index"][row]
                stop = episodes.columns["dataset_to_index"][row]
                if start is None or stop is None:
                    continue  # reported by check_episode_rows
                if None in cells:
                    self.report(
                        episodes.files[row],
                        episodes.where(row),
                        "missing_value",
                        f"expected values in {[chunk_column, file_column, from_column, to_column]},"
                        f" got {cells}",
                    )
                    continue
                relative = template.format(
                    video_key=key, chunk_index=int(cells[0]), file_index=int(cells[1])
                )
                windows.setdefault((key, relative), []).append(
                    _Window(
                        episode=episodes.where(row),
                        from_timestamp=float(cells[2]),
                        to_timestamp=float(cells[3]),
                        frames=int(stop) - int(start),
                    )
                )
        self.start_phase("Checking videos", len(windows))
        for (key, relative), file_windows in windows.items():
            check = functools.partial(
                self.check_video_file, key, relative, file_windows, features[key], fps
            )
            self.guarded(relative, None, check)
            self.advance()
        self.finish_phase()

    def check_video_file(
        self,
        key: str,
        relative: str,
        windows: list[_Window],
        feature: dict[str, Any],
        fps: float,
    ) -> None:
        path = self.root / relative
        if not path.is_file():
            self.report(
                relative,
                windows[0].episode,
                "missing_file",
                f"{key}: referenced by {_list_episodes([w.episode for w in windows])} but"
                " missing; without it the loader goes to the Hub; restore the file",
            )
            return
        try:
            index = read_packet_index(path)
        except (RobospliceError, OSError) as exc:
            self.report(relative, windows[0].episode, "corrupt_video", f"{key}: {exc}")
            return
        self.check_stream(key, relative, index, feature)
        frames = _DisplayFrames(index)
        # Windows that do not start on a frame are reported already; overlap would repeat it.
        aligned = [w for w in windows if self.check_window(key, relative, frames, w, fps)]
        ordered = sorted(aligned, key=lambda w: w.from_timestamp)
        for before, after in itertools.pairwise(ordered):
            if after.from_timestamp < before.to_timestamp - TOLERANCE_S:
                self.report(
                    relative,
                    after.episode,
                    "video_windows_overlap",
                    f"{key}: window [{after.from_timestamp:.6f}, {after.to_timestamp:.6f}) s"
                    f" overlaps {before.episode}'s [{before.from_timestamp:.6f},"
                    f" {before.to_timestamp:.6f}) s; one of them points at the other's frames"
                    " (a window shifted by whole frames loads without error but shows the wrong"
                    " frames); fix from_timestamp/to_timestamp",
                )
        if self.decode:
            self.check_decode(key, relative, path, index.num_packets)

    def check_stream(
        self, key: str, relative: str, index: PacketIndex, feature: dict[str, Any]
    ) -> None:
        """The stream's fps, size and codec agree with the feature's `info` and shape."""
        facts = index.facts
        video_info = feature.get("info")
        got: dict[str, Any] = {
            "video.height": facts.height,
            "video.width": facts.width,
            "video.codec": facts.codec,
        }
        if index.average_rate is not None:
            got["video.fps"] = index.average_rate
        if isinstance(video_info, dict):
            for name, value in got.items():
                declared = video_info.get(name)
                if declared is None:
                    continue
                if name == "video.fps":
                    same = _is_number(declared) and abs(float(declared) - float(value)) < 1e-3
                else:
                    same = declared == value
                if not same:
                    shown = f"{float(value):g}" if name == "video.fps" else value
                    self.report(
                        relative,
                        f"features.{key}.info.{name}",
                        "video_info_mismatch",
                        f"expected {declared!r} (meta/info.json), got {shown} in the file;"
                        " re-probe the feature info or re-encode the video",
                    )
        size = _height_width(feature)
        if size is not None:
            height, width = size
            if (height, width) != (facts.height, facts.width):
                self.report(
                    relative,
                    f"features.{key}.shape",
                    "video_info_mismatch",
                    f"expected frames of {height}x{width} (height x width, from the feature's"
                    f" shape), got {facts.height}x{facts.width}; fix the shape",
                )

    def check_window(
        self, key: str, relative: str, frames: _DisplayFrames, window: _Window, fps: float
    ) -> bool:
        """FORMAT.md §2.3.6: `frames` frames at from + k/fps, within 1e-4 s, and to - from.

        Returns:
            Whether the window starts on a frame.
        """
        if window.frames <= 0:
            return True
        start = window.from_timestamp
        duration_ok = abs((window.to_timestamp - start) - window.frames / fps) <= TOLERANCE_S
        if not duration_ok:
            self.report(
                relative,
                window.episode,
                "video_window_duration",
                f"{key}: expected to_timestamp - from_timestamp = {window.frames}/{fps:g} ="
                f" {window.frames / fps:.6f} s (length / fps), got"
                f" {window.to_timestamp - start:.6f} s ([{start:.6f}, {window.to_timestamp:.6f}))",
            )
        if frames.count == 0:
            self.report(
                relative, window.episode, "video_too_short", f"{key}: the file has no frames"
            )
            return False
        targets = start + np.arange(window.frames) / fps
        nearest, error = frames.nearest(targets)
        wrong = np.flatnonzero(~(error <= TOLERANCE_S))
        if len(wrong):
            k = int(wrong[0])
            got_time = frames.times[nearest[k]]
            if k == 0:
                self.report(
                    relative,
                    window.episode,
                    "video_window_start",
                    f"{key}: expected a frame at from_timestamp {start:.6f} s (within"
                    f" {TOLERANCE_S:g} s), got the nearest at {got_time:.6f} s; the loader raises"
                    " FrameTimestampError; set from_timestamp to the episode's first frame pts",
                )
            elif targets[k] > frames.times[-1] + TOLERANCE_S:
                self.report(
                    relative,
                    window.episode,
                    "video_too_short",
                    f"{key}: expected {window.frames} frames from {start:.6f} s (up to"
                    f" {targets[-1]:.6f} s), got {k} before the file ends at"
                    f" {frames.times[-1]:.6f} s; the video is truncated or the window wrong",
                )
            else:
                self.report(
                    relative,
                    window.episode,
                    "video_frame_spacing",
                    f"{key}: expected frame {k} at {targets[k]:.6f} s (from_timestamp + {k}/{fps:g}),"
                    f" got the nearest at {got_time:.6f} s; the video is not constant-rate at"
                    " fps here",
                )
        elif duration_ok:
            inside = frames.count_between(start - TOLERANCE_S, window.to_timestamp - TOLERANCE_S)
            if inside != window.frames:
                self.report(
                    relative,
                    window.episode,
                    "video_window_frames",
                    f"{key}: expected {window.frames} frames in [{start:.6f},"
                    f" {window.to_timestamp:.6f}) s, got {inside}",
                )
        if not len(wrong) or wrong[0] > 0:
            position = int(frames.order[nearest[0]])
            if frames.last_keyframe[position] < 0:
                self.report(
                    relative,
                    window.episode,
                    "no_keyframe",
                    f"{key}: expected a keyframe at or before the first frame"
                    f" ({start:.6f} s, packet {position} in decode order), got none; the"
                    " frame cannot be decoded; re-encode the episode",
                )
        return not len(wrong) or wrong[0] > 0

    def check_decode(self, key: str, relative: str, path: Path, packets: int) -> None:
        """decode=True: PyAV decodes every frame of the file."""
        decoded = 0
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for _ in container.decode(stream):
                    decoded += 1
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            self.report(
                relative,
                "",
                "undecodable_video",
                f"{key}: decoding stopped after {decoded} of {packets} frames"
                f" ({exc.__class__.__name__}: {exc})",
            )
            return
        if decoded != packets:
            self.report(
                relative,
                "",
                "undecodable_video",
                f"{key}: expected {packets} decoded frames (one per packet), got {decoded}",
            )

    # --- helpers --------------------------------------------------------------------------

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def start_phase(self, description: str, total: int) -> None:
        if self.progress is not None:
            self.progress.start(description, total)

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(1)

    def finish_phase(self) -> None:
        if self.progress is not None:
            self.progress.finish()


@dataclass(slots=True)
class _RowState:
    """What streaming the data rows carries from one row group to the next."""

    episode: int = _NO_EPISODE
    run_start: int = 0
    index_reported: set[str] = field(default_factory=set)
    frame_reported: set[int] = field(default_factory=set)
    time_reported: set[int] = field(default_factory=set)
    task_reported: set[int] = field(default_factory=set)
    split_reported: set[int] = field(default_factory=set)


class _DisplayFrames:
    """A file's frames in display order: times in seconds, decode positions, keyframes."""

    def __init__(self, index: PacketIndex) -> None:
        self.order = index.display_order()
        time_base = float(index.facts.time_base)
        self.times: npt.NDArray[np.float64] = index.pts[self.order].astype(np.float64) * time_base
        self.count = len(self.times)
        positions = np.arange(index.num_packets)
        # For each decode position, the last keyframe at or before it (-1: none).
        self.last_keyframe = np.maximum.accumulate(np.where(index.keyframe, positions, -1))

    def nearest(
        self, targets: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        """Display positions of the frames nearest to `targets`, and their distance in seconds."""
        after = np.clip(np.searchsorted(self.times, targets), 0, self.count - 1)
        before = np.clip(after - 1, 0, self.count - 1)
        after_error = np.abs(self.times[after] - targets)
        before_error = np.abs(self.times[before] - targets)
        use_before = before_error < after_error
        nearest = np.where(use_before, before, after)
        return nearest, np.where(use_before, before_error, after_error)

    def count_between(self, low: float, high: float) -> int:
        """Frames with low <= time < high."""
        return int(np.searchsorted(self.times, high) - np.searchsorted(self.times, low))


def _feature_problems(features: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []

    def report(loc: str, kind: str, message: str) -> None:
        problems.append(Problem(file=INFO_PATH, loc=loc, kind=kind, message=message))

    for name, feature in features.items():
        loc = f"features.{name}"
        if "/" in name:
            report(
                loc,
                "bad_feature",
                f"feature name {name!r} contains '/', which breaks the stats/<name>/<stat>"
                " columns; rename it",
            )
        if not isinstance(feature, dict):
            report(loc, "bad_feature", f"expected an object, got {feature!r}")
            continue
        dtype = feature.get("dtype")
        if not isinstance(dtype, str):
            report(f"{loc}.dtype", "bad_feature", f"expected a dtype string, got {dtype!r}")
        shape = feature.get("shape")
        if not (
            isinstance(shape, list)
            and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
        ):
            report(f"{loc}.shape", "bad_feature", f"expected a list of sizes > 0, got {shape!r}")
        elif dtype in VISUAL_DTYPES and len(shape) != 3:
            report(
                f"{loc}.shape",
                "bad_feature",
                f"expected [height, width, channels] for a {dtype} feature, got {shape}",
            )
    for name, default in DEFAULT_FEATURES.items():
        feature = features.get(name)
        if feature is None:
            report(
                f"features.{name}",
                "missing_feature",
                f"expected the default feature {name!r} ({default['dtype']}, shape"
                f" {default['shape']}), got none; add it",
            )
        elif isinstance(feature, dict) and (
            feature.get("dtype") != default["dtype"] or feature.get("shape") != default["shape"]
        ):
            report(
                f"features.{name}",
                "bad_feature",
                f"expected dtype {default['dtype']!r} shape {default['shape']}, got dtype"
                f" {feature.get('dtype')!r} shape {feature.get('shape')!r}",
            )
    return problems


def _template_problems(info: dict[str, Any], features: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    data_path = info.get("data_path")
    if data_path is None:
        problems.append(
            Problem(
                file=INFO_PATH,
                loc="data_path",
                kind="missing_field",
                message=f"data_path is missing; set it to {DATA_PATH_TEMPLATE!r}",
            )
        )
    elif data_path != DATA_PATH_TEMPLATE:
        problems.append(
            Problem(
                file=INFO_PATH,
                loc="data_path",
                kind="bad_path_template",
                message=f"expected {DATA_PATH_TEMPLATE!r} (the loader globs data/*/*.parquet and"
                f" the tools hard-code it), got {data_path!r}",
            )
        )
    has_video = any(isinstance(f, dict) and f.get("dtype") == "video" for f in features.values())
    video_path = info.get("video_path")
    if not has_video:
        return problems
    if video_path is None:
        problems.append(
            Problem(
                file=INFO_PATH,
                loc="video_path",
                kind="missing_field",
                message="video_path is missing but there are video features; the loader finds"
                f" the mp4 files with it; set it to {VIDEO_PATH_TEMPLATE!r}",
            )
        )
    elif video_path != VIDEO_PATH_TEMPLATE:
        usable = "" if _is_video_template(video_path) else " (it does not even format)"
        problems.append(
            Problem(
                file=INFO_PATH,
                loc="video_path",
                kind="bad_path_template",
                message=f"expected {VIDEO_PATH_TEMPLATE!r} (the tools hard-code it), got"
                f" {video_path!r}{usable}",
            )
        )
    return problems


def _is_video_template(template: object) -> bool:
    if not isinstance(template, str):
        return False
    try:
        template.format(video_key="k", chunk_index=0, file_index=0)
    except (KeyError, IndexError, ValueError):
        return False
    return "{video_key" in template


def _is_number(value: object) -> TypeIs[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _expected_stat_shapes(feature: dict[str, Any]) -> set[tuple[int, ...]]:
    """FORMAT.md §4.1: the shapes a feature's stats may have (bar `count`)."""
    shape = tuple(int(s) for s in feature.get("shape") or ())
    if feature.get("dtype") in VISUAL_DTYPES:
        channels = {shape[-1], shape[0]} if shape else {3}
        return {(c, 1, 1) for c in channels}
    if len(shape) <= 1:
        return {shape or (1,)}
    # The official code reshapes to (-1, last_dim): stats per last axis; the full shape also loads.
    return {(shape[-1],), shape}


def _stat_shape(value: object) -> tuple[int, ...] | None:
    try:
        array = np.atleast_1d(np.array(value))
    except ValueError:
        return None
    if array.dtype.kind not in "biuf":
        return None
    return tuple(int(s) for s in array.shape)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pandas_metadata(schema: pa.Schema) -> dict[str, Any] | None:
    raw = (schema.metadata or {}).get(b"pandas")
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _type_mismatch(actual: pa.DataType, feature: Mapping[str, Any]) -> str | None:
    """What a column of `feature` should be, when `actual` cannot be cast to it; else None."""
    dtype = feature.get("dtype")
    if dtype == "image":
        if pa.types.is_struct(actual) and actual.get_field_index("bytes") >= 0:
            return None
        return "struct<bytes: binary, path: string>"
    if dtype == "string":
        ok = pa.types.is_string(actual) or pa.types.is_large_string(actual)
        return None if ok else "string"
    if not isinstance(dtype, str) or dtype in NON_STATS_DTYPES or dtype in VISUAL_DTYPES:
        return None
    try:
        scalar_arrow_type(dtype)
    except ValueError:
        return None
    shape = [int(s) for s in feature.get("shape") or ()]
    dims = [] if shape in ([], [1]) else shape
    data_type = actual.storage_type if isinstance(actual, pa.ExtensionType) else actual
    sizes: list[int | None] = []
    while (
        pa.types.is_list(data_type)
        or pa.types.is_large_list(data_type)
        or pa.types.is_fixed_size_list(data_type)
    ):
        sizes.append(data_type.list_size if pa.types.is_fixed_size_list(data_type) else None)
        data_type = data_type.value_type
    numeric = (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_boolean(data_type)
    )
    fits = len(sizes) == len(dims) and all(
        size is None or size == dim for size, dim in zip(sizes, dims, strict=False)
    )
    if numeric and fits:
        return None
    expected = dtype
    for dim in reversed(dims):
        expected = f"list<{expected}>[{dim}]"
    return expected


def _first_per_episode(
    episode: npt.NDArray[np.int64], rows: npt.NDArray[np.intp], reported: set[int]
) -> list[int]:
    """The first of `rows` in each episode not reported yet; marks those episodes reported."""
    if not len(rows):
        return []
    values, first = np.unique(episode[rows], return_index=True)
    result = []
    for value, position in sorted(
        zip(values.tolist(), first.tolist(), strict=True), key=lambda p: p[1]
    ):
        if value in reported:
            continue
        reported.add(value)
        result.append(int(rows[position]))
    return result


def _position_path(chunk: object, file: object) -> str | None:
    if not isinstance(chunk, int) or not isinstance(file, int):
        return None
    return data_file_path((chunk, file))


def _list_episodes(where: Iterable[str]) -> str:
    names = list(where)
    if len(names) == 1:
        return names[0]
    numbers = [name.removeprefix("episode ") for name in names]
    shown = ", ".join(numbers[:10]) + (", ..." if len(numbers) > 10 else "")
    return f"episodes [{shown}]"


def _image_error(cell: object, feature: Mapping[str, Any]) -> str | None:
    """Why an image cell does not decode to the feature's size, or None."""
    data = cell.get("bytes") if isinstance(cell, dict) else cell
    if not isinstance(data, (bytes, bytearray)) or not data:
        return f"expected encoded image bytes, got {_short(cell)}"
    try:
        with av.open(io.BytesIO(bytes(data)), mode="r") as container:
            frame = next(container.decode(video=0), None)
    except (av.error.FFmpegError, OSError, ValueError, StopIteration) as exc:
        return f"cannot decode the image ({exc.__class__.__name__}: {exc})"
    if frame is None:
        return "the image holds no frame"
    size = _height_width(feature)
    if size is not None:
        height, width = size
        if (frame.height, frame.width) != (height, width):
            return f"expected {height}x{width} pixels, got {frame.height}x{frame.width}"
    return None


def _height_width(feature: Mapping[str, Any]) -> tuple[int, int] | None:
    """A camera's frame size from its shape: HWC, or CHW when `names` starts with channels."""
    shape = feature.get("shape")
    if not isinstance(shape, list) or len(shape) != 3:
        return None
    names = feature.get("names")
    if isinstance(names, list) and names and names[0] in ("channel", "channels"):
        return int(shape[1]), int(shape[2])
    return int(shape[0]), int(shape[1])
