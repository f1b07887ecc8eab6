"""Frames decoded from an episode's window of a video file, as the loader sees them.

One reader for everyone who needs pixels of a window (camera stats of edited episodes, the
stale-camera-stats check): seek to the keyframe before the window, decode forward, keep the
wanted frames as RGB. One colour converter is reused for every frame (a fresh one per frame,
as `VideoFrame.to_ndarray` makes, costs more than the decode of a small frame).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from robosplice.errors import VideoError


def window_frames(
    path: Path,
    *,
    from_timestamp: float,
    length: int,
    fps: float,
    to_timestamp: float | None = None,
) -> Iterator[Any]:
    """The decoded frames (PyAV `VideoFrame`s) shown from `from_timestamp` on: at most `length`,
    and none from `to_timestamp` on when given.

    Raises:
        VideoError: the file cannot be decoded.
    """
    half_frame = 0.5 / fps
    count = 0
    try:
        container: Any
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            time_base = Fraction(stream.time_base)
            container.seek(int(from_timestamp / time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                seconds = float(frame.pts * time_base)
                if seconds < from_timestamp - half_frame:
                    continue
                if count >= length or (
                    to_timestamp is not None and seconds >= to_timestamp - half_frame
                ):
                    return
                count += 1
                yield frame
    except av.error.FFmpegError as exc:
        raise VideoError(f"{path}: cannot decode frames ({exc})") from exc


def decode_window(
    path: Path, *, from_timestamp: float, length: int, fps: float, wanted: Iterable[int]
) -> npt.NDArray[np.uint8]:
    """Frames number `wanted` (0 = the frame at `from_timestamp`) of a window, (n, 3, H, W) uint8.

    Raises:
        VideoError: the file cannot be decoded or the window has fewer than `length` frames.
    """
    positions = sorted(set(wanted))
    wanted_set = set(positions)
    picked: dict[int, npt.NDArray[np.uint8]] = {}
    converter = VideoReformatter()
    frames = window_frames(path, from_timestamp=from_timestamp, length=length, fps=fps)
    for position, frame in enumerate(frames):
        if position in wanted_set:
            image: Any = converter.reformat(frame, format="rgb24").to_ndarray()
            picked[position] = image.transpose(2, 0, 1)
            if len(picked) == len(positions):
                break
    frames.close()
    missing = [p for p in positions if p not in picked]
    if missing:
        raise VideoError(
            f"{path}: the window from {from_timestamp:.4f}s holds fewer than {length} frames"
            f" (frame {missing[0]} not found); run 'robosplice validate --decode' on the output"
        )
    return np.stack([picked[p] for p in positions])
