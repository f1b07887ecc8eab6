"""Pytest wiring for the interop tier (run with `pytest -m interop tests/interop`).

Why: these tests need the official lerobot in its own venv, which is slow to build the first time; they
are deselected by default (`-m "not interop"` in pyproject.toml) and opted into explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import copy_dataset, fixtures_dir, lerobot_python_path

_HERE = Path(__file__).resolve().parent
_ROOT_CONFTEST = _HERE.parent / "conftest.py"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder `interop`, so none can slip into the default (fast) run.

    tryfirst: the marker must be set before pytest's own `-m` deselection runs.
    """
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def lerobot_python() -> Path:
    """The interop venv's python, built by scripts/interop-env.sh on first use.

    Skipped only on an explicit ROBOSPLICE_SKIP_INTEROP=1; otherwise a build failure is a test error,
    so a broken environment can never pass as "skipped".
    """
    if os.environ.get("ROBOSPLICE_SKIP_INTEROP") == "1":
        pytest.skip("ROBOSPLICE_SKIP_INTEROP=1: interop tests (official lerobot loader) disabled")
    return lerobot_python_path()


@pytest.fixture(scope="session")
def fixture_copy(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Return name -> a writable session-wide copy of that shared fixture (never touch /work/shared).

    Session-wide so the loader dumps of each source are cached across tests; tests that modify a
    dataset must copy it again into their own tmp_path (harness.copy_dataset).
    """
    base = tmp_path_factory.mktemp("fixtures")
    copies: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in copies:
            src = fixtures_dir() / name
            if not (src / "meta" / "info.json").is_file():
                raise FileNotFoundError(
                    f"fixture dataset {src} not found (the repository's tests/fixtures/datasets)"
                )
            copies[name] = copy_dataset(src, base / name)
        return copies[name]

    return get
