"""Realistic numeric datasets for tests and benchmarks: smooth multi-joint trajectories with sensor
noise, a natural pause of a few frames at each end, different scales per dimension and a gripper,
written the way pandas writes parquet (`list<float>` columns, one row group per file), with exact
per-episode and dataset stats. No cameras.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.dataset import Dataset
from robosplice.engine.meta import write_metadata
from robosplice.format.info import CODEBASE_VERSION, DEFAULT_FEATURES, copy_info
from robosplice.format.paths import DATA_PATH_TEMPLATE, data_file_path
from robosplice.format.stats import (
    aggregate_feature_stats,
    compute_feature_stats,
    flatten_episode_stats,
)
from robosplice.plan.model import OutputSettings

Episode = dict[str, np.ndarray]


def joint_names(dims: int) -> list[str]:
    """Arm joints, then a gripper last."""
    return [f"joint_{d}" for d in range(dims - 1)] + ["gripper"]


def _speed(length: int, head: int, tail: int, ramp: int) -> np.ndarray:
    """0 while idle, a smooth ramp up, 1 while moving, a smooth ramp down, 0 at the end."""
    speed = np.ones(length)
    frames = np.arange(length)
    up = np.clip((frames - head) / ramp, 0, 1)
    down = np.clip((length - 1 - tail - frames) / ramp, 0, 1)
    smooth = lambda x: x * x * (3 - 2 * x)  # noqa: E731
    return speed * smooth(up) * smooth(down)


def realistic_episode(
    rng: np.random.Generator, length: int, scales: np.ndarray, fps: float
) -> Episode:
    """One episode: state (with sensor noise) and action (the command one frame ahead)."""
    dims = len(scales)
    head, tail = (int(v) for v in rng.integers(0, 6, size=2))
    progress = np.cumsum(_speed(length + 1, head, tail, ramp=4)) / fps  # "motion time", s
    centre = rng.uniform(-0.5, 0.5, dims) * scales
    clean = np.tile(centre, (length + 1, 1))
    for _ in range(3):
        amplitude = rng.uniform(0.1, 0.4, dims) * scales
        frequency = rng.uniform(0.1, 0.6, dims)
        phase = rng.uniform(0, 2 * np.pi, dims)
        clean += amplitude * (
            np.sin(2 * np.pi * frequency * progress[:, None] + phase) - np.sin(phase)
        )
    # The gripper opens and closes: smooth steps between two levels.
    closes = np.array([rng.uniform(0.2, 0.4), rng.uniform(0.6, 0.8)]) * progress[-1]
    level = np.clip((progress - closes[0]) * fps / 5, 0, 1) - np.clip(
        (progress - closes[1]) * fps / 5, 0, 1
    )
    clean[:, -1] = scales[-1] * (0.1 + 0.8 * level)
    noise = rng.normal(size=(length, dims)) * scales * 0.002
    return {
        "observation.state": (clean[:length] + noise).astype(np.float32),
        "action": clean[1:].astype(np.float32),
    }


def realistic_episodes(
    episodes: int = 12,
    *,
    dims: int = 14,
    fps: float = 30,
    min_length: int = 150,
    max_length: int = 300,
    seed: int = 0,
) -> list[Episode]:
    """Episodes of one robot: per-dimension scales from 0.03 to 30 (radians, mm, a gripper %)."""
    rng = np.random.default_rng(seed)
    scales = 10 ** rng.uniform(-1.5, 1.5, dims)
    lengths = rng.integers(min_length, max_length + 1, size=episodes)
    return [realistic_episode(rng, int(n), scales, fps) for n in lengths]


def _list_column(values: np.ndarray) -> pa.Array:
    """(rows, width) → list<float> (how pandas writes numpy rows), or a scalar column."""
    if values.ndim == 1:
        return pa.array(values)
    rows, width = values.shape[0], int(np.prod(values.shape[1:]))
    flat = pa.array(values.reshape(-1))
    offsets = pa.array(np.arange(0, rows * width + 1, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, flat)


def write_numeric_dataset(
    root: str | Path,
    episodes: Sequence[Mapping[str, np.ndarray]],
    *,
    fps: int = 30,
    names: Mapping[str, Any] | None = None,
    tasks: Sequence[str] = ("do the task",),
    episodes_per_file: int = 50,
) -> Dataset:
    """Write `episodes` (feature → (frames, …) arrays, all episodes the same features; an
    optional "timestamp" array overrides frame_index / fps) as a LeRobot v3.0 dataset."""
    root = Path(root)
    first = episodes[0]
    keys = [k for k in first if k != "timestamp"]
    features: dict[str, Any] = {}
    for key in keys:
        shape = list(first[key].shape[1:]) or [1]
        features[key] = {
            "dtype": str(first[key].dtype),
            "shape": shape,
            "names": (names or {}).get(key),
        }
    features.update(copy_info(DEFAULT_FEATURES))
    rows: list[dict[str, Any]] = []
    episode_stats: dict[str, list[Any]] = {}
    start = 0
    for number in range(0, len(episodes), episodes_per_file):
        position = (0, number // episodes_per_file)
        tables = []
        for episode_index in range(number, min(number + episodes_per_file, len(episodes))):
            values = dict(episodes[episode_index])
            length = len(values[keys[0]])
            frame_index = np.arange(length, dtype=np.int64)
            stamps = values.pop("timestamp", None)
            values["timestamp"] = (
                (frame_index / fps).astype(np.float32) if stamps is None else stamps
            ).astype(np.float32)
            values["frame_index"] = frame_index
            values["episode_index"] = np.full(length, episode_index, dtype=np.int64)
            values["index"] = np.arange(start, start + length, dtype=np.int64)
            task = episode_index % len(tasks)
            values["task_index"] = np.full(length, task, dtype=np.int64)
            tables.append(pa.table({name: _list_column(values[name]) for name in features}))
            with np.errstate(all="ignore"):  # NaN/Inf injected on purpose give NaN stats
                stats = {name: compute_feature_stats(values[name]) for name in features}
            for name in features:
                episode_stats.setdefault(name, []).append(stats[name])
            rows.append(
                {
                    "episode_index": episode_index,
                    "tasks": [tasks[task]],
                    "length": length,
                    "data/chunk_index": position[0],
                    "data/file_index": position[1],
                    "dataset_from_index": start,
                    "dataset_to_index": start + length,
                    **flatten_episode_stats(stats),
                }
            )
            start += length
        path = root / data_file_path(position)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.concat_tables(tables), path)
    info: dict[str, Any] = {
        "codebase_version": CODEBASE_VERSION,
        "fps": fps,
        "features": features,
        "total_episodes": 0,
        "total_frames": 0,
        "total_tasks": 0,
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200,
        "data_path": DATA_PATH_TEMPLATE,
        "video_path": None,
        "robot_type": "synthetic_arm",
        "splits": {},
    }
    with np.errstate(all="ignore"):  # stats.json: the aggregate of the episodes, as edits write it
        stats = {n: aggregate_feature_stats(p) for n, p in episode_stats.items()}
    used = sorted({e % len(tasks) for e in range(len(episodes))})
    write_metadata(
        root,
        info=info,
        rows=rows,
        tasks=[tasks[t] for t in used] if used == list(range(len(used))) else list(tasks),
        stats=stats,
        settings=OutputSettings(),
    )
    return Dataset(root)
