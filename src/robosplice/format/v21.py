"""LeRobot v2.1 / v2.0 on disk: per-episode paths, JSONL metadata, the v2 info.json (conversion.md §1).

v2.x stores one parquet and one mp4 per episode (`chunks_size` counts *episodes* per chunk) and
its metadata as JSON lines. This module reads and writes those files and maps `info.json`
between the two versions; it never touches video or data values (the converter does).
Everything but `read_*`/`write_*` is pure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from robosplice.errors import InvalidDatasetError, Problem, UnsupportedVersionError
from robosplice.format import info as info_format
from robosplice.format.info import Features, Info, data_column_names
from robosplice.format.paths import (
    DATA_PATH_TEMPLATE,
    DEFAULT_CHUNKS_SIZE,
    VIDEO_PATH_TEMPLATE,
)
from robosplice.format.schema import feature_field, hf_feature
from robosplice.format.untrusted import (
    check_metadata_paths,
    check_tree,
    resolve_inside,
    trusted_roots,
)

V21: Final = "v2.1"
V20: Final = "v2.0"
V30: Final = "v3.0"
V2_DATA_PATH: Final = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
V2_VIDEO_PATH: Final = (
    "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
)
EPISODES_JSONL: Final = "meta/episodes.jsonl"
EPISODES_STATS_JSONL: Final = "meta/episodes_stats.jsonl"
TASKS_JSONL: Final = "meta/tasks.jsonl"
STATS_JSON: Final = "meta/stats.json"
INFO_JSON: Final = "meta/info.json"
# info.json keys in the order lerobot 0.3.3's `create_empty_dataset_info` writes them.
V21_INFO_KEYS: Final = (
    "codebase_version",
    "robot_type",
    "total_episodes",
    "total_frames",
    "total_tasks",
    "total_videos",
    "total_chunks",
    "chunks_size",
    "fps",
    "splits",
    "data_path",
    "video_path",
    "features",
)
# Episode row keys of episodes.jsonl that the v3 episodes table has under the same name.
EPISODE_BASE_KEYS: Final = ("episode_index", "tasks", "length")
# v3 episode columns that are layout, not episode facts (not carried into episodes.jsonl).
V3_LAYOUT_PREFIXES: Final = ("data/", "videos/", "stats/", "meta/", "dataset_")


def read_version(root: Path) -> str:
    """The `codebase_version` of the dataset at `root` (v2.0, v2.1, v3.0, ...)."""
    path = root / INFO_JSON
    if not path.is_file():
        raise InvalidDatasetError(
            f"{root}: no LeRobot dataset here (meta/info.json is missing)",
            [Problem(file=INFO_JSON, loc="", kind="missing_file", message="not on disk")],
        )
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidDatasetError(
            f"{path}: not valid JSON ({exc})",
            [Problem(file=INFO_JSON, loc="", kind="invalid_json", message=str(exc))],
        ) from exc
    return str(info.get("codebase_version", "")) if isinstance(info, dict) else ""


def read_v2_info(root: Path) -> Info:
    """`meta/info.json` of a v2.0/v2.1 dataset, with what the converter relies on checked."""
    path = root / INFO_JSON
    info = json.loads(path.read_text(encoding="utf-8"))
    version = str(info.get("codebase_version", ""))
    if version not in (V20, V21):
        raise UnsupportedVersionError(
            f"{path}: codebase_version is {version or 'missing'!r}; expected v2.0 or v2.1"
        )
    problems = [
        Problem(file=INFO_JSON, loc=key, kind="missing_field", message=f"'{key}' is missing")
        for key in ("fps", "features", "data_path")
        if key not in info
    ]
    if problems:
        raise InvalidDatasetError(f"{path} is incomplete", problems)
    return info


def format_jsonl(rows: Iterable[Mapping[str, Any]]) -> str:
    """JSON lines as the `jsonlines` package writes them (lerobot ≤ 0.3.3): `, `/`: `, UTF-8."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_jsonl(root: Path, relative: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write JSON lines at `root/relative`."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_jsonl(rows), encoding="utf-8")


def read_jsonl(root: Path, relative: str) -> list[dict[str, Any]]:
    """Rows of a JSON lines file; a bad line is an InvalidDatasetError naming it."""
    path = root / relative
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidDatasetError(
                f"{path}: line {number} is not JSON ({exc})",
                [
                    Problem(
                        file=relative, loc=f"line {number}", kind="invalid_json", message=str(exc)
                    )
                ],
            ) from exc
        if not isinstance(row, dict):
            raise InvalidDatasetError(
                f"{path}: line {number}: expected a JSON object, got {type(row).__name__}"
            )
        rows.append(row)
    return rows


def episode_chunk(episode_index: int, chunks_size: int) -> int:
    """The chunk of an episode in v2.x (`chunks_size` episodes per chunk)."""
    return episode_index // chunks_size


def _v2_path(info: Info, field: str, default: str, episode_index: int, **fields: str) -> str:
    """Fill a v2.x path template. Converters in the wild spell the chunk `{chunk_index}` (the v3.0
    name) in v2.x templates; both names mean the episode's chunk there."""
    chunks_size = int(info.get("chunks_size") or DEFAULT_CHUNKS_SIZE)
    template = str(info.get(field) or default)
    chunk = episode_chunk(episode_index, chunks_size)
    try:
        return template.format(
            episode_chunk=chunk, chunk_index=chunk, episode_index=episode_index, **fields
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise InvalidDatasetError(
            f"meta/info.json: {field} {template!r} has a placeholder a v2.x template cannot fill "
            f"({exc}); v2.x templates use {{episode_chunk}}, {{episode_index}}"
            + (" and {video_key}" if fields else "")
        ) from None


def v2_data_path(info: Info, episode_index: int) -> str:
    """Relative path of an episode's parquet, from the info's template."""
    return _v2_path(info, "data_path", V2_DATA_PATH, episode_index)


def v2_video_path(info: Info, video_key: str, episode_index: int) -> str:
    """Relative path of an episode's mp4 of one camera, from the info's template."""
    return _v2_path(info, "video_path", V2_VIDEO_PATH, episode_index, video_key=video_key)


@dataclass(frozen=True, slots=True, kw_only=True)
class V2Episode:
    """One line of episodes.jsonl (with its keys in file order) and its stats line, if any."""

    episode_index: int
    length: int
    row: dict[str, Any]
    stats: dict[str, dict[str, Any]] | None = field(default=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class V2Source:
    """A v2.0/v2.1 dataset's metadata, read once (nothing is written, no data is read)."""

    root: Path
    info: Info
    tasks: list[str]
    episodes: list[V2Episode]
    global_stats: dict[str, dict[str, Any]] | None
    left_out: tuple[str, ...] = ()  # files a repair decided not to convert (stray, OS junk)
    # Each file resolved (and checked inside the root, following every symlink) once: a
    # conversion asks for each episode's files several times.
    _resolved: dict[tuple[str, int], Path] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _roots: list[tuple[Path, ...]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    @property
    def version(self) -> str:
        """`v2.0` or `v2.1`."""
        return str(self.info["codebase_version"])

    @property
    def features(self) -> Features:
        """The info.json features."""
        features: Features = self.info["features"]
        return features

    @property
    def video_keys(self) -> list[str]:
        """Video cameras in feature order."""
        return info_format.video_keys(self.features)

    @property
    def num_frames(self) -> int:
        """Sum of the episode lengths."""
        return sum(e.length for e in self.episodes)

    def data_path(self, episode_index: int) -> Path:
        """Absolute path of an episode's parquet."""
        return self._resolve("data_path", "", episode_index)

    def video_path(self, video_key: str, episode_index: int) -> Path:
        """Absolute path of an episode's mp4."""
        return self._resolve("video_path", video_key, episode_index)

    def _resolve(self, template: str, video_key: str, episode_index: int) -> Path:
        key = (video_key or template, episode_index)
        if key not in self._resolved:
            if not self._roots:
                self._roots.append(trusted_roots(self.root))
            relative = (
                v2_video_path(self.info, video_key, episode_index)
                if video_key
                else v2_data_path(self.info, episode_index)
            )
            self._resolved[key] = resolve_inside(
                self.root, relative, field=template, roots=self._roots[0]
            )
        return self._resolved[key]


def read_v2_source(root: Path, *, derive_missing_stats: bool = False) -> V2Source:
    """Read the metadata of a v2.0/v2.1 dataset; every problem found is reported at once.

    `derive_missing_stats` takes a v2.1 folder without episodes_stats.jsonl as v2.0 is taken
    (per-episode stats computed from the rows), as `repair` does.

    Raises:
        UnsupportedVersionError: not v2.0/v2.1.
        InvalidDatasetError: metadata files missing or inconsistent (ids not 0..N-1, a task
            index out of order, stats lines that do not match the episodes).
    """
    info = read_v2_info(root)
    check_tree(root)
    check_metadata_paths(root, info)
    problems: list[Problem] = []
    required = [EPISODES_JSONL, TASKS_JSONL]
    if info["codebase_version"] == V21 and not derive_missing_stats:
        required.append(EPISODES_STATS_JSONL)
    missing = [name for name in required if not (root / name).is_file()]
    if missing:
        raise InvalidDatasetError(
            f"{root}: a {info['codebase_version']} dataset needs {', '.join(missing)}",
            [Problem(file=m, loc="", kind="missing_file", message="not on disk") for m in missing],
        )
    task_rows = read_jsonl(root, TASKS_JSONL)
    by_index = {int(row.get("task_index", -1)): row.get("task") for row in task_rows}
    if sorted(by_index) != list(range(len(task_rows))):
        problems.append(
            Problem(
                file=TASKS_JSONL,
                loc="task_index",
                kind="bad_task_index",
                message=f"expected task_index 0..{len(task_rows) - 1}, got {sorted(by_index)}",
            )
        )
    tasks = [str(by_index.get(i)) for i in range(len(task_rows))]
    episode_rows = sorted(
        read_jsonl(root, EPISODES_JSONL), key=lambda r: r.get("episode_index", -1)
    )
    ids = [row.get("episode_index") for row in episode_rows]
    if ids != list(range(len(episode_rows))):
        problems.append(
            Problem(
                file=EPISODES_JSONL,
                loc="episode_index",
                kind="bad_episode_index",
                message=(
                    f"expected episode_index 0..{len(episode_rows) - 1} (v2.1 loaders use it as"
                    f" a position), got {_short_list(ids)}"
                ),
            )
        )
    for row in episode_rows:
        if not isinstance(row.get("length"), int) or row["length"] <= 0:
            problems.append(
                Problem(
                    file=EPISODES_JSONL,
                    loc=f"episode {row.get('episode_index')}",
                    kind="bad_length",
                    message=f"expected a positive integer length, got {row.get('length')!r}",
                )
            )
    stats_by_episode: dict[int, dict[str, dict[str, Any]]] = {}
    if (root / EPISODES_STATS_JSONL).is_file():
        for row in read_jsonl(root, EPISODES_STATS_JSONL):
            stats_by_episode[int(row.get("episode_index", -1))] = row.get("stats") or {}
        if info["codebase_version"] == V21:
            absent = [i for i in ids if i not in stats_by_episode]
            if absent:
                problems.append(
                    Problem(
                        file=EPISODES_STATS_JSONL,
                        loc="episode_index",
                        kind="missing_episode_stats",
                        message=f"no stats line for episodes {_short_list(absent)}",
                    )
                )
    global_stats = None
    if (root / STATS_JSON).is_file():
        try:
            global_stats = json.loads((root / STATS_JSON).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            problems.append(Problem(file=STATS_JSON, loc="", kind="invalid_json", message=str(exc)))
    elif info["codebase_version"] == V20:
        problems.append(
            Problem(
                file=STATS_JSON,
                loc="",
                kind="missing_file",
                message="a v2.0 dataset keeps its stats in meta/stats.json, which is missing",
            )
        )
    if problems:
        raise InvalidDatasetError(
            f"{root} is not a readable {info['codebase_version']} dataset ({len(problems)}"
            " problem(s)); nothing was written:",
            problems,
        )
    episodes = [
        V2Episode(
            episode_index=int(row["episode_index"]),
            length=int(row["length"]),
            row=row,
            stats=stats_by_episode.get(int(row["episode_index"])),
        )
        for row in episode_rows
    ]
    return V2Source(root=root, info=info, tasks=tasks, episodes=episodes, global_stats=global_stats)


def _short_list(values: list[Any], limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return f"[{shown}{', …' if len(values) > limit else ''}]"


def owned_v2_files(source: V2Source) -> set[str]:
    """Relative paths the v2 layout defines for `source` (everything else is carried as is)."""
    owned = {INFO_JSON, EPISODES_JSONL, EPISODES_STATS_JSONL, TASKS_JSONL, STATS_JSON}
    owned.update(source.left_out)
    for episode in source.episodes:
        owned.add(v2_data_path(source.info, episode.episode_index))
        for key in source.video_keys:
            owned.add(v2_video_path(source.info, key, episode.episode_index))
    return owned


def carried_files(root: Path, owned: set[str]) -> list[str]:
    """Files under `root` the layout does not own (README, meta/modality.json, ...), sorted."""
    found = []
    for path in sorted(root.rglob("*"), key=lambda path: path.parts):  # Path order, faster
        if not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        if relative not in owned:
            found.append(relative)
    return found


def v2_extra_layout_files(source: V2Source) -> list[str]:
    """Parquet/mp4 files under data/ and videos/ that belong to no episode of the metadata."""
    owned = owned_v2_files(source)
    return [
        relative
        for relative in carried_files(source.root, owned)
        if relative.split("/", 1)[0] in ("data", "videos")
        and relative.endswith((".parquet", ".mp4"))
    ]


def fps_value(fps: Any) -> int | float:
    """`fps` as an int when it is integral (v2.0 files hold e.g. 20.0), else as it is."""
    if isinstance(fps, float) and fps.is_integer():
        return int(fps)
    return fps


def v30_info_from_v2(
    info: Info, *, data_files_size_in_mb: float, video_files_size_in_mb: float
) -> Info:
    """The v3.0 info.json of a converted v2.x dataset (totals are filled in by the writer).

    Follows the official converter (version, templates, size keys, `total_chunks` and
    `total_videos` dropped, a per-feature `fps` on non-video features) but keeps unknown
    top-level keys and never truncates a fractional fps. v2.0 `video_info` is copied to `info`.
    """
    fps = fps_value(info["fps"])
    result: Info = {}
    for key, value in info.items():
        if key in ("total_chunks", "total_videos"):
            continue
        result[key] = value
        if key == "chunks_size":
            result["data_files_size_in_mb"] = data_files_size_in_mb
            result["video_files_size_in_mb"] = video_files_size_in_mb
    result["codebase_version"] = V30
    result.setdefault("chunks_size", DEFAULT_CHUNKS_SIZE)
    result.setdefault("data_files_size_in_mb", data_files_size_in_mb)
    result.setdefault("video_files_size_in_mb", video_files_size_in_mb)
    result["fps"] = fps
    result["data_path"] = DATA_PATH_TEMPLATE
    features = {}
    for name, feature in info["features"].items():
        feature = dict(feature)
        if feature.get("dtype") == "video":
            if "info" not in feature and isinstance(feature.get("video_info"), dict):
                feature["info"] = dict(feature["video_info"])
        else:
            feature.setdefault("fps", fps)
        features[name] = feature
    result["features"] = features
    result["video_path"] = VIDEO_PATH_TEMPLATE if info_format.video_keys(features) else None
    return result


def v21_info_from_v30(info: Info, *, num_episodes: int, num_frames: int, num_tasks: int) -> Info:
    """The v2.1 info.json of a converted v3.0 dataset, in 0.3.3's key order, unknown keys after.

    Size keys go; `total_videos`, `total_chunks` and `splits` are recomputed; a per-feature
    `fps` is dropped where it equals the dataset's (the official converter adds those).
    """
    chunks_size = int(info.get("chunks_size") or DEFAULT_CHUNKS_SIZE)
    fps = info["fps"]
    features = {}
    for name, feature in info["features"].items():
        feature = dict(feature)
        if feature.get("dtype") != "video" and feature.get("fps") == fps:
            del feature["fps"]
        features[name] = feature
    video_keys = info_format.video_keys(features)
    values: Info = {
        **info,
        "codebase_version": V21,
        "total_episodes": num_episodes,
        "total_frames": num_frames,
        "total_tasks": num_tasks,
        "total_videos": num_episodes * len(video_keys),
        "total_chunks": math.ceil(num_episodes / chunks_size),
        "chunks_size": chunks_size,
        "splits": {"train": f"0:{num_episodes}"},
        "data_path": V2_DATA_PATH,
        "video_path": V2_VIDEO_PATH if video_keys else None,
        "features": features,
    }
    values.setdefault("robot_type", None)
    for key in ("data_files_size_in_mb", "video_files_size_in_mb"):
        values.pop(key, None)
    ordered = {key: values[key] for key in V21_INFO_KEYS if key in values}
    ordered.update({key: value for key, value in values.items() if key not in ordered})
    return ordered


def v21_data_schema(features: Features) -> pa.Schema:
    """Schema of a v2.1 episode parquet: the recorder's Arrow types, `datasets` 3.x metadata.

    v2.1 loaders do not cast to info.json, so the types here are what they see: fixed-size
    lists for vectors, HF ArrayND extension types, `{bytes, path}` structs tagged `Image`.

    Raises:
        InvalidDatasetError: a feature's dtype has no v2.1 form (e.g. 0.6.1 `language`).
    """
    fields = []
    hf_features = {}
    for name in data_column_names(features):
        feature = features[name]
        try:
            fields.append(feature_field(name, feature))
        except ValueError as exc:
            raise InvalidDatasetError(
                f"feature {name!r}: dtype {feature.get('dtype')!r} has no v2.1 form ({exc});"
                f" drop it first (robosplice remove-feature SRC OUT {name})",
                [
                    Problem(
                        file=INFO_JSON,
                        loc=f"features.{name}",
                        kind="unsupported_feature",
                        message=f"dtype {feature.get('dtype')!r} cannot be written as v2.1",
                    )
                ],
            ) from exc
        hf_features[name] = hf_feature(feature, list_type="Sequence")
    metadata = {b"huggingface": json.dumps({"info": {"features": hf_features}}).encode()}
    return pa.schema(fields, metadata=metadata)
