"""Shared test wiring: fixture datasets, the source guard, progress bars off."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.testing import tree_digest
from tiers import EXPECTED_SKIPS, TESTS, TIER_ENV, TIER_MARKERS, in_a_tier_of, tier_paths

os.environ["ROBOSPLICE_NO_PROGRESS"] = "1"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a test carrying a tier marker outside that tier's folders: no tier would run it.

    (`make test` deselects every tier marker; each tier collects its own folders, `tiers.TIERS`.)
    tryfirst: before pytest's `-m` deselection hides it.
    """
    stray = [
        f"{item.nodeid} ({marker})"
        for item in items
        for marker in TIER_MARKERS
        if item.get_closest_marker(marker) and not in_a_tier_of(marker, Path(item.path))
    ]
    if stray:
        raise pytest.UsageError(
            f"tests outside their tier's folders run in no tier: {stray}; move them"
            f" ({', '.join(f'{m}: {[str(p.relative_to(TESTS)) for p in tier_paths(m)]}' for m in TIER_MARKERS)})"
        )


_TIER_PROBLEMS = pytest.StashKey[list[str]]()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under a Makefile tier (ROBOSPLICE_TIER), fail a run with unexpected skips or no pass.

    Why: a tier exists to run its tests; one that skipped them (no browser, no lerobot venv,
    ROBOSPLICE_SKIP_INTEROP=1, Ray missing) or collected none must not exit 0.
    """
    tier = os.environ.get(TIER_ENV)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not tier or reporter is None:
        return
    expected = EXPECTED_SKIPS.get(tier, {})
    skipped = [
        report for report in reporter.stats.get("skipped", []) if report.nodeid not in expected
    ]
    problems = [f"skipped {report.nodeid}: {_skip_reason(report)}" for report in skipped]
    if not reporter.stats.get("passed"):
        problems.append("no test passed")
    session.config.stash[_TIER_PROBLEMS] = problems
    if problems and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tier = os.environ.get(TIER_ENV)
    if not tier:
        return
    problems = terminalreporter.config.stash.get(_TIER_PROBLEMS, [])
    skipped = len(terminalreporter.stats.get("skipped", []))
    passed = len(terminalreporter.stats.get("passed", []))
    terminalreporter.section(f"tier {tier}: {passed} passed, {skipped} skipped")
    for problem in problems:
        terminalreporter.write_line(f"FAILS THE TIER: {problem}")
    if not problems:
        terminalreporter.write_line("no unexpected skip")


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test its own robosplice cache: pre-flight findings cached by another test (or by a
    run of a tool on this machine) never stand in for a check a test patched or planted."""
    monkeypatch.setenv("ROBOSPLICE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


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
