"""Decode and compare the frames of episodes, straight from the files (no robosplice engine)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pyarrow as pa

from robosplice.dataset import Dataset

_EPSILON_S = 1e-4


def _window_packets(
    dataset: Dataset, video_key: str, episode_index: int
) -> tuple[list, Fraction, float, float]:
    window = dataset.episodes[episode_index].videos[video_key]
    path = dataset.video_path(video_key, window.position)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base)
        packets = [
            (int(p.pts), bytes(p))
            for p in container.demux(stream)
            if p.pts is not None and p.dts is not None
        ]
    return packets, time_base, window.from_timestamp, window.to_timestamp


def episode_packets(dataset: Dataset, video_key: str, episode_index: int) -> list[bytes]:
    """Payloads of the packets whose pts fall in the episode's window, in display order."""
    packets, time_base, start, stop = _window_packets(dataset, video_key, episode_index)
    inside = [
        (pts, payload)
        for pts, payload in packets
        if start - _EPSILON_S <= float(pts * time_base) < stop - _EPSILON_S
    ]
    return [payload for _, payload in sorted(inside)]


def decode_episode_frames(dataset: Dataset, video_key: str, episode_index: int) -> np.ndarray:
    """RGB frames (N, H, W, 3) uint8 of one episode, decoded from its file and window."""
    window = dataset.episodes[episode_index].videos[video_key]
    path = dataset.video_path(video_key, window.position)
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base)
        for frame in container.decode(stream):
            seconds = float(frame.pts * time_base)
            if window.from_timestamp - _EPSILON_S <= seconds < window.to_timestamp - _EPSILON_S:
                frames.append(frame.to_ndarray(format="rgb24"))
    return np.stack(frames) if frames else np.zeros((0, 0, 0, 3), np.uint8)


def read_episode_table(dataset: Dataset, episode_index: int) -> pa.Table:
    """The data rows of one episode, read independently of the engine."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    record = dataset.episodes[episode_index]
    table = pq.read_table(dataset.data_path(record.data_position))
    mask = pc.equal(table.column("episode_index"), episode_index)
    return table.filter(mask)


def frame_identity(image: np.ndarray, bits: int = 10) -> tuple[int, int]:
    """(episode, frame) encoded in the top rows of a fixture/sample frame (HWC uint8)."""
    values = []
    for row in range(2):
        value = 0
        for bit in range(bits):
            block = image[row * 8 : (row + 1) * 8, bit * 8 : (bit + 1) * 8]
            if block.mean() >= 128:
                value |= 1 << bit
        values.append(value)
    return values[0], values[1]
