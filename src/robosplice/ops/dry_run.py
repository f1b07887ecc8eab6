"""What `--dry-run` prints, for the CLI commands, `apply` and the review page alike."""

from __future__ import annotations

from robosplice.dataset import Dataset
from robosplice.engine.estimate import estimate_bytes
from robosplice.ops.apply import describe_changes
from robosplice.plan.model import Plan


def describe_dry_run(plan: Plan, source: Dataset | None = None) -> str:
    """The plan and its estimated bytes; with `source`, first what the plan removes from it."""
    lines = [plan.describe(), estimate_bytes(plan).describe()]
    if source is not None:
        lines.insert(0, describe_changes(plan, source))
    return "\n".join(lines)
