"""An in-place Hub edit moves only the changed files' bytes: video files whose episodes all
survive are neither downloaded nor uploaded, and stay in the repo (same blob, or copied
server-side when renumbered). Judged by the server's byte counters, `git` on the served repo,
and a fresh `snapshot_download` decoded with PyAV."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fixture_data import fixtures_dir
from hub.conftest import git, video_file_episodes
from robosplice.cli.app import app
from robosplice.cli.hub import run_with_hub_paths
from robosplice.dataset import Dataset
from robosplice.errors import InvalidDatasetError
from robosplice.hub import push
from robosplice.ops.validate import validate
from robosplice.testing.frames import decode_episode_frames

SOURCE = fixtures_dir() / "v3_av1_multifile"
CAMERAS = ("observation.images.front", "observation.images.wrist")  # the fixture's


def _blobs(hub, ref: str) -> dict[str, str]:
    """path → git blob oid of every file at `ref` (an LFS pointer names its content)."""
    listing = git(hub, "org/drawers", "ls-tree", "-r", ref)
    return {line.split("\t")[1]: line.split()[2] for line in listing.splitlines()}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_in_place_edit_moves_only_the_changed_files(hub, tmp_path, capsys):
    deleted = {3, 4, 5}
    held = video_file_episodes(SOURCE)
    untouched = {path for path, episodes in held.items() if not episodes & deleted}
    edited = {path for path, episodes in held.items() if episodes & deleted and episodes - deleted}
    assert len(untouched) >= 4  # the fixture spreads episodes over many files
    assert edited
    before = git(hub, "org/drawers", "rev-parse", "main")
    blobs_before = _blobs(hub, before)
    url = f"{hub.url}/datasets/org/drawers"

    code = run_with_hub_paths(app, ["delete-episodes", url, url, "--episodes", "3-5"])
    assert code == 0, capsys.readouterr()

    # Downloaded: metadata, data, the card, and only the video files holding edited episodes.
    served = {path for path, _ in hub.traffic.served}
    assert {p for p in served if p.startswith("videos/")} == edited
    data_and_meta = sum(
        p.stat().st_size for p in SOURCE.rglob("*") if p.is_file() and "videos" not in p.parts
    )
    edited_bytes = sum((SOURCE / p).stat().st_size for p in edited)
    assert hub.traffic.downloaded <= data_and_meta + edited_bytes + 4096  # + card, .gitattributes
    # Uploaded: no byte of an untouched video file.
    untouched_ids = {_sha256(SOURCE / p) for p in untouched}
    assert not untouched_ids & {oid for oid, _ in hub.traffic.received}
    # One commit, the tag at it; every untouched file still in the repo, same blob.
    head = git(hub, "org/drawers", "rev-parse", "main")
    assert git(hub, "org/drawers", "rev-list", "--count", f"{before}..{head}") == "1"
    assert git(hub, "org/drawers", "rev-parse", "v3.0^{commit}") == head
    blobs_after = _blobs(hub, head)
    by_blob = {oid: path for path, oid in blobs_after.items()}
    for path in untouched:
        assert blobs_before[path] in by_blob, f"{path} lost"
    moved = {p: by_blob[blobs_before[p]] for p in untouched if by_blob[blobs_before[p]] != p}
    assert moved  # renumbered after the dropped files: copied server-side, not uploaded
    kept_in_place = untouched - set(moved)
    assert all(blobs_after[p] == blobs_before[p] for p in kept_in_place)

    # A fresh download of the tag validates and holds the kept episodes' frames.
    from huggingface_hub import snapshot_download

    fresh = Path(
        snapshot_download(
            "org/drawers", repo_type="dataset", revision="v3.0", endpoint=hub.url,
            cache_dir=tmp_path / "fresh",
        )
    )  # fmt: skip
    assert validate(fresh) == []
    output, source = Dataset(fresh), Dataset(SOURCE)
    kept = [e for e in range(source.num_episodes) if e not in deleted]
    assert output.num_episodes == len(kept)
    for new, old in enumerate(kept):
        for key in CAMERAS:
            expected = decode_episode_frames(source, key, old)
            assert len(expected) == source.episodes[old].length
            np.testing.assert_array_equal(decode_episode_frames(output, key, new), expected)


def test_an_output_in_another_repo_gets_the_bytes(hub, tmp_path, capsys):
    """A server-side copy cannot cross repos: the kept files are downloaded and uploaded."""
    url = f"{hub.url}/datasets/org/drawers"
    other = f"{hub.url}/datasets/org/copy"
    code = run_with_hub_paths(app, ["delete-episodes", url, other, "--episodes", "3-5"])
    assert code == 0, capsys.readouterr()
    from huggingface_hub import snapshot_download

    fresh = Path(
        snapshot_download(
            "org/copy", repo_type="dataset", endpoint=hub.url, cache_dir=tmp_path / "fresh"
        )
    )
    assert validate(fresh) == []
    assert Dataset(fresh).num_episodes == 7
    assert not list(fresh.rglob(".robosplice"))


def _pushable_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(SOURCE, folder)
    return folder


def _record(folder: Path, relative: str, sha256: str, size: int) -> None:
    record = folder / ".robosplice/remote" / f"{relative}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"path": relative, "sha256": sha256, "size": size}))


def test_push_accepts_a_listed_remote_only_file_and_refuses_any_other_missing(hub, tmp_path):
    folder = _pushable_copy(tmp_path)
    relative = "videos/observation.images.front/chunk-000/file-000.mp4"
    original = folder / relative
    sha256, size = _sha256(original), original.stat().st_size
    original.unlink()
    other = folder / "videos/observation.images.wrist/chunk-000/file-000.mp4"
    other.unlink()
    _record(folder, relative, sha256, size)
    head = git(hub, "org/drawers", "rev-parse", "main")
    with pytest.raises(InvalidDatasetError) as refused:
        push(folder, "hf://datasets/org/drawers", endpoint=hub.url, dry_run=True)
    assert [p.file for p in refused.value.problems] == [other.relative_to(folder).as_posix()]
    shutil.copyfile(SOURCE / other.relative_to(folder), other)
    result = push(folder, "hf://datasets/org/drawers", endpoint=hub.url)
    change = next(c for c in result.plan.changes if c.path == relative)
    assert (change.action, change.size_bytes) == ("keep", size)
    assert git(hub, "org/drawers", "rev-parse", f"{result.commit}:{relative}") == git(
        hub, "org/drawers", "rev-parse", f"{head}:{relative}"
    )
    assert not {oid for oid, _ in hub.traffic.received} & {sha256}


def test_push_refuses_a_remote_only_file_the_remote_lacks(hub, tmp_path):
    from robosplice.errors import HubError

    folder = _pushable_copy(tmp_path)
    relative = "videos/observation.images.front/chunk-000/file-000.mp4"
    size = (folder / relative).stat().st_size
    (folder / relative).unlink()
    _record(folder, relative, "0" * 64, size)
    refs = git(hub, "org/drawers", "show-ref")
    with pytest.raises(HubError, match="no longer has its bytes"):
        push(folder, "hf://datasets/org/drawers", endpoint=hub.url)
    assert git(hub, "org/drawers", "show-ref") == refs


def test_a_dry_run_of_an_in_place_edit_reads_no_video_and_pushes_nothing(hub, capsys):
    url = f"{hub.url}/datasets/org/drawers"
    refs = git(hub, "org/drawers", "show-ref")
    code = run_with_hub_paths(app, ["delete-episodes", url, url, "--episodes", "3-5", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0:6→3" in out  # the plan: source episode 6 becomes output episode 3
    assert "dry run: nothing was pushed to org/drawers" in out
    assert git(hub, "org/drawers", "show-ref") == refs
    assert not [path for path, _ in hub.traffic.served if path.startswith("videos/")]
    assert hub.traffic.uploaded == 0
