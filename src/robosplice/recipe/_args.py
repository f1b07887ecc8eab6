"""Checks of recipe step arguments, each raising a RecipeError that names the step and the key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from robosplice.errors import RecipeError


def fail(where: str, message: str) -> RecipeError:
    """The error of a bad recipe at `where` (a step, or a key of one)."""
    return RecipeError(f"recipe {where}: {message}")


def is_int(value: Any) -> bool:
    """An integer that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def int_list(where: str, value: Any) -> list[int]:
    """Episode indices: distinct integers ≥ 0."""
    if not isinstance(value, list) or not all(is_int(v) and v >= 0 for v in value):
        raise fail(where, f"expected a list of episode indices (integers ≥ 0), got {value!r}")
    if len(set(value)) != len(value):
        raise fail(where, f"episode indices repeat: {value!r}")
    return [int(v) for v in value]


def episode_key(where: str, key: Any) -> str:
    """An episode index written as a JSON object key ("4")."""
    try:
        number = int(key)
    except (TypeError, ValueError):
        number = -1
    if number < 0 or str(number) != str(key):
        raise fail(where, f"episode keys are integers written as strings, got {key!r}")
    return str(number)


def str_map(where: str, value: Any) -> dict[str, str]:
    """An object of non-empty strings."""
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()
    ):
        raise fail(where, f"expected an object of non-empty strings, got {value!r}")
    return dict(value)


def frame_range(where: str, value: Any) -> list[int]:
    """A `[start, stop)` frame range with 0 <= start < stop."""
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(is_int(v) for v in value)
        or not 0 <= value[0] < value[1]
    ):
        raise fail(where, f"expected [start, stop) frames with 0 <= start < stop, got {value!r}")
    return [int(value[0]), int(value[1])]
