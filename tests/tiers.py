"""The folders whose `interop`-marked tests a tier collects (Makefile: `make interop`, `make interop-v21`).

A test marked `interop` anywhere else would run in no tier: `make test` deselects the mark.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
INTEROP_TIER_DIRS = (TESTS / "interop", TESTS / "interop_v21")


def in_an_interop_tier(path: Path) -> bool:
    """Whether a test file at `path` is collected by an interop tier."""
    parents = Path(path).resolve().parents
    return any(folder in parents for folder in INTEROP_TIER_DIRS)
