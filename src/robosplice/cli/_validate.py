"""Rendering and exit code of `robosplice validate`: findings grouped by severity, errors first.

A class of problem with many instances (90 missing files of one camera) is said once with its
count and a few examples, not once per file; `--json` still lists every one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from robosplice.errors import SEVERITIES, Problem

SHOWN_PER_KIND = 3  # a kind with more instances shows this many, then the count of the rest


def render_problems(root: Path, problems: Sequence[Problem], *, as_json: bool) -> str:
    """Text (a count per severity, then a line each, errors first; a kind with more than
    SHOWN_PER_KIND instances summarised) or a JSON list of every problem."""
    ordered = sorted(problems, key=lambda p: SEVERITIES.index(p.severity))
    if as_json:
        return json.dumps([p.to_json() for p in ordered], indent=2)
    if not problems:
        return f"{root}: valid"
    counts = [
        f"{count} {severity}(s)"
        for severity in SEVERITIES
        if (count := sum(p.severity == severity for p in problems))
    ]
    verdict = "" if any(p.severity == "error" for p in problems) else " (loads and trains)"
    lines = [f"{root}: {', '.join(counts)}{verdict}"]
    by_kind: dict[tuple[str, str], list[Problem]] = {}
    for problem in ordered:
        by_kind.setdefault((problem.severity, problem.kind), []).append(problem)
    for (severity, kind), same in by_kind.items():
        lines.extend(f"  - {problem}" for problem in same[:SHOWN_PER_KIND])
        if len(same) > SHOWN_PER_KIND:
            lines.append(
                f"  - … {len(same) - SHOWN_PER_KIND} more {severity}(s) of this kind"
                f" ({len(same)} in all) [{kind}]; --json lists every one"
            )
    return "\n".join(lines)


def validate_exit_code(problems: Sequence[Problem], *, strict: bool) -> int:
    """1 when there is an error, or with `strict` a warning; else 0."""
    failing = {"error", "warning"} if strict else {"error"}
    return 1 if any(p.severity in failing for p in problems) else 0
