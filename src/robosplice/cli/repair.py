"""`robosplice repair SRC OUT`: the command body (registered in app.py's COMMANDS)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from robosplice.cli._edit import Edit, EditArgs, edit_command
from robosplice.cli._parse import parse_episode_list

if TYPE_CHECKING:
    from robosplice.ops.convert_version import ConversionPlan, ConversionResult


def render_repair(result: Any) -> str:
    """The plan (every repair) on --dry-run, else what was written and each repair made."""
    from robosplice.ops.convert_version import ConversionResult

    if not isinstance(result, ConversionResult):  # a plan, or a v3.0 source's repack
        describe = getattr(result, "describe", None)
        if describe is not None:
            return str(describe())
        return f"wrote {result.root} (v3.0, rewritten whole; its edit log lists the repairs)"
    plan = result.plan
    lines = [
        f"wrote {result.root} (v3.0 from {plan.source_version}): {plan.episodes} episodes,"
        f" {plan.frames} frames"
    ]
    lines += [f"repaired: {message}" for message in plan.repairs] or ["nothing needed repair"]
    if result.carried:
        lines.append(f"carried as is: {', '.join(result.carried)}")
    return "\n".join(lines)


@edit_command(verbose=False, render=render_repair)
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
    drop_episodes: Annotated[
        str | None,
        typer.Option(
            "--drop-episodes",
            help="Leave these episodes out, e.g. 3,7 (the way out when an episode's rows and"
            " video frames differ in number).",
        ),
    ] = None,
) -> Edit[ConversionPlan | ConversionResult]:
    """Make any LeRobot folder a valid v3.0 dataset, keeping what its author wrote (each repair
    is listed; what cannot be decided is refused)."""
    from robosplice.ops.repair import repair

    def edit(args: EditArgs) -> Any:
        dropped = parse_episode_list(drop_episodes) if drop_episodes else ()
        return repair(source, output, videos_dir=videos_dir, drop_episodes=dropped, **args)

    return edit
