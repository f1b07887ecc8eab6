"""`robosplice batch`: one operation over many datasets (app.py registers it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._errors import reported_errors
from robosplice.cli._execution import BackendName, Workers
from robosplice.cli._options import Debug


def batch_command(
    operation: Annotated[str, typer.Argument(help="validate, repack or info.")],
    inputs: Annotated[
        Path, typer.Option("--inputs", help="A text file listing dataset folders, one per line.")
    ],
    output_root: Annotated[
        Path,
        typer.Option(
            "--output-root",
            help="Outputs go to DIR/<dataset folder name>; DIR/batch-manifest.jsonl records"
            " each dataset (a re-run skips the ones done).",
        ),
    ],
    shard: Annotated[
        str | None,
        typer.Option("--shard", help="i/N: run inputs i, i+N, … only (e.g. a SLURM array)."),
    ] = None,
    backend: BackendName = None,
    workers: Workers = None,
    debug: Debug = False,
) -> None:
    """Run one operation over many datasets, resumably. Exit 1 if any dataset failed or is invalid."""
    from robosplice.ops.batch import parse_shard, run_batch

    def report(record: object) -> None:
        status = getattr(record, "status", "")
        source = getattr(record, "source", "")
        details = getattr(record, "details", {})
        note = getattr(record, "error", None) or ""
        if details.get("valid") is False:
            note = f"{len(details['problems'])} problem(s)"
        typer.echo(f"{status:6} {source}" + (f": {note}" if note else ""))

    with reported_errors(debug):
        records = run_batch(
            operation,
            inputs,
            output_root,
            shard=parse_shard(shard) if shard else None,
            backend=backend,
            workers=workers,
            on_record=report,
        )
    failed = [r for r in records if r.status != "done" or r.details.get("valid") is False]
    typer.echo(f"{len(records)} dataset(s) run, {len(failed)} failed or invalid")
    raise typer.Exit(1 if failed else 0)
