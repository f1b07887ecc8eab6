"""The exception tree of robosplice, and `Problem`, one finding of a check.

```
RobospliceError
├── DatasetError
│   ├── DatasetNotFoundError (FileNotFoundError)
│   ├── InvalidDatasetError (ValueError)      .problems: list[Problem]
│   │   └── UnsafePathError                    a path metadata names leaves the dataset folder
│   └── UnsupportedVersionError
├── SelectionError (ValueError)               bad episode indices, splits, ranges, features
│   ├── EditConflictError                      a review edit against the pending ones (HTTP 409)
│   └── OutputRefusedError                     an output folder the review page may not write
├── HubError                                   a Hub repo, revision or transfer not usable as asked
├── IncompatibleDatasetsError (ValueError)    .differences: list[str]
├── OutputExistsError (FileExistsError)
├── OutputLockedError                          another robosplice writes the same target
├── RecipeError (ValueError)                  a recipe file that is not valid
│   └── SourceMismatchError                    the recipe was made for other data (fingerprint)
├── InvalidBackendError (ValueError)          an unknown backend, or workers < 1
├── UnitFailedError                            a work unit failed twice; nothing was published
└── VideoError                                 a video file PyAV cannot read or write
```
Library errors (pyarrow, PyAV) are translated into these at the `format/` boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Severity = Literal["error", "warning", "info"]
"""How bad a finding is (README "Severities"): **error** — the official loader fails or returns wrong
frames/values, or a trainer gets wrong numbers; **warning** — it loads and trains, but something is
missing or unusual; **info** — worth knowing, nothing to fix."""
SEVERITIES: Final[tuple[Severity, ...]] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One thing wrong with a dataset: where (file and location), what kind, how bad, a message.

    `severity` comes from the kind (`robosplice.checks.KINDS`); a reader that refuses a file
    reports an error.
    """

    file: str
    loc: str
    kind: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}: {self.loc}" if self.loc else self.file
        return f"{self.severity}: {where}: {self.message} [{self.kind}]"

    def to_json(self) -> dict[str, str]:
        """`validate --json`'s shape of a problem (`Problem(**shape)` reads it back)."""
        return {
            "file": self.file,
            "loc": self.loc,
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
        }


class RobospliceError(Exception):
    """Base class of every error robosplice raises on purpose."""


class DatasetError(RobospliceError):
    """A dataset cannot be read as LeRobot v3.0."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The path holds no dataset."""


class InvalidDatasetError(DatasetError, ValueError):
    """A dataset breaks the format; `.problems` lists every finding."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class UnsupportedVersionError(DatasetError):
    """The dataset's codebase_version is not one robosplice reads."""


class SelectionError(RobospliceError, ValueError):
    """The arguments of an edit select nothing valid (episodes, splits, ranges, features, tasks)."""


class EditConflictError(SelectionError):
    """An edit that contradicts the pending ones or the dataset (HTTP 409 on the page)."""


class OutputRefusedError(SelectionError):
    """An output folder the page may not write (the source, inside it, or an existing folder)."""


class IncompatibleDatasetsError(RobospliceError, ValueError):
    """Datasets to merge disagree; `.differences` lists every difference."""

    def __init__(self, message: str, differences: list[str] | None = None) -> None:
        self.differences = list(differences or [])
        if self.differences:
            message = message + "\n" + "\n".join(f"  - {d}" for d in self.differences)
        super().__init__(message)


class OutputExistsError(RobospliceError, FileExistsError):
    """The output folder exists and overwriting was not asked for."""


class OutputLockedError(RobospliceError):
    """Another robosplice process is writing the same output."""


class VideoError(RobospliceError):
    """A video file cannot be read, or its packets cannot be cut losslessly."""


class RecipeError(RobospliceError, ValueError):
    """A recipe is not valid JSON, not version 1, or has an unknown op or bad arguments."""


class SourceMismatchError(RecipeError):
    """A recipe's source fingerprint differs from the dataset it is applied to."""


class InvalidBackendError(RobospliceError, ValueError):
    """An unknown backend name or a worker count below 1 (raised before anything is written)."""


class UnitFailedError(RobospliceError):
    """A work unit failed twice (first try and one retry); nothing was published."""


class UnsafePathError(InvalidDatasetError):
    """A path that dataset metadata names leaves the dataset folder (absolute, `..`, a symlink out).

    A dataset from the Hub is untrusted input: following such a path would read (and an edit or a
    push would carry along) files the dataset does not own.
    """


class HubError(RobospliceError):
    """A Hub repository, revision or transfer cannot be used as asked (`robosplice pull`/`push`)."""
