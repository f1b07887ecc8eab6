"""The `robosplice` command routes Arrow's buffers through the system allocator (lower peak RSS,
bench/README.md), unless the user named a pool in `ARROW_DEFAULT_MEMORY_POOL`; its pool workers
inherit the choice. Run as the installed script runs: `main()` in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa

from fixture_data import fixtures_dir

SCRIPT = """
import os, sys
import pyarrow as pa
from robosplice.cli.app import main
sys.argv = ["robosplice", "info", sys.argv[1]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(pa.default_memory_pool().backend_name, os.environ.get("ARROW_DEFAULT_MEMORY_POOL"))
"""


def _backend_after_a_command(**env: str) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(fixtures_dir() / "v3_av1_single")],
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()[-2:]


def test_the_command_line_uses_the_system_allocator() -> None:
    assert _backend_after_a_command() == ["system", "system"]


def test_a_pool_the_user_names_is_kept() -> None:
    assert pa.mimalloc_memory_pool().backend_name == "mimalloc"  # the wheels' default
    assert _backend_after_a_command(ARROW_DEFAULT_MEMORY_POOL="mimalloc") == ["mimalloc"] * 2
