"""Family "tasks": meta/tasks.parquet — columns, pandas index, order, uniqueness (FORMAT.md §1.4)."""

from __future__ import annotations

import json
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.checks._common import PARQUET_ERRORS, REPAIR_FIX
from robosplice.checks._common import WRONG as _WRONG
from robosplice.checks.context import Context
from robosplice.checks.kinds import Kind, OnEdit, rebuilt
from robosplice.format.paths import TASKS_PATH

__all__ = ["KINDS", "run"]

KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="tasks_no_pandas_index", severity="error",
         meaning="tasks.parquet lacks the pandas index metadata (tasks load as ints)",
         why=f"{_WRONG}: dataset[i]['task'] is an integer, not the string",
         # The output's tasks.parquet has the index again.
         on_edit=OnEdit(decide=rebuilt("tasks.parquet rewritten with its pandas index",
                                       file=TASKS_PATH))),
    Kind(name="tasks_not_sorted", severity="error",
         meaning="tasks.parquet row i does not hold task_index i",
         why=f"{_WRONG}: tasks are looked up by row, so frames get other tasks' strings"),
    Kind(name="bad_task_index", severity="error",
         meaning="tasks.parquet task_index values are not 0..T-1",
         why=f"{_WRONG}: frames get other tasks' strings or none"),
    Kind(name="duplicate_task", severity="warning",
         meaning="a task string appears twice in tasks.parquet",
         why="frames still get the right strings (lookup is by row); only tools that look a"
         " task up by its string pick one of the two"),
)  # fmt: skip
"""The kinds this family reports: severity, and why, beside the checks below."""


def run(ctx: Context) -> None:
    """Check tasks.parquet; later families get the task strings by task_index (or None)."""
    ctx.tasks = ctx.guarded(TASKS_PATH, None, lambda: _check_tasks(ctx))


def _check_tasks(ctx: Context) -> list[str] | None:
    """Check tasks.parquet; return task strings by task_index, or None if unreadable."""
    path = ctx.root / TASKS_PATH
    if not path.is_file():
        ctx.report(
            TASKS_PATH, "", "missing_file", "meta/tasks.parquet is missing; the loader needs it"
        )
        return None
    try:
        table = pq.read_table(path)
    except PARQUET_ERRORS as exc:
        ctx.report(TASKS_PATH, "", "corrupt_parquet", f"cannot read Parquet ({exc})")
        return None
    names = table.column_names
    pandas_metadata = _pandas_metadata(table.schema)
    index_columns = [
        name for name in (pandas_metadata or {}).get("index_columns", []) if isinstance(name, str)
    ]
    text_column = next(
        (name for name in (*index_columns, "task", "__index_level_0__") if name in names),
        None,
    )
    if "task_index" not in names or text_column is None:
        ctx.report(
            TASKS_PATH,
            "task_index" if "task_index" not in names else "task",
            "missing_column",
            f"expected columns ['task_index', 'task'], got {names}; rewrite tasks.parquet",
        )
        return None
    if pandas_metadata is None or text_column not in index_columns:
        got = "no pandas metadata" if pandas_metadata is None else f"index {index_columns}"
        ctx.report(
            TASKS_PATH,
            "",
            "tasks_no_pandas_index",
            f"expected pandas metadata with the task string as index ({text_column!r}), got"
            f" {got}; without it dataset[i]['task'] is an integer, not the string;"
            f" {REPAIR_FIX}",
        )
    text_type = table.schema.field(text_column).type
    if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)):
        ctx.report(
            TASKS_PATH,
            text_column,
            "bad_column_type",
            f"expected task strings, got Arrow type {text_type}",
        )
        return None
    indices = table.column("task_index").to_pylist()
    texts = table.column(text_column).to_pylist()
    if None in indices or None in texts:
        ctx.report(TASKS_PATH, "", "missing_value", "task_index and task must not be null")
        return None
    count = len(texts)
    if indices != list(range(count)):
        if sorted(indices) == list(range(count)):
            ctx.report(
                TASKS_PATH,
                "task_index",
                "tasks_not_sorted",
                f"expected row i to hold task_index i, got task_index order {indices[:20]};"
                " the loader looks tasks up by row, so frames get the wrong task strings;"
                " sort the rows by task_index",
            )
        else:
            ctx.report(
                TASKS_PATH,
                "task_index",
                "bad_task_index",
                f"expected task_index values 0..{count - 1}, got {sorted(indices)[:20]};"
                " renumber the tasks and the data's task_index to match",
            )
            return list(texts)
    duplicates = sorted({text for text in texts if texts.count(text) > 1})
    if duplicates:
        ctx.report(
            TASKS_PATH,
            "task",
            "duplicate_task",
            f"expected unique task strings, got {duplicates} more than once; merge their"
            " task_index values",
        )
    by_index = dict(zip(indices, texts, strict=True))
    return [by_index[position] for position in range(count)]


def _pandas_metadata(schema: pa.Schema) -> dict[str, Any] | None:
    raw = (schema.metadata or {}).get(b"pandas")
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None
