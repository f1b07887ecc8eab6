"""`convert_image_to_video_dataset`: encode an image dataset's cameras into video.

Frames go from the parquet image bytes straight to the encoder, one encode per episode, so each
episode starts on a keyframe and later edits of the result are still cut by packet copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final, Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.errors import SelectionError
from robosplice.format.depth import DepthQuantization
from robosplice.format.info import copy_info, is_depth_feature
from robosplice.format.paths import VIDEO_PATH_TEMPLATE
from robosplice.ops._encoding import check_workers, is_int, raise_problems, write_encoded
from robosplice.ops._run import resolve_output_dir
from robosplice.ops._select import check_episode_indices
from robosplice.ops.encoder_settings import (
    Choice,
    EncoderLike,
    apply_overrides,
    check_plan_settings,
    default_depth_settings,
    default_rgb_settings,
    flat_overrides,
    parse_encoders,
    settings_json,
)
from robosplice.plan.model import Plan, VideoSource
from robosplice.plan.select import plan_keep, settings_of

# 0.6.1 OBS_IMAGE: the official converter takes the image keys that start with it.
IMAGE_KEY_PREFIX: Final = "observation.image"


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
        if value is not None and (not is_int(value) or value < 1):
            problems.append(f"{name} must be a positive integer or None, got {value!r}")
    raise_problems("cannot convert images to video", problems)
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
            "rgb_encoder": settings_json(rgb),
            "depth_encoder": settings_json(depth),
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


@overload
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
    dry_run: Literal[True],
    progress: ProgressReporter | None = None,
) -> Plan: ...


@overload
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
    dry_run: Literal[False] = False,
    progress: ProgressReporter | None = None,
) -> Dataset: ...


@overload
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
) -> Dataset | Plan: ...


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
    rgb, depth = parse_encoders(rgb_encoder, depth_encoder, problems)
    check_workers(num_workers, "num_workers", problems)
    raise_problems("invalid encoder settings", problems)
    rgb_settings = rgb[0] if rgb is not None else default_rgb_settings()
    flat = flat_overrides(vcodec=vcodec, pix_fmt=pix_fmt, g=g, crf=crf, fast_decode=fast_decode)
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
    problems.extend(check_plan_settings(plan))
    raise_problems("invalid encoder settings", problems)
    if dry_run:
        return plan
    target, repo_id = resolve_output_dir(output_dir, repo_id, f"{source.repo_id}_video")
    return write_encoded(
        plan, target, repo_id, overwrite=overwrite, workers=num_workers, progress=progress
    )
