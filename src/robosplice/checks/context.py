"""`Context`: what one run of the checks shares — the dataset, the findings, and what earlier
families learned (info, tasks, episode rows, data spans, stats) for the later ones.

A family reads the context's results from the families before it (`registry.FAMILIES` order)
and reports through `Context.report`, which gives each finding the severity of its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from robosplice._types import ProgressReporter
from robosplice.checks._common import LOADER as _LOADER
from robosplice.checks._common import WRONG as _WRONG
from robosplice.checks.finding import Finding
from robosplice.checks.kinds import Kind, OnEdit, in_file, rebuilt
from robosplice.errors import Problem, Severity
from robosplice.format.info import Features
from robosplice.format.paths import STATS_PATH

__all__ = ["KINDS", "Context", "DataSummary", "EpisodeRows", "Span"]

_T = TypeVar("_T")

STATS_JSON_REBUILT: Final = rebuilt("aggregated from the episodes' stats", file=STATS_PATH)
"""An edit's rule for a meta/stats.json that is missing, unreadable or incomplete: its output
aggregates stats.json anew from the episodes' stats."""
_STATS_JSON_FILE: Final = OnEdit(
    decide=STATS_JSON_REBUILT, repaired_by_recompute=in_file(STATS_PATH)
)

KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="missing_file", severity="error",
         meaning="a required file (info, tasks, episodes, data, stats) or a file an episode row"
         " references does not exist",
         why=f"{_LOADER} (or goes to the Hub for it); without stats.json a trainer cannot"
         " normalize",
         on_edit=_STATS_JSON_FILE),
    Kind(name="invalid_json", severity="error",
         meaning="meta/info.json or meta/stats.json is not a JSON object",
         why=f"{_LOADER}", on_edit=_STATS_JSON_FILE),
    Kind(name="corrupt_parquet", severity="error",
         meaning="a Parquet file cannot be read", why=f"{_LOADER}"),
    Kind(name="missing_column", severity="error",
         meaning="a data file lacks a feature column, or an episodes/tasks file a column the"
         " loader reads",
         why=f"{_LOADER}"),
    Kind(name="missing_value", severity="error",
         meaning="a null where the loader needs a value", why=f"{_LOADER} or {_WRONG}"),
    Kind(name="bad_column_type", severity="error",
         meaning="a column's Arrow type cannot be cast to its feature's type",
         why=f"{_LOADER} (the cast fails)"),
    Kind(name="check_failed", severity="error",
         meaning="a check stopped on an unexpected error (the message has it; please report it)",
         why="nothing after the failure was checked, so the dataset cannot be called loadable"),
)  # fmt: skip
"""Kinds every family may report (files that are missing, unreadable or lack a column)."""


@dataclass(slots=True)
class Span:
    """Where one episode's data rows are (global row positions) and which tasks they use."""

    file: str
    first_row: int
    stop_row: int
    task_indices: set[int] = field(default_factory=set)


@dataclass(slots=True)
class DataSummary:
    """What streaming the data files found, for the checks against the episode rows."""

    spans: dict[int, Span] = field(default_factory=dict)
    total_rows: int = 0
    complete: bool = True  # every data file read in full, so row positions are the loader's
    index_findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class EpisodeRows:
    """The non-stats columns of every episode row, concatenated in the loader's order."""

    columns: dict[str, list[Any]]
    files: list[str]  # the episodes file of each row
    skipped_video_keys: frozenset[str]  # video keys whose columns are missing somewhere

    @property
    def num_rows(self) -> int:
        return len(self.files)

    def episode_index(self, row: int) -> int | None:
        value = self.columns["episode_index"][row]
        return int(value) if value is not None else None

    def where(self, row: int) -> str:
        """Loc of a row: `episode N`, or `row N` when its episode_index is null."""
        episode = self.episode_index(row)
        return f"episode {episode}" if episode is not None else f"row {row}"


class Context:
    """One run of the checks over the dataset at `root`: findings so far and shared results."""

    def __init__(
        self,
        root: Path,
        *,
        severities: Mapping[str, Severity],
        decode: bool = False,
        progress: ProgressReporter | None = None,
    ) -> None:
        self.root = root
        self.decode = decode
        self.progress = progress
        self.severities = severities
        self.findings: list[Finding] = []
        self.stop = False  # set by a family after which nothing else can be checked
        # Results of the structural families, for the families after them.
        self.info: dict[str, Any] | None = None
        self.features: Features = {}
        self.fps: float | None = None
        self.tasks: list[str] | None = None
        self.episodes: EpisodeRows | None = None
        self.summary = DataSummary(complete=False)
        self.stats: dict[str, Any] | None = None
        self.range_reported: set[int] = set()  # episode rows with a bad_episode_range already

    # --- reporting --------------------------------------------------------------------------

    def finding(self, file: str, loc: str, kind: str, message: str, **where: Any) -> Finding:
        """A finding of `kind` with its registered severity; `where` adds episode, feature, ...

        A loc `episode N` also sets the finding's `episode`.
        """
        if "episode" not in where and loc.startswith("episode "):
            number = loc.removeprefix("episode ")
            where["episode"] = int(number) if number.lstrip("-").isdigit() else None
        return Finding(
            check=kind,
            severity=self.severities[kind],
            message=message,
            file=file,
            loc=loc,
            **where,
        )

    def report(self, file: str, loc: str, kind: str, message: str, **where: Any) -> None:
        """Add a finding (see `finding`)."""
        self.findings.append(self.finding(file, loc, kind, message, **where))

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def add_problems(self, problems: list[Problem]) -> None:
        """Add the `Problem`s of a pure check (validate_info, validate_stats) as findings."""
        self.findings.extend(Finding.from_problem(problem) for problem in problems)

    def has_errors(self, where: Callable[[Finding], bool] = lambda finding: True) -> bool:
        """Whether a finding so far that matches `where` is an error."""
        return any(f.severity == "error" and where(f) for f in self.findings)

    def guarded(self, file: str, fallback: _T, check: Callable[[], _T]) -> _T:
        """Run one check; an unexpected error becomes a finding so the other checks still run."""
        try:
            return check()
        except Exception as exc:  # checks must never raise on a broken dataset
            self.report(
                file,
                "",
                "check_failed",
                f"the check stopped on {exc.__class__.__name__}: {exc}; the dataset is likely"
                " broken here in a way robosplice does not recognize (please report it)",
            )
            return fallback

    # --- helpers ----------------------------------------------------------------------------

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def start_phase(self, description: str, total: int) -> None:
        if self.progress is not None:
            self.progress.start(description, total)

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(1)

    def finish_phase(self) -> None:
        if self.progress is not None:
            self.progress.finish()
