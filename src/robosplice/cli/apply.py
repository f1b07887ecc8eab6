"""`robosplice apply RECIPE SRC OUT`: run a recipe in one lossless pass (body of the command)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._edit import Edit, EditArgs, Outcome, edit_command


@edit_command()
def apply_command(
    recipe: Annotated[
        Path, typer.Argument(help="Recipe JSON file (from doctor or the review page).")
    ],
    source: Annotated[Path, typer.Argument(help="Dataset folder the recipe was made for.")],
    output: Annotated[Path, typer.Argument(help="New dataset folder.")],
    force: Annotated[
        bool, typer.Option("--force", help="Apply even if the source's fingerprint differs.")
    ] = False,
) -> Edit[Outcome]:
    """Apply a recipe: every step in one plan, video copied by packets, one atomic publish."""
    from robosplice.dataset import open_dataset
    from robosplice.ops.apply import apply, describe_changes

    def edit(args: EditArgs) -> Outcome:
        dataset = open_dataset(source)
        plan = apply(
            recipe, dataset, output, force=force, dry_run=True, overwrite=args["overwrite"]
        )
        # What the recipe removes, said before the write starts (and as the dry run's first line).
        typer.echo(describe_changes(plan, dataset))
        return plan if args["dry_run"] else apply(recipe, dataset, output, force=force, **args)

    return edit
