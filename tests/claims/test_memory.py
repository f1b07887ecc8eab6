"""README: "Rows and frames are held one episode at a time" (data streamed by row group).

An image dataset (PNG bytes in the data files: the heaviest rows there are) and the same dataset
merged with itself 5 times (5x the episodes and bytes) go through the same edits,
a delete and a merge of two copies, in a fresh interpreter that reports the Arrow memory pool's
high-water mark and tracemalloc's peak per edit. What the big dataset adds over the small one is
bounded by episodes: an edit that reads a whole data file, or gathers every episode's rows before
writing, needs the whole extra data size and fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.ops.merge import merge_datasets

COPIES = 5

MEASURE = r"""
import json, sys, tracemalloc
import pyarrow as pa
from robosplice.ops.delete import delete_episodes
from robosplice.ops.merge import merge_datasets

pool = pa.default_memory_pool()
tracemalloc.start()
peaks = {}
for name in ("small", "big"):  # small first: the Arrow high-water mark can only grow
    source = sys.argv[1 if name == "small" else 2]
    tracemalloc.reset_peak()
    delete_episodes(source, [1], f"{sys.argv[3]}/{name}-delete")
    peaks[f"python {name} delete"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    merge_datasets([source, source], "t/m", f"{sys.argv[3]}/{name}-merge")
    peaks[f"python {name} merge"] = tracemalloc.get_traced_memory()[1]
    peaks[f"arrow {name}"] = pool.max_memory()
print(json.dumps(peaks))
"""


def data_bytes(root: Path) -> tuple[int, int]:
    """(largest row group = one episode, all row groups) of the data files, uncompressed."""
    sizes = [
        meta.row_group(i).total_byte_size
        for path in sorted((root / "data").rglob("*.parquet"))
        for meta in [pq.ParquetFile(path).metadata]
        for i in range(meta.num_row_groups)
    ]
    return max(sizes), sum(sizes)


def test_memory_is_bounded_by_episodes_not_by_the_dataset(tmp_path: Path) -> None:
    small = copy_tree_writable(fixtures_dir() / "v3_image", tmp_path / "small")
    big = merge_datasets([small] * COPIES, "t/big", tmp_path / "big").root
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(small), str(big), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    peaks = json.loads(run.stdout.splitlines()[-1])
    episode, big_total = data_bytes(big)
    _, small_total = data_bytes(small)
    extra = big_total - small_total
    assert big_total >= 20 * episode, f"test bug: {big_total} B is not dozens of {episode} B"
    context = f"{peaks}; one episode {episode} B, data {small_total} B → {big_total} B"

    # Arrow buffers (the rows): 5x the data adds at most three episodes to the high-water mark.
    assert peaks["arrow big"] - peaks["arrow small"] <= 3 * episode, context
    # Python objects: per-episode metadata (stats rows) grows with the episode count, as in the
    # official loader; rows never become Python objects, so the growth stays far below the data's.
    for edit, copies in (("delete", 1), ("merge", 2)):
        growth = peaks[f"python big {edit}"] - peaks[f"python small {edit}"]
        assert growth < copies * extra / 2, (edit, context)
