"""`robosplice doctor DATA`: the quality report, its JSON, its HTML page and its recipe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._errors import reported_errors
from robosplice.cli._options import Debug, Progress
from robosplice.cli._progress import close_progress, make_progress


def doctor_command(
    root: Annotated[Path, typer.Argument(help="Dataset folder.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document on stdout (the report contract).")
    ] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report here.")
    ] = None,
    recipe: Annotated[
        Path | None, typer.Option("--recipe", help="Write the proposed fixes as a recipe here.")
    ] = None,
    decode: Annotated[
        bool, typer.Option("--decode", help="Also decode camera frames (black/frozen/repeated).")
    ] = False,
    set_: Annotated[
        list[str],
        typer.Option("--set", help="Override a threshold, e.g. --set min_idle_s=1.0 (see README)."),
    ] = [],  # noqa: B006 (typer needs a literal default)
    progress: Progress = None,
    debug: Debug = False,
) -> None:
    """Find what to cut: frozen/idle episodes, dead joints, NaNs, spikes, duplicates, jitter.

    Exit 0 when nothing is a warning or an error, 1 otherwise.
    """
    from robosplice.checks.quality.thresholds import parse_overrides
    from robosplice.ops.doctor import doctor
    from robosplice.recipe import dump

    try:
        thresholds = parse_overrides(set_)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--set") from None

    reporter = make_progress(False if as_json else progress)
    with reported_errors(debug):
        report = doctor(str(root), decode=decode, thresholds=thresholds, progress=reporter)
        if recipe is not None:
            dump(report.recipe(), recipe)
        if html is not None:
            from robosplice.ops.doctor_html import write_html

            write_html(report, html)
    close_progress(reporter)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        typer.echo(report.render_text())
        if recipe is not None:
            typer.echo(f"recipe written to {recipe}")
        if html is not None:
            typer.echo(f"report written to {html}")
    raise typer.Exit(report.exit_code)
