"""Wiring of the safety tests: long mode, and a summary of the kills and property steps made.

Long mode (`ROBOSPLICE_LONG=1`, or `-m slow`) runs the tests marked `slow` (hundreds of kills);
by default they are deselected here, so the default suite stays fast.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

SAFETY_COUNTS = pytest.StashKey[Counter[str]]()
_HERE = Path(__file__).resolve().parent


def long_mode(config: pytest.Config) -> bool:
    """Whether the slow tests run: ROBOSPLICE_LONG=1, or a -m expression that asks for slow."""
    expression = config.option.markexpr or ""
    asked = "slow" in expression and "not slow" not in expression
    return os.environ.get("ROBOSPLICE_LONG") == "1" or asked


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SAFETY_COUNTS] = Counter()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if long_mode(config):
        return
    slow = {
        item
        for item in items
        if item.get_closest_marker("slow") is not None
        and _HERE in Path(item.path).resolve().parents
    }
    if slow:
        config.hook.pytest_deselected(items=list(slow))
        items[:] = [item for item in items if item not in slow]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts = terminalreporter.config.stash.get(SAFETY_COUNTS, Counter())
    if not counts:
        return
    terminalreporter.section("robosplice safety tests: what the kills left, property steps")
    for key, count in sorted(counts.items()):
        terminalreporter.write_line(f"{key}: {count}")


@pytest.fixture
def kill_counts(request: pytest.FixtureRequest) -> Counter[str]:
    """Counter shared by the run (printed in the summary): what each kill left, steps run."""
    return request.config.stash[SAFETY_COUNTS]
