"""`change_fps`: lower the frame rate by an integer factor; videos are re-encoded at the new rate."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Literal, overload

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
    check_plan_settings,
    parse_encoders,
    settings_from_info,
)
from robosplice.plan.model import OutputEpisode, Plan, Segment, StatsOptions, VideoSource
from robosplice.plan.select import plan_keep, settings_of


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


@overload
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
    dry_run: Literal[True],
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
) -> Plan: ...


@overload
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
    dry_run: Literal[False] = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
) -> Dataset: ...


@overload
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
) -> Dataset | Plan: ...


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
    rgb, depth = parse_encoders(rgb_encoder, depth_encoder, problems)
    check_workers(num_workers, "num_workers", problems)
    check_workers(encoder_threads, "encoder_threads", problems)
    raise_problems("invalid change_fps settings", problems)
    plan = plan_change_fps(source, fps, rgb=rgb, depth=depth, encoder_threads=encoder_threads)
    problems.extend(check_plan_settings(plan))
    raise_problems("invalid change_fps settings", problems)
    if dry_run:
        return plan
    target, repo_id = resolve_output_dir(
        source.root if in_place else output_dir, repo_id, f"{source.repo_id}_{plan.info['fps']}fps"
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
