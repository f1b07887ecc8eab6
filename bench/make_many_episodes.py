"""A synthetic LeRobot v3.0 dataset of many short episodes (default 100,000), built in seconds.

Why: issue 22 asks what an edit costs when a dataset holds tens of thousands of episodes (DROID:
92k), where per-episode Python, not bytes, sets the price. Recording that many episodes is out
of the question, so everything is written column-wise with pyarrow/numpy:

- episodes of 8–20 frames (seeded), `observation.state` and `action` (6 float32 each), one task
  in four; data files of `--episodes-per-file` episodes, one row group each;
- one camera `observation.images.cam` (64×64 h264, yuv420p): a small palette of solid colours
  is encoded once with libx264 as intra frames (every frame a key frame, so any cut is cheap),
  and the long mp4 files are muxed from those packets, episode e showing colour e % palette
  throughout, its window at [frames before it in the file / fps, + length / fps);
- meta/episodes with every `stats/*` column the recorder writes (numeric stats per episode from
  the rows; camera stats from the raw colours as the recorder samples them), stats.json their
  aggregate, tasks, info.

    python bench/make_many_episodes.py                       # ~/.cache/robosplice/bench/many-100000
    python bench/make_many_episodes.py --episodes 1000 --out /tmp/many-1000

Deterministic: the same arguments give the same bytes (mp4 muxing included). The build goes to
`<out>.partial` and is renamed into place; an existing `<out>` is reused unless `--force`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.format.info import CODEBASE_VERSION, DEFAULT_FEATURES, copy_info, write_info
from robosplice.format.paths import (
    DATA_PATH_TEMPLATE,
    STATS_PATH,
    VIDEO_PATH_TEMPLATE,
    data_file_path,
    episodes_file_path,
    video_file_path,
)
from robosplice.format.stats import QUANTILE_KEYS, QUANTILES, compute_image_stats, sample_indices
from robosplice.format.tasks import write_tasks

FPS: Final = 30
CAMERA: Final = "observation.images.cam"
SIZE: Final = 64
DIMS: Final = 6
TASKS: Final = ("pick the cube", "place the cube", "open the drawer", "close the drawer")
PALETTE: Final = 24
NUMERIC: Final = ("observation.state", "action")


def default_out(episodes: int) -> Path:
    return Path.home() / ".cache" / "robosplice" / "bench" / f"many-{episodes}"


def _list_array(values: npt.NDArray[Any], levels: int) -> pa.Array:
    """(n, d1, …) → `levels` nested lists of the trailing axes (the way pandas writes numpy)."""
    flat = values.reshape(-1)
    array: pa.Array = pa.array(flat)
    shape = values.shape
    for axis in range(levels, 0, -1):
        width = int(shape[axis])
        outer = int(np.prod(shape[:axis]))
        offsets = pa.array(np.arange(0, outer * width + 1, width, dtype=np.int32))
        array = pa.ListArray.from_arrays(offsets, array)
    return array


def _episode_stats(
    values: npt.NDArray[Any], lengths: npt.NDArray[np.int64], starts: npt.NDArray[np.int64]
) -> dict[str, npt.NDArray[Any]]:
    """Per-episode stats of (rows, d) values, as (episodes, d) float64 blocks (count (episodes, 1)).

    Episodes of one length are reduced together; min/max after promotion to float32 at least,
    mean/std in float64 (population std), quantiles by numpy's linear rule.
    """
    promoted = values if values.dtype.kind == "f" else values.astype(np.float32)
    episodes, width = len(lengths), promoted.shape[1]
    out = {k: np.empty((episodes, width)) for k in ("min", "max", "mean", "std", *QUANTILE_KEYS)}
    for length in np.unique(lengths):
        which = np.flatnonzero(lengths == length)
        block = promoted[starts[which, None] + np.arange(length)].astype(np.float64)
        out["min"][which] = block.min(axis=1)
        out["max"][which] = block.max(axis=1)
        out["mean"][which] = block.mean(axis=1)
        out["std"][which] = block.std(axis=1)
        quantiles = np.quantile(block, QUANTILES, axis=1)
        for key, value in zip(QUANTILE_KEYS, quantiles, strict=True):
            out[key][which] = value
    out["count"] = lengths[:, None].astype(np.int64)
    return out


def _aggregate(stats: dict[str, npt.NDArray[Any]]) -> dict[str, Any]:
    """stats.json's entry from per-episode blocks, by `aggregate_feature_stats`' formulas."""
    counts = stats["count"][:, 0].astype(np.float64)
    total = counts.sum()
    weights = counts.reshape(-1, *([1] * (stats["mean"].ndim - 1)))
    mean = (stats["mean"] * weights).sum(axis=0) / total
    variance = ((stats["std"] ** 2 + (stats["mean"] - mean) ** 2) * weights).sum(axis=0) / total
    entry = {
        "min": stats["min"].min(axis=0),
        "max": stats["max"].max(axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": np.array([int(total)]),
    }
    for key in QUANTILE_KEYS:
        entry[key] = (stats[key] * weights).sum(axis=0) / total
    return {key: value.tolist() for key, value in entry.items()}


def _palette() -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(1234)
    return rng.integers(16, 240, size=(PALETTE, 3)).astype(np.uint8)


def _palette_stream(colours: npt.NDArray[np.uint8], path: Path) -> None:
    """Encode each colour as one intra-coded h264 frame into a small mp4 (the template)."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = 1
        stream.codec_context.max_b_frames = 0
        stream.options = {"preset": "ultrafast", "crf": "30", "threads": "1"}
        for number, colour in enumerate(colours):
            image = np.ascontiguousarray(np.broadcast_to(colour, (SIZE, SIZE, 3)))
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = number
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _write_video(path: Path, frames: npt.NDArray[np.int64], palette: Path) -> None:
    """Mux one mp4: frame k (pts k / fps) is the palette's packet `frames[k]`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(palette)) as source, av.open(str(path), "w", format="mp4") as out:
        template = source.streams.video[0]
        demuxed = [p for p in source.demux(template) if p.size]
        if len(demuxed) != PALETTE or not all(p.is_keyframe for p in demuxed):
            raise RuntimeError("the palette must be one key frame per colour")
        packets = [bytes(p) for p in demuxed]
        stream = out.add_stream_from_template(template)
        base = Fraction(1, FPS)
        for pts, colour in enumerate(frames.tolist()):
            packet = av.Packet(packets[colour])
            packet.stream = stream
            packet.time_base = base
            packet.pts = packet.dts = pts
            packet.duration = 1
            packet.is_keyframe = True
            out.mux(packet)


def _info(episodes: int, frames: int, tasks: int) -> dict[str, Any]:
    state = {"dtype": "float32", "shape": [DIMS], "names": [f"joint_{d}" for d in range(DIMS)]}
    features: dict[str, Any] = {"observation.state": state, "action": dict(state)}
    features[CAMERA] = {
        "dtype": "video",
        "shape": [SIZE, SIZE, 3],
        "names": ["height", "width", "channels"],
        "info": {
            "video.height": SIZE,
            "video.width": SIZE,
            "video.codec": "h264",
            "video.pix_fmt": "yuv420p",
            "video.fps": FPS,
            "video.channels": 3,
            "has_audio": False,
            "video.g": 1,
            "video.crf": 30,
            "video.preset": "ultrafast",
            "video.fast_decode": 0,
            "video.video_backend": "pyav",
            "video.extra_options": {},
            "is_depth_map": False,
        },
    }
    features.update(copy_info(DEFAULT_FEATURES))
    return {
        "codebase_version": CODEBASE_VERSION,
        "fps": FPS,
        "features": features,
        "total_episodes": episodes,
        "total_frames": frames,
        "total_tasks": tasks,
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200,
        "data_path": DATA_PATH_TEMPLATE,
        "video_path": VIDEO_PATH_TEMPLATE,
        "robot_type": "synthetic_arm",
        "splits": {"train": f"0:{episodes}"},
    }


def build(root: Path, episodes: int, *, episodes_per_file: int = 10_000, seed: int = 0) -> None:
    """Write the dataset at `root` (which must not exist)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(8, 21, size=episodes).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    rows = int(lengths.sum())
    episode_of_row = np.repeat(np.arange(episodes, dtype=np.int64), lengths)
    frame_index = np.arange(rows, dtype=np.int64) - np.repeat(starts, lengths)
    task_of_episode = np.arange(episodes, dtype=np.int64) % len(TASKS)
    # Smooth per-episode trajectories: an offset per episode plus a slow sine and sensor noise.
    offsets = rng.normal(size=(episodes, DIMS)).astype(np.float32)
    phase = np.sin(frame_index[:, None] * 0.2 + np.arange(DIMS)).astype(np.float32)
    state = (
        offsets[episode_of_row]
        + phase
        + rng.normal(scale=0.01, size=(rows, DIMS)).astype(np.float32)
    )
    action = np.roll(state, -1, axis=0)
    last = starts + lengths - 1
    action[last] = state[last]
    columns: dict[str, npt.NDArray[Any]] = {
        "observation.state": state,
        "action": action,
        "timestamp": (frame_index / FPS).astype(np.float32),
        "frame_index": frame_index,
        "episode_index": episode_of_row,
        "index": np.arange(rows, dtype=np.int64),
        "task_index": task_of_episode[episode_of_row],
    }

    # data files: `episodes_per_file` episodes each, one row group
    groups = range(0, episodes, episodes_per_file)
    data_position = np.arange(episodes) // episodes_per_file
    for number, first in enumerate(groups):
        end = min(first + episodes_per_file, episodes)
        lo, hi = int(starts[first]), int(starts[end - 1] + lengths[end - 1])
        table = pa.table(
            {name: _list_array(values[lo:hi], values.ndim - 1) for name, values in columns.items()}
        )
        path = root / data_file_path((0, number))
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, row_group_size=hi - lo)

    # videos: one file per data file, episodes back to back
    colours = _palette()
    palette = root / "palette.mp4"
    _palette_stream(colours, palette)
    colour_of_episode = np.arange(episodes) % PALETTE
    start_in_file = starts - starts[data_position * episodes_per_file]
    for number, first in enumerate(groups):
        end = min(first + episodes_per_file, episodes)
        lo, hi = int(starts[first]), int(starts[end - 1] + lengths[end - 1])
        _write_video(
            root / video_file_path(CAMERA, (0, number)),
            colour_of_episode[episode_of_row[lo:hi]],
            palette,
        )
    palette.unlink()

    # per-episode stats, as the recorder writes them
    stats: dict[str, dict[str, npt.NDArray[Any]]] = {}
    for name in NUMERIC:
        stats[name] = _episode_stats(columns[name], lengths, starts)
    camera: dict[str, npt.NDArray[Any]] = {}
    cache: dict[tuple[int, int], dict[str, npt.NDArray[Any]]] = {}
    for colour, length in sorted(set(zip(colour_of_episode.tolist(), lengths.tolist()))):
        count = len(sample_indices(length))
        frames = np.broadcast_to(colours[colour][None, :, None, None], (count, 3, SIZE, SIZE))
        cache[(colour, length)] = compute_image_stats(frames)
    keys = list(cache[next(iter(cache))])
    for key in keys:
        camera[key] = np.stack(
            [cache[(c, n)][key] for c, n in zip(colour_of_episode.tolist(), lengths.tolist())]
        ).astype(np.int64 if key == "count" else np.float64)
    stats[CAMERA] = camera
    for name in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        stats[name] = _episode_stats(columns[name][:, None], lengths, starts)

    # meta/episodes: one file (100k rows ≈ a few MB), the recorder's column order
    video_from = start_in_file / FPS
    table: dict[str, pa.Array] = {
        "episode_index": pa.array(np.arange(episodes, dtype=np.int64)),
        "tasks": pa.array([[TASKS[t]] for t in task_of_episode.tolist()], pa.list_(pa.string())),
        "length": pa.array(lengths),
        "data/chunk_index": pa.array(np.zeros(episodes, dtype=np.int64)),
        "data/file_index": pa.array(data_position.astype(np.int64)),
        "dataset_from_index": pa.array(starts),
        "dataset_to_index": pa.array(starts + lengths),
        f"videos/{CAMERA}/chunk_index": pa.array(np.zeros(episodes, dtype=np.int64)),
        f"videos/{CAMERA}/file_index": pa.array(data_position.astype(np.int64)),
        f"videos/{CAMERA}/from_timestamp": pa.array(video_from.astype(np.float64)),
        f"videos/{CAMERA}/to_timestamp": pa.array((start_in_file + lengths) / FPS),
    }
    order = ("observation.state", "action", CAMERA, *DEFAULT_FEATURES)
    for name in order:
        for key in ("min", "max", "mean", "std", "count", *QUANTILE_KEYS):
            block = stats[name][key]
            table[f"stats/{name}/{key}"] = _list_array(block, block.ndim - 1)
    table["meta/episodes/chunk_index"] = pa.array(np.zeros(episodes, dtype=np.int64))
    table["meta/episodes/file_index"] = pa.array(np.zeros(episodes, dtype=np.int64))
    path = root / episodes_file_path((0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(table), path, compression="snappy")

    write_tasks(root, list(TASKS))
    write_info(root, _info(episodes, rows, len(TASKS)))  # type: ignore[arg-type]
    aggregate = {name: _aggregate(stats[name]) for name in order}
    (root / STATS_PATH).write_text(json.dumps(aggregate, indent=4), encoding="utf-8")


def ensure(
    episodes: int, out: Path | None = None, *, force: bool = False, episodes_per_file: int = 10_000
) -> Path:
    """The dataset at `out` (default `default_out(episodes)`), built unless it exists."""
    root = out or default_out(episodes)
    if root.exists() and not force:
        return root
    staging = root.with_name(root.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    build(staging, episodes, episodes_per_file=episodes_per_file)
    if root.exists():
        shutil.rmtree(root)
    staging.rename(root)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--episodes-per-file", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--force", action="store_true", help="rebuild even if it exists")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    root = ensure(
        args.episodes, args.out, force=args.force, episodes_per_file=args.episodes_per_file
    )
    print(f"{root} ({time.perf_counter() - began:.1f} s)", file=sys.stderr)
    print(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
