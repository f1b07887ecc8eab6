"""Constants and small helpers shared by the check families (no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import pyarrow as pa
from typing_extensions import TypeIs

from robosplice.checks.kinds import Kind
from robosplice.errors import Problem

REQUIRED_STAT_KEYS: Final = ("min", "max", "mean", "std", "count")
PARQUET_ERRORS: Final = (pa.ArrowException, OSError, ValueError)
# Reasons shared by many kinds' severities.
LOADER: Final = "the official loader fails on it"
WRONG: Final = "the loader returns wrong frames or values"
# The fix of what another converter wrote and `repair` derives (issue 21).
REPAIR_FIX: Final = "'robosplice repair SRC OUT' writes a standard copy"


def problem_maker(*kinds: Iterable[Kind]) -> Callable[..., Problem]:
    """A `Problem` constructor for a pure check that may report only `kinds` (with their
    severities); reporting an undeclared kind raises KeyError."""
    severity: Mapping[str, Any] = {kind.name: kind.severity for group in kinds for kind in group}

    def make(*, file: str, loc: str, kind: str, message: str) -> Problem:
        return Problem(file=file, loc=loc, kind=kind, message=message, severity=severity[kind])

    return make


def is_number(value: object) -> TypeIs[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def list_episodes(where: Iterable[str]) -> str:
    names = list(where)
    if len(names) == 1:
        return names[0]
    numbers = [name.removeprefix("episode ") for name in names]
    shown = ", ".join(numbers[:10]) + (", ..." if len(numbers) > 10 else "")
    return f"episodes [{shown}]"


def height_width(feature: Mapping[str, Any]) -> tuple[int, int] | None:
    """A camera's frame size from its shape: HWC, or CHW when `names` starts with channels."""
    shape = feature.get("shape")
    if not isinstance(shape, list) or len(shape) != 3:
        return None
    names = feature.get("names")
    if isinstance(names, list) and names and names[0] in ("channel", "channels"):
        return int(shape[1]), int(shape[2])
    return int(shape[0]), int(shape[1])
