"""The test tiers: which marker each selects and which folders it collects (the Makefile's targets).

A test carrying a tier's marker anywhere else would run in no tier: `make test` deselects every
tier marker. Each tier's Makefile target sets ROBOSPLICE_TIER to its name; the root conftest then
fails the run when a test was skipped or none passed, so no tier can exit 0 having run nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parent
TIER_ENV = "ROBOSPLICE_TIER"


@dataclass(frozen=True)
class Tier:
    """A Makefile target's pytest run: `-m marker` over `paths` (marker None: the default run)."""

    name: str
    marker: str | None
    paths: tuple[Path, ...]


TIERS = (
    Tier("test", None, (TESTS,)),
    Tier("hub-2x", None, (TESTS / "hub",)),
    Tier("hub-olah", "olah", (TESTS / "hub" / "test_olah.py",)),
    Tier("interop", "interop", (TESTS / "interop",)),
    Tier("interop-v21", "interop", (TESTS / "interop_v21",)),
    Tier("browser", "browser", (TESTS / "browser",)),
    Tier("ray", "ray", (TESTS / "engine" / "test_ray.py",)),
    Tier("kill", "slow", (TESTS / "safety",)),
)
TIER_MARKERS = tuple(sorted({tier.marker for tier in TIERS if tier.marker}))

# Skips a tier may have, by tier name: node id -> why. None today: every skip fails its tier.
EXPECTED_SKIPS: dict[str, dict[str, str]] = {}


def tier_paths(marker: str) -> tuple[Path, ...]:
    """Where the tiers that select `marker` collect."""
    return tuple(path for tier in TIERS if tier.marker == marker for path in tier.paths)


def in_a_tier_of(marker: str, path: Path) -> bool:
    """Whether a test file at `path`, marked `marker`, is collected by a tier selecting it."""
    path = Path(path).resolve()
    return any(path == where or where in path.parents for where in tier_paths(marker))


def in_an_interop_tier(path: Path) -> bool:
    """Whether a test file at `path` is collected by an interop tier."""
    return in_a_tier_of("interop", path)


INTEROP_TIER_DIRS = tier_paths("interop")
