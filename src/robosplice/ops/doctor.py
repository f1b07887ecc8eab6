"""`doctor`: every structural problem of `validate` plus the quality checks, as one report with
the recipe of fixes it proposes (delete frozen, NaN and duplicate episodes; trim idle heads and
tails). Reads only; never writes the dataset.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from robosplice._types import DatasetLike, ProgressReporter
from robosplice.checks import quality
from robosplice.checks.finding import Finding
from robosplice.checks.quality import KINDS, TITLES, QualityResult
from robosplice.checks.quality.thresholds import Thresholds
from robosplice.checks.registry import FAMILIES, run_checks
from robosplice.dataset import Dataset
from robosplice.errors import DatasetNotFoundError, RobospliceError
from robosplice.ops.validate import root_of
from robosplice.recipe import Kept, Recipe, Step, delete_step, make_recipe, parse_step, trim_step

_DELETE_REASONS = {
    "non_finite": "NaN/Inf values",
    "frozen_episode": "frozen episode",
    "duplicate_episode": "near-duplicate of an earlier episode",
}
QUALITY_KINDS = frozenset(kind.name for kind in KINDS)


@dataclass(frozen=True, slots=True, kw_only=True)
class DoctorReport:
    """What `doctor` found: the dataset, its size, and every finding (structural ones first)."""

    dataset: str
    root: Path
    episodes: int
    frames: int
    fps: float
    findings: tuple[Finding, ...]
    thresholds: Thresholds = field(default_factory=Thresholds)
    quality: QualityResult | None = None

    @property
    def exit_code(self) -> int:
        """0 when nothing is a warning or an error, else 1."""
        return 1 if any(f.severity in ("error", "warning") for f in self.findings) else 0

    def to_json(self) -> dict[str, Any]:
        """The `doctor --json` document."""
        return {
            "dataset": self.dataset,
            "episodes": self.episodes,
            "frames": self.frames,
            "findings": [finding.to_json() for finding in self.findings],
        }

    def recipe_steps(self) -> list[Step]:
        """The fixes the findings propose: deletions (one step per reason), then one trim step.

        Trims merge by the recipe's one rule (`robosplice.recipe.Kept`): a deleted episode's
        trims are left out, and two trims of one episode keep their intersection.

        Raises:
            SelectionError: two proposed trims of one episode do not overlap (both are named).
        """
        kept = Kept()
        steps: list[Step] = []
        for check, reason in _DELETE_REASONS.items():
            episodes = {
                f.episode
                for f in self.findings
                if f.check == check and f.fix is not None and f.episode is not None
            } - kept.deleted
            if episodes:
                kept = kept.deleting(episodes)
                steps.append(delete_step(episodes, reason))
        for finding in self.findings:
            if finding.fix is None or finding.fix.get("op") != "trim_episodes":
                continue
            fix = parse_step(finding.fix)
            ranges = {int(key): (r[0], r[1]) for key, r in fix.args["ranges"].items()}
            kept = kept.trimmed(ranges, by=TITLES.get(finding.check, finding.check))
        if kept.live_ranges():
            steps.append(
                trim_step(kept.live_ranges(), reason=" and ".join(sorted(kept.live_labels())))
            )
        return steps

    def recipe(self) -> Recipe:
        """The recipe of every proposed fix, for this dataset as it is now."""
        return make_recipe(self.root, self.recipe_steps(), created_by="doctor", path=self.dataset)

    def render_text(self) -> str:
        """The report people read: dataset-level findings, then findings grouped by episode,
        each episode with its proposed fix."""
        lines = [f"{self.dataset}: {self.episodes} episodes, {self.frames} frames"]
        counted = sum(1 for f in self.findings if f.severity != "info")
        if not self.findings:
            lines.append("no findings: the dataset looks clean")
            return "\n".join(lines)
        general = [f for f in self.findings if f.episode is None]
        if general:
            lines.append("dataset:")
            for finding in general:
                where = ": ".join(p for p in (finding.file, finding.loc) if p)
                if finding.feature is not None:
                    where = f"{finding.feature}[{finding.dimension}]"
                lines.append(
                    f"  {finding.severity:<7} {finding.check}: {where + ': ' if where else ''}"
                    f"{finding.message}"
                )
        steps = self.recipe_steps()
        episodes = sorted({f.episode for f in self.findings if f.episode is not None})
        for episode in episodes:
            lines.append(f"episode {episode}:")
            for finding in (f for f in self.findings if f.episode == episode):
                frames = (
                    f" frames {finding.frames[0]}–{finding.frames[1]}" if finding.frames else ""
                )
                lines.append(f"  {finding.severity:<7} {finding.check}{frames}: {finding.message}")
            fix = _episode_fix(steps, episode)
            if fix:
                lines.append(f"  → fix: {fix}")
        lines.append(
            f"{counted} warning(s)/error(s); 'robosplice doctor {self.dataset} --recipe FIX.json'"
            f" writes the fixes, 'robosplice apply FIX.json {self.dataset} OUT' applies them"
            if steps
            else f"{counted} warning(s)/error(s); no automatic fix proposed"
        )
        return "\n".join(lines)


def _episode_fix(steps: Sequence[Step], episode: int) -> str | None:
    for step in steps:
        if step.op == "delete_episodes" and episode in step.args["episode_indices"]:
            return f"delete the episode ({step.reason})"
        if step.op == "trim_episodes" and str(episode) in step.args["ranges"]:
            start, stop = step.args["ranges"][str(episode)]
            return f"keep frames [{start}, {stop})"
    return None


def doctor(
    dataset: DatasetLike,
    *,
    decode: bool = False,
    thresholds: Thresholds | None = None,
    progress: ProgressReporter | None = None,
) -> DoctorReport:
    """Diagnose `dataset`: validate's structural checks plus the quality checks over every
    episode (the registry's "structure" and "quality" groups). Returns a `DoctorReport`
    (`.findings`, `.to_json()`, `.recipe()`, `.exit_code`).

    Quality checks run whenever the data can be read, even next to other structural problems.

    Raises:
        DatasetNotFoundError: the folder does not exist.

    Example:
        >>> report = doctor("data/pusht")
        >>> apply(report.recipe(), "data/pusht", "data/pusht_clean")
    """
    limits = thresholds or Thresholds()
    given = str(dataset) if isinstance(dataset, (str, os.PathLike)) else None
    root = root_of(dataset)
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root}: no such folder")
    results: list[QualityResult] = []
    families = [
        dataclasses.replace(
            family, run=functools.partial(quality.run, thresholds=limits, results=results)
        )
        if family.name == "quality"
        else family
        for family in FAMILIES
    ]
    findings = run_checks(
        root, groups=("structure", "quality"), decode=decode, progress=progress, families=families
    )
    structural = [f for f in findings if f.check not in QUALITY_KINDS]
    ordered = sorted(
        (f for f in findings if f.check in QUALITY_KINDS),
        key=lambda f: (
            f.episode is not None,
            f.episode if f.episode is not None else -1,
            f.frames or (0, 0),
            f.check,
            f.feature or "",
            f.dimension if f.dimension is not None else -1,
        ),
    )
    try:
        handle = Dataset(root)
        size = (handle.num_episodes, handle.num_frames, float(handle.fps))
    except (RobospliceError, OSError, ValueError, KeyError, pa.ArrowException):
        size = (0, 0, 0.0)
    return DoctorReport(
        dataset=given if given is not None else str(root),
        root=root,
        episodes=size[0],
        frames=size[1],
        fps=size[2],
        findings=(*structural, *ordered),
        thresholds=limits,
        quality=results[0] if results else None,
    )
