"""Shared test wiring: fixture datasets, the source guard, progress bars off."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.testing import tree_digest
from tiers import INTEROP_TIER_DIRS, in_an_interop_tier

os.environ["ROBOSPLICE_NO_PROGRESS"] = "1"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a test marked `interop` outside the interop tiers' folders: no tier would run it.

    (`make test` deselects `interop`; `make interop`/`make interop-v21` collect their folders only,
    `tiers.INTEROP_TIER_DIRS`.) tryfirst: before pytest's `-m` deselection hides it.
    """
    stray = [
        item.nodeid
        for item in items
        if item.get_closest_marker("interop") and not in_an_interop_tier(Path(item.path))
    ]
    if stray:
        raise pytest.UsageError(
            f"tests marked `interop` outside {[d.name for d in INTEROP_TIER_DIRS]} run in no tier:"
            f" {stray}; move them there"
        )


@pytest.fixture
def source_guard() -> Iterator[Callable[[Path], Path]]:
    """Register source folders; after the test each must be byte-identical to before."""
    guarded: dict[Path, dict[str, str]] = {}

    def guard(root: Path) -> Path:
        guarded[Path(root)] = tree_digest(Path(root))
        return Path(root)

    yield guard
    for root, before in guarded.items():
        assert tree_digest(root) == before, f"source {root} changed"


@pytest.fixture
def fixture_dataset(tmp_path: Path, source_guard: Callable[[Path], Path]) -> Callable[[str], Path]:
    """name → a guarded private copy of a shared fixture."""

    def get(name: str) -> Path:
        return source_guard(copy_tree_writable(fixtures_dir() / name, tmp_path / "src" / name))

    return get


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small robosplice sample (4 episodes), built once per session; copy before writing."""
    from robosplice.ops.sample import write_sample

    root = tmp_path_factory.mktemp("sample") / "sample"
    write_sample(root, episodes=4, seed=3, min_length=20, max_length=40)
    return root
