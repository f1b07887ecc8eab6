"""`robosplice convert SRC OUT --to v3.0|v2.1`: the command body (registered by app.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._errors import reported_errors
from robosplice.cli._options import Debug, DryRun, Overwrite, Progress
from robosplice.cli._progress import make_progress


def register(app: typer.Typer) -> None:
    """Add the `convert` command to `app`."""
    app.command("convert")(convert_command)


def convert_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder (v2.1, v2.0 or v3.0).")],
    output: Annotated[Path, typer.Argument(help="New dataset folder.")],
    to: Annotated[str, typer.Option("--to", help="Target version: v3.0 or v2.1.")],
    data_file_size_mb: Annotated[
        float, typer.Option("--data-file-size-mb", help="v3.0 data file size limit.")
    ] = 100,
    video_file_size_mb: Annotated[
        float, typer.Option("--video-file-size-mb", help="v3.0 video file size limit.")
    ] = 200,
    reencode_unaligned: Annotated[
        bool,
        typer.Option(
            "--reencode-unaligned",
            help="To v2.1: re-encode (lossy) the episodes whose video does not start on a"
            " keyframe, instead of refusing.",
        ),
    ] = False,
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    debug: Debug = False,
) -> None:
    """Convert between LeRobot v2.1/v2.0 and v3.0, losslessly (video by packet copy)."""
    from robosplice.ops.convert_version import ConversionResult, convert

    reporter = make_progress(progress)
    with reported_errors(debug):
        result = convert(
            source,
            output,
            to=to,
            data_files_size_in_mb=data_file_size_mb,
            video_files_size_in_mb=video_file_size_mb,
            reencode_unaligned=reencode_unaligned,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    close = getattr(reporter, "close", None)
    if close is not None:
        close()
    if not isinstance(result, ConversionResult):
        typer.echo(result.describe())
        return
    plan = result.plan
    typer.echo(
        f"wrote {result.root} ({plan.target_version}): {plan.episodes} episodes,"
        f" {plan.frames} frames"
    )
    if result.carried:
        typer.echo(f"carried as is: {', '.join(result.carried)}")
    if result.reencoded:
        typer.echo(f"re-encoded (lossy): {', '.join(result.reencoded)}")
