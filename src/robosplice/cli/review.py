"""`robosplice review DATA`: serve the review page (body of the command; needs robosplice[review])."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from robosplice.cli._options import Debug
from robosplice.errors import RobospliceError


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def review_command(
    root: Annotated[Path, typer.Argument(help="Dataset folder to review (only read).")],
    port: Annotated[int | None, typer.Option("--port", help="Port (default: a free one).")] = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; not loopback = reachable by others.")
    ] = "127.0.0.1",
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL only; open no browser.")
    ] = False,
    debug: Debug = False,
) -> None:
    """Watch every episode, mark deletions and trims with the keyboard, apply them losslessly."""
    try:
        from robosplice.review.serve import serve
    except ImportError as exc:
        typer.echo(
            f"error: the review page needs the 'review' extra ({exc.name} is missing); install"
            " it with: pip install 'robosplice[review]'",
            err=True,
        )
        raise typer.Exit(1) from None
    # uvicorn handles SIGINT/SIGTERM itself and re-raises them once stopped: both end here.
    signal.signal(signal.SIGTERM, _stop)
    try:
        serve(
            root,
            host=host,
            port=port,
            open_browser=not no_browser,
            say=lambda line: typer.echo(line),
            warn=lambda line: typer.echo(line, err=True),
        )
    except (RobospliceError, FileNotFoundError) as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass
    typer.echo("review stopped; pending edits are kept for next time", err=True)
