"""Options several commands share, declared once so their flags and help read the same, and the one
way a decorator adds options to a command's signature."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output folder.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan and write nothing.")]
Progress = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress", help="Progress bars (default: on a TTY)."),
]
InPlace = Annotated[
    bool,
    typer.Option("--in-place", help="Replace the source (atomic swap; old copy kept until done)."),
]


def keyword(name: str, annotation: object, default: object) -> inspect.Parameter:
    """One option a decorator adds to a command."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def with_options(
    wrapper: Callable[..., Any], command: Callable[..., Any], extra: list[inspect.Parameter]
) -> Callable[..., Any]:
    """Give `wrapper` the signature of `command` plus `extra` (after its own), so typer shows both."""
    signature = inspect.signature(command)
    # Only the parameters' annotations are resolved: a return type may name a TYPE_CHECKING import.
    namespace = getattr(command, "__globals__", {})
    own = [
        p.replace(annotation=eval(p.annotation, namespace))  # as inspect's eval_str does
        if isinstance(p.annotation, str)
        else p
        for p in signature.parameters.values()
    ]
    parameters = [*own, *extra]
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=None
    )
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper
