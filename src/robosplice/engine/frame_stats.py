"""Stats that need more than a numeric column: camera frames and relative-action chunks.

Camera stats follow 0.6.1 `compute_episode_stats` (FORMAT.md §4.1): the frames picked by
`sample_indices`, as uint8 CHW RGB, per-channel stats divided by 255. Images come from the PNG
bytes in the data rows; video frames are decoded from the written output file, inside the
episode's window. Relative-action stats mirror 0.6.1 `compute_relative_action_stats`, including
its running histogram updates of 50 000 chunk starts at a time. Nothing here writes files.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
import numpy.typing as npt

from robosplice.errors import VideoError
from robosplice.format.frames import decode_window
from robosplice.format.stats import (
    NUM_QUANTILE_BINS,
    QUANTILE_KEYS,
    QUANTILES,
    FeatureStats,
    compute_image_stats,
    sample_indices,
)

# 0.6.1 compute_relative_action_stats feeds RunningQuantileStats this many chunk starts at a time.
RELATIVE_BATCH_STARTS: Final = 50_000


def decode_png_frames(cells: Sequence[Mapping[str, Any] | None], root: Path | None = None) -> Any:
    """Decode image cells (`{bytes, path}` structs) into (n, C, H, W) uint8 RGB, or None.

    A cell without bytes is read from its path (relative to `root` if not absolute); None is
    returned when a frame cannot be found, so the caller keeps the stats it had.
    """
    frames = []
    for cell in cells:
        payload = (cell or {}).get("bytes")
        if payload is None:
            location = (cell or {}).get("path")
            if not location:
                return None
            path = Path(location)
            if not path.is_absolute() and root is not None:
                path = root / path
            if not path.is_file():
                return None
            payload = path.read_bytes()
        frames.append(_decode_image(payload))
    return np.stack(frames)


def _decode_image(payload: bytes) -> npt.NDArray[np.uint8]:
    try:
        container: Any
        with av.open(io.BytesIO(payload)) as container:
            frame = next(container.decode(video=0))
            image: Any = frame.to_ndarray(format="rgb24")
    except (av.error.FFmpegError, StopIteration) as exc:
        raise VideoError(f"an image cell cannot be decoded as an image ({exc})") from exc
    return image.transpose(2, 0, 1)


def image_episode_stats(
    cells: Sequence[Mapping[str, Any] | None], root: Path
) -> FeatureStats | None:
    """Stats of one episode's image column, sampled as 0.6.1 samples them (None: undecodable)."""
    picked = [cells[i] for i in sample_indices(len(cells))]
    frames = decode_png_frames(picked, root)
    return None if frames is None else compute_image_stats(frames)


def video_episode_stats(
    path: Path, *, from_timestamp: float, length: int, fps: float
) -> FeatureStats:
    """Stats of one episode of a written video file, from its sampled frames.

    Frames are the `length` frames displayed from `from_timestamp` on (the loader's view).

    Raises:
        VideoError: the file cannot be decoded or holds fewer frames than the episode.
    """
    wanted = sample_indices(length)
    frames = decode_window(
        path, from_timestamp=from_timestamp, length=length, fps=fps, wanted=wanted
    )
    # Decoded frames are not the recorder's raw frames anyway: take the fast, exact-histogram path.
    return compute_image_stats(frames, from_counts=True)


def relative_action_mask(
    names: Any, action_dim: int, exclude_joints: Sequence[str]
) -> tuple[bool, ...]:
    """Which action dimensions become relative (0.6.1 `RelativeActionsProcessorStep._build_mask`).

    A dimension is excluded when an exclude token equals or is contained in its name
    (case-insensitive); without names or tokens every dimension is relative.
    """
    if isinstance(names, Mapping):  # e.g. {"motors": [...]}: the names of the first axis
        names = next(iter(names.values()), None)
    tokens = [str(name).lower() for name in exclude_joints if name]
    if not tokens or not isinstance(names, Sequence) or isinstance(names, str):
        return (True,) * action_dim
    mask = [
        not any(token == str(name).lower() or token in str(name).lower() for token in tokens)
        for name in list(names)[:action_dim]
    ]
    mask += [True] * (action_dim - len(mask))
    return tuple(mask)


def relative_action_stats(
    actions: Sequence[npt.NDArray[Any]],
    states: Sequence[npt.NDArray[Any]],
    *,
    chunk_size: int,
    mask: Sequence[bool],
) -> FeatureStats:
    """Stats of (action - state at chunk start) over every chunk inside one episode.

    `actions[i]` and `states[i]` are episode i's rows (episodes in dataset order).

    Raises:
        ValueError: no episode has `chunk_size` frames ("No valid chunks found").
    """
    all_actions = np.concatenate([np.asarray(a, dtype=np.float32) for a in actions])
    all_states = np.concatenate([np.asarray(s, dtype=np.float32) for s in states])
    starts = []
    offset = 0
    for episode in actions:
        length = len(episode)
        if length >= chunk_size:
            starts.append(np.arange(offset, offset + length - chunk_size + 1))
        offset += length
    valid = np.concatenate(starts) if starts else np.array([], dtype=np.int64)
    if len(valid) == 0:
        raise ValueError(
            f"No valid chunks found (total_frames={len(all_actions)}, chunk_size={chunk_size})"
        )
    relative_mask = np.asarray(mask, dtype=np.float32)
    running = RunningQuantileStats()
    for first in range(0, len(valid), RELATIVE_BATCH_STARTS):
        batch = valid[first : first + RELATIVE_BATCH_STARTS]
        frame_index = batch[:, None] + np.arange(chunk_size)[None, :]
        chunks = all_actions[frame_index].copy()
        width = len(relative_mask)
        chunks[:, :, :width] -= all_states[batch][:, None, :width] * relative_mask[None, None, :]
        running.update(chunks.reshape(-1, all_actions.shape[1]))
    return running.statistics()


class RunningQuantileStats:
    """A mirror of 0.6.1 `RunningQuantileStats` for several updates (histograms re-binned).

    `format.stats.compute_feature_stats` covers the single-update case the recorder uses.
    """

    def __init__(self) -> None:
        self.count = 0
        self._mean: Any = None
        self._mean_of_squares: Any = None
        self._min: Any = None
        self._max: Any = None
        self._histograms: list[npt.NDArray[np.float64]] = []
        self._edges: list[npt.NDArray[Any]] = []

    def update(self, batch: npt.NDArray[Any]) -> None:
        """Add a (rows, dims) batch."""
        batch = batch.reshape(-1, batch.shape[-1])
        batch = batch.astype(np.result_type(batch.dtype, np.float32), copy=False)
        rows, width = batch.shape
        if self.count == 0:
            self._mean = np.mean(batch, axis=0)
            self._mean_of_squares = np.mean(batch**2, axis=0)
            self._min = np.min(batch, axis=0)
            self._max = np.max(batch, axis=0)
            self._histograms = [np.zeros(NUM_QUANTILE_BINS) for _ in range(width)]
            self._edges = [
                np.linspace(self._min[i] - 1e-10, self._max[i] + 1e-10, NUM_QUANTILE_BINS + 1)
                for i in range(width)
            ]
        else:
            if width != self._mean.size:
                raise ValueError(
                    "The length of new vectors does not match the initialized vector length."
                )
            new_max = np.max(batch, axis=0)
            new_min = np.min(batch, axis=0)
            changed = np.any(new_max > self._max) or np.any(new_min < self._min)
            self._max = np.maximum(self._max, new_max)
            self._min = np.minimum(self._min, new_min)
            if changed:
                self._rebin()
        self.count += rows
        self._mean += (np.mean(batch, axis=0) - self._mean) * (rows / self.count)
        self._mean_of_squares += (np.mean(batch**2, axis=0) - self._mean_of_squares) * (
            rows / self.count
        )
        for dimension in range(width):
            self._histograms[dimension] += np.histogram(
                batch[:, dimension], bins=self._edges[dimension]
            )[0]

    def _rebin(self) -> None:
        """Move each old bin's count to the new bin holding its centre (official rule)."""
        for dimension, (old_edges, old_histogram) in enumerate(
            zip(self._edges, self._histograms, strict=True)
        ):
            padding = (self._max[dimension] - self._min[dimension]) * 1e-10
            new_edges = np.linspace(
                self._min[dimension] - padding,
                self._max[dimension] + padding,
                NUM_QUANTILE_BINS + 1,
            )
            centres = (old_edges[:-1] + old_edges[1:]) / 2
            occupied = old_histogram > 0
            bins = np.searchsorted(new_edges, centres[occupied]) - 1
            bins = np.clip(bins, 0, NUM_QUANTILE_BINS - 1)
            new_histogram = np.zeros(NUM_QUANTILE_BINS)
            np.add.at(new_histogram, bins, old_histogram[occupied])
            self._histograms[dimension] = new_histogram
            self._edges[dimension] = new_edges

    def statistics(self) -> FeatureStats:
        """min, max, mean, std, count and the quantiles, as `get_statistics` returns them."""
        if self.count < 2:
            raise ValueError("Cannot compute statistics for less than 2 vectors.")
        variance = self._mean_of_squares - self._mean**2
        stats: FeatureStats = {
            "min": self._min.copy(),
            "max": self._max.copy(),
            "mean": self._mean.copy(),
            "std": np.sqrt(np.maximum(0, variance)),
            "count": np.array([self.count]),
        }
        for key, quantile in zip(QUANTILE_KEYS, QUANTILES, strict=True):
            target = quantile * self.count
            stats[key] = np.array(
                [
                    _single_quantile(histogram, edges, target)
                    for histogram, edges in zip(self._histograms, self._edges, strict=True)
                ]
            )
        return stats


def _single_quantile(histogram: npt.NDArray[Any], edges: npt.NDArray[Any], target: float) -> Any:
    cumulative = np.cumsum(histogram)
    index = int(np.searchsorted(cumulative, target))
    if index == 0:
        return edges[0]
    if index >= len(cumulative):
        return edges[-1]
    before = cumulative[index - 1]
    inside = cumulative[index] - before
    if inside == 0:
        return edges[index]
    return edges[index] + (target - before) / inside * (edges[index + 1] - edges[index])
