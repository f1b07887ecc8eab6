"""pull: the real huggingface_hub client against a served git repo; judged by git and the files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixture_data import fixtures_dir
from hub.conftest import git
from robosplice.dataset import Dataset
from robosplice.errors import HubError, OutputExistsError, SelectionError
from robosplice.hub import HubRef, is_hub_uri, parse_hf_uri, pull
from robosplice.hub.provenance import read_provenance
from robosplice.ops.validate import validate
from robosplice.testing import tree_digest

SOURCE = fixtures_dir() / "v3_av1_multifile"


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".cache" not in p.relative_to(root).parts
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hf://datasets/org/name", HubRef("org/name")),
        ("hf://datasets/org/name@v3.0", HubRef("org/name", "v3.0")),
        ("hf://datasets/org/name@refs/pr/3", HubRef("org/name", "refs/pr/3")),
        (
            "https://huggingface.co/datasets/org/name",
            HubRef("org/name", None, "https://huggingface.co"),
        ),
        (
            "https://huggingface.co/datasets/org/name/tree/main",
            HubRef("org/name", "main", "https://huggingface.co"),
        ),
        (
            "http://127.0.0.1:8080/datasets/org/name/tree/refs%2Fpr%2F1",
            HubRef("org/name", "refs/pr/1", "http://127.0.0.1:8080"),
        ),
    ],
)
def test_parse_hf_uri(text, expected):
    assert parse_hf_uri(text) == expected


@pytest.mark.parametrize(
    "text", ["org/name", "./org/name", "hf://org/name", "hf://datasets/org", "hf://datasets/../x"]
)
def test_parse_hf_uri_refuses_what_is_not_a_dataset_repo(text):
    with pytest.raises(HubError):
        parse_hf_uri(text)


def test_only_hub_forms_are_hub_references():
    assert is_hub_uri("hf://datasets/org/name")
    assert is_hub_uri("https://huggingface.co/datasets/org/name")
    for local in ("org/name", "./hf:", "data/hf://x", "https://example.com/rewards.npy", None):
        assert not is_hub_uri(local)


def test_pull_defaults_to_the_v3_tag_and_copies_plain_files(hub, tmp_path, hub_client_setup):
    result = pull("hf://datasets/org/drawers", tmp_path / "copy", endpoint=hub.url)
    assert result.sha == git(hub, "org/drawers", "rev-parse", "v3.0")
    assert not result.partial
    pulled = _files(tmp_path / "copy")
    source = _files(SOURCE)
    assert {k: v for k, v in pulled.items() if k in source} == source
    assert set(pulled) - set(source) == {"README.md", "LICENSE", "docs/notes.md", ".gitattributes"}
    assert not [p for p in (tmp_path / "copy").rglob("*") if p.is_symlink()]
    assert validate(tmp_path / "copy") == []
    provenance = read_provenance(tmp_path / "copy")
    assert provenance is not None
    assert (provenance.sha, provenance.revision, provenance.endpoint) == (
        result.sha,
        "v3.0",
        hub.url,
    )
    # The cache stays the client's: an edit of the copy cannot reach a shared blob.
    (tmp_path / "copy/meta/info.json").write_text("{}")
    assert (hub_client_setup / "datasets--org--drawers").is_dir()
    with pytest.raises(OutputExistsError):
        pull("hf://datasets/org/drawers", tmp_path / "copy", endpoint=hub.url)


def test_stale_tag_warns_with_both_shas_and_a_sha_pulls_exactly_that(hub, tmp_path):
    tagged = git(hub, "org/drawers", "rev-parse", "v3.0")
    repo = hub.repo("org/drawers")
    head = repo.commit("main", [("add", "docs/more.md", b"later\n")], "later commit", None)
    result = pull("hf://datasets/org/drawers", tmp_path / "tag", endpoint=hub.url)
    assert result.sha == tagged
    (warning,) = result.warnings
    assert tagged[:12] in warning
    assert head[:12] in warning
    assert "--revision main" in warning
    by_branch = pull(f"hf://datasets/org/drawers@{head}", tmp_path / "sha", endpoint=hub.url)
    assert by_branch.sha == head
    assert (tmp_path / "sha/docs/more.md").read_text() == "later\n"
    assert not (tmp_path / "tag/docs/more.md").exists()


def test_a_repo_without_the_tag_is_an_error_naming_revision_main(hub, tmp_path):
    hub.seed("org/untagged", SOURCE, tag=None)
    with pytest.raises(HubError, match="--revision main"):
        pull("hf://datasets/org/untagged", tmp_path / "a", endpoint=hub.url)
    assert not (tmp_path / "a").exists()
    result = pull("hf://datasets/org/untagged", tmp_path / "b", revision="main", endpoint=hub.url)
    assert result.sha == git(hub, "org/untagged", "rev-parse", "main")
    with pytest.raises(HubError, match="no branch or tag"):
        pull("hf://datasets/org/drawers@nope", tmp_path / "c", endpoint=hub.url)
    with pytest.raises(HubError, match="no dataset repo"):
        pull("hf://datasets/org/missing", tmp_path / "d", endpoint=hub.url)


def test_episode_subset_downloads_only_the_files_those_episodes_need(hub, tmp_path):
    source = Dataset(SOURCE)
    record = source.episodes[9]
    needed = {source.data_path(record.data_position).relative_to(source.root).as_posix()} | {
        source.video_path(key, window.position).relative_to(source.root).as_posix()
        for key, window in record.videos.items()
    }
    before = hub.traffic.downloaded
    result = pull("hf://datasets/org/drawers", tmp_path / "part", episodes=[9], endpoint=hub.url)
    moved = hub.traffic.downloaded - before
    files = set(_files(tmp_path / "part"))
    assert result.partial
    assert {f for f in files if not f.startswith("meta/")} - {
        "README.md",
        ".gitattributes",
    } == needed
    expected = sum((SOURCE / f).stat().st_size for f in needed) + sum(
        p.stat().st_size for p in (SOURCE / "meta").rglob("*") if p.is_file()
    )
    assert moved == expected + len(b"") + sum(
        len(v) for k, v in _files(tmp_path / "part").items() if k in ("README.md", ".gitattributes")
    )
    assert moved < sum(p.stat().st_size for p in SOURCE.rglob("*") if p.is_file())
    assert read_provenance(tmp_path / "part").episodes == [9]
    with pytest.raises(SelectionError):
        pull("hf://datasets/org/drawers", tmp_path / "bad", episodes=[99], endpoint=hub.url)


def test_meta_only(hub, tmp_path):
    pull("hf://datasets/org/drawers", tmp_path / "meta", meta_only=True, endpoint=hub.url)
    assert {f.split("/")[0] for f in _files(tmp_path / "meta")} == {
        "meta",
        "README.md",
        ".gitattributes",
    }


def test_a_pulled_revision_keeps_working_offline(hub, tmp_path, hub_client_setup):
    pull("hf://datasets/org/drawers", tmp_path / "online", episodes=[0], endpoint=hub.url)
    url = hub.url
    hub.__exit__(None, None, None)  # the server is gone: nothing can be fetched
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub_client_setup)}
    command = [str(Path(sys.executable).parent / "robosplice"), "pull", "hf://datasets/org/drawers"]
    again = subprocess.run(
        [*command, "--episodes", "0", "--out", str(tmp_path / "offline"), "--endpoint", url],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert tree_digest(tmp_path / "offline" / "videos") == tree_digest(
        tmp_path / "online" / "videos"
    )
    missing = subprocess.run(
        [*command, "--episodes", "9", "--out", str(tmp_path / "more"), "--endpoint", url],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert missing.returncode == 1
    assert "offline" in missing.stderr
    assert not (tmp_path / "more").exists()
