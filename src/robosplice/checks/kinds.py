"""`Kind`: what one kind of finding means, how bad it is and why — declared next to its check.

Each check family declares its kinds as a tuple of `Kind`s beside the code that reports them, and
the registry (`robosplice.checks.registry`) collects them, so the severity of a kind and the reason
for it are read where the kind is decided.
"""

from __future__ import annotations

from dataclasses import dataclass

from robosplice.errors import SEVERITIES, Severity


@dataclass(frozen=True, slots=True, kw_only=True)
class Kind:
    """One kind of finding: its id, severity, what it means and why it has that severity."""

    name: str
    severity: Severity
    meaning: str
    why: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"kind {self.name!r}: expected a severity in {SEVERITIES}")
