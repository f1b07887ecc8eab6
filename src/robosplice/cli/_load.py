"""Load feature values from files, and parse the feature- and task-edit arguments of the CLI.

Values come from a `.npy` file (one row per frame, global index order), a `.parquet` file (one
column, one row per frame), or a folder of per-episode `.npy` files whose names end in the
episode number (`episode_000003.npy`, `3.npy`). Problems are `SelectionError`s (exit 1) when
they concern the data, `typer.BadParameter` (exit 2) when they concern the syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import typer

from robosplice.errors import SelectionError

_EPISODE_NUMBER = re.compile(r"(\d+)$")


def load_feature_values(
    path: Path, *, column: str | None, episode_lengths: Sequence[int]
) -> np.ndarray:
    """Values over all frames, in global index order, from a .npy, a .parquet or a folder.

    Raises:
        SelectionError: the file cannot be read, or a folder misses or mis-sizes an episode.
    """
    if path.is_dir():
        return _load_episode_folder(path, episode_lengths)
    if not path.is_file():
        raise SelectionError(f"{path}: no such file or folder of values")
    if path.suffix == ".npy":
        return _load_npy(path)
    if path.suffix == ".parquet":
        return _load_parquet_column(path, column)
    raise SelectionError(
        f"{path}: expected a .npy file, a .parquet file, or a folder of .npy files"
    )


def _load_npy(path: Path) -> np.ndarray:
    try:
        values: np.ndarray = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SelectionError(f"{path}: not a readable .npy array ({exc})") from exc
    return values


def _load_parquet_column(path: Path, column: str | None) -> np.ndarray:
    try:
        schema = pq.read_schema(path)
        names = [n for n in schema.names if n != "__index_level_0__"]
        if column is None:
            if len(names) != 1:
                raise SelectionError(f"{path} has columns {names}; choose one with --column")
            column = names[0]
        if column not in names:
            raise SelectionError(f"{path} has no column {column!r}; it has {names}")
        data = pq.read_table(path, columns=[column]).column(column).combine_chunks()
    except (pa.ArrowInvalid, OSError) as exc:
        raise SelectionError(f"{path}: not a readable parquet file ({exc})") from exc
    if isinstance(data, pa.ExtensionArray):
        data = data.storage
    rows = len(data)
    depth = 0
    while (
        pa.types.is_list(data.type)
        or pa.types.is_fixed_size_list(data.type)
        or pa.types.is_large_list(data.type)
    ):
        data = data.flatten()
        depth += 1
    flat = np.asarray(data.to_numpy(zero_copy_only=False))
    if depth == 0:
        return flat
    if rows == 0 or flat.size % rows:
        raise SelectionError(f"{path}: column {column!r} has rows of different lengths")
    return flat.reshape(rows, -1) if depth == 1 else _reshape_nested(path, column, rows)


def _reshape_nested(path: Path, column: str, rows: int) -> np.ndarray:
    """Nested lists (e.g. a (2, 3) feature) as a regular array."""
    table = pq.read_table(path, columns=[column])
    try:
        return np.array(table.column(column).to_pylist())
    except ValueError as exc:
        raise SelectionError(f"{path}: column {column!r} is not a regular array ({exc})") from exc


def _load_episode_folder(folder: Path, episode_lengths: Sequence[int]) -> np.ndarray:
    files: dict[int, Path] = {}
    for path in sorted(folder.glob("*.npy")):
        match = _EPISODE_NUMBER.search(path.stem)
        if match is None:
            raise SelectionError(f"{path}: the file name must end in its episode number")
        number = int(match.group(1))
        if number in files:
            raise SelectionError(
                f"{folder}: episode {number} has two files, {files[number].name} and {path.name}"
            )
        files[number] = path
    missing = [e for e in range(len(episode_lengths)) if e not in files]
    extra = sorted(set(files) - set(range(len(episode_lengths))))
    if missing or extra:
        raise SelectionError(
            f"{folder}: need one .npy per episode 0–{len(episode_lengths) - 1};"
            f" missing {missing[:10]}, extra {extra[:10]}"
        )
    parts = []
    for episode, length in enumerate(episode_lengths):
        values = _load_npy(files[episode])
        if values.ndim == 0 or len(values) != length:
            got = "a scalar" if values.ndim == 0 else f"{len(values)} rows"
            raise SelectionError(f"{files[episode]}: {got}, episode {episode} has {length} frames")
        parts.append(values)
    return np.concatenate(parts)


def feature_info(
    values: np.ndarray, *, dtype: str | None, shape: str | None, names: str | None
) -> dict[str, Any]:
    """The feature info for `values`: given dtype/shape/names, else inferred from the array."""
    if shape:
        try:
            parsed = [int(size) for size in shape.replace(" ", "").split(",") if size]
        except ValueError:
            raise typer.BadParameter(f"--shape {shape!r}: expected sizes like 1,4") from None
    else:
        parsed = list(values.shape[1:]) or [1]
    if dtype is None:
        dtype = "string" if values.dtype.kind in "US" else str(values.dtype)
    name_list = names.split(",") if names else None
    return {"dtype": dtype, "shape": parsed, "names": name_list}


def parse_episode_tasks(items: Sequence[str]) -> dict[int, str]:
    """`["3=pick the cube", "7=place it"]` → {3: "pick the cube", 7: "place it"}."""
    tasks: dict[int, str] = {}
    for item in items:
        episode, equals, task = item.partition("=")
        if not equals or not episode.strip().isdigit():
            raise typer.BadParameter(f'{item!r}: expected EPISODE=TASK, e.g. 3="pick the cube"')
        tasks[int(episode)] = task
    return tasks


def parse_replacements(exact: Sequence[str], patterns: Sequence[str]) -> dict[Any, str]:
    """`OLD=NEW` pairs (exact task strings) and `REGEX=NEW` pairs (compiled)."""
    replacements: dict[Any, str] = {}
    for item in exact:
        old, equals, new = item.partition("=")
        if not equals or not old:
            raise typer.BadParameter(f"{item!r}: expected OLD=NEW")
        replacements[old] = new
    for item in patterns:
        pattern, equals, new = item.partition("=")
        if not equals or not pattern:
            raise typer.BadParameter(f"{item!r}: expected REGEX=NEW")
        try:
            replacements[re.compile(pattern)] = new
        except re.error as exc:
            raise typer.BadParameter(f"{pattern!r} is not a regular expression ({exc})") from None
    return replacements
