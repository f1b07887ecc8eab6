"""Hub datasets as SRC and OUT of the commands: read from the cache, edit, push as one commit."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hub.conftest import git
from robosplice.cli.app import app
from robosplice.cli.hub import run_with_hub_paths
from robosplice.dataset import Dataset
from robosplice.ops.validate import validate


def _blobs_intact(cache: Path) -> None:
    """Every LFS blob in the client's cache still hashes to its name: no source was written."""
    blobs = [p for p in cache.rglob("blobs/*") if len(p.name) == 64]
    assert blobs
    for blob in blobs:
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name


def test_read_only_commands_take_a_hub_dataset(hub, capsys, hub_client_setup):
    url = f"{hub.url}/datasets/org/drawers"
    assert run_with_hub_paths(app, ["info", url]) == 0
    assert "episodes     10" in capsys.readouterr().out
    assert run_with_hub_paths(app, ["validate", url]) == 0
    _blobs_intact(hub_client_setup)


def test_edit_from_the_hub_into_a_local_folder(hub, tmp_path, hub_client_setup):
    url = f"{hub.url}/datasets/org/drawers"
    out = tmp_path / "out"
    commits = git(hub, "org/drawers", "rev-list", "--count", "main")
    code = run_with_hub_paths(app, ["delete-episodes", url, str(out), "--episodes", "0"])
    assert code == 0
    assert Dataset(out).num_episodes == 9
    assert validate(out) == []
    assert git(hub, "org/drawers", "rev-list", "--count", "main") == commits
    _blobs_intact(hub_client_setup)


def test_edit_in_place_on_the_hub_is_one_commit_with_the_tag_moved(hub, tmp_path, capsys):
    url = f"{hub.url}/datasets/org/drawers"
    before = git(hub, "org/drawers", "rev-parse", "main")
    code = run_with_hub_paths(app, ["delete-episodes", url, url, "--episodes", "7,8,9"])
    assert code == 0, capsys.readouterr()
    head = git(hub, "org/drawers", "rev-parse", "main")
    assert git(hub, "org/drawers", "rev-list", "--count", f"{before}..{head}") == "1"
    assert git(hub, "org/drawers", "rev-parse", "v3.0^{commit}") == head
    card = git(hub, "org/drawers", "show", "main:README.md")
    assert "license: cc-by-4.0" in card
    assert f"org/drawers@{before[:12]}" in card
    from huggingface_hub import snapshot_download

    fresh = Path(
        snapshot_download(
            "org/drawers", repo_type="dataset", revision="v3.0", endpoint=hub.url,
            cache_dir=tmp_path / "fresh",
        )
    )  # fmt: skip
    assert Dataset(fresh).num_episodes == 7
    assert validate(fresh) == []


def test_a_hub_source_is_never_edited_in_place(hub, capsys):
    url = f"{hub.url}/datasets/org/drawers"
    refs = git(hub, "org/drawers", "show-ref")
    code = run_with_hub_paths(app, ["delete-episodes", url, "--in-place", "--episodes", "1"])
    assert code == 1
    assert "in place" in capsys.readouterr().err
    assert git(hub, "org/drawers", "show-ref") == refs
