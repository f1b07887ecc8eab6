"""`convert`: LeRobot v2.1/v2.0 → v3.0 and v3.0 → v2.1, losslessly (conversion.md §6).

The source version comes from its info.json. Video moves by packet copy in both directions
(no decode, no encode) unless `reencode_unaligned` asks to re-encode the episodes a packet cut
cannot serve; data values, row order, task strings, per-episode stats (quantiles kept) and files
the layout does not own (meta/modality.json, README, ...) carry over. The output is built in a
staging folder and published atomically; the source is never written.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from robosplice._types import DatasetLike, PathLike, ProgressReporter
from robosplice.checks import validate_dataset
from robosplice.commit import check_output_target, staged_output
from robosplice.dataset import Dataset
from robosplice.engine.to_v21 import carried_v3_files, convert_v30_to_v21, unsupported_features
from robosplice.engine.to_v30 import convert_v2_to_v30
from robosplice.errors import InvalidDatasetError, SelectionError
from robosplice.format.paths import DEFAULT_DATA_FILE_SIZE_MB, DEFAULT_VIDEO_FILE_SIZE_MB
from robosplice.format.v2_repair import (
    V2Repairs,
    relocate_videos,
    scan_codec_labels,
    scan_v2_repairs,
)
from robosplice.format.v21 import (
    EPISODES_STATS_JSONL,
    V20,
    V21,
    V30,
    V2Source,
    carried_files,
    owned_v2_files,
    read_v2_source,
    read_version,
)
from robosplice.history import public_name, write_conversion_entry

TARGET_VERSIONS: Final = (V30, V21)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversionPlan:
    """What a conversion will do (pure description; `convert(..., dry_run=True)` returns it)."""

    source: Path
    output: Path
    source_version: str
    target_version: str
    episodes: int
    frames: int
    cameras: tuple[str, ...]
    data_files_size_in_mb: float
    video_files_size_in_mb: float
    reencode_unaligned: bool
    carried: tuple[str, ...] = ()
    repairs: tuple[str, ...] = ()
    v2_repairs: V2Repairs | None = field(default=None, repr=False, compare=False)

    def describe(self) -> str:
        """Human summary for --dry-run."""
        lines = [
            f"convert {self.source} ({self.source_version}) -> {self.output} ({self.target_version})",
            f"  {self.episodes} episodes, {self.frames} frames, cameras:"
            f" {', '.join(self.cameras) or 'none'}",
        ]
        if self.target_version == V30:
            lines.append(
                f"  per-episode files concatenated: data files up to"
                f" {self.data_files_size_in_mb} MB, video files up to"
                f" {self.video_files_size_in_mb} MB, one row group per episode"
            )
        else:
            lines.append(
                f"  {self.episodes} parquet files and {self.episodes * len(self.cameras)} mp4"
                " files, one per episode (and camera), video cut by packet copy"
                + ("; unaligned episodes re-encoded" if self.reencode_unaligned else "")
            )
        lines.append("  video by packet copy; data values, stats and tasks carried")
        if self.carried:
            lines.append(f"  files carried as they are: {', '.join(self.carried)}")
        lines += [f"  repair: {message}" for message in self.repairs]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversionResult:
    """What `convert` wrote."""

    root: Path
    plan: ConversionPlan
    carried: tuple[str, ...] = field(default=())
    reencoded: tuple[str, ...] = field(default=())

    @property
    def version(self) -> str:
        """The output's codebase_version."""
        return self.plan.target_version

    def dataset(self) -> Dataset:
        """A handle on a v3.0 output (v2.1 outputs are not robosplice datasets)."""
        return Dataset(self.root)


def _source_root(dataset: DatasetLike) -> Path:
    if isinstance(dataset, Dataset):
        return dataset.root
    if isinstance(dataset, (str, os.PathLike)):
        return Path(dataset).expanduser().resolve()
    root = getattr(dataset, "root", dataset)
    return Path(root).expanduser().resolve()


def _check_v30_source(dataset: Dataset, *, progress: ProgressReporter | None = None) -> None:
    """Refuse a v3.0 source that is invalid or holds what v2.1 cannot (depth, language).

    Raises:
        InvalidDatasetError: every problem found.
    """
    problems = validate_dataset(dataset.root, progress=progress) + unsupported_features(dataset)
    if problems:
        raise InvalidDatasetError(
            f"{dataset.root} cannot be converted to v2.1 ({len(problems)} problem(s)); nothing"
            " was written:",
            problems,
        )


def plan_convert(
    source: Path,
    output: Path,
    *,
    to: str,
    data_files_size_in_mb: float = DEFAULT_DATA_FILE_SIZE_MB,
    video_files_size_in_mb: float = DEFAULT_VIDEO_FILE_SIZE_MB,
    reencode_unaligned: bool = False,
    repair: bool = False,
    videos_dir: str | None = None,
    unpaired: Collection[int] = (),
) -> ConversionPlan:
    """Read the source's metadata and describe the conversion (nothing is written).

    With `repair`, a v2.x source is scanned for what its author's converter left out or wrote
    differently (`format.v2_repair`); the plan lists each repair. Without it, only a codec label
    that disagrees with the stream is corrected (and listed).

    Raises:
        SelectionError: `to` is not a version robosplice converts to from this source.
        InvalidDatasetError / UnsupportedVersionError: the source cannot be read.
    """
    if to not in TARGET_VERSIONS:
        raise SelectionError(f"--to must be one of {', '.join(TARGET_VERSIONS)}, got {to!r}")
    version = read_version(source)
    if to == V30 and version not in (V20, V21):
        raise SelectionError(
            f"{source} is {version or 'of no version'}; --to v3.0 converts v2.0 and v2.1 datasets"
            + (" (it is already v3.0)" if version.startswith("v3") else "")
        )
    if to == V21 and not version.startswith("v3"):
        raise SelectionError(
            f"{source} is {version or 'of no version'}; --to v2.1 converts v3.0 datasets"
        )
    repairs: tuple[str, ...] = ()
    scanned: V2Repairs | None = None
    if to == V30:
        v2 = _read_source(source, repair=repair, videos_dir=videos_dir)
        if repair:
            scanned = scan_v2_repairs(v2, stats_missing=_lacks_episode_stats(v2), unpaired=unpaired)
            repairs = scanned.messages
            if videos_dir:
                # The folder by name: the message goes into the (pushed) edit log.
                repairs = (f"videos: read from {public_name(videos_dir)}/ (--videos-dir)", *repairs)
        else:  # derivable and cheap: a plain conversion still writes the stream's codec
            scanned = scan_codec_labels(v2)
            repairs = scanned.messages if scanned else ()
        if scanned is not None:
            v2 = scanned.repaired_source(v2)
        episodes, frames, cameras = len(v2.episodes), v2.num_frames, v2.video_keys
        carried = carried_files(source, owned_v2_files(v2))
    else:
        v3 = Dataset(source)
        episodes, frames, cameras = v3.num_episodes, v3.num_frames, v3.video_keys
        carried = carried_v3_files(v3)
    return ConversionPlan(
        source=source,
        output=output,
        source_version=version,
        target_version=to,
        episodes=episodes,
        frames=frames,
        cameras=tuple(cameras),
        data_files_size_in_mb=data_files_size_in_mb,
        video_files_size_in_mb=video_files_size_in_mb,
        reencode_unaligned=reencode_unaligned,
        carried=tuple(carried),
        repairs=repairs,
        v2_repairs=scanned,
    )


def _read_source(source: Path, *, repair: bool, videos_dir: str | None) -> V2Source:
    v2 = read_v2_source(source, derive_missing_stats=repair)
    return relocate_videos(v2, videos_dir) if videos_dir else v2


def _lacks_episode_stats(source: V2Source) -> bool:
    return source.version == V21 and not (source.root / EPISODES_STATS_JSONL).is_file()


def convert(
    dataset: DatasetLike,
    output_dir: PathLike,
    *,
    to: str,
    data_files_size_in_mb: float = DEFAULT_DATA_FILE_SIZE_MB,
    video_files_size_in_mb: float = DEFAULT_VIDEO_FILE_SIZE_MB,
    reencode_unaligned: bool = False,
    repair: bool = False,
    videos_dir: str | None = None,
    unpaired: Collection[int] = (),
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
) -> ConversionResult | ConversionPlan:
    """Convert a dataset between LeRobot v2.1/v2.0 and v3.0 into `output_dir`.

    `to="v3.0"` takes a v2.1 or v2.0 source; `to="v2.1"` a v3.0 source. Returns the plan when
    `dry_run`, else a `ConversionResult` (`.root`, `.carried` files, `.reencoded` episodes).
    `unpaired` (with `repair`): episodes whose rows and frames may disagree in number, because
    the caller leaves them out afterwards (`repair(..., drop_episodes=...)`).

    Raises:
        SelectionError: wrong direction for the source's version.
        InvalidDatasetError: the source has problems (all listed), e.g. missing episode files,
            videos that do not start at 0, or (to v2.1) an episode whose video does not start
            on a keyframe without `reencode_unaligned`.
        OutputExistsError: `output_dir` exists and `overwrite` is not set.

    Example:
        >>> convert("data/pusht_v21", "data/pusht_v30", to="v3.0")
    """
    source = _source_root(dataset)
    output = Path(output_dir).expanduser().resolve()
    plan = plan_convert(
        source,
        output,
        to=to,
        data_files_size_in_mb=data_files_size_in_mb,
        video_files_size_in_mb=video_files_size_in_mb,
        reencode_unaligned=reencode_unaligned,
        repair=repair,
        videos_dir=videos_dir,
        unpaired=unpaired,
    )
    if dry_run:
        return plan
    check_output_target(output, [source], overwrite=overwrite)
    if to == V30:
        v2 = _read_source(source, repair=repair, videos_dir=videos_dir)
        repairs = plan.v2_repairs  # scanned once, by the plan
        if repairs:
            v2 = repairs.repaired_source(v2)
        with staged_output(output, replace=overwrite) as staging:
            files = convert_v2_to_v30(
                v2,
                staging,
                data_files_size_in_mb=data_files_size_in_mb,
                video_files_size_in_mb=video_files_size_in_mb,
                progress=progress,
                repairs=repairs if repair else None,  # a plain convert derives no rows
            )
            if repair or plan.repairs:
                write_conversion_entry(
                    staging,
                    operation="repair" if repair else "convert",
                    source=source,
                    arguments={"from": v2.version},
                    episodes=plan.episodes,
                    frames=plan.frames,
                    repairs=plan.repairs,
                )
        return ConversionResult(root=output, plan=plan, carried=files.carried)
    v3 = Dataset(source)
    _check_v30_source(v3, progress=progress)
    with staged_output(output, replace=overwrite) as staging:
        written = convert_v30_to_v21(
            v3, staging, reencode_unaligned=reencode_unaligned, progress=progress
        )
    return ConversionResult(
        root=output, plan=plan, carried=written.carried, reencoded=written.reencoded
    )
