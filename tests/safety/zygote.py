"""Run robosplice CLI commands in child processes that a test can kill at any moment.

A zygote process imports robosplice once and forks one child per command, so a child starts
working within a millisecond and a random kill delay lands inside the edit, not in `import`.
The child runs the real CLI code path (argument parsing, signal handlers, error reporting). The
zygote reaps a child only when the test says so, so the pid the test signals is always its own
child's (alive or a zombie), never a recycled one.

Optional fault injection (`crash_at`): the child SIGKILLs itself just before its N-th call to
`os.rename` (1-based) or, with `crash_in_rmtree`, as it starts deleting a swapped-out backup:
the exact points between the steps of an in-place swap.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_ZYGOTE = r"""
import json, os, signal, sys
import typer.main
from robosplice.cli.app import app

command = typer.main.get_command(app)
protocol = os.fdopen(os.dup(1), "w", buffering=1)
print("ready", file=protocol)


def arm(job):
    import shutil
    import robosplice.commit as commit

    crash_at = job.get("crash_at")
    if crash_at:
        real_rename, calls = os.rename, [0]

        def rename(*args, **kwargs):
            calls[0] += 1
            if calls[0] == crash_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real_rename(*args, **kwargs)

        os.rename = rename
    if job.get("crash_in_rmtree"):
        real_rmtree = shutil.rmtree

        def rmtree(path, *args, **kwargs):
            if ".robosplice-trash-" in str(path):
                os.kill(os.getpid(), signal.SIGKILL)
            return real_rmtree(path, *args, **kwargs)

        commit.shutil.rmtree = rmtree


for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            arm(job)
            try:
                command.main(args=job["argv"], prog_name="robosplice", standalone_mode=True)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    print(pid, file=protocol)
    sys.stdin.readline()
    _, status = os.waitpid(pid, 0)
    print(status, file=protocol)
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """How a child ended: killed by a signal, or an exit code; and how long it ran.

    `probed`: what `Zygote.run`'s `probe` returned just before the signal went out (None: no
    signal sent). `watched`: first and last second (from the start) at which `watch` held.
    """

    signal: int | None
    exit_code: int | None
    seconds: float
    log: str
    probed: bool | None = None
    watched: tuple[float, float] | None = None

    @property
    def finished(self) -> bool:
        """The command ran to the end successfully."""
        return self.exit_code == 0


class Zygote:
    """A process that forks CLI runs on request; close() it (the fixture does)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            env={**os.environ, "ROBOSPLICE_NO_PROGRESS": "1", **(env or {})},
        )
        self._child: int | None = None
        assert self._read() == "ready"

    def _read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote died (exit {self.process.poll()})")
        return line.strip()

    def _send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def run(
        self,
        argv: list[str],
        log: Path,
        *,
        signal_after: float | None = None,
        signum: int = signal.SIGKILL,
        signal_when: Callable[[], bool] | None = None,
        probe: Callable[[], bool] | None = None,
        watch: Callable[[], bool] | None = None,
        crash_at: int | None = None,
        crash_in_rmtree: bool = False,
    ) -> Outcome:
        """Run `robosplice argv` in a fresh child; send `signum` after `signal_after` seconds.

        `signal_when`: the delay counts from the moment it first holds (polled every ms), not
            from the start; if the child ends first, no signal is sent.
        `probe`: called just before the signal (e.g. "a staging folder exists"), so a test knows
            whether the signal hit the edit or came before it started or after it ended.
        `watch`: polled every 2 ms for the whole run (e.g. to time the staging folder's life).
        """
        job = {
            "argv": argv,
            "log": str(log),
            "crash_at": crash_at,
            "crash_in_rmtree": crash_in_rmtree,
        }
        start = time.monotonic()
        self._send(json.dumps(job))
        self._child = int(self._read())
        watcher = _Watcher(watch, start) if watch is not None else None
        probed = None
        if signal_after is not None and (
            signal_when is None or wait_until(signal_when, self._child)
        ):
            time.sleep(signal_after)
            probed = probe() if probe is not None else None
            os.kill(self._child, signum)  # our unreaped child: alive, or a zombie
        self._send("reap")
        status = int(self._read())
        self._child = None
        seconds = time.monotonic() - start
        watched = watcher.stop() if watcher is not None else None
        text = log.read_text(errors="replace") if log.exists() else ""
        if os.WIFSIGNALED(status):
            return Outcome(
                signal=os.WTERMSIG(status),
                exit_code=None,
                seconds=seconds,
                log=text,
                probed=probed,
                watched=watched,
            )
        return Outcome(
            signal=None,
            exit_code=os.WEXITSTATUS(status),
            seconds=seconds,
            log=text,
            probed=probed,
            watched=watched,
        )

    def close(self) -> None:
        """Stop the zygote (and a child still running after a failed test)."""
        if self._child is not None:
            os.kill(self._child, signal.SIGKILL)
            self._send("reap")
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


WAIT_LIMIT_S = 300.0


def child_running(pid: int) -> bool:
    """Whether `pid` (a child not yet reaped) still runs; a zombie has ended. True without /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return not Path("/proc/self").exists()
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_until(condition: Callable[[], bool], pid: int) -> bool:
    """Poll `condition` every ms until it holds (True) or the child ended (False)."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while time.monotonic() < deadline:
        if condition():
            return True
        if not child_running(pid):
            return condition()
        time.sleep(0.001)
    raise TimeoutError(f"the condition never held in {WAIT_LIMIT_S:.0f} s")


class _Watcher:
    """Polls a condition in a thread; stop() returns the first and last time it held."""

    def __init__(self, condition: Callable[[], bool], start: float) -> None:
        self._condition, self._start = condition, start
        self._seen: list[float] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            if self._condition():
                self._seen.append(time.monotonic() - self._start)
            time.sleep(0.002)

    def stop(self) -> tuple[float, float] | None:
        self._done.set()
        self._thread.join()
        return (self._seen[0], self._seen[-1]) if self._seen else None
