"""`merge_datasets` / `aggregate_datasets`: episodes of several sources, one after another.

Sources must agree on fps, robot type, features and the video streams' codec and size (every
difference is reported at once). Tasks are unioned in order of first appearance and frames are
remapped by name. Video packets are copied; files rotate at the size limits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import Backend
from robosplice.errors import IncompatibleDatasetsError, SelectionError
from robosplice.format.info import VIDEO_ENCODER_INFO_KEYS, copy_info, video_keys
from robosplice.format.paths import (
    DEFAULT_CHUNKS_SIZE,
    DEFAULT_DATA_FILE_SIZE_MB,
    DEFAULT_VIDEO_FILE_SIZE_MB,
)
from robosplice.format.video import StreamFacts, read_packet_index
from robosplice.history import public_name
from robosplice.ops._run import lerobot_home, write_plan
from robosplice.plan.model import (
    ColumnChanges,
    OutputEpisode,
    OutputSettings,
    Plan,
    Segment,
    source_feature_name,
)

logger = logging.getLogger(__name__)


def _renamed_features(dataset: Dataset, renames: Mapping[str, str]) -> dict[str, Any]:
    unknown = sorted(set(renames) - set(dataset.features))
    if unknown:
        raise SelectionError(
            f"Feature renames for {dataset.root} name unknown features {unknown}; it has"
            f" {sorted(dataset.features)}"
        )
    return {renames.get(name, name): feature for name, feature in dataset.features.items()}


def _first_stream_facts(dataset: Dataset, key: str) -> StreamFacts | None:
    if not dataset.episodes:
        return None
    window = dataset.episodes[0].videos[key]
    path = dataset.video_path(key, window.position)
    return read_packet_index(path).facts if path.is_file() else None


def feature_differences(
    datasets: Sequence[Dataset], renames: Sequence[Mapping[str, str]]
) -> list[str]:
    """Every way the sources disagree with the first one (empty when they can be merged)."""
    first = datasets[0]
    first_features = _renamed_features(first, renames[0])
    differences = []
    for number, dataset in enumerate(datasets[1:], start=1):
        label = f"dataset {number} ({dataset.root})"
        if float(dataset.fps) != float(first.fps):
            differences.append(f"{label}: fps {dataset.fps}, dataset 0 has {first.fps}")
        if dataset.info.get("robot_type") != first.info.get("robot_type"):
            differences.append(
                f"{label}: robot_type {dataset.info.get('robot_type')!r}, dataset 0 has"
                f" {first.info.get('robot_type')!r}"
            )
        features = _renamed_features(dataset, renames[number])
        for name in sorted(set(first_features) - set(features)):
            differences.append(
                f"{label}: has no feature {name!r} (rename one with feature_renames?)"
            )
        for name in sorted(set(features) - set(first_features)):
            differences.append(f"{label}: has an extra feature {name!r}")
        for name in first_features:
            if name not in features:
                continue
            mine, theirs = features[name], first_features[name]
            for key in ("dtype", "shape", "names"):
                if key == "names" and mine.get("dtype") in ("video", "image"):
                    continue
                if mine.get(key) != theirs.get(key):
                    differences.append(
                        f"{label}: feature {name!r} {key} {mine.get(key)!r}, dataset 0 has"
                        f" {theirs.get(key)!r}"
                    )
            if mine.get("dtype") == "video":
                info_mine, info_theirs = mine.get("info") or {}, theirs.get("info") or {}
                for key in sorted(set(info_mine) & set(info_theirs) - set(VIDEO_ENCODER_INFO_KEYS)):
                    if info_mine[key] != info_theirs[key]:
                        differences.append(
                            f"{label}: video {name!r} info {key} {info_mine[key]!r}, dataset 0"
                            f" has {info_theirs[key]!r}"
                        )
    for name, feature in first_features.items():
        if feature.get("dtype") != "video":
            continue
        facts = []
        for number, dataset in enumerate(datasets):
            source_key = source_feature_name(renames[number], name)
            if dataset.features.get(source_key, {}).get("dtype") == "video":
                facts.append((number, _first_stream_facts(dataset, source_key)))
        reference = facts[0][1] if facts else None
        for number, fact in facts[1:]:
            if (
                reference
                and fact
                and (fact.codec, fact.width, fact.height, fact.pix_fmt)
                != (
                    reference.codec,
                    reference.width,
                    reference.height,
                    reference.pix_fmt,
                )
            ):
                differences.append(
                    f"dataset {number}: video {name!r} is {fact.describe()}, dataset 0 is"
                    f" {reference.describe()} (re-encode one with 'robosplice reencode' first)"
                )
    return differences


def _merge_encoder_info(
    features: dict[str, Any], datasets: Sequence[Dataset], renames: Sequence[Mapping[str, str]]
) -> None:
    """Keep encoder keys all sources agree on; null the others, as the official aggregate does."""
    per_source = [_renamed_features(d, r) for d, r in zip(datasets, renames)]
    for name in video_keys(features):
        infos = [source[name].get("info") or {} for source in per_source]
        merged = features[name].setdefault("info", {})
        heterogeneous = False
        for key in VIDEO_ENCODER_INFO_KEYS:
            values = [info.get(key, KeyError) for info in infos]
            if any(v is KeyError for v in values) or any(v != values[0] for v in values):
                if any(key in info for info in infos):
                    heterogeneous = True
                    merged[key] = {} if key == "video.extra_options" else None
        if "video.video_backend" in merged:
            merged["video.video_backend"] = "pyav"
        if heterogeneous:
            logger.warning(
                "Merging heterogeneous or incomplete video encoder metadata for feature %s:"
                " keys the sources disagree on are set to null",
                name,
            )


def plan_merge(
    datasets: Sequence[Dataset],
    *,
    settings: OutputSettings,
    feature_renames: Sequence[Mapping[str, str] | None] | None = None,
) -> Plan:
    """All episodes of every source in order, tasks unioned by first appearance.

    Raises:
        SelectionError: "No datasets to merge", a rename of an unknown feature.
        IncompatibleDatasetsError: the sources disagree (every difference listed).
    """
    if not datasets:
        raise SelectionError("No datasets to merge")
    renames = [dict(r or {}) for r in (feature_renames or [None] * len(datasets))]
    if len(renames) != len(datasets):
        raise SelectionError(
            f"feature_renames has {len(renames)} entries for {len(datasets)} datasets"
        )
    differences = feature_differences(datasets, renames)
    if differences:
        raise IncompatibleDatasetsError(
            f"Cannot merge: the {len(datasets)} datasets disagree", differences
        )
    tasks: list[str] = []
    positions: dict[str, int] = {}
    task_maps = []
    for dataset in datasets:
        for task in dataset.tasks:
            if task not in positions:
                positions[task] = len(tasks)
                tasks.append(task)
        task_maps.append(tuple(positions[task] for task in dataset.tasks))
    info = copy_info(datasets[0].info)
    info["features"] = copy_info(_renamed_features(datasets[0], renames[0]))
    _merge_encoder_info(info["features"], datasets, renames)
    episodes = tuple(
        OutputEpisode(
            segment=Segment(source=number, episode_index=i, start=0, stop=record.length),
            whole=True,
        )
        for number, dataset in enumerate(datasets)
        for i, record in enumerate(dataset.episodes)
    )
    return Plan(
        operation="merge_datasets",
        sources=tuple(d.root for d in datasets),
        episodes=episodes,
        tasks=tuple(tasks),
        task_maps=tuple(task_maps),
        info=info,
        settings=settings,
        columns=ColumnChanges(renames=tuple(renames)),
        arguments={"sources": [public_name(d.root) for d in datasets], "feature_renames": renames},
    )


@overload
def merge_datasets(
    datasets: Sequence[DatasetLike],
    output_repo_id: str,
    output_dir: PathLike | None = None,
    concatenate_videos: bool = True,
    concatenate_data: bool = True,
    *,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunk_size: int | None = None,
    feature_renames: Sequence[Mapping[str, str] | None] | None = None,
    overwrite: bool = False,
    dry_run: Literal[True],
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Plan: ...


@overload
def merge_datasets(
    datasets: Sequence[DatasetLike],
    output_repo_id: str,
    output_dir: PathLike | None = None,
    concatenate_videos: bool = True,
    concatenate_data: bool = True,
    *,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunk_size: int | None = None,
    feature_renames: Sequence[Mapping[str, str] | None] | None = None,
    overwrite: bool = False,
    dry_run: Literal[False] = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset: ...


@overload
def merge_datasets(
    datasets: Sequence[DatasetLike],
    output_repo_id: str,
    output_dir: PathLike | None = None,
    concatenate_videos: bool = True,
    concatenate_data: bool = True,
    *,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunk_size: int | None = None,
    feature_renames: Sequence[Mapping[str, str] | None] | None = None,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan: ...


def merge_datasets(
    datasets: Sequence[DatasetLike],
    output_repo_id: str,
    output_dir: PathLike | None = None,
    concatenate_videos: bool = True,
    concatenate_data: bool = True,
    *,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunk_size: int | None = None,
    feature_renames: Sequence[Mapping[str, str] | None] | None = None,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset | Plan:
    """Merge datasets into one; video packets copied, files rotated at the size limits.

    `feature_renames[i]` maps dataset i's feature names to the output's (e.g. a camera that one
    source calls `observation.images.top` and another `observation.images.fixed`).

    `backend` ("serial", "process", "ray") and `workers` choose where work units run, as an
    `execution(...)` block does (None: the block's choice, else one by size); outputs are equal.

    Raises:
        SelectionError: "No datasets to merge".
        IncompatibleDatasetsError: fps, robot type, features or video streams differ.

    Example:
        >>> merge_datasets(["data/a", "data/b"], "me/ab", "data/ab")
    """
    if not datasets:
        raise SelectionError("No datasets to merge")
    sources = [open_dataset(d) for d in datasets]
    settings = OutputSettings(
        chunks_size=chunk_size or DEFAULT_CHUNKS_SIZE,
        data_files_size_in_mb=data_files_size_in_mb or DEFAULT_DATA_FILE_SIZE_MB,
        video_files_size_in_mb=video_files_size_in_mb or DEFAULT_VIDEO_FILE_SIZE_MB,
        concatenate_data=concatenate_data,
        concatenate_videos=concatenate_videos,
    )
    plan = plan_merge(sources, settings=settings, feature_renames=feature_renames)
    if dry_run:
        return plan
    target = (
        Path(output_dir).expanduser().resolve()
        if output_dir is not None
        else lerobot_home() / output_repo_id
    )
    return write_plan(
        plan,
        target,
        repo_id=output_repo_id,
        overwrite=overwrite,
        progress=progress,
        backend=backend,
        workers=workers,
        opened=sources,
    )


def aggregate_datasets(
    repo_ids: list[str],
    aggr_repo_id: str,
    roots: list[Path] | None = None,
    aggr_root: Path | None = None,
    data_files_size_in_mb: float | None = None,
    video_files_size_in_mb: float | None = None,
    chunk_size: int | None = None,
    concatenate_videos: bool = True,
    concatenate_data: bool = True,
    *,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> None:
    """The official `aggregate_datasets` signature over `merge_datasets` (roots default to
    $HF_LEROBOT_HOME/<repo_id>; `backend`, `workers` as there)."""
    folders = roots or [lerobot_home() / repo_id for repo_id in repo_ids]
    merge_datasets(
        [Dataset(folder, repo_id=repo_id) for folder, repo_id in zip(folders, repo_ids)],
        aggr_repo_id,
        aggr_root,
        concatenate_videos,
        concatenate_data,
        data_files_size_in_mb=data_files_size_in_mb,
        video_files_size_in_mb=video_files_size_in_mb,
        chunk_size=chunk_size,
        backend=backend,
        workers=workers,
    )
