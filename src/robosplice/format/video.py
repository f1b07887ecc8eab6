"""Video files through PyAV: packet index, stream facts, and packet-level copy (FORMAT.md §1.7, §3).

Nothing here decodes or encodes (see `format/video_codec.py` for that). PyAV errors are
translated into `VideoError` naming the file.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from robosplice.errors import VideoError
from robosplice.format.mp4 import Mp4Track, compact_integers, read_mp4_samples


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
    """Every packet of a file's video stream, in decode order; times in `facts.time_base` units.

    pts, dts and offsets are int64; durations and sizes int32 where they fit (`compact_integers`),
    positions derived from them int32 for files under 2**31 packets: ~45 bytes a packet in all.
    """

    path: Path
    facts: StreamFacts
    average_rate: Fraction | None
    pts: np.ndarray
    dts: np.ndarray
    duration: np.ndarray
    keyframe: np.ndarray
    size_bytes: np.ndarray
    # Byte position of each packet and the track's boxes, when read from a plain mp4's sample
    # tables: its packets can then be copied as byte ranges (format/mp4.py).
    offset: np.ndarray | None = None
    track: Mp4Track | None = None
    # Arrays derived from the above, computed once (an edit plans thousands of cuts per file).
    _derived: dict[str, np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def num_packets(self) -> int:
        """Number of video packets (frames) in the file."""
        return len(self.pts)

    def display_order(self) -> np.ndarray:
        """Packet positions sorted by pts."""
        if "order" not in self._derived:
            self._derived["order"] = _positions(np.argsort(self.pts, kind="stable"))
        return self._derived["order"]

    def display_rank(self) -> np.ndarray:
        """For each packet (decode position), its position in display order."""
        if "rank" not in self._derived:
            order = self.display_order()
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            self._derived["rank"] = rank
        return self._derived["rank"]

    def nbytes(self) -> int:
        """Bytes of the arrays held, the derived ones included."""
        arrays = [self.pts, self.dts, self.duration, self.keyframe, self.size_bytes, self.offset]
        held = list(self._derived.values()) + [a for a in arrays if a is not None]
        return sum(a.nbytes for a in held)

    def sorted_pts(self) -> np.ndarray:
        """The pts in display order."""
        if "sorted_pts" not in self._derived:
            self._derived["sorted_pts"] = self.pts[self.display_order()]
        return self._derived["sorted_pts"]

    def decodes_in_display_order(self) -> bool:
        """Whether pts rise strictly in decode order (no frame is shown out of decode order)."""
        if "in_order" not in self._derived:
            self._derived["in_order"] = np.array(bool(np.all(np.diff(self.pts) > 0)))
        return bool(self._derived["in_order"])

    def keyframe_positions(self) -> np.ndarray:
        """Decode positions of the keyframes, ascending."""
        if "keyframes" not in self._derived:
            self._derived["keyframes"] = _positions(np.flatnonzero(self.keyframe))
        return self._derived["keyframes"]


def _positions(values: np.ndarray) -> np.ndarray:
    """Packet positions as int32 where a file has fewer than 2**31 packets."""
    return values.astype(np.int32) if len(values) < 2**31 else values


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

    Read from the mp4 sample tables where the file has the plain layout the recorder writes
    (no demuxing: milliseconds for an hour of video), else by demuxing every packet. Recent
    indexes are kept (keyed by path, size and mtime) up to a memory budget, so validation
    before an edit and the edit itself read a file once between them while memory stays flat
    however many files a dataset has.
    """
    stat = Path(path).stat()
    key = (Path(path), stat.st_size, stat.st_mtime_ns)
    index = _INDEX_CACHE.get(key)
    if index is None:
        index = _sample_table_index(key[0]) or _demux_packet_index(key[0])
        _INDEX_CACHE.put(key, index)
    return index


class _IndexCache:
    """Least recently used indexes, bounded by the bytes of their arrays."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[tuple[Path, int, int], tuple[PacketIndex, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[Path, int, int]) -> PacketIndex | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: tuple[Path, int, int], index: PacketIndex) -> None:
        if key in self._items:
            return
        # The arrays, and room for the derived ones (computed later, on first use).
        weight = index.nbytes() + 16 * index.num_packets
        self._items[key] = (index, weight)
        self._bytes += weight
        while self._bytes > self.budget_bytes and len(self._items) > 1:
            _, (_, dropped) = self._items.popitem(last=False)
            self._bytes -= dropped

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0


# Re-reading a plain mp4's tables costs milliseconds; a file only demuxing indexes is read once
# per edit while the dataset's indexes fit here. Past that, validation and the edit each read
# every file in turn (the least recent one is always the next), so a larger budget buys nothing.
_INDEX_CACHE = _IndexCache(budget_bytes=16 * 2**20)


def _sample_table_index(path: Path) -> PacketIndex | None:
    """The index from the file's sample tables, or None where the demuxer must read it."""
    try:
        samples = read_mp4_samples(path)
    except (OSError, ValueError):
        return None  # let the demuxer read it and name what is wrong
    if samples is None:
        return None
    try:
        with av.open(str(path)) as container:  # the header only: codec facts, no packets
            if len(container.streams.video) != 1:
                return None
            stream = container.streams.video[0]
            facts = stream_facts(stream)
            rate = stream.average_rate
            frames = stream.frames
    except av.error.FFmpegError:
        return None
    if Fraction(1, samples.track.timescale) != facts.time_base or frames not in (
        0,
        len(samples.pts),
    ):
        return None  # FFmpeg sees the track differently: trust its demuxer
    return PacketIndex(
        path=path,
        facts=facts,
        average_rate=Fraction(rate) if rate else None,
        pts=samples.pts,
        dts=samples.dts,
        duration=samples.duration,
        keyframe=samples.keyframe,
        size_bytes=samples.size_bytes,
        offset=samples.offset,
        track=samples.track,
    )


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
        duration=compact_integers(np.asarray(columns[2], dtype=np.int64)),
        keyframe=np.asarray(columns[3], dtype=bool),
        size_bytes=compact_integers(np.asarray(columns[4], dtype=np.int64)),
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

    def abandon(self) -> None:
        """Close without finishing cleanly (the caller removes the file)."""
        with contextlib.suppress(av.error.FFmpegError):
            self._container.close()
