"""On-disk names of LeRobot v3.0 and the chunk/file numbering (FORMAT.md §1, §2.1). Pure."""

from __future__ import annotations

from typing import Final

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


def mebibytes_to_bytes(size_mb: float) -> int:
    """LeRobot's "MB" is MiB (FORMAT.md conventions)."""
    return int(size_mb * 1024 * 1024)
