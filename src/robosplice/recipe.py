"""Recipes: a list of edits made for one source dataset, as JSON. A model; no editing here.

`doctor --recipe` writes one, the review page writes one, a person may write one; `apply` runs it
(`robosplice.ops.apply`). The format, version 1:

```json
{"format": "robosplice-recipe", "version": 1,
 "source": {"path": "data/pusht", "fingerprint": "<hex sha256, see fingerprint()>"},
 "created_by": "doctor",
 "steps": [
   {"op": "delete_episodes", "args": {"episode_indices": [3, 7]}, "reason": "frozen episode"},
   {"op": "trim_episodes", "args": {"ranges": {"4": [15, 240]}}, "reason": "idle head"}
 ]}
```

Steps and their `args` (every episode index and frame range refers to the SOURCE dataset, never
to the output of an earlier step; ranges are `[start, stop)` frames):

| op | args |
|---|---|
| `delete_episodes` | `episode_indices`: [int] |
| `keep_episodes` | `episode_indices`: [int] (every other episode is dropped) |
| `trim_episodes` | `ranges`: {"episode": [start, stop]} |
| `filter_episodes` | any of `episodes` [int], `tasks` [str] (exact), `task_regex` str, `min_length`, `max_length` int |
| `remove_feature` | `feature_names`: [str] |
| `rename_feature` | `renames`: {old: new} (names as left by the steps before) |
| `modify_tasks` | any of `new_task` str, `episode_tasks` {"episode": str}, `task_replacements` {old: new} |
| `recompute_stats` | optional `skip_image_video` bool (default true) |

`reason` is free text for people. Unknown ops, keys, or badly typed arguments are refused with
an error naming the step; `load_recipe`/`from_json` never touch a dataset.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from robosplice.errors import RecipeError

FORMAT: Final = "robosplice-recipe"
VERSION: Final = 1

EPISODE_OPS: Final = ("delete_episodes", "keep_episodes", "trim_episodes", "filter_episodes")
"""Steps that choose episodes and frames: composed into one plan."""
OTHER_OPS: Final = ("remove_feature", "rename_feature", "modify_tasks", "recompute_stats")
OPS: Final = EPISODE_OPS + OTHER_OPS

_TOP_KEYS: Final = frozenset({"format", "version", "source", "created_by", "created_at", "steps"})
_STEP_KEYS: Final = frozenset({"op", "args", "reason"})
_CHUNK_BYTES: Final = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One edit: an op name, its JSON arguments (normalized), and why."""

    op: str
    args: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise _fail("step", f"unknown op {self.op!r}; known ops: {', '.join(OPS)}")
        object.__setattr__(self, "args", _check_args(f"step ({self.op})", self.op, self.args))

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this step."""
        value: dict[str, Any] = {"op": self.op, "args": json.loads(json.dumps(self.args))}
        if self.reason is not None:
            value["reason"] = self.reason
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """The edits made for the dataset at `source_path` whose metadata hashed to `fingerprint`."""

    source_path: str
    fingerprint: str
    steps: tuple[Step, ...]
    created_by: str = "robosplice"
    created_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON document (see the module docstring)."""
        value: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "source": {"path": self.source_path, "fingerprint": self.fingerprint},
            "created_by": self.created_by,
        }
        if self.created_at is not None:
            value["created_at"] = self.created_at
        value["steps"] = [step.to_json() for step in self.steps]
        return value

    @classmethod
    def from_json(cls, value: Any) -> Recipe:
        """Parse and check a recipe document.

        Raises:
            RecipeError: not a recipe, an unknown version, op or key, or bad arguments.
        """
        return from_json(value)


def _fail(where: str, message: str) -> RecipeError:
    return RecipeError(f"recipe {where}: {message}")


def _int_list(where: str, value: Any) -> list[int]:
    if not isinstance(value, list) or not all(_is_int(v) and v >= 0 for v in value):
        raise _fail(where, f"expected a list of episode indices (integers ≥ 0), got {value!r}")
    if len(set(value)) != len(value):
        raise _fail(where, f"episode indices repeat: {value!r}")
    return [int(v) for v in value]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _episode_key(where: str, key: Any) -> str:
    try:
        number = int(key)
    except (TypeError, ValueError):
        number = -1
    if number < 0 or str(number) != str(key):
        raise _fail(where, f"episode keys are integers written as strings, got {key!r}")
    return str(number)


def _str_map(where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()
    ):
        raise _fail(where, f"expected an object of non-empty strings, got {value!r}")
    return dict(value)


def _check_args(where: str, op: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of one step, normalized, or a RecipeError naming the step and the key."""
    allowed: dict[str, tuple[str, ...]] = {
        "delete_episodes": ("episode_indices",),
        "keep_episodes": ("episode_indices",),
        "trim_episodes": ("ranges",),
        "filter_episodes": ("episodes", "tasks", "task_regex", "min_length", "max_length"),
        "remove_feature": ("feature_names",),
        "rename_feature": ("renames",),
        "modify_tasks": ("new_task", "episode_tasks", "task_replacements"),
        "recompute_stats": ("skip_image_video",),
    }
    unknown = sorted(set(args) - set(allowed[op]))
    if unknown:
        raise _fail(where, f"{op} takes {list(allowed[op])}, got unknown {unknown}")
    out: dict[str, Any] = {}
    if op in ("delete_episodes", "keep_episodes"):
        if "episode_indices" not in args:
            raise _fail(where, f"{op} needs 'episode_indices'")
        out["episode_indices"] = _int_list(f"{where}.episode_indices", args["episode_indices"])
        if not out["episode_indices"] and op == "delete_episodes":
            raise _fail(where, "delete_episodes with no episode_indices does nothing; drop it")
    elif op == "trim_episodes":
        ranges = args.get("ranges")
        if not isinstance(ranges, Mapping) or not ranges:
            raise _fail(
                where, f"trim_episodes needs 'ranges': {{\"4\": [15, 240]}}, got {ranges!r}"
            )
        normalized: dict[str, list[int]] = {}
        for key, frame_range in ranges.items():
            episode = _episode_key(f"{where}.ranges", key)
            if (
                not isinstance(frame_range, list)
                or len(frame_range) != 2
                or not all(_is_int(v) for v in frame_range)
                or not 0 <= frame_range[0] < frame_range[1]
            ):
                raise _fail(
                    f"{where}.ranges.{key}",
                    f"expected [start, stop) frames with 0 <= start < stop, got {frame_range!r}",
                )
            normalized[episode] = [int(frame_range[0]), int(frame_range[1])]
        out["ranges"] = normalized
    elif op == "filter_episodes":
        if not args:
            raise _fail(where, f"filter_episodes needs at least one of {list(allowed[op])}")
        if "episodes" in args:
            out["episodes"] = _int_list(f"{where}.episodes", args["episodes"])
        if "tasks" in args:
            tasks = args["tasks"]
            if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
                raise _fail(f"{where}.tasks", f"expected a list of task strings, got {tasks!r}")
            out["tasks"] = list(tasks)
        if "task_regex" in args:
            if not isinstance(args["task_regex"], str):
                raise _fail(f"{where}.task_regex", "expected a regular expression string")
            out["task_regex"] = args["task_regex"]
        for key in ("min_length", "max_length"):
            if key in args:
                if not _is_int(args[key]) or args[key] < 0:
                    raise _fail(f"{where}.{key}", f"expected an integer ≥ 0, got {args[key]!r}")
                out[key] = int(args[key])
    elif op == "remove_feature":
        names = args.get("feature_names")
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise _fail(where, f"remove_feature needs 'feature_names': [str], got {names!r}")
        out["feature_names"] = list(names)
    elif op == "rename_feature":
        renames = _str_map(f"{where}.renames", args.get("renames"))
        if not renames:
            raise _fail(where, "rename_feature needs 'renames': {old: new}")
        out["renames"] = renames
    elif op == "modify_tasks":
        if not args:
            raise _fail(where, f"modify_tasks needs at least one of {list(allowed[op])}")
        if "new_task" in args:
            if not isinstance(args["new_task"], str) or not args["new_task"]:
                raise _fail(f"{where}.new_task", "expected a non-empty string")
            out["new_task"] = args["new_task"]
        if "episode_tasks" in args:
            tasks = _str_map(f"{where}.episode_tasks", args["episode_tasks"])
            out["episode_tasks"] = {_episode_key(where, k): v for k, v in tasks.items()}
        if "task_replacements" in args:
            out["task_replacements"] = _str_map(
                f"{where}.task_replacements", args["task_replacements"]
            )
    elif op == "recompute_stats":
        if "skip_image_video" in args:
            if not isinstance(args["skip_image_video"], bool):
                raise _fail(f"{where}.skip_image_video", "expected true or false")
            out["skip_image_video"] = args["skip_image_video"]
    return out


def parse_step(value: Any, number: int = 0) -> Step:
    """One step from JSON.

    Raises:
        RecipeError: not an object, an unknown op or key, or bad arguments.
    """
    where = f"steps[{number}]"
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected an object with 'op' and 'args', got {value!r}")
    unknown = sorted(set(value) - _STEP_KEYS)
    if unknown:
        raise _fail(where, f"unknown keys {unknown}; a step has {sorted(_STEP_KEYS)}")
    op = value.get("op")
    if op not in OPS:
        raise _fail(where, f"unknown op {op!r}; known ops: {', '.join(OPS)}")
    args = value.get("args", {})
    if not isinstance(args, Mapping):
        raise _fail(where, f"'args' must be an object, got {args!r}")
    reason = value.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise _fail(where, f"'reason' must be a string, got {reason!r}")
    return Step(op=op, args=_check_args(f"{where} ({op})", op, args), reason=reason)


def from_json(value: Any) -> Recipe:
    """A recipe from its parsed JSON document.

    Raises:
        RecipeError: not a recipe, an unknown version, op or key, or bad arguments.
    """
    if not isinstance(value, Mapping) or value.get("format") != FORMAT:
        got = value.get("format") if isinstance(value, Mapping) else type(value).__name__
        raise RecipeError(f'not a robosplice recipe: expected "format": "{FORMAT}", got {got!r}')
    if value.get("version") != VERSION:
        raise RecipeError(
            f"recipe version {value.get('version')!r} is not supported (this robosplice reads"
            f" version {VERSION}); upgrade robosplice"
        )
    unknown = sorted(set(value) - _TOP_KEYS)
    if unknown:
        raise _fail("", f"unknown keys {unknown}; a recipe has {sorted(_TOP_KEYS)}")
    source = value.get("source")
    if (
        not isinstance(source, Mapping)
        or not isinstance(source.get("path"), str)
        or not isinstance(source.get("fingerprint"), str)
    ):
        raise _fail("source", f'expected {{"path": str, "fingerprint": str}}, got {source!r}')
    steps = value.get("steps")
    if not isinstance(steps, list):
        raise _fail("steps", f"expected a list of steps, got {steps!r}")
    created_by = value.get("created_by", "robosplice")
    created_at = value.get("created_at")
    if not isinstance(created_by, str) or (
        created_at is not None and not isinstance(created_at, str)
    ):
        raise _fail("created_by", "created_by and created_at are strings")
    return Recipe(
        source_path=source["path"],
        fingerprint=source["fingerprint"],
        steps=tuple(parse_step(step, number) for number, step in enumerate(steps)),
        created_by=created_by,
        created_at=created_at,
    )


def to_json(recipe: Recipe) -> dict[str, Any]:
    """The JSON document of `recipe`."""
    return recipe.to_json()


def dumps(recipe: Recipe) -> str:
    """The recipe as indented JSON text."""
    return json.dumps(recipe.to_json(), indent=2, ensure_ascii=False) + "\n"


def dump(recipe: Recipe, path: str | os.PathLike[str]) -> Path:
    """Write the recipe to `path` (atomically: a temporary file renamed into place)."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(dumps(recipe), encoding="utf-8")
    os.replace(partial, target)
    return target


def load_recipe(source: str | os.PathLike[str] | Mapping[str, Any] | Recipe) -> Recipe:
    """A recipe from a file path, a parsed JSON document, or a `Recipe` (returned as is).

    Raises:
        RecipeError: the file is missing, not JSON, or not a valid recipe.
    """
    if isinstance(source, Recipe):
        return source
    if isinstance(source, Mapping):
        return from_json(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read the recipe ({exc.strerror or exc})") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecipeError(
            f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    try:
        return from_json(value)
    except RecipeError as exc:
        raise RecipeError(f"{path}: {exc}") from exc


def fingerprint_files(root: Path) -> list[Path]:
    """The files a fingerprint covers: meta/info.json, meta/tasks.parquet, meta/episodes/**."""
    meta = Path(root) / "meta"
    files = [meta / "info.json", meta / "tasks.parquet"]
    files += [p for p in (meta / "episodes").rglob("*.parquet") if p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def fingerprint(root: str | os.PathLike[str]) -> str:
    """Hex sha256 of the dataset's metadata: for each file of `fingerprint_files` in sorted
    relative-path order, its relative path, a NUL byte, its bytes, a NUL byte (a missing file
    contributes its path and `<missing>`). Data and videos are not read, so it is cheap; any
    edit rewrites the episodes table, so an edited dataset gets a new fingerprint."""
    base = Path(root)
    digest = hashlib.sha256()
    for path in fingerprint_files(base):
        digest.update(path.relative_to(base).as_posix().encode("utf-8") + b"\0")
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_CHUNK_BYTES):
                    digest.update(chunk)
        except OSError:
            digest.update(b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def make_recipe(
    root: str | os.PathLike[str],
    steps: Sequence[Step],
    *,
    created_by: str = "robosplice",
    path: str | None = None,
) -> Recipe:
    """A recipe for the dataset at `root` as it is now (its fingerprint computed here).

    `path` is what the recipe records as the source path (default: `root` as given).
    """
    return Recipe(
        source_path=str(root) if path is None else path,
        fingerprint=fingerprint(root),
        steps=tuple(steps),
        created_by=created_by,
    )
