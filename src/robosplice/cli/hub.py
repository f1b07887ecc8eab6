"""`robosplice pull REPO` and `robosplice push DIR REPO`: the command bodies (registered in app.py's COMMANDS)."""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Final

import typer

from robosplice.cli._errors import reported_errors
from robosplice.cli._options import Debug, DryRun
from robosplice.cli._parse import parse_episode_list

Endpoint = Annotated[
    str | None,
    typer.Option("--endpoint", help="The Hub's URL (default: HF_ENDPOINT, else the public Hub)."),
]


def pull_command(
    repo: Annotated[str, typer.Argument(help="hf://datasets/ORG/NAME[@REV] or a Hub URL.")],
    revision: Annotated[
        str | None,
        typer.Option("--revision", help="Branch, tag or sha (default: the v3.0 tag, as lerobot)."),
    ] = None,
    episodes: Annotated[
        str | None,
        typer.Option("--episodes", help="Only the files these episodes need, e.g. 0,3-5."),
    ] = None,
    meta_only: Annotated[
        bool, typer.Option("--meta-only", help="Only meta/ and the card.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="New folder (default: ./NAME).")] = None,
    endpoint: Endpoint = None,
    debug: Debug = False,
) -> None:
    """Download one revision of a Hub dataset as plain files, only what the episodes need."""
    from robosplice.hub import parse_hf_uri, pull

    selected = parse_episode_list(episodes) if episodes is not None else None
    with reported_errors(debug):
        ref = parse_hf_uri(repo)
        target = out if out is not None else Path(ref.repo_id.split("/")[1])
        result = pull(
            ref,
            target,
            revision=revision,
            episodes=selected,
            meta_only=meta_only,
            endpoint=endpoint,
        )
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    kind = "partial " if result.partial else ""
    typer.echo(
        f"pulled {result.repo_id}@{result.revision} ({result.sha}) into {result.root}:"
        f" {kind}{result.files} file(s), {result.size_bytes:,} bytes"
    )


def push_command(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder.")],
    repo: Annotated[str, typer.Argument(help="hf://datasets/ORG/NAME or a Hub URL.")],
    branch: Annotated[
        str | None, typer.Option("--branch", help="Push to this branch (the tag stays).")
    ] = None,
    pr: Annotated[
        bool,
        typer.Option(
            "--pr", help="Open a pull request (refs/pr/N) instead; the branch and tag stay."
        ),
    ] = False,
    message: Annotated[str | None, typer.Option("--message", help="Commit message.")] = None,
    private: Annotated[
        bool | None, typer.Option("--private", help="Create the repo private.")
    ] = None,
    license: Annotated[
        str | None,
        typer.Option("--license", help="Set the card's licence (never defaulted)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Push even if the remote moved since the pull."),
    ] = False,
    dry_run: DryRun = False,
    endpoint: Endpoint = None,
    debug: Debug = False,
) -> None:
    """Push a dataset as ONE commit: only changed files, card kept, v3.0 tag moved to it."""
    from robosplice.hub import parse_hf_uri, push

    if branch is not None and pr:
        raise typer.BadParameter("pass --branch or --pr, not both")
    with reported_errors(debug):
        result = push(
            dataset,
            parse_hf_uri(repo),
            branch=branch,
            create_pr=pr,
            message=message,
            private=private,
            license=license,
            dry_run=dry_run,
            force=force,
            endpoint=endpoint,
        )
    typer.echo(result.plan.describe())
    if dry_run:
        typer.echo("dry run: nothing was sent")
    elif result.commit is None or result.commit == result.plan.parent:
        typer.echo("nothing to push: the remote already has this dataset")
    elif result.pull_request is not None:
        typer.echo(
            f"opened pull request {result.pull_request} on {result.plan.repo_id}: commit"
            f" {result.commit} ({result.pull_request_url}); the branch and tag are unchanged"
        )
    else:
        typer.echo(f"pushed {result.plan.repo_id}: commit {result.commit}")
    if result.tag_moved is not None:
        before, after = result.tag_moved
        typer.echo(f"tag {result.plan.tag}: {(before or 'none')[:12]} → {after[:12]}")


_NOT_DATASET_COMMANDS: Final = frozenset({"pull", "push", "sample", "batch"})
_META_ONLY_COMMANDS: Final = frozenset({"info"})
_LAZY_COMMANDS: Final = frozenset(
    {"delete-episodes", "filter-episodes", "trim-episodes", "split-dataset", "apply"}
)
"""Commands that plan from metadata and data: a Hub source is opened without its videos, and
the video files arrive once the plan names the episodes it reads (ops/_lazy.py)."""
_OUTPUT_OPTIONS: Final = frozenset({"--output", "-o"})


def run_with_hub_paths(app: typer.Typer, argv: list[str]) -> int:
    """Run a command whose SRC or OUT may be `hf://datasets/ORG/NAME[@REV]` (or a Hub URL).

    A source is resolved once to a sha and downloaded into huggingface_hub's cache, and the
    command reads that snapshot (robosplice never writes a source); for the episode edits,
    metadata and data first, then only the video files holding the episodes the edit reads. An
    output is written to a fresh local folder, then pushed (`push`: one commit, card kept, tag
    moved) when the command succeeded; when it is the source's repo, a repo that moved since
    the download is refused.
    Write SRC right after the command (after the recipe for `apply`); OUT after it, or after
    `--output`. Returns the exit code.
    """
    from robosplice.errors import RobospliceError
    from robosplice.hub import is_hub_uri

    hub_positions = [i for i, token in enumerate(argv) if i > 0 and is_hub_uri(token)]
    if not hub_positions or argv[0] in _NOT_DATASET_COMMANDS:
        return _run(app, argv)
    from robosplice.ops._lazy import lazy_sources

    try:
        rewritten, outputs, workdir, fetchers, listings = _localize(argv, hub_positions)
    except RobospliceError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    try:
        with lazy_sources(fetchers, listings):
            code = _run(app, rewritten)
        if code != 0:
            return code
        if "--dry-run" in argv:
            for _, ref in outputs:
                typer.echo(f"dry run: nothing was pushed to {ref.repo_id}")
            return 0
        for folder, ref in outputs:
            try:
                result = _push_output(folder, ref)
            except RobospliceError as exc:
                typer.echo(f"error: the edit succeeded but the push failed: {exc}", err=True)
                return 1
            typer.echo(result.plan.describe())
            typer.echo(f"pushed {result.plan.repo_id}: commit {result.commit}")
        return 0
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def _run(app: typer.Typer, argv: list[str]) -> int:
    try:
        app(args=argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _localize(
    argv: list[str], hub_positions: list[int]
) -> tuple[list[str], list[tuple[Path, Any]], Path | None, dict[Path, Any], dict[Path, Any]]:
    """argv with Hub sources replaced by cache snapshots and Hub outputs by local folders, the
    file fetchers of the sources opened from their metadata alone, and the remote listing of a
    source whose output goes back to its own repo (its video files kept whole stay there: a
    server-side copy cannot cross repos, so another repo's output gets the bytes)."""
    from robosplice.errors import HubError
    from robosplice.hub import parse_hf_uri
    from robosplice.hub._client import default_endpoint
    from robosplice.hub.provenance import Provenance, write_provenance
    from robosplice.hub.pull import fetch, fetch_files, list_lfs_files

    command = argv[0]
    source_index = 2 if command == "apply" else 1
    rewritten = list(argv)
    outputs: list[tuple[Path, Any]] = []
    fetched_sources = []
    fetchers: dict[Path, Any] = {}
    workdir: Path | None = None
    for index in hub_positions:
        ref = parse_hf_uri(argv[index])
        is_output = argv[index - 1] in _OUTPUT_OPTIONS or (
            command != "merge-datasets" and index != source_index
        )
        if not is_output:
            lazy = command in _LAZY_COMMANDS
            fetched = fetch(ref, meta_only=command in _META_ONLY_COMMANDS, videos=not lazy)
            if lazy:
                fetchers[fetched.snapshot] = functools.partial(
                    fetch_files, ref, fetched.sha, endpoint=ref.endpoint or default_endpoint()
                )
            for warning in fetched.warnings:
                typer.echo(f"warning: {warning}", err=True)
            fetched_sources.append((ref, fetched))
            rewritten[index] = str(fetched.snapshot)
            continue
        if "--in-place" in argv or command == "split-dataset":
            raise HubError(f"{command}: a Hub output must be one new dataset (no --in-place)")
        if workdir is None:
            workdir = Path(tempfile.mkdtemp(prefix="robosplice-hub-"))
        folder = workdir / f"out-{len(outputs)}"
        rewritten[index] = str(folder)
        outputs.append((folder, ref))
    if "--in-place" in argv and fetched_sources:
        raise HubError("a Hub dataset cannot be edited in place; name an output (hf://… to push)")
    listings: dict[Path, Any] = {}
    if outputs and len(fetched_sources) == 1:
        source_ref, fetched = fetched_sources[0]
        endpoint = source_ref.endpoint or default_endpoint()
        if fetched.snapshot in fetchers and all(
            ref.repo_id == source_ref.repo_id and (ref.endpoint or default_endpoint()) == endpoint
            for _, ref in outputs
        ):
            listings[fetched.snapshot] = functools.partial(
                list_lfs_files, source_ref, fetched.sha, endpoint=endpoint
            )
        for folder, _ in outputs:
            # Recorded once the command wrote `folder`: see _push_output.
            provenance = Provenance(
                repo_id=source_ref.repo_id,
                endpoint=source_ref.endpoint or default_endpoint(),
                revision=fetched.revision,
                sha=fetched.sha,
                partial=False,
                source=f"{source_ref.repo_id}@{fetched.sha[:12]}",
            )
            write_provenance(folder.with_suffix(".source"), provenance)
    return rewritten, outputs, workdir, fetchers, listings


def _push_output(folder: Path, ref: Any) -> Any:
    """Push an edited output; the source's provenance makes a moved remote a refusal."""
    from robosplice.hub import push
    from robosplice.hub.provenance import PROVENANCE_PATH

    recorded = folder.with_suffix(".source") / PROVENANCE_PATH
    if recorded.is_file():
        target = folder / PROVENANCE_PATH
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(recorded, target)
    return push(folder, ref)
