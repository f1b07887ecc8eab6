"""One place that turns errors into messages and exit codes (0 ok, 1 edit/validation error, 2 usage)."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType

import typer

from robosplice.errors import RobospliceError


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so staging folders are removed on the way out.
    raise KeyboardInterrupt


@contextlib.contextmanager
def reported_errors(debug: bool) -> Iterator[None]:
    """Run a command; print robosplice errors without a traceback unless --debug."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except RobospliceError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except FileNotFoundError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: nothing was published, the source is untouched", err=True)
        sys.exit(130)
    finally:
        # Once the command is done (published or not), SIGTERM is the default again: a late signal
        # must not claim that a published output was not.
        signal.signal(signal.SIGTERM, previous)
