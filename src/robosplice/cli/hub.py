"""`robosplice pull REPO` and `robosplice push DIR REPO`: the command bodies (registered by app.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._errors import reported_errors
from robosplice.cli._options import Debug, DryRun
from robosplice.cli._parse import parse_episode_list

Endpoint = Annotated[
    str | None,
    typer.Option("--endpoint", help="The Hub's URL (default: HF_ENDPOINT, else the public Hub)."),
]


def register(app: typer.Typer) -> None:
    """Add `pull` and `push` to `app`."""
    app.command("pull")(pull_command)
    app.command("push")(push_command)


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
    pr: Annotated[bool, typer.Option("--pr", help="Open a pull request instead.")] = False,
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
    else:
        typer.echo(f"pushed {result.plan.repo_id}: commit {result.commit}")
    if result.tag_moved is not None:
        before, after = result.tag_moved
        typer.echo(f"tag {result.plan.tag}: {(before or 'none')[:12]} → {after[:12]}")
