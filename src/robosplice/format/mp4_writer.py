"""Write a one-track mp4 from samples of other mp4 files: a cut without muxing.

The writer lays out `ftyp`, a `moov` with new sample tables (the codec configuration copied
verbatim from the source's `stsd`) and one `mdat` whose bytes are copied from the sources
kernel-side. The samples come from `format/mp4.py`'s reader, which says where each one is.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from robosplice.errors import VideoError
from robosplice.format.copying import copy_range, write_all
from robosplice.format.mp4 import Mp4Track, box, full_box

_MOVIE_TIMESCALE = 1000
_UINT32_MAX = 2**32 - 1


def _run_length(values: np.ndarray) -> np.ndarray:
    """(count, value) rows of consecutive equal values."""
    if not len(values):
        return np.zeros((0, 2), dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    counts = np.diff(np.append(starts, len(values)))
    return np.stack([counts, values[starts]], axis=1)


def _table_box(kind: bytes, rows: np.ndarray, dtype: str, version: int = 0) -> bytes:
    body = np.ascontiguousarray(rows, dtype=dtype).tobytes()
    return full_box(kind, version, struct.pack(">I", len(rows)), body)


class Mp4Writer:
    """Writes a one-track mp4 from samples of other mp4 files, copying their bytes untouched.

    Samples are added in decode order with their new timestamps. Their bytes are appended to
    `mdat` at once (a contiguous run at a time, kernel-side where the OS allows), so a source
    may go away after `add`; `close` writes the `moov` after the data, as FFmpeg does without
    `faststart` (putting it first would mean copying every byte twice).
    """

    def __init__(self, path: Path, track: Mp4Track) -> None:
        self.path = path
        self.track = track
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out = path.open("wb", buffering=0)  # unbuffered: data also goes by fd
        # `free` + an 8-byte mdat header; the pair becomes one 16-byte header past 4 GiB.
        write_all(self._out.fileno(), track.ftyp + struct.pack(">I4sI4s", 8, b"free", 0, b"mdat"))
        self._mdat_start = len(track.ftyp) + 8
        self._position = self._mdat_start + 8
        self._sizes: list[np.ndarray] = []
        self._pts: list[np.ndarray] = []
        self._dts: list[np.ndarray] = []
        self._duration: list[np.ndarray] = []
        self._keyframe: list[np.ndarray] = []
        self._chunk_samples: list[np.ndarray] = []
        self._chunk_offsets: list[int] = []
        self.bytes_written = 0  # sample bytes so far
        self.last_dts: int | None = None

    def add(
        self,
        source: Path,
        *,
        offset: np.ndarray,
        size_bytes: np.ndarray,
        pts: np.ndarray,
        dts: np.ndarray,
        duration: np.ndarray,
        keyframe: np.ndarray,
    ) -> None:
        """Copy samples of `source` (decode order: byte offsets and sizes there) with their
        pts/dts in this file."""
        if not len(dts):
            return
        if self.last_dts is not None and int(dts[0]) <= self.last_dts:
            raise VideoError(
                f"{self.path}: decode times must increase ({dts[0]} after {self.last_dts})"
            )
        breaks = np.flatnonzero(offset[1:] != offset[:-1] + size_bytes[:-1]) + 1
        starts = np.concatenate(([0], breaks))
        ends = np.append(breaks, len(offset))
        handle = os.open(source, os.O_RDONLY)
        try:
            for first, stop in zip(starts.tolist(), ends.tolist(), strict=True):
                length = int(offset[stop - 1] + size_bytes[stop - 1] - offset[first])
                self._chunk_offsets.append(self._position)
                copy_range(handle, self._out.fileno(), int(offset[first]), length, source)
                self._position += length
        finally:
            os.close(handle)
        self._chunk_samples.append(ends - starts)
        self._sizes.append(size_bytes)
        self._pts.append(pts)
        self._dts.append(dts)
        self._duration.append(duration)
        self._keyframe.append(keyframe)
        self.bytes_written += int(size_bytes.sum())
        self.last_dts = int(dts[-1])

    def close(self) -> None:
        """Write the `moov` and the `mdat` size; the file is then complete."""
        out = self._out
        try:
            if not self._dts:
                raise VideoError(f"{self.path}: no samples to write")
            join = np.concatenate
            large = self._position > _UINT32_MAX
            moov = self._moov(
                join(self._sizes),
                join(self._pts),
                join(self._dts),
                join(self._duration),
                join(self._keyframe),
                join(self._chunk_samples),
                np.asarray(self._chunk_offsets, dtype=np.int64),
                large,
            )
            write_all(out.fileno(), moov)
            if large:  # `free` + header → one 16-byte header with a 64-bit size
                header = struct.pack(">I4sQ", 1, b"mdat", self._position - self._mdat_start + 8)
                os.pwrite(out.fileno(), header, self._mdat_start - 8)
            else:
                size = struct.pack(">I", self._position - self._mdat_start)
                os.pwrite(out.fileno(), size, self._mdat_start)
        finally:
            out.close()

    def abandon(self) -> None:
        """Close without finishing (the caller removes the file)."""
        self._out.close()

    def _moov(
        self,
        sizes: np.ndarray,
        pts: np.ndarray,
        dts: np.ndarray,
        duration: np.ndarray,
        keyframe: np.ndarray,
        per_chunk: np.ndarray,
        chunk_offsets: np.ndarray,
        large: bool,
    ) -> bytes:
        track = self.track
        first_dts = int(dts[0])
        if first_dts > 0:
            raise VideoError(f"{self.path}: the first sample must decode at or before time 0")
        media_time = -first_dts  # FFmpeg reads pts = sample time + ctts − media_time
        sample_time = dts - first_dts
        deltas = np.append(np.diff(sample_time), duration[-1])
        media_duration = int(sample_time[-1] + duration[-1])
        shown_end = int((pts + duration).max())
        movie_duration = round(shown_end * _MOVIE_TIMESCALE / track.timescale)
        composition = pts - dts
        stbl = [track.stsd, _table_box(b"stts", _run_length(deltas), ">u4")]
        if np.any(composition != 0):
            version = 1 if composition.min() < 0 else 0
            stbl.append(_table_box(b"ctts", _run_length(composition), ">i4", version))
        if not keyframe.all():
            stbl.append(_table_box(b"stss", np.flatnonzero(keyframe) + 1, ">u4"))
        counts = struct.pack(">II", 0, len(sizes))
        stbl.append(full_box(b"stsz", 0, counts, np.ascontiguousarray(sizes, ">u4").tobytes()))
        runs = _run_length(per_chunk)
        first_chunk = np.concatenate(([1], 1 + np.cumsum(runs[:, 0])[:-1]))
        stsc = np.stack([first_chunk, runs[:, 1], np.ones(len(runs), np.int64)], axis=1)
        stbl.append(_table_box(b"stsc", stsc, ">u4"))
        if large:
            stbl.append(_table_box(b"co64", chunk_offsets, ">u8"))
        else:
            stbl.append(_table_box(b"stco", chunk_offsets, ">u4"))
        minf = box(b"minf", track.vmhd, track.dinf, box(b"stbl", *stbl))
        mdhd = full_box(
            b"mdhd",
            1,
            struct.pack(">QQIQ", 0, 0, track.timescale, media_duration),
            track.language,
            b"\0\0",
        )
        elst = full_box(b"elst", 1, struct.pack(">IQqhh", 1, movie_duration, media_time, 1, 0))
        tkhd = _patched_tkhd(track.tkhd, movie_duration)
        trak = box(b"trak", tkhd, box(b"edts", elst), box(b"mdia", mdhd, track.hdlr, minf))
        matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
        mvhd = full_box(
            b"mvhd",
            1,
            struct.pack(">QQIQ", 0, 0, _MOVIE_TIMESCALE, movie_duration),
            struct.pack(">IH10x", 0x10000, 0x100),
            matrix,
            bytes(24),
            struct.pack(">I", 2),
        )
        return box(b"moov", mvhd, trak)


def _patched_tkhd(tkhd: bytes, duration: int) -> bytes:
    """The source's track header (size, matrix, flags) with track 1 and the new duration."""
    header = 16 if struct.unpack_from(">I", tkhd)[0] == 1 else 8
    version = tkhd[header]
    body = bytearray(tkhd[header + 4 :])
    if version == 1:
        struct.pack_into(">I", body, 16, 1)
        struct.pack_into(">Q", body, 24, duration)
    else:
        struct.pack_into(">I", body, 8, 1)
        struct.pack_into(">I", body, 16, min(duration, _UINT32_MAX))
    return full_box(b"tkhd", version, bytes(body))[:8] + tkhd[header : header + 4] + bytes(body)
