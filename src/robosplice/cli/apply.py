"""`robosplice apply RECIPE SRC OUT`: run a recipe in one lossless pass (body of the command)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._errors import reported_errors
from robosplice.cli._options import Debug, DryRun, Overwrite, Progress
from robosplice.cli._progress import make_progress


def apply_command(
    recipe: Annotated[
        Path, typer.Argument(help="Recipe JSON file (from doctor or the review page).")
    ],
    source: Annotated[Path, typer.Argument(help="Dataset folder the recipe was made for.")],
    output: Annotated[Path, typer.Argument(help="New dataset folder.")],
    force: Annotated[
        bool, typer.Option("--force", help="Apply even if the source's fingerprint differs.")
    ] = False,
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
    debug: Debug = False,
) -> None:
    """Apply a recipe: every step in one plan, video copied by packets, one atomic publish."""
    from robosplice.dataset import open_dataset
    from robosplice.engine.estimate import estimate_bytes
    from robosplice.ops.apply import apply, describe_changes

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    reporter = make_progress(progress)
    with reported_errors(debug):
        dataset = open_dataset(source)
        result = apply(
            recipe,
            dataset,
            output,
            force=force,
            dry_run=True,
            overwrite=overwrite,
        )
        typer.echo(describe_changes(result, dataset))  # type: ignore[arg-type]
        if dry_run:
            typer.echo(result.describe())  # type: ignore[union-attr]
            typer.echo(estimate_bytes(result).describe())  # type: ignore[arg-type]
            return
        written = apply(
            recipe, dataset, output, force=force, overwrite=overwrite, progress=reporter
        )
    close = getattr(reporter, "close", None)
    if close is not None:
        close()
    typer.echo(
        f"wrote {written.root}: {written.num_episodes} episodes, {written.num_frames} frames"  # type: ignore[union-attr]
    )
