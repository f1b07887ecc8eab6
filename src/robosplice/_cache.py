"""Where robosplice keeps what it can rebuild (review clips and edits, pre-flight findings)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path:
    """robosplice's cache folder: `$ROBOSPLICE_CACHE_DIR`, else `$XDG_CACHE_HOME/robosplice`,
    else `~/.cache/robosplice`."""
    if "ROBOSPLICE_CACHE_DIR" in os.environ:
        return Path(os.environ["ROBOSPLICE_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "robosplice"
