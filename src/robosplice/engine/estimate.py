"""How many bytes a plan will write, estimated from file sizes (for `--dry-run`; metadata only)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pyarrow.parquet as pq

from robosplice.dataset import Dataset
from robosplice.plan.model import Plan


@dataclass(frozen=True, slots=True, kw_only=True)
class ByteEstimate:
    """Estimated output bytes, split by kind; video bytes are copied packets unless encoded."""

    data_bytes: int
    video_bytes: int

    def describe(self) -> str:
        """One line for the dry-run text."""
        mib = 1024 * 1024
        return (
            f"  estimated output: data {self.data_bytes / mib:.1f} MiB,"
            f" video {self.video_bytes / mib:.1f} MiB"
        )


def estimate_bytes(plan: Plan) -> ByteEstimate:
    """Share of each source file's size that the plan's segments take, summed."""
    datasets = [Dataset(root) for root in plan.sources]
    data_rows: dict[tuple[int, tuple[int, int]], int] = {}
    video_frames: dict[tuple[int, str, tuple[int, int]], int] = defaultdict(int)
    for number, dataset in enumerate(datasets):
        for record in dataset.episodes:
            for key, window in record.videos.items():
                video_frames[(number, key, window.position)] += record.length
    data_bytes = video_bytes = 0
    for episode in plan.episodes:
        segment = episode.segment
        dataset = datasets[segment.source]
        record = dataset.episodes[segment.episode_index]
        path = dataset.data_path(record.data_position)
        key = (segment.source, record.data_position)
        if key not in data_rows:
            data_rows[key] = max(1, pq.ParquetFile(path).metadata.num_rows) if path.is_file() else 1
        if path.is_file():
            data_bytes += path.stat().st_size * segment.length // data_rows[key]
        for camera, window in record.videos.items():
            video = dataset.video_path(camera, window.position)
            frames = video_frames[(segment.source, camera, window.position)]
            if video.is_file() and frames:
                video_bytes += video.stat().st_size * segment.length // frames
    return ByteEstimate(data_bytes=data_bytes, video_bytes=video_bytes)
