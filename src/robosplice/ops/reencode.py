"""`reencode_dataset`: re-encode cameras with a new codec, quality, GOP, pixel format or size."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.errors import SelectionError
from robosplice.format.depth import DepthQuantization
from robosplice.format.info import copy_info, is_depth_feature
from robosplice.ops._encoding import check_workers, raise_problems, write_encoded
from robosplice.ops._run import resolve_output_dir
from robosplice.ops.encoder_settings import (
    Choice,
    EncoderLike,
    apply_overrides,
    check_plan_settings,
    flat_overrides,
    parse_encoders,
    same_encoding,
    settings_from_info,
    settings_json,
)
from robosplice.plan.model import Plan, VideoSource
from robosplice.plan.select import plan_keep, settings_of

logger = logging.getLogger(__name__)


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
            "settings": {key: settings_json((v.settings, None)) for key, v in videos.items()},
            "size": list(size) if size else None,
        },
    )
    info = copy_info(dict(plan.info))
    if size is not None:
        for key in videos:  # the feature shape is [height, width, channels]
            info["features"][key]["shape"][:2] = [size[1], size[0]]
    return replace(plan, info=info, videos=videos)


@overload
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
    dry_run: Literal[True],
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
) -> Plan: ...


@overload
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
    dry_run: Literal[False] = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
) -> Dataset: ...


@overload
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
) -> Dataset | Plan: ...


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
    rgb, depth = parse_encoders(rgb_encoder, depth_encoder, problems)
    overrides = flat_overrides(
        vcodec=vcodec, pix_fmt=pix_fmt, g=g, crf=crf, preset=preset, fast_decode=fast_decode
    )
    parsed_size = _parse_size(size, problems)
    check_workers(num_workers, "num_workers", problems)
    check_workers(encoder_threads, "encoder_threads", problems)
    raise_problems("invalid re-encode settings", problems)
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
    problems.extend(check_plan_settings(plan))
    raise_problems("invalid re-encode settings", problems)
    if dry_run:
        return plan
    if not plan.videos:
        logger.warning("Dataset has no videos to re-encode.")
        if in_place or output_dir is None:
            return source
    target, repo_id = resolve_output_dir(
        source.root if in_place else output_dir, repo_id, f"{source.repo_id}_reencoded"
    )
    return write_encoded(
        plan,
        target,
        repo_id,
        overwrite=overwrite,
        in_place=in_place,
        workers=num_workers,
        progress=progress,
        backend=backend,
    )
