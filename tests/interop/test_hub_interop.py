"""lerobot 0.6.1 loads a revision robosplice pushed, from the served Hub, frame for frame.

The repo is served by tests/hub/server.py (a git-backed stand-in for the Hub's API, driven here by
the real huggingface_hub); the edit goes from the Hub to the Hub (`delete-episodes hf://… hf://…`:
a partial download, one commit, the tag moved; video files whose episodes all survive are neither
downloaded nor uploaded, but kept or copied server-side). lerobot then loads `repo_id` at the `v3.0` tag
with `HF_ENDPOINT` pointing at the server, as `lerobot-train --dataset.repo_id=…` would, and its
items must be the source's kept frames.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from harness import BACKENDS, fixtures_dir, load_from_hub
from test_ops_load import assert_items_are, whole

pytest.importorskip("huggingface_hub")

from hub.conftest import video_file_episodes
from hub.server import FakeHub
from robosplice.cli.app import app
from robosplice.cli.hub import run_with_hub_paths

# The client's own LFS upload passes `data=` to httpx, which warns; not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning"
)
SOURCE = fixtures_dir() / "v3_av1_multifile"
DELETED = (2, 7)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory):
    """A served repo of the multi-file fixture, edited in place on the Hub: (server, new sha)."""
    from huggingface_hub import constants

    tmp = tmp_path_factory.mktemp("hub")
    patch = pytest.MonkeyPatch()
    patch.setattr(constants, "HF_HUB_CACHE", str(tmp / "hf-cache"))
    patch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    patch.setenv("HF_HUB_DISABLE_XET", "1")
    patch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    patch.setenv("HF_HOME", str(tmp / "hf-home"))
    with FakeHub(tmp / "server") as hub:
        hub.seed("org/drawers", SOURCE, extra={"README.md": b"---\nlicense: mit\n---\n# x\n"})
        url = f"{hub.url}/datasets/org/drawers"
        episodes = ",".join(map(str, DELETED))
        assert run_with_hub_paths(app, ["delete-episodes", url, url, "--episodes", episodes]) == 0
        # Video files whose episodes all survive stayed on the Hub: the loader reads them there.
        untouched = {p for p, held in video_file_episodes(SOURCE).items() if not held & {*DELETED}}
        assert untouched
        assert not untouched & {path for path, _ in hub.traffic.served}
        git = ["git", "--git-dir", str(hub.repo_path("org/drawers"))]
        sha = subprocess.run([*git, "rev-parse", "v3.0^{commit}"], capture_output=True,
                             text=True, check=True).stdout.strip()  # fmt: skip
        yield hub, sha
    patch.undo()


@pytest.mark.parametrize("backend", BACKENDS)
def test_lerobot_loads_the_pushed_revision_from_the_served_hub(
    lerobot_python: Path, fixture_copy, pushed, backend: str
) -> None:
    hub, sha = pushed
    source = fixture_copy("v3_av1_multifile")  # the loader reads a copy, never the fixture
    kept = [e for e in range(10) if e not in DELETED]
    for revision in ("v3.0", sha):  # the tag lerobot resolves by default, and the commit itself
        served = len(hub.traffic.served)
        items = load_from_hub(hub.url, "org/drawers", revision, backend, python=lerobot_python)
        fetched = {path for path, _ in hub.traffic.served[served:]}
        assert any(path.endswith(".mp4") for path in fetched)  # it did load from the server
        assert int(items["meta/num_episodes"]) == len(kept)
        assert_items_are(items, whole(source, kept), backend)
