"""What a v2.x folder written by someone else's converter needs to become a valid v3.0 dataset.

The rule (issue 21): the output says what the author's files unambiguously say. Rows pair with
video frames by position; what follows from position is derived (`index`, `frame_index`,
`episode_index`, `task_index` of a one-task episode, `timestamp` = frame_index / fps); columns the
author wrote but did not declare are declared from their stored Arrow types; and nothing the
author wrote is lost: timestamps that are rewritten are kept as `observation.timestamp_source`,
and a column stored in another dtype than declared is cast only where every value survives the
cast (else the stored dtype is declared).

`scan_v2_repairs` reads the info, each episode file's schema, its timestamp column and any column
stored in another dtype than declared (nothing else), and says every repair once per class with a
count; `repair_episode_table` applies them to one episode's rows. What cannot be decided (an
episode with several tasks and no `task_index`) is refused, naming the episode and the way out.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.errors import InvalidDatasetError, Problem, VideoError
from robosplice.format.info import DEFAULT_FEATURES, Features, Info, video_keys
from robosplice.format.schema import dtype_of_arrow, leaf_type
from robosplice.format.timing import TOLERANCE_S
from robosplice.format.v21 import V2Source, carried_files, owned_v2_files, v2_extra_layout_files
from robosplice.format.video import read_packet_index

TIMESTAMP_SOURCE: Final = "observation.timestamp_source"
OS_JUNK: Final = (".DS_Store", "Thumbs.db", "desktop.ini")
_POSITIONAL: Final = ("index", "frame_index", "episode_index")


@dataclass(frozen=True, slots=True, kw_only=True)
class V2Repairs:
    """The repairs a v2.x source needs (empty when it is what lerobot's recorder writes).

    Args:
        declared: features added to info.json (bookkeeping entries it lacked, undeclared columns).
        derived: bookkeeping columns some episode files lack, rebuilt from position.
        rewrite_timestamps: timestamps are not frame_index / fps (or not exactly the declared
            dtype): rewritten, the stored ones kept as `observation.timestamp_source` in their
            stored dtype (`timestamp_dtype`).
        redeclared: features whose stored values the declared dtype cannot hold exactly,
            declared as stored instead (name -> stored dtype).
        derive_stats: per-episode stats are rebuilt from the rows (no episodes_stats.jsonl).
        messages: one line per repair class, for --dry-run, the report and the edit log.
    """

    declared: dict[str, dict[str, Any]] = field(default_factory=dict)
    derived: frozenset[str] = frozenset()
    rewrite_timestamps: bool = False
    timestamp_dtype: str | None = None
    redeclared: dict[str, str] = field(default_factory=dict)
    derive_stats: bool = False
    dropped_cameras: tuple[str, ...] = ()
    codec_labels: dict[str, str] = field(default_factory=dict)
    left_out: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.messages)

    def repaired_info(self, info: Info) -> Info:
        """The source's info with the declared features added (the author's entries kept)."""
        fixed = copy.deepcopy(info)
        features: Features = fixed["features"]
        for name, feature in self.declared.items():
            features.setdefault(name, feature)
        for name, dtype in self.redeclared.items():
            features[name] = {**features[name], "dtype": dtype}
        if self.rewrite_timestamps and TIMESTAMP_SOURCE not in features:
            stored = (
                self.timestamp_dtype
                or features.get("timestamp", DEFAULT_FEATURES["timestamp"])["dtype"]
            )
            features[TIMESTAMP_SOURCE] = {"dtype": stored, "shape": [1], "names": None}
        for key in self.dropped_cameras:
            features.pop(key, None)
        for key, codec in self.codec_labels.items():
            features[key].setdefault("info", {})["video.codec"] = codec
        return fixed

    def repaired_source(self, source: V2Source) -> V2Source:
        """`source` as the conversion should see it: repaired info, stats of dropped cameras
        left out, stray files not converted."""
        episodes = [
            dataclasses.replace(
                episode,
                stats={k: v for k, v in episode.stats.items() if k not in self.dropped_cameras},
            )
            if episode.stats is not None
            else episode
            for episode in source.episodes
        ]
        return dataclasses.replace(
            source,
            info=self.repaired_info(source.info),
            episodes=episodes,
            left_out=tuple(source.left_out) + self.left_out,
        )


def _feature_of(arrow_type: pa.DataType, first: Any) -> dict[str, Any] | None:
    """A feature entry for a stored column, or None when its type is not one LeRobot declares."""
    shape: list[int] = []
    value_type = arrow_type
    sample = first
    while (
        pa.types.is_list(value_type)
        or pa.types.is_large_list(value_type)
        or (pa.types.is_fixed_size_list(value_type))
    ):
        if pa.types.is_fixed_size_list(value_type):
            shape.append(value_type.list_size)
        else:
            if not isinstance(sample, list):
                return None
            shape.append(len(sample))
        sample = sample[0] if isinstance(sample, list) and sample else None
        value_type = value_type.value_type
    dtype = dtype_of_arrow(value_type)
    if dtype is None:
        return None
    return {"dtype": dtype, "shape": shape or [1], "names": None}


def inexact_values(column: pa.ChunkedArray | pa.Array, dtype: str) -> np.ndarray:
    """The stored values of `column` that do not survive a cast to `dtype` and back (empty when
    the cast is exact: every value, sign of zero and NaN included, round-trips)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    while True:
        if isinstance(array, pa.ExtensionArray):
            array = array.storage
        elif isinstance(array, (pa.ListArray, pa.LargeListArray, pa.FixedSizeListArray)):
            array = array.flatten()
        else:
            break
    values = np.asarray(array.drop_null().to_numpy(zero_copy_only=False))
    with np.errstate(over="ignore", invalid="ignore"):
        back = values.astype(np.dtype(dtype)).astype(values.dtype)
    same = (back == values) | (
        np.isnan(back) & np.isnan(values) if values.dtype.kind == "f" else False
    )
    if values.dtype.kind == "f":
        same &= np.signbit(back) == np.signbit(values)
    return values[~same]


def _count(n: int, what: str) -> str:
    return f"{n} episode{'s' if n != 1 else ''} {what}"


def scan_v2_repairs(
    source: V2Source, *, stats_missing: bool = False, unpaired: Collection[int] = ()
) -> V2Repairs:
    """Find every repair `source` needs, reading schemas, timestamps and packet indexes only.

    `unpaired`: episodes whose rows and video frames may disagree in number (repair leaves them
    out afterwards: `--drop-episodes`); any other such episode is refused with both counts.

    Raises:
        InvalidDatasetError: a repair cannot be decided (all such problems listed).
    """
    features = source.features
    declared: dict[str, dict[str, Any]] = {}
    lacking: dict[str, int] = {}
    undeclared: dict[str, str] = {}
    late_or_jittery = 0
    worst_s = 0.0
    mismatched: dict[str, _StoredAs] = {}
    problems: list[Problem] = []
    fps = float(source.info["fps"])
    for name in DEFAULT_FEATURES:
        if name not in features:
            declared[name] = dict(DEFAULT_FEATURES[name])
    for episode in source.episodes:
        path = source.data_path(episode.episode_index)
        if not path.is_file():
            continue  # the conversion's own file check names it
        schema = pq.read_schema(path)
        for name in DEFAULT_FEATURES:
            if name not in schema.names:
                lacking[name] = lacking.get(name, 0) + 1
        tasks = episode.row.get("tasks") or []
        if "task_index" not in schema.names and len(tasks) != 1:
            problems.append(
                Problem(
                    file=path.relative_to(source.root).as_posix(),
                    loc=f"episode {episode.episode_index}",
                    kind="undecidable_task_index",
                    message=(
                        f"no task_index column and {len(tasks)} tasks in meta/episodes.jsonl"
                        f" ({tasks!r}): which frame has which task is not written anywhere"
                    ),
                )
            )
        for name in schema.names:
            if name in features or name in declared or name in undeclared:
                continue
            first = pq.ParquetFile(path).read_row_group(0, columns=[name]).column(0)
            feature = _feature_of(schema.field(name).type, first[0].as_py() if len(first) else None)
            if feature is None:
                problems.append(
                    Problem(
                        file=path.relative_to(source.root).as_posix(),
                        loc=name,
                        kind="undeclarable_column",
                        message=f"a column of type {schema.field(name).type}, which no LeRobot"
                        " feature dtype holds",
                    )
                )
                undeclared[name] = "undeclarable"
                continue
            declared[name] = feature
            undeclared[name] = f"{feature['dtype']} {feature['shape']}"
        _scan_dtypes(path, schema, features, mismatched)
        if "timestamp" in schema.names:
            stamps = pq.read_table(path, columns=["timestamp"]).column(0).to_numpy()
            expected = np.arange(len(stamps)) / fps
            off = np.abs(stamps.astype(np.float64) - expected)
            if len(off) and off.max() > TOLERANCE_S:
                late_or_jittery += 1
                worst_s = max(worst_s, float(off.max()))
    camera_messages: list[str] = []
    dropped, labels = _scan_cameras(source, camera_messages, problems)
    problems += _unpaired_frames(source, dropped, frozenset(unpaired))
    left_out = _stray_files(source)
    if problems:
        raise InvalidDatasetError(
            f"{source.root}: {len(problems)} thing(s) cannot be repaired without guessing;"
            " nothing was written:",
            problems,
        )
    messages = []
    missing_entries = [n for n in DEFAULT_FEATURES if n in declared]
    if missing_entries:
        messages.append(f"info.json: declared the bookkeeping features {missing_entries}")
    for name, count in lacking.items():
        how = "frame_index / fps" if name == "timestamp" else "position"
        if name == "task_index":
            how = "each episode's one task"
        messages.append(f"data: {_count(count, f'lack `{name}`')}; derived from {how}")
    for name, what in undeclared.items():
        messages.append(f"info.json: declared `{name}`, stored in the data files ({what})")
    if late_or_jittery:
        messages.append(
            f"data: {_count(late_or_jittery, 'have timestamps that are not frame_index / fps')}"
            f" (up to {worst_s:.3f} s off); rewritten, the stored ones kept as `{TIMESTAMP_SOURCE}`"
        )
    redeclared, timestamp_dtype, inexact_timestamps = _resolve_dtypes(
        features, mismatched, messages
    )
    messages += camera_messages
    strays = [p for p in left_out if Path(p).name not in OS_JUNK]
    if strays:
        shown = ", ".join(strays[:3]) + (", …" if len(strays) > 3 else "")
        messages.append(
            f"files: {len(strays)} episode-like file(s) of episodes the metadata does not list"
            f" left out ({shown})"
        )
    if len(strays) < len(left_out):
        messages.append(f"files: {len(left_out) - len(strays)} OS file(s) (.DS_Store, …) left out")
    if stats_missing:
        messages.append(
            "meta: no episodes_stats.jsonl; per-episode stats computed from the rows (cameras"
            " from meta/stats.json where it has them)"
        )
    return V2Repairs(
        declared=declared,
        derived=frozenset(lacking),
        rewrite_timestamps=bool(late_or_jittery) or inexact_timestamps,
        timestamp_dtype=timestamp_dtype,
        redeclared=redeclared,
        derive_stats=stats_missing,
        dropped_cameras=tuple(dropped),
        codec_labels=labels,
        left_out=tuple(left_out),
        messages=tuple(messages),
    )


@dataclass(slots=True)
class _StoredAs:
    """How one declared feature is stored where its dtype differs from the declared one."""

    stored: set[str] = field(default_factory=set)
    episodes: int = 0
    inexact_episodes: int = 0
    example: tuple[int | float, str] | None = None  # a value the declared dtype cannot hold


def _is_numeric(dtype: object) -> bool:
    try:
        return isinstance(dtype, str) and np.dtype(dtype).kind in "iuf"
    except TypeError:
        return False


def _scan_dtypes(
    path: Path, schema: pa.Schema, features: Features, mismatched: dict[str, _StoredAs]
) -> None:
    """Note each declared numeric column of one episode file stored in another dtype, and
    whether its values survive the cast to the declared dtype."""
    for name in schema.names:
        declared = (features.get(name) or {}).get("dtype")
        if not _is_numeric(declared):
            continue
        stored = dtype_of_arrow(leaf_type(schema.field(name).type))
        if stored is None or stored == declared or not _is_numeric(stored):
            continue
        entry = mismatched.setdefault(name, _StoredAs())
        entry.stored.add(stored)
        entry.episodes += 1
        column = pq.ParquetFile(path).read(columns=[name], use_threads=False).column(0)
        wrong = inexact_values(column, str(declared))
        if len(wrong):
            entry.inexact_episodes += 1
            if entry.example is None:
                entry.example = (wrong[0].item(), path.name)


def _resolve_dtypes(
    features: Features, mismatched: dict[str, _StoredAs], messages: list[str]
) -> tuple[dict[str, str], str | None, bool]:
    """Where stored and declared dtypes differ, keep the values exactly (issue 21): cast to the
    declared dtype only where every value round-trips, else declare what is stored. Timestamps
    are the exception: they are rewritten as frame_index / fps in the declared dtype and the
    stored ones kept as `observation.timestamp_source` in their stored dtype.

    Returns the features to redeclare, the stored timestamp dtype and whether the stored
    timestamps must be kept because the declared dtype cannot hold them."""
    redeclared: dict[str, str] = {}
    timestamp_dtype: str | None = None
    inexact_timestamps = False
    for name, entry in mismatched.items():
        declared = features[name]["dtype"]
        stored = str(np.result_type(*sorted(entry.stored)))
        if name == "timestamp":
            timestamp_dtype = stored
        if not entry.inexact_episodes:
            messages.append(
                f"data: `{name}` is stored as {stored} in {_count(entry.episodes, '').rstrip()}"
                f" where info.json declares {declared}; cast to {declared} (every value exact)"
            )
            continue
        value, where = entry.example or (float("nan"), "?")
        cannot = (
            f"data: `{name}` is stored as {stored} in {_count(entry.episodes, '').rstrip()}"
            f" where info.json declares {declared}, with values {declared} cannot hold exactly in"
            f" {entry.inexact_episodes} (e.g. {value!r} in {where})"
        )
        if name == "timestamp":
            inexact_timestamps = True
            messages.append(
                f"{cannot}; written as frame_index / fps, the stored ones kept as"
                f" `{TIMESTAMP_SOURCE}` ({stored})"
            )
            continue
        redeclared[name] = stored
        messages.append(f"{cannot}; declared {stored}, values kept")
    return redeclared, timestamp_dtype, inexact_timestamps


def _scan_cameras(
    source: V2Source, messages: list[str], problems: list[Problem]
) -> tuple[list[str], dict[str, str]]:
    """Cameras declared with no file at all (dropped: nothing to lose; but refused, naming the
    folder, when same-named files lie elsewhere) and codec labels that disagree with the stream
    of the first episode (relabelled)."""
    dropped: list[str] = []
    labels: dict[str, str] = {}
    for key in video_keys(source.features):
        paths = [source.video_path(key, e.episode_index) for e in source.episodes]
        present = [p for p in paths if p.is_file()]
        if not present:
            elsewhere = _same_named_elsewhere(source, key, paths)
            if elsewhere:
                expected = paths[0].relative_to(source.root).as_posix()
                problems.append(
                    Problem(
                        file=expected,
                        loc=f"features.{key}",
                        kind="videos_elsewhere",
                        message=(
                            f"no video of `{key}` where info.json's video_path puts it, but"
                            f" {elsewhere[0][1]} same-named file(s) under {elsewhere[0][0]}/:"
                            f" point at them with --videos-dir {elsewhere[0][0]}"
                        ),
                    )
                )
                continue
            dropped.append(key)
            messages.append(
                f"info.json: camera `{key}` is declared but has no video file at all; left out"
                " (nothing to lose)"
            )
            continue
        correction = _codec_correction(source, key, present[0])
        if correction is not None:
            labels[key] = correction[0]
            messages.append(correction[1])
    return dropped, labels


def _unpaired_frames(
    source: V2Source, dropped: list[str], excused: frozenset[int]
) -> list[Problem]:
    """Episodes whose video holds another number of frames than the episode has rows: which
    row goes with which frame cannot be decided, so each is named with both counts and the
    way out. A camera without files (dropped) and a missing file (the copy names it) are not
    this check's; an unreadable one is left to the copy too."""
    problems = []
    for key in video_keys(source.features):
        if key in dropped:
            continue
        for episode in source.episodes:
            path = source.video_path(key, episode.episode_index)
            if episode.episode_index in excused or not path.is_file():
                continue
            try:
                frames = len(read_packet_index(path).pts)
            except (VideoError, OSError):
                continue
            if frames != episode.length:
                problems.append(
                    Problem(
                        file=path.relative_to(source.root).as_posix(),
                        loc=f"episode {episode.episode_index}",
                        kind="unpaired_frames",
                        message=(
                            f"{episode.length} rows but `{key}` holds {frames} frames: which"
                            " row goes with which frame"
                            " cannot be decided; leave the episode out with --drop-episodes"
                            f" {episode.episode_index}"
                        ),
                    )
                )
    return problems


def _codec_correction(source: V2Source, key: str, path: Path) -> tuple[str, str] | None:
    """(the stream's codec, what to say) when info.json labels camera `key` otherwise."""
    try:
        codec = read_packet_index(path).facts.codec
    except (VideoError, OSError):
        return None  # the copy reports unreadable videos, naming each
    declared = (source.features[key].get("info") or {}).get("video.codec")
    if declared is None or declared == codec:
        return None
    return codec, (
        f"info.json: camera `{key}` is labelled {declared!r} but its stream is {codec!r};"
        " label corrected"
    )


def scan_codec_labels(source: V2Source) -> V2Repairs | None:
    """The codec labels a plain `convert` corrects (None when every label is right): the label
    is derivable from the stream, and an output that repeats a wrong one fails `validate`. The
    stream of each camera's first episode file is read; the copy checks the others."""
    labels: dict[str, str] = {}
    messages: list[str] = []
    for key in video_keys(source.features):
        paths = (source.video_path(key, e.episode_index) for e in source.episodes)
        first = next((path for path in paths if path.is_file()), None)
        correction = None if first is None else _codec_correction(source, key, first)
        if correction is not None:
            labels[key] = correction[0]
            messages.append(correction[1])
    if not labels:
        return None
    return V2Repairs(codec_labels=labels, messages=tuple(messages))


def _same_named_elsewhere(source: V2Source, key: str, paths: list[Path]) -> list[tuple[str, int]]:
    """Top-level folders holding files named like `paths` under a folder named `key`, with how
    many, most first."""
    names = {p.name for p in paths}
    folders: dict[str, int] = {}
    for path in source.root.rglob("*.mp4"):
        relative = path.relative_to(source.root)
        if path.name in names and key in relative.parts[:-1]:
            folders[relative.parts[0]] = folders.get(relative.parts[0], 0) + 1
    return sorted(folders.items(), key=lambda item: -item[1])


def relocate_videos(source: V2Source, folder: str) -> V2Source:
    """`source` with its videos read from `folder` instead of the video_path's first folder."""
    if Path(folder).is_absolute() or ".." in Path(folder).parts:
        raise InvalidDatasetError(f"--videos-dir {folder!r}: a folder inside the dataset expected")
    info = copy.deepcopy(source.info)
    template = str(info.get("video_path") or "")
    _, _, rest = template.partition("/")
    if not rest:
        raise InvalidDatasetError(f"meta/info.json: video_path {template!r} has no folder to move")
    info["video_path"] = f"{Path(folder).as_posix()}/{rest}"
    return dataclasses.replace(source, info=info)


def _stray_files(source: V2Source) -> list[str]:
    """Episode-like files under data/ and videos/ that no listed episode owns, and OS junk."""
    junk = [
        relative
        for relative in carried_files(source.root, owned_v2_files(source))
        if Path(relative).name in OS_JUNK
    ]
    return sorted([*v2_extra_layout_files(source), *junk])


def repair_episode_table(
    table: pa.Table,
    repairs: V2Repairs,
    *,
    episode_index: int,
    start: int,
    fps: float,
    task_index: int | None,
) -> pa.Table:
    """One episode's rows with the bookkeeping the repairs derive (author's columns untouched)."""
    rows = table.num_rows
    k = np.arange(rows)
    derived = {
        "index": pa.array(start + k, pa.int64()),
        "frame_index": pa.array(k, pa.int64()),
        "episode_index": pa.array(np.full(rows, episode_index), pa.int64()),
        "timestamp": pa.array((k / fps).astype(np.float32)),
    }
    for name in (*_POSITIONAL, "timestamp"):
        if name not in table.column_names:
            table = table.append_column(name, derived[name])
    if "task_index" not in table.column_names:
        if task_index is None:
            raise InvalidDatasetError(f"episode {episode_index}: no task_index and no single task")
        table = table.append_column("task_index", pa.array(np.full(rows, task_index), pa.int64()))
    if repairs.rewrite_timestamps:
        stored = table.column("timestamp")
        at = table.schema.get_field_index("timestamp")
        table = table.set_column(at, "timestamp", derived["timestamp"].cast(stored.type))
        table = table.append_column(TIMESTAMP_SOURCE, stored)
    return table
