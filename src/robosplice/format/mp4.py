"""MP4 sample tables read and written directly: an index without demuxing, a cut without muxing.

Why by hand: an edit that keeps most of a file's frames should cost what copying its bytes
costs. Demuxing a file packet by packet through PyAV to learn where its samples are costs a
Python call per frame, and muxing kept packets back costs another; the sample tables (`stsz`,
`stco`, `stts`, `ctts`, `stss`, `stsc`) already say where every sample is, as a few arrays numpy
reads at once. Writing a file from such samples is `format/mp4_writer.py`.

Only the plain layout the official recorder (FFmpeg's mp4 muxer) writes is read: one video
track, no fragments, at most one edit that starts the media at or before its first frame.
Anything else returns None and the caller demuxes (format/video.py), so FFmpeg's rules for
exotic files stay FFmpeg's. Times follow FFmpeg's reading: pts = dts + ctts − media_time.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True, slots=True, kw_only=True)
class Mp4Track:
    """The boxes of a file's video track that a new file copies as they are, and its timescale."""

    ftyp: bytes
    tkhd: bytes
    hdlr: bytes
    vmhd: bytes
    dinf: bytes
    stsd: bytes
    language: bytes  # mdhd's packed ISO-639 code
    timescale: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Mp4Samples:
    """Every sample of the track in decode order, as FFmpeg reports them (time-base ticks).

    Sizes and durations (32-bit in the tables) are int32 where every value fits, else int64:
    an edit holds the index of each file it copies from, so bytes per sample count.
    """

    track: Mp4Track
    offset: np.ndarray
    size_bytes: np.ndarray
    pts: np.ndarray
    dts: np.ndarray
    duration: np.ndarray
    keyframe: np.ndarray


@dataclass(frozen=True, slots=True)
class _Box:
    kind: bytes
    start: int  # offset of the box header in the file
    body: int  # offset of the payload
    end: int


def _header(data: bytes, position: int, end: int) -> tuple[bytes, int, int]:
    """(kind, header size, box size) of the box whose first bytes (8, or 16 for a 64-bit size)
    `data` holds; the box starts at `position` of a container that ends at `end`."""
    size, kind = struct.unpack_from(">I4s", data)
    header = 8
    if size == 1:
        if len(data) < 16:
            raise ValueError(f"box {kind!r} at {position} overruns its container")
        (size,) = struct.unpack_from(">Q", data, 8)
        header = 16
    elif size == 0:
        size = end - position  # runs to the end of its container
    if size < header or position + size > end:
        raise ValueError(f"box {kind!r} at {position} overruns its container")
    return kind, header, size


def _boxes(data: bytes, start: int, end: int) -> Iterator[_Box]:
    """Boxes laid end to end in data[start:end]."""
    position = start
    while position + 8 <= end:
        kind, header, size = _header(data[position : min(position + 16, end)], position, end)
        yield _Box(kind, position, position + header, position + size)
        position += size


def _top_level(path: Path) -> tuple[bytes, bytes | None, bool]:
    """(ftyp box, moov box, fragmented) read from the file without reading `mdat`."""
    ftyp = b""
    moov: bytes | None = None
    fragmented = False
    with path.open("rb") as handle:
        size_total = os.fstat(handle.fileno()).st_size
        position = 0
        while position + 8 <= size_total:
            handle.seek(position)
            first_bytes = handle.read(16)
            if position == 0 and first_bytes[4:8] != b"ftyp":
                break  # not ISO base media (Matroska, QuickTime without ftyp, …)
            kind, _, size = _header(first_bytes, position, size_total)
            if kind in (b"ftyp", b"moov"):
                handle.seek(position)
                box = handle.read(size)
                if kind == b"ftyp":
                    ftyp = box
                else:
                    moov = box
            elif kind in (b"moof", b"mfra"):
                fragmented = True
            position += size
    return ftyp, moov, fragmented


def _children(moov: bytes, box: _Box) -> dict[bytes, list[_Box]]:
    found: dict[bytes, list[_Box]] = {}
    for child in _boxes(moov, box.body, box.end):
        found.setdefault(child.kind, []).append(child)
    return found


def _one(found: dict[bytes, list[_Box]], kind: bytes) -> _Box | None:
    boxes = found.get(kind, [])
    return boxes[0] if len(boxes) == 1 else None


def _full_box_entries(moov: bytes, box: _Box) -> tuple[int, int]:
    """(version, entry count) of a full box with a count right after version/flags."""
    version = moov[box.body]
    (count,) = struct.unpack_from(">I", moov, box.body + 4)
    return version, count


def _table(moov: bytes, box: _Box, offset: int, count: int, dtype: str, columns: int) -> np.ndarray:
    """`count` rows of `columns` big-endian values starting `offset` bytes into the payload."""
    start = box.body + offset
    needed = count * columns * np.dtype(dtype).itemsize
    if start + needed > box.end:
        raise ValueError(f"{box.kind!r} table overruns its box")
    values = np.frombuffer(moov, dtype=dtype, count=count * columns, offset=start)
    return values.reshape(count, columns).astype(np.int64)


def compact_integers(values: np.ndarray) -> np.ndarray:
    """`values` as int32 when every one fits (exactly the same numbers), else as int64."""
    info = np.iinfo(np.int32)
    if not len(values) or (int(values.min()) >= info.min and int(values.max()) <= info.max):
        return values.astype(np.int32)
    return values.astype(np.int64)


def read_mp4_samples(path: Path) -> Mp4Samples | None:
    """The sample tables of `path`'s only video track, or None if the file is not the plain
    layout this module reads (the caller then demuxes).

    Raises:
        ValueError: the boxes are malformed (the caller reports the file as unreadable).
        OSError: the file cannot be read.
    """
    ftyp, moov, fragmented = _top_level(path)
    if fragmented or moov is None or not ftyp:
        return None
    moov_box = next(_boxes(moov, 0, len(moov)))
    movie = _children(moov, moov_box)
    tracks, mvhd = movie.get(b"trak", []), _one(movie, b"mvhd")
    if len(tracks) != 1 or mvhd is None:
        return None
    movie_timescale = struct.unpack_from(
        ">I", moov, mvhd.body + (20 if moov[mvhd.body] == 1 else 12)
    )[0]
    trak = _children(moov, tracks[0])
    tkhd, mdia_box, edts = _one(trak, b"tkhd"), _one(trak, b"mdia"), trak.get(b"edts")
    if tkhd is None or mdia_box is None:
        return None
    mdia = _children(moov, mdia_box)
    mdhd, hdlr, minf_box = _one(mdia, b"mdhd"), _one(mdia, b"hdlr"), _one(mdia, b"minf")
    if (
        mdhd is None
        or hdlr is None
        or minf_box is None
        or moov[hdlr.body + 8 : hdlr.body + 12] != b"vide"
    ):
        return None
    minf = _children(moov, minf_box)
    vmhd, dinf, stbl_box = _one(minf, b"vmhd"), _one(minf, b"dinf"), _one(minf, b"stbl")
    if vmhd is None or dinf is None or stbl_box is None:
        return None
    stbl = _children(moov, stbl_box)
    stsd, stts, stsc, stsz = (_one(stbl, k) for k in (b"stsd", b"stts", b"stsc", b"stsz"))
    chunk_box = _one(stbl, b"stco") or _one(stbl, b"co64")
    if stsd is None or stts is None or stsc is None or stsz is None or chunk_box is None:
        return None
    if _full_box_entries(moov, stsd)[1] != 1:
        return None
    if moov[mdhd.body] == 1:
        (timescale,) = struct.unpack_from(">I", moov, mdhd.body + 20)
        language = moov[mdhd.body + 32 : mdhd.body + 34]
    else:
        (timescale,) = struct.unpack_from(">I", moov, mdhd.body + 12)
        language = moov[mdhd.body + 20 : mdhd.body + 22]
    if timescale <= 0:
        return None

    # Sizes.
    (uniform, count) = struct.unpack_from(">II", moov, stsz.body + 4)
    if uniform:
        sizes = np.full(count, uniform, dtype=np.int64)
    else:
        sizes = _table(moov, stsz, 12, count, ">u4", 1)[:, 0]
    if count == 0:
        return None
    # Decode times.
    _, entries = _full_box_entries(moov, stts)
    stts_rows = _table(moov, stts, 8, entries, ">u4", 2)
    deltas = np.repeat(stts_rows[:, 1], stts_rows[:, 0])
    if len(deltas) != count:
        return None
    dts = np.concatenate(([0], np.cumsum(deltas[:-1]))).astype(np.int64)
    # Composition offsets (signed in practice whatever the version, as FFmpeg reads them).
    offsets_ctts = np.zeros(count, dtype=np.int64)
    ctts = _one(stbl, b"ctts")
    if ctts is not None:
        _, entries = _full_box_entries(moov, ctts)
        rows = _table(moov, ctts, 8, entries, ">u4", 2)
        shifts = np.repeat(rows[:, 1].astype(np.uint32).view(np.int32).astype(np.int64), rows[:, 0])
        if len(shifts) != count:
            return None
        offsets_ctts = shifts
    # Keyframes.
    stss = _one(stbl, b"stss")
    if stss is None:
        keyframe = np.ones(count, dtype=bool)
    else:
        _, entries = _full_box_entries(moov, stss)
        numbers = _table(moov, stss, 8, entries, ">u4", 1)[:, 0] - 1
        if len(numbers) and (numbers.min() < 0 or numbers.max() >= count):
            return None
        keyframe = np.zeros(count, dtype=bool)
        keyframe[numbers] = True
    # Sample offsets: chunks, and how many samples each holds.
    _, chunks = _full_box_entries(moov, chunk_box)
    if chunk_box.kind == b"stco":
        chunk_offsets = _table(moov, chunk_box, 8, chunks, ">u4", 1)[:, 0]
    else:
        chunk_offsets = _table(moov, chunk_box, 8, chunks, ">u8", 1)[:, 0]
    _, entries = _full_box_entries(moov, stsc)
    stsc_rows = _table(moov, stsc, 8, entries, ">u4", 3)
    if entries == 0 or stsc_rows[0, 0] != 1 or np.any(np.diff(stsc_rows[:, 0]) <= 0):
        return None
    run_ends = np.append(stsc_rows[1:, 0], chunks + 1)
    per_chunk = np.repeat(stsc_rows[:, 1], run_ends - stsc_rows[:, 0])
    if len(per_chunk) != chunks or int(per_chunk.sum()) != count:
        return None
    chunk_of_sample = np.repeat(np.arange(chunks), per_chunk)
    first_of_chunk = np.concatenate(([0], np.cumsum(per_chunk)[:-1]))
    within = np.cumsum(sizes) - sizes  # bytes before each sample, from the file's first sample
    sample_offset = (
        chunk_offsets[chunk_of_sample] + within - within[first_of_chunk][chunk_of_sample]
    )
    # The edit list: at most one edit, normal rate, starting at or before the first frame.
    media_time = 0
    if edts is not None:
        if len(edts) != 1:
            return None
        elst_boxes = _children(moov, edts[0]).get(b"elst", [])
        if len(elst_boxes) != 1:
            return None
        elst = elst_boxes[0]
        version, entries = _full_box_entries(moov, elst)
        if entries != 1:
            return None
        if version == 1:
            segment, media_time, rate = struct.unpack_from(">QqI", moov, elst.body + 8)
        else:
            segment, media_time, rate = struct.unpack_from(">IiI", moov, elst.body + 8)
        if rate != 0x00010000 or media_time < 0:
            return None
        pts_end = dts + offsets_ctts + deltas
        media_end = (int(pts_end.max()) - media_time) * movie_timescale
        if (
            segment
            and movie_timescale
            and segment * timescale < media_end - timescale * movie_timescale // 1000
        ):
            return None  # the edit ends before the media does: FFmpeg would drop frames
    pts = dts + offsets_ctts - media_time
    if int(pts.min()) < 0:
        return None  # frames before the edit start: FFmpeg's discard rules apply
    track = Mp4Track(
        ftyp=ftyp,
        tkhd=moov[tkhd.start : tkhd.end],
        hdlr=moov[hdlr.start : hdlr.end],
        vmhd=moov[vmhd.start : vmhd.end],
        dinf=moov[dinf.start : dinf.end],
        stsd=_without_bitrate(moov[stsd.start : stsd.end]),
        language=bytes(language),
        timescale=int(timescale),
    )
    return Mp4Samples(
        track=track,
        offset=sample_offset.astype(np.int64),
        size_bytes=compact_integers(sizes),
        pts=pts,
        dts=dts - media_time,
        duration=compact_integers(deltas),
        keyframe=keyframe,
    )


_VISUAL_SAMPLE_ENTRY_BYTES = 78  # fixed fields of a VisualSampleEntry before its child boxes


def _without_bitrate(stsd: bytes) -> bytes:
    """The `stsd` box with its sample entry's `btrt` (bit rates of that file) left out.

    The rates describe the source file, not a cut of it; without them the codec configuration
    of two files from one encoder compares equal, as FFmpeg's stream facts do.
    """
    header = 16  # size, type, version/flags, entry count
    (entry_size,) = struct.unpack_from(">I", stsd, header)
    children_start = header + 8 + _VISUAL_SAMPLE_ENTRY_BYTES
    entry_end = header + entry_size
    if entry_size < 8 + _VISUAL_SAMPLE_ENTRY_BYTES or entry_end != len(stsd):
        return stsd
    try:
        kept = [
            stsd[box.start : box.end]
            for box in _boxes(stsd, children_start, entry_end)
            if box.kind != b"btrt"
        ]
    except ValueError:
        return stsd
    entry = stsd[header + 4 : children_start] + b"".join(kept)  # type, fields, children
    return full_box(b"stsd", 0, struct.pack(">I", 1), struct.pack(">I", 4 + len(entry)) + entry)


def box(kind: bytes, *parts: bytes) -> bytes:
    """A box of `kind` holding `parts`, with its size header."""
    payload = b"".join(parts)
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full_box(kind: bytes, version: int, *parts: bytes) -> bytes:
    """A full box (version, no flags) of `kind` holding `parts`."""
    return box(kind, struct.pack(">I", version << 24), *parts)
