"""`EncodeJob`: one episode of an output camera to encode, and the frames it feeds the encoder.

Frames stream: image bytes → PyAV decode → frame (no image files on disk), or the source video
decoded from the episode's window on. Colour images become RGB, as the official converter does
(PIL `convert("RGB")`); decoded video keeps its own pixel format. Depth keeps its 12-bit codes:
raw depth images are quantised as 0.6.1 does, depth video is passed on code for code. Encoding
them is `engine/video_encode.py`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.errors import InvalidDatasetError, Problem, VideoError
from robosplice.format.depth import decode_depth_image, quantize_depth
from robosplice.format.untrusted import resolve_inside
from robosplice.plan.model import VideoSource

_DEPTH_CODE_FORMAT: Final = "gray12le"  # what the 0.6.1 loader reads depth frames as


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodeJob:
    """One episode of one output camera to encode (plain data, run by a worker thread).

    Frames `start, start + step, … < stop` of the source episode: rows `first_row + i` of
    `data_path` (images), or the frames of `video_path` from `from_timestamp` on (video).
    """

    key: str
    output_index: int
    path: Path
    fps: float
    source: VideoSource
    root: Path
    data_path: Path | None = None
    first_row: int = 0
    video_path: Path | None = None
    from_timestamp: float = 0.0
    source_fps: float = 30.0
    start: int = 0
    stop: int = 0
    step: int = 1

    @property
    def length(self) -> int:
        """Frames the job encodes."""
        return len(range(self.start, self.stop, self.step))


def image_frames(job: EncodeJob) -> Iterator[Any]:
    """The job's image cells as PyAV frames: RGB, or 12-bit depth codes."""
    assert job.data_path is not None
    cells = _read_image_cells(
        job.data_path, job.source.source_key, job.first_row + job.start, job.first_row + job.stop
    )
    depth = job.source.depth
    for position in range(0, len(cells), job.step):
        payload = _cell_bytes(cells[position], job.root, job.data_path)
        if depth is not None:
            yield gray12_frame(quantize_depth(decode_depth_image(payload), depth))
            continue
        frame = _decode_image(payload, job.data_path)
        # As the official converter (PIL convert("RGB") then VideoFrame.from_image): plain RGB
        # without the decoder's colour-range tag. A PNG decodes tagged full-range, and the
        # encoder would then write full-range YUV that players read as limited (−1.7 dB).
        yield av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")


def _read_image_cells(path: Path, column: str, start: int, stop: int) -> list[Any]:
    """Cells [start, stop) of an image column, reading only the row groups that hold them."""
    try:
        parquet = pq.ParquetFile(path)
        metadata = parquet.metadata
        groups, offset, first_offset = [], 0, None
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            if offset < stop and offset + rows > start:
                groups.append(group)
                if first_offset is None:
                    first_offset = offset
            offset += rows
        if not groups or first_offset is None:
            raise VideoError(f"{path}: rows {start}..{stop - 1} are not in the file")
        table = parquet.read_row_groups(groups, columns=[column])
    except (pa.ArrowInvalid, OSError, KeyError) as exc:
        raise InvalidDatasetError(
            f"{path}: cannot read image column {column!r} ({exc})",
            [Problem(file=str(path), loc=column, kind="corrupt_parquet", message=str(exc))],
        ) from exc
    cells: list[Any] = table.column(0).slice(start - first_offset, stop - start).to_pylist()
    return cells


def _cell_bytes(cell: Mapping[str, Any] | None, root: Path, data_path: Path) -> bytes:
    """The encoded image of a `{bytes, path}` cell (read from its path when it has no bytes)."""
    payload = (cell or {}).get("bytes")
    if payload is not None:
        return bytes(payload)
    location = (cell or {}).get("path")
    candidate = (
        resolve_inside(
            root, str(location), field="path", file=data_path.relative_to(root).as_posix()
        )
        if location
        else None
    )
    if candidate is None or not candidate.is_file():
        raise VideoError(
            f"{data_path}: an image cell has no bytes and its path {location!r} is not a file"
        )
    return candidate.read_bytes()


# Image formats by magic bytes: their decoder is opened directly (probing a container per
# frame costs more than decoding a small PNG).
_IMAGE_DECODERS: Final = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "mjpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


def _decode_image(payload: bytes, where: Path) -> Any:
    """One image cell as a PyAV frame; a fresh decoder each time (a reused PNG decoder keeps
    state between images and returns wrong frames)."""
    name = next((codec for magic, codec in _IMAGE_DECODERS if payload.startswith(magic)), None)
    try:
        if name is not None:
            decoder: Any = av.CodecContext.create(name, "r")
            frames = decoder.decode(av.Packet(payload))
            if frames:
                return frames[0]
        container: Any = av.open(io.BytesIO(payload))
        with container:
            return next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as exc:
        raise VideoError(f"{where}: an image cell cannot be decoded ({exc})") from exc


def gray12_frame(codes: np.ndarray) -> Any:
    """A `gray12le` frame holding 12-bit codes (H, W) uint16, as 0.6.1 builds depth frames."""
    codes = np.ascontiguousarray(codes, dtype=np.uint16)
    try:
        return av.VideoFrame.from_ndarray(codes, format=_DEPTH_CODE_FORMAT)
    except (ValueError, TypeError):  # older PyAV: write the plane by hand (0.6.1 write_u16_plane)
        height, width = codes.shape
        frame = av.VideoFrame(width, height, _DEPTH_CODE_FORMAT)
        plane = frame.planes[0]
        stride = plane.line_size // 2
        target = np.frombuffer(memoryview(plane), dtype=np.uint16).reshape(height, stride)
        target[:, :width] = codes
        return frame


def video_frames(job: EncodeJob) -> Iterator[Any]:
    """The job's frames decoded from the source video (display order, from its window on)."""
    assert job.video_path is not None
    wanted = range(job.start, job.stop, job.step)
    half_frame = 0.5 / job.source_fps
    depth = job.source.depth is not None
    try:
        container: Any = av.open(str(job.video_path))
        with container:
            stream = container.streams.video[0]
            time_base = Fraction(stream.time_base)
            container.seek(int(job.from_timestamp / time_base), stream=stream, backward=True)
            position = 0
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                if float(frame.pts * time_base) < job.from_timestamp - half_frame:
                    continue
                if position in wanted:
                    if depth:
                        # Keep the codes the loader reads (never an RGB or range conversion).
                        yield gray12_frame(frame.to_ndarray(format=_DEPTH_CODE_FORMAT))
                    else:
                        yield frame
                position += 1
                if position >= job.stop:
                    return
    except av.error.FFmpegError as exc:
        raise VideoError(f"{job.video_path}: cannot decode ({exc})") from exc
