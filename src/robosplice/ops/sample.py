"""`sample`: write a small synthetic LeRobot v3.0 dataset with robosplice's own writer.

The bundled default for the demo and the tests. It is written the way the 0.6.1 recorder writes
(FORMAT.md §0): one row group per episode, each episode encoded to its own mp4 and appended to the
camera's file packet by packet, per-episode stats from the raw frames. Every camera frame carries
identity blocks (tests/fixtures/datasets/README.md), so a checker can tell which frame a decoded image is.
"""

from __future__ import annotations

import functools
import logging
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa

from robosplice._types import PathLike, ProgressReporter
from robosplice.commit import check_output_target, staged_output
from robosplice.dataset import Dataset
from robosplice.engine.meta import write_metadata
from robosplice.engine.progress import resolve_progress
from robosplice.engine.video_copy import VideoFileSequence, ending
from robosplice.errors import SelectionError
from robosplice.format.data import DataFileWriter
from robosplice.format.episodes import video_columns
from robosplice.format.info import (
    CODEBASE_VERSION,
    DEFAULT_FEATURES,
    Features,
    Info,
    copy_info,
    numeric_feature_names,
    stats_feature_names,
)
from robosplice.format.packet_ranges import plan_packet_range
from robosplice.format.paths import (
    DATA_PATH_TEMPLATE,
    DEFAULT_CHUNKS_SIZE,
    DEFAULT_DATA_FILE_SIZE_MB,
    DEFAULT_VIDEO_FILE_SIZE_MB,
    VIDEO_PATH_TEMPLATE,
    FilePosition,
    video_file_path,
)
from robosplice.format.schema import data_schema
from robosplice.format.stats import (
    DatasetStats,
    FeatureStats,
    aggregate_feature_stats,
    compute_feature_stats,
    compute_image_stats,
    flatten_episode_stats,
    sample_indices,
)
from robosplice.format.video import PacketReader, read_packet_index
from robosplice.format.video_codec import (
    LIBSVTAV1,
    EncoderSettings,
    check_encoder,
    encode_frames,
    first_available_encoder,
    video_feature_info,
)
from robosplice.plan.model import OutputSettings

logger = logging.getLogger(__name__)

Camera = tuple[str, int, int]
"""(feature key, height, width) of one sample camera."""

DEFAULT_CAMERAS: Final[tuple[Camera, ...]] = (
    ("observation.images.top", 96, 128),
    ("observation.images.wrist", 72, 96),
)
SAMPLE_TASKS: Final = (
    "pick up the red cube",
    "push the block to the goal",
    "open the drawer",
    "stack the green blocks",
)
ROBOT_TYPE: Final = "robosplice_sim"
JOINT_NAMES: Final = tuple(f"joint_{joint}" for joint in range(6))
# Used, in this order, when the asked encoder is missing: AV1 first (the official default), then H.264.
FALLBACK_ENCODERS: Final = (LIBSVTAV1, "libaom-av1", "librav1e", "libx264", "libopenh264")
# Identity blocks (tests/fixtures/datasets/README.md): rows 0-7 episode, rows 8-15 frame, 10 bits of 8x8 px.
IDENTITY_BITS: Final = 10
IDENTITY_BLOCK: Final = 8
MAX_IDENTITY: Final = 1 << IDENTITY_BITS
TEMP_DIR_NAME: Final = "tmp-robosplice-encode"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Motion:
    """One episode's smooth joint trajectory: center + amplitude · sin(2π · frequency · t + phase)."""

    center: np.ndarray
    amplitude: np.ndarray
    frequency_hz: np.ndarray
    phase: np.ndarray

    def at(self, seconds: np.ndarray) -> np.ndarray:
        """Joint positions at each time, shape (len(seconds), 6), float32."""
        angle = 2 * np.pi * self.frequency_hz * seconds[:, None] + self.phase
        positions: np.ndarray = (self.center + self.amplitude * np.sin(angle)).astype(np.float32)
        return positions


def write_sample(
    output_dir: PathLike,
    *,
    episodes: int = 12,
    fps: int = 30,
    seed: int = 0,
    cameras: Sequence[Camera] = DEFAULT_CAMERAS,
    vcodec: str = LIBSVTAV1,
    min_length: int = 40,
    max_length: int = 90,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunks_size: int | None = None,
    overwrite: bool = False,
    progress: ProgressReporter | None = None,
) -> Dataset:
    """Write a synthetic dataset: 6-joint state and action, video cameras, a few tasks.

    Episodes last `min_length`..`max_length` frames and each does one of four tasks; everything
    follows from `seed`. If `vcodec` is missing from this PyAV build, the first available of
    `FALLBACK_ENCODERS` is used (with a warning) and recorded in the feature `info`.

    Returns:
        A handle on the new dataset.

    Raises:
        SelectionError: an argument is out of range (all problems are listed at once).
        OutputExistsError: `output_dir` exists and `overwrite` is False.
        VideoError: no usable encoder, or encoding fails.

    Example:
        >>> write_sample("/tmp/sample", episodes=4)
    """
    target = Path(output_dir).expanduser().resolve()
    _check_arguments(
        episodes=episodes,
        fps=fps,
        cameras=cameras,
        min_length=min_length,
        max_length=max_length,
        sizes={
            "data_files_size_in_mb": data_files_size_in_mb,
            "video_files_size_in_mb": video_files_size_in_mb,
            "chunks_size": chunks_size,
        },
    )
    settings = EncoderSettings(vcodec=_pick_encoder(vcodec) if cameras else vcodec).resolved()
    if cameras:
        check_encoder(settings.vcodec)
    output_settings = OutputSettings(
        chunks_size=chunks_size if chunks_size is not None else DEFAULT_CHUNKS_SIZE,
        data_files_size_in_mb=(
            data_files_size_in_mb
            if data_files_size_in_mb is not None
            else DEFAULT_DATA_FILE_SIZE_MB
        ),
        video_files_size_in_mb=(
            video_files_size_in_mb
            if video_files_size_in_mb is not None
            else DEFAULT_VIDEO_FILE_SIZE_MB
        ),
    )
    check_output_target(target, [], overwrite=overwrite)
    with staged_output(target, replace=overwrite) as staging:
        _SampleWriter(
            staging,
            episodes=episodes,
            fps=fps,
            seed=seed,
            cameras=tuple(cameras),
            encoder=settings,
            min_length=min_length,
            max_length=max_length,
            settings=output_settings,
            progress=resolve_progress(progress),
        ).write()
    return Dataset(target)


def sample_features(cameras: Sequence[Camera]) -> Features:
    """The sample's info.json features: state, action, the cameras, then the five defaults."""
    names = list(JOINT_NAMES)
    features: Features = {
        "observation.state": {"dtype": "float32", "shape": [6], "names": names},
        "action": {"dtype": "float32", "shape": [6], "names": list(names)},
    }
    for key, height, width in cameras:
        features[key] = {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
        }
    features.update(copy_info(DEFAULT_FEATURES))
    return features


def camera_frame(
    height: int,
    width: int,
    *,
    episode_index: int,
    frame_index: int,
    position: np.ndarray,
    camera_number: int,
) -> np.ndarray:
    """One synthetic HxWx3 uint8 frame: soft waves, a square driven by `position`, identity blocks.

    `position` is the robot's joint state; joints 0 and 1 place the square.
    """
    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    phase = 0.05 * frame_index + 0.9 * camera_number
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = 128 + 70 * np.sin(2 * np.pi * (x + 0.5 * y) + phase)
    image[..., 1] = 128 + 70 * np.sin(2 * np.pi * (y - 0.3 * x) - 0.7 * phase + episode_index)
    image[..., 2] = 60 + 20 * camera_number + (37 * episode_index) % 90
    size = max(6, min(height, width) // 6)
    left = round((0.5 + 0.5 * math.tanh(float(position[0]))) * (width - size))
    top_min = 2 * IDENTITY_BLOCK
    top = top_min + round(
        (0.5 + 0.5 * math.tanh(float(position[1]))) * max(0, height - size - top_min)
    )
    image[top : top + size, left : left + size] = (240, 220, 40)
    for row, value in enumerate((episode_index, frame_index)):
        for bit in range(IDENTITY_BITS):
            image[
                row * IDENTITY_BLOCK : (row + 1) * IDENTITY_BLOCK,
                bit * IDENTITY_BLOCK : (bit + 1) * IDENTITY_BLOCK,
            ] = 255 if (value >> bit) & 1 else 0
    return image


class _SampleWriter:
    """Writes the sample into an empty staging folder, one episode at a time."""

    def __init__(
        self,
        root: Path,
        *,
        episodes: int,
        fps: int,
        seed: int,
        cameras: tuple[Camera, ...],
        encoder: EncoderSettings,
        min_length: int,
        max_length: int,
        settings: OutputSettings,
        progress: ProgressReporter,
    ) -> None:
        self.root = root
        self.fps = fps
        self.cameras = cameras
        self.encoder = encoder
        self.settings = settings
        self.progress = progress
        self.features = sample_features(cameras)
        self.schema = data_schema(self.features)
        rng = np.random.default_rng(seed)
        self.lengths = [int(n) for n in rng.integers(min_length, max_length + 1, size=episodes)]
        offset = int(rng.integers(len(SAMPLE_TASKS)))
        self.episode_tasks = [
            SAMPLE_TASKS[(offset + episode) % len(SAMPLE_TASKS)] for episode in range(episodes)
        ]
        # Only tasks in use, in order of first use: task_index i is row i of tasks.parquet.
        self.tasks = list(dict.fromkeys(self.episode_tasks))
        self.motions = [
            _Motion(
                center=rng.uniform(-1.0, 1.0, 6),
                amplitude=rng.uniform(0.2, 0.8, 6),
                frequency_hz=rng.uniform(0.2, 0.8, 6),
                phase=rng.uniform(0.0, 2 * np.pi, 6),
            )
            for _ in range(episodes)
        ]
        self.numeric_names = numeric_feature_names(self.features)
        self.numeric_values: dict[str, list[np.ndarray]] = {n: [] for n in self.numeric_names}
        self.visual_stats: dict[str, list[FeatureStats]] = {key: [] for key, _, _ in cameras}

    def write(self) -> None:
        """Write data, videos and metadata."""
        temp_dir = self.root / TEMP_DIR_NAME
        temp_dir.mkdir()
        data = DataFileWriter(
            self.root,
            self.schema,
            file_size_mb=self.settings.data_files_size_in_mb,
            chunks_size=self.settings.chunks_size,
        )
        sequences = {
            key: VideoFileSequence(
                self.root,
                functools.partial(self._video_path, key),
                file_size_mb=self.settings.video_files_size_in_mb,
                chunks_size=self.settings.chunks_size,
            )
            for key, _, _ in self.cameras
        }
        rows: list[dict[str, Any]] = []
        self.progress.start("sample", len(self.lengths))
        try:
            with ending(sequences.values()):
                global_start = 0
                for episode_index, length in enumerate(self.lengths):
                    rows.append(
                        self._write_episode(episode_index, length, global_start, data, sequences)
                    )
                    global_start += length
                    self.progress.advance()
        finally:
            data.close()
            self.progress.finish()
        shutil.rmtree(temp_dir)
        info = self._info()
        write_metadata(
            self.root,
            info=info,
            rows=rows,
            tasks=self.tasks,
            stats=self._dataset_stats(),
            settings=self.settings,
        )

    def _video_path(self, key: str, position: FilePosition) -> Path:
        return self.root / video_file_path(key, position)

    def _write_episode(
        self,
        episode_index: int,
        length: int,
        global_start: int,
        data: DataFileWriter,
        sequences: dict[str, VideoFileSequence],
    ) -> dict[str, Any]:
        frame_index = np.arange(length, dtype=np.int64)
        seconds = frame_index / self.fps
        motion = self.motions[episode_index]
        values: dict[str, np.ndarray] = {
            "observation.state": motion.at(seconds),
            # The command is where the arm is one frame later.
            "action": motion.at(seconds + 1 / self.fps),
            "timestamp": seconds.astype(np.float32),
            "frame_index": frame_index,
            "episode_index": np.full(length, episode_index, dtype=np.int64),
            "index": np.arange(global_start, global_start + length, dtype=np.int64),
            "task_index": np.full(
                length, self.tasks.index(self.episode_tasks[episode_index]), dtype=np.int64
            ),
        }
        position = data.write_episode(self._table(values))
        stats: DatasetStats = {}
        for name in self.numeric_names:
            self.numeric_values[name].append(values[name])
            stats[name] = compute_feature_stats(values[name])
        row: dict[str, Any] = {
            "episode_index": episode_index,
            "tasks": [self.episode_tasks[episode_index]],
            "length": length,
            "data/chunk_index": position[0],
            "data/file_index": position[1],
            "dataset_from_index": global_start,
            "dataset_to_index": global_start + length,
        }
        for number, (key, height, width) in enumerate(self.cameras):
            frames = [
                camera_frame(
                    height,
                    width,
                    episode_index=episode_index,
                    frame_index=frame,
                    position=values["observation.state"][frame],
                    camera_number=number,
                )
                for frame in range(length)
            ]
            # FORMAT.md §4.1: stats of the sampled raw frames (not decoded video), CHW uint8.
            sampled = np.stack([frames[i] for i in sample_indices(length)]).transpose(0, 3, 1, 2)
            stats[key] = compute_image_stats(sampled)
            self.visual_stats[key].append(stats[key])
            window = self._append_video(key, episode_index, frames, sequences[key])
            chunk, file, start, end = video_columns(key)
            row.update({chunk: window[0][0], file: window[0][1], start: window[1], end: window[2]})
        ordered = {name: stats[name] for name in stats_feature_names(self.features)}
        row.update(flatten_episode_stats(ordered))
        return row

    def _append_video(
        self,
        key: str,
        episode_index: int,
        frames: list[np.ndarray],
        sequence: VideoFileSequence,
    ) -> tuple[FilePosition, float, float]:
        """Encode the episode to its own mp4, then copy its packets onto the camera's file."""
        temp = self.root / TEMP_DIR_NAME / f"{key}_{episode_index:06d}.mp4"
        encode_frames(frames, temp, fps=self.fps, settings=self.encoder)
        index = read_packet_index(temp)
        packet_range = plan_packet_range(
            index,
            from_timestamp=0.0,
            fps=self.fps,
            start=0,
            stop=len(frames),
            where=f"{temp} (camera {key}, episode {episode_index})",
        )
        reader = PacketReader(temp)
        try:
            written = sequence.append(
                index,
                packet_range,
                lambda: (
                    list(reader.packets(packet_range.first, packet_range.stop)),
                    reader.stream,
                ),
            )
        finally:
            reader.close()
        temp.unlink()
        return written.position, written.from_timestamp, written.to_timestamp

    def _table(self, values: dict[str, np.ndarray]) -> pa.Table:
        arrays = []
        for field in self.schema:
            column = values[field.name]
            if pa.types.is_fixed_size_list(field.type):
                flat = pa.array(column.reshape(-1), type=field.type.value_type)
                arrays.append(pa.FixedSizeListArray.from_arrays(flat, type=field.type))
            else:
                arrays.append(pa.array(column, type=field.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _dataset_stats(self) -> DatasetStats:
        """stats.json: numeric stats over every value, camera stats aggregated over episodes."""
        stats: DatasetStats = {}
        for name in stats_feature_names(self.features):
            if name in self.numeric_values:
                stats[name] = compute_feature_stats(np.concatenate(self.numeric_values[name]))
            else:
                stats[name] = aggregate_feature_stats(self.visual_stats[name])
        return stats

    def _info(self) -> Info:
        """info.json in 0.6.1 key order; totals are filled in by `write_metadata`."""
        features = copy_info(self.features)
        for key, _, _ in self.cameras:
            # 0.6.1 probes the camera's first file (chunk 0, file 0) for the feature info.
            first = self.root / video_file_path(key, (0, 0))
            features[key]["info"] = video_feature_info(first, self.encoder)
        return {
            "codebase_version": CODEBASE_VERSION,
            "fps": self.fps,
            "features": features,
            "total_episodes": 0,
            "total_frames": 0,
            "total_tasks": 0,
            "chunks_size": self.settings.chunks_size,
            "data_files_size_in_mb": self.settings.data_files_size_in_mb,
            "video_files_size_in_mb": self.settings.video_files_size_in_mb,
            "data_path": DATA_PATH_TEMPLATE,
            "video_path": VIDEO_PATH_TEMPLATE if self.cameras else None,
            "robot_type": ROBOT_TYPE,
            "splits": {},
        }


def _pick_encoder(vcodec: str) -> str:
    """`vcodec` if PyAV has it, else the first available fallback (with a warning)."""
    if first_available_encoder([vcodec]) is not None:
        return vcodec
    fallback = first_available_encoder(FALLBACK_ENCODERS)
    if fallback is None:
        return vcodec  # check_encoder then raises, listing what is available
    logger.warning("video encoder %r is not in this PyAV build; using %r", vcodec, fallback)
    return fallback


def _check_arguments(
    *,
    episodes: int,
    fps: int,
    cameras: Sequence[Camera],
    min_length: int,
    max_length: int,
    sizes: dict[str, float | None],
) -> None:
    """Raise SelectionError listing every out-of-range argument, before anything is written."""
    problems = []
    if not 1 <= episodes <= MAX_IDENTITY:
        problems.append(f"episodes must be 1..{MAX_IDENTITY} (identity blocks), got {episodes}")
    if isinstance(fps, bool) or not isinstance(fps, int) or fps <= 0:
        problems.append(f"fps must be a positive integer, got {fps!r}")
    if not 1 <= min_length <= max_length <= MAX_IDENTITY:
        problems.append(
            f"lengths must satisfy 1 <= min_length <= max_length <= {MAX_IDENTITY},"
            f" got min_length {min_length}, max_length {max_length}"
        )
    for name, value in sizes.items():
        if value is not None and not value > 0:
            problems.append(f"{name} must be > 0, got {value}")
    reserved = {"observation.state", "action", *DEFAULT_FEATURES}
    seen: set[str] = set()
    for key, height, width in cameras:
        if not key or "/" in key or key in reserved or key in seen:
            problems.append(f"camera key {key!r} must be new, unique, non-empty and without '/'")
        seen.add(key)
        identity_width = IDENTITY_BITS * IDENTITY_BLOCK
        if height < 3 * IDENTITY_BLOCK or width < identity_width or height % 2 or width % 2:
            problems.append(
                f"camera {key!r}: {height}x{width} must be even, at least"
                f" {3 * IDENTITY_BLOCK} high and {identity_width} wide (identity blocks, yuv420p)"
            )
    if problems:
        raise SelectionError("cannot write the sample:\n" + "\n".join(f"  - {p}" for p in problems))
