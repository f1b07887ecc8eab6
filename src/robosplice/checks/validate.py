"""`validate_dataset`: the structural families of the registry, as `Problem`s.

It returns *every* problem it finds; it never raises for a broken dataset (pyarrow, PyAV and
robosplice errors become problems) and never writes or repairs. Data files are streamed by row
group reading only the index and numeric columns (all columns with `decode=True`), and each
video file's packets are indexed once. Kinds, severities and why: `robosplice.checks.KINDS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from robosplice._types import ProgressReporter
from robosplice.checks.registry import KINDS, run_checks
from robosplice.errors import Problem

__all__ = ["PROBLEM_KINDS", "validate_dataset"]

PROBLEM_KINDS: Final = tuple(kind.name for kind in KINDS)
"""Every `Problem.kind` `validate_dataset` reports, in registry order."""


def validate_dataset(
    root: Path, *, decode: bool = False, progress: ProgressReporter | None = None
) -> list[Problem]:
    """Return every problem of the dataset at `root`; empty when the loader would read it right.

    Args:
        root: the dataset folder.
        decode: also decode every video frame and every embedded image (slow).
        progress: receives one phase per kind of file checked.
    """
    findings = run_checks(Path(root), groups=("structure",), decode=decode, progress=progress)
    return [finding.to_problem() for finding in findings]
