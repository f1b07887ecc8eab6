"""Camera checks (`doctor --decode`): black frames, frozen cameras, repeated frames.

Each episode window is decoded once, as grey levels; per frame we keep only its mean and its mean
|change| from the frame before, so memory stays at two frames.
"""

from __future__ import annotations

import numpy as np
from av.video.reformatter import VideoReformatter

from robosplice.checks.finding import Finding
from robosplice.checks.quality.thresholds import Thresholds
from robosplice.dataset import Dataset
from robosplice.format.frames import window_frames

BLACK = "camera_black"
FROZEN = "camera_frozen"
REPEATED = "camera_repeated"


def frame_summary(dataset: Dataset, key: str, episode: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame of the episode's window: mean grey level, and mean |difference| to the frame
    before (NaN for the first)."""
    record = dataset.episodes[episode]
    window = record.videos[key]
    path = dataset.video_path(key, window.position)
    means: list[float] = []
    change: list[float] = []
    previous: np.ndarray | None = None
    converter = VideoReformatter()
    for frame in window_frames(
        path,
        from_timestamp=window.from_timestamp,
        length=record.length,
        fps=float(dataset.fps),
        to_timestamp=window.to_timestamp,
    ):
        grey = converter.reformat(frame, format="gray").to_ndarray().astype(np.int16)
        means.append(float(grey.mean()))
        change.append(np.nan if previous is None else float(np.abs(grey - previous).mean()))
        previous = grey
    return np.asarray(means), np.asarray(change)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def camera_findings(
    dataset: Dataset, key: str, episode: int, thresholds: Thresholds
) -> list[Finding]:
    """Black frames, frozen stretches (≥ camera_frozen_s unchanged) and repeated single frames.

    A frame is unchanged when it differs from the one before by at most `camera_repeat_ratio`
    of the episode's median frame-to-frame change (lossy coding rarely keeps a copy exact).
    """
    means, change = frame_summary(dataset, key, episode)
    fps = float(dataset.fps)
    findings = []
    black = np.flatnonzero(means < thresholds.camera_black_level)
    if len(black):
        findings.append(
            Finding(
                check=BLACK,
                severity="warning",
                episode=episode,
                feature=key,
                frames=(int(black[0]), int(black[-1]) + 1),
                message=(
                    f"{len(black)} black frame(s) (mean grey < {thresholds.camera_black_level:g},"
                    f" first at frame {black[0]}): a covered lens or a camera that did not start"
                ),
            )
        )
    dark = means < thresholds.camera_black_level
    typical = float(np.nanmedian(change[~dark])) if (~dark[1:]).any() else 0.0
    same = np.nan_to_num(change, nan=np.inf) <= thresholds.camera_repeat_ratio * typical
    same &= ~dark  # copies of a black frame are reported as black
    minimum = max(2, round(thresholds.camera_frozen_s * fps))
    repeated = []
    for start, stop in _runs(same):
        # `same[i]` marks frame i as a copy of frame i - 1: the frozen stretch starts at i - 1.
        if stop - start + 1 >= minimum:
            findings.append(
                Finding(
                    check=FROZEN,
                    severity="warning",
                    episode=episode,
                    feature=key,
                    frames=(start - 1, stop),
                    message=(
                        f"the image does not change for {stop - start + 1} frames"
                        f" ({(stop - start + 1) / fps:.1f} s, frames {start - 1}–{stop - 1}):"
                        " a frozen camera stream"
                    ),
                )
            )
        else:
            repeated += list(range(start, stop))
    if repeated:
        findings.append(
            Finding(
                check=REPEATED,
                severity="warning",
                episode=episode,
                feature=key,
                frames=(repeated[0], repeated[-1] + 1),
                message=(
                    f"{len(repeated)} frame(s) repeat the frame before (first at frame"
                    f" {repeated[0]}): dropped frames filled with copies"
                ),
            )
        )
    return findings
