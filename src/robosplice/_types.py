"""Type aliases for what the public API accepts ("*Like" = any of several forms)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, Union

if TYPE_CHECKING:
    from robosplice.dataset import Dataset

PathLike: TypeAlias = Union[str, "os.PathLike[str]"]
# A Dataset handle, a path, or any object with a `.root` (an official LeRobotDataset or its metadata).
DatasetLike: TypeAlias = Union["Dataset", PathLike, Any]


class ProgressReporter(Protocol):
    """Receives progress of long work; the CLI renders it, the library never prints."""

    def start(self, description: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def finish(self) -> None: ...
