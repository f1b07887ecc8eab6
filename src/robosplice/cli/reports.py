"""`info`, `validate` and `sample`: commands that read a dataset, or make one, without editing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._edit import wrote
from robosplice.cli._errors import reported_errors
from robosplice.cli._options import Debug, Overwrite


def info_command(
    root: Annotated[Path, typer.Argument(help="Dataset folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    debug: Debug = False,
) -> None:
    """Summarize a dataset: episodes, frames, features, cameras, tasks, files."""
    from robosplice.ops.info import dataset_info, render_info

    with reported_errors(debug):
        summary = dataset_info(root)
        typer.echo(json.dumps(summary, indent=2) if as_json else render_info(summary))


def validate_command(
    root: Annotated[Path, typer.Argument(help="Dataset folder.")],
    decode: Annotated[bool, typer.Option("--decode", help="Also decode every frame.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
    debug: Debug = False,
) -> None:
    """Check everything a loader or trainer would trip on. Exit 1 on errors (--strict: warnings)."""
    from robosplice.cli._validate import render_problems, validate_exit_code
    from robosplice.ops.validate import validate

    with reported_errors(debug):
        problems = validate(root, decode=decode)
    typer.echo(render_problems(root, problems, as_json=as_json))
    raise typer.Exit(validate_exit_code(problems, strict=strict))


def sample_command(
    output: Annotated[Path, typer.Argument(help="Folder to create.")],
    episodes: Annotated[int, typer.Option(help="Number of episodes.")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    overwrite: Overwrite = False,
    debug: Debug = False,
) -> None:
    """Write a small synthetic dataset (two video cameras, state/action, several tasks)."""
    from robosplice.ops.sample import write_sample

    with reported_errors(debug):
        dataset = write_sample(output, episodes=episodes, seed=seed, overwrite=overwrite)
    typer.echo(wrote(dataset))
