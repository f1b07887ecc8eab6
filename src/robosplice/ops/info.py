"""`info`: a summary of a dataset for people (`render_info`) and scripts (`dataset_info`)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from robosplice._types import DatasetLike
from robosplice.dataset import open_dataset
from robosplice.format.info import feature_shape
from robosplice.format.paths import INFO_PATH
from robosplice.format.v21 import V20, V21, read_v2_source, read_version
from robosplice.history import HISTORY_PATH, describe_entry, read_history

_HISTORY_SHOWN = 8


def _tree_bytes(root: Any, folder: str) -> tuple[int, int]:
    paths = (
        [p for p in (root / folder).rglob("*") if p.is_file()] if (root / folder).exists() else []
    )
    return len(paths), sum(p.stat().st_size for p in paths)


def dataset_info(dataset: DatasetLike) -> dict[str, Any]:
    """Episodes, frames, fps, features, cameras, tasks, bytes on disk and the edit log, as JSON data.

    Example:
        >>> dataset_info("data/pusht")["total_frames"]
    """
    if (
        isinstance(dataset, (str, os.PathLike))
        and (Path(dataset) / INFO_PATH).is_file()
        and read_version(Path(dataset)) in (V20, V21)
    ):
        return _v2_info(Path(dataset).expanduser().resolve())
    source = open_dataset(dataset)
    lengths = [e.length for e in source.episodes]
    episode_tasks = [list(e.tasks) for e in source.episodes]
    return _summary(
        source.root,
        source.info,
        fps=source.fps,
        lengths=lengths,
        episode_tasks=episode_tasks,
        tasks=list(source.tasks),
        camera_keys=list(source.camera_keys),
        history=read_history(source.root),
    )


def _v2_info(root: Path) -> dict[str, Any]:
    """The summary of a v2.0/v2.1 folder (read from its JSONL metadata), with the way to v3.0."""
    source = read_v2_source(root, derive_missing_stats=True)
    summary = _summary(
        root,
        source.info,
        fps=source.info["fps"],
        lengths=[e.length for e in source.episodes],
        episode_tasks=[list(e.row.get("tasks") or []) for e in source.episodes],
        tasks=source.tasks,
        camera_keys=[k for k, f in source.features.items() if f.get("dtype") in ("video", "image")],
        history=[],
    )
    summary["advice"] = (
        f"{source.version}: robosplice edits v3.0; make it one with 'robosplice repair"
        f" {root} OUT' (or 'robosplice convert {root} OUT --to v3.0')"
    )
    return summary


def _summary(
    root: Path,
    info: dict[str, Any],
    *,
    fps: Any,
    lengths: list[int],
    episode_tasks: list[list[str]],
    tasks: list[str],
    camera_keys: list[str],
    history: list[Any],
) -> dict[str, Any]:
    features = info["features"]
    frames = sum(lengths)
    task_counts: Counter[str] = Counter()
    for names in episode_tasks:
        task_counts.update(set(names))
    cameras = {}
    for key in camera_keys:
        feature = features[key]
        video = feature.get("info") or {}
        height, width, channels = [*feature_shape(feature), None, None, None][:3]
        cameras[key] = {
            "storage": feature["dtype"],
            "codec": video.get("video.codec"),
            "width": video.get("video.width", width),
            "height": video.get("video.height", height),
            "pix_fmt": video.get("video.pix_fmt"),
            "channels": video.get("video.channels", channels),
            "is_depth_map": bool(video.get("is_depth_map") or video.get("video.is_depth_map")),
        }
    files = {}
    for folder in ("data", "videos", "meta"):
        count, size = _tree_bytes(root, folder)
        files[folder] = {"files": count, "bytes": size}
    return {
        "root": str(root),
        "codebase_version": info.get("codebase_version"),
        "robot_type": info.get("robot_type"),
        "fps": fps,
        "total_episodes": len(lengths),
        "total_frames": frames,
        "duration_s": frames / float(fps) if fps else None,
        "episode_length": {
            "min": min(lengths, default=0),
            "max": max(lengths, default=0),
            "mean": (frames / len(lengths)) if lengths else 0,
        },
        "features": {
            name: {
                "dtype": f.get("dtype"),
                "shape": list(feature_shape(f)),
                "names": f.get("names"),
            }
            for name, f in features.items()
        },
        "cameras": cameras,
        "tasks": [
            {"task_index": i, "task": task, "episodes": task_counts.get(task, 0)}
            for i, task in enumerate(tasks)
        ],
        "files": files,
        "settings": {
            key: info.get(key)
            for key in ("chunks_size", "data_files_size_in_mb", "video_files_size_in_mb")
        },
        "history": history,
    }


def _size(size_bytes: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size_bytes < 1024 or unit == "GiB":
            return f"{size_bytes:.0f} {unit}" if unit == "B" else f"{size_bytes:.1f} {unit}"
        size_bytes /= 1024  # type: ignore[assignment]
    return f"{size_bytes} B"


def render_info(summary: dict[str, Any]) -> str:
    """The summary as aligned text."""
    lines = [
        f"{summary['root']}  (LeRobot {summary['codebase_version']})",
        f"  robot type   {summary['robot_type']}",
        f"  episodes     {summary['total_episodes']}  (length {summary['episode_length']['min']}"
        f"–{summary['episode_length']['max']}, mean {summary['episode_length']['mean']:.1f})",
        f"  frames       {summary['total_frames']}  at {summary['fps']} fps"
        f" = {summary['duration_s'] or 0:.1f} s",
        "  features",
    ]
    width = max((len(name) for name in summary["features"]), default=0)
    for name, feature in summary["features"].items():
        lines.append(f"    {name:<{width}}  {feature['dtype']:<8} {tuple(feature['shape'])}")
    if summary["cameras"]:
        lines.append("  cameras")
        for name, camera in summary["cameras"].items():
            detail = f"{camera['width']}x{camera['height']}"
            if camera["storage"] == "video":
                detail += f" {camera['codec']} {camera['pix_fmt']}"
            if camera["is_depth_map"]:
                detail += " depth"
            lines.append(f"    {name:<{width}}  {camera['storage']:<8} {detail}")
    lines.append(f"  tasks        {len(summary['tasks'])}")
    for task in summary["tasks"]:
        lines.append(f"    [{task['task_index']}] {task['task']}  ({task['episodes']} episodes)")
    lines.append("  files")
    for folder, stats in summary["files"].items():
        lines.append(f"    {folder:<7} {stats['files']:>5} files  {_size(stats['bytes'])}")
    if summary.get("advice"):
        lines.append(f"  note         {summary['advice']}")
    history = summary.get("history") or []
    if history:
        lines.append(f"  history      {len(history)} edit(s), oldest first ({HISTORY_PATH})")
        if len(history) > _HISTORY_SHOWN:
            lines.append(f"    … {len(history) - _HISTORY_SHOWN} earlier")
        lines.extend(f"    {describe_entry(entry)}" for entry in history[-_HISTORY_SHOWN:])
    return "\n".join(lines)
