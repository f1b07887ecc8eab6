"""Backends for tests: some units fail (fault injection), or every unit is counted or refused."""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from robosplice.engine.backends import ProcessBackend, SerialBackend


class FailFirst:
    """Call `fn`, except that the first call (or every call, if `always`) raises OSError.

    "First" is recorded as a flag file, so it holds across worker processes.
    """

    def __init__(self, fn: Callable[[Any], Any], flag: Path, *, always: bool) -> None:
        self.fn = fn
        self.flag = flag
        self.always = always

    def __call__(self, unit: Any) -> Any:
        if self.always or self._first():
            raise OSError(f"injected failure in {unit!r:.40}")
        return self.fn(unit)

    def _first(self) -> bool:
        """Whether this is the first call anywhere (the flag is created atomically: two workers
        starting together cannot both see it missing)."""
        try:
            os.close(os.open(self.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True


class FaultyBackend:
    """A process backend whose units of function `target` fail first (or always)."""

    name = "faulty"

    def __init__(self, target: str, flag: Path, *, always: bool = False, workers: int = 2) -> None:
        self.inner = ProcessBackend(workers)
        self.workers = workers
        self.target = target
        self.flag = flag
        self.always = always
        self.calls = 0

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> concurrent.futures.Future[Any]:
        if fn.__name__ == self.target:
            self.calls += 1
            fn = FailFirst(fn, self.flag, always=self.always)
        return self.inner.submit(fn, unit)


class CountingBackend(SerialBackend):
    """The serial backend, counting the units it runs."""

    name = "counting"

    def __init__(self) -> None:
        self.units = 0

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> concurrent.futures.Future[Any]:
        self.units += 1
        return super().submit(fn, unit)


class RefusingBackend:
    """A backend that fails the test if any unit reaches it (an op ignored its keywords)."""

    name = "refusing"
    workers = 1

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> concurrent.futures.Future[Any]:
        raise AssertionError(f"unit {unit!r:.60} ran on the enclosing execution() backend")


class RecordPid:
    """Call `fn`, first leaving a file named after the running process's pid in `folder`."""

    def __init__(self, fn: Callable[[Any], Any], folder: Path) -> None:
        self.fn = fn
        self.folder = folder
        self.__name__ = getattr(fn, "__name__", "unit")

    def __call__(self, unit: Any) -> Any:
        (self.folder / str(os.getpid())).touch()
        return self.fn(unit)


def report_pid(_unit: Any) -> int:
    """A unit that returns the pid of the process it ran in."""
    return os.getpid()
