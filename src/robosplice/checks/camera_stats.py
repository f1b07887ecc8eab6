"""Family "camera_stats" (only with decode): camera stats against decoded frames.

Each episode's frames are sampled as the recorder samples them (`sample_indices`), decoded to
uint8 RGB and reduced with `compute_image_stats`; stored per-episode `stats/<camera>/mean|std`
and stats.json's aggregate must agree. Embedded images are lossless, so they must agree to
float32 rounding (`IMAGE_TOLERANCE`); video frames differ from the raw frames the recorder saw
by the codec's loss, so only a visible shift counts (`VIDEO_TOLERANCE`). min, max and count are
not compared (the streaming encoder counts pixels, not frames). Depth cameras are skipped.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq

from robosplice.checks._common import PARQUET_ERRORS
from robosplice.checks.context import Context, EpisodeRows
from robosplice.checks.kinds import Kind
from robosplice.format.data import data_files
from robosplice.format.episodes import episodes_files, video_columns
from robosplice.format.frames import decode_window
from robosplice.format.info import image_keys, is_depth_feature, video_keys
from robosplice.format.paths import STATS_PATH, declared_path
from robosplice.format.stats import (
    FeatureStats,
    aggregate_feature_stats,
    compute_image_stats,
    sample_indices,
)

__all__ = ["IMAGE_TOLERANCE", "KINDS", "VIDEO_TOLERANCE", "run"]

KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="stale_camera_stats", severity="error",
         meaning="with decode=True, a camera's mean or std (per episode or in stats.json)"
         " disagrees with its decoded frames",
         why="policies that normalize images with dataset stats (ACT, diffusion) scale every"
         " pixel with them"),
)  # fmt: skip
"""The kinds this family reports: severity, and why, beside the checks below."""

IMAGE_TOLERANCE: Final = 1e-5
"""Absolute, in [0, 1] units: float32 rounding of lossless frames."""
VIDEO_TOLERANCE: Final = 0.05
"""Absolute, in [0, 1] units: codec loss moves a channel mean or std far less than this."""
_COMPARED: Final = ("mean", "std")


def run(ctx: Context) -> None:
    """Compare camera stats with decoded frames (only with decode, on sound data)."""
    if not ctx.decode or ctx.episodes is None or not ctx.summary.complete:
        return
    if ctx.has_errors(lambda f: (f.file or "").startswith(("data", "meta/episodes", "videos"))):
        return
    cameras = [
        key
        for key in (*image_keys(ctx.features), *video_keys(ctx.features))
        if not is_depth_feature(ctx.features[key])
    ]
    if not cameras:
        return
    stored = _stored_stats(ctx.root, cameras)
    for key in cameras:
        is_video = ctx.features[key].get("dtype") == "video"
        computed = ctx.guarded(
            key,
            None,
            lambda key=key, is_video=is_video: (
                _video_stats(ctx, key, ctx.episodes) if is_video else _image_stats(ctx, key)
            ),
        )
        if not computed:
            continue
        tolerance = VIDEO_TOLERANCE if is_video else IMAGE_TOLERANCE
        for (relative, episode), episode_stats in stored.get(key, {}).items():
            expected = computed.get(episode)
            if expected is None:
                continue
            for stat, message in _differences(episode_stats, expected, tolerance):
                ctx.report(
                    relative,
                    f"episode {episode}",
                    "stale_camera_stats",
                    f"stats/{key}/{stat} of episode {episode}: {message} (its decoded frames);"
                    " run 'robosplice recompute-stats --include-images' to rewrite them",
                    feature=key,
                )
        raw = (ctx.stats or {}).get(key)
        if isinstance(raw, dict):
            total = aggregate_feature_stats([computed[e] for e in sorted(computed)])
            got = {s: np.asarray(raw[s], dtype=np.float64) for s in _COMPARED if s in raw}
            for stat, message in _differences(got, total, tolerance):
                ctx.report(
                    STATS_PATH,
                    f"{key}.{stat}",
                    "stale_camera_stats",
                    f"{key} {stat}: {message} (the aggregate of every episode's decoded frames);"
                    " run 'robosplice recompute-stats --include-images' to rewrite them",
                    feature=key,
                )


def _differences(
    stored: dict[str, npt.NDArray[Any]], expected: FeatureStats, tolerance: float
) -> list[tuple[str, str]]:
    found = []
    for stat in _COMPARED:
        got, want = stored.get(stat), expected.get(stat)
        if got is None or want is None or got.size != want.size:
            continue  # shapes are the stats family's business
        got_flat = got.astype(np.float64).reshape(-1)
        want_flat = np.asarray(want, dtype=np.float64).reshape(-1)
        wrong = np.flatnonzero(~(np.abs(got_flat - want_flat) <= tolerance))
        if len(wrong):
            channel = int(wrong[0])
            found.append(
                (
                    stat,
                    f"channel {channel}: expected {want_flat[channel]:.6g}, got"
                    f" {got_flat[channel]:.6g}",
                )
            )
    return found


def _stored_stats(
    root: Path, cameras: list[str]
) -> dict[str, dict[tuple[str, int], dict[str, npt.NDArray[Any]]]]:
    """camera → (episodes file, episode_index) → stored per-episode mean/std."""
    result: dict[str, dict[tuple[str, int], dict[str, npt.NDArray[Any]]]] = {}
    for path in episodes_files(root):
        try:
            parquet = pq.ParquetFile(path)
            names = parquet.schema_arrow.names
            columns = [
                f"stats/{key}/{stat}"
                for key in cameras
                for stat in _COMPARED
                if f"stats/{key}/{stat}" in names
            ]
            if not columns:
                continue
            table = parquet.read(columns=["episode_index", *columns])
        except PARQUET_ERRORS:
            continue
        relative = path.relative_to(root).as_posix()
        episodes = table.column("episode_index").to_pylist()
        for column in columns:
            key, _, stat = column[len("stats/") :].rpartition("/")
            for episode, cell in zip(episodes, table.column(column).to_pylist(), strict=True):
                if episode is None or cell is None:
                    continue
                try:
                    array = np.asarray(cell, dtype=np.float64)
                except (TypeError, ValueError):
                    continue
                result.setdefault(key, {}).setdefault((relative, int(episode)), {})[stat] = array
    return result


def _image_stats(ctx: Context, key: str) -> dict[int, FeatureStats]:
    """Per episode, stats of the sampled embedded images (PNG: lossless, so exact)."""
    stats: dict[int, FeatureStats] = {}
    pending: dict[int, list[Any]] = {}  # cells of episodes not finished yet (at most one or two)
    for path in data_files(ctx.root):
        parquet = pq.ParquetFile(path)
        for group in range(parquet.metadata.num_row_groups):
            table = parquet.read_row_group(group, columns=["episode_index", key])
            episodes = table.column("episode_index").to_pylist()
            for episode, cell in zip(episodes, table.column(key).to_pylist(), strict=True):
                pending.setdefault(int(episode), []).append(cell)
            for episode in [e for e in pending if e != episodes[-1]]:
                stats[episode] = _sampled_image_stats(pending.pop(episode))
    for episode, cells in pending.items():
        stats[episode] = _sampled_image_stats(cells)
    return stats


def _sampled_image_stats(cells: list[Any]) -> FeatureStats:
    frames = [_decode_image(cells[i]) for i in sample_indices(len(cells))]
    return compute_image_stats(np.stack(frames))


def _decode_image(cell: Any) -> npt.NDArray[np.uint8]:
    payload = cell.get("bytes") if isinstance(cell, dict) else cell
    with av.open(io.BytesIO(bytes(payload))) as container:
        frame = next(container.decode(video=0))
        image: Any = frame.to_ndarray(format="rgb24")
    return np.asarray(image).transpose(2, 0, 1)


def _video_stats(ctx: Context, key: str, episodes: EpisodeRows | None) -> dict[int, FeatureStats]:
    """Per episode, stats of the sampled frames decoded from its window (the loader's view)."""
    fps = ctx.fps
    if episodes is None or fps is None:
        return {}
    chunk, file, start = video_columns(key)[:3]
    stats: dict[int, FeatureStats] = {}
    for row in range(episodes.num_rows):
        episode = episodes.episode_index(row)
        cells = [episodes.columns[name][row] for name in (chunk, file, start)]
        first = episodes.columns["dataset_from_index"][row]
        stop = episodes.columns["dataset_to_index"][row]
        if episode is None or None in cells or first is None or stop is None or stop <= first:
            continue
        path = ctx.root / declared_path(
            ctx.info or {}, "video_path", (int(cells[0]), int(cells[1])), key
        )
        length = int(stop) - int(first)
        wanted = sample_indices(length)
        frames = decode_window(
            path, from_timestamp=float(cells[2]), length=length, fps=fps, wanted=wanted
        )
        stats[episode] = compute_image_stats(frames, from_counts=True)
    return stats
