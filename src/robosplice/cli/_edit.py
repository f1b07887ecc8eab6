"""One body for every editing command: logging, progress, errors → exit codes, then the report.

A command only parses its arguments into an `Edit` (a call of one op); `@edit_command` adds the
options every edit shares and runs the call through `run_edit`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Union

import typer

from robosplice.cli._errors import reported_errors
from robosplice.cli._options import (
    Debug,
    DryRun,
    Overwrite,
    Progress,
    Verbose,
    keyword,
    with_options,
)
from robosplice.cli._progress import close_progress, make_progress

if TYPE_CHECKING:
    from robosplice._types import ProgressReporter
    from robosplice.dataset import Dataset
    from robosplice.plan.model import Plan

R = TypeVar("R")


class EditArgs(TypedDict):
    """What every op takes from the shared options, passed on as `op(..., **args)`."""

    overwrite: bool
    dry_run: bool
    progress: ProgressReporter | None


Outcome = Union["Dataset", "Plan", Mapping[str, "Dataset | Plan"]]
Edit = Callable[[EditArgs], R]


def wrote(dataset: Dataset) -> str:
    """The line a finished edit prints."""
    return f"wrote {dataset.root}: {dataset.num_episodes} episodes, {dataset.num_frames} frames"


def report(outcome: Outcome) -> str:
    """The written dataset(s), or on --dry-run what would be written (one per split)."""
    from robosplice.ops.dry_run import describe_dry_run
    from robosplice.plan.model import Plan

    results = outcome.values() if isinstance(outcome, Mapping) else [outcome]
    return "\n".join(
        describe_dry_run(result) if isinstance(result, Plan) else wrote(result)
        for result in results
    )


def run_edit(
    edit: Edit[R],
    *,
    overwrite: bool,
    dry_run: bool,
    progress: bool | None,
    verbose: bool,
    debug: bool,
    render: Callable[[R], str],
) -> None:
    """Run `edit` with a progress bar, errors as exit codes, and print `render` of its result."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    reporter = make_progress(progress)
    with reported_errors(debug):
        result = edit({"overwrite": overwrite, "dry_run": dry_run, "progress": reporter})
    close_progress(reporter)
    typer.echo(render(result))


def edit_command(
    *, verbose: bool = True, render: Callable[[Any], str] = report
) -> Callable[[Callable[..., Edit[Any]]], Callable[..., None]]:
    """Add --overwrite, --dry-run, --progress, (--verbose,) --debug to a command returning an Edit."""

    def decorate(command: Callable[..., Edit[Any]]) -> Callable[..., None]:
        @functools.wraps(command)
        def wrapper(
            *,
            overwrite: bool,
            dry_run: bool,
            progress: bool | None,
            debug: bool,
            verbose: bool = False,
            **kwargs: Any,
        ) -> None:
            run_edit(
                command(**kwargs),
                overwrite=overwrite,
                dry_run=dry_run,
                progress=progress,
                verbose=verbose,
                debug=debug,
                render=render,
            )

        shared = [
            keyword("overwrite", Overwrite, False),
            keyword("dry_run", DryRun, False),
            keyword("progress", Progress, None),
            *([keyword("verbose", Verbose, False)] if verbose else []),
            keyword("debug", Debug, False),
        ]
        return with_options(wrapper, command, shared)

    return decorate
