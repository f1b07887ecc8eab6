"""Where the shared fixture datasets are, and how to copy them (importable from any test)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURE_NAMES = ("v3_av1_single", "v3_av1_multifile", "v3_image", "v3_h264_bframes")
VIDEO_FIXTURES = ("v3_av1_single", "v3_av1_multifile", "v3_h264_bframes")


def shared_fixtures_dir() -> Path:
    """The recorder-written datasets: $ROBOSPLICE_FIXTURES or <repo>/../shared/fixtures."""
    env = os.environ.get("ROBOSPLICE_FIXTURES")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "fixtures"


def copy_tree_writable(source: Path, target: Path) -> Path:
    """Copy a dataset, making the copy writable (the shared fixtures are read-only)."""
    shutil.copytree(source, target, copy_function=shutil.copyfile)
    for folder, _, files in os.walk(target):
        for name in [".", *files]:
            path = Path(folder, name)
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target
