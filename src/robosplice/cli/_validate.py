"""Rendering and exit code of `robosplice validate`: findings grouped by severity, errors first."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from robosplice.errors import SEVERITIES, Problem


def render_problems(root: Path, problems: Sequence[Problem], *, as_json: bool) -> str:
    """Text (a count per severity, then one line each, errors first) or a JSON list."""
    ordered = sorted(problems, key=lambda p: SEVERITIES.index(p.severity))
    if as_json:
        rows = [
            {
                "file": p.file,
                "loc": p.loc,
                "kind": p.kind,
                "severity": p.severity,
                "message": p.message,
            }
            for p in ordered
        ]
        return json.dumps(rows, indent=2)
    if not problems:
        return f"{root}: valid"
    counts = [
        f"{count} {severity}(s)"
        for severity in SEVERITIES
        if (count := sum(p.severity == severity for p in problems))
    ]
    verdict = "" if any(p.severity == "error" for p in problems) else " (loads and trains)"
    lines = [f"{root}: {', '.join(counts)}{verdict}"]
    lines.extend(f"  - {problem}" for problem in ordered)
    return "\n".join(lines)


def validate_exit_code(problems: Sequence[Problem], *, strict: bool) -> int:
    """1 when there is an error, or with `strict` a warning; else 0."""
    failing = {"error", "warning"} if strict else {"error"}
    return 1 if any(p.severity in failing for p in problems) else 0
