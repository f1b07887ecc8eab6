"""Progress reporting for the engine: a no-op reporter; the CLI passes a rich one."""

from __future__ import annotations

from robosplice._types import ProgressReporter


class NullProgress:
    """Reports nowhere (the library default: it never prints)."""

    def start(self, description: str, total: int) -> None:
        """Begin a phase."""

    def advance(self, amount: int = 1) -> None:
        """Step the current phase."""

    def finish(self) -> None:
        """End the current phase."""


def resolve_progress(progress: ProgressReporter | None) -> ProgressReporter:
    """`progress` or a reporter that does nothing."""
    return progress if progress is not None else NullProgress()
