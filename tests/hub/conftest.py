"""Hub tests: the real huggingface_hub client against tests/hub/server.py on 127.0.0.1.

The client's cache goes to the test's tmp folder (never ~/.cache); Xet is off, as the server
does not offer it (hub.md §7).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixture_data import fixtures_dir
from hub.server import FakeHub

huggingface_hub = pytest.importorskip("huggingface_hub")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The client's own LFS upload passes `data=` to httpx, which warns; not ours to fix."""
    for item in items:
        if "tests/hub/" in str(item.path):
            item.add_marker(
                pytest.mark.filterwarnings(
                    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"
                )
            )


CARD = """---
license: cc-by-4.0
tags:
- LeRobot
- kitchen
citation: "@misc{drawer2026, title={Drawers}}"
---

# Drawer dataset

Hand-written prose about how the data was recorded.
"""


@pytest.fixture(autouse=True)
def hub_client_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache; no Xet, no progress bars, no telemetry (constants are read at import)."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    return cache


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[FakeHub]:
    """A served Hub holding `org/drawers`: the multi-file fixture, a hand-written card, LICENSE, docs, tag v3.0."""
    with FakeHub(tmp_path / "server") as server:
        server.seed(
            "org/drawers",
            fixtures_dir() / "v3_av1_multifile",
            extra={"README.md": CARD.encode(), "LICENSE": b"CC-BY-4.0\n", "docs/notes.md": b"x\n"},
        )
        yield server


def git(hub: FakeHub, repo_id: str, *args: str) -> str:
    """`git` itself on the served repository: the independent reader of what the server holds."""
    return subprocess.run(
        ["git", "--git-dir", str(hub.repo_path(repo_id)), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def video_file_episodes(root: Path) -> dict[str, set[int]]:
    """Episodes held by each video file, read with pyarrow from the episodes metadata."""
    import pyarrow.parquet as pq

    info = json.loads((root / "meta/info.json").read_text())
    keys = [k for k, f in info["features"].items() if f["dtype"] == "video"]
    held: dict[str, set[int]] = {}
    for path in sorted((root / "meta/episodes").rglob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            for key in keys:
                video = info["video_path"].format(
                    video_key=key,
                    chunk_index=row[f"videos/{key}/chunk_index"],
                    file_index=row[f"videos/{key}/file_index"],
                )
                held.setdefault(video, set()).add(row["episode_index"])
    return held
