"""`meta/tasks.parquet`: task strings by task_index (FORMAT.md §1.4).

The loader resolves `task_index` positionally and needs the pandas index metadata to get strings
back, so rows are written sorted by task_index with that metadata, without importing pandas.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from robosplice.errors import InvalidDatasetError, Problem
from robosplice.format.paths import TASKS_PATH

_PANDAS_METADATA = {
    "index_columns": ["task"],
    "column_indexes": [
        {
            "name": None,
            "field_name": None,
            "pandas_type": "unicode",
            "numpy_type": "object",
            "metadata": {"encoding": "UTF-8"},
        }
    ],
    "columns": [
        {
            "name": "task_index",
            "field_name": "task_index",
            "pandas_type": "int64",
            "numpy_type": "int64",
            "metadata": None,
        },
        {
            "name": "task",
            "field_name": "task",
            "pandas_type": "unicode",
            "numpy_type": "object",
            "metadata": None,
        },
    ],
    "attributes": {},
    "creator": {"library": "pyarrow", "version": pa.__version__},
    "pandas_version": "2.3.3",
}


def read_tasks(root: Path) -> list[str]:
    """Task strings, position = task_index. Accepts 0.6.1 (`task`) and 0.4.4 (unnamed index)."""
    path = root / TASKS_PATH
    if not path.is_file():
        raise InvalidDatasetError(
            f"{path} is missing; the loader needs it to turn task_index into task strings",
            [
                Problem(
                    file=TASKS_PATH,
                    loc="",
                    kind="missing_file",
                    message="meta/tasks.parquet is missing; the loader needs it",
                )
            ],
        )
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidDatasetError(
            f"{path}: unreadable parquet",
            [Problem(file=TASKS_PATH, loc="", kind="corrupt_parquet", message=str(exc))],
        ) from exc
    names = table.column_names
    text_column = next(
        (n for n in ("task", "__index_level_0__") if n in names),
        next((n for n in names if n != "task_index"), None),
    )
    if text_column is None or "task_index" not in names:
        raise InvalidDatasetError(
            f"{path}: expected columns 'task_index' and 'task', got {names}",
            [Problem(file=TASKS_PATH, loc="", kind="bad_schema", message=f"columns {names}")],
        )
    indices = table.column("task_index").to_pylist()
    texts = table.column(text_column).to_pylist()
    by_index = dict(zip(indices, texts))
    if sorted(by_index) != list(range(len(texts))):
        raise InvalidDatasetError(
            f"{path}: task_index values must be 0..{len(texts) - 1}, got {sorted(indices)}",
            [
                Problem(
                    file=TASKS_PATH, loc="task_index", kind="bad_task_index", message="not 0..T-1"
                )
            ],
        )
    return [by_index[i] for i in range(len(texts))]


def tasks_table(tasks: list[str]) -> pa.Table:
    """The tasks table as pandas would write it, index named `task`."""
    schema = pa.schema(
        [("task_index", pa.int64()), ("task", pa.string())],
        metadata={b"pandas": json.dumps(_PANDAS_METADATA).encode()},
    )
    return pa.table(
        {
            "task_index": pa.array(range(len(tasks)), pa.int64()),
            "task": pa.array(tasks, pa.string()),
        },
        schema=schema,
    )


def write_tasks(root: Path, tasks: list[str]) -> None:
    """Write `meta/tasks.parquet`, row i holding task_index i."""
    path = root / TASKS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(tasks_table(tasks), path, compression="snappy")
