"""On-disk names of LeRobot v3.0 and the chunk/file numbering (FORMAT.md §1, §2.1). Pure."""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Mapping
from pathlib import PurePath
from typing import Any, Final, Literal

INFO_PATH: Final = "meta/info.json"
STATS_PATH: Final = "meta/stats.json"
TASKS_PATH: Final = "meta/tasks.parquet"
EPISODES_DIR: Final = "meta/episodes"
DATA_DIR: Final = "data"
VIDEOS_DIR: Final = "videos"
HISTORY_PATH: Final = "meta/robosplice/history.jsonl"  # edit log; the loader ignores it

DATA_PATH_TEMPLATE: Final = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH_TEMPLATE: Final = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH_TEMPLATE: Final = (
    "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
)

DEFAULT_CHUNKS_SIZE: Final = 1000
DEFAULT_DATA_FILE_SIZE_MB: Final = 100
DEFAULT_VIDEO_FILE_SIZE_MB: Final = 200

FilePosition = tuple[int, int]
"""(chunk_index, file_index) of one file in a numbered sequence."""

FIRST_POSITION: Final[FilePosition] = (0, 0)


def next_position(position: FilePosition, chunks_size: int) -> FilePosition:
    """Return the position after `position`: a new chunk once `chunks_size` files fill one (§2.1)."""
    chunk_index, file_index = position
    if file_index >= chunks_size - 1:
        return chunk_index + 1, 0
    return chunk_index, file_index + 1


def data_file_path(position: FilePosition) -> str:
    """Relative path of the data parquet at `position`."""
    return DATA_PATH_TEMPLATE.format(chunk_index=position[0], file_index=position[1])


def video_file_path(video_key: str, position: FilePosition) -> str:
    """Relative path of the mp4 of `video_key` at `position`."""
    return VIDEO_PATH_TEMPLATE.format(
        video_key=video_key, chunk_index=position[0], file_index=position[1]
    )


def episodes_file_path(position: FilePosition) -> str:
    """Relative path of the episodes-metadata parquet at `position`."""
    return EPISODES_PATH_TEMPLATE.format(chunk_index=position[0], file_index=position[1])


TemplateField = Literal["data_path", "video_path"]
_DEFAULT_TEMPLATES: Final[dict[str, str]] = {
    "data_path": DATA_PATH_TEMPLATE,
    "video_path": VIDEO_PATH_TEMPLATE,
}


def declared_template(
    info: Mapping[str, Any], field: TemplateField, present: Collection[str] | None = None
) -> str:
    """The `data_path`/`video_path` template info.json declares, or the standard one.

    Readers follow what the dataset declares, as the loader does (it formats video_path with an
    episode row's chunk/file indices): a v3.0 folder may name one file per episode
    (`episode_{file_index:06d}.parquet`). A template that does not format with {chunk_index},
    {file_index} (and {video_key}) is not one; validate reports it, readers use the standard one.
    The loader finds data files by globbing data/*/*.parquet, not by data_path: given the data
    files `present` (relative paths), a data_path that names none of them is not followed either.
    Writers always use the standard templates.
    """
    default = _DEFAULT_TEMPLATES[field]
    template = info.get(field)
    if not isinstance(template, str) or (field == "video_path" and "{video_key" not in template):
        return default
    try:
        template.format(video_key="k", chunk_index=0, file_index=0)
    except (KeyError, IndexError, ValueError, AttributeError):
        return default
    if (
        field == "data_path"
        and present
        and template != default
        and all(template_position(template, path) is None for path in present)
    ):
        return default
    return template


def format_template(template: str, position: FilePosition, video_key: str = "") -> str:
    """`template` formatted for the file at `position` (of camera `video_key`)."""
    return template.format(video_key=video_key, chunk_index=position[0], file_index=position[1])


def declared_path(
    info: Mapping[str, Any],
    field: TemplateField,
    position: FilePosition,
    video_key: str = "",
    present: Collection[str] | None = None,
) -> str:
    """Relative path of the data or video file at `position`, by the declared template (pure).

    Readers open it through `untrusted.resolve_declared`, which keeps it inside the dataset.
    """
    return format_template(declared_template(info, field, present), position, video_key)


def template_position(template: str, relative: str) -> FilePosition | None:
    """The (chunk_index, file_index) `template` gives `relative` (a posix path), or None.

    The inverse of `format_template`: finds which numbered file a path on disk is.
    """
    pattern = ""
    seen: set[str] = set()
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        pattern += re.escape(literal)
        if name in seen:
            pattern += rf"(?P={name})"
        elif name in ("chunk_index", "file_index"):
            pattern += rf"(?P<{name}>\d+)"
            seen.add(name)
        elif name is not None:
            pattern += "[^/]+"
    match = re.fullmatch(pattern, relative)
    if match is None or "chunk_index" not in match.groupdict():
        return None
    groups = match.groupdict()
    return int(groups["chunk_index"]), int(groups.get("file_index") or 0)


def mebibytes_to_bytes(size_mb: float) -> int:
    """LeRobot's "MB" is MiB (FORMAT.md conventions)."""
    return int(size_mb * 1024 * 1024)


HUB_ADVICE: Final = (
    "the Python API reads and writes local folders: pull a Hub dataset with"
    " robosplice.hub.pull('hf://datasets/ORG/NAME') and push an output folder with"
    " robosplice.hub.push(folder, 'hf://datasets/ORG/NAME'); the robosplice command accepts"
    " hf:// for SRC and OUT"
)


def names_a_hub_repo(path: PurePath) -> bool:
    """Whether `path` is a Hub reference (`hf://…`, `https://…/datasets/…`) turned into a path
    (`hf:/datasets/…`): such a folder would be created beside the user's data, never pushed."""
    return any(part in ("hf:", "http:", "https:") for part in path.parts)
