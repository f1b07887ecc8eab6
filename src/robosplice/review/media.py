"""Pictures of one episode for the page: per-episode clips by packet copy, and exact stills.

A v3.0 mp4 holds many episodes. A clip is one episode's packets copied (no decode, no encode)
into a small faststart mp4 whose first packet is at time 0: it starts at the keyframe at or
before the episode's first frame, so `offset_s` (the pre-roll) says where frame 0 is. Stills
are decoded on the server, for image datasets (the stored PNG/JPEG bytes, as they are) and for
codecs a browser cannot play (HEVC, high bit depth, grey).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from robosplice.dataset import Dataset
from robosplice.errors import VideoError
from robosplice.format.video import PacketReader, PacketWriter, StreamFacts
from robosplice.ops.preview import episode_packets

# What a browser's <video> plays everywhere that matters (Chromium, Firefox): 8-bit 4:2:0 AV1,
# H.264 and VP9. Anything else is shown as server-decoded stills.
BROWSER_CODECS: Final = frozenset({"av1", "h264", "vp9"})
BROWSER_PIX_FMTS: Final = frozenset({"yuv420p", "yuvj420p"})


def plays_in_browser(facts: StreamFacts) -> bool:
    """Whether a browser's <video> decodes this stream (else the page asks for stills)."""
    return facts.codec in BROWSER_CODECS and facts.pix_fmt in BROWSER_PIX_FMTS


@dataclass(frozen=True, slots=True, kw_only=True)
class Clip:
    """A cached clip: its file, where frame 0 of the episode is, and how many frames it has."""

    path: Path
    offset_s: float
    frames: int
    fps: float
    codec: str

    def to_json(self) -> dict[str, Any]:
        """What the page needs to seek frame-exactly (the file itself is served separately)."""
        return {
            "offset_s": self.offset_s,
            "frames": self.frames,
            "fps": self.fps,
            "codec": self.codec,
        }


_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


def write_clip(dataset: Dataset, episode: int, camera: str, target: Path) -> Clip:
    """Copy episode `episode` of `camera` into `target` (kept if already there) and describe it.

    Raises:
        VideoError: the source video cannot be read or does not hold the episode.
    """
    record = dataset.episodes[episode]
    path, index, packets = episode_packets(dataset, episode, camera, 0, record.length)
    time_base: Fraction = index.facts.time_base
    clip = Clip(
        path=target,
        offset_s=float((packets.wanted_first_pts - packets.base_pts) * time_base),
        frames=record.length,
        fps=float(dataset.fps),
        codec=index.facts.codec,
    )
    with _lock_for(target):
        if target.is_file():
            return clip
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        reader = PacketReader(path)
        try:
            chosen = list(reader.packets(packets.first, packets.stop))
            writer = PacketWriter(partial, reader.stream)
            for packet in chosen:
                writer.write(
                    packet, int(packet.pts) - packets.base_pts, int(packet.dts) - packets.base_pts
                )
            writer.close()
        finally:
            reader.close()
        os.replace(partial, target)
    return clip


def still_of_video(dataset: Dataset, episode: int, camera: str, frame: int) -> bytes:
    """Frame `frame` of `episode` of a video camera, decoded and encoded as PNG.

    Raises:
        VideoError: the frame cannot be decoded.
    """
    path, _, packets = episode_packets(dataset, episode, camera, frame, frame + 1)
    reader = PacketReader(path)
    try:
        chosen = list(reader.packets(packets.first, packets.stop))
        context = reader.stream.codec_context
        decoded = []
        for packet in chosen:
            decoded.extend(context.decode(packet))
        decoded.extend(context.decode(None))
    except av.error.FFmpegError as exc:
        raise VideoError(f"{path}: cannot decode episode {episode} frame {frame} ({exc})") from exc
    finally:
        reader.close()
    for picture in decoded:
        if picture.pts == packets.wanted_first_pts:
            return encode_png(picture_array(picture))
    raise VideoError(f"{path}: episode {episode} frame {frame} was not among the decoded frames")


def picture_array(picture: Any) -> np.ndarray:
    """RGB (or 8-bit grey for grey/depth formats) pixels of a decoded frame."""
    name = picture.format.name
    if name.startswith("gray"):
        values = picture.to_ndarray()
        if values.dtype != np.uint8:
            bits = 12 if "12" in name else 10 if "10" in name else 16
            values = (values.astype(np.uint32) >> (bits - 8)).clip(0, 255).astype(np.uint8)
        return np.asarray(values)
    return np.asarray(picture.to_ndarray(format="rgb24"))


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of an HxW (grey) or HxWx3 (RGB) uint8 array, with PyAV's encoder (no Pillow)."""
    grey = pixels.ndim == 2
    context = av.CodecContext.create("png", "w")
    context.width = int(pixels.shape[1])
    context.height = int(pixels.shape[0])
    context.pix_fmt = "gray" if grey else "rgb24"
    frame = av.VideoFrame.from_ndarray(
        np.ascontiguousarray(pixels), format="gray" if grey else "rgb24"
    )
    return b"".join(bytes(packet) for packet in [*context.encode(frame), *context.encode(None)])


def still_of_image(dataset: Dataset, episode: int, camera: str, frame: int) -> bytes:
    """The stored bytes (PNG/JPEG) of `frame` of `episode` of an image camera."""
    record = dataset.episodes[episode]
    path = dataset.data_path(record.data_position)
    global_index = record.dataset_from_index + frame
    table = pq.read_table(path, columns=[camera, "index"], filters=[("index", "=", global_index)])
    table = table.filter(pc.equal(table.column("index"), global_index))
    if table.num_rows != 1:
        raise VideoError(f"{path}: no single row with index {global_index} for {camera}")
    value = table.column(camera)[0].as_py()
    data = value.get("bytes") if isinstance(value, dict) else value
    if not data:
        relative = value.get("path") if isinstance(value, dict) else None
        raise VideoError(f"{path}: {camera} row {global_index} holds no bytes ({relative!r})")
    return bytes(data)


def image_media_type(data: bytes) -> str:
    """The media type of encoded image bytes, from their magic number."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    return "application/octet-stream"
