"""Byte copies done by the kernel (copy_file_range), with a read/write fallback.

Why: an edit that keeps most of a dataset moves bytes from file to file; copy_file_range moves
them without a trip through Python (and shares extents on filesystems that can, such as Btrfs
and XFS), so such an edit costs about what `cp` costs.
"""

from __future__ import annotations

import os
from pathlib import Path

from robosplice.errors import VideoError


def copy_whole_file(source: Path, target: Path) -> None:
    """Copy a file kernel-side (copy_file_range: extents shared where the filesystem can)."""
    with source.open("rb") as reading, target.open("wb", buffering=0) as writing:
        size = os.fstat(reading.fileno()).st_size
        copy_range(reading.fileno(), writing.fileno(), 0, size, source)


def copy_range(source: int, target: int, start: int, length: int, name: Path) -> None:
    """Append bytes [start, start + length) of the open file `source` to `target`."""
    position = start
    end = start + length
    while position < end:
        try:
            copied = os.copy_file_range(source, target, end - position, position)
        except OSError:  # no copy_file_range here (other filesystems, older kernels)
            copied = 0
        if copied == 0:
            chunk = os.pread(source, min(end - position, 8 * 2**20), position)
            if not chunk:
                raise VideoError(f"{name}: ended at byte {position}, {end - position} bytes early")
            write_all(target, chunk)
            copied = len(chunk)
        position += copied


def write_all(target: int, data: bytes) -> None:
    """Write all of `data` to the open file `target`."""
    view = memoryview(data)
    while view:
        view = view[os.write(target, view) :]
