"""pull through olah (PyPI, MIT), a third-party server of the Hub's read API over local git repos.

Why: our own test server (server.py) could share a misunderstanding with the code it tests; olah
was written by others against the real Hub. It runs in its own venv (about 30 dependencies), built
by `make hub-olah` (marker `olah`, its own tier), which points ROBOSPLICE_OLAH at it; without it
the tier fails. Offline: olah's upstream is a dead local port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixture_data import fixtures_dir
from hub.conftest import CARD, git
from hub.server import FakeHub
from robosplice.dataset import Dataset
from robosplice.errors import HubError
from robosplice.hub import pull
from robosplice.ops.validate import validate

OLAH = Path(os.environ.get("ROBOSPLICE_OLAH", "/nonexistent")).expanduser()
pytestmark = pytest.mark.olah


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _mirror(hub: FakeHub, repo_id: str, mirrors: Path) -> None:
    """olah's layout: a non-bare clone at mirrors/datasets/ORG/NAME, LFS objects in .git/lfs."""
    target = mirrors / "datasets" / repo_id
    subprocess.run(["git", "clone", "-q", str(hub.repo_path(repo_id)), str(target)], check=True)
    for blob in (hub.repo_path(repo_id) / "lfs" / "objects").iterdir():
        folder = target / ".git" / "lfs" / "objects" / blob.name[:2] / blob.name[2:4]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(blob, folder / blob.name)


@pytest.fixture
def olah(tmp_path: Path) -> Iterator[tuple[str, FakeHub]]:
    """olah serving `org/drawers` (tag v3.0) and `org/untagged`, from repos built by FakeHub."""
    hub = FakeHub(tmp_path / "git")  # used for its repo builder only; never started
    hub.seed("org/drawers", fixtures_dir() / "v3_av1_multifile", extra={"README.md": CARD.encode()})
    hub.seed("org/untagged", fixtures_dir() / "v3_av1_single", tag=None)
    hub.httpd.server_close()  # olah serves; FakeHub only built the repos
    mirrors = tmp_path / "mirrors"
    for repo_id in ("org/drawers", "org/untagged"):
        _mirror(hub, repo_id, mirrors)
    port, dead = _free_port(), _free_port()
    config = tmp_path / "olah.toml"
    config.write_text(
        f"""[basic]
host = "127.0.0.1"
port = {port}
repos-path = "{tmp_path / "olah-repos"}"
mirrors-path = ["{mirrors}"]
hf-scheme = "http"
hf-netloc = "127.0.0.1:{dead}"
hf-lfs-netloc = "127.0.0.1:{dead}"
mirror-scheme = "http"
mirror-netloc = "127.0.0.1:{port}"
mirror-lfs-netloc = "127.0.0.1:{port}"
metadata-cache-ttl = 0
[accessibility]
offline = true
"""
    )
    log = (tmp_path / "olah.log").open("wb")
    server = subprocess.Popen([str(OLAH), "-c", str(config)], cwd=tmp_path, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/datasets/org/drawers/refs", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError((tmp_path / "olah.log").read_text()) from None
                time.sleep(0.5)
        yield url, hub
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_pull_through_olah_by_tag_sha_and_episodes(olah, tmp_path):
    url, hub = olah
    whole = pull("hf://datasets/org/drawers", tmp_path / "whole", endpoint=url)
    assert whole.sha == git(hub, "org/drawers", "rev-parse", "v3.0")
    assert validate(tmp_path / "whole") == []
    assert Dataset(tmp_path / "whole").num_episodes == 10
    part = pull(
        f"hf://datasets/org/drawers@{whole.sha}", tmp_path / "part", episodes=[9], endpoint=url
    )
    assert part.sha == whole.sha
    assert part.partial
    videos = sorted(p.name for p in (tmp_path / "part" / "videos").rglob("*.mp4"))
    assert len(videos) == 2  # one file per camera holds episode 9


def test_a_missing_tag_through_olah(olah, tmp_path):
    url, _ = olah
    with pytest.raises(HubError, match="--revision main"):
        pull("hf://datasets/org/untagged", tmp_path / "a", endpoint=url)
    pull("hf://datasets/org/untagged", tmp_path / "b", revision="main", endpoint=url)
    assert validate(tmp_path / "b") == []
