"""push: one commit, only changed bytes, card and licence kept, tag at the pushed commit.

Outcomes are read back by `git` on the served repository and by a fresh `snapshot_download`,
never from what our code says it did.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.conftest import git
from robosplice.cli.app import app
from robosplice.errors import HubError, InvalidDatasetError
from robosplice.hub import pull, push
from robosplice.ops.delete import delete_episodes
from robosplice.ops.validate import validate
from robosplice.testing import tree_digest

runner = CliRunner()
REPO = "hf://datasets/org/drawers"


def _fresh_download(hub, tmp_path: Path, revision: str) -> Path:
    from huggingface_hub import snapshot_download

    return Path(
        snapshot_download(
            "org/drawers",
            repo_type="dataset",
            revision=revision,
            endpoint=hub.url,
            cache_dir=tmp_path / "fresh-cache",
        )
    )


def _dataset_digest(root: Path) -> dict[str, str]:
    digest = tree_digest(root)
    return {k: v for k, v in digest.items() if k.split("/")[0] in ("meta", "data", "videos")}


def _edit(hub, tmp_path: Path, episodes: list[int]) -> Path:
    pull(REPO, tmp_path / "pulled", endpoint=hub.url)
    delete_episodes(tmp_path / "pulled", episodes, tmp_path / "edited")
    return tmp_path / "edited"


def test_push_of_an_edit_is_one_commit_that_keeps_the_card_and_moves_the_tag(hub, tmp_path):
    edited = _edit(hub, tmp_path, [7, 8, 9])
    before = git(hub, "org/drawers", "rev-parse", "main")
    commits_before = int(git(hub, "org/drawers", "rev-list", "--count", "main"))
    result = push(edited, REPO, endpoint=hub.url)
    head = git(hub, "org/drawers", "rev-parse", "main")
    assert result.commit == head != before
    assert int(git(hub, "org/drawers", "rev-list", "--count", "main")) == commits_before + 1
    assert git(hub, "org/drawers", "rev-parse", "v3.0^{commit}") == head
    assert result.tag_moved == (before, head)
    assert git(hub, "org/drawers", "fsck", "--strict") == ""
    # A fresh download of the tag is the edited dataset, byte for byte, and it validates.
    fresh = _fresh_download(hub, tmp_path, "v3.0")
    assert _dataset_digest(fresh) == _dataset_digest(edited)
    assert validate(fresh) == []
    # Stale shards are gone; what is not the dataset's (LICENSE, docs) is untouched.
    listed = git(hub, "org/drawers", "ls-tree", "-r", "--name-only", "main").splitlines()
    assert "data/chunk-001/file-000.parquet" not in listed
    assert {"LICENSE", "docs/notes.md", ".gitattributes"} <= set(listed)
    # The card keeps its YAML (licence, tags, citation) and prose; our block is added.
    card = git(hub, "org/drawers", "show", "main:README.md")
    assert "license: cc-by-4.0" in card
    assert "citation:" in card
    assert "- kitchen" in card
    assert "Hand-written prose about how the data was recorded." in card
    assert "episodes: 7" in card
    assert "configs:" in card
    assert "apache" not in card


def test_video_files_whose_episodes_all_survive_move_no_bytes(hub, tmp_path):
    edited = _edit(hub, tmp_path, [9])
    uploaded_before = hub.traffic.uploaded
    result = push(edited, REPO, endpoint=hub.url)
    sent = hub.traffic.uploaded - uploaded_before
    plan = result.plan
    untouched = [c for c in plan.changes if c.action in ("keep", "copy")]
    assert any(c.path.startswith("videos/") for c in untouched)
    # Only added files and the card cross the wire (the server counts what it received).
    assert sent == plan.upload_bytes
    assert sent < sum(c.size_bytes for c in plan.changes) / 2
    # Pushing the same folder again sends nothing and makes no commit.
    again = push(edited, REPO, endpoint=hub.url)
    assert hub.traffic.uploaded - uploaded_before == sent
    assert again.commit == result.commit
    assert {c.action for c in again.plan.changes} == {"keep"}


def test_a_race_is_refused_by_the_server_and_nothing_changes(hub, tmp_path):
    edited = _edit(hub, tmp_path, [1])

    def someone_else_commits_first() -> None:
        hub.on_commit = None
        hub.repo("org/drawers").commit("main", [("add", "docs/other.md", b"x")], "other", None)

    # Another client's commit lands between our read of the head and our commit request.
    hub.on_commit = someone_else_commits_first
    tag = git(hub, "org/drawers", "rev-parse", "v3.0")
    with pytest.raises(HubError, match="nothing was changed"):
        push(edited, REPO, endpoint=hub.url)
    assert git(hub, "org/drawers", "log", "-1", "--format=%s", "main") == "other"
    assert git(hub, "org/drawers", "rev-parse", "v3.0") == tag
    assert hub.traffic.commits == 0
    assert "episodes: 9" not in git(hub, "org/drawers", "show", "main:README.md")


def test_a_remote_that_moved_since_the_pull_is_refused_unless_forced(hub, tmp_path):
    pull(REPO, tmp_path / "pulled", endpoint=hub.url)
    (tmp_path / "pulled/meta/tasks.parquet").touch()  # mtime changes: rehashed, same bytes
    hub.repo("org/drawers").commit("main", [("add", "docs/other.md", b"x")], "other", None)
    with pytest.raises(HubError, match="moved since"):
        push(tmp_path / "pulled", REPO, endpoint=hub.url)
    result = push(tmp_path / "pulled", REPO, endpoint=hub.url, force=True)
    assert {c.action for c in result.plan.changes} == {"keep"}


def test_dry_run_prints_the_plan_and_changes_nothing(hub, tmp_path):
    edited = _edit(hub, tmp_path, [7, 8, 9])
    refs = git(hub, "org/drawers", "show-ref")
    result = runner.invoke(app, ["push", str(edited), REPO, "--dry-run", "--endpoint", hub.url])
    assert result.exit_code == 0, result.output
    assert git(hub, "org/drawers", "show-ref") == refs
    assert hub.traffic.commits == 0
    out = result.output
    for action in ("add", "copy", "delete", "keep"):
        assert f"  {action:<6}" in out
    assert "delete data/chunk-001/file-000.parquet" in out
    assert "+- episodes: 7" in out  # the card diff
    assert "tag v3.0:" in out
    assert "dry run: nothing was sent" in out


def test_partial_pulls_and_invalid_datasets_are_refused(hub, tmp_path):
    pull(REPO, tmp_path / "part", episodes=[0], endpoint=hub.url)
    with pytest.raises(HubError, match="partial pull"):
        push(tmp_path / "part", REPO, endpoint=hub.url)
    pull(REPO, tmp_path / "whole", endpoint=hub.url)
    (tmp_path / "whole/data/chunk-000/file-000.parquet").write_bytes(b"not parquet")
    with pytest.raises(InvalidDatasetError, match="refusing to push"):
        push(tmp_path / "whole", REPO, endpoint=hub.url)
    assert hub.traffic.commits == 0


def test_push_to_a_new_repo_creates_a_card_without_a_licence(hub, tmp_path):
    edited = _edit(hub, tmp_path, [0])
    result = push(edited, "hf://datasets/org/fresh", endpoint=hub.url)
    assert git(hub, "org/fresh", "rev-parse", "v3.0^{commit}") == result.commit
    card = git(hub, "org/fresh", "show", "main:README.md")
    assert "license" not in card
    assert "# org/fresh" in card
    licensed = push(edited, "hf://datasets/org/fresh", endpoint=hub.url, license="mit")
    assert "license: mit" in git(hub, "org/fresh", "show", "main:README.md")
    assert [c.action for c in licensed.plan.changes if c.action != "keep"] == []


def test_push_as_a_pull_request_leaves_the_branch_and_tag_alone(hub, tmp_path):
    edited = _edit(hub, tmp_path, [7, 8, 9])
    main, tag = (
        git(hub, "org/drawers", "rev-parse", "main"),
        git(hub, "org/drawers", "rev-parse", "v3.0"),
    )
    result = runner.invoke(
        app, ["push", str(edited), REPO, "--pr", "--endpoint", hub.url, "--message", "drop 7-9"]
    )
    assert result.exit_code == 0, result.output
    # git on the server: a new refs/pr/1 one commit above main; main and the tag unchanged.
    pr_head = git(hub, "org/drawers", "rev-parse", "refs/pr/1")
    assert git(hub, "org/drawers", "rev-parse", "main") == main
    assert git(hub, "org/drawers", "rev-parse", "v3.0") == tag
    assert git(hub, "org/drawers", "rev-parse", "refs/pr/1^") == main
    assert git(hub, "org/drawers", "log", "-1", "--format=%s", "refs/pr/1") == "drop 7-9"
    assert f"opened pull request refs/pr/1 on org/drawers: commit {pr_head}" in result.output
    assert "tag v3.0" not in result.output
    assert "open a pull request on org/drawers (from main" in result.output
    # A fresh download of the PR revision is the edited dataset; the card keeps its licence.
    fresh = _fresh_download(hub, tmp_path, "refs/pr/1")
    assert _dataset_digest(fresh) == _dataset_digest(edited)
    assert validate(fresh) == []
    assert "license: cc-by-4.0" in (fresh / "README.md").read_text()
    # A second PR opens refs/pr/2 from main again; the folder is not recorded as pushed, so a
    # push to main afterwards is not refused as "moved since".
    again = push(edited, REPO, endpoint=hub.url, create_pr=True)
    assert again.pull_request == "refs/pr/2"
    assert git(hub, "org/drawers", "rev-parse", "refs/pr/2^") == main
    merged = push(edited, REPO, endpoint=hub.url)
    assert git(hub, "org/drawers", "rev-parse", "main") == merged.commit != main
    assert git(hub, "org/drawers", "rev-parse", "v3.0^{commit}") == merged.commit
