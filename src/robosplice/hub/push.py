"""`push`: a local dataset to a Hub repo as ONE commit that moves only what changed.

Planned against the remote's file listing at the head the commit will name as its parent:
- a file whose bytes the remote already has at the same path is left out (0 bytes);
- one whose bytes the remote has at another path (an LFS file renumbered by an edit) is a
  server-side `CommitOperationCopy`;
- a video file an in-place Hub edit left on the Hub (`REMOTE_FILES_DIR`: no local bytes) is
  kept or copied that way, and refused if the remote no longer has it;
- new bytes are added; remote files under data/ meta/ videos/ images/ that the dataset no
  longer has are deleted (lerobot's push leaves them behind); nothing else is touched;
- README.md keeps its YAML and prose; only the generated block and `configs` are refreshed.
Then the `v3.0` tag is moved to exactly the pushed commit (lerobot moves it to whatever the
branch head is by then). `parent_commit` is always passed: a concurrent push makes the server
refuse ours (412) and nothing changes.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from robosplice.dataset import Dataset
from robosplice.engine.units import REMOTE_FILES_DIR, RemoteFile
from robosplice.errors import HubError, InvalidDatasetError, Problem
from robosplice.format.untrusted import DATASET_DIRS
from robosplice.history import read_history, robosplice_version
from robosplice.hub._client import default_endpoint, hub_module
from robosplice.hub.card import provenance_line, render_card
from robosplice.hub.provenance import Provenance, PulledFile, read_provenance, write_provenance
from robosplice.hub.uri import HubRef, parse_hf_uri
from robosplice.ops.validate import validate

logger = logging.getLogger(__name__)

CARD_PATH: Final = "README.md"
Action = Literal["add", "copy", "delete", "keep"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileChange:
    """One path of the push: what happens to it and how many bytes it is."""

    path: str
    action: Action
    size_bytes: int
    source: str | None = None  # the remote path a copy reads


@dataclass(frozen=True, slots=True, kw_only=True)
class PushPlan:
    """Everything a push will do, before it does it (`--dry-run` prints it)."""

    repo_id: str
    branch: str
    parent: str | None
    changes: tuple[FileChange, ...]
    card_before: str | None
    card_after: str
    tag: str | None
    tag_before: str | None
    pull_request: bool = False

    def count(self, action: Action) -> tuple[int, int]:
        """(files, bytes) of one action."""
        chosen = [c for c in self.changes if c.action == action]
        return len(chosen), sum(c.size_bytes for c in chosen)

    @property
    def card_changed(self) -> bool:
        return self.card_after != self.card_before

    @property
    def upload_bytes(self) -> int:
        """Bytes the commit sends at most: added files and the card (copies stay server-side)."""
        card = len(self.card_after.encode()) if self.card_changed else 0
        return self.count("add")[1] + card

    def describe(self) -> str:
        where = f"{self.branch}, parent {(self.parent or 'none')[:12]}"
        if self.pull_request:
            lines = [f"open a pull request on {self.repo_id} (from {where})"]
        else:
            lines = [f"push to {self.repo_id} ({where})"]
        for action in ("add", "copy", "delete", "keep"):
            files, size = self.count(action)
            lines.append(f"  {action:<6} {files:>5} file(s) {size:>14,} bytes")
        for change in self.changes:
            if change.action != "keep":
                via = f" ← {change.source}" if change.source else ""
                lines.append(f"    {change.action:<6} {change.path}{via} ({change.size_bytes:,} B)")
        if self.card_changed:
            diff = difflib.unified_diff(
                (self.card_before or "").splitlines(),
                self.card_after.splitlines(),
                "README.md (remote)",
                "README.md (pushed)",
                lineterm="",
            )
            lines.append("  card:")
            lines.extend(f"    {line}" for line in diff)
        else:
            lines.append("  card: unchanged")
        if self.tag is not None:
            before = (self.tag_before or "none")[:12]
            lines.append(f"  tag {self.tag}: {before} → the new commit")
        lines.append(f"  upload at most {self.upload_bytes:,} bytes")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class PushResult:
    """The plan, and what happened: the commit (None on a dry run or when nothing changed),
    and with `create_pr` the pull request's ref (`refs/pr/N`) and URL."""

    plan: PushPlan
    commit: str | None
    tag_moved: tuple[str | None, str] | None = None
    pull_request: str | None = None
    pull_request_url: str | None = None
    warnings: list[str] = field(default_factory=list)


def push(
    dataset: str | os.PathLike[str],
    repo: HubRef | str,
    *,
    branch: str | None = None,
    create_pr: bool = False,
    message: str | None = None,
    private: bool | None = None,
    license: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    endpoint: str | None = None,
    token: str | bool | None = None,
) -> PushResult:
    """Push the dataset folder `dataset` to `repo` as one commit; move the tag to it.

    Raises:
        InvalidDatasetError: the dataset does not validate (nothing is sent).
        HubError: a partial pull, a remote that moved since the pull (without `force`), or a
            commit the server refused (412: it moved during the push; nothing changed).
    """
    hub = hub_module()
    ref = parse_hf_uri(repo) if isinstance(repo, str) else repo
    endpoint = endpoint or ref.endpoint or default_endpoint()
    root = Path(dataset).expanduser().resolve()
    pulled = read_provenance(root)
    if pulled is not None and pulled.partial:
        raise HubError(
            f"{root} is a partial pull of {pulled.repo_id} (episodes {pulled.episodes}); pushing it"
            " would publish a dataset without the files it names; pull it whole first"
        )
    remote_only = read_remote_files(root)
    errors = [
        problem
        for problem in validate(root)
        if problem.severity == "error" and not _is_remote_only(problem, remote_only)
    ]
    if errors:
        raise InvalidDatasetError(f"{root}: refusing to push a dataset with errors", errors)
    local = Dataset(root)
    api = hub.HfApi(endpoint=endpoint, token=token)
    target = branch or "main"
    head = _remote_head(hub, api, ref.repo_id, target)
    if (
        pulled is not None
        and pulled.repo_id == ref.repo_id
        and head is not None
        and pulled.sha != head
        and not force
    ):
        raise HubError(
            f"{ref.repo_id} {target} moved since this copy was pulled ({pulled.sha[:12]} → "
            f"{head[:12]}); pull again and redo the edit, or pass --force to overwrite"
        )
    remote: dict[str, Any] = {}
    card_before = None
    if head is not None:
        for entry in api.list_repo_tree(
            ref.repo_id, recursive=True, revision=head, repo_type="dataset"
        ):
            if hasattr(entry, "blob_id"):  # a file (folders have a tree id)
                remote[entry.path] = entry
        if CARD_PATH in remote:
            card_file = hub.hf_hub_download(
                ref.repo_id,
                CARD_PATH,
                repo_type="dataset",
                revision=head,
                endpoint=endpoint,
                token=token,
            )
            card_before = Path(card_file).read_text(encoding="utf-8")
    source = pulled.source if pulled else None
    operations = [str(entry.get("operation")) for entry in read_history(root)]
    card_after = render_card(
        card_before,
        repo_id=ref.repo_id,
        info=local.info,
        num_episodes=local.num_episodes,
        provenance=provenance_line(
            version=robosplice_version(), source=source, operations=operations
        ),
        license=license,
    )
    tag = None if create_pr or target != "main" else str(local.info.get("codebase_version"))
    tag_before = _tag_target(api, ref.repo_id, tag) if tag and head else None
    local_ids = {relative: _identity(root, relative, pulled) for relative in _dataset_files(root)}
    for relative, kept in remote_only.items():  # on the Hub only: its id is its LFS sha256
        local_ids[relative] = LocalFile(
            size=kept.size, ids=frozenset({kept.sha256}), sha256=kept.sha256
        )
    plan = PushPlan(
        repo_id=ref.repo_id,
        branch=target,
        parent=head,
        changes=tuple(plan_changes(local_ids, remote, remote_only=frozenset(remote_only))),
        card_before=card_before,
        card_after=card_after,
        tag=tag,
        tag_before=tag_before,
        pull_request=create_pr,
    )
    if dry_run:
        return PushResult(plan=plan, commit=None)
    if head is None:
        api.create_repo(ref.repo_id, repo_type="dataset", private=private, exist_ok=True)
        head = _remote_head(hub, api, ref.repo_id, target)
    commit, pr_ref, pr_url = _commit(hub, api, ref, plan, root, head, message, create_pr)
    if create_pr:
        # The branch and its tag stay; the folder still equals what it was pulled from.
        return PushResult(plan=plan, commit=commit, pull_request=pr_ref, pull_request_url=pr_url)
    moved = None
    if tag is not None and commit is not None and tag_before != commit:
        if tag_before is not None:
            api.delete_tag(ref.repo_id, tag=tag, repo_type="dataset")
        api.create_tag(ref.repo_id, tag=tag, revision=commit, repo_type="dataset")
        moved = (tag_before, commit)
    if commit is not None:
        pushed = {k: v for k, v in local_ids.items() if k not in remote_only}
        _record_push(root, ref.repo_id, endpoint, commit, pushed, plan, source)
    return PushResult(plan=plan, commit=commit, tag_moved=moved)


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A local file's size and the ids a remote file may match (LFS sha256, git blob oid)."""

    size: int
    ids: frozenset[str]
    sha256: str | None


def plan_changes(
    local: dict[str, LocalFile],
    remote: dict[str, Any],
    *,
    remote_only: frozenset[str] = frozenset(),
) -> Iterator[FileChange]:
    """Keep, copy, add or delete per path (pure, given the two listings). A `remote_only` path
    has no local bytes: it must be kept or copied.

    Raises:
        HubError: a remote-only file whose bytes the remote no longer has.
    """
    by_sha256: dict[str, str] = {}
    for path, entry in remote.items():
        if entry.lfs is not None:
            by_sha256.setdefault(entry.lfs.sha256, path)
    for path, file in sorted(local.items()):
        entry = remote.get(path)
        if entry is not None and _remote_id(entry) in file.ids:
            yield FileChange(path=path, action="keep", size_bytes=file.size)
            continue
        moved_from = next((by_sha256[i] for i in file.ids if i in by_sha256), None)
        if moved_from is not None:
            yield FileChange(path=path, action="copy", size_bytes=file.size, source=moved_from)
        elif path in remote_only:
            raise HubError(
                f"{path} was left on the Hub by the edit (kept whole), but the remote no longer"
                f" has its bytes (sha256 {next(iter(file.ids))[:12]}); redo the edit"
            )
        else:
            yield FileChange(path=path, action="add", size_bytes=file.size)
    for path, entry in sorted(remote.items()):
        if path.split("/", 1)[0] in DATASET_DIRS and path not in local:
            yield FileChange(path=path, action="delete", size_bytes=int(entry.size))


def read_remote_files(root: Path) -> dict[str, RemoteFile]:
    """The output's video files that an in-place Hub edit left on the Hub, by output path
    (`REMOTE_FILES_DIR`, written by the engine); a path present here is not remote-only."""
    base = root / REMOTE_FILES_DIR
    found: dict[str, RemoteFile] = {}
    for record in sorted(base.rglob("*.json")) if base.is_dir() else ():
        relative = record.relative_to(base).as_posix().removesuffix(".json")
        if relative.split("/", 1)[0] != "videos" or (root / relative).exists():
            raise HubError(
                f"{root}: {record.relative_to(root)} names {relative}, which is not a video"
                " file left on the Hub; remove the record"
            )
        data = json.loads(record.read_text(encoding="utf-8"))
        found[relative] = RemoteFile(
            path=str(data["path"]), sha256=str(data["sha256"]), size=int(data["size"])
        )
    return found


def _is_remote_only(problem: Problem, remote_only: dict[str, RemoteFile]) -> bool:
    """A video file missing here that the edit left on the Hub (its size and id are listed)."""
    return problem.kind == "missing_file" and problem.file in remote_only


def _remote_id(entry: Any) -> str:
    return str(entry.lfs.sha256 if entry.lfs is not None else entry.blob_id)


def _dataset_files(root: Path) -> list[str]:
    """Files of the dataset folders (the tree was checked: no symlink leads outside)."""
    return sorted(
        path.relative_to(root).as_posix()
        for name in DATASET_DIRS
        for path in (root / name).rglob("*")
        if path.is_file()
    )


def _identity(root: Path, relative: str, pulled: Provenance | None) -> LocalFile:
    """Ids of a local file: from the pull record when untouched since, else hashed."""
    size = (root / relative).stat().st_size
    known = pulled.unchanged_remote_ids(root, relative) if pulled else None
    if known is not None:
        return LocalFile(size=size, ids=frozenset(known), sha256=None)
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(b"blob %d\0" % size)  # git's object id of the same bytes
    with (root / relative).open("rb") as reading:
        while chunk := reading.read(8 * 2**20):
            sha256.update(chunk)
            blob.update(chunk)
    digest = sha256.hexdigest()
    return LocalFile(size=size, ids=frozenset({digest, blob.hexdigest()}), sha256=digest)


def _remote_head(hub: Any, api: Any, repo_id: str, branch: str) -> str | None:
    """The branch's head sha, or None when the repo does not exist."""
    errors = hub.errors
    try:
        return str(api.dataset_info(repo_id, revision=branch).sha)
    except errors.RevisionNotFoundError:
        raise HubError(f"{repo_id} has no branch {branch!r}; create it first") from None
    except errors.RepositoryNotFoundError:
        return None


def _tag_target(api: Any, repo_id: str, tag: str) -> str | None:
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    return next((t.target_commit for t in refs.tags if t.name == tag), None)


def _commit(
    hub: Any,
    api: Any,
    ref: HubRef,
    plan: PushPlan,
    root: Path,
    head: str | None,
    message: str | None,
    create_pr: bool,
) -> tuple[str | None, str | None, str | None]:
    """The commit made (the head when there is nothing to commit), the PR's ref and URL."""
    operations: list[Any] = []
    for change in plan.changes:
        if change.action == "add":
            operations.append(hub.CommitOperationAdd(change.path, str(root / change.path)))
        elif change.action == "copy":
            operations.append(
                hub.CommitOperationCopy(change.source, change.path, src_revision=head)
            )
        elif change.action == "delete":
            operations.append(hub.CommitOperationDelete(change.path))
    if plan.card_changed:
        operations.append(hub.CommitOperationAdd(CARD_PATH, plan.card_after.encode()))
    if not operations:
        return head, None, None
    summary = message or _default_message(plan)
    try:
        info = api.create_commit(
            ref.repo_id,
            operations,
            commit_message=summary,
            commit_description=plan.describe(),
            repo_type="dataset",
            revision=plan.branch,
            parent_commit=head,
            create_pr=create_pr,
        )
    except hub.errors.HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", None)
        if status == 412:
            raise HubError(
                f"{ref.repo_id} {plan.branch} moved during the push (another commit landed first);"
                " nothing was changed: pull again and redo the edit"
            ) from exc
        raise HubError(f"{ref.repo_id}: the commit was refused: {exc}") from exc
    return str(info.oid), info.pr_revision, info.pr_url


def _default_message(plan: PushPlan) -> str:
    parts = [f"{plan.count(a)[0]} {a}" for a in ("add", "copy", "delete") if plan.count(a)[0]]
    return "robosplice push: " + (", ".join(parts) if parts else "card")


def _record_push(
    root: Path,
    repo_id: str,
    endpoint: str,
    commit: str,
    local_ids: dict[str, LocalFile],
    plan: PushPlan,
    source: str | None,
) -> None:
    """The folder now equals `commit`: record it, so the next push neither hashes nor refuses."""
    files = {}
    for relative, file in local_ids.items():
        stat = (root / relative).stat()
        files[relative] = PulledFile(
            size=stat.st_size, mtime_ns=stat.st_mtime_ns, remote_ids=sorted(file.ids)
        )
    write_provenance(
        root,
        Provenance(
            repo_id=repo_id,
            endpoint=endpoint,
            revision=plan.branch,
            sha=commit,
            partial=False,
            files=files,
            source=source,
        ),
    )
