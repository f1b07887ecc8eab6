"""`meta/info.json`: read, write, and the questions every op asks of it (FORMAT.md §1.1–1.2).

The info is kept as the JSON dict it is on disk, so unknown keys, key order and odd `names`
(nested lists, dicts) survive every edit byte for byte. Functions here are pure except read/write.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Final

from robosplice.errors import InvalidDatasetError, Problem, UnsupportedVersionError

Info = dict[str, Any]
Features = dict[str, dict[str, Any]]

CODEBASE_VERSION: Final = "v3.0"
DEFAULT_FEATURE_NAMES: Final = ("timestamp", "frame_index", "episode_index", "index", "task_index")
DEFAULT_FEATURES: Final[Features] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
# Columns whose values follow from position; edits recompute them rather than copy them.
INDEX_COLUMNS: Final = ("index", "episode_index", "frame_index", "timestamp", "task_index")
VISUAL_DTYPES: Final = ("image", "video")
NON_STATS_DTYPES: Final = ("string", "language")
# Encoder keys of a 0.6.1 video `info`; merge ignores them when comparing (FORMAT.md §6.2).
VIDEO_ENCODER_INFO_KEYS: Final = (
    "video.g",
    "video.crf",
    "video.preset",
    "video.fast_decode",
    "video.extra_options",
    "video.video_backend",
)


def read_info(root: Path) -> Info:
    """Read `meta/info.json` of `root`, checking only what every later step relies on."""
    path = root / "meta" / "info.json"
    text = path.read_text(encoding="utf-8")
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDatasetError(
            f"{path}: not valid JSON ({exc})",
            [Problem(file="meta/info.json", loc="", kind="invalid_json", message=str(exc))],
        ) from exc
    if not isinstance(info, dict):
        raise InvalidDatasetError(f"{path}: expected a JSON object")
    version = str(info.get("codebase_version", ""))
    if not version.startswith("v3"):
        hint = (
            " (make it one with 'robosplice repair SRC OUT' first: it converts, and repairs what"
            " other converters leave out)"
            if version.startswith("v2")
            else ""
        )
        raise UnsupportedVersionError(
            f"{path}: codebase_version is {version or 'missing'!r}, robosplice edits v3.x{hint}"
        )
    problems = [
        Problem(file="meta/info.json", loc=key, kind="missing_field", message=f"'{key}' is missing")
        for key in ("fps", "features")
        if key not in info
    ]
    if problems:
        raise InvalidDatasetError(f"{path} is incomplete", problems)
    return info


def format_info(info: Info) -> str:
    """Serialize as the official writer does: indent 4, UTF-8, no trailing newline."""
    return json.dumps(info, indent=4, ensure_ascii=False)


def write_info(root: Path, info: Info) -> None:
    """Write `meta/info.json` under `root`."""
    path = root / "meta" / "info.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_info(info), encoding="utf-8")


def copy_info(info: Info) -> Info:
    """Deep copy, so an op can change its output's info without touching the source's."""
    return copy.deepcopy(info)


def video_keys(features: Features) -> list[str]:
    """Video features in feature order."""
    return [name for name, feature in features.items() if feature.get("dtype") == "video"]


def image_keys(features: Features) -> list[str]:
    """Image (parquet-embedded) features in feature order."""
    return [name for name, feature in features.items() if feature.get("dtype") == "image"]


def data_column_names(features: Features) -> list[str]:
    """Columns of the data parquet: every feature but videos, in feature order."""
    return [name for name, feature in features.items() if feature.get("dtype") != "video"]


def stats_feature_names(features: Features) -> list[str]:
    """Features that carry stats: all but string and language (FORMAT.md §1.3)."""
    return [
        name for name, feature in features.items() if feature.get("dtype") not in NON_STATS_DTYPES
    ]


def numeric_feature_names(features: Features) -> list[str]:
    """Features with stats computed from parquet values (not image/video/string/language)."""
    return [
        name
        for name in stats_feature_names(features)
        if features[name].get("dtype") not in VISUAL_DTYPES
    ]


def is_depth_feature(feature: dict[str, Any]) -> bool:
    """Depth video or image, marked by 0.6.1 `is_depth_map` or the 0.4.4 `video.is_depth_map`."""
    info = feature.get("info") or {}
    return bool(info.get("is_depth_map") or info.get("video.is_depth_map"))


def feature_shape(feature: dict[str, Any]) -> tuple[int, ...]:
    """Shape as a tuple (JSON stores a list)."""
    return tuple(int(size) for size in feature.get("shape", ()))


def flat_dimension_names(names: object) -> list[str]:
    """Every leaf of info.json `names` in order: a list, nested lists, or a dict of lists (e.g.
    `{"motors": [...]}` as some robots write it); `None` leaves are skipped."""
    flat: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif value is not None:
            flat.append(str(value))

    walk(names)
    return flat
