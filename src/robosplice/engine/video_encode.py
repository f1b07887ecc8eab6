"""Make output cameras by encoding: image cells or decoded source video, one mp4 per episode.

The only engine path that decodes and encodes (DESIGN.md: Video without re-encoding). Each
output episode of a camera is encoded into its own temporary mp4 in the staging folder, so it
starts on a keyframe, and its packets are then appended to the camera's numbered files with
the same `VideoFileSequence` that copies packets (FORMAT.md §3.1–3.3): a file built this way
can later be cut by packet copy. Episodes are encoded in worker threads, a few at a time, and
appended in output order, so memory holds one episode's compressed images per worker and disk
holds a few temporary episodes.

The frames each episode feeds the encoder (image cells or decoded source video, depth as 12-bit
codes) come from `engine/encode_jobs.py`.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import os
import shutil
from collections.abc import Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
import pyarrow.parquet as pq

from robosplice._types import ProgressReporter
from robosplice.dataset import Dataset
from robosplice.engine.encode_jobs import EncodeJob, image_frames, video_frames
from robosplice.engine.video_copy import VideoFileSequence, ending
from robosplice.errors import VideoError
from robosplice.format import info as info_format
from robosplice.format.depth import (
    DEPTH_INFO_KEYS,
)
from robosplice.format.episodes import video_columns
from robosplice.format.packet_ranges import plan_packet_range
from robosplice.format.paths import FilePosition, video_file_path
from robosplice.format.video import PacketReader, read_packet_index
from robosplice.format.video_codec import (
    LIBSVTAV1,
    EncoderSettings,
    check_encoder,
    encoding_into,
    video_feature_info,
)
from robosplice.plan.model import Plan, VideoSource

logger = logging.getLogger(__name__)

TEMP_DIR_NAME: Final = "tmp-robosplice-encode"
_X264_ENCODERS: Final = ("h264", "libx264")
_X265_ENCODERS: Final = ("hevc", "libx265")


def encoder_options(settings: EncoderSettings, threads: int | None = None) -> dict[str, str]:
    """The codec options of `settings`, plus 0.6.1's thread mapping (`encoder_threads`).

    x265 also gets closed GOPs (`open-gop=0`) unless asked otherwise, and logs errors only (it
    prints to stderr itself, and the library never prints). Neither is recorded in `info`.
    """
    options = settings.codec_options()
    vcodec = settings.vcodec
    if threads:
        if vcodec == LIBSVTAV1:
            options["svtav1-params"] = f"{options.get('svtav1-params', '')}:lp={threads}".lstrip(
                ":"
            )
        elif vcodec in (*_X264_ENCODERS, *_X265_ENCODERS):
            options.setdefault("threads", str(threads))
        elif vcodec == "libaom-av1":
            options.setdefault("threads", str(threads))
            options.setdefault("row-mt", "1")
    if vcodec in _X265_ENCODERS:
        params = [p for p in options.get("x265-params", "").split(":") if p]
        if not any(p.startswith("open-gop") for p in params):
            # x265 defaults to open GOPs: frames shown before a CRA keyframe but decoded after
            # it are dropped by a decoder that starts there, so the loader's seek cannot reach
            # them (0.6.1 depth video with g=4 fails to load this way) and cuts lose them.
            params.append("open-gop=0")
        if not any(p.startswith("log-level") for p in params):
            params.append("log-level=error")
        options["x265-params"] = ":".join(params)
    return options


def encode_video_frames(
    frames: Iterator[Any],
    path: Path,
    *,
    fps: float,
    settings: EncoderSettings,
    size: tuple[int, int] | None = None,
    threads: int | None = None,
    depth: bool = False,
) -> int:
    """Encode PyAV frames into a new mp4 at `path`; return how many were written.

    Frame k gets pts k in a 1/fps time base (the mp4 muxer then picks its own, as the
    official files). Frames keep their pixel format until the encoder converts them, as the
    official `encode_video_frames` does; `size` (width, height) scales them first.

    Raises:
        VideoError: the encoder is missing or fails, or there are no frames. A partly
            written file is removed.
    """
    settings = settings.resolved()
    check_encoder(settings.vcodec)
    rate = Fraction(fps).limit_denominator(1_000_000)
    time_base = 1 / rate
    count = 0
    with (
        encoding_into(path, settings),
        _quiet_encoders(),
        av.open(str(path), "w", format="mp4") as container,
    ):
        stream: Any = None
        width = height = 0
        for source_frame in frames:
            frame = source_frame
            if stream is None:
                width, height = size or (frame.width, frame.height)
                stream = container.add_stream(
                    settings.vcodec, rate=rate, options=encoder_options(settings, threads)
                )
                stream.pix_fmt = settings.pix_fmt
                stream.width, stream.height = width, height
                stream.time_base = time_base
            if (frame.width, frame.height) != (width, height):
                frame = frame.reformat(
                    width=width, height=height, interpolation="POINT" if depth else "AREA"
                )
            frame.pts = count
            frame.time_base = time_base
            # A decoded frame remembers its picture type; encoders would obey it.
            frame.pict_type = av.video.frame.PictureType.NONE
            for packet in stream.encode(frame):
                container.mux(packet)
            count += 1
        if stream is None:
            raise VideoError(f"{path}: no frames to encode")
        for packet in stream.encode():
            container.mux(packet)
    return count


def encode_job(job: EncodeJob) -> int:
    """Encode one job's frames into `job.path` (runs in a worker thread); return the count.

    Raises:
        VideoError: a frame cannot be decoded, or encoding fails.
    """
    source = job.source
    depth = source.depth is not None
    frames = image_frames(job) if source.from_images else video_frames(job)
    count = encode_video_frames(
        frames,
        job.path,
        fps=job.fps,
        settings=source.settings,
        size=source.size,
        threads=source.encoder_threads,
        depth=depth,
    )
    if count != job.length:
        raise VideoError(
            f"camera {job.key}, output episode {job.output_index}: encoded {count} frames,"
            f" expected {job.length}"
        )
    return count


@contextlib.contextmanager
def _quiet_encoders() -> Iterator[None]:
    """Keep SVT-AV1's banner off stderr unless the user set SVT_LOG: the library never prints.

    SVT-AV1 reads SVT_LOG when an encoder opens, so the variable is set only around it.
    """
    if "SVT_LOG" in os.environ:
        yield
        return
    os.environ["SVT_LOG"] = "1"  # errors only
    try:
        yield
    finally:
        os.environ.pop("SVT_LOG", None)


def _jobs_in_order(
    jobs: list[EncodeJob], workers: int
) -> Generator[tuple[EncodeJob, int], None, None]:
    """Run the jobs, `workers` at a time, yielding (job, frames) in the order given.

    Threads, not processes: PyAV (decode, scale, encode) and pyarrow release the GIL, so threads
    encode in parallel as fast as a process pool (measured), without pickling, without a
    spawn start re-running the caller's script, and without forking a threaded process.
    At most 2 × workers episodes are in flight, so memory and temporary files stay bounded.
    """
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, encode_job(job)
        return
    pool = ThreadPoolExecutor(max_workers=min(workers, len(jobs)), thread_name_prefix="encode")
    pending: collections.deque[tuple[EncodeJob, Future[int]]] = collections.deque()
    upcoming = iter(jobs)
    try:
        for job in upcoming:
            pending.append((job, pool.submit(encode_job, job)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            job, future = pending.popleft()
            count = future.result()
            following = next(upcoming, None)
            if following is not None:
                pending.append((following, pool.submit(encode_job, following)))
            yield job, count
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _FileLimits:
    """The official converter's batch limits, as a new file every N episodes or frames."""

    def __init__(self, source: VideoSource) -> None:
        self.max_episodes = source.max_episodes_per_file
        self.max_frames = source.max_frames_per_file
        self.episodes = 0
        self.frames = 0

    def must_start_file(self, length: int) -> bool:
        over_episodes = self.max_episodes is not None and self.episodes >= self.max_episodes
        over_frames = self.max_frames is not None and self.frames + length > self.max_frames
        return self.episodes > 0 and (over_episodes or over_frames)

    def record(self, length: int, new_file: bool) -> None:
        if new_file:
            self.episodes = self.frames = 0
        self.episodes += 1
        self.frames += length


def plan_encode_jobs(
    plan: Plan, target: Path, datasets: list[Dataset], keys: list[str]
) -> list[EncodeJob]:
    """Every (episode, camera) to encode, episode by episode so each camera appends in order."""
    fps = float(plan.info["fps"])
    first_rows: dict[tuple[int, Path], np.ndarray] = {}
    jobs = []
    for output_index, episode in enumerate(plan.episodes):
        segment = episode.segment
        dataset = datasets[segment.source]
        record = dataset.episodes[segment.episode_index]
        for key in keys:
            source = plan.videos[key]
            job = EncodeJob(
                key=key,
                output_index=output_index,
                path=target / TEMP_DIR_NAME / key / f"episode_{output_index:06d}.mp4",
                fps=fps,
                source=source,
                root=dataset.root,
                source_fps=float(dataset.fps),
                start=segment.start,
                stop=segment.stop,
                step=segment.step,
            )
            if source.from_images:
                data_path = dataset.data_path(record.data_position)
                cache_key = (segment.source, data_path)
                if cache_key not in first_rows:
                    index = pq.read_table(data_path, columns=["index"]).column(0)
                    first_rows[cache_key] = index.to_numpy()
                index_column = first_rows[cache_key]
                first_row = int(np.searchsorted(index_column, record.dataset_from_index))
                job = replace(job, data_path=data_path, first_row=first_row)
            else:
                window = record.videos[source.source_key]
                job = replace(
                    job,
                    video_path=dataset.video_path(source.source_key, window.position),
                    from_timestamp=window.from_timestamp,
                )
            jobs.append(job)
    return jobs


def encode_videos(
    plan: Plan,
    target: Path,
    datasets: list[Dataset],
    *,
    rows: list[dict[str, Any]],
    features: info_format.Features,
    reporter: ProgressReporter,
    workers: int | None = None,
) -> list[str]:
    """Write every camera of `plan.videos` into `target`; fill the rows' video columns and the
    cameras' feature `info`. Returns the files written, relative to `target`.

    Raises:
        VideoError: a frame cannot be decoded or encoding fails.
    """
    keys = [key for key in info_format.video_keys(features) if key in plan.videos]
    if not keys:
        return []
    fps = float(plan.info["fps"])
    settings = plan.settings
    sequences = {
        key: VideoFileSequence(
            target,
            functools.partial(_video_path, target, key),
            file_size_mb=settings.video_files_size_in_mb,
            chunks_size=settings.chunks_size,
        )
        for key in keys
    }
    limits = {key: _FileLimits(plan.videos[key]) for key in keys}
    workers = max(1, workers or 1)
    jobs = plan_encode_jobs(plan, target, datasets, keys)
    if workers > 1:
        # Encoders are multithreaded: share the cores rather than oversubscribe them.
        threads = max(1, (os.cpu_count() or 1) // workers)
        jobs = [
            job
            if job.source.encoder_threads is not None
            else replace(job, source=replace(job.source, encoder_threads=threads))
            for job in jobs
        ]
    reporter.start(f"encode {', '.join(keys)}", len(jobs))
    try:
        with (
            ending(sequences.values()),
            _quiet_encoders(),
            contextlib.closing(_jobs_in_order(jobs, workers)) as ordered,
        ):
            for job, count in ordered:
                sequence = sequences[job.key]
                new_file = limits[job.key].must_start_file(count)
                before = sequence.position
                written = _append_episode(job, count, sequence, fps, new_file=new_file)
                limits[job.key].record(count, new_file or sequence.position != before)
                chunk, file, start, end = video_columns(job.key)
                rows[job.output_index].update(
                    {
                        chunk: written.position[0],
                        file: written.position[1],
                        start: written.from_timestamp,
                        end: written.to_timestamp,
                    }
                )
                reporter.advance()
    finally:
        shutil.rmtree(target / TEMP_DIR_NAME, ignore_errors=True)
        reporter.finish()
    for key in keys:
        first = sequences[key].paths_written[0]
        features[key]["info"] = camera_info(features[key].get("info"), first, plan.videos[key])
    return [p.relative_to(target).as_posix() for s in sequences.values() for p in s.paths_written]


def _video_path(target: Path, key: str, position: FilePosition) -> Path:
    return target / video_file_path(key, position)


def _append_episode(
    job: EncodeJob, count: int, sequence: VideoFileSequence, fps: float, *, new_file: bool
) -> Any:
    """Append the packets of an encoded episode to its camera's files; delete the temp file."""
    index = read_packet_index(job.path)
    packet_range = plan_packet_range(
        index,
        from_timestamp=0.0,
        fps=fps,
        start=0,
        stop=count,
        where=f"{job.path} (camera {job.key}, output episode {job.output_index})",
    )
    reader = PacketReader(job.path)
    try:
        written = sequence.append(
            index,
            packet_range,
            lambda: (list(reader.packets(packet_range.first, packet_range.stop)), reader.stream),
            new_file=new_file,
        )
    finally:
        reader.close()
    job.path.unlink()
    return written


def camera_info(
    existing: Mapping[str, Any] | None, first_file: Path, source: VideoSource
) -> dict[str, Any]:
    """The feature `info` 0.6.1 writes after encoding: probe the first file, merge over the old.

    As `update_video_info`: `{**existing, **new}`; a re-encoded depth video keeps its
    `is_depth_map` and quantisation keys (its codes are not re-quantised), and the legacy
    `video.is_depth_map` becomes `is_depth_map`.
    """
    new = video_feature_info(first_file, source.settings)
    if source.depth is not None:
        new.pop("is_depth_map", None)
        new.update(source.depth.info())
        new["is_depth_map"] = True
        if not source.from_images:
            for key in ("is_depth_map", *DEPTH_INFO_KEYS):
                new.pop(key, None)
    merged = {**(existing or {}), **new}
    if "video.is_depth_map" in merged:
        merged.setdefault("is_depth_map", merged.pop("video.is_depth_map"))
    return merged
