"""An edit's peak memory does not grow with the number of frames it writes.

A synthetic dataset of 20 episodes, then 80 (4× the frames; one row group per episode, as the
recorder writes), is deleted from in a fresh process each, and that process's peak RSS compared
(`ru_maxrss` of the launcher's only child): 4× the frames may cost at most a fixed margin more.
Exact dataset quantiles used to keep every value (~150 B a frame here), which failed it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from robosplice.testing.synthetic import write_numeric_dataset

EPISODES = 20
FRAMES = 4_000  # per episode: 80k frames at 1×, 320k at 4×
MARGIN_MIB = 40  # today +5 to +25 MiB (per-episode buffers); keeping every value: +110 MiB
RUNS = 3

LAUNCHER = """
import os, resource, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(status):
    sys.exit(1)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
EDIT = """
import sys
from robosplice.ops.delete import delete_episodes
delete_episodes(sys.argv[1], [0], sys.argv[2])
"""


def _dataset(root: Path, count: int) -> Path:
    rng = np.random.default_rng(0)
    episodes = [
        {
            "observation.state": rng.normal(size=(FRAMES, 14)).astype(np.float32),
            "action": rng.normal(size=(FRAMES, 14)).astype(np.float32),
        }
        for _ in range(count)
    ]
    write_numeric_dataset(root, episodes, episodes_per_file=EPISODES)
    for path in (root / "data").glob("*/*.parquet"):  # one row group per episode, as recorded
        pq.write_table(pq.read_table(path), path, row_group_size=FRAMES)
    return root


def _peak_mib(source: Path, output: Path) -> float:
    """Peak RSS of the edit in a fresh process, spawned by a small launcher: a child forked
    from this (large) test process would count this process's RSS as its own peak."""
    env = {**os.environ, "ROBOSPLICE_NO_PROGRESS": "1"}
    edit = [sys.executable, "-c", EDIT, str(source), str(output)]
    launched = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *edit], env=env, capture_output=True, text=True
    )
    assert launched.returncode == 0, launched.stderr
    return int(launched.stdout) / 1024  # ru_maxrss is in KiB on Linux


def test_peak_memory_of_an_edit_stays_flat_when_the_frames_grow_4x(tmp_path: Path) -> None:
    small = _dataset(tmp_path / "small", EPISODES)
    large = _dataset(tmp_path / "large", 4 * EPISODES)
    # The same edit's peak varies by up to ~25 MiB from run to run (pyarrow decodes on its
    # thread pool, and what each thread's heap keeps is timing); the noise only adds, so the
    # least of a few runs is the edit's own peak.
    runs = [
        [_peak_mib(source, tmp_path / f"out-{source.name}-{run}") for source in (small, large)]
        for run in range(RUNS)
    ]
    peaks = [min(run[size] for run in runs) for size in (0, 1)]
    assert (tmp_path / "out-large-0" / "meta" / "stats.json").is_file()
    assert peaks[1] - peaks[0] <= MARGIN_MIB, (
        f"peak RSS {peaks[0]:.0f} → {peaks[1]:.0f} MiB ({runs})"
    )
