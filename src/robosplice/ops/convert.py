"""Video conversion: `convert_image_to_video_dataset`, `reencode_dataset`, `change_fps`.

The only ops that decode and encode (DESIGN.md). Each output episode is encoded on its own, so it
starts on a keyframe, and its packets are concatenated into the camera's files: later edits of
the result are still cut by packet copy. Encoder settings are taken as lerobot 0.6.1 takes them
(`RGBEncoderConfig` / `DepthEncoderConfig`, or any object or mapping with their fields) and
recorded in the feature `info` as the official tools record them. Depth cameras
(`info.is_depth_map`) use the depth settings and keep their 12-bit codes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.errors import SelectionError, VideoError
from robosplice.format.depth import (
    DEPTH_DEFAULT_EXTRA_OPTIONS,
    DEPTH_DEFAULT_PIX_FMT,
    DEPTH_DEFAULT_VCODEC,
    DepthQuantization,
)
from robosplice.format.info import copy_info, is_depth_feature
from robosplice.format.paths import VIDEO_PATH_TEMPLATE
from robosplice.format.video_codec import (
    ENCODER_ALIASES,
    LIBSVTAV1,
    EncoderSettings,
    check_encoder,
)
from robosplice.ops._run import resolve_output_dir, write_plan
from robosplice.ops._select import check_episode_indices
from robosplice.plan.model import OutputEpisode, Plan, Segment, StatsOptions, VideoSource
from robosplice.plan.select import plan_keep, settings_of

logger = logging.getLogger(__name__)

# 0.6.1 OBS_IMAGE: the official converter takes the image keys that start with it.
IMAGE_KEY_PREFIX: Final = "observation.image"
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
    if settings.g is not None and not (_is_int(settings.g) and settings.g >= 1):
        problems.append(f"{name}: g must be a positive integer or None, got {settings.g!r}")
    if settings.crf is not None and not isinstance(settings.crf, (int, float)):
        problems.append(f"{name}: crf must be a number or None, got {settings.crf!r}")
    if not _is_int(settings.fast_decode) or settings.fast_decode < 0:
        problems.append(
            f"{name}: fast_decode must be an integer >= 0, got {settings.fast_decode!r}"
        )
    return problems


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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


def _flat_overrides(**values: Any) -> dict[str, Any]:
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


def _parse_size(size: tuple[int, int] | str | None, problems: list[str]) -> tuple[int, int] | None:
    if size is None:
        return None
    try:
        if isinstance(size, str):
            width_text, _, height_text = size.lower().partition("x")
            width, height = int(width_text), int(height_text)
        else:
            width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        problems.append(f"size must be (width, height) or 'WxH', got {size!r}")
        return None
    if width < 2 or height < 2 or width % 2 or height % 2:
        problems.append(f"size {width}x{height}: width and height must be even and >= 2")
        return None
    return width, height


def _raise_problems(what: str, problems: list[str]) -> None:
    if problems:
        raise SelectionError(f"{what}:\n" + "\n".join(f"  - {p}" for p in problems))


def _check_workers(value: int | None, name: str, problems: list[str]) -> None:
    if value is not None and (not _is_int(value) or value < 0):
        problems.append(f"{name} must be an integer >= 0, got {value!r}")


def _workers(num_workers: int | None) -> int:
    """Encoder processes: as asked, at most one per core (None: one per core)."""
    cores = os.cpu_count() or 1
    return max(1, min(num_workers if num_workers else cores, cores))


# --------------------------------------------------------------------------- image → video


def plan_convert_images(
    dataset: Dataset,
    *,
    rgb: Choice,
    depth: Choice,
    episode_indices: Sequence[int] | None = None,
    max_episodes_per_batch: int | None = None,
    max_frames_per_batch: int | None = None,
) -> Plan:
    """The plan that encodes every `observation.image*` image feature into video.

    Raises:
        SelectionError: the dataset already has videos or has no such image keys, or the
            episodes or batch limits are invalid.
    """
    if dataset.video_keys:
        raise SelectionError(
            "This operation is for image datasets only. Video dataset provided:"
            f" {dataset.repo_id} (it has video cameras {', '.join(dataset.video_keys)})"
        )
    features = dataset.features
    image_keys = [
        key
        for key, feature in features.items()
        if feature.get("dtype") == "image" and key.startswith(IMAGE_KEY_PREFIX)
    ]
    if not image_keys:
        others = [k for k, f in features.items() if f.get("dtype") == "image"]
        raise SelectionError(
            f"No image keys found in dataset {dataset.repo_id}: no image feature starts with"
            f" {IMAGE_KEY_PREFIX!r}" + (f" (image features: {', '.join(others)})" if others else "")
        )
    problems = []
    for name, value in (
        ("max_episodes_per_batch", max_episodes_per_batch),
        ("max_frames_per_batch", max_frames_per_batch),
    ):
        if value is not None and (not _is_int(value) or value < 1):
            problems.append(f"{name} must be a positive integer or None, got {value!r}")
    _raise_problems("cannot convert images to video", problems)
    if episode_indices is None:
        indices = list(range(dataset.num_episodes))
    else:
        if len(episode_indices) == 0:
            raise SelectionError("No episodes to convert: episode_indices is empty")
        indices = check_episode_indices(dataset, episode_indices)
    plan = plan_keep(
        dataset,
        indices,
        operation="convert_image_to_video_dataset",
        settings=settings_of(dataset),
        arguments={
            "episode_indices": indices,
            "rgb_encoder": _settings_json(rgb),
            "depth_encoder": _settings_json(depth),
        },
    )
    info = copy_info(dict(plan.info))
    info["video_path"] = VIDEO_PATH_TEMPLATE
    columns = set(dataset.episodes_table.column_names)
    videos = {}
    visual = set()
    for key in image_keys:
        info["features"][key]["dtype"] = "video"
        is_depth = is_depth_feature(features[key])
        settings, quantization = depth if is_depth else rgb
        videos[key] = VideoSource(
            source_key=key,
            from_images=True,
            settings=settings,
            depth=quantization if is_depth else None,
            max_episodes_per_file=max_episodes_per_batch,
            max_frames_per_file=max_frames_per_batch,
        )
        if f"stats/{key}/mean" not in columns:
            visual.add(key)  # no recorded stats: sample them from the written video
    return replace(
        plan,
        info=info,
        videos=videos,
        stats=replace(plan.stats, visual=plan.stats.visual | frozenset(visual)),
    )


def convert_image_to_video_dataset(
    dataset: DatasetLike,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    rgb_encoder: EncoderLike = None,
    depth_encoder: EncoderLike = None,
    episode_indices: Sequence[int] | None = None,
    num_workers: int = 4,
    max_episodes_per_batch: int | None = None,
    max_frames_per_batch: int | None = None,
    *,
    vcodec: str | None = None,
    pix_fmt: str | None = None,
    g: int | None = None,
    crf: int | float | None = None,
    fast_decode: int | None = None,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
) -> Dataset | Plan:
    """Encode the `observation.image*` cameras of an image dataset into video.

    Frames go from the parquet image bytes straight to the encoder; each episode is encoded on
    its own and concatenated by packet copy, so every episode starts on a keyframe. Unlike
    0.6.1, a subset of episodes is renumbered, and the episodes table keeps tasks and stats
    (image stats become the video features' stats). The flat keywords (`vcodec`, `crf`, …)
    override fields of `rgb_encoder`. Returns the new dataset (the plan when `dry_run`).

    Raises:
        SelectionError: "This operation is for image datasets only", "No image keys found",
            "Invalid episode indices", or an encoder setting this PyAV cannot use (the message
            lists the encoders it has). Nothing is written.
        OutputExistsError: the output exists and `overwrite` is False.
        VideoError: an image cannot be decoded or encoding fails (the output is not created).

    Example:
        >>> convert_image_to_video_dataset("data/pusht_image", "data/pusht_video", crf=28)
    """
    source = open_dataset(dataset)
    problems: list[str] = []
    rgb = parse_encoder(rgb_encoder, depth=False, name="rgb_encoder", problems=problems)
    depth = parse_encoder(depth_encoder, depth=True, name="depth_encoder", problems=problems)
    _check_workers(num_workers, "num_workers", problems)
    _raise_problems("invalid encoder settings", problems)
    rgb_settings = rgb[0] if rgb is not None else default_rgb_settings()
    flat = _flat_overrides(vcodec=vcodec, pix_fmt=pix_fmt, g=g, crf=crf, fast_decode=fast_decode)
    rgb_settings = apply_overrides(rgb_settings, flat)
    depth_choice = depth or (default_depth_settings(), DepthQuantization())
    plan = plan_convert_images(
        source,
        rgb=(rgb_settings, None),
        depth=depth_choice,
        episode_indices=episode_indices,
        max_episodes_per_batch=max_episodes_per_batch,
        max_frames_per_batch=max_frames_per_batch,
    )
    for key, video in plan.videos.items():
        kind = "depth_encoder" if video.depth is not None else "rgb_encoder"
        problems.extend(check_settings(video.settings, f"{kind} (camera {key})"))
    _raise_problems("invalid encoder settings", problems)
    if dry_run:
        return plan
    target, repo_id = resolve_output_dir(output_dir, repo_id, f"{source.repo_id}_video")
    return _write(
        plan, target, repo_id, overwrite=overwrite, workers=num_workers, progress=progress
    )


# --------------------------------------------------------------------------------- re-encode


def plan_reencode(
    dataset: Dataset,
    *,
    rgb: Choice | None,
    depth: Choice | None,
    cameras: Sequence[str] | None = None,
    size: tuple[int, int] | None = None,
    overrides: Mapping[str, Any] | None = None,
    encoder_threads: int | None = None,
) -> Plan:
    """The plan that re-encodes the cameras whose settings (or size) differ from the target.

    A camera with no target of its kind (no encoder, no override, no size) is copied, as is one
    already encoded that way. `plan.videos` is empty when there is nothing to do.

    Raises:
        SelectionError: unknown cameras.
    """
    overrides = dict(overrides or {})
    keys = dataset.video_keys
    if cameras is not None:
        unknown = [c for c in cameras if c not in keys]
        if unknown:
            raise SelectionError(
                f"cameras {', '.join(unknown)} are not video features of {dataset.root}"
                f" (it has {', '.join(keys) or 'none'})"
            )
        keys = [k for k in keys if k in cameras]
    videos = {}
    for key in keys:
        feature = dataset.features[key]
        info = feature.get("info") or {}
        is_depth = is_depth_feature(feature)
        chosen = depth if is_depth else rgb
        if chosen is not None:
            target = chosen[0]
        elif size is not None or (overrides and not is_depth):
            target = settings_from_info(info, depth=is_depth)
        else:
            logger.info("No encoder provided for %s video. Skipping re-encoding.", key)
            continue
        if not is_depth:
            target = apply_overrides(target, overrides)
        resized = size is not None and size != (info.get("video.width"), info.get("video.height"))
        if not resized and same_encoding(info, target):
            logger.info("%s videos are already encoded with %s. Nothing to do.", key, target)
            continue
        videos[key] = VideoSource(
            source_key=key,
            from_images=False,
            settings=target,
            depth=DepthQuantization.from_info(info) if is_depth else None,
            size=size,
            encoder_threads=encoder_threads,
        )
    plan = plan_keep(
        dataset,
        range(dataset.num_episodes),
        operation="reencode_dataset",
        settings=settings_of(dataset),
        arguments={
            "cameras": list(videos),
            "settings": {key: _settings_json((v.settings, None)) for key, v in videos.items()},
            "size": list(size) if size else None,
        },
    )
    info = copy_info(dict(plan.info))
    if size is not None:
        for key in videos:  # the feature shape is [height, width, channels]
            info["features"][key]["shape"][:2] = [size[1], size[0]]
    return replace(plan, info=info, videos=videos)


def reencode_dataset(
    dataset: DatasetLike,
    rgb_encoder: EncoderLike = None,
    depth_encoder: EncoderLike = None,
    encoder_threads: int | None = None,
    num_workers: int | None = None,
    *,
    cameras: Sequence[str] | str | None = None,
    size: tuple[int, int] | str | None = None,
    vcodec: str | None = None,
    pix_fmt: str | None = None,
    g: int | None = None,
    crf: int | float | None = None,
    preset: int | str | None = None,
    fast_decode: int | None = None,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
) -> Dataset | Plan:
    """Re-encode cameras with new settings: codec, quality, GOP, pixel format or size.

    Depth cameras use `depth_encoder` and keep their 12-bit codes and quantisation info; the
    others use `rgb_encoder`. The flat keywords change only the named fields of each RGB
    camera's current settings (or of `rgb_encoder`). A camera already encoded that way is
    copied packet by packet. Unlike 0.6.1 the result goes to a new folder unless `in_place`.
    Returns the new dataset (the source when nothing needs re-encoding and no `output_dir` was
    given; the plan when `dry_run`).

    `backend` ("serial", "process", "ray") chooses where work units (cameras copied as they
    are, frame stats) run, with `num_workers` workers, as an `execution(...)` block does.

    Raises:
        SelectionError: "Either rgb_encoder or depth_encoder must be provided", unknown
            cameras, or settings this PyAV cannot use (nothing is written).
        OutputExistsError: the output exists and neither overwrite nor in_place was given.
        VideoError: decoding or encoding fails (the output is not created).

    Example:
        >>> reencode_dataset("data/pusht", {"vcodec": "h264", "crf": 23}, output_dir="data/h264")
    """
    source = open_dataset(dataset)
    problems: list[str] = []
    rgb = parse_encoder(rgb_encoder, depth=False, name="rgb_encoder", problems=problems)
    depth = parse_encoder(depth_encoder, depth=True, name="depth_encoder", problems=problems)
    overrides = _flat_overrides(
        vcodec=vcodec, pix_fmt=pix_fmt, g=g, crf=crf, preset=preset, fast_decode=fast_decode
    )
    parsed_size = _parse_size(size, problems)
    _check_workers(num_workers, "num_workers", problems)
    _check_workers(encoder_threads, "encoder_threads", problems)
    _raise_problems("invalid re-encode settings", problems)
    if rgb is None and depth is None and not overrides and parsed_size is None:
        raise SelectionError(
            "Either rgb_encoder or depth_encoder must be provided (or robosplice's vcodec, crf,"
            " g, pix_fmt, preset, fast_decode or size)"
        )
    if isinstance(cameras, str):
        cameras = [c for c in cameras.split(",") if c]
    plan = plan_reencode(
        source,
        rgb=rgb,
        depth=depth,
        cameras=cameras,
        size=parsed_size,
        overrides=overrides,
        encoder_threads=encoder_threads,
    )
    for key, video in plan.videos.items():
        kind = "depth_encoder" if video.depth is not None else "rgb_encoder"
        problems.extend(check_settings(video.settings, f"{kind} (camera {key})"))
    _raise_problems("invalid re-encode settings", problems)
    if dry_run:
        return plan
    if not plan.videos:
        logger.warning("Dataset has no videos to re-encode.")
        if in_place or output_dir is None:
            return source
    target, repo_id = resolve_output_dir(
        source.root if in_place else output_dir, repo_id, f"{source.repo_id}_reencoded"
    )
    return _write(
        plan,
        target,
        repo_id,
        overwrite=overwrite,
        in_place=in_place,
        workers=num_workers,
        progress=progress,
        backend=backend,
    )


# ------------------------------------------------------------------------------- change fps


def plan_change_fps(
    dataset: Dataset,
    fps: int | float,
    *,
    rgb: Choice | None = None,
    depth: Choice | None = None,
    encoder_threads: int | None = None,
) -> Plan:
    """The plan that keeps every k-th frame (k = source fps / `fps`) and re-encodes videos.

    Raises:
        SelectionError: `fps` does not divide the source fps into an integer factor > 1.
    """
    source_fps = Fraction(dataset.fps).limit_denominator(1000)
    try:
        wanted = Fraction(fps).limit_denominator(1000)
    except (TypeError, ValueError):
        raise SelectionError(f"fps must be a number, got {fps!r}") from None
    factor = source_fps / wanted if wanted > 0 else Fraction(0)
    if wanted <= 0 or factor.denominator != 1 or factor < 2:
        divisors = [
            str(source_fps / k)
            for k in range(2, int(source_fps) + 1)
            if (source_fps / k).denominator == 1
        ]
        raise SelectionError(
            f"cannot change {dataset.root} from {dataset.fps} to {fps} fps: change_fps keeps every"
            f" k-th frame, so the target must divide the source fps by an integer k >= 2;"
            f" choose one of {', '.join(divisors) or 'none'}"
        )
    step = int(factor)
    episodes = tuple(
        OutputEpisode(
            segment=Segment(source=0, episode_index=i, start=0, stop=record.length, step=step),
            whole=False,
        )
        for i, record in enumerate(dataset.episodes)
    )
    plan = plan_keep(
        dataset,
        range(dataset.num_episodes),
        operation="change_fps",
        settings=settings_of(dataset),
        arguments={"fps": float(wanted), "step": step},
    )
    info = copy_info(dict(plan.info))
    info["fps"] = int(wanted) if wanted.denominator == 1 else float(wanted)
    videos = {}
    for key in dataset.video_keys:
        feature = dataset.features[key]
        is_depth = is_depth_feature(feature)
        chosen = depth if is_depth else rgb
        settings = (
            chosen[0] if chosen else settings_from_info(feature.get("info") or {}, depth=is_depth)
        )
        videos[key] = VideoSource(
            source_key=key,
            from_images=False,
            settings=settings,
            depth=DepthQuantization.from_info(feature.get("info") or {}) if is_depth else None,
            encoder_threads=encoder_threads,
        )
    return replace(plan, episodes=episodes, info=info, videos=videos, stats=StatsOptions())


def change_fps(
    dataset: DatasetLike,
    fps: int | float,
    *,
    output_dir: PathLike | None = None,
    repo_id: str | None = None,
    rgb_encoder: EncoderLike = None,
    depth_encoder: EncoderLike = None,
    encoder_threads: int | None = None,
    num_workers: int | None = None,
    in_place: bool = False,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
) -> Dataset | Plan:
    """Lower the frame rate by an integer factor: keep frames 0, k, 2k, … of every episode.

    `frame_index` and `timestamp` are rewritten, videos are re-encoded at the new rate (with
    each camera's current settings unless an encoder is given), and stats are recomputed.
    Returns the new dataset (the plan when `dry_run`).

    `backend` ("serial", "process", "ray") chooses where work units (cameras copied as they
    are, frame stats) run, with `num_workers` workers, as an `execution(...)` block does.

    Raises:
        SelectionError: `fps` does not divide the source fps, or unusable encoder settings.
        OutputExistsError: the output exists and neither overwrite nor in_place was given.
        VideoError: decoding or encoding fails (the output is not created).

    Example:
        >>> change_fps("data/pusht", 15, output_dir="data/pusht_15fps")
    """
    source = open_dataset(dataset)
    problems: list[str] = []
    rgb = parse_encoder(rgb_encoder, depth=False, name="rgb_encoder", problems=problems)
    depth = parse_encoder(depth_encoder, depth=True, name="depth_encoder", problems=problems)
    _check_workers(num_workers, "num_workers", problems)
    _check_workers(encoder_threads, "encoder_threads", problems)
    _raise_problems("invalid change_fps settings", problems)
    plan = plan_change_fps(source, fps, rgb=rgb, depth=depth, encoder_threads=encoder_threads)
    for key, video in plan.videos.items():
        kind = "depth_encoder" if video.depth is not None else "rgb_encoder"
        problems.extend(check_settings(video.settings, f"{kind} (camera {key})"))
    _raise_problems("invalid change_fps settings", problems)
    if dry_run:
        return plan
    target, repo_id = resolve_output_dir(
        source.root if in_place else output_dir, repo_id, f"{source.repo_id}_{plan.info['fps']}fps"
    )
    return _write(
        plan,
        target,
        repo_id,
        overwrite=overwrite,
        in_place=in_place,
        workers=num_workers,
        progress=progress,
        backend=backend,
    )


# ----------------------------------------------------------------------------------- shared


def _settings_json(choice: Choice | None) -> dict[str, Any] | None:
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


def _write(
    plan: Plan,
    target: Path,
    repo_id: str,
    *,
    overwrite: bool = False,
    in_place: bool = False,
    workers: int | None = None,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
) -> Dataset:
    """Execute `plan` into `target` atomically (sources checked, staged, logged, renamed)."""
    return write_plan(
        plan,
        target,
        repo_id=repo_id,
        overwrite=overwrite,
        in_place=in_place,
        progress=progress,
        workers=_workers(workers),
        backend=backend,
    )
