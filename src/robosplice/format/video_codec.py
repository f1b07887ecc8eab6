"""Encode frames to mp4 with PyAV, as lerobot 0.6.1 does, and describe the result (FORMAT.md §3.1).

One call encodes one episode into its own file, so the file starts on a keyframe and can be
appended to a dataset's mp4 packet by packet. Encoder options are mapped exactly as 0.6.1's
`VideoEncoderConfig.get_codec_options`, and `video_feature_info` writes the 0.6.1 feature `info`.
Nothing here knows about datasets; reading and copying packets is `format/video.py`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import numpy as np

from robosplice.errors import VideoError

LIBSVTAV1: Final = "libsvtav1"
LIBSVTAV1_DEFAULT_PRESET: Final = 12
# 0.6.1 `VIDEO_CODECS_ALIASES`: a stream's canonical name given as an encoder.
ENCODER_ALIASES: Final = {"av1": LIBSVTAV1}
# Encoders that take `crf`, `preset` and `tune=fastdecode` the way 0.6.1 maps "h264"/"hevc".
_X26X_ENCODERS: Final = ("h264", "hevc", "libx264", "libx265")


@dataclass(frozen=True, slots=True, kw_only=True)
class EncoderSettings:
    """The 0.6.1 `VideoEncoderConfig` fields robosplice encodes with and records in `info`."""

    vcodec: str = LIBSVTAV1
    pix_fmt: str = "yuv420p"
    g: int | None = 2
    crf: int | float | None = 30
    preset: int | str | None = None
    fast_decode: int = 0
    extra_options: Mapping[str, Any] = field(default_factory=dict)

    def resolved(self) -> EncoderSettings:
        """Return these settings with the alias resolved and 0.6.1's default preset filled in."""
        vcodec = ENCODER_ALIASES.get(self.vcodec, self.vcodec)
        preset = self.preset
        if preset is None and vcodec == LIBSVTAV1:
            preset = LIBSVTAV1_DEFAULT_PRESET
        return replace(self, vcodec=vcodec, preset=preset, extra_options=dict(self.extra_options))

    def codec_options(self) -> dict[str, str]:
        """Return the encoder options as strings, mapped as 0.6.1's `get_codec_options`."""
        options: dict[str, Any] = {}

        def set_if(key: str, value: object) -> None:
            if value is not None:
                options[key] = value

        set_if("g", self.g)
        if self.vcodec == LIBSVTAV1:
            set_if("crf", self.crf)
            set_if("preset", self.preset)
            # 0.6.1 always emits fast-decode, clamped to 0..2 (FORMAT.md §3.1).
            options["svtav1-params"] = f"fast-decode={max(0, min(2, self.fast_decode))}"
        elif self.vcodec in _X26X_ENCODERS:
            set_if("crf", self.crf)
            set_if("preset", self.preset)
            if self.fast_decode:
                options["tune"] = "fastdecode"
        elif self.vcodec in ("h264_videotoolbox", "hevc_videotoolbox"):
            if self.crf is not None:
                options["q:v"] = max(1, min(100, 100 - self.crf * 2))
        elif self.vcodec in ("h264_nvenc", "hevc_nvenc"):
            options["rc"] = 0
            set_if("qp", self.crf)
            set_if("preset", self.preset)
        elif self.vcodec == "h264_vaapi":
            set_if("qp", self.crf)
        elif self.vcodec == "h264_qsv":
            set_if("global_quality", self.crf)
            set_if("preset", self.preset)
        else:
            set_if("crf", self.crf)
            set_if("preset", self.preset)
        # Extra options come last and never override a structured field (0.6.1).
        for key, value in self.extra_options.items():
            if key not in options:
                set_if(key, value)
        return {key: str(value) for key, value in options.items()}


def available_encoders() -> list[str]:
    """Return the names of the video encoders this PyAV build has, sorted.

    Canonical codec names that resolve to an encoder (`h264`, `hevc`, `av1`) are listed too, as
    0.6.1's `detect_available_encoders_pyav` accepts them. Hardware encoders are listed even when
    the machine has no such device; opening them then fails.
    """
    return list(_available_encoder_names())


def first_available_encoder(candidates: Sequence[str]) -> str | None:
    """Return the first of `candidates` this PyAV build can encode video with, or None."""
    available = set(available_encoders())
    return next((name for name in candidates if name in available), None)


def check_encoder(vcodec: str) -> None:
    """Raise if PyAV has no video encoder named `vcodec` (aliases such as `av1` accepted).

    Raises:
        VideoError: the encoder is missing; the message lists the available ones.
    """
    name = ENCODER_ALIASES.get(vcodec, vcodec)
    codec = _encoder(name)
    if codec is None or codec.type != "video":
        raise VideoError(
            f"video encoder {vcodec!r} is not in this PyAV build (av {av.__version__}); available:"
            f" {', '.join(available_encoders())}; pass one of them as vcodec"
        )


def encode_episode_video(
    frames: Iterable[np.ndarray],
    path: Path,
    *,
    fps: int | float | Fraction,
    vcodec: str = LIBSVTAV1,
    pix_fmt: str = "yuv420p",
    g: int | None = 2,
    crf: int | float | None = 30,
    preset: int | str | None = None,
    fast_decode: int = 0,
    extra_options: Mapping[str, Any] | None = None,
) -> EncoderSettings:
    """Encode one episode's RGB frames (HxWx3 uint8) into a new mp4 at `path`.

    Frame k gets pts k in a 1/fps time base; the mp4 muxer then picks its own (1/15360 at 30
    fps, 512 ticks a frame, as the official files). See `encode_frames` for the details.

    Returns:
        The settings used, resolved (e.g. preset 12 for libsvtav1), for `video_feature_info`.

    Raises:
        VideoError: the encoder is missing or fails, or the frames are not HxWx3 uint8.
    """
    settings = EncoderSettings(
        vcodec=vcodec,
        pix_fmt=pix_fmt,
        g=g,
        crf=crf,
        preset=preset,
        fast_decode=fast_decode,
        extra_options=dict(extra_options or {}),
    ).resolved()
    encode_frames(frames, path, fps=fps, settings=settings)
    return settings


def encode_frames(
    frames: Iterable[np.ndarray],
    path: Path,
    *,
    fps: int | float | Fraction,
    settings: EncoderSettings,
) -> int:
    """Encode RGB frames (HxWx3 uint8, all one size) into a new mp4 at `path`; return the count.

    The file is a plain mp4 (no faststart), like the recorder's per-episode files. Frames are
    streamed: only the encoder holds any back.

    Raises:
        VideoError: the encoder is missing or fails, or a frame is not HxWx3 uint8 of the first
            frame's size. A partly written file is removed.
    """
    settings = settings.resolved()
    check_encoder(settings.vcodec)
    rate = Fraction(fps).limit_denominator(1_000_000)
    time_base = 1 / rate
    count = 0
    with (
        encoding_into(path, settings),
        _quiet_svt(),
        av.open(str(path), "w", format="mp4") as container,
    ):
        stream: Any = None
        for image in frames:
            array = _check_frame(image, count, path, stream)
            if stream is None:
                stream = _open_stream(container, settings, rate, array.shape, path)
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = count
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
            count += 1
        if stream is None:
            raise VideoError(f"{path}: no frames to encode")
        for packet in stream.encode():
            container.mux(packet)
    return count


@contextlib.contextmanager
def encoding_into(path: Path, settings: EncoderSettings) -> Iterator[None]:
    """Around writing a new video at `path`: make its folder; on failure remove the partial file,
    and turn PyAV errors into a VideoError naming the file and the encoder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except av.error.FFmpegError as exc:
        path.unlink(missing_ok=True)
        raise VideoError(
            f"{path}: encoding with {settings.vcodec!r} failed ({exc.__class__.__name__}: {exc})"
        ) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def video_feature_info(path: Path, settings: EncoderSettings) -> dict[str, Any]:
    """Return the 0.6.1 `info` of a video feature: stream facts of `path` plus encoder settings.

    Keys and order are those the 0.6.1 recorder writes (FORMAT.md §1.2); codec, pix_fmt and fps
    come from the file, never from the settings.

    Raises:
        VideoError: `path` cannot be read or has no video stream.
    """
    settings = settings.resolved()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: no video stream")
            stream = container.streams.video[0]
            context = stream.codec_context
            pix_fmt = context.format.name if context.format is not None else settings.pix_fmt
            rate = stream.average_rate or stream.base_rate
            facts = {
                "video.height": int(context.height),
                "video.width": int(context.width),
                "video.codec": context.codec.canonical_name,
                "video.pix_fmt": pix_fmt,
                "video.fps": _json_rate(rate),
                "video.channels": pixel_channels(pix_fmt),
                "has_audio": bool(container.streams.audio),
            }
    except av.error.FFmpegError as exc:
        raise VideoError(f"{path}: cannot read video ({exc.__class__.__name__}: {exc})") from exc
    return {
        **facts,
        "video.g": settings.g,
        "video.crf": settings.crf,
        "video.preset": settings.preset,
        "video.fast_decode": settings.fast_decode,
        "video.video_backend": "pyav",
        "video.extra_options": dict(settings.extra_options),
        "is_depth_map": False,
    }


def pixel_channels(pix_fmt: str) -> int:
    """Return the channel count lerobot records for a pixel format (gray 1, alpha 4, else 3).

    Raises:
        VideoError: the format is none lerobot knows (neither gray, rgb nor yuv).
    """
    if any(word in pix_fmt for word in ("gray", "depth", "monochrome")):
        return 1
    if "rgba" in pix_fmt or "yuva" in pix_fmt:
        return 4
    if "rgb" in pix_fmt or "yuv" in pix_fmt:
        return 3
    raise VideoError(f"pixel format {pix_fmt!r}: unknown channel count")


@functools.cache
def _available_encoder_names() -> tuple[str, ...]:
    names = []
    for name in av.codecs_available:
        codec = _encoder(name)
        if codec is not None and codec.type == "video":
            names.append(name)
    return tuple(sorted(names))


@functools.cache
def _encoder(name: str) -> Any:
    """PyAV's write-mode codec for `name`, or None (0.6.1 `get_codec`)."""
    try:
        return av.codec.Codec(name, "w")
    except (av.error.FFmpegError, ValueError):
        return None


def _open_stream(
    container: Any, settings: EncoderSettings, rate: Fraction, shape: tuple[int, ...], path: Path
) -> Any:
    """Add and size the video stream (0.6.1: `add_stream(vcodec, fps, options)`)."""
    try:
        stream = container.add_stream(settings.vcodec, rate=rate, options=settings.codec_options())
    except ValueError as exc:
        raise VideoError(f"{path}: cannot add a {settings.vcodec!r} stream ({exc})") from exc
    stream.pix_fmt = settings.pix_fmt
    stream.height, stream.width = int(shape[0]), int(shape[1])
    stream.time_base = 1 / rate
    return stream


def _check_frame(image: np.ndarray, number: int, path: Path, stream: Any) -> np.ndarray:
    """`image` as a C-contiguous HxWx3 uint8 array, or a VideoError saying what is wrong."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise VideoError(
            f"{path}: frame {number} must be HxWx3 uint8 RGB, got {array.dtype} {array.shape}"
        )
    if stream is not None and (array.shape[0], array.shape[1]) != (stream.height, stream.width):
        raise VideoError(
            f"{path}: frame {number} is {array.shape[0]}x{array.shape[1]}, the first frame was"
            f" {stream.height}x{stream.width}"
        )
    return np.ascontiguousarray(array)


def _json_rate(rate: Fraction | None) -> int | float | None:
    """A frame rate as info.json stores it: an int when whole (30), else a float."""
    if rate is None:
        return None
    value = Fraction(rate)
    return int(value) if value.denominator == 1 else float(value)


@contextlib.contextmanager
def _quiet_svt() -> Iterator[None]:
    """Keep SVT-AV1's banner off stderr unless the user set SVT_LOG: the library never prints.

    SVT-AV1 reads SVT_LOG once, when the first encoder opens, so the variable is set only around it.
    """
    if "SVT_LOG" in os.environ:
        yield
        return
    os.environ["SVT_LOG"] = "1"  # errors only
    try:
        yield
    finally:
        os.environ.pop("SVT_LOG", None)
