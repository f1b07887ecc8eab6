"""`pull`: a working copy of a Hub dataset revision, with only the files the episodes need.

The revision is resolved once, to a commit sha; every later download names that sha. Files land
in huggingface_hub's revision-safe cache first (so a second pull, or an offline one, reuses them),
then are copied out (reflinked where the filesystem can) into a folder of plain files: never
symlinks into the shared cache (an edit through one would corrupt the cache), never `local_dir`
mode (which re-downloads over a user's edits).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from robosplice.commit import staged_output
from robosplice.dataset import Dataset
from robosplice.engine.units import RemoteFile
from robosplice.errors import HubError, OutputExistsError, SelectionError
from robosplice.format.copying import copy_whole_file
from robosplice.hub._client import default_endpoint, hub_module, is_offline
from robosplice.hub.provenance import Provenance, PulledFile, write_provenance
from robosplice.hub.uri import DEFAULT_TAG, HubRef, parse_hf_uri
from robosplice.ops._lazy import files_of_episodes

logger = logging.getLogger(__name__)

META_PATTERNS: Final = ("meta/*", "README.md", ".gitattributes")
"""What every pull fetches: the metadata (fnmatch `*` crosses `/`) and the card."""

_SHA: Final = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class PullResult:
    """What a pull did: where the copy is, which commit, how much."""

    root: Path
    repo_id: str
    revision: str
    sha: str
    partial: bool
    files: int
    size_bytes: int
    warnings: list[str] = field(default_factory=list)


def pull(
    repo: HubRef | str,
    out: str | os.PathLike[str],
    *,
    revision: str | None = None,
    episodes: Sequence[int] | None = None,
    meta_only: bool = False,
    endpoint: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    token: str | bool | None = None,
) -> PullResult:
    """Download `repo` at one revision into the new folder `out`, as plain files.

    Args:
        repo: `hf://datasets/ORG/NAME[@REV]`, a Hub URL, or a HubRef.
        revision: a branch, tag or sha; default the ref's, else the `v3.0` tag (as lerobot).
        episodes: only the data and video files holding these episodes (a partial pull).
        meta_only: only meta/ and the card.
        endpoint: the Hub's URL (default: the ref's, else HF_ENDPOINT or the public Hub).

    Raises:
        HubError: no such repo or revision, no `v3.0` tag, or a download that came back short.
        OutputExistsError: `out` exists.
    """
    ref = parse_hf_uri(repo) if isinstance(repo, str) else repo
    endpoint = endpoint or ref.endpoint or default_endpoint()
    target = Path(out).expanduser().resolve()
    if target.exists():
        raise OutputExistsError(f"{target} exists; pull into a new folder")
    fetched = fetch(
        ref,
        revision=revision,
        episodes=episodes,
        meta_only=meta_only,
        endpoint=endpoint,
        cache_dir=cache_dir,
        token=token,
    )
    snapshot, sha, name, needed = fetched.snapshot, fetched.sha, fetched.revision, fetched.needed
    partial, refs, warnings = fetched.partial, fetched.refs, fetched.warnings
    files = _snapshot_files(snapshot, None if not partial else [*needed])
    size = 0
    pulled: dict[str, PulledFile] = {}
    with staged_output(target, replace=False) as staging:
        for relative in files:
            source_path = snapshot / relative
            destination = staging / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            copy_whole_file(source_path, destination)  # follows the cache symlink: plain bytes
            stat = destination.stat()
            size += stat.st_size
            pulled[relative] = PulledFile(
                size=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
                remote_ids=[Path(os.path.realpath(source_path)).name],  # blobs/<sha256 | oid>
            )
        write_provenance(
            staging,
            Provenance(
                repo_id=ref.repo_id,
                endpoint=endpoint,
                revision=name,
                sha=sha,
                partial=partial,
                episodes=sorted(set(episodes)) if episodes is not None else None,
                refs=refs,
                files=pulled,
                source=f"{ref.repo_id}@{sha[:12]}",
            ),
        )
    return PullResult(
        root=target,
        repo_id=ref.repo_id,
        revision=name,
        sha=sha,
        partial=partial,
        files=len(files),
        size_bytes=size,
        warnings=warnings,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetched:
    """A revision in huggingface_hub's cache: the snapshot folder (read-only: its files are
    links into the shared blobs), the sha, and the files the selection needs."""

    snapshot: Path
    sha: str
    revision: str
    partial: bool
    needed: list[str]
    refs: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def fetch(
    repo: HubRef | str,
    *,
    revision: str | None = None,
    episodes: Sequence[int] | None = None,
    meta_only: bool = False,
    videos: bool = True,
    endpoint: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    token: str | bool | None = None,
) -> Fetched:
    """Resolve the revision once and download what the selection needs into the cache.

    Readers may open `snapshot` directly (robosplice never writes a source; the untrusted-path
    check follows its links only into this cache entry); `pull` copies it out. `videos=False`:
    metadata and data files only (an edit fetches the videos it reads later, `fetch_files`).
    """
    hub = hub_module()
    ref = parse_hf_uri(repo) if isinstance(repo, str) else repo
    endpoint = endpoint or ref.endpoint or default_endpoint()
    requested = revision or ref.revision
    warnings: list[str] = []
    refs: dict[str, str] = {}
    if not is_offline():
        refs = _check_revision(hub, ref.repo_id, requested, endpoint, token, warnings)
    name = requested or DEFAULT_TAG

    def download(revision: str, patterns: list[str] | None) -> Path:
        return _download(hub, ref, revision, patterns, endpoint, cache_dir, token)

    snapshot = download(name, list(META_PATTERNS))
    sha = snapshot.name  # the cache names a snapshot by its commit: the revision, resolved once
    if name in refs and refs[name] != sha:
        raise HubError(
            f"{ref.repo_id}: {name} moved during the pull ({refs[name][:12]} → {sha[:12]}); pull again"
        )
    source = Dataset(snapshot, repo_id=ref.repo_id)
    needed = _needed_files(source, episodes, meta_only, videos=videos)
    partial = meta_only or episodes is not None or not videos
    if not meta_only:
        snapshot = download(sha, [*META_PATTERNS, *needed] if partial else None)
    _check_arrived(snapshot, needed, ref, sha)
    return Fetched(
        snapshot=snapshot,
        sha=sha,
        revision=name,
        partial=partial,
        needed=needed,
        refs=refs,
        warnings=warnings,
    )


def fetch_files(
    repo: HubRef,
    sha: str,
    paths: Sequence[str],
    *,
    endpoint: str,
    cache_dir: str | os.PathLike[str] | None = None,
    token: str | bool | None = None,
) -> Path:
    """Download `paths` of commit `sha` into its cache snapshot (the one `fetch` returned) and
    check that every one arrived (the client returns partial snapshots silently)."""
    snapshot = _download(
        hub_module(), repo, sha, [*META_PATTERNS, *paths], endpoint, cache_dir, token
    )
    _check_arrived(snapshot, paths, repo, sha)
    return snapshot


def list_lfs_files(
    repo: HubRef,
    sha: str,
    paths: Sequence[str],
    *,
    endpoint: str,
    token: str | bool | None = None,
) -> dict[str, RemoteFile]:
    """The LFS files among `paths` at commit `sha`, with their size and sha256 (paths-info: no
    file body is read). An in-place edit leaves these on the Hub when it keeps them whole."""
    api = hub_module().HfApi(endpoint=endpoint, token=token)
    found: dict[str, RemoteFile] = {}
    for start in range(0, len(paths), _PATHS_PER_REQUEST):
        batch = list(paths[start : start + _PATHS_PER_REQUEST])
        try:
            entries = api.get_paths_info(repo.repo_id, batch, revision=sha, repo_type="dataset")
        except Exception as exc:
            raise _translate(exc, repo.repo_id, sha) from exc
        for entry in entries:
            lfs = getattr(entry, "lfs", None)
            if lfs is not None:
                found[entry.path] = RemoteFile(path=entry.path, sha256=lfs.sha256, size=lfs.size)
    return found


_PATHS_PER_REQUEST: Final = 500


def _check_arrived(snapshot: Path, paths: Sequence[str], ref: HubRef, sha: str) -> None:
    missing = [path for path in paths if not (snapshot / path).is_file()]
    if missing:
        raise HubError(
            f"{ref.repo_id}@{sha[:12]}: the download came back without {len(missing)} file(s)"
            f" the metadata names ({', '.join(missing[:5])}); the repo is incomplete or the"
            " cache is partial (offline?)"
        )


def _download(
    hub: Any,
    ref: HubRef,
    revision: str,
    patterns: list[str] | None,
    endpoint: str,
    cache_dir: str | os.PathLike[str] | None,
    token: str | bool | None,
) -> Path:
    """huggingface_hub's `snapshot_download` into its cache (offline: from the cache only)."""
    try:
        folder = hub.snapshot_download(
            ref.repo_id,
            repo_type="dataset",
            revision=revision,
            allow_patterns=patterns,
            cache_dir=cache_dir,
            endpoint=endpoint,
            token=token,
            local_files_only=is_offline(),
        )
    except Exception as exc:
        raise _translate(exc, ref.repo_id, revision) from exc
    return Path(folder)


def _check_revision(
    hub: Any,
    repo_id: str,
    requested: str | None,
    endpoint: str,
    token: str | bool | None,
    warnings: list[str],
) -> dict[str, str]:
    """Refs of the repo (name → sha); refuse a missing default tag; warn on a stale one."""
    api = hub.HfApi(endpoint=endpoint, token=token)
    try:
        listing = api.list_repo_refs(repo_id, repo_type="dataset")
    except Exception as exc:
        raise _translate(exc, repo_id, requested or DEFAULT_TAG) from exc
    tags = {tag.name: tag.target_commit for tag in listing.tags}
    branches = {branch.name: branch.target_commit for branch in listing.branches}
    name = requested or DEFAULT_TAG
    if requested is None and DEFAULT_TAG not in tags:
        raise HubError(
            f"{repo_id} has no {DEFAULT_TAG} tag (lerobot loads that tag by default; uploads made"
            f" with `hf upload` lack it); pull a branch with --revision main, or tag the repo"
        )
    if name not in tags and name not in branches and not _SHA.match(name):
        raise HubError(f"{repo_id} has no branch or tag {name!r}")
    head = branches.get("main")
    if name in tags and head is not None and tags[name] != head:
        message = (
            f"{repo_id}: tag {name} is at {tags[name][:12]} but main is at {head[:12]}; pulling"
            f" the tag (pass --revision main for the branch head)"
        )
        logger.warning(message)
        warnings.append(message)
    return {**branches, **tags}


def _needed_files(
    source: Dataset, episodes: Sequence[int] | None, meta_only: bool, *, videos: bool = True
) -> list[str]:
    """Relative paths of the data (and video) files holding `episodes` (all when None)."""
    if meta_only:
        return []
    records = source.episodes
    positions = range(len(records))
    if episodes is not None:
        known = {record.episode_index: number for number, record in enumerate(records)}
        unknown = sorted(set(episodes) - set(known))
        if unknown:
            raise SelectionError(
                f"{source.repo_id} has episodes 0–{len(records) - 1}; no episode {unknown}"
            )
        positions = [known[index] for index in sorted(set(episodes))]
    return files_of_episodes(source, positions, videos=videos)


def _snapshot_files(snapshot: Path, needed: list[str] | None) -> list[str]:
    """Files of the snapshot to copy: every one, or the metadata plus `needed`."""
    found = sorted(
        path.relative_to(snapshot).as_posix() for path in snapshot.rglob("*") if path.is_file()
    )
    if needed is None:
        return found
    keep = set(needed)
    return [
        path
        for path in found
        if path in keep or path.startswith("meta/") or path in ("README.md", ".gitattributes")
    ]


def _translate(exc: Exception, repo_id: str, revision: str) -> Exception:
    """huggingface_hub's errors as robosplice's, with the fix in the message."""
    errors = hub_module().errors
    if isinstance(exc, errors.RevisionNotFoundError):
        return HubError(f"{repo_id} has no revision {revision!r}")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return HubError(
            f"no dataset repo {repo_id} (or it is private: log in with `hf auth login`)"
        )
    if isinstance(exc, (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled)):
        return HubError(
            f"{repo_id}@{revision}: not in the local cache and the Hub is not reachable"
            f" (offline?): {exc}"
        )
    if isinstance(exc, errors.HfHubHTTPError):
        return HubError(f"{repo_id}@{revision}: {exc}")
    return exc
