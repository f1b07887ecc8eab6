"""Pytest wiring for the v2.1 interop tier: lerobot 0.3.3 (the last release that reads v2.1).

Run with `pytest -m interop tests/interop_v21` (`make interop-v21`). Every test here is marked
`interop`, so the default run deselects it; the venv is built by scripts/interop-v21-env.sh.
The 0.6.1 harness (tests/interop) is reused: its dump script runs unchanged under 0.3.3.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent / "interop"))

ENV_SCRIPT = _HERE.parents[1] / "scripts" / "interop-v21-env.sh"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder `interop` (deselected by default)."""
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.interop)


@functools.cache
def _build() -> Path:
    proc = subprocess.run(["bash", str(ENV_SCRIPT)], capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"{ENV_SCRIPT} failed (exit {proc.returncode}).\nstderr:\n{proc.stderr[-8000:]}"
        )
    return Path(lines[-1])


@pytest.fixture(scope="session")
def lerobot_v21_python() -> Path:
    """lerobot 0.3.3's python (built once); a build failure is an error, never a skip."""
    if os.environ.get("ROBOSPLICE_SKIP_INTEROP") == "1":
        pytest.skip("ROBOSPLICE_SKIP_INTEROP=1: interop tests disabled")
    return _build()


@pytest.fixture(scope="session")
def lerobot_python() -> Path:
    """lerobot 0.6.1's python (scripts/interop-env.sh), for the v3.0 side of the comparisons."""
    if os.environ.get("ROBOSPLICE_SKIP_INTEROP") == "1":
        pytest.skip("ROBOSPLICE_SKIP_INTEROP=1: interop tests disabled")
    from harness import lerobot_python_path

    return lerobot_python_path()
