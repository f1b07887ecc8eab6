"""`robosplice repair SRC OUT`: the command body (registered by app.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._errors import reported_errors
from robosplice.cli._options import Debug, DryRun, Overwrite, Progress
from robosplice.cli._progress import make_progress


def register(app: typer.Typer) -> None:
    """Add the `repair` command to `app`."""
    app.command("repair")(repair_command)


def repair_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder (v2.0, v2.1 or v3.0).")],
    output: Annotated[Path, typer.Argument(help="New v3.0 dataset folder.")],
    videos_dir: Annotated[
        str | None,
        typer.Option(
            "--videos-dir",
            help="Read a v2.x source's videos from this folder of it instead of the one its"
            " video_path names.",
        ),
    ] = None,
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    debug: Debug = False,
) -> None:
    """Make any LeRobot folder a valid v3.0 dataset, keeping what its author wrote (each repair
    is listed; what cannot be decided is refused)."""
    from robosplice.ops.convert_version import ConversionPlan, ConversionResult
    from robosplice.ops.repair import repair

    reporter = make_progress(progress)
    with reported_errors(debug):
        result = repair(
            source,
            output,
            videos_dir=videos_dir,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    close = getattr(reporter, "close", None)
    if close is not None:
        close()
    if isinstance(result, ConversionPlan):
        typer.echo(result.describe())
        return
    if isinstance(result, ConversionResult):
        plan = result.plan
        typer.echo(
            f"wrote {result.root} (v3.0 from {plan.source_version}): {plan.episodes} episodes,"
            f" {plan.frames} frames"
        )
        for message in plan.repairs:
            typer.echo(f"repaired: {message}")
        if not plan.repairs:
            typer.echo("nothing needed repair")
        if result.carried:
            typer.echo(f"carried as is: {', '.join(result.carried)}")
        return
    describe = getattr(result, "describe", None)
    if describe is not None:  # a v3.0 source's repack plan (dry run)
        typer.echo(describe())
        return
    typer.echo(f"wrote {result.root} (v3.0, rewritten whole; see its edit log for repairs)")
