"""An independent LeRobot v2.1 / v2.0 writer for tests (no robosplice conversion code).

It writes what lerobot 0.3.3's recorder writes (conversion.md §1): one parquet per episode with
`datasets` 3.x metadata (`Sequence` + `length`), one mp4 per episode and camera encoded afresh by
PyAV from frames (so the codec settings are the test's: H.264 with B-frames, HEVC, AV1 g=2),
JSONL metadata and episodes_stats.jsonl computed with plain numpy. Frames and rows come either
from a v3.0 fixture (decoded / read straight from its files) or from a synthetic generator.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from robosplice.dataset import Dataset
from robosplice.testing.frames import decode_episode_frames

os.environ.setdefault("SVT_LOG", "1")  # the SVT-AV1 encoder prints its config otherwise

CODECS: dict[str, dict[str, Any]] = {
    # x264 defaults: B-frames (3), so streams start at dts -2 frames with an edit list.
    "h264": {"codec": "libx264", "options": {"crf": "23", "g": "12", "bf": "2"}},
    "hevc": {
        "codec": "libx265",
        "options": {"crf": "28", "x265-params": "log-level=none:bframes=2:keyint=8:open-gop=0"},
    },
    "av1": {"codec": "libsvtav1", "options": {"crf": "30", "g": "2", "preset": "12"}},
}


def _jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )


def encode_episode(frames: np.ndarray, path: Path, *, fps: int, codec: str) -> None:
    """Encode (N, H, W, 3) uint8 frames into a fresh mp4 (pts k in 1/fps, muxer's time base)."""
    spec = CODECS[codec]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream(spec["codec"], rate=fps, options=dict(spec["options"]))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for k, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = k
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def numeric_stats(values: np.ndarray) -> dict[str, Any]:
    """min/max/mean/std/count over frames, per dimension, as 0.3.3 writes them (.tolist())."""
    array = values.reshape(len(values), -1) if values.ndim > 1 else values.reshape(-1, 1)
    if values.ndim > 2:
        array = values.reshape(-1, values.shape[-1])
    return {
        "min": np.min(array, axis=0).tolist(),
        "max": np.max(array, axis=0).tolist(),
        "mean": np.mean(array, axis=0).tolist(),
        "std": np.std(array, axis=0).tolist(),
        "count": [len(values)],
    }


def image_stats(frames: np.ndarray) -> dict[str, Any]:
    """(3,1,1) per-channel stats in [0,1] over every frame."""
    pixels = frames.reshape(-1, 3).astype(np.float64) / 255.0

    def cube(v: np.ndarray) -> list:
        return v.reshape(3, 1, 1).tolist()

    return {
        "min": cube(pixels.min(axis=0)),
        "max": cube(pixels.max(axis=0)),
        "mean": cube(pixels.mean(axis=0)),
        "std": cube(pixels.std(axis=0)),
        "count": [len(frames)],
    }


def hf_feature(feature: dict[str, Any]) -> dict[str, Any]:
    """datasets 3.x serialization of one feature."""
    dtype, shape = feature["dtype"], list(feature["shape"])
    if dtype == "image":
        return {"_type": "Image"}
    if shape == [1]:
        return {"dtype": dtype, "_type": "Value"}
    if len(shape) == 1:
        return {
            "feature": {"dtype": dtype, "_type": "Value"},
            "length": shape[0],
            "_type": "Sequence",
        }
    return {"shape": shape, "dtype": dtype, "_type": f"Array{len(shape)}D"}


def write_v21(
    root: Path,
    *,
    info_base: dict[str, Any],
    episodes: Sequence[dict[str, Any]],
    tasks: Sequence[str],
    codec: str | None,
    version: str = "v2.1",
    chunks_size: int = 1000,
    extra_episode_keys: Callable[[int], dict[str, Any]] | None = None,
) -> Path:
    """Write a v2.x dataset.

    Each episode is {"table": pa.Table of the data columns (recorder types, any HF metadata),
    "frames": {video_key: (N, H, W, 3) uint8}, "tasks": [...]}.
    """
    fps = int(info_base["fps"])
    features = info_base["features"]
    video_keys = [k for k, f in features.items() if f["dtype"] == "video"]
    data_names = [k for k, f in features.items() if f["dtype"] != "video"]
    hf = {"info": {"features": {k: hf_feature(features[k]) for k in data_names}}}
    episode_rows, stats_rows = [], []
    total = 0
    for number, episode in enumerate(episodes):
        chunk = number // chunks_size
        table = episode["table"].select(data_names)
        table = table.replace_schema_metadata({b"huggingface": json.dumps(hf).encode()})
        path = root / f"data/chunk-{chunk:03d}/episode_{number:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        for key in video_keys:
            encode_episode(
                episode["frames"][key],
                root / f"videos/chunk-{chunk:03d}/{key}/episode_{number:06d}.mp4",
                fps=fps,
                codec=codec or "av1",
            )
        row = {"episode_index": number, "tasks": list(episode["tasks"]), "length": table.num_rows}
        if extra_episode_keys:
            row.update(extra_episode_keys(number))
        episode_rows.append(row)
        stats = {}
        for name in [*data_names, *video_keys]:
            feature = features[name]
            if feature["dtype"] in ("string",):
                continue
            if feature["dtype"] == "video":
                stats[name] = image_stats(episode["frames"][name])
            elif feature["dtype"] == "image":
                stats[name] = image_stats(episode["images"][name])
            else:
                column = table.column(name).combine_chunks()
                values = _numpy(column, feature)
                stats[name] = numeric_stats(values)
        stats_rows.append({"episode_index": number, "stats": stats})
        total += table.num_rows
    info = {
        "codebase_version": version,
        "robot_type": info_base.get("robot_type"),
        "total_episodes": len(episodes),
        "total_frames": total,
        "total_tasks": len(tasks),
        "total_videos": len(episodes) * len(video_keys),
        "total_chunks": math.ceil(len(episodes) / chunks_size),
        "chunks_size": chunks_size,
        "fps": fps if version == "v2.1" else float(fps),
        "splits": {"train": f"0:{len(episodes)}"},
        "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "video_path": (
            "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
            if video_keys
            else None
        ),
        "features": features,
    }
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "meta/info.json").write_text(
        json.dumps(info, indent=4, ensure_ascii=False), encoding="utf-8"
    )
    _jsonl(root / "meta/tasks.jsonl", [{"task_index": i, "task": t} for i, t in enumerate(tasks)])
    _jsonl(root / "meta/episodes.jsonl", episode_rows)
    if version == "v2.1":
        _jsonl(root / "meta/episodes_stats.jsonl", stats_rows)
    else:
        # v2.0: one global stats.json (no count), camera stats of the first episode stand in.
        merged = {}
        for name in stats_rows[0]["stats"]:
            first = stats_rows[0]["stats"][name]
            merged[name] = {k: v for k, v in first.items() if k != "count"}
        (root / "meta/stats.json").write_text(json.dumps(merged, indent=4), encoding="utf-8")
    return root


def _png_rgb(payload: bytes) -> np.ndarray:
    """An image cell's pixels (a fresh PyAV PNG decoder per image)."""
    decoder = av.CodecContext.create("png", "r")
    return decoder.decode(av.Packet(payload))[0].to_ndarray(format="rgb24")


def _numpy(column: pa.Array, feature: dict[str, Any]) -> np.ndarray:
    if isinstance(column, pa.ExtensionArray):
        column = column.storage
    depth = 0
    while pa.types.is_list(column.type) or pa.types.is_fixed_size_list(column.type):
        column = column.flatten()
        depth += 1
    values = column.to_numpy(zero_copy_only=False)
    if depth:
        values = values.reshape(-1, *feature["shape"])
    return values


def v21_from_v3(
    v3_root: Path,
    root: Path,
    *,
    codec: str | None = "av1",
    version: str = "v2.1",
    extra_files: bool = True,
    drop: tuple[str, ...] = (),
) -> Path:
    """A v2.x copy of a v3.0 fixture: rows read per episode, frames decoded and re-encoded.

    `drop` leaves features out (e.g. the (2, 3) `observation.pose` the official converter's
    pandas concat cannot handle).
    """
    dataset = Dataset(v3_root)
    info = json.loads((v3_root / "meta/info.json").read_text())
    features = {}
    for name, feature in info["features"].items():
        if name in drop:
            continue
        feature = {k: v for k, v in feature.items() if k != "fps"}
        if feature["dtype"] == "video":
            keep = (
                "video.height",
                "video.width",
                "video.codec",
                "video.pix_fmt",
                "video.is_depth_map",
                "video.fps",
                "video.channels",
                "has_audio",
            )
            vinfo = dict(feature.get("info") or {})
            vinfo["video.codec"] = {"h264": "h264", "hevc": "hevc", "av1": "av1"}[codec or "av1"]
            vinfo.setdefault("video.is_depth_map", False)
            vinfo = {k: vinfo[k] for k in keep if k in vinfo}
            if version == "v2.0":
                feature.pop("info", None)
                feature["video_info"] = vinfo
            else:
                feature["info"] = vinfo
        features[name] = feature
    data = pa.concat_tables(
        pq.read_table(p) for p in sorted((v3_root / "data").glob("*/*.parquet"))
    )
    data = data.sort_by("index")
    episodes = []
    for number, record in enumerate(dataset.episodes):
        mask = pc.equal(data.column("episode_index"), number)
        table = data.filter(mask)
        frames = {key: decode_episode_frames(dataset, key, number) for key in dataset.video_keys}
        images = {}
        for key in dataset.image_keys:
            images[key] = np.stack([_png_rgb(c["bytes"]) for c in table.column(key).to_pylist()])
        episodes.append(
            {"table": table, "frames": frames, "images": images, "tasks": list(record.tasks)}
        )
    write_v21(
        root,
        info_base={"fps": info["fps"], "robot_type": info.get("robot_type"), "features": features},
        episodes=episodes,
        tasks=dataset.tasks,
        codec=codec,
        version=version,
        extra_episode_keys=(lambda n: {"quality": "good" if n % 2 else "ok"})
        if extra_files
        else None,
    )
    if extra_files:
        (root / "meta/modality.json").write_text('{"state": {"joints": {"start": 0, "end": 6}}}\n')
        (root / "README.md").write_text("# a v2.1 dataset\n")
    return root


def synthetic_v21(
    root: Path,
    *,
    episodes: int,
    length: int,
    codec: str = "h264",
    size: tuple[int, int] = (16, 16),
    noise: int = 0,
) -> Path:
    """Many short fixed-length episodes (the official converter's drift case, conversion.md §2.3).

    `noise` > 0 adds seeded per-pixel noise of that amplitude, so the mp4s weigh what camera
    footage does (for benchmarks; flat frames compress to almost nothing)."""
    fps = 30
    height, width = size
    features = {
        "observation.state": {"dtype": "float32", "shape": [2], "names": ["a", "b"]},
        "observation.images.cam": {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.height": height,
                "video.width": width,
                "video.codec": codec,
                "video.pix_fmt": "yuv420p",
                "video.is_depth_map": False,
                "video.fps": fps,
                "video.channels": 3,
                "has_audio": False,
            },
        },
        "timestamp": {"dtype": "float32", "shape": [1], "names": None},
        "frame_index": {"dtype": "int64", "shape": [1], "names": None},
        "episode_index": {"dtype": "int64", "shape": [1], "names": None},
        "index": {"dtype": "int64", "shape": [1], "names": None},
        "task_index": {"dtype": "int64", "shape": [1], "names": None},
    }
    rows = []
    for number in range(episodes):
        k = np.arange(length)
        state = np.stack([number + k * 0.5, -k * 0.25], axis=1).astype(np.float32)
        table = pa.table(
            {
                "observation.state": pa.FixedSizeListArray.from_arrays(
                    pa.array(state.reshape(-1)), 2
                ),
                "timestamp": pa.array((k / fps).astype(np.float32)),
                "frame_index": pa.array(k, pa.int64()),
                "episode_index": pa.array(np.full(length, number), pa.int64()),
                "index": pa.array(number * length + k, pa.int64()),
                "task_index": pa.array(np.full(length, number % 2), pa.int64()),
            }
        )
        frames = np.zeros((length, height, width, 3), np.uint8)
        for f in range(length):
            frames[f, :, :, 0] = (number * 7) % 256
            frames[f, :, :, 1] = (f * 40) % 256
            frames[f, : height // 2, : width // 2, 2] = 255
        if noise:
            grain = np.random.default_rng(number).integers(0, noise, frames.shape, np.uint8)
            frames = frames // 2 + grain
        rows.append(
            {
                "table": table,
                "frames": {"observation.images.cam": frames},
                "tasks": [f"task {number % 2}"],
            }
        )
    return write_v21(
        root,
        info_base={"fps": fps, "robot_type": "sim", "features": features},
        episodes=rows,
        tasks=["task 0", "task 1"],
        codec=codec,
    )


def continuous_v3(v3_root: Path, root: Path, *, codec: str = "av1") -> Path:
    """A copy of a v3.0 dataset whose cameras are one continuous encode each (as 0.6.1
    `convert_image_to_video_dataset` writes them): with g=2, every other episode starts mid-GOP.

    Only the mp4s and the `videos/*` columns of meta/episodes change; windows are k/fps exact.
    """
    import shutil

    shutil.copytree(v3_root, root)
    dataset = Dataset(v3_root)
    fps = int(dataset.fps)
    episodes_path = sorted((root / "meta/episodes").glob("*/*.parquet"))
    assert len(episodes_path) == 1, "one episodes file expected"
    table = pq.read_table(episodes_path[0])
    for key in dataset.video_keys:
        frames = np.concatenate(
            [decode_episode_frames(dataset, key, n) for n in range(dataset.num_episodes)]
        )
        shutil.rmtree(root / "videos" / key)
        encode_episode(frames, root / f"videos/{key}/chunk-000/file-000.mp4", fps=fps, codec=codec)
        starts = np.cumsum([0] + [e.length for e in dataset.episodes])
        columns = {
            f"videos/{key}/chunk_index": pa.array(np.zeros(len(starts) - 1, np.int64)),
            f"videos/{key}/file_index": pa.array(np.zeros(len(starts) - 1, np.int64)),
            f"videos/{key}/from_timestamp": pa.array(starts[:-1] / fps),
            f"videos/{key}/to_timestamp": pa.array(starts[1:] / fps),
        }
        for name, values in columns.items():
            table = table.set_column(table.schema.get_field_index(name), name, values)
    pq.write_table(table, episodes_path[0])
    return root
