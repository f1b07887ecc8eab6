"""Family "video": each video file exists, demuxes, agrees with its feature and holds every
episode's window at from + k / fps (FORMAT.md §2.3.6); with decode, every frame decodes."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
import numpy.typing as npt

from robosplice.checks._common import LOADER as _LOADER
from robosplice.checks._common import (
    REPAIR_FIX,
    height_width,
    is_number,
    list_episodes,
)
from robosplice.checks._common import WRONG as _WRONG
from robosplice.checks.context import Context, EpisodeRows
from robosplice.checks.kinds import Kind, OnEdit, rebuilt
from robosplice.errors import RobospliceError
from robosplice.format.episodes import video_columns
from robosplice.format.info import Features, video_keys
from robosplice.format.paths import declared_path
from robosplice.format.timing import TOLERANCE_S
from robosplice.format.video import PacketIndex, read_packet_index

__all__ = ["KINDS", "run"]

KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="corrupt_video", severity="error",
         meaning="a video file cannot be demuxed, or has no video stream", why=_LOADER),
    Kind(name="video_info_mismatch", severity="error",
         meaning="the stream's fps, size or codec disagree with the feature",
         why="policies are built for the declared shape, frame times use the declared fps and"
         " the official merge picks concatenation by the declared codec"),
    Kind(name="video_window_duration", severity="error",
         meaning="to_timestamp - from_timestamp is not length / fps",
         why="the official tools cut and concatenate videos by these windows",
         # The frames are checked at from + k / fps for k < length (and for overlap up to
         # from + length / fps): when they are there, the window's end follows from its start.
         on_edit=OnEdit(decide=rebuilt("to_timestamp = from_timestamp + length / fps"))),
    Kind(name="video_window_start", severity="error",
         meaning="no frame lies at from_timestamp (within 1e-4 s)",
         why=f"{_LOADER} (FrameTimestampError)"),
    Kind(name="video_frame_spacing", severity="error",
         meaning="a frame of the window is missing or not at from + k / fps",
         why=f"{_LOADER} (FrameTimestampError) or {_WRONG}"),
    Kind(name="video_too_short", severity="error",
         meaning="the file ends before the episode's last frame", why=_LOADER),
    Kind(name="video_window_frames", severity="error",
         meaning="the window [from, to) holds another number of frames than the episode",
         why=_WRONG),
    Kind(name="video_windows_overlap", severity="error",
         meaning="two episodes' windows share frames of one file",
         why=f"{_WRONG}: one episode shows the other's frames"),
    Kind(name="no_keyframe", severity="error",
         meaning="an episode's first frame has no keyframe at or before it in the file",
         why="the frame cannot be decoded"),
    Kind(name="undecodable_video", severity="error",
         meaning="with decode=True, PyAV fails to decode every frame of a file", why=_LOADER),
)  # fmt: skip
"""The kinds this family reports: severity, and why, beside the checks below."""


def run(ctx: Context) -> None:
    """Check every video file the episode rows reference (needs fps and the episode rows)."""
    info, fps = ctx.info, ctx.fps
    if info is None or fps is None:
        return
    ctx.guarded("videos", None, lambda: _check_videos(ctx, info, ctx.features, fps, ctx.episodes))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Window:
    """One episode's window in one video file."""

    episode: str  # loc, e.g. "episode 3"
    from_timestamp: float
    to_timestamp: float
    frames: int


def _check_videos(
    ctx: Context,
    info: dict[str, Any],
    features: Features,
    fps: float,
    episodes: EpisodeRows | None,
) -> None:
    """Per video file: exists, demuxes, agrees with the feature, holds each episode's window."""
    if episodes is None:
        return
    windows: dict[tuple[str, str], list[_Window]] = {}
    for key in video_keys(features):
        if key in episodes.skipped_video_keys:
            continue
        names = video_columns(key)
        chunk_column, file_column, from_column, to_column = names
        paths: dict[tuple[int, int], str] = {}
        starts, stops = (episodes.columns[c] for c in ("dataset_from_index", "dataset_to_index"))
        rows = zip(*(episodes.columns[c] for c in names), strict=True)
        for row, row_cells in enumerate(rows):
            cells = list(row_cells)
            start, stop = starts[row], stops[row]
            if start is None or stop is None:
                continue  # reported by check_episode_rows
            if None in cells:
                ctx.report(
                    episodes.files[row],
                    episodes.where(row),
                    "missing_value",
                    f"expected values in {[chunk_column, file_column, from_column, to_column]},"
                    f" got {cells}",
                )
                continue
            position = (int(cells[0]), int(cells[1]))
            relative = paths.get(position) or paths.setdefault(
                position, declared_path(info, "video_path", position, key)
            )
            windows.setdefault((key, relative), []).append(
                _Window(
                    episode=episodes.where(row),
                    from_timestamp=float(cells[2]),
                    to_timestamp=float(cells[3]),
                    frames=int(stop) - int(start),
                )
            )
    ctx.start_phase("Checking videos", len(windows))
    for (key, relative), file_windows in windows.items():
        check = functools.partial(
            _check_video_file, ctx, key, relative, file_windows, features[key], fps
        )
        ctx.guarded(relative, None, check)
        ctx.advance()
    ctx.finish_phase()


def _check_video_file(
    ctx: Context,
    key: str,
    relative: str,
    windows: list[_Window],
    feature: dict[str, Any],
    fps: float,
) -> None:
    path = ctx.root / relative
    if not path.is_file():
        ctx.report(
            relative,
            windows[0].episode,
            "missing_file",
            f"{key}: referenced by {list_episodes([w.episode for w in windows])} but"
            " missing; without it the loader goes to the Hub; restore the file",
        )
        return
    try:
        index = read_packet_index(path)
    except (RobospliceError, OSError) as exc:
        ctx.report(relative, windows[0].episode, "corrupt_video", f"{key}: {exc}")
        return
    _check_stream(ctx, key, relative, index, feature)
    frames = _DisplayFrames(index)
    # Windows that do not start on a frame are reported already; overlap would repeat it.
    off: list[_Window] = []
    clean = _clean_windows(frames, windows, fps)
    aligned = [
        w
        for w, ok in zip(windows, clean.tolist(), strict=True)
        if ok or _check_window(ctx, key, relative, frames, w, fps, off)
    ]
    _report_durations(ctx, key, relative, off, fps)
    ordered = sorted(aligned, key=lambda w: w.from_timestamp)
    for before, after in itertools.pairwise(ordered):
        # The frames an edit reads end at from + length / fps (a short to_timestamp is derived):
        # a window whose length reaches into the next one's frames overlaps it too.
        end = max(before.to_timestamp, before.from_timestamp + before.frames / fps)
        if after.from_timestamp < end - TOLERANCE_S:
            ctx.report(
                relative,
                after.episode,
                "video_windows_overlap",
                f"{key}: window [{after.from_timestamp:.6f}, {after.to_timestamp:.6f}) s"
                f" overlaps {before.episode}'s [{before.from_timestamp:.6f},"
                f" {before.to_timestamp:.6f}) s; one of them points at the other's frames"
                " (a window shifted by whole frames loads without error but shows the wrong"
                " frames); fix from_timestamp/to_timestamp",
            )
    if ctx.decode:
        _check_decode(ctx, key, relative, path, index.num_packets)


def _check_stream(
    ctx: Context, key: str, relative: str, index: PacketIndex, feature: dict[str, Any]
) -> None:
    """The stream's fps, size and codec agree with the feature's `info` and shape."""
    facts = index.facts
    video_info = feature.get("info")
    got: dict[str, Any] = {
        "video.height": facts.height,
        "video.width": facts.width,
        "video.codec": facts.codec,
    }
    if index.average_rate is not None:
        got["video.fps"] = index.average_rate
    if isinstance(video_info, dict):
        for name, value in got.items():
            declared = video_info.get(name)
            if declared is None:
                continue
            if name == "video.fps":
                same = is_number(declared) and abs(float(declared) - float(value)) < 1e-3
            else:
                same = declared == value
            if not same:
                shown = f"{float(value):g}" if name == "video.fps" else value
                ctx.report(
                    relative,
                    f"features.{key}.info.{name}",
                    "video_info_mismatch",
                    f"expected {declared!r} (meta/info.json), got {shown} in the file;"
                    " re-probe the feature info or re-encode the video",
                )
    size = height_width(feature)
    if size is not None:
        height, width = size
        if (height, width) != (facts.height, facts.width):
            ctx.report(
                relative,
                f"features.{key}.shape",
                "video_info_mismatch",
                f"expected frames of {height}x{width} (height x width, from the feature's"
                f" shape), got {facts.height}x{facts.width}; fix the shape",
            )


def _report_durations(
    ctx: Context, key: str, relative: str, off: list[_Window], fps: float
) -> None:
    """One finding per file for windows whose to - from is not length / fps (with the count)."""
    if not off:
        return
    first = off[0]
    start = first.from_timestamp
    got = f"{first.to_timestamp - start:.6f} s ([{start:.6f}, {first.to_timestamp:.6f}))"
    if len(off) > 1:
        shortfalls = {round((w.frames / fps - (w.to_timestamp - w.from_timestamp)) * fps, 3)
                      for w in off}  # fmt: skip
        by = (
            f"{next(iter(shortfalls)):g} frame(s) short in each"
            if len(shortfalls) == 1
            else "by varying amounts"
        )
        got = f"{by} of {len(off)} episodes ({first.episode}: {got})"
    ctx.report(
        relative,
        first.episode if len(off) == 1 else list_episodes([w.episode for w in off]),
        "video_window_duration",
        f"{key}: expected to_timestamp - from_timestamp = {first.frames}/{fps:g} ="
        f" {first.frames / fps:.6f} s (length / fps), got {got}; where the frames are at"
        f" from_timestamp + k / fps, {REPAIR_FIX} with the windows' ends derived",
    )


def _clean_windows(
    frames: _DisplayFrames, windows: list[_Window], fps: float
) -> npt.NDArray[np.bool_]:
    """Which windows `_check_window` would pass without a finding, all windows at once.

    The same arithmetic on whole arrays (targets start + k / fps, nearest frames, duration,
    frames inside, keyframe), so a window marked clean is one the per-window check passes
    silently; the others go through it, which words the findings.
    """
    count = len(windows)
    if frames.count == 0:
        return np.array([w.frames <= 0 for w in windows], dtype=bool)
    starts = np.fromiter((w.from_timestamp for w in windows), np.float64, count)
    stops = np.fromiter((w.to_timestamp for w in windows), np.float64, count)
    lengths = np.fromiter((w.frames for w in windows), np.int64, count)
    empty = lengths <= 0
    lengths = np.maximum(lengths, 0)
    duration_ok = np.abs((stops - starts) - lengths / fps) <= TOLERANCE_S
    first = np.cumsum(lengths) - lengths
    k = np.arange(int(lengths.sum())) - np.repeat(first, lengths)
    targets = np.repeat(starts, lengths) + k / fps
    nearest, error = frames.nearest(targets)
    bad = ~(error <= TOLERANCE_S)
    owner = np.repeat(np.arange(count), lengths)
    all_near = np.bincount(owner[bad], minlength=count) == 0
    low = np.searchsorted(frames.times, starts - TOLERANCE_S)
    high = np.searchsorted(frames.times, stops - TOLERANCE_S)
    inside_ok = (high - low) == lengths
    first_frame = nearest[np.minimum(first, max(len(nearest) - 1, 0))] if len(nearest) else first
    keyframe_ok = frames.last_keyframe[frames.order[first_frame]] >= 0 if len(nearest) else empty
    return empty | (duration_ok & all_near & inside_ok & keyframe_ok)


def _check_window(
    ctx: Context,
    key: str,
    relative: str,
    frames: _DisplayFrames,
    window: _Window,
    fps: float,
    off: list[_Window],
) -> bool:
    """FORMAT.md §2.3.6: `frames` frames at from + k/fps, within 1e-4 s, and to - from.

    A window whose to - from is not length / fps is added to `off` (reported once per file).

    Returns:
        Whether the window starts on a frame.
    """
    if window.frames <= 0:
        return True
    start = window.from_timestamp
    duration_ok = abs((window.to_timestamp - start) - window.frames / fps) <= TOLERANCE_S
    if not duration_ok:
        off.append(window)
    if frames.count == 0:
        ctx.report(relative, window.episode, "video_too_short", f"{key}: the file has no frames")
        return False
    targets = start + np.arange(window.frames) / fps
    nearest, error = frames.nearest(targets)
    wrong = np.flatnonzero(~(error <= TOLERANCE_S))
    if len(wrong):
        k = int(wrong[0])
        got_time = frames.times[nearest[k]]
        if k == 0:
            ctx.report(
                relative,
                window.episode,
                "video_window_start",
                f"{key}: expected a frame at from_timestamp {start:.6f} s (within"
                f" {TOLERANCE_S:g} s), got the nearest at {got_time:.6f} s; the loader raises"
                " FrameTimestampError; set from_timestamp to the episode's first frame pts",
            )
        elif targets[k] > frames.times[-1] + TOLERANCE_S:
            ctx.report(
                relative,
                window.episode,
                "video_too_short",
                f"{key}: expected {window.frames} frames from {start:.6f} s (up to"
                f" {targets[-1]:.6f} s), got {k} before the file ends at"
                f" {frames.times[-1]:.6f} s; the video is truncated or the window wrong",
            )
        else:
            ctx.report(
                relative,
                window.episode,
                "video_frame_spacing",
                f"{key}: expected frame {k} at {targets[k]:.6f} s (from_timestamp + {k}/{fps:g}),"
                f" got the nearest at {got_time:.6f} s; the video is not constant-rate at"
                " fps here",
            )
    elif duration_ok:
        inside = frames.count_between(start - TOLERANCE_S, window.to_timestamp - TOLERANCE_S)
        if inside != window.frames:
            ctx.report(
                relative,
                window.episode,
                "video_window_frames",
                f"{key}: expected {window.frames} frames in [{start:.6f},"
                f" {window.to_timestamp:.6f}) s, got {inside}",
            )
    if not len(wrong) or wrong[0] > 0:
        position = int(frames.order[nearest[0]])
        if frames.last_keyframe[position] < 0:
            ctx.report(
                relative,
                window.episode,
                "no_keyframe",
                f"{key}: expected a keyframe at or before the first frame"
                f" ({start:.6f} s, packet {position} in decode order), got none; the"
                " frame cannot be decoded; re-encode the episode",
            )
    return not len(wrong) or wrong[0] > 0


def _check_decode(ctx: Context, key: str, relative: str, path: Path, packets: int) -> None:
    """decode=True: PyAV decodes every frame of the file."""
    decoded = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for _ in container.decode(stream):
                decoded += 1
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        ctx.report(
            relative,
            "",
            "undecodable_video",
            f"{key}: decoding stopped after {decoded} of {packets} frames"
            f" ({exc.__class__.__name__}: {exc})",
        )
        return
    if decoded != packets:
        ctx.report(
            relative,
            "",
            "undecodable_video",
            f"{key}: expected {packets} decoded frames (one per packet), got {decoded}",
        )


class _DisplayFrames:
    """A file's frames in display order: times in seconds, decode positions, keyframes."""

    def __init__(self, index: PacketIndex) -> None:
        self.order = index.display_order()
        time_base = float(index.facts.time_base)
        self.times: npt.NDArray[np.float64] = index.pts[self.order].astype(np.float64) * time_base
        self.count = len(self.times)
        positions = np.arange(index.num_packets)
        # For each decode position, the last keyframe at or before it (-1: none).
        self.last_keyframe = np.maximum.accumulate(np.where(index.keyframe, positions, -1))

    def nearest(
        self, targets: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        """Display positions of the frames nearest to `targets`, and their distance in seconds."""
        after = np.clip(np.searchsorted(self.times, targets), 0, self.count - 1)
        before = np.clip(after - 1, 0, self.count - 1)
        after_error = np.abs(self.times[after] - targets)
        before_error = np.abs(self.times[before] - targets)
        use_before = before_error < after_error
        nearest = np.where(use_before, before, after)
        return nearest, np.where(use_before, before_error, after_error)

    def count_between(self, low: float, high: float) -> int:
        """Frames with low <= time < high."""
        return int(np.searchsorted(self.times, high) - np.searchsorted(self.times, low))
