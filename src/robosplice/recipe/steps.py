"""The vocabulary of edits: one `StepSpec` per recipe op, registered in `SPECS`.

A spec says everything about one op: its name, its arguments and their checks (`parse`), how it
folds into what the recipe does to its source (`fold`, into `Folded`; `ops.apply` makes the plan)
and its README row. To add an op, write its two functions and one `StepSpec(...)` line here;
`scripts/update_readme_tables.py` regenerates the README table. Every episode index and frame
range refers to the SOURCE dataset, never to the output of an earlier step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from robosplice.dataset import Dataset
from robosplice.errors import SelectionError
from robosplice.recipe._args import episode_key, fail, frame_range, int_list, is_int, str_map
from robosplice.recipe.folded import Folded
from robosplice.recipe.kept import Range
from robosplice.recipe.select import check_episode_indices, episodes_matching

Args = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepSpec:
    """One recipe op: its arguments, their checks, how it folds, its README row."""

    op: str
    keys: tuple[str, ...]
    """The argument names it takes."""
    doc: str
    """The README row's text for its arguments."""
    parse: Callable[[str, Mapping[str, Any]], Args]
    """Normalized arguments, or a RecipeError naming `where` (first argument) and the key."""
    fold: Callable[[Folded, Mapping[str, Any], Dataset, str], None]
    """Fold checked arguments into `Folded`, or raise SelectionError naming `where` (last)."""
    chooses_episodes: bool = False


# -- episode and frame steps ----------------------------------------------------------------------


def _parse_indices(op: str, *, may_be_empty: bool) -> Callable[[str, Mapping[str, Any]], Args]:
    def parse(where: str, args: Mapping[str, Any]) -> Args:
        if "episode_indices" not in args:
            raise fail(where, f"{op} needs 'episode_indices'")
        indices = int_list(f"{where}.episode_indices", args["episode_indices"])
        if not indices and not may_be_empty:
            raise fail(where, f"{op} with no episode_indices does nothing; drop it")
        return {"episode_indices": indices}

    return parse


def _fold_delete(folded: Folded, args: Mapping[str, Any], dataset: Dataset, where: str) -> None:
    chosen = check_episode_indices(dataset, args["episode_indices"], what=where)
    folded.kept = folded.kept.deleting(chosen)


def _fold_keep(folded: Folded, args: Mapping[str, Any], dataset: Dataset, where: str) -> None:
    chosen = check_episode_indices(dataset, args["episode_indices"], what=where)
    folded.kept = folded.kept.keeping(chosen, dataset.num_episodes)


def _parse_trim(where: str, args: Mapping[str, Any]) -> Args:
    ranges = args.get("ranges")
    if not isinstance(ranges, Mapping) or not ranges:
        raise fail(where, f"trim_episodes needs 'ranges': {{\"4\": [15, 240]}}, got {ranges!r}")
    return {
        "ranges": {
            episode_key(f"{where}.ranges", key): frame_range(f"{where}.ranges.{key}", value)
            for key, value in ranges.items()
        }
    }


def _fold_trim(folded: Folded, args: Mapping[str, Any], dataset: Dataset, where: str) -> None:
    ranges: dict[int, Range] = {int(key): (r[0], r[1]) for key, r in args["ranges"].items()}
    check_episode_indices(dataset, list(ranges), what=where)
    for episode, (start, stop) in ranges.items():
        length = dataset.episodes[episode].length
        if stop > length:
            raise SelectionError(
                f"{where}: episode {episode} range [{start}, {stop}) is outside its frames"
                f" 0–{length} (stop must be ≤ {length})"
            )
    folded.kept = folded.kept.trimmed(ranges, by=where)


_FILTER_KEYS: Final = ("episodes", "tasks", "task_regex", "min_length", "max_length")


def _parse_filter(where: str, args: Mapping[str, Any]) -> Args:
    if not args:
        raise fail(where, f"filter_episodes needs at least one of {list(_FILTER_KEYS)}")
    out: Args = {}
    if "episodes" in args:
        out["episodes"] = int_list(f"{where}.episodes", args["episodes"])
    if "tasks" in args:
        tasks = args["tasks"]
        if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
            raise fail(f"{where}.tasks", f"expected a list of task strings, got {tasks!r}")
        out["tasks"] = list(tasks)
    if "task_regex" in args:
        if not isinstance(args["task_regex"], str):
            raise fail(f"{where}.task_regex", "expected a regular expression string")
        out["task_regex"] = args["task_regex"]
    for key in ("min_length", "max_length"):
        if key in args:
            if not is_int(args[key]) or args[key] < 0:
                raise fail(f"{where}.{key}", f"expected an integer ≥ 0, got {args[key]!r}")
            out[key] = int(args[key])
    return out


def _fold_filter(folded: Folded, args: Mapping[str, Any], dataset: Dataset, where: str) -> None:
    tasks: list[str | re.Pattern[str]] = list(args.get("tasks", []))
    if "task_regex" in args:
        tasks.append(re.compile(args["task_regex"]))
    try:
        matching = episodes_matching(
            dataset,
            episodes=args.get("episodes"),
            tasks=tasks or None,
            min_length=args.get("min_length"),
            max_length=args.get("max_length"),
        )
    except SelectionError as exc:
        raise SelectionError(f"{where}: {exc}") from exc
    folded.kept = folded.kept.keeping(matching, dataset.num_episodes)


# -- feature, task and stats steps ----------------------------------------------------------------


def _parse_remove(where: str, args: Mapping[str, Any]) -> Args:
    names = args.get("feature_names")
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise fail(where, f"remove_feature needs 'feature_names': [str], got {names!r}")
    return {"feature_names": list(names)}


def _missing_feature(where: str, name: str, current: Iterable[str]) -> SelectionError:
    return SelectionError(
        f"{where}: feature '{name}' is not in the dataset at this step; it has {sorted(current)}"
    )


def _fold_remove(folded: Folded, args: Mapping[str, Any], dataset: Dataset, where: str) -> None:
    for name in args["feature_names"]:
        if name not in folded.names:
            raise _missing_feature(where, name, folded.names)
        folded.removed.append(folded.names.pop(name))


def _parse_rename(where: str, args: Mapping[str, Any]) -> Args:
    renames = str_map(f"{where}.renames", args.get("renames"))
    if not renames:
        raise fail(where, "rename_feature needs 'renames': {old: new}")
    return {"renames": renames}


def _fold_rename(folded: Folded, args: Mapping[str, Any], dataset: Dataset, where: str) -> None:
    renamed = dict(folded.names)
    for old, new in args["renames"].items():
        if old not in folded.names:
            raise _missing_feature(where, old, folded.names)
        renamed[new] = renamed.pop(old)
    if len(renamed) != len(folded.names):
        raise SelectionError(f"{where}: a new name is already taken by another feature")
    folded.names = renamed


_TASK_KEYS: Final = ("new_task", "episode_tasks", "task_replacements")


def _parse_tasks(where: str, args: Mapping[str, Any]) -> Args:
    if not args:
        raise fail(where, f"modify_tasks needs at least one of {list(_TASK_KEYS)}")
    out: Args = {}
    if "new_task" in args:
        if not isinstance(args["new_task"], str) or not args["new_task"]:
            raise fail(f"{where}.new_task", "expected a non-empty string")
        out["new_task"] = args["new_task"]
    if "episode_tasks" in args:
        tasks = str_map(f"{where}.episode_tasks", args["episode_tasks"])
        out["episode_tasks"] = {episode_key(where, k): v for k, v in tasks.items()}
    if "task_replacements" in args:
        out["task_replacements"] = str_map(f"{where}.task_replacements", args["task_replacements"])
    return out


def _fold_tasks(folded: Folded, args: Mapping[str, Any], dataset: Dataset, where: str) -> None:
    if "new_task" in args:
        folded.tasks["new_task"] = args["new_task"]
    for key in ("episode_tasks", "task_replacements"):
        if key in args:
            folded.tasks.setdefault(key, {}).update(args[key])


def _parse_stats(where: str, args: Mapping[str, Any]) -> Args:
    if "skip_image_video" in args and not isinstance(args["skip_image_video"], bool):
        raise fail(f"{where}.skip_image_video", "expected true or false")
    return dict(args)


def _fold_stats(folded: Folded, args: Mapping[str, Any], dataset: Dataset, where: str) -> None:
    folded.stats_skips.append(args.get("skip_image_video", True))


# -- the registry ---------------------------------------------------------------------------------

SPECS: Final[tuple[StepSpec, ...]] = (
    StepSpec(op="delete_episodes", keys=("episode_indices",), doc="`episode_indices`: [int]",
             parse=_parse_indices("delete_episodes", may_be_empty=False), fold=_fold_delete,
             chooses_episodes=True),
    StepSpec(op="keep_episodes", keys=("episode_indices",),
             doc="`episode_indices`: [int] (every other episode is dropped)",
             parse=_parse_indices("keep_episodes", may_be_empty=True), fold=_fold_keep,
             chooses_episodes=True),
    StepSpec(op="trim_episodes", keys=("ranges",), doc='`ranges`: {"episode": [start, stop]}',
             parse=_parse_trim, fold=_fold_trim, chooses_episodes=True),
    StepSpec(op="filter_episodes", keys=_FILTER_KEYS,
             doc="any of `episodes` [int], `tasks` [str] (exact), `task_regex` str,"
             " `min_length`, `max_length` int",
             parse=_parse_filter, fold=_fold_filter, chooses_episodes=True),
    StepSpec(op="remove_feature", keys=("feature_names",), doc="`feature_names`: [str]",
             parse=_parse_remove, fold=_fold_remove),
    StepSpec(op="rename_feature", keys=("renames",),
             doc="`renames`: {old: new} (names as left by the steps before)",
             parse=_parse_rename, fold=_fold_rename),
    StepSpec(op="modify_tasks", keys=_TASK_KEYS,
             doc='any of `new_task` str, `episode_tasks` {"episode": str},'
             " `task_replacements` {old: new}",
             parse=_parse_tasks, fold=_fold_tasks),
    StepSpec(op="recompute_stats", keys=("skip_image_video",),
             doc="optional `skip_image_video` bool (default true)",
             parse=_parse_stats, fold=_fold_stats),
)  # fmt: skip
"""Every op, in the README's order."""

SPEC_OF: Final[Mapping[str, StepSpec]] = {spec.op: spec for spec in SPECS}
OPS: Final = tuple(spec.op for spec in SPECS)
EPISODE_OPS: Final = tuple(spec.op for spec in SPECS if spec.chooses_episodes)
"""Steps that choose episodes and frames."""
OTHER_OPS: Final = tuple(spec.op for spec in SPECS if not spec.chooses_episodes)
_STEP_KEYS: Final = frozenset({"op", "args", "reason"})


def check_args(where: str, op: str, args: Mapping[str, Any]) -> Args:
    """The arguments of one step, normalized, or a RecipeError naming the step and the key."""
    if op not in SPEC_OF:
        raise fail(where, f"unknown op {op!r}; known ops: {', '.join(OPS)}")
    spec = SPEC_OF[op]
    unknown = sorted(set(args) - set(spec.keys))
    if unknown:
        raise fail(where, f"{op} takes {list(spec.keys)}, got unknown {unknown}")
    return spec.parse(where, args)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One edit: an op name, its JSON arguments (normalized), and why."""

    op: str
    args: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.op not in SPEC_OF:
            raise fail("step", f"unknown op {self.op!r}; known ops: {', '.join(OPS)}")
        object.__setattr__(self, "args", check_args(f"step ({self.op})", self.op, self.args))

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this step."""
        value: dict[str, Any] = {"op": self.op, "args": json.loads(json.dumps(self.args))}
        if self.reason is not None:
            value["reason"] = self.reason
        return value


def parse_step(value: Any, number: int = 0) -> Step:
    """One step from JSON.

    Raises:
        RecipeError: not an object, an unknown op or key, or bad arguments.
    """
    where = f"steps[{number}]"
    if not isinstance(value, Mapping):
        raise fail(where, f"expected an object with 'op' and 'args', got {value!r}")
    unknown = sorted(set(value) - _STEP_KEYS)
    if unknown:
        raise fail(where, f"unknown keys {unknown}; a step has {sorted(_STEP_KEYS)}")
    op = value.get("op")
    if op not in SPEC_OF:
        raise fail(where, f"unknown op {op!r}; known ops: {', '.join(OPS)}")
    args = value.get("args", {})
    if not isinstance(args, Mapping):
        raise fail(where, f"'args' must be an object, got {args!r}")
    reason = value.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise fail(where, f"'reason' must be a string, got {reason!r}")
    return Step(op=op, args=check_args(f"{where} ({op})", op, args), reason=reason)


def delete_step(episodes: Iterable[int], reason: str | None = None) -> Step:
    """Delete these source episodes."""
    return Step(
        op="delete_episodes", args={"episode_indices": sorted(set(episodes))}, reason=reason
    )


def trim_step(ranges: Mapping[int, Range], reason: str | None = None) -> Step:
    """Keep frames [start, stop) of each source episode of `ranges`."""
    return Step(
        op="trim_episodes",
        args={"ranges": {str(e): [int(r[0]), int(r[1])] for e, r in sorted(ranges.items())}},
        reason=reason,
    )


def fold_steps(steps: Iterable[Step], dataset: Dataset) -> Folded:
    """Every step folded in order into what it does to `dataset`, checked against it.

    Raises:
        SelectionError: a step does not fit the dataset; the message names the step.
    """
    folded = Folded.of(dataset.features)
    for number, step in enumerate(steps):
        SPEC_OF[step.op].fold(folded, step.args, dataset, f"recipe step {number} ({step.op})")
    return folded


def ops_table() -> str:
    """The README table of recipe ops and their arguments, in registry order."""
    rows = ["| op | args |", "|---|---|", *(f"| `{s.op}` | {s.doc} |" for s in SPECS)]
    return "\n".join(rows)
