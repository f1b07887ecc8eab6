"""Pre-flight policy: which problems of a source stop an edit, and which its output repairs.

An edit refuses a source only for problems that would make its output wrong or unloadable, or
lose data. Everything else is handled and reported (a `SourceNote` per problem):

- **rebuilt**: metadata the output derives anew — the episodes' `tasks` from the frames'
  task_index, `length` and `data/*` and `meta/episodes/*` positions from the files, per-episode
  stats from the rows (cameras from sampled frames), stats.json from the episodes' stats,
  tasks.parquet with its pandas index, info totals; stale or NaN stats recomputed from the rows.
- **carried**: unusual but harmless metadata the official loader accepts, kept as it is (e.g.
  (3, 1, 1) stats of a one-channel depth camera, a duplicated task string).

Anything else that `validate` calls an error refuses the source, as before. The decision for each
kind is declared with the kind, next to its check and the reason (`Kind.on_edit`,
`robosplice/checks/kinds.py`); this module applies it, and knows no kind by name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robosplice.checks.kinds import EditFacts, Handling, OnEdit
from robosplice.checks.registry import KIND_OF
from robosplice.dataset import Dataset
from robosplice.errors import Problem
from robosplice.format.paths import STATS_PATH
from robosplice.history import public_name
from robosplice.plan.model import Plan

__all__ = ["Handling", "Preflight", "SourceNote", "on_edit", "repaired", "triage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceNote:
    """A problem of a source the edit handles: how (`handling`) and what the output does."""

    source: Path
    problem: Problem
    handling: Handling
    action: str

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.problem.file, self.problem.loc) if part)
        return f"{self.source}: {where}: {self.problem.kind} → {self.handling}: {self.action}"

    def to_json(self) -> dict[str, Any]:
        """The edit log's shape of a note."""
        return {
            "source": public_name(self.source),
            "file": self.problem.file,
            "loc": self.problem.loc,
            "kind": self.problem.kind,
            "severity": self.problem.severity,
            "handling": self.handling,
            "action": self.action,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Preflight:
    """What pre-flight found: problems that refuse the edit, and the notes of the handled ones."""

    refused: Mapping[Path, Sequence[Problem]]
    notes: tuple[SourceNote, ...]

    def apply(self, plan: Plan) -> Plan:
        """`plan` with the stats the notes mark stale or malformed rebuilt instead of carried."""
        numbers: dict[Path, list[int]] = {}
        for number, root in enumerate(plan.sources):
            numbers.setdefault(root, []).append(number)
        episodes: set[tuple[int, int, str]] = set(plan.stats.stale_episodes)
        dataset: set[tuple[int, str]] = set(plan.stats.stale_dataset)
        for note in self.notes:
            target = _stale_stats_target(note)
            if target is None:
                continue
            episode, feature = target
            for number in numbers.get(note.source, []):
                if episode is None:
                    dataset.add((number, feature))
                else:
                    episodes.add((number, episode, feature))
        if episodes == plan.stats.stale_episodes and dataset == plan.stats.stale_dataset:
            return plan
        stats = dataclasses.replace(
            plan.stats, stale_episodes=frozenset(episodes), stale_dataset=frozenset(dataset)
        )
        return dataclasses.replace(plan, stats=stats)

    def summary_lines(self) -> list[str]:
        """One line per (source, kind, handling): what was found, where, and what the output does."""
        groups: dict[tuple[Path, str, Handling, str], list[str]] = {}
        for note in self.notes:
            key = (note.source, note.problem.kind, note.handling, note.action)
            groups.setdefault(key, []).append(note.problem.loc or note.problem.file)
        lines = []
        for (source, kind, handling, action), locs in groups.items():
            shown = ", ".join(dict.fromkeys(locs))
            if len(shown) > 100:
                shown = shown[:99] + "…"
            lines.append(f"{source}: {kind} ({len(locs)}: {shown}) {handling}: {action}")
        return lines


def triage(
    sources: Iterable[Path], found: Mapping[Path, Sequence[Problem]], plan: Plan
) -> Preflight:
    """Sort every source's problems into refused ones and handled ones (`SourceNote`s)."""
    refused: dict[Path, list[Problem]] = {}
    notes: list[SourceNote] = []
    for root in sources:
        features = _features(root)
        for problem in found.get(root, ()):
            handling, action = _handling(problem, plan, features)
            if handling == "refused":
                refused.setdefault(root, []).append(problem)
            else:
                notes.append(
                    SourceNote(source=root, problem=problem, handling=handling, action=action)
                )
    return Preflight(refused=refused, notes=tuple(notes))


def on_edit(problem: Problem) -> OnEdit | None:
    """How an edit handles a finding of this problem's kind, as the kind declares it."""
    kind = KIND_OF.get(problem.kind)
    return kind.on_edit if kind is not None else None


def repaired(problem: Problem, plan: Plan) -> bool:
    """Whether the output of `plan` fixes `problem` by construction (so it need not stop it)."""
    rule = on_edit(problem)
    return plan.stats.recompute and rule is not None and rule.repaired_by_recompute(problem)


def _handling(problem: Problem, plan: Plan, features: Mapping[str, Any]) -> tuple[Handling, str]:
    """How an edit treats one problem of a source, and what its output does about it."""
    rule = on_edit(problem)
    if rule is not None:
        facts = EditFacts(features=features, recomputes_stats=plan.stats.recompute)
        decided = rule.decide(problem, facts)
        if decided is not None:
            return decided
    if problem.severity != "error":
        # A warning loads and trains: never a reason to refuse an edit.
        return "carried", "kept as the source has it"
    return "refused", ""


def _stale_stats_target(note: SourceNote) -> tuple[int | None, str] | None:
    """(source episode or None for stats.json, source feature) whose stats must be rebuilt."""
    problem = note.problem
    if note.handling != "rebuilt":
        return None
    features = _features(note.source)
    if problem.file == STATS_PATH:
        feature = _feature_in(problem.loc, features, separators=(".",))
        return (None, feature) if feature is not None else None
    rule = on_edit(problem)
    if rule is None or not rule.names_stale_stats or not problem.loc.startswith("episode "):
        return None
    # checks/stale_stats.py messages start with "stats/<feature>/<key> …" or "stats/<feature>: …".
    text = problem.message.removeprefix("stats/")
    feature = _feature_in(text, features, separators=("/", ":"))
    try:
        episode = int(problem.loc.removeprefix("episode ").split()[0])
    except (ValueError, IndexError):
        return None
    return (episode, feature) if feature is not None else None


def _feature_in(text: str, features: Mapping[str, Any], *, separators: Sequence[str]) -> str | None:
    """The longest feature name `text` starts with, followed by a separator or nothing."""
    matches = [
        name
        for name in features
        if text == name or any(text.startswith(name + sep) for sep in separators)
    ]
    return max(matches, key=len) if matches else None


def _features(root: Path) -> Mapping[str, Any]:
    try:
        features = Dataset(root).features
    except Exception:
        return {}
    return features if isinstance(features, dict) else {}
