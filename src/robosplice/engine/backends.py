"""Where work units run: in this process (`serial`), a local process pool (`process`), or Ray.

An op's work splits into independent units (one camera's video files, one episode's frame stats)
and one finalize on the driver (DESIGN.md: Scale). Units are picklable, pure apart from the
files they write under staging, and return small results; `run_units` hands them to a backend,
retries a failed unit once and returns the results in unit order, so every backend writes the
same bytes. Ray is optional (`robosplice[ray]`) and imported only when asked for.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import contextvars
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from robosplice.errors import InvalidBackendError, RobospliceError, UnitFailedError

logger = logging.getLogger(__name__)

U = TypeVar("U")
R = TypeVar("R")

BACKEND_NAMES = ("serial", "process", "ray")


class Backend(Protocol):
    """Runs picklable `fn(unit)` calls somewhere and hands back futures."""

    name: str
    workers: int

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> concurrent.futures.Future[Any]:
        """Start `fn(unit)`; the future holds its result or exception."""
        ...


class SerialBackend:
    """Runs each unit at once in this process: the reference every other backend must match."""

    name = "serial"
    workers = 1

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(unit))
        except Exception as exc:
            future.set_exception(exc)
        return future


_POOLS: dict[int, concurrent.futures.ProcessPoolExecutor] = {}


def _shutdown_pools() -> None:
    for pool in _POOLS.values():
        pool.shutdown(wait=True, cancel_futures=True)
    _POOLS.clear()


atexit.register(_shutdown_pools)


class ProcessBackend:
    """A stdlib process pool of `workers` processes, kept for the life of this process.

    Workers start with forkserver (spawn where it is missing): forking a process that holds
    Arrow or FFmpeg threads can deadlock.
    """

    name = "process"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def _pool(self) -> concurrent.futures.ProcessPoolExecutor:
        pool = _POOLS.get(self.workers)
        if pool is None or getattr(pool, "_broken", False):
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context(
                "forkserver" if "forkserver" in methods else "spawn"
            )
            pool = concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=context)
            _POOLS[self.workers] = pool
        return pool

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> concurrent.futures.Future[Any]:
        with _main_hidden():
            try:
                return self._pool().submit(fn, unit)
            except concurrent.futures.BrokenExecutor:
                _POOLS.pop(self.workers, None)
                return self._pool().submit(fn, unit)


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Start workers without re-running the caller's script (units are robosplice functions).

    Without this, a script that calls an op at top level, with no `if __name__ == "__main__"`
    guard, would run again in every new worker.
    """
    main = sys.modules.get("__main__")
    saved = {
        name: main.__dict__.pop(name) for name in ("__file__",) if main and name in main.__dict__
    }
    spec = getattr(main, "__spec__", None)
    if main is not None:
        main.__spec__ = None
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)
            main.__spec__ = spec


class RayBackend:
    """Ray tasks (`robosplice[ray]`): joins the cluster in RAY_ADDRESS, else starts a local one.

    Units write under the staging folder, so on several nodes that folder must be on storage
    every node sees (NFS, Lustre); the finalize and the atomic rename run on the driver.
    """

    name = "ray"

    def __init__(self, workers: int | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RobospliceError(
                "backend 'ray' needs Ray: pip install 'robosplice[ray]' (or pip install ray)"
            ) from exc
        self._ray = ray
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if not os.environ.get("RAY_ADDRESS") and workers:
                options["num_cpus"] = workers
            ray.init(**options)
        self.workers = workers or int(ray.cluster_resources().get("CPU", 1))
        self._remote: dict[Callable[[Any], Any], Any] = {}

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> concurrent.futures.Future[Any]:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._ray.remote(max_retries=0, num_cpus=1)(fn)
            self._remote[fn] = remote
        return remote.remote(unit).future()


@dataclass(frozen=True, slots=True)
class ExecutionOptions:
    """Backend and worker count an op runs with (None: the engine picks), and whether source
    video files kept whole are hard-linked rather than copied."""

    backend: str | Backend | None = None
    workers: int | None = None
    link_files: bool = False


_OPTIONS: contextvars.ContextVar[ExecutionOptions | None] = contextvars.ContextVar(
    "robosplice_execution", default=None
)


@contextlib.contextmanager
def execution(
    backend: str | Backend | None = None, workers: int | None = None, *, link_files: bool = False
) -> Iterator[None]:
    """Run every op inside the block with this backend and worker count (and hard links for
    source video files kept whole, when `link_files`).

    An op's own `backend=`/`workers=` keywords win over the block's.

    Raises:
        InvalidBackendError: see `check_execution` (at once, not when the first op runs).

    Example:
        >>> with execution("process", workers=4):
        ...     delete_episodes("data/pusht", [3], "data/pusht_clean")
    """
    check_execution(backend, workers)
    token = _OPTIONS.set(ExecutionOptions(backend, workers, link_files))
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def check_execution(backend: str | Backend | None, workers: int | None) -> None:
    """Refuse an unknown backend name or fewer than one worker, before any work starts.

    Raises:
        InvalidBackendError: the message names the valid backends or the expected count.
    """
    if isinstance(backend, str) and backend not in BACKEND_NAMES:
        raise InvalidBackendError(
            f"unknown backend {backend!r}: expected one of {', '.join(BACKEND_NAMES)}"
        )
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise InvalidBackendError(
            f"workers must be an integer >= 1, got {workers!r} (None: the engine picks)"
        )


def current_options() -> ExecutionOptions:
    """The options set by the innermost `execution` block."""
    return _OPTIONS.get() or ExecutionOptions()


def resolve_backend(
    backend: str | Backend | None, workers: int | None, *, units: int, heavy: bool
) -> Backend:
    """The backend to run `units` units with.

    Explicit arguments win, then `execution(...)`, then: `process` when the work is `heavy`
    and has more than one unit, else `serial` (a pool costs more than it saves on small work).

    Raises:
        InvalidBackendError: see `check_execution`.
    """
    options = current_options()
    backend = backend if backend is not None else options.backend
    workers = workers if workers is not None else options.workers
    check_execution(backend, workers)
    if backend is None:
        parallel = heavy and units > 1 and (workers or os.cpu_count() or 1) > 1
        backend = "process" if parallel else "serial"
    if not isinstance(backend, str):
        return backend
    if backend == "serial" or (backend == "process" and workers == 1):
        return SerialBackend()
    if backend == "process":
        return ProcessBackend(workers)
    return RayBackend(workers)  # check_execution let only the three names through


class UnitBatch:
    """Units submitted to a backend at once; `results()` collects them in unit order.

    A unit that fails for a reason other than a `RobospliceError` (a worker crash, an I/O
    hiccup, a lost node) is submitted once more; units must therefore be idempotent (each clears
    what it writes before writing). A `RobospliceError` (bad source data) is raised as it is:
    trying again would fail the same way.
    """

    def __init__(
        self,
        backend: Backend,
        fn: Callable[[Any], Any],
        units: Sequence[Any],
        *,
        describe: Callable[[Any], str] = repr,
    ) -> None:
        self.backend = backend
        self.fn = fn
        self.units = list(units)
        self.describe = describe
        self.futures = [backend.submit(fn, unit) for unit in self.units]

    def _result(self, unit: Any, future: concurrent.futures.Future[Any]) -> Any:
        try:
            return future.result()
        except RobospliceError:
            raise
        except Exception as first:
            logger.warning("unit %s failed (%r); retrying once", self.describe(unit), first)
            try:
                return self.backend.submit(self.fn, unit).result()
            except RobospliceError:
                raise
            except Exception as second:
                raise UnitFailedError(
                    f"work unit {self.describe(unit)} failed twice ({second.__class__.__name__}:"
                    f" {second}); nothing was published and the sources are untouched"
                ) from second

    def results(self, on_done: Callable[[], None] | None = None) -> list[Any]:
        """Every unit's result in unit order.

        Raises:
            UnitFailedError: a unit failed on its retry too (the others are cancelled).
        """
        results = []
        try:
            for unit, future in zip(self.units, self.futures):
                results.append(self._result(unit, future))
                if on_done is not None:
                    on_done()
        except BaseException:
            self.cancel()
            raise
        return results

    def cancel(self) -> None:
        """Cancel units not started and wait for running ones (staging is removed after)."""
        for future in self.futures:
            future.cancel()
        concurrent.futures.wait([f for f in self.futures if not f.cancelled()])


def run_units(
    backend: Backend,
    fn: Callable[[U], R],
    units: Sequence[U],
    *,
    describe: Callable[[U], str] = repr,
    on_done: Callable[[], None] | None = None,
) -> list[R]:
    """`fn(unit)` for every unit on `backend`, results in unit order (see `UnitBatch`)."""
    return UnitBatch(backend, fn, units, describe=describe).results(on_done)
