"""Hub datasets as SRC and OUT of the commands: read from the cache, edit, push as one commit."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fixture_data import fixtures_dir
from hub.conftest import git
from robosplice.cli.app import app
from robosplice.cli.hub import run_with_hub_paths
from robosplice.dataset import Dataset
from robosplice.ops.delete import delete_episodes
from robosplice.ops.validate import validate
from robosplice.testing import tree_digest

SOURCE = fixtures_dir() / "v3_av1_multifile"


def _dataset_digest(root: Path) -> dict[str, str]:
    """Digests of the dataset's files, but the edit log (its time and id differ per run)."""
    return {
        path: digest
        for path, digest in tree_digest(root).items()
        if path.split("/")[0] in ("meta", "data", "videos") and "robosplice" not in path
    }


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


def _video_files(root: Path, deleted: set[int]) -> tuple[set[str], set[str], set[str]]:
    """(data files, video files holding a kept episode, video files holding only deleted
    ones), read with pyarrow from the episodes metadata."""
    import pyarrow.parquet as pq

    info = json.loads((root / "meta/info.json").read_text())
    rows = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    data: set[str] = set()
    videos: dict[str, set[int]] = {}
    for row in rows:
        position = {"chunk_index": row["data/chunk_index"], "file_index": row["data/file_index"]}
        data.add(info["data_path"].format(**position))
        for key in ("observation.images.front", "observation.images.wrist"):
            video = info["video_path"].format(
                video_key=key,
                chunk_index=row[f"videos/{key}/chunk_index"],
                file_index=row[f"videos/{key}/file_index"],
            )
            videos.setdefault(video, set()).add(row["episode_index"])
    kept = {path for path, episodes in videos.items() if episodes - deleted}
    return data, kept, set(videos) - kept


def test_an_edit_from_the_hub_downloads_only_the_videos_of_kept_episodes(hub, tmp_path, capsys):
    url = f"{hub.url}/datasets/org/drawers"
    deleted = {7, 8, 9}
    data, kept, dropped = _video_files(SOURCE, deleted)
    assert dropped  # the fixture has video files holding only episodes 7-9
    out = tmp_path / "out"
    code = run_with_hub_paths(app, ["delete-episodes", url, str(out), "--episodes", "7-9"])
    assert code == 0, capsys.readouterr()
    served = [path for path, _ in hub.traffic.served]
    assert len(served) == len(set(served))  # nothing downloaded twice
    assert not set(served) & dropped
    assert {p for p in served if not p.startswith("meta/")} == data | kept | {
        "README.md",
        ".gitattributes",
    }
    # The output is the edit: the kept episodes, validated, the same files as a local edit's.
    assert Dataset(out).num_episodes == 7
    assert validate(out) == []
    expected = delete_episodes(SOURCE, sorted(deleted), tmp_path / "local")
    assert _dataset_digest(out) == _dataset_digest(expected.root)
