"""Convert a v3.0 dataset into a v2.1 folder: one parquet and one mp4 per episode.

Each episode's window of a camera file is cut by packet copy into its own mp4, pts and dts
rebased by the integer tick of its first frame, so the new file starts at exactly 0 with the
same packets, time base and extradata (no `-avoid_negative_ts`, no in-band parameter sets;
conversion.md §3.3). A window that does not start on a keyframe of a closed GOP cannot be cut
that way: it is refused, or re-encoded on its own when asked. Rows go out value for value in
the types `datasets` 3.x reads without a cast; stats go to episodes_stats.jsonl with quantiles.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq

from robosplice._types import ProgressReporter
from robosplice.dataset import Dataset
from robosplice.engine.progress import resolve_progress
from robosplice.engine.sources import SourceSet
from robosplice.engine.to_v30 import cast_rows, copy_carried
from robosplice.engine.video_copy import write_segment_file
from robosplice.engine.video_encode import encode_video_frames
from robosplice.errors import InvalidDatasetError, Problem, VideoError
from robosplice.format import info as info_format
from robosplice.format.packet_ranges import PacketRange, plan_packet_range
from robosplice.format.paths import STATS_PATH
from robosplice.format.v21 import (
    EPISODE_BASE_KEYS,
    EPISODES_JSONL,
    EPISODES_STATS_JSONL,
    TASKS_JSONL,
    V3_LAYOUT_PREFIXES,
    v2_data_path,
    v2_video_path,
    v21_data_schema,
    v21_info_from_v30,
    write_jsonl,
)
from robosplice.format.video import PacketReader, read_packet_index
from robosplice.format.video_codec import EncoderSettings

# Encoders for re-encoding an unaligned episode in its source codec.
_ENCODER_OF_CODEC = {"av1": "libsvtav1", "h264": "libx264", "hevc": "libx265"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvertedV21:
    """What a v3.0 → v2.1 conversion wrote besides the layout's files."""

    carried: tuple[str, ...]
    reencoded: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Cut:
    """One (episode, camera) window: its packets, and whether a packet copy can serve it."""

    path: Path
    packet_range: PacketRange
    aligned: bool


def unsupported_features(dataset: Dataset) -> list[Problem]:
    """A problem per feature v2.1 cannot hold (0.6.1 depth video, language columns).

    Reports only: whether the source is valid as well, and whether to refuse, is the op's call
    (`ops/convert_version.py`).
    """
    problems = []
    for name, feature in dataset.features.items():
        if info_format.is_depth_feature(feature):
            problems.append(
                Problem(
                    file="meta/info.json",
                    loc=f"features.{name}",
                    kind="unsupported_feature",
                    message="0.6.1 depth video means nothing to v2.1 loaders (they decode it as"
                    f" RGB); drop it first: robosplice remove-feature SRC OUT {name}",
                )
            )
        elif feature.get("dtype") == "language":
            problems.append(
                Problem(
                    file="meta/info.json",
                    loc=f"features.{name}",
                    kind="unsupported_feature",
                    message="language columns are 0.6.1-only; drop it first: robosplice"
                    f" remove-feature SRC OUT {name}",
                )
            )
    return problems


def plan_cuts(dataset: Dataset) -> dict[tuple[int, str], _Cut]:
    """The packet range of every (episode, camera), and whether it starts a closed GOP."""
    fps = float(dataset.fps)
    cuts = {}
    for record in dataset.episodes:
        for key, window in record.videos.items():
            path = dataset.video_path(key, window.position)
            index = read_packet_index(path)
            packet_range = plan_packet_range(
                index,
                from_timestamp=window.from_timestamp,
                fps=fps,
                start=0,
                stop=record.length,
                where=f"{path} (camera {key}, episode {record.episode_index})",
            )
            aligned = (
                bool(index.keyframe[packet_range.first])
                and packet_range.base_pts == packet_range.wanted_first_pts
                and packet_range.stop - packet_range.first == record.length
            )
            cuts[(record.episode_index, key)] = _Cut(
                path=path, packet_range=packet_range, aligned=aligned
            )
    return cuts


def unaligned_problems(cuts: dict[tuple[int, str], _Cut], root: Path) -> list[Problem]:
    """A problem per window a packet copy cannot cut (not a keyframe, or an open GOP)."""
    return [
        Problem(
            file=cut.path.relative_to(root).as_posix(),
            loc=f"episode {episode}",
            kind="unaligned_episode",
            message=f"camera {key}: the episode does not start on a keyframe of a closed GOP,"
            " so it cannot be cut without re-encoding; pass --reencode-unaligned to re-encode"
            " only such episodes (lossy), or keep this dataset in v3.0",
        )
        for (episode, key), cut in cuts.items()
        if not cut.aligned
    ]


def convert_v30_to_v21(
    dataset: Dataset,
    target: Path,
    *,
    reencode_unaligned: bool = False,
    progress: ProgressReporter | None = None,
) -> ConvertedV21:
    """Write the v2.1 form of `dataset` into the empty folder `target`.

    Raises:
        InvalidDatasetError: unaligned episodes without `reencode_unaligned`, or rows that do
            not belong to their episode.
    """
    reporter = resolve_progress(progress)
    features = dataset.features
    cuts = plan_cuts(dataset)
    unaligned = unaligned_problems(cuts, dataset.root)
    if unaligned and not reencode_unaligned:
        raise InvalidDatasetError(
            f"{dataset.root}: {len(unaligned)} episode video(s) cannot be cut by packet copy;"
            " nothing was written:",
            unaligned,
        )
    info = v21_info_from_v30(
        dataset.info,
        num_episodes=dataset.num_episodes,
        num_frames=dataset.num_frames,
        num_tasks=len(dataset.tasks),
    )
    schema = v21_data_schema(features)
    episode_rows = dataset.episodes_table.to_pylist()
    sources = SourceSet([dataset])
    tasks_of: list[list[str]] = []
    reporter.start("data", dataset.num_episodes)
    try:
        for record in dataset.episodes:
            number = record.episode_index
            table = sources.read_episode_rows(0, number, 0, record.length)
            relative = v2_data_path(info, number)
            episode_index = table.column("episode_index").to_numpy()
            if not np.all(episode_index == number):
                raise InvalidDatasetError(
                    f"episode {number}: rows {record.dataset_from_index}.."
                    f"{record.dataset_to_index - 1} hold episode_index values"
                    f" {sorted(set(episode_index.tolist()))[:5]}; nothing was written"
                )
            output = cast_rows(table, schema, features, relative)
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(output, path, row_group_size=max(1, output.num_rows))
            task_index = table.column("task_index").to_numpy()
            _, first = np.unique(task_index, return_index=True)
            tasks_of.append([dataset.tasks[int(task_index[i])] for i in sorted(first)])
            reporter.advance()
    finally:
        reporter.finish()
        sources.close()
    reencoded = _write_videos(dataset, target, info, cuts, reporter)
    _write_metadata(dataset, target, info, episode_rows, tasks_of)
    carried = carried_v3_files(dataset)
    copy_carried(dataset.root, target, carried)
    return ConvertedV21(carried=tuple(carried), reencoded=tuple(reencoded))


def _write_videos(
    dataset: Dataset,
    target: Path,
    info: dict[str, Any],
    cuts: dict[tuple[int, str], _Cut],
    reporter: ProgressReporter,
) -> list[str]:
    reencoded = []
    for key in dataset.video_keys:
        readers: dict[Path, PacketReader] = {}
        reporter.start(f"video {key}", dataset.num_episodes)
        try:
            for record in dataset.episodes:
                cut = cuts[(record.episode_index, key)]
                out = target / v2_video_path(info, key, record.episode_index)
                if not cut.aligned:
                    _reencode(dataset, key, record.episode_index, cut, out)
                    reencoded.append(f"episode {record.episode_index} ({key})")
                    reporter.advance()
                    continue
                if cut.path not in readers:
                    for reader in readers.values():
                        reader.close()
                    readers = {cut.path: PacketReader(cut.path)}
                reader = readers[cut.path]
                write_segment_file(
                    read_packet_index(cut.path),
                    cut.packet_range,
                    out,
                    lambda cut=cut, reader=reader: (
                        list(reader.packets(cut.packet_range.first, cut.packet_range.stop)),
                        reader.stream,
                    ),
                )
                reporter.advance()
        finally:
            for reader in readers.values():
                reader.close()
            reporter.finish()
    return reencoded


def _reencode(dataset: Dataset, key: str, episode: int, cut: _Cut, out: Path) -> None:
    """Decode one episode's window and encode it alone (lossy; only for unaligned windows)."""
    length = dataset.episodes[episode].length
    feature_info = dataset.features[key].get("info") or {}
    index = read_packet_index(cut.path)
    codec = index.facts.codec
    settings = EncoderSettings(
        vcodec=_ENCODER_OF_CODEC.get(codec, codec),
        pix_fmt=index.facts.pix_fmt or "yuv420p",
        g=feature_info.get("video.g", 2),
        crf=feature_info.get("video.crf", 30 if codec == "av1" else 23),
        preset=feature_info.get("video.preset"),
    )
    start = cut.packet_range.wanted_first_pts
    frames = []
    try:
        with av.open(str(cut.path)) as container:
            stream = container.streams.video[0]
            container.seek(int(index.pts[cut.packet_range.first]), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts is None or frame.pts < start:
                    continue
                frames.append(frame)
                if len(frames) == length:
                    break
    except av.error.FFmpegError as exc:
        raise VideoError(f"{cut.path}: cannot decode episode {episode} ({exc})") from exc
    if len(frames) != length:
        raise VideoError(
            f"{cut.path}: episode {episode} of camera {key}: decoded {len(frames)} frames,"
            f" expected {length}"
        )
    encode_video_frames(iter(frames), out, fps=float(dataset.fps), settings=settings)


def _write_metadata(
    dataset: Dataset,
    target: Path,
    info: dict[str, Any],
    episode_rows: list[dict[str, Any]],
    tasks_of: list[list[str]],
) -> None:
    write_jsonl(
        target, TASKS_JSONL, [{"task_index": i, "task": t} for i, t in enumerate(dataset.tasks)]
    )
    lines, stats_lines = [], []
    for row, derived_tasks in zip(episode_rows, tasks_of, strict=True):
        line: dict[str, Any] = {
            "episode_index": row["episode_index"],
            "tasks": row.get("tasks") if row.get("tasks") is not None else derived_tasks,
            "length": row.get("length")
            if row.get("length") is not None
            else row["dataset_to_index"] - row["dataset_from_index"],
        }
        for name, value in row.items():
            if name in EPISODE_BASE_KEYS or name.startswith(V3_LAYOUT_PREFIXES):
                continue
            line[name] = value
        lines.append(line)
        stats: dict[str, dict[str, Any]] = {}
        for name, value in row.items():
            if not name.startswith("stats/") or value is None:
                continue
            feature, _, stat = name[len("stats/") :].rpartition("/")
            stats.setdefault(feature, {})[stat] = value
        stats_lines.append({"episode_index": row["episode_index"], "stats": stats})
    write_jsonl(target, EPISODES_JSONL, lines)
    write_jsonl(target, EPISODES_STATS_JSONL, stats_lines)
    info_format.write_info(target, info)
    if (dataset.root / STATS_PATH).is_file():
        shutil.copyfile(dataset.root / STATS_PATH, target / STATS_PATH)


def carried_v3_files(dataset: Dataset) -> list[str]:
    """Files of the v3.0 source its layout does not own (README, meta/modality.json, ...)."""
    owned = {"meta/info.json", "meta/stats.json", "meta/tasks.parquet"}
    found = []
    for path in sorted(dataset.root.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(dataset.root).as_posix()
        if relative in owned or relative.startswith("meta/episodes/"):
            continue
        top = relative.split("/", 1)[0]
        if top == "data" and relative.endswith(".parquet"):
            continue
        if top == "videos" and relative.endswith(".mp4"):
            continue
        found.append(relative)
    return found
