"""Encoder settings as lerobot 0.6.1 takes them: parse, check, compare, override, record.

`RGBEncoderConfig` / `DepthEncoderConfig`, or any object or mapping with their fields, become an
`EncoderSettings` (plus the depth quantisation for depth cameras); nothing here encodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

import av

from robosplice.errors import VideoError
from robosplice.format.depth import (
    DEPTH_DEFAULT_EXTRA_OPTIONS,
    DEPTH_DEFAULT_PIX_FMT,
    DEPTH_DEFAULT_VCODEC,
    DepthQuantization,
)
from robosplice.format.video_codec import (
    ENCODER_ALIASES,
    LIBSVTAV1,
    EncoderSettings,
    check_encoder,
)
from robosplice.ops._encoding import is_int
from robosplice.plan.model import Plan

ENCODER_FIELDS: Final = (
    "vcodec",
    "pix_fmt",
    "g",
    "crf",
    "preset",
    "fast_decode",
    "extra_options",
    "video_backend",
)
DEPTH_FIELDS: Final = ("depth_min", "depth_max", "shift", "use_log")
_MISSING: Final = object()

EncoderLike = Any
"""An encoder configuration: None (defaults), a mapping, or any object with the fields of
0.6.1 `RGBEncoderConfig`/`DepthEncoderConfig` (vcodec, pix_fmt, g, crf, preset, fast_decode,
extra_options, video_backend; depth_min, depth_max, shift, use_log)."""

Choice = tuple[EncoderSettings, DepthQuantization | None]


def default_rgb_settings() -> EncoderSettings:
    """0.6.1 `rgb_encoder_defaults()`: libsvtav1, yuv420p, g 2, crf 30, preset 12."""
    return EncoderSettings().resolved()


def default_depth_settings() -> EncoderSettings:
    """0.6.1 `depth_encoder_defaults()`: HEVC lossless gray12le, g 2, crf 30."""
    return EncoderSettings(
        vcodec=DEPTH_DEFAULT_VCODEC,
        pix_fmt=DEPTH_DEFAULT_PIX_FMT,
        extra_options=dict(DEPTH_DEFAULT_EXTRA_OPTIONS),
    ).resolved()


def parse_encoder(
    value: EncoderLike, *, depth: bool, name: str, problems: list[str]
) -> Choice | None:
    """Encoder settings (and depth quantisation) from a config object or mapping, or None.

    Fields not given keep 0.6.1's defaults of that kind; "auto" picks libsvtav1 (robosplice
    never probes for hardware encoders). Problems are appended to `problems`.
    """
    if value is None:
        return None
    fields: dict[str, Any] = {}
    allowed = (*ENCODER_FIELDS, *DEPTH_FIELDS)
    if isinstance(value, Mapping):
        unknown = sorted(str(key) for key in value if key not in allowed)
        if unknown:
            problems.append(
                f"{name}: unknown field(s) {', '.join(unknown)}; known: {', '.join(allowed)}"
            )
        fields = {key: value[key] for key in allowed if key in value}
    else:
        for key in allowed:
            found = getattr(value, key, _MISSING)
            if found is not _MISSING:
                fields[key] = found
        if "vcodec" not in fields:
            problems.append(
                f"{name}: {type(value).__name__} is neither a mapping nor an encoder config"
                " (no 'vcodec' attribute)"
            )
            return None
    base = default_depth_settings() if depth else EncoderSettings()
    if fields.get("vcodec") == "auto":
        fields["vcodec"] = LIBSVTAV1
    settings_fields = {
        key: fields[key] for key in ENCODER_FIELDS if key in fields and key != "video_backend"
    }
    if "extra_options" in settings_fields:
        settings_fields["extra_options"] = dict(settings_fields["extra_options"] or {})
    try:
        settings = replace(base, **settings_fields).resolved()
    except TypeError as exc:
        problems.append(f"{name}: {exc}")
        return None
    quantization = None
    if depth:
        depth_values = {key: fields[key] for key in DEPTH_FIELDS if key in fields}
        try:
            quantization = DepthQuantization(**depth_values)
        except TypeError as exc:
            problems.append(f"{name}: {exc}")
            return None
        problems.extend(f"{name}: {problem}" for problem in quantization.problems())
    return settings, quantization


def parse_encoders(
    rgb_encoder: EncoderLike, depth_encoder: EncoderLike, problems: list[str]
) -> tuple[Choice | None, Choice | None]:
    """`parse_encoder` of an op's `rgb_encoder` and `depth_encoder` arguments."""
    rgb = parse_encoder(rgb_encoder, depth=False, name="rgb_encoder", problems=problems)
    depth = parse_encoder(depth_encoder, depth=True, name="depth_encoder", problems=problems)
    return rgb, depth


def check_settings(settings: EncoderSettings, name: str) -> list[str]:
    """What is wrong with encoder settings for this PyAV build (empty when usable)."""
    problems = []
    try:
        check_encoder(settings.vcodec)
    except VideoError as exc:
        return [f"{name}: {exc}"]
    codec = av.codec.Codec(ENCODER_ALIASES.get(settings.vcodec, settings.vcodec), "w")
    formats = [f.name for f in (codec.video_formats or ())]
    if formats and settings.pix_fmt not in formats:
        problems.append(
            f"{name}: pix_fmt {settings.pix_fmt!r} is not supported by {codec.name};"
            f" it takes {', '.join(formats)}"
        )
    if settings.g is not None and not (is_int(settings.g) and settings.g >= 1):
        problems.append(f"{name}: g must be a positive integer or None, got {settings.g!r}")
    if settings.crf is not None and not isinstance(settings.crf, (int, float)):
        problems.append(f"{name}: crf must be a number or None, got {settings.crf!r}")
    if not is_int(settings.fast_decode) or settings.fast_decode < 0:
        problems.append(
            f"{name}: fast_decode must be an integer >= 0, got {settings.fast_decode!r}"
        )
    return problems


def check_plan_settings(plan: Plan) -> list[str]:
    """`check_settings` of every camera the plan encodes."""
    problems = []
    for key, video in plan.videos.items():
        kind = "depth_encoder" if video.depth is not None else "rgb_encoder"
        problems.extend(check_settings(video.settings, f"{kind} (camera {key})"))
    return problems


def canonical_codec(vcodec: str) -> str:
    """The stream codec name an encoder writes (`libsvtav1` → `av1`, `libx264` → `h264`)."""
    name = ENCODER_ALIASES.get(vcodec, vcodec)
    try:
        return str(av.codec.Codec(name, "w").canonical_name)
    except (av.error.FFmpegError, ValueError):
        return vcodec


def same_encoding(info: Mapping[str, Any], settings: EncoderSettings) -> bool:
    """Whether a camera's recorded `info` says it is already encoded with `settings`.

    Unlike 0.6.1 (dataclass equality, where a missing key means "the default"), a key the info
    does not record counts as unknown, so the camera is re-encoded; aliases and the resolved
    default preset compare equal, and the video backend is ignored.
    """
    settings = settings.resolved()
    if info.get("video.codec") != canonical_codec(settings.vcodec):
        return False
    if info.get("video.pix_fmt") != settings.pix_fmt:
        return False
    for field in ("g", "crf", "preset", "fast_decode"):
        key = f"video.{field}"
        if key not in info or info[key] != getattr(settings, field):
            return False
    return dict(info.get("video.extra_options") or {}) == dict(settings.extra_options)


def settings_from_info(info: Mapping[str, Any], *, depth: bool) -> EncoderSettings:
    """The settings a camera was encoded with, from its `info` (0.6.1 `from_video_info`).

    Missing or null keys take the defaults of the kind (RGB or depth), as upstream does.
    """
    base = default_depth_settings() if depth else EncoderSettings()
    fields: dict[str, Any] = {}
    codec = info.get("video.codec")
    if codec:
        fields["vcodec"] = ENCODER_ALIASES.get(codec, codec)
    if info.get("video.pix_fmt"):
        fields["pix_fmt"] = info["video.pix_fmt"]
    for field in ("g", "crf", "preset", "fast_decode"):
        if info.get(f"video.{field}") is not None:
            fields[field] = info[f"video.{field}"]
    if info.get("video.extra_options"):
        fields["extra_options"] = dict(info["video.extra_options"])
    return replace(base, **fields).resolved()


def flat_overrides(**values: Any) -> dict[str, Any]:
    """The older flat keywords (vcodec, crf, …) that were given (None = not given)."""
    return {key: value for key, value in values.items() if value is not None}


def apply_overrides(settings: EncoderSettings, overrides: Mapping[str, Any]) -> EncoderSettings:
    """`settings` with some fields replaced; a new codec drops the old codec's preset."""
    if not overrides:
        return settings
    changed = replace(settings, **overrides)
    new_codec = "vcodec" in overrides and canonical_codec(changed.vcodec) != canonical_codec(
        settings.vcodec
    )
    if new_codec and "preset" not in overrides:
        changed = replace(changed, preset=None)
    return changed.resolved()


def settings_json(choice: Choice | None) -> dict[str, Any] | None:
    """Encoder settings as plain JSON, for the plan's arguments (the edit log)."""
    if choice is None:
        return None
    settings, quantization = choice
    values: dict[str, Any] = {
        "vcodec": settings.vcodec,
        "pix_fmt": settings.pix_fmt,
        "g": settings.g,
        "crf": settings.crf,
        "preset": settings.preset,
        "fast_decode": settings.fast_decode,
        "extra_options": dict(settings.extra_options),
    }
    if quantization is not None:
        values.update({key.removeprefix("video."): v for key, v in quantization.info().items()})
    return values
