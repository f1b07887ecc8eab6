"""Options several commands share, declared once so their flags and help read the same."""

from __future__ import annotations

from typing import Annotated

import typer

Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output folder.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan and write nothing.")]
Progress = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress", help="Progress bars (default: on a TTY)."),
]
