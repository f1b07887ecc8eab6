"""A rich progress bar behind the library's ProgressReporter protocol (CLI only)."""

from __future__ import annotations

import os
import sys

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from robosplice._types import ProgressReporter


class RichProgress:
    """One bar per phase, on stderr."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<34}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        )
        self._task: int | None = None

    def start(self, description: str, total: int) -> None:
        """Begin a phase."""
        if self._task is None:
            self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, amount: int = 1) -> None:
        """Step the current phase."""
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def finish(self) -> None:
        """End the current phase."""
        if self._task is not None:
            self._progress.update(self._task, completed=self._progress.tasks[-1].total)

    def close(self) -> None:
        """Stop rendering."""
        self._progress.stop()


def make_progress(enabled: bool | None = None) -> ProgressReporter | None:
    """A bar when stderr is a terminal (or asked), none with ROBOSPLICE_NO_PROGRESS=1."""
    if os.environ.get("ROBOSPLICE_NO_PROGRESS") == "1":
        return None
    if enabled is None:
        enabled = sys.stderr.isatty()
    return RichProgress() if enabled else None


def close_progress(reporter: ProgressReporter | None) -> None:
    """Stop the bar, if there is one that can stop."""
    close = getattr(reporter, "close", None)
    if close is not None:
        close()
