"""`Kind`: what one kind of finding means, how bad it is and why — declared next to its check.

Each check family declares its kinds as a tuple of `Kind`s beside the code that reports them, and
the registry (`robosplice.checks.registry`) collects them, so the severity of a kind, the reason
for it, and how an edit handles a source that has it (`OnEdit`) are read where the kind is decided.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from robosplice.errors import SEVERITIES, Problem, Severity

Handling = Literal["rebuilt", "carried", "refused"]
"""What an edit does with a source's finding: its output derives the thing anew, keeps it as the
source has it, or the edit refuses the source."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EditFacts:
    """What an edit rule may ask about the edit and the source a finding is in."""

    features: Mapping[str, Any]  # the source's info.json features ({} if unreadable)
    recomputes_stats: bool  # the edit recomputes every stat (recompute-stats)


Decision = tuple[Handling, str]
"""How an edit handles one finding, and what its output does about it (for the edit log)."""


def _never(problem: Problem) -> bool:
    return False


@dataclass(frozen=True, slots=True, kw_only=True)
class OnEdit:
    """How an edit handles a source's finding of this kind (read by `ops/_preflight.py`).

    `decide` returns None where this kind's rule does not apply to that finding; the finding then
    goes by severity, as for kinds without an `OnEdit`: a warning is carried, an error refuses.
    """

    decide: Callable[[Problem, EditFacts], Decision | None]
    # An edit that recomputes every stat repairs it outright: not noted, and tolerated when the
    # new copy of a replaced folder is validated.
    repaired_by_recompute: Callable[[Problem], bool] = _never
    # A rebuilt finding in an episode whose message names stats the rows contradict: the output
    # recomputes those stats instead of carrying them.
    names_stale_stats: bool = False


def rebuilt(
    action: str, *, file: str | None = None
) -> Callable[[Problem, EditFacts], Decision | None]:
    """The rule "the output rebuilds it (`action`)", for findings in `file` only if given."""

    def decide(problem: Problem, facts: EditFacts) -> Decision | None:
        if file is not None and problem.file != file:
            return None
        return "rebuilt", action

    return decide


def in_file(file: str) -> Callable[[Problem], bool]:
    """Whether a finding is in `file` (for `OnEdit.repaired_by_recompute`)."""
    return lambda problem: problem.file == file


def always(problem: Problem) -> bool:
    """Every finding of the kind (for `OnEdit.repaired_by_recompute`)."""
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Kind:
    """One kind of finding: its id, severity, what it means and why it has that severity, and
    how an edit handles a source that has it (None: by severity)."""

    name: str
    severity: Severity
    meaning: str
    why: str
    on_edit: OnEdit | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"kind {self.name!r}: expected a severity in {SEVERITIES}")
