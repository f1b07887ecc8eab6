"""`validate`: list everything in a dataset the official loader or a trainer would trip on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from robosplice._types import DatasetLike, ProgressReporter
from robosplice.checks import validate_dataset
from robosplice.dataset import Dataset
from robosplice.errors import DatasetNotFoundError, Problem


def validate(
    dataset: DatasetLike, *, decode: bool = False, progress: ProgressReporter | None = None
) -> list[Problem]:
    """Return every problem of `dataset` (empty when valid); reads only, never writes.

    Takes a path, a `Dataset`, or any object with `.root`, and works from the root folder alone,
    so a dataset whose meta/info.json is broken is reported on rather than refused.

    Raises:
        DatasetNotFoundError: the folder does not exist.

    Example:
        >>> for problem in validate("data/pusht", decode=True):
        ...     print(problem)
    """
    root = _root_of(dataset)
    if not root.is_dir():
        raise DatasetNotFoundError(f"{root}: no such folder")
    return validate_dataset(root, decode=decode, progress=progress)


def _root_of(dataset: DatasetLike) -> Path:
    """The root folder, without opening the dataset (a `Dataset` would read info.json)."""
    if isinstance(dataset, Dataset):
        return dataset.root
    if isinstance(dataset, (str, os.PathLike)):  # a Path has a `.root` too: "/"
        return Path(dataset).expanduser().resolve()
    root: Any = getattr(dataset, "root", dataset)
    return Path(root).expanduser().resolve()
