"""`Finding`: one thing a check found in a dataset, shared by `validate`, `doctor` and the review page.

A finding says which check saw it, how bad it is, where (file/location for structural problems;
episode, feature, dimension and frames for quality problems) and, when a fix is known, the recipe
step that would fix it. It is a value: no I/O, JSON in and out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from robosplice.errors import SEVERITIES, Problem, Severity

__all__ = ["SEVERITIES", "Finding", "Severity"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One finding: `check` (its id), `severity`, where, a message, and the recipe step that fixes it.

    Severities: **error** — the official loader fails or returns wrong frames/values, or a trainer gets
    wrong numbers; **warning** — it loads and trains, but something is missing or unusual; **info** —
    worth knowing, nothing to fix.
    """

    check: str
    severity: Severity
    message: str
    file: str | None = None
    loc: str | None = None
    episode: int | None = None
    other_episode: int | None = None
    feature: str | None = None
    dimension: int | None = None
    dimension_name: str | None = None
    frames: tuple[int, int] | None = None
    fix: Mapping[str, Any] | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.loc) if part)
        if not where and self.episode is not None:
            where = f"episode {self.episode}"
        prefix = f"{where}: " if where else ""
        return f"{self.severity}: {prefix}{self.message} [{self.check}]"

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of `doctor --json` / `validate --json` (every key present, nulls included)."""
        return {
            "check": self.check,
            "severity": self.severity,
            "episode": self.episode,
            "other_episode": self.other_episode,
            "feature": self.feature,
            "dimension": self.dimension,
            "dimension_name": self.dimension_name,
            "frames": list(self.frames) if self.frames is not None else None,
            "file": self.file,
            "loc": self.loc,
            "message": self.message,
            "fix": dict(self.fix) if self.fix is not None else None,
        }

    @property
    def kind(self) -> str:
        """The check id under the name `Problem` uses."""
        return self.check

    def to_problem(self) -> Problem:
        """The `Problem` that `validate` returns and `InvalidDatasetError.problems` lists."""
        loc = self.loc if self.loc is not None else ""
        if not loc and self.episode is not None:
            loc = f"episode {self.episode}"
        return Problem(
            file=self.file or "",
            loc=loc,
            kind=self.check,
            message=self.message,
            severity=self.severity,
        )

    @classmethod
    def from_problem(cls, problem: Problem) -> Finding:
        """A structural `Problem` as a finding (its loc `episode N` sets `episode`)."""
        number = problem.loc.removeprefix("episode ")
        episode = int(number) if problem.loc.startswith("episode ") and number.isdigit() else None
        return cls(
            check=problem.kind,
            severity=problem.severity,
            message=problem.message,
            file=problem.file,
            loc=problem.loc,
            episode=episode,
        )

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Finding:
        """Parse the shape `to_json` writes."""
        frames = value.get("frames")
        return cls(
            check=str(value["check"]),
            severity=value["severity"],
            message=str(value["message"]),
            file=value.get("file"),
            loc=value.get("loc"),
            episode=value.get("episode"),
            other_episode=value.get("other_episode"),
            feature=value.get("feature"),
            dimension=value.get("dimension"),
            dimension_name=value.get("dimension_name"),
            frames=(int(frames[0]), int(frames[1])) if frames is not None else None,
            fix=value.get("fix"),
        )
