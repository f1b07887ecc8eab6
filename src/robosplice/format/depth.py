"""Depth maps as lerobot 0.6.1 stores them: raw TIFF images, or 12-bit quantised video.

A depth image feature holds one uncompressed TIFF per frame (uint16 millimetres or float32
metres). A depth video holds 12-bit codes (`gray12le`, HEVC lossless by default) produced by
0.6.1 `quantize_depth`; the quantisation parameters live in the feature `info`. This module
mirrors that quantisation bit for bit and reads those TIFFs; it encodes nothing and writes no
files (FORMAT.md §1.2; docs/upstream-0.6.1.md §3).
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from typing import Any, Final

import av
import numpy as np
import numpy.typing as npt

from robosplice.errors import VideoError

DEPTH_QUANT_BITS: Final = 12
DEPTH_QMAX: Final = (1 << DEPTH_QUANT_BITS) - 1
DEPTH_METRE_UNIT: Final = "m"
DEPTH_MILLIMETRE_UNIT: Final = "mm"
MM_PER_METRE: Final = 1000.0
# Keys of a depth video `info` that describe the data, not the codec: a re-encode keeps them.
DEPTH_INFO_KEYS: Final = ("video.depth_min", "video.depth_max", "video.shift", "video.use_log")
# 0.6.1 DepthEncoderConfig defaults (codec side).
DEPTH_DEFAULT_VCODEC: Final = "hevc"
DEPTH_DEFAULT_PIX_FMT: Final = "gray12le"
DEPTH_DEFAULT_EXTRA_OPTIONS: Final = {"x265-params": "lossless=1"}


@dataclass(frozen=True, slots=True, kw_only=True)
class DepthQuantization:
    """The 0.6.1 `DepthEncoderConfig` quantisation fields (metres)."""

    depth_min: float = 0.01
    depth_max: float = 10.0
    shift: float = 3.5
    use_log: bool = True

    def info(self) -> dict[str, Any]:
        """The `video.*` keys 0.6.1 records for these parameters, in its order."""
        return {
            "video.depth_min": self.depth_min,
            "video.depth_max": self.depth_max,
            "video.shift": self.shift,
            "video.use_log": self.use_log,
        }

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> DepthQuantization:
        """Parameters from a depth feature `info`; missing keys take the 0.6.1 defaults."""
        defaults = cls()
        values: dict[str, Any] = {}
        for name in ("depth_min", "depth_max", "shift", "use_log"):
            value = info.get(f"video.{name}")
            values[name] = getattr(defaults, name) if value is None else value
        return cls(
            depth_min=float(values["depth_min"]),
            depth_max=float(values["depth_max"]),
            shift=float(values["shift"]),
            use_log=bool(values["use_log"]),
        )

    def problems(self) -> list[str]:
        """What is wrong with these parameters (empty when usable)."""
        found = []
        if not self.depth_max > self.depth_min:
            found.append(
                f"depth_max ({self.depth_max}) must be greater than depth_min ({self.depth_min})"
            )
        if self.use_log and self.depth_min + self.shift <= 0:
            found.append(
                "depth_min + shift must be positive for logarithmic quantization, got"
                f" depth_min={self.depth_min} + shift={self.shift}"
            )
        return found


def depth_unit_of(array: npt.NDArray[Any]) -> str:
    """0.6.1 `infer_depth_unit`: floating depth is in metres, integer depth in millimetres."""
    return DEPTH_METRE_UNIT if np.issubdtype(array.dtype, np.floating) else DEPTH_MILLIMETRE_UNIT


def quantize_depth(depth: npt.NDArray[Any], params: DepthQuantization) -> npt.NDArray[np.uint16]:
    """12-bit codes (uint16, 0..4095) of a depth map, exactly as 0.6.1 `quantize_depth`.

    The unit follows the dtype (float: metres, integer: millimetres); the maths runs in float32
    in that unit, as upstream does, so the codes match the official recorder's.
    """
    array = np.asarray(depth)
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:-1])
    unit = depth_unit_of(array)
    values = array.astype(np.float32, order="K")
    scale = 1.0 if unit == DEPTH_METRE_UNIT else MM_PER_METRE
    depth_min = np.float32(params.depth_min * scale)
    depth_max = np.float32(params.depth_max * scale)
    shift = np.float32(params.shift * scale)
    if params.use_log:
        log_min = math.log(float(depth_min + shift))
        log_max = math.log(float(depth_max + shift))
        norm = (np.log(values + shift) - log_min) / (log_max - log_min)
    else:
        norm = (values - depth_min) / (depth_max - depth_min)
    codes: npt.NDArray[np.uint16] = (
        np.rint(norm * DEPTH_QMAX).clip(0, DEPTH_QMAX).astype(np.uint16, copy=False)
    )
    return codes


def decode_depth_image(payload: bytes) -> npt.NDArray[Any]:
    """A depth image cell's raw values: (H, W) uint16 (mm) or float32 (m).

    16-bit and 8-bit images go through PyAV (TIFF, PNG); uncompressed float32 TIFF, which
    FFmpeg cannot read, is parsed here.

    Raises:
        VideoError: the bytes are not a single-channel image robosplice can read.
    """
    if payload[:4] in (b"II*\x00", b"MM\x00*"):
        parsed = _read_float_tiff(payload)
        if parsed is not None:
            return parsed
    try:
        container: Any = av.open(io.BytesIO(payload))
        with container:
            frame = next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as exc:
        raise VideoError(f"a depth image cell cannot be decoded ({exc})") from exc
    name = frame.format.name
    if name.startswith("gray16") or name.startswith("gray12") or name.startswith("gray10"):
        values: npt.NDArray[Any] = frame.to_ndarray(format="gray16le")
        return values
    if name == "gray":
        gray: npt.NDArray[Any] = frame.to_ndarray(format="gray")
        return gray
    raise VideoError(f"a depth image cell is {name}, not a single-channel depth map")


_TIFF_TYPES: Final = {3: ("H", 2), 4: ("I", 4)}


def _read_float_tiff(payload: bytes) -> npt.NDArray[np.float32] | None:
    """An uncompressed single-channel 32-bit float TIFF (PIL mode "F"), else None."""
    order = "<" if payload[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack_from(order + "I", payload, 4)
        (count,) = struct.unpack_from(order + "H", payload, offset)
        tags: dict[int, list[int]] = {}
        for entry in range(count):
            tag, kind, number, value_offset = struct.unpack_from(
                order + "HHI4s", payload, offset + 2 + 12 * entry
            )
            if kind not in _TIFF_TYPES:
                continue
            code, size = _TIFF_TYPES[kind]
            raw = value_offset if number * size <= 4 else None
            if raw is None:
                (pointer,) = struct.unpack(order + "I", value_offset)
                data = payload[pointer : pointer + number * size]
            else:
                data = raw[: number * size]
            tags[tag] = list(struct.unpack(order + code * number, data))
    except struct.error:
        return None
    width, height = tags.get(256, [0])[0], tags.get(257, [0])[0]
    bits = tags.get(258, [0])[0]
    compression = tags.get(259, [1])[0]
    sample_format = tags.get(339, [1])[0]
    samples = tags.get(277, [1])[0]
    if bits != 32 or sample_format != 3 or compression != 1 or samples != 1:
        return None
    offsets, counts = tags.get(273, []), tags.get(279, [])
    if not offsets or len(offsets) != len(counts):
        return None
    body = b"".join(payload[o : o + n] for o, n in zip(offsets, counts, strict=True))
    if len(body) < width * height * 4:
        return None
    values = np.frombuffer(body, dtype=np.dtype(order + "f4"), count=width * height)
    return values.reshape(height, width).astype(np.float32)
