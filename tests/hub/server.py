"""A small git-backed stand-in for the Hub's dataset API, bound to 127.0.0.1, for offline tests.

Why: the hub layer must be exercised by the real `huggingface_hub` client against something that
behaves like the Hub, and judged by readers that are not our code (`git` itself, a fresh
`snapshot_download`). No installable server implements the Hub's write API, so this one does, on
top of real git repositories: every commit is a real git commit built with git plumbing; a stale
`parentCommit` is refused with 412 by a compare-and-swap `update-ref`; a commit is all or nothing
(the branch moves only after every operation applied); large files are real git-lfs pointers
with their objects kept by sha256 (so server-side copies and upload skips behave as on the Hub).
Xet is not offered: clients must run with `HF_HUB_DISABLE_XET=1`.

Read routes: repo info, refs, tree, paths-info, resolve (HEAD/GET). Write routes: repo create,
preupload, LFS batch + PUT, commit (ndjson), tag create/delete, validate-yaml. Not provable here:
pull requests, Xet, cross-repo copies, licence validation, auth, rate limits.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

LFS_PATTERNS = ("*.parquet", "*.mp4", "*.png", "*.jpg", "*.arrow", "*.bin")
LFS_THRESHOLD = 10 * 2**20
GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in LFS_PATTERNS)
_REV = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._/-]*$")
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "hub",
    "GIT_AUTHOR_EMAIL": "hub@localhost",
    "GIT_COMMITTER_NAME": "hub",
    "GIT_COMMITTER_EMAIL": "hub@localhost",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


class HubHTTPError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass
class Traffic:
    """Bytes the server moved: file bodies served, LFS bodies received, inline commit content."""

    downloaded: int = 0
    lfs_uploaded: int = 0
    inline_uploaded: int = 0
    commits: int = 0
    requests: list[str] = field(default_factory=list)
    received: list[tuple[str, int]] = field(default_factory=list)  # (path, bytes) per upload
    served: list[tuple[str, int]] = field(default_factory=list)  # (path, bytes) per download

    @property
    def uploaded(self) -> int:
        return self.lfs_uploaded + self.inline_uploaded


def lfs_pointer(oid: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def parse_pointer(data: bytes) -> tuple[str, int] | None:
    if not data.startswith(b"version https://git-lfs.github.com/spec/v1"):
        return None
    fields = dict(line.split(" ", 1) for line in data.decode().splitlines() if " " in line)
    return fields["oid"].removeprefix("sha256:"), int(fields["size"])


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class GitRepo:
    """One bare repository, its LFS store, and the plumbing the routes need."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lfs = path / "lfs" / "objects"
        self._entries: dict[str, list[dict[str, Any]]] = {}

    def git(self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] = {}) -> bytes:
        result = subprocess.run(
            ["git", *args],
            input=stdin,
            capture_output=True,
            env={**os.environ, **_GIT_ENV, "GIT_DIR": str(self.path), **env},
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"git {args}: {result.stderr.decode()}")
        return result.stdout

    def resolve(self, revision: str) -> str:
        if not _REV.match(revision) or ".." in revision:
            raise HubHTTPError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        try:
            return (
                self.git("rev-parse", "--verify", "-q", f"{revision}^{{commit}}").decode().strip()
            )
        except RuntimeError:
            raise HubHTTPError(404, f"Invalid rev id: {revision}", "RevisionNotFound") from None

    def refs(self, kind: str) -> list[tuple[str, str]]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", f"refs/{kind}/")
        return [tuple(line.split(" ")) for line in out.decode().splitlines()]  # type: ignore[misc]

    def entries(self, commit: str) -> list[dict[str, Any]]:
        """Every file and folder at `commit`, as the Hub's tree API lists them (commits are immutable)."""
        if commit not in self._entries:
            self._entries[commit] = self._list(commit)
        return self._entries[commit]

    def _list(self, commit: str) -> list[dict[str, Any]]:
        out = self.git("ls-tree", "-r", "-t", "-l", "-z", commit)
        rows = []
        for record in out.decode().split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            _mode, kind, oid, size = meta.split()
            if kind == "tree":
                rows.append({"type": "directory", "oid": oid, "size": 0, "path": path})
                continue
            row: dict[str, Any] = {"type": "file", "oid": oid, "size": int(size), "path": path}
            if int(size) < 1024:
                pointer = parse_pointer(self.git("cat-file", "blob", oid))
                if pointer is not None:
                    row["size"] = pointer[1]
                    row["lfs"] = {"oid": pointer[0], "size": pointer[1], "pointerSize": int(size)}
            rows.append(row)
        return rows

    def read(self, commit: str, path: str) -> tuple[bytes, dict[str, Any]]:
        for row in self.entries(commit):
            if row["path"] == path and row["type"] == "file":
                if "lfs" in row:
                    return (self.lfs / row["lfs"]["oid"]).read_bytes(), row
                return self.git("cat-file", "blob", row["oid"]), row
        raise HubHTTPError(404, f"{path} not found", "EntryNotFound")

    def store_lfs(self, data: bytes) -> str:
        oid = hashlib.sha256(data).hexdigest()
        self.lfs.mkdir(parents=True, exist_ok=True)
        target = self.lfs / oid
        if not target.exists():
            partial = target.with_suffix(".partial")
            partial.write_bytes(data)
            partial.replace(target)
        return oid

    def commit(
        self,
        branch: str,
        operations: list[tuple[str, str, Any]],
        message: str,
        parent: str | None,
        expected_head: str | None = None,
    ) -> str:
        """Apply ("add", path, blob bytes) / ("delete", path, None) / ("delete_folder", ...) on
        `branch` as one commit; the branch moves only if it still points at `expected_head`."""
        ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"  # refs/pr/N too
        head = self.resolve(ref) if self.refs_has(branch) else parent
        if expected_head is not None and expected_head != head:
            raise HubHTTPError(412, "A commit has happened since. Please refresh and try again.")
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if head:
                self.git("read-tree", head, env=env)
            present = set(self.git("ls-files", "-z", env=env).decode().split("\0")) - {""}
            lines = []
            for kind, path, data in operations:
                if kind == "add":
                    oid = self.git("hash-object", "-w", "--stdin", stdin=data).decode().strip()
                    lines.append(f"100644 {oid}\t{path}")
                    present.add(path)
                    continue
                doomed = (
                    [path]
                    if kind == "delete"
                    else [p for p in present if p.startswith(path.rstrip("/") + "/")]
                )
                if kind == "delete" and path not in present:
                    raise HubHTTPError(404, f"A file with this name doesn't exist: {path}",
                                       "EntryNotFound")  # fmt: skip
                for name in doomed:
                    lines.append(f"0 {'0' * 40}\t{name}")
                    present.discard(name)
            if lines:
                self.git(
                    "update-index", "--index-info", stdin="\n".join(lines).encode() + b"\n", env=env
                )
            tree = self.git("write-tree", env=env).decode().strip()
        parents = ["-p", head] if head else []
        new = self.git("commit-tree", tree, *parents, "-m", message).decode().strip()
        # Compare-and-swap: refused if the branch moved meanwhile (another commit won the race).
        try:
            self.git("update-ref", ref, new, head if self.refs_has(branch) else "0" * 40)
        except RuntimeError:
            raise HubHTTPError(
                412, "A commit has happened since. Please refresh and try again."
            ) from None
        del parent
        return new

    def refs_has(self, branch: str) -> bool:
        ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
        return any(name == ref for name, _ in self.refs(ref.split("/")[1]))


class FakeHub:
    """The server: `url` for `endpoint=`, `traffic` for bytes moved, `repo(id)` for git readers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.traffic = Traffic()
        self.on_commit: Callable[[], None] | None = None  # runs as a commit request arrives
        self._repos: dict[str, GitRepo] = {}
        self.lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"hub": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def repo_path(self, repo_id: str) -> Path:
        return self.root / f"{repo_id}.git"

    def repo(self, repo_id: str) -> GitRepo:
        path = self.repo_path(repo_id)
        if not path.is_dir():
            raise HubHTTPError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return self._repos.setdefault(repo_id, GitRepo(path))

    def create(self, repo_id: str) -> GitRepo:
        path = self.repo_path(repo_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
        repo = self._repos.setdefault(repo_id, GitRepo(path))
        repo.commit(
            "main", [("add", ".gitattributes", GITATTRIBUTES.encode())], "initial commit", None
        )
        return repo

    def seed(
        self,
        repo_id: str,
        folder: Path,
        *,
        tag: str | None = "v3.0",
        extra: Mapping[str, bytes] = {},
        message: str = "Upload dataset",
    ) -> str:
        """A repo holding `folder` (+ `extra` files) as one commit on main; `tag` on it."""
        repo = self.create(repo_id)
        files = {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }
        files.update(extra)
        operations = [("add", path, self.stored(repo, path, data)) for path, data in files.items()]
        sha = repo.commit("main", operations, message, None)
        if tag:
            repo.git("tag", tag, sha)
        return sha

    def stored(self, repo: GitRepo, path: str, data: bytes) -> bytes:
        """What git stores for `path`: an LFS pointer for large or binary-pattern files."""
        if is_lfs(path, len(data)):
            return lfs_pointer(repo.store_lfs(data), len(data))
        return data


def is_lfs(path: str, size: int) -> bool:
    return size >= LFS_THRESHOLD or any(fnmatch.fnmatch(path, p) for p in LFS_PATTERNS)


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing ----------------------------------------------------------------------------------

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        segments = [unquote(s) for s in parts.path.split("/")[1:]]
        query = parse_qs(parts.query)
        body = self._body()
        self.hub.traffic.requests.append(f"{method} {parts.path}")
        try:
            with self.hub.lock:
                status, headers, payload = self._dispatch(method, segments, query, body)
        except Exception as exc:  # a bug here must still answer, not hang the client
            if not isinstance(exc, HubHTTPError):
                exc = HubHTTPError(500, f"{type(exc).__name__}: {exc}")
            status, payload = exc.status, json.dumps({"error": str(exc)}).encode()
            headers = {"Content-Type": "application/json", "X-Error-Message": str(exc)}
            if exc.code:
                headers["X-Error-Code"] = exc.code
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":  # streamed uploads
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def _json(self, value: Any, status: int = 200) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(value).encode()

    # -- routes --------------------------------------------------------------------------------------

    def _dispatch(
        self, method: str, s: list[str], query: dict[str, list[str]], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        hub = self.hub
        if s[:2] == ["api", "validate-yaml"]:
            return self._json({})
        if s[:3] == ["api", "repos", "create"] and method == "POST":
            request = json.loads(body)
            repo_id = f"{request.get('organization') or 'user'}/{request['name']}"
            if hub.repo_path(repo_id).exists():
                raise HubHTTPError(409, "You already created this repo")
            hub.create(repo_id)
            return self._json({"url": f"{hub.url}/datasets/{repo_id}"})
        if s[:2] == ["api", "datasets"] and len(s) >= 4:
            repo_id, rest = f"{s[2]}/{s[3]}", s[4:]
            repo = hub.repo(repo_id)
            return self._api(method, repo_id, repo, rest, query, body)
        if s[:1] == ["datasets"] and len(s) >= 6 and s[3] == "resolve":
            repo_id, revision, path = f"{s[1]}/{s[2]}", s[4], "/".join(s[5:])
            repo = hub.repo(repo_id)
            sha = repo.resolve(revision)
            data, row = repo.read(sha, path)
            headers = {
                "X-Repo-Commit": sha,
                "ETag": f'"{row["oid"]}"',
                "Content-Type": "application/octet-stream",
            }
            if "lfs" in row:
                headers["X-Linked-Etag"] = f'"{row["lfs"]["oid"]}"'
                headers["X-Linked-Size"] = str(len(data))
            if method == "GET":
                hub.traffic.downloaded += len(data)
                hub.traffic.served.append((path, len(data)))
                return 200, headers, data
            headers["X-Linked-Size"] = str(len(data))
            return 200, headers, b""
        if s[:1] == ["datasets"] and s[-4:] == ["info", "lfs", "objects", "batch"]:
            repo_id = f"{s[1]}/{s[2].removesuffix('.git')}"
            repo = hub.repo(repo_id)
            objects = []
            for item in json.loads(body)["objects"]:
                entry = {"oid": item["oid"], "size": item["size"]}
                if not (repo.lfs / item["oid"]).exists():  # already stored: no upload action
                    href = f"{hub.url}/lfs-upload/{repo_id}/{item['oid']}"
                    entry["actions"] = {"upload": {"href": href, "header": {}}}
                objects.append(entry)
            return self._json({"transfer": "basic", "objects": objects})
        if s[:1] == ["lfs-upload"] and method == "PUT":
            repo = hub.repo(f"{s[1]}/{s[2]}")
            if hashlib.sha256(body).hexdigest() != s[3]:
                raise HubHTTPError(400, "sha256 mismatch")
            repo.store_lfs(body)
            hub.traffic.lfs_uploaded += len(body)
            hub.traffic.received.append((s[3], len(body)))
            return 200, {}, b""
        raise HubHTTPError(404, f"no route {method} /{'/'.join(s)}")

    def _api(
        self,
        method: str,
        repo_id: str,
        repo: GitRepo,
        rest: list[str],
        query: dict[str, list[str]],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        if not rest or rest[0] == "revision":
            sha = repo.resolve(rest[1] if rest else "main")
            files = [row["path"] for row in repo.entries(sha) if row["type"] == "file"]
            return self._json(
                {"id": repo_id, "sha": sha, "private": False, "siblings": [{"rfilename": f} for f in files]}
            )  # fmt: skip
        if rest == ["refs"]:

            def refs(kind: str, prefix: str) -> list[dict[str, str]]:
                return [
                    {"name": name.removeprefix(prefix), "ref": name, "targetCommit": sha}
                    for name, sha in repo.refs(kind)
                ]

            tags = [
                {**r, "targetCommit": repo.resolve(r["ref"])} for r in refs("tags", "refs/tags/")
            ]
            listing = {"branches": refs("heads", "refs/heads/"), "tags": tags, "converts": []}
            if query.get("include_prs"):
                listing["pullRequests"] = refs("pr", "")  # the Hub names them by full ref
            return self._json(listing)
        if rest[0] == "tree":
            sha = repo.resolve(rest[1])
            prefix = "/".join(rest[2:])
            recursive = query.get("recursive", ["false"])[0].lower() in ("true", "1")
            rows = [
                row
                for row in repo.entries(sha)
                if (not prefix or row["path"].startswith(prefix.rstrip("/") + "/"))
                and (recursive or "/" not in row["path"][len(prefix) :].strip("/"))
            ]
            return self._json(rows)
        if rest[0] == "paths-info":
            sha = repo.resolve(rest[1])
            wanted = set(parse_qs(body.decode()).get("paths", []))
            return self._json([row for row in repo.entries(sha) if row["path"] in wanted])
        if rest[0] == "preupload":
            sha = repo.resolve(rest[1])
            rows = {row["path"]: row for row in repo.entries(sha) if row["type"] == "file"}
            files = []
            for item in json.loads(body)["files"]:
                path, size = item["path"], item["size"]
                mode = "lfs" if is_lfs(path, size) else "regular"
                row = rows.get(path)
                oid = None if row is None else row["lfs"]["oid"] if "lfs" in row else row["oid"]
                files.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
            return self._json({"files": files})
        if rest[0] == "commit" and method == "POST":
            return self._commit(repo_id, repo, rest[1], body, bool(query.get("create_pr")))
        if rest[0] == "tag" and method == "POST":
            sha = repo.resolve(rest[1])
            tag = json.loads(body)["tag"]
            if any(name == f"refs/tags/{tag}" for name, _ in repo.refs("tags")):
                raise HubHTTPError(409, f"Tag {tag} already exists")
            repo.git("tag", tag, sha)
            return self._json({})
        if rest[0] == "tag" and method == "DELETE":
            tag = rest[1]
            if not any(name == f"refs/tags/{tag}" for name, _ in repo.refs("tags")):
                raise HubHTTPError(404, f"Invalid rev id: {tag}", "RevisionNotFound")
            repo.git("tag", "-d", tag)
            return self._json({})
        raise HubHTTPError(404, f"no route {method} {rest}")

    def _commit(
        self, repo_id: str, repo: GitRepo, branch: str, body: bytes, create_pr: bool = False
    ) -> tuple[int, dict[str, str], bytes]:
        """One commit on `branch`; with `create_pr`, on a new `refs/pr/N` opened from
        `parentCommit` (else the branch head), as the Hub does; the branch stays."""
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        header = lines[0]["value"]
        if self.hub.on_commit is not None:  # e.g. another client's commit lands first
            self.hub.on_commit()
        head = repo.resolve(f"refs/heads/{branch}")
        parent = header.get("parentCommit")
        pr_url = None
        if create_pr:
            number = len(repo.refs("pr")) + 1
            branch, head = f"refs/pr/{number}", repo.resolve(parent or head)
            pr_url = f"{self.hub.url}/datasets/{repo_id}/discussions/{number}"
        elif parent is not None and parent != head:
            raise HubHTTPError(412, "A commit has happened since. Please refresh and try again.")
        operations: list[tuple[str, str, Any]] = []
        inline = 0
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file":
                data = base64.b64decode(value["content"])
                inline += len(data)
                self.hub.traffic.received.append((value["path"], len(data)))
                operations.append(
                    ("add", value["path"], self.hub.stored(repo, value["path"], data))
                )
            elif key == "lfsFile":
                oid = value["oid"]
                if not (repo.lfs / oid).exists():
                    raise HubHTTPError(422, f"LFS object {oid} was never uploaded")
                size = (repo.lfs / oid).stat().st_size
                operations.append(("add", value["path"], lfs_pointer(oid, size)))
            elif key == "deletedFile":
                operations.append(("delete", value["path"], None))
            elif key == "deletedFolder":
                operations.append(("delete_folder", value["path"], None))
            else:
                raise HubHTTPError(400, f"unknown commit line {key}")
        message = header["summary"] + (
            "\n\n" + header["description"] if header.get("description") else ""
        )
        sha = repo.commit(
            branch, operations, message, head, expected_head=None if create_pr else head
        )
        self.hub.traffic.inline_uploaded += inline
        self.hub.traffic.commits += 1
        return self._json(
            {"commitUrl": f"{self.hub.url}/datasets/{repo_id}/commit/{sha}", "commitOid": sha,
             "pullRequestUrl": pr_url}
        )  # fmt: skip
