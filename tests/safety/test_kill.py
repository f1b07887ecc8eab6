"""Kill tests: SIGKILL/SIGTERM every operation at random moments, then check what it left.

After each kill: every output is absent or complete (equal, file for file, to an uninterrupted
run, which `validate` passes), the sources are byte-identical, and rerunning the same command
succeeds despite the leftover lock and staging folders, leaving none behind. In-place edits
leave the old or the new dataset at the path, or a backup whose exact `mv` the next run prints.

Runs go through the CLI in children forked from a zygote (tests/safety/zygote.py), so the
random delay, drawn from [0, 1.2 x the operation's measured runtime], lands inside the edit.
Default: a few dozen kills. Long mode (ROBOSPLICE_LONG=1 or -m slow): over 200 more.
`ROBOSPLICE_KILL_SEED` fixes the random delays (printed in failure messages).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from zygote import Outcome, Zygote

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.commit import find_leftovers
from robosplice.history import HISTORY_PATH
from robosplice.ops.validate import validate
from robosplice.testing import tree_digest

SEED = int(os.environ.get("ROBOSPLICE_KILL_SEED", "20260611"))
KILLS_PER_OPERATION = 6
LONG_KILLS_PER_OPERATION = 35
IN_PLACE_KILLS = 6
LONG_IN_PLACE_KILLS = 30
SIGTERMS = 6
LONG_SIGTERMS = 20
DELAY_SPAN = 1.2  # delays are drawn from [0, DELAY_SPAN x the uninterrupted runtime]

MAIN = "v3_av1_multifile"  # several data and video files, chunk rotation: many write phases
SECOND = "v3_av1_single"


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """A CLI command over the source(s) into `out`, and the dataset folders it publishes."""

    name: str
    argv: Callable[[Path, Path, Path], list[str]]
    outputs: Callable[[Path], list[Path]] = lambda out: [out]


OPERATIONS = (
    Operation(
        name="delete",
        argv=lambda main, second, out: ["delete-episodes", str(main), str(out), "-e", "0,3,9"],
    ),
    Operation(
        name="split",
        argv=lambda main, second, out: [
            "split-dataset",
            str(main),
            str(out),
            "-s",
            "train=0.6",
            "-s",
            "val=0.4",
        ],
        outputs=lambda out: [out / "train", out / "val"],
    ),
    Operation(
        name="merge",
        argv=lambda main, second, out: ["merge-datasets", str(main), str(second), "-o", str(out)],
    ),
    Operation(
        name="trim",
        argv=lambda main, second, out: [
            "trim-episodes",
            str(main),
            str(out),
            "-r",
            "0:3:20",
            "-r",
            "4:1:30",
        ],
    ),
    Operation(
        name="filter",
        argv=lambda main, second, out: [
            "filter-episodes",
            str(main),
            str(out),
            "--min-length",
            "45",
        ],
    ),
    Operation(
        name="repack",
        argv=lambda main, second, out: [
            "repack",
            str(main),
            str(out),
            "--video-file-size-mb",
            "0.03",
            "--chunk-size",
            "2",
        ],
    ),
)
BY_NAME = {operation.name: operation for operation in OPERATIONS}


def content_digest(root: Path) -> dict[str, str]:
    """tree_digest without the edit log, whose time and id differ between runs."""
    return {
        path: digest
        for path, digest in tree_digest(root).items()
        if not path.startswith(str(Path(HISTORY_PATH).parent))
    }


def leftovers_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if ".robosplice-" in p.name)


@dataclass(slots=True)
class Sources:
    main: Path
    second: Path
    digests: dict[Path, dict[str, str]]

    def assert_untouched(self, context: str) -> None:
        for root, before in self.digests.items():
            assert tree_digest(root) == before, f"source {root} changed ({context})"


@dataclass(frozen=True, slots=True)
class Reference:
    digests: dict[str, dict[str, str]]  # output folder name relative to out → content digest
    seconds: float


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    process = Zygote()
    yield process
    process.close()


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    folder = tmp_path_factory.mktemp("kill-sources")
    main = copy_tree_writable(fixtures_dir() / MAIN, folder / MAIN)
    second = copy_tree_writable(fixtures_dir() / SECOND, folder / SECOND)
    return Sources(main=main, second=second, digests={r: tree_digest(r) for r in (main, second)})


@pytest.fixture(scope="module")
def references(
    zygote: Zygote, sources: Sources, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Reference]:
    """Each operation run to the end once: what a complete output is, and how long it takes."""
    folder = tmp_path_factory.mktemp("kill-references")
    result = {}
    for operation in OPERATIONS:
        out = folder / operation.name
        outcome = zygote.run(
            operation.argv(sources.main, sources.second, out), folder / f"{operation.name}.log"
        )
        assert outcome.finished, outcome.log
        # A second timing: the shorter is the better estimate on a busy machine.
        again = folder / f"{operation.name}-timing"
        timing = zygote.run(
            operation.argv(sources.main, sources.second, again), folder / "timing.log"
        )
        assert timing.finished, timing.log
        digests = {}
        for output in operation.outputs(out):
            assert validate(output) == [], output
            digests[output.relative_to(out).as_posix()] = content_digest(output)
        seconds = min(outcome.seconds, timing.seconds)
        result[operation.name] = Reference(digests=digests, seconds=seconds)
    sources.assert_untouched("reference runs")
    return result


def _assert_complete(operation: Operation, out: Path, reference: Reference, context: str) -> None:
    for output in operation.outputs(out):
        name = output.relative_to(out).as_posix()
        assert output.is_dir(), f"{output} missing ({context})"
        assert content_digest(output) == reference.digests[name], f"{output} differs ({context})"
        assert validate(output) == [], context


def kill_once(
    operation: Operation,
    zygote: Zygote,
    sources: Sources,
    reference: Reference,
    folder: Path,
    delay: float,
    counts: Counter[str],
    *,
    signum: int = signal.SIGKILL,
) -> Outcome:
    """Run, signal after `delay` s, check the state, rerun, check again."""
    folder.mkdir(parents=True)
    out = folder / "out"
    argv = operation.argv(sources.main, sources.second, out)
    context = f"{operation.name}, signal {signum} after {delay:.3f}s, seed {SEED}"
    outcome = zygote.run(argv, folder / "run.log", signal_after=delay, signum=signum)
    published = [output for output in operation.outputs(out) if output.exists()]
    if published or outcome.finished:
        _assert_complete(operation, out, reference, context)
        state = "complete"
    else:
        assert not out.exists(), f"{out} exists but holds no dataset ({context})"
        state = "absent"
    how = (
        f"killed by {signal.Signals(outcome.signal).name}"
        if outcome.signal
        else f"exit {outcome.exit_code}"
    )
    sent = signal.Signals(signum).name
    counts[f"{sent} {operation.name}: {how}, target {state}"] += 1
    sources.assert_untouched(context)
    if signum != signal.SIGKILL:
        # A catchable signal unwinds: no staging folder, lock or backup is left behind.
        assert leftovers_under(folder) == [], f"{context}:\n{outcome.log}"

    rerun = zygote.run(argv + (["--overwrite"] if out.exists() else []), folder / "rerun.log")
    assert rerun.finished, f"rerun failed ({context}):\n{rerun.log}"
    _assert_complete(operation, out, reference, context + ", after the rerun")
    assert leftovers_under(folder) == [], context
    sources.assert_untouched(context + ", after the rerun")
    return outcome


def _delays(rng: random.Random, seconds: float, count: int) -> list[float]:
    return [rng.uniform(0, DELAY_SPAN * seconds) for _ in range(count)]


@pytest.mark.parametrize("name", [operation.name for operation in OPERATIONS])
def test_sigkill_at_random_moments(
    name, zygote, sources, references, tmp_path, kill_counts
) -> None:
    operation, reference = BY_NAME[name], references[name]
    rng = random.Random(f"{SEED}-{name}")
    for number, delay in enumerate(_delays(rng, reference.seconds, KILLS_PER_OPERATION)):
        kill_once(operation, zygote, sources, reference, tmp_path / str(number), delay, kill_counts)


@pytest.mark.slow
@pytest.mark.parametrize("name", [operation.name for operation in OPERATIONS])
def test_many_sigkills_at_random_moments(
    name, zygote, sources, references, tmp_path, kill_counts
) -> None:
    operation, reference = BY_NAME[name], references[name]
    rng = random.Random(f"{SEED}-long-{name}")
    for number, delay in enumerate(_delays(rng, reference.seconds, LONG_KILLS_PER_OPERATION)):
        kill_once(operation, zygote, sources, reference, tmp_path / str(number), delay, kill_counts)


def _sigterms(zygote, sources, references, tmp_path, kill_counts, count: int, seed: str) -> None:
    rng = random.Random(seed)
    for number in range(count):
        operation = OPERATIONS[number % len(OPERATIONS)]
        reference = references[operation.name]
        delay = rng.uniform(0, DELAY_SPAN * reference.seconds)
        outcome = kill_once(
            operation,
            zygote,
            sources,
            reference,
            tmp_path / str(number),
            delay,
            kill_counts,
            signum=signal.SIGTERM,
        )
        # The CLI turns SIGTERM into a clean exit 130 once its handler is in; before, the
        # default action kills it (nothing written yet); or it finished first.
        assert outcome.exit_code in (0, 130) or outcome.signal == signal.SIGTERM, outcome
        if outcome.exit_code == 130:
            assert "interrupted" in outcome.log


def test_sigterm_through_the_cli_cleans_up(
    zygote, sources, references, tmp_path, kill_counts
) -> None:
    _sigterms(zygote, sources, references, tmp_path, kill_counts, SIGTERMS, f"{SEED}-term")


@pytest.mark.slow
def test_many_sigterms_through_the_cli(zygote, sources, references, tmp_path, kill_counts) -> None:
    _sigterms(zygote, sources, references, tmp_path, kill_counts, LONG_SIGTERMS, f"{SEED}-terms")


def test_sigterm_to_a_spawned_cli_process(sources, references, tmp_path, kill_counts) -> None:
    """The installed `robosplice` entry point, spawned (not forked), stopped by SIGTERM."""
    operation, reference = BY_NAME["repack"], references["repack"]
    script = Path(sys.executable).with_name("robosplice")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from robosplice.cli.app import main; main()"]
    )
    rng = random.Random(f"{SEED}-spawn")
    for number in range(3):
        out = tmp_path / str(number) / "out"
        out.parent.mkdir()
        process = subprocess.Popen(
            [*command, *operation.argv(sources.main, sources.second, out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "ROBOSPLICE_NO_PROGRESS": "1"},
        )
        time.sleep(rng.uniform(0.2, 1.5))
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode in (0, 130, -signal.SIGTERM), stderr
        if process.returncode == 0:
            _assert_complete(operation, out, reference, "spawned, finished")
        else:
            assert not out.exists() or content_digest(out) == reference.digests["."], stderr
        assert leftovers_under(out.parent) == [], stderr
        kill_counts[f"spawned CLI SIGTERM: exit {process.returncode}"] += 1
    sources.assert_untouched("spawned SIGTERM")


# --- in-place ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def in_place_reference(zygote, tmp_path_factory) -> tuple[dict[str, str], dict[str, str], float]:
    """(digest before, content digest after, seconds) of `delete-episodes --in-place -e 0,3`."""
    folder = tmp_path_factory.mktemp("in-place-reference")
    root = copy_tree_writable(fixtures_dir() / SECOND, folder / "ds")
    before = content_digest(root)
    outcome = zygote.run(_in_place_argv(root), folder / "run.log")
    assert outcome.finished, outcome.log
    assert validate(root) == []
    return before, content_digest(root), outcome.seconds


def _in_place_argv(root: Path) -> list[str]:
    return ["delete-episodes", str(root), "--in-place", "-e", "0,3"]


_MV = re.compile(r"mv '([^']+)' '([^']+)'")


def in_place_once(
    zygote: Zygote,
    folder: Path,
    reference: tuple[dict[str, str], dict[str, str], float],
    counts: Counter[str],
    *,
    delay: float | None = None,
    crash_at: int | None = None,
    crash_in_rmtree: bool = False,
) -> str:
    """Interrupt an in-place delete; check old/new/backup; follow the advice; rerun."""
    old, new, _ = reference
    folder.mkdir(parents=True)
    root = copy_tree_writable(fixtures_dir() / SECOND, folder / "ds")
    context = f"in-place delete, delay {delay}, crash_at {crash_at}, seed {SEED}"
    outcome = zygote.run(
        _in_place_argv(root),
        folder / "run.log",
        signal_after=delay,
        crash_at=crash_at,
        crash_in_rmtree=crash_in_rmtree,
    )
    if not root.exists():
        state = "missing"
    else:
        digest = content_digest(root)
        assert digest in (old, new), f"{root} is neither the old nor the new dataset ({context})"
        state = "old" if digest == old else "new"
    how = "killed by SIGKILL" if outcome.signal else f"exit {outcome.exit_code}"
    counts[f"SIGKILL in-place delete: {how}, path holds {state}"] += 1
    found = state
    kinds = Counter(left.kind for left in find_leftovers(root))
    if state == "missing":
        assert kinds["backup"] == 1, (context, kinds)
    if state == "old":
        assert kinds["backup"] == 0, (context, kinds)

    rerun = zygote.run(_in_place_argv(root), folder / "rerun.log")
    if state == "missing":
        # The next run refuses, naming the backup and the exact command; following it works.
        assert rerun.exit_code == 1, rerun.log
        backup = next(left.path for left in find_leftovers(root) if left.kind == "backup")
        assert str(backup) in rerun.log, rerun.log
        moves = [m for m in _MV.findall(rerun.log) if m[0] == str(backup)]
        assert moves == [(str(backup), str(root))], rerun.log
        os.rename(*moves[0])  # what the user runs
        assert content_digest(root) == old, context
        rerun = zygote.run(_in_place_argv(root), folder / "rerun-after-mv.log")
        state = "old"
    assert rerun.finished, f"rerun failed ({context}):\n{rerun.log}"
    assert validate(root) == [], context
    if state == "old":
        assert content_digest(root) == new, context
    remaining = find_leftovers(root)
    if kinds["backup"] and state == "new":
        # It died after the swap, before deleting the backup: the rerun reported it.
        assert [left.kind for left in remaining] == ["backup"], (context, remaining)
        assert f"rm -r '{remaining[0].path}'" in rerun.log, rerun.log
    else:
        assert remaining == [], (context, remaining)
    assert not [p for p in folder.iterdir() if p.name.endswith(".robosplice-lock")], context
    return found


def test_in_place_delete_at_random_moments(
    zygote, in_place_reference, tmp_path, kill_counts
) -> None:
    rng = random.Random(f"{SEED}-in-place")
    for number in range(IN_PLACE_KILLS):
        delay = rng.uniform(0, DELAY_SPAN * in_place_reference[2])
        in_place_once(zygote, tmp_path / str(number), in_place_reference, kill_counts, delay=delay)


@pytest.mark.slow
def test_many_in_place_kills(zygote, in_place_reference, tmp_path, kill_counts) -> None:
    rng = random.Random(f"{SEED}-in-place-long")
    for number in range(LONG_IN_PLACE_KILLS):
        delay = rng.uniform(0, DELAY_SPAN * in_place_reference[2])
        in_place_once(zygote, tmp_path / str(number), in_place_reference, kill_counts, delay=delay)


@pytest.mark.parametrize(
    ("crash", "state"),
    [
        ({"crash_at": 1}, "old"),  # before old → backup
        ({"crash_at": 2}, "missing"),  # between old → backup and new → target
        ({"crash_at": 3}, "new"),  # before backup → trash
        ({"crash_in_rmtree": True}, "new"),  # while deleting the swapped-out copy
    ],
    ids=["before-swap", "between-renames", "before-backup-to-trash", "while-deleting-backup"],
)
def test_in_place_delete_killed_between_swap_steps(
    crash, state, zygote, in_place_reference, tmp_path, kill_counts
) -> None:
    folder = tmp_path / "case"
    assert in_place_once(zygote, folder, in_place_reference, kill_counts, **crash) == state


def test_new_output_killed_just_before_its_rename(zygote, sources, references, tmp_path) -> None:
    operation = BY_NAME["delete"]
    out = tmp_path / "out"
    argv = operation.argv(sources.main, sources.second, out)
    outcome = zygote.run(argv, tmp_path / "run.log", crash_at=1)
    assert outcome.signal == signal.SIGKILL
    assert not out.exists()
    assert [left.kind for left in find_leftovers(out)] == ["staging"]
    rerun = zygote.run(argv, tmp_path / "rerun.log")
    assert rerun.finished, rerun.log
    assert "removing" in rerun.log
    assert "unfinished output" in rerun.log
    _assert_complete(operation, out, references["delete"], "after the rerun")
    assert leftovers_under(tmp_path) == []
