"""The command line's allocator for Arrow buffers: the system's, unless the user chose one.

Arrow's default pool (mimalloc in the wheels) keeps the pages an edit frees for its own reuse, while
the edit's Python side (episode rows, stats blocks) grows on malloc's heap: the two peaks add up.
With the system allocator the buffers of each run of rows go back to malloc, which the rest reuses:
peak RSS of the 1.5 GB bench's delete / split / merge / repack 329 / 327 / 416 / 287 -> 268 / 283 /
365 / 257 MiB at the same CPU time (bench/README.md). The choice is process-wide, so the command
line makes it (its process is its own; pool workers inherit it through the environment) and the
library does not.
"""

from __future__ import annotations

import os

import pyarrow as pa

POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def use_system_allocator() -> None:
    """Route Arrow's allocations through malloc, unless `ARROW_DEFAULT_MEMORY_POOL` is set."""
    if os.environ.get(POOL_VARIABLE):
        return
    os.environ[POOL_VARIABLE] = "system"  # for worker processes started from here
    pa.set_memory_pool(pa.system_memory_pool())
