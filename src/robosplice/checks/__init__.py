"""Checks of a dataset: one finding type, one registry, a module per family (DESIGN.md "Next layers").

`validate` runs the structural families, `doctor` adds the quality ones, and an edit's pre-flight
asks which findings would make its output wrong. Judging a dataset never edits it.

Layout:
    finding.py      `Finding`: what a check found (check id, severity, where, message, fix).
    kinds.py        `Kind`: a kind's id, severity, meaning and why it has that severity.
    context.py      `Context`: the dataset, the findings so far, and what earlier families
                    learned (info, tasks, episode rows, data spans, stats); kinds any family
                    may report (missing_file, corrupt_parquet, check_failed, ...).
    registry.py     `FAMILIES` in run order, `KINDS` and `SEVERITY` over all of them,
                    `run_checks(root, groups=...)`.
    validate.py     `validate_dataset`: the "structure" group, as `Problem`s.
    info.py, tasks.py, episodes.py, data.py, consistency.py, stats.py, stale_stats.py,
    video.py, camera_stats.py
                    the structural families, in run order (camera_stats only with decode).

Adding a family (e.g. doctor's quality checks):
    1. Write `robosplice/checks/<family>.py` with
       - `KINDS: tuple[Kind, ...]`: each kind it reports, with its severity ("error": the
         official loader fails or returns wrong frames/values, or a trainer gets wrong numbers;
         "warning": it loads and trains but something is missing or unusual; "info": worth
         knowing) and `why`, the reason for that severity, next to the code that decides it;
       - `run(ctx: Context) -> None`: reads `ctx.root`, `ctx.features`, `ctx.episodes`,
         `ctx.summary`, ... and calls `ctx.report(file, loc, kind, message, episode=...,
         feature=..., dimension=..., frames=..., fix=...)` or `ctx.add(Finding(...))`.
    2. Add one line to `registry.FAMILIES`:
       `Family(name="<family>", group="quality", kinds=<family>.KINDS, run=<family>.run)`.
    `run_checks(root, groups=("structure", "quality"))` then runs it after the structural
    families; `validate` (group "structure") does not. The README severity table is tested
    against `KINDS`, so a new kind needs a README row too.
"""

from robosplice.checks.finding import SEVERITIES, Finding, Severity
from robosplice.checks.info import validate_info
from robosplice.checks.kinds import Kind
from robosplice.checks.registry import FAMILIES, KINDS, SEVERITY, Family, run_checks
from robosplice.checks.stats import validate_stats
from robosplice.checks.validate import PROBLEM_KINDS, validate_dataset

__all__ = [
    "FAMILIES",
    "KINDS",
    "PROBLEM_KINDS",
    "SEVERITIES",
    "SEVERITY",
    "Family",
    "Finding",
    "Kind",
    "Severity",
    "run_checks",
    "validate_dataset",
    "validate_info",
    "validate_stats",
]
