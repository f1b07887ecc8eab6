"""Where the fixture datasets are, and how to copy them (importable from any test).

The recorder-written datasets live in the repository (`tests/fixtures/datasets`, copied from the
official recorder's output by `make_fixtures.py` beside them): a clone alone runs every test.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURE_NAMES = ("v3_av1_single", "v3_av1_multifile", "v3_image", "v3_h264_bframes")
VIDEO_FIXTURES = ("v3_av1_single", "v3_av1_multifile", "v3_h264_bframes")


FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures" / "datasets"


def fixtures_dir() -> Path:
    """The recorder-written datasets kept in the repository (read-only by convention: copy first)."""
    return FIXTURES_DIR


def copy_tree_writable(source: Path, target: Path) -> Path:
    """Copy a dataset, making the copy writable (the shared fixtures are read-only)."""
    shutil.copytree(source, target, copy_function=shutil.copyfile)
    for folder, _, files in os.walk(target):
        for name in [".", *files]:
            path = Path(folder, name)
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target
