"""`robosplice convert SRC OUT --to v3.0|v2.1`: the command body (app.py registers it)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from robosplice.cli._edit import Edit, EditArgs, edit_command

if TYPE_CHECKING:
    from robosplice.ops.convert_version import ConversionPlan, ConversionResult


def render_conversion(result: ConversionPlan | ConversionResult) -> str:
    """The conversion's plan on --dry-run, else what was written, carried and re-encoded."""
    from robosplice.ops.convert_version import ConversionPlan

    if isinstance(result, ConversionPlan):
        return result.describe()
    plan = result.plan
    lines = [
        f"wrote {result.root} ({plan.target_version}): {plan.episodes} episodes,"
        f" {plan.frames} frames"
    ]
    lines += [f"corrected: {message}" for message in plan.repairs]
    if result.carried:
        lines.append(f"carried as is: {', '.join(result.carried)}")
    if result.reencoded:
        lines.append(f"re-encoded (lossy): {', '.join(result.reencoded)}")
    return "\n".join(lines)


@edit_command(verbose=False, render=render_conversion)
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
) -> Edit[ConversionPlan | ConversionResult]:
    """Convert between LeRobot v2.1/v2.0 and v3.0, losslessly (video by packet copy)."""
    from robosplice.ops.convert_version import convert

    def edit(args: EditArgs) -> ConversionPlan | ConversionResult:
        return convert(
            source,
            output,
            to=to,
            data_files_size_in_mb=data_file_size_mb,
            video_files_size_in_mb=video_file_size_mb,
            reencode_unaligned=reencode_unaligned,
            **args,
        )

    return edit
