"""What a push publishes names no local path: the edit log, recipes and provenance say where a
dataset came from by Hub repo@sha or folder name, never by an absolute path (tmp dir, $HOME).

Judged on what the server holds: the file list from `git` on the served repo, the bytes from a
fresh `snapshot_download` of the pushed commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hub.conftest import git
from robosplice.cli.app import app
from robosplice.cli.hub import run_with_hub_paths
from robosplice.hub import pull, push
from robosplice.ops.apply import apply
from robosplice.ops.delete import delete_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.recipe import Step, make_recipe

REPO = "hf://datasets/org/drawers"


def _pushed_files(hub, tmp_path: Path, commit: str) -> dict[str, bytes]:
    """Every file of the pushed commit, as a fresh client downloads it (LFS resolved)."""
    from huggingface_hub import snapshot_download

    listed = git(hub, "org/drawers", "ls-tree", "-r", "--name-only", commit).splitlines()
    fresh = Path(
        snapshot_download(
            "org/drawers",
            repo_type="dataset",
            revision=commit,
            endpoint=hub.url,
            cache_dir=tmp_path / f"fresh-{commit[:8]}",
        )
    )
    files = {path: (fresh / path).read_bytes() for path in listed}
    assert "meta/robosplice/history.jsonl" in files
    return files


def _private_strings(tmp_path: Path) -> list[bytes]:
    home = os.path.expanduser("~")
    return [s.encode() for s in {str(tmp_path), str(tmp_path.resolve()), home} if len(s) > 1]


def _assert_no_local_paths(files: dict[str, bytes], tmp_path: Path) -> None:
    for path, data in files.items():
        for private in _private_strings(tmp_path):
            assert private not in data, f"{path} names {private.decode()}"


def test_a_pushed_edit_of_a_pulled_dataset_names_no_local_path(hub, tmp_path):
    pulled = tmp_path / "pulled"
    pull(REPO, pulled, endpoint=hub.url)
    edited = delete_episodes(pulled, [2], tmp_path / "edited").root
    # A recipe as the review page writes it (the source's absolute path), applied on top.
    recipe = make_recipe(
        edited, [Step(op="delete_episodes", args={"episode_indices": [0]})], path=str(edited)
    )
    applied = apply(recipe, edited, tmp_path / "applied").root
    merged = merge_datasets([applied, pulled], "org/drawers", tmp_path / "merged").root
    result = push(merged, REPO, endpoint=hub.url, force=True)
    files = _pushed_files(hub, tmp_path, result.commit)
    _assert_no_local_paths(files, tmp_path)
    log = [json.loads(line) for line in files["meta/robosplice/history.jsonl"].splitlines()]
    assert [e["operation"] for e in log] == ["delete_episodes", "apply", "merge_datasets"]
    assert [s["root"] for s in log[0]["sources"]] == ["pulled"]
    assert log[1]["arguments"]["recipe"]["source"]["path"] == "edited"
    assert log[2]["arguments"]["sources"] == ["applied", "pulled"]


def test_an_edit_from_the_hub_to_the_hub_names_the_source_by_repo_and_sha(
    hub, tmp_path, capsys, hub_client_setup
):
    before = git(hub, "org/drawers", "rev-parse", "main")
    assert str(hub_client_setup).startswith(str(tmp_path))  # the cache path is private too
    url = f"{hub.url}/datasets/org/drawers"
    code = run_with_hub_paths(app, ["delete-episodes", url, url, "--episodes", "4"])
    assert code == 0, capsys.readouterr()
    head = git(hub, "org/drawers", "rev-parse", "main")
    files = _pushed_files(hub, tmp_path, head)
    _assert_no_local_paths(files, tmp_path)
    (entry,) = [json.loads(line) for line in files["meta/robosplice/history.jsonl"].splitlines()]
    assert [s["root"] for s in entry["sources"]] == [f"hf://datasets/org/drawers@{before}"]
