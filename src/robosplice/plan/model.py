"""The Plan: which frames of which source episodes become which output episodes. Pure data.

Every episode/frame edit is a Plan (DESIGN.md): delete keeps some episodes, split makes several
plans, merge concatenates sources, trim keeps a frame range. The engine executes any Plan the
same way, and `Plan.describe()` is what `--dry-run` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robosplice.format.depth import DepthQuantization
from robosplice.format.paths import (
    DEFAULT_CHUNKS_SIZE,
    DEFAULT_DATA_FILE_SIZE_MB,
    DEFAULT_VIDEO_FILE_SIZE_MB,
)
from robosplice.format.video_codec import EncoderSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """Frames start, start + step, … < stop of episode `episode_index` of source `source`.

    `step` > 1 only when frames are dropped to lower the fps (`change_fps`); every video of such
    an output is encoded, since copied packets cannot skip frames.
    """

    source: int
    episode_index: int
    start: int
    stop: int
    step: int = 1

    @property
    def length(self) -> int:
        """Number of frames."""
        return len(range(self.start, self.stop, self.step))


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputEpisode:
    """One episode of the output, made of one source segment.

    `whole` is True when the segment is the whole source episode, so its per-episode stats can be
    carried over instead of recomputed.
    """

    segment: Segment
    whole: bool
    task_override: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputSettings:
    """File-size and chunking settings of the output (info.json keys of the same names).

    `keep_data_files`: each source data file's episodes go to one output data file of their
    own, in order, whatever its size (feature edits keep the file structure, as 0.6.1 does).
    """

    chunks_size: int = DEFAULT_CHUNKS_SIZE
    data_files_size_in_mb: float = DEFAULT_DATA_FILE_SIZE_MB
    video_files_size_in_mb: float = DEFAULT_VIDEO_FILE_SIZE_MB
    concatenate_data: bool = True
    concatenate_videos: bool = True
    keep_data_files: bool = False


# A per-episode column producer: given the episode's output columns (numpy) and its output
# episode index, return that episode's values (one row per frame).
ColumnProducer = Callable[[Mapping[str, np.ndarray], int], np.ndarray]


def source_feature_name(renames: Mapping[str, str], output_name: str) -> str:
    """The source's name of an output feature, given that source's renames (source → output)."""
    return next((old for old, new in renames.items() if new == output_name), output_name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnChanges:
    """Feature edits applied while rows stream: renames (per source), drops, additions."""

    renames: tuple[Mapping[str, str], ...] = ()
    dropped: frozenset[str] = frozenset()
    added: Mapping[str, ColumnProducer] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """True when rows pass through with only index columns rewritten."""
        return not any(self.renames) and not self.dropped and not self.added

    def source_name(self, source: int, output_name: str) -> str:
        """What source number `source` calls the output feature `output_name`."""
        if not self.renames or not self.renames[source]:
            return output_name  # the usual case, asked per episode and feature
        return source_feature_name(self.renames[source], output_name)


@dataclass(frozen=True, slots=True, kw_only=True)
class RelativeActionStats:
    """stats.json `action` as stats of (action - state) over every within-episode chunk.

    Mirrors 0.6.1 `compute_relative_action_stats`: each chunk of `chunk_size` frames that stays in
    one episode contributes its actions minus the state at the chunk's first frame, on the
    dimensions where `mask` is True (the others stay absolute, e.g. the gripper).
    """

    chunk_size: int
    mask: tuple[bool, ...]
    action: str = "action"
    state: str = "observation.state"


@dataclass(frozen=True, slots=True, kw_only=True)
class StatsOptions:
    """How the engine treats stats beyond its defaults.

    By default numeric stats of whole episodes are carried from the source (index columns, added
    features and trimmed episodes are recomputed) and camera stats are carried, except for trimmed
    episodes, whose cameras are re-sampled from the written frames.

    Args:
        recompute: compute every numeric feature's per-episode stats from the rows.
        visual: cameras whose per-episode stats are computed from sampled frames in every episode.
        relative_action: replace stats.json `action` by relative-action stats.
        stale_episodes: (source number, source episode, source feature) whose stored per-episode
            stats disagree with the data (pre-flight found them): recomputed, never carried.
        stale_dataset: (source number, source feature) whose stats.json entry is stale or
            malformed: aggregated anew, never carried.
    """

    recompute: bool = False
    visual: frozenset[str] = frozenset()
    relative_action: RelativeActionStats | None = None
    stale_episodes: frozenset[tuple[int, int, str]] = frozenset()
    stale_dataset: frozenset[tuple[int, str]] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoSource:
    """How the engine makes one output camera by encoding instead of copying packets.

    Each output episode is encoded on its own (so it starts on a keyframe), then its packets are
    appended to the camera's files like copied ones.

    Args:
        source_key: the source feature: an image column (`from_images`) or a video key.
        from_images: encode the image cells of the data rows, else decode the source video.
        settings: the encoder settings, resolved (what `info` records).
        depth: quantisation of a depth camera; None for colour.
        size: (width, height) to scale to; None keeps the source size.
        encoder_threads: threads per encoder; None lets the codec decide.
        max_episodes_per_file: start a new mp4 after this many episodes (None: size rule only).
        max_frames_per_file: start a new mp4 before this many frames would be exceeded.
    """

    source_key: str
    from_images: bool
    settings: EncoderSettings
    depth: DepthQuantization | None = None
    size: tuple[int, int] | None = None
    encoder_threads: int | None = None
    max_episodes_per_file: int | None = None
    max_frames_per_file: int | None = None

    def describe(self) -> str:
        """One line: what is encoded, and how."""
        s = self.settings
        text = (
            f"from {'images' if self.from_images else 'video'} {self.source_key} with"
            f" {s.vcodec} {s.pix_fmt} g={s.g} crf={s.crf}"
        )
        if s.preset is not None:
            text += f" preset={s.preset}"
        if s.extra_options:
            text += " " + " ".join(f"{k}={v}" for k, v in s.extra_options.items())
        if self.size is not None:
            text += f", scaled to {self.size[0]}x{self.size[1]}"
        if self.depth is not None:
            text += " (depth, 12-bit codes kept)"
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything the engine needs to write one output dataset.

    Args:
        operation: the op's name, for the dry-run text and the edit log.
        sources: dataset roots read by the plan.
        episodes: output episodes in output order.
        tasks: the output task table (position = task_index).
        task_maps: per source, source task_index → output task_index.
        info: the output info.json before totals are filled in.
        settings: output file sizes and chunking.
        columns: feature edits applied while streaming.
        stats: which stats are recomputed rather than carried over.
        arguments: the op's arguments, for the edit log.
        videos: output cameras made by encoding (the others are copied packet by packet).
    """

    operation: str
    sources: tuple[Path, ...]
    episodes: tuple[OutputEpisode, ...]
    tasks: tuple[str, ...]
    task_maps: tuple[tuple[int, ...], ...]
    info: Mapping[str, Any]
    settings: OutputSettings
    columns: ColumnChanges = ColumnChanges()
    stats: StatsOptions = StatsOptions()
    arguments: Mapping[str, Any] = field(default_factory=dict)
    videos: Mapping[str, VideoSource] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        """Frames in the output."""
        return sum(episode.segment.length for episode in self.episodes)

    def describe(self) -> str:
        """A readable account of the plan, as `--dry-run` prints it."""
        lines = [f"{self.operation}: {len(self.episodes)} episodes, {self.num_frames} frames"]
        for number, source in enumerate(self.sources):
            taken = [e for e in self.episodes if e.segment.source == number]
            trimmed = [e for e in taken if not e.whole and e.segment.step == 1]
            lines.append(
                f"  source {number}: {source} → {len(taken)} episodes"
                + (f" ({len(trimmed)} trimmed)" if trimmed else "")
            )
        moves = []
        for output_index, episode in enumerate(self.episodes):
            segment = episode.segment
            label = f"{segment.source}:{segment.episode_index}"
            if segment.step != 1:
                label += f"[{segment.start}:{segment.stop}:{segment.step}]"
            elif not episode.whole:
                label += f"[{segment.start}:{segment.stop}]"
            moves.append(f"{label}→{output_index}")
        if moves:
            shown = moves if len(moves) <= 40 else [*moves[:20], "…", *moves[-20:]]
            lines.append("  episodes (source:episode→output): " + ", ".join(shown))
        lines.append(f"  tasks: {len(self.tasks)}")
        if self.columns.dropped:
            lines.append("  drop features: " + ", ".join(sorted(self.columns.dropped)))
        if self.columns.added:
            lines.append("  add features: " + ", ".join(self.columns.added))
        for number, renames in enumerate(self.columns.renames):
            if renames:
                pairs = ", ".join(f"{old}→{new}" for old, new in renames.items())
                lines.append(f"  rename (source {number}): {pairs}")
        if self.stats.recompute:
            lines.append("  stats: every episode's numeric stats recomputed from the data")
        if self.stats.visual:
            cameras = ", ".join(sorted(self.stats.visual))
            lines.append(f"  stats: camera stats sampled from frames: {cameras}")
        relative = self.stats.relative_action
        if relative is not None:
            lines.append(
                f"  stats: {relative.action} as relative to {relative.state} over chunks of"
                f" {relative.chunk_size} frames ({sum(relative.mask)}/{len(relative.mask)} dims)"
            )
        steps = {e.segment.step for e in self.episodes if e.segment.step != 1}
        if steps:
            for step in sorted(steps):
                lines.append(f"  frames: one in {step} kept (frames 0, {step}, {2 * step}, …)")
        for key, video in self.videos.items():
            lines.append(f"  encode {key} ({self.num_frames} frames): {video.describe()}")
        s = self.settings
        features = self.info.get("features", {})
        copied = [k for k, f in features.items() if f.get("dtype") == "video"]
        copied = [k for k in copied if k not in self.videos]
        how = "video copied packet by packet" if copied else "video encoded"
        if not copied and not self.videos:
            how = "no video"
        elif self.videos and copied:
            how = f"{', '.join(copied)} copied packet by packet"
        lines.append(
            f"  output: chunks_size {s.chunks_size}, data files ≤ {s.data_files_size_in_mb} MB,"
            f" video files ≤ {s.video_files_size_in_mb} MB; {how}"
        )
        return "\n".join(lines)
