"""`Recipe`: the steps made for one source dataset, and its JSON document (read, check, write)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from robosplice.errors import RecipeError
from robosplice.format.fingerprint import fingerprint
from robosplice.recipe._args import fail
from robosplice.recipe.steps import Step, parse_step

FORMAT: Final = "robosplice-recipe"
VERSION: Final = 1

_TOP_KEYS: Final = frozenset({"format", "version", "source", "created_by", "created_at", "steps"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """The edits made for the dataset at `source_path` whose metadata hashed to `fingerprint`."""

    source_path: str
    fingerprint: str
    steps: tuple[Step, ...]
    created_by: str = "robosplice"
    created_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON document (see `robosplice.recipe`)."""
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
        raise fail("", f"unknown keys {unknown}; a recipe has {sorted(_TOP_KEYS)}")
    source = value.get("source")
    if (
        not isinstance(source, Mapping)
        or not isinstance(source.get("path"), str)
        or not isinstance(source.get("fingerprint"), str)
    ):
        raise fail("source", f'expected {{"path": str, "fingerprint": str}}, got {source!r}')
    steps = value.get("steps")
    if not isinstance(steps, list):
        raise fail("steps", f"expected a list of steps, got {steps!r}")
    created_by = value.get("created_by", "robosplice")
    created_at = value.get("created_at")
    if not isinstance(created_by, str) or (
        created_at is not None and not isinstance(created_at, str)
    ):
        raise fail("created_by", "created_by and created_at are strings")
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
