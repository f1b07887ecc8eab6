"""Video files through PyAV: packet index, stream facts, and packet-level copy (FORMAT.md §1.7, §3).

Nothing here decodes or encodes (see `format/video_codec.py` for that). PyAV errors are
translated into `VideoError` naming the file.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from robosplice.errors import VideoError


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamFacts:
    """What must agree for packets of two files to share one output file."""

    codec: str
    width: int
    height: int
    pix_fmt: str | None
    time_base: Fraction
    extradata: bytes

    def describe(self) -> str:
        """Short human summary, e.g. `av1 96x64 yuv420p`."""
        return f"{self.codec} {self.width}x{self.height} {self.pix_fmt}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PacketIndex:
    """Every packet of a file's video stream, in decode order; times in `facts.time_base` units."""

    path: Path
    facts: StreamFacts
    average_rate: Fraction | None
    pts: np.ndarray
    dts: np.ndarray
    duration: np.ndarray
    keyframe: np.ndarray
    size_bytes: np.ndarray

    @property
    def num_packets(self) -> int:
        """Number of video packets (frames) in the file."""
        return len(self.pts)

    def display_order(self) -> np.ndarray:
        """Packet positions sorted by pts."""
        return np.argsort(self.pts, kind="stable")


def _video_error(path: Path, exc: Exception) -> VideoError:
    return VideoError(f"{path}: cannot read video ({exc.__class__.__name__}: {exc})")


def stream_facts(stream: Any) -> StreamFacts:
    """Facts of an open PyAV video stream."""
    context = stream.codec_context
    return StreamFacts(
        codec=context.codec.canonical_name,
        width=int(context.width),
        height=int(context.height),
        pix_fmt=context.format.name if context.format is not None else None,
        time_base=Fraction(stream.time_base),
        extradata=bytes(context.extradata or b""),
    )


def read_packet_index(path: Path) -> PacketIndex:
    """Index the video packets of `path` (pts, dts, duration, keyframe, size).

    Cached by path, size and mtime: validation before an edit and the edit itself read each
    file's index once between them.
    """
    stat = Path(path).stat()
    return _cached_packet_index(Path(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _cached_packet_index(path: Path, size_bytes: int, mtime_ns: int) -> PacketIndex:
    del size_bytes, mtime_ns  # part of the cache key only
    return _demux_packet_index(path)


def _demux_packet_index(path: Path) -> PacketIndex:
    """Demux `path` once and index its video packets."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"{path}: no video stream")
            stream = container.streams.video[0]
            facts = stream_facts(stream)
            rows = [
                (packet.pts, packet.dts, packet.duration or 0, packet.is_keyframe, packet.size)
                for packet in container.demux(stream)
                if packet.dts is not None and packet.pts is not None
            ]
            rate = stream.average_rate
    except av.error.FFmpegError as exc:
        raise _video_error(path, exc) from exc
    except (OSError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise _video_error(path, exc) from exc
    columns = list(zip(*rows)) if rows else [(), (), (), (), ()]
    return PacketIndex(
        path=path,
        facts=facts,
        average_rate=Fraction(rate) if rate else None,
        pts=np.asarray(columns[0], dtype=np.int64),
        dts=np.asarray(columns[1], dtype=np.int64),
        duration=np.asarray(columns[2], dtype=np.int64),
        keyframe=np.asarray(columns[3], dtype=bool),
        size_bytes=np.asarray(columns[4], dtype=np.int64),
    )


class PacketReader:
    """Reads packets of one file by decode-order position, streaming forward."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._container: Any = None
        self._iterator: Iterator[Any] | None = None
        self._next_position = 0
        self.stream: Any = None

    def _open(self) -> None:
        self.close()
        try:
            self._container = av.open(str(self.path))
            self.stream = self._container.streams.video[0]
        except av.error.FFmpegError as exc:
            raise _video_error(self.path, exc) from exc
        self._iterator = (
            packet
            for packet in self._container.demux(self.stream)
            if packet.dts is not None and packet.pts is not None
        )
        self._next_position = 0

    def packets(self, start: int, stop: int) -> Iterator[Any]:
        """Yield packets at decode positions [start, stop)."""
        if self._iterator is None or start < self._next_position:
            self._open()
        assert self._iterator is not None
        try:
            while self._next_position < stop:
                packet = next(self._iterator)
                position = self._next_position
                self._next_position += 1
                if position >= start:
                    yield packet
        except StopIteration:
            raise VideoError(f"{self.path}: fewer packets than indexed") from None
        except av.error.FFmpegError as exc:
            raise _video_error(self.path, exc) from exc

    def close(self) -> None:
        """Close the file."""
        if self._container is not None:
            self._container.close()
        self._container = None
        self._iterator = None


class PacketWriter:
    """Muxes copied packets into a new mp4 (faststart), never touching their payload."""

    def __init__(self, path: Path, template_stream: Any) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._container = av.open(
                str(path), "w", format="mp4", options={"movflags": "faststart"}
            )
            self.stream = self._container.add_stream_from_template(template_stream, opaque=True)
            self.stream.time_base = template_stream.time_base
        except av.error.FFmpegError as exc:
            raise VideoError(f"{path}: cannot create video ({exc})") from exc
        self.facts = stream_facts(template_stream)
        self.bytes_written = 0
        self.last_dts: int | None = None
        self.end_pts = 0  # one past the last frame written, in facts.time_base units

    def write(self, packet: Any, pts: int, dts: int) -> None:
        """Mux `packet` with new timestamps (same time base as the template)."""
        packet.pts = pts
        packet.dts = dts
        packet.stream = self.stream
        try:
            self._container.mux(packet)
        except av.error.FFmpegError as exc:
            raise VideoError(f"{self.path}: cannot write packet ({exc})") from exc
        self.bytes_written += packet.size
        self.last_dts = dts

    def close(self) -> None:
        """Finish the file (writes the moov atom up front)."""
        try:
            self._container.close()
        except av.error.FFmpegError as exc:
            raise VideoError(f"{self.path}: cannot finish video ({exc})") from exc
