"""`Dataset`: a read-only handle on one LeRobot v3.0 folder; metadata is read lazily, once."""

from __future__ import annotations

import bisect
import dataclasses
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from robosplice._types import DatasetLike
from robosplice.errors import DatasetNotFoundError, InvalidDatasetError, Problem
from robosplice.format import info as info_format
from robosplice.format.data import data_template, episode_task_indices, file_positions
from robosplice.format.episodes import read_episodes, video_columns
from robosplice.format.leftovers import interrupted_swap_advice
from robosplice.format.paths import HUB_ADVICE, STATS_PATH, FilePosition, names_a_hub_repo
from robosplice.format.stats import DatasetStats, stats_from_json
from robosplice.format.tasks import read_tasks
from robosplice.format.untrusted import check_metadata_paths, check_tree, resolve_declared


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoWindow:
    """Where one episode's frames of one camera are: file position and [from, to) seconds."""

    position: FilePosition
    from_timestamp: float
    to_timestamp: float


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeRecord:
    """The parts of an episode row every op needs."""

    episode_index: int
    length: int
    tasks: tuple[str, ...]
    data_position: FilePosition
    dataset_from_index: int
    dataset_to_index: int
    videos: dict[str, VideoWindow]


class Dataset:
    """Read-only handle on a dataset folder. Nothing here writes.

    Example:
        >>> ds = robosplice.open("data/pusht")
        >>> ds.num_episodes, ds.fps
    """

    def __init__(self, root: str | os.PathLike[str], *, repo_id: str | None = None) -> None:
        self.root = Path(root).expanduser().resolve()
        if not (self.root / "meta" / "info.json").is_file():
            if names_a_hub_repo(Path(root)):
                raise DatasetNotFoundError(f"{root}: a Hub dataset; {HUB_ADVICE}")
            advice = interrupted_swap_advice(self.root)
            raise DatasetNotFoundError(
                f"{self.root}: no LeRobot dataset here (meta/info.json is missing)"
                + (f"; {advice}" if advice else "")
            )
        check_tree(self.root)  # a symlink out of the folder is refused before any read
        self.repo_id = repo_id or f"local/{self.root.name}"
        # Each numbered file resolved (and checked inside the root) once: an edit asks for the
        # same few files once per episode and camera, and each check follows every symlink.
        self._resolved: dict[tuple[str, str, FilePosition], Path] = {}

    def __repr__(self) -> str:
        return f"Dataset({str(self.root)!r})"

    @functools.cached_property
    def info(self) -> info_format.Info:
        """meta/info.json as a dict (do not mutate; ops copy it)."""
        info = info_format.read_info(self.root)
        check_metadata_paths(self.root, info)
        return info

    @property
    def features(self) -> info_format.Features:
        """The info.json features, in order."""
        features: info_format.Features = self.info["features"]
        return features

    @property
    def fps(self) -> int | float:
        """Frames per second."""
        fps: int | float = self.info["fps"]
        return fps

    @property
    def video_keys(self) -> list[str]:
        """Video cameras in feature order."""
        return info_format.video_keys(self.features)

    @property
    def image_keys(self) -> list[str]:
        """Image cameras in feature order."""
        return info_format.image_keys(self.features)

    @property
    def camera_keys(self) -> list[str]:
        """Video and image cameras, in feature order."""
        return [k for k, f in self.features.items() if f.get("dtype") in ("video", "image")]

    @functools.cached_property
    def tasks(self) -> list[str]:
        """Task strings, position = task_index."""
        if self.info.get("total_tasks", 1) == 0 and not (self.root / "meta/tasks.parquet").exists():
            return []
        return read_tasks(self.root)

    @functools.cached_property
    def episodes_table(self) -> pa.Table:
        """All episode rows (stats columns included), in episode order."""
        return read_episodes(self.root)

    @property
    def num_episodes(self) -> int:
        """Number of episode rows."""
        return int(self.episodes_table.num_rows)

    @property
    def num_frames(self) -> int:
        """Number of frames, from the episode rows (their `length` column where it is whole:
        parsing 100,000 episode records to count frames took 1.6 s)."""
        table = self.episodes_table
        if "length" in table.column_names and not table.column("length").null_count:
            return int(pc.sum(table.column("length")).as_py() or 0)
        return sum(episode.length for episode in self.episodes)

    @functools.cached_property
    def frame_task_indices(self) -> dict[int, list[int]]:
        """episode_index → the task indices its frames use, in order of first appearance.

        Read from the data's index columns: what an edit must keep, whatever the episodes'
        `tasks` column says (it may be missing or disagree with the frames).
        """
        return episode_task_indices(self.root)

    @functools.cached_property
    def episodes(self) -> list[EpisodeRecord]:
        """Episode records, position = row order (= episode_index in a valid dataset).

        Columns the official loader does not need are rebuilt from the data when missing (as
        0.6.1 `convert_image_to_video_dataset` leaves them): `tasks` from the frames'
        task_index, `data/chunk_index`/`file_index` from the data files' row ranges.
        """
        records = parse_episode_records(self.episodes_table, self.video_keys)
        columns = self.episodes_table.column_names
        if "tasks" not in columns:
            by_episode = self.frame_task_indices
            tasks = self.tasks
            records = [
                dataclasses.replace(
                    record,
                    tasks=tuple(
                        tasks[i]
                        for i in by_episode.get(record.episode_index, [])
                        if 0 <= i < len(tasks)
                    ),
                )
                for record in records
            ]
        if "data/chunk_index" not in columns or "data/file_index" not in columns:
            files = file_positions(self.root, self.data_template)
            starts = [start for _, start, _ in files]
            records = [
                dataclasses.replace(
                    record,
                    data_position=files[
                        max(0, bisect.bisect_right(starts, record.dataset_from_index) - 1)
                    ][0],
                )
                if files
                else record
                for record in records
            ]
        return records

    @functools.cached_property
    def stats(self) -> DatasetStats | None:
        """meta/stats.json, or None when absent."""
        path = self.root / STATS_PATH
        if not path.is_file():
            return None
        try:
            return stats_from_json(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, ValueError) as exc:
            raise InvalidDatasetError(
                f"{path}: unreadable stats ({exc})",
                [Problem(file=STATS_PATH, loc="", kind="invalid_json", message=str(exc))],
            ) from exc

    @functools.cached_property
    def stats_json(self) -> dict[str, Any]:
        """meta/stats.json as parsed JSON, untouched ({} when absent or not a JSON object)."""
        try:
            data = json.loads((self.root / STATS_PATH).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    # Names scripts written against the official LeRobotDataset / its `.meta` reach for.
    @property
    def meta(self) -> Dataset:
        """This handle, so `dataset.meta.total_episodes`-style code keeps working."""
        return self

    @property
    def total_episodes(self) -> int:
        """Number of episodes (official `meta.total_episodes`)."""
        return self.num_episodes

    @property
    def total_frames(self) -> int:
        """Number of frames (official `meta.total_frames`)."""
        return self.num_frames

    @property
    def total_tasks(self) -> int:
        """Number of tasks (official `meta.total_tasks`)."""
        return len(self.tasks)

    def __len__(self) -> int:
        return self.num_frames

    @functools.cached_property
    def data_template(self) -> str:
        """The data_path template the data files follow (`format.paths.declared_template`)."""
        return data_template(self.root, self.info)

    def data_path(self, position: FilePosition) -> Path:
        """Absolute path of the data file at `position`, by the info's `data_path` template."""
        key = ("data_path", "", tuple(position))
        if key not in self._resolved:
            info = {**self.info, "data_path": self.data_template}
            self._resolved[key] = resolve_declared(self.root, info, "data_path", position)
        return self._resolved[key]

    def video_path(self, video_key: str, position: FilePosition) -> Path:
        """Absolute path of a camera's mp4 at `position`, by the info's `video_path` template."""
        key = ("video_path", video_key, tuple(position))
        if key not in self._resolved:
            self._resolved[key] = resolve_declared(
                self.root, self.info, "video_path", position, video_key
            )
        return self._resolved[key]


def parse_episode_records(table: pa.Table, video_keys: list[str]) -> list[EpisodeRecord]:
    """Episode records from an episodes table; a missing required column is an InvalidDatasetError."""
    required = ["episode_index", "dataset_from_index", "dataset_to_index"]
    for key in video_keys:
        required.extend(video_columns(key))
    missing = [name for name in required if name not in table.column_names]
    if missing:
        raise InvalidDatasetError(
            f"meta/episodes: the episode rows lack the columns {missing}, which locate each"
            " episode's rows and video; the dataset cannot be read",
            [
                Problem(
                    file="meta/episodes",
                    loc=name,
                    kind="missing_column",
                    message=f"expected column {name!r}, got none",
                )
                for name in missing
            ],
        )
    columns = {
        name: table.column(name).to_pylist()
        for name in table.column_names
        if not name.startswith("stats/")
    }
    nulls = [
        Problem(
            file="meta/episodes",
            loc=f"row {row}",
            kind="missing_value",
            message=f"episode row {row}: expected a value in {name!r}, got null",
        )
        for name in required
        for row, value in enumerate(columns[name])
        if value is None
    ]
    if nulls:
        raise InvalidDatasetError(
            "meta/episodes: episode rows have nulls where the position of their rows or"
            " video is needed; the dataset cannot be read",
            nulls,
        )
    records = []
    # Hoisted out of the row loop: a dataset may hold 100,000 episode rows.
    zeros = [0] * table.num_rows
    data_chunks = columns.get("data/chunk_index", zeros)
    data_files = columns.get("data/file_index", zeros)
    video_cells = {key: [columns[c] for c in video_columns(key)] for key in video_keys}
    for row in range(table.num_rows):
        start, stop = columns["dataset_from_index"][row], columns["dataset_to_index"][row]
        length = columns["length"][row] if "length" in columns else None
        length = stop - start if length is None else length  # null: the index range says
        videos = {}
        for key, cells in video_cells.items():
            chunk, file, from_ts, to_ts = (cell[row] for cell in cells)
            videos[key] = VideoWindow(
                position=(int(chunk), int(file)),
                from_timestamp=float(from_ts),
                to_timestamp=float(to_ts),
            )
        data_position = (int(data_chunks[row] or 0), int(data_files[row] or 0))
        records.append(
            EpisodeRecord(
                episode_index=int(columns["episode_index"][row]),
                length=int(length),
                tasks=tuple(columns["tasks"][row] or ()) if "tasks" in columns else (),
                data_position=data_position,
                dataset_from_index=int(start),
                dataset_to_index=int(stop),
                videos=videos,
            )
        )
    return records


def open_dataset(dataset: DatasetLike) -> Dataset:
    """A `Dataset` for a handle, a path, or any object with `.root` (e.g. an official LeRobotDataset)."""
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, (str, os.PathLike)):
        return Dataset(dataset)
    root: Any = getattr(dataset, "root", dataset)
    repo_id = getattr(dataset, "repo_id", None)
    return Dataset(root, repo_id=repo_id if isinstance(repo_id, str) else None)
