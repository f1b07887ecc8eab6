"""The packet indexes an edit holds do not grow with the number of video files it copies.

Each source file's index (pts, dts, sizes, offsets: ~45 bytes a packet) is read when a unit
needs it and let go after its last use, beside a small cache of recent ones; holding every index
an edit read made peak memory grow with the dataset (~40 MiB at 780 MiB of video). A generated
dataset of small video files is deleted from at 1× and at 4× the files (the same files, merged
with itself twice), with the cache shrunk to one index, and the bytes of the indexes alive at
once are compared: 4× the files may not hold more. Counted from the arrays themselves (every
index alive, from the garbage collector), not RSS, which moves by more than an index of this size.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from robosplice.engine.backends import execution
from robosplice.format import video as video_format
from robosplice.format.video import PacketIndex
from robosplice.ops.delete import delete_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.sample import write_sample


class _LiveIndexes:
    """The most bytes of packet indexes alive at once, counted at each read of a new one (the
    garbage collector lists every live index: they hold a dict, so it tracks them)."""

    def __init__(self) -> None:
        self.reads = 0
        self.peak_bytes = 0

    def track(self, index: PacketIndex | None) -> PacketIndex | None:
        if index is not None:
            self.reads += 1
            alive = [o for o in gc.get_objects() if isinstance(o, PacketIndex)]
            self.peak_bytes = max(self.peak_bytes, sum(i.nbytes() for i in alive))
        return index


def _peak_index_bytes(monkeypatch: pytest.MonkeyPatch, source: Path, output: Path) -> int:
    live = _LiveIndexes()
    for name in ("_sample_table_index", "_demux_packet_index"):
        read = getattr(video_format, name)
        monkeypatch.setattr(video_format, name, lambda path, read=read: live.track(read(path)))
    monkeypatch.setattr(video_format, "_INDEX_CACHE", video_format._IndexCache(budget_bytes=0))
    with execution("serial", 1):
        delete_episodes(source, [0], output)
    assert live.reads, "no packet index was read"
    return live.peak_bytes


def test_packet_indexes_held_stay_flat_when_the_video_files_grow_4x(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = tmp_path / "small"
    write_sample(
        small,
        episodes=8,
        cameras=(("observation.images.top", 48, 96),),
        min_length=40,
        max_length=60,
        video_files_size_in_mb=0.01,
    )
    with execution("serial", 1):
        for source, target in ((small, "twice"), (tmp_path / "twice", "large")):
            merge_datasets(
                [source, source], f"test/{target}", tmp_path / target, video_files_size_in_mb=0.01
            )
    files = [len(list((root / "videos").rglob("*.mp4"))) for root in (small, tmp_path / "large")]
    assert files[0] >= 3, files
    assert files[1] >= 4 * files[0], files
    peaks = [
        _peak_index_bytes(monkeypatch, root, tmp_path / f"out-{root.name}")
        for root in (small, tmp_path / "large")
    ]
    assert (tmp_path / "out-large" / "meta" / "info.json").is_file()
    assert peaks[1] <= 1.5 * peaks[0], f"index bytes alive at once: {peaks[0]} → {peaks[1]}"
