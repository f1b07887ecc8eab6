"""`--workers` and `--backend`, defined once and added to every editing command."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from robosplice.cli._options import keyword, with_options
from robosplice.engine.backends import (
    BACKEND_NAMES,
    InvalidBackendError,
    check_execution,
    execution,
)

F = TypeVar("F", bound=Callable[..., Any])

Workers = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Parallel workers for video copy and frame stats (default: all cores, for large"
        " datasets).",
    ),
]
BackendName = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help=f"Where work units run: {', '.join(BACKEND_NAMES)} (ray: pip install"
        " 'robosplice\\[ray]'; joins RAY_ADDRESS or starts a local Ray). Outputs are identical.",
    ),
]

LinkFiles = Annotated[
    bool,
    typer.Option(
        "--link-files",
        help="Hard-link source video files the output keeps whole instead of copying them (same"
        " filesystem; saves the space and the time). robosplice never writes a file in place,"
        " but a tool that does would change both copies.",
    ),
]


def parallel_options(command: F) -> F:
    """Add `--workers N`, `--backend NAME` and `--link-files` to a command; its body runs in
    `execution(...)`."""

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        workers: int | None = None,
        backend: str | None = None,
        link_files: bool = False,
        **kwargs: Any,
    ) -> Any:
        try:
            check_execution(backend, workers)  # a usage error (exit 2), before any work
        except InvalidBackendError as exc:
            raise typer.BadParameter(str(exc), param_hint="--backend") from None
        with execution(backend, workers, link_files=link_files):
            return command(*args, **kwargs)

    extra = [
        keyword("workers", Workers, None),
        keyword("backend", BackendName, None),
        keyword("link_files", LinkFiles, False),
    ]
    return with_options(wrapper, command, extra)  # type: ignore[return-value]
