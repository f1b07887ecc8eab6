"""Kill tests: SIGKILL/SIGTERM every operation at random moments, then check what it left.

After each kill, what must be left depends on how the run ended:
- exit 0 (it finished first): every output complete (equal, file for file, to an uninterrupted
  run, which `validate` passes) and nothing else: no staging folder, no lock;
- killed by SIGKILL: every output complete, or no output at all; if the edit was under way, its
  staging folder stays (nothing can clean up after SIGKILL) and the next run removes it;
- exit 130 (SIGTERM caught by the CLI): nothing left behind; if it hit the edit, no output and
  "interrupted" said (a SIGTERM just after publishing also exits 130, output complete);
- killed by SIGTERM's default action (before the CLI's handler was in, or after the command
  restored it): nothing written at all, or the output complete;
- any other end fails the test.
Always: the sources are byte-identical, and rerunning the same command succeeds, leaving no
leftover. In-place edits leave the old or the new dataset at the path, or a backup whose exact
`mv` the next run prints.

Runs go through the CLI in children forked from a zygote (tests/safety/zygote.py). Half the kills
come at random moments of the whole run ([0, 1.2 x its measured runtime]: start-up, edit, and
after the end); the other half at random moments while the edit's staging folder exists (counted
from its appearance). Whether the staging folder existed is checked at the moment of each kill,
and each test asserts that at least a third of its kills hit the edit itself.
Default: a few dozen kills. Long mode (ROBOSPLICE_LONG=1 or -m slow): over 200 more.
`ROBOSPLICE_KILL_SEED` fixes the random delays (printed in failure messages).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from zygote import Outcome, Zygote, wait_until

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.commit import find_leftovers
from robosplice.format.leftovers import LOCK_SUFFIX, STAGING_MARK
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
DELAY_SPAN = 1.2  # timed kills: delays drawn from [0, DELAY_SPAN x the uninterrupted runtime]
STAGED_SPAN = 0.7  # staged kills: from [0, STAGED_SPAN x the staging folder's life], from its birth
MIN_MID_EDIT = 1 / 3  # share of kills that must land while the staging folder exists

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


def staging_in(folder: Path) -> Callable[[], bool]:
    """A probe: does a staging folder (an edit under way) exist directly in `folder`?"""

    def exists() -> bool:
        return any(STAGING_MARK in path.name for path in folder.iterdir())

    return exists


def staging_seconds(*outcomes: Outcome) -> float:
    """How long the staging folder lived in uninterrupted runs (the shortest: busy machines).

    A run whose staging folder lived less than the watcher thread was kept off the CPU (a loaded
    machine) shows none; the other run then times it, and at least one must."""
    lives = [last - first for first, last in (o.watched for o in outcomes if o.watched)]
    logs = "\n".join(outcome.log for outcome in outcomes)
    assert lives, f"no staging folder was ever seen:\n{logs}"
    return min(lives)


@dataclass(frozen=True, slots=True)
class Kill:
    """When to signal: `delay` seconds after the start, or after the staging folder appeared."""

    delay: float
    after_staging: bool

    def describe(self) -> str:
        return f"{self.delay:.3f}s after {'staging appeared' if self.after_staging else 'start'}"


def plan_kills(rng: random.Random, seconds: float, staging: float, count: int) -> list[Kill]:
    """Half timed over the whole run, half within the edit; each half stratified over its span."""
    timed, staged = count - count // 2, count // 2
    kills = [Kill((k + rng.random()) / timed * DELAY_SPAN * seconds, False) for k in range(timed)]
    kills += [
        Kill((k + rng.random()) / staged * STAGED_SPAN * staging, True) for k in range(staged)
    ]
    return kills


def assert_enough_hit_the_edit(outcomes: list[Outcome], what: str) -> None:
    """At least MIN_MID_EDIT of the signals arrived while the edit's staging folder existed."""
    hits = sum(1 for outcome in outcomes if outcome.probed and not outcome.finished)
    assert hits >= MIN_MID_EDIT * len(outcomes), (
        f"only {hits} of {len(outcomes)} signals to {what} hit the edit (staging folder present);"
        f" the others came before it started or after it ended (seed {SEED})"
    )


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
    staging: float  # how long the staging folder lived


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
            operation.argv(sources.main, sources.second, out),
            folder / f"{operation.name}.log",
            watch=staging_in(folder),
        )
        assert outcome.finished, outcome.log
        # A second timing: the shorter is the better estimate on a busy machine.
        again = folder / f"{operation.name}-timing"
        timing = zygote.run(
            operation.argv(sources.main, sources.second, again),
            folder / "timing.log",
            watch=staging_in(folder),
        )
        assert timing.finished, timing.log
        digests = {}
        for output in operation.outputs(out):
            assert validate(output) == [], output
            digests[output.relative_to(out).as_posix()] = content_digest(output)
        seconds = min(outcome.seconds, timing.seconds)
        result[operation.name] = Reference(
            digests=digests, seconds=seconds, staging=staging_seconds(outcome, timing)
        )
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
    kill: Kill,
    counts: Counter[str],
    *,
    signum: int = signal.SIGKILL,
) -> Outcome:
    """Run, signal as `kill` says, check what is left for how it ended, rerun, check again."""
    folder.mkdir(parents=True)
    out = folder / "out"
    argv = operation.argv(sources.main, sources.second, out)
    sent = signal.Signals(signum).name
    context = f"{operation.name}, {sent} {kill.describe()}, seed {SEED}"
    staging = staging_in(folder)
    outcome = zygote.run(
        argv,
        folder / "run.log",
        signal_after=kill.delay,
        signum=signum,
        signal_when=staging if kill.after_staging else None,
        probe=staging,
    )
    when = "during the edit" if outcome.probed else "outside the edit"
    context += f", {when}"
    state = assert_left_behind(operation, outcome, signum, out, reference, context)
    how = (
        f"killed by {signal.Signals(outcome.signal).name}"
        if outcome.signal
        else f"exit {outcome.exit_code}"
    )
    counts[f"{sent} {operation.name} {when}: {how}, target {state}"] += 1
    sources.assert_untouched(context)

    rerun = zygote.run(argv + (["--overwrite"] if out.exists() else []), folder / "rerun.log")
    assert rerun.finished, f"rerun failed ({context}):\n{rerun.log}"
    _assert_complete(operation, out, reference, context + ", after the rerun")
    assert leftovers_under(folder) == [], context
    sources.assert_untouched(context + ", after the rerun")
    return outcome


def assert_left_behind(
    operation: Operation, outcome: Outcome, signum: int, out: Path, ref: Reference, context: str
) -> str:
    """What each way of ending must leave at and next to `out`; returns "complete" or "absent"."""
    left = leftovers_under(out.parent)
    staging = [p for p in left if STAGING_MARK in p.name]
    published = [output for output in operation.outputs(out) if output.exists()]
    context += f":\n{outcome.log}"
    if published:
        _assert_complete(operation, out, ref, context)
    else:
        assert not out.exists(), f"{out} exists but holds no dataset ({context})"

    if outcome.exit_code == 0:  # it finished before the signal
        assert published, f"exit 0 without an output ({context})"
        assert left == [], f"a finished run left {left} ({context})"
    elif outcome.signal == signal.SIGKILL == signum:
        # Only what a dead process cannot clean: its staging folder (if the edit was under way
        # and not yet published) and its lock file.
        stray = [p for p in left if p not in staging and not p.name.endswith(LOCK_SUFFIX)]
        assert stray == [], f"SIGKILL left {stray} ({context})"
        if published:
            assert staging == [], f"published, yet staging {staging} remains ({context})"
        elif outcome.probed:
            assert len(staging) == 1, f"killed mid-edit, expected its staging: {left} ({context})"
    elif outcome.exit_code == 130 and signum == signal.SIGTERM:
        # The CLI caught it and unwound: nothing left behind; mid-edit, no output and it says so.
        # Outside the edit its handler is still in, so typer ends a SIGTERM that comes right
        # after publishing (output complete, checked above) with its own silent exit 130.
        assert left == [], f"SIGTERM (exit 130) left {left} ({context})"
        if outcome.probed:
            assert "interrupted" in outcome.log, context
            assert not published, f"interrupted mid-edit, yet an output was published ({context})"
    elif outcome.signal == signal.SIGTERM == signum:
        # The default action: the CLI's handler was not in yet (the edit had not started), or it
        # was restored once the command was done (cli/_errors.py: a late signal must not claim
        # that a published output was not); then the output is complete, checked above.
        assert not outcome.probed, f"SIGTERM mid-edit killed the CLI uncaught ({context})"
        assert left == [], f"SIGTERM outside the edit left {left} ({context})"
    else:
        sent = signal.Signals(signum).name
        pytest.fail(f"{sent} ended the run in an unexpected way: {outcome} ({context})")
    return "complete" if published else "absent"


@pytest.mark.parametrize("name", [operation.name for operation in OPERATIONS])
def test_sigkill_at_random_moments(
    name, zygote, sources, references, tmp_path, kill_counts
) -> None:
    operation, reference = BY_NAME[name], references[name]
    rng = random.Random(f"{SEED}-{name}")
    kills = plan_kills(rng, reference.seconds, reference.staging, KILLS_PER_OPERATION)
    outcomes = [
        kill_once(operation, zygote, sources, reference, tmp_path / str(number), kill, kill_counts)
        for number, kill in enumerate(kills)
    ]
    assert_enough_hit_the_edit(outcomes, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [operation.name for operation in OPERATIONS])
def test_many_sigkills_at_random_moments(
    name, zygote, sources, references, tmp_path, kill_counts
) -> None:
    operation, reference = BY_NAME[name], references[name]
    rng = random.Random(f"{SEED}-long-{name}")
    kills = plan_kills(rng, reference.seconds, reference.staging, LONG_KILLS_PER_OPERATION)
    outcomes = [
        kill_once(operation, zygote, sources, reference, tmp_path / str(number), kill, kill_counts)
        for number, kill in enumerate(kills)
    ]
    assert_enough_hit_the_edit(outcomes, name)


def _sigterms(zygote, sources, references, tmp_path, kill_counts, count: int, seed: str) -> None:
    rng = random.Random(seed)
    outcomes = []
    for number in range(count):
        operation = OPERATIONS[number % len(OPERATIONS)]
        reference = references[operation.name]
        if number % 2:
            kill = Kill(rng.uniform(0, STAGED_SPAN * reference.staging), True)
        else:
            kill = Kill(rng.uniform(0, DELAY_SPAN * reference.seconds), False)
        outcome = kill_once(
            operation,
            zygote,
            sources,
            reference,
            tmp_path / str(number),
            kill,
            kill_counts,
            signum=signal.SIGTERM,
        )
        outcomes.append(outcome)
    assert_enough_hit_the_edit(outcomes, "the CLI (SIGTERM)")
    # Every SIGTERM that hit the edit was caught and unwound (exit 130; see assert_left_behind).
    assert all(o.exit_code == 130 for o in outcomes if o.probed and not o.finished), outcomes


def test_sigterm_through_the_cli_cleans_up(
    zygote, sources, references, tmp_path, kill_counts
) -> None:
    _sigterms(zygote, sources, references, tmp_path, kill_counts, SIGTERMS, f"{SEED}-term")


@pytest.mark.slow
def test_many_sigterms_through_the_cli(zygote, sources, references, tmp_path, kill_counts) -> None:
    _sigterms(zygote, sources, references, tmp_path, kill_counts, LONG_SIGTERMS, f"{SEED}-terms")


SPAWN_ATTEMPTS = 5


def test_sigterm_to_a_spawned_cli_process(sources, references, tmp_path, kill_counts) -> None:
    """The installed `robosplice` entry point, spawned (not forked), stopped by SIGTERM mid-edit:
    exit 130, "interrupted", no output and nothing left behind."""
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
        staging = staging_in(out.parent)
        for _attempt in range(SPAWN_ATTEMPTS):
            process = subprocess.Popen(
                [*command, *operation.argv(sources.main, sources.second, out)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "ROBOSPLICE_NO_PROGRESS": "1"},
            )
            if wait_until(staging, process.pid):
                break
            # Ended before a poll saw its staging: on a loaded machine the whole edit can fall
            # between two polls. A finished edit is run again; a failed one is a failure.
            _, stderr = process.communicate(timeout=60)
            assert process.returncode == 0, f"the edit failed before its staging was seen: {stderr}"
            shutil.rmtree(out)
        else:
            pytest.fail(f"no edit was seen under way in {SPAWN_ATTEMPTS} runs")
        time.sleep(rng.uniform(0, 0.3 * reference.staging))
        assert staging(), "the edit ended before the signal: the test's delay is too long"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        assert "interrupted" in stderr, stderr
        assert not out.exists(), stderr
        assert leftovers_under(out.parent) == [], stderr
        kill_counts[f"spawned CLI SIGTERM during the edit: exit {process.returncode}"] += 1
    sources.assert_untouched("spawned SIGTERM")


# --- in-place ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InPlaceReference:
    """`delete-episodes --in-place -e 0,3` run to the end: content before/after, timings."""

    old: dict[str, str]
    new: dict[str, str]
    seconds: float
    staging: float


@pytest.fixture(scope="module")
def in_place_reference(zygote, tmp_path_factory) -> InPlaceReference:
    folder = tmp_path_factory.mktemp("in-place-reference")
    root = copy_tree_writable(fixtures_dir() / SECOND, folder / "ds")
    before = content_digest(root)
    outcome = zygote.run(_in_place_argv(root), folder / "run.log", watch=staging_in(folder))
    assert outcome.finished, outcome.log
    assert validate(root) == []
    return InPlaceReference(
        old=before,
        new=content_digest(root),
        seconds=outcome.seconds,
        staging=staging_seconds(outcome),
    )


def _in_place_argv(root: Path) -> list[str]:
    return ["delete-episodes", str(root), "--in-place", "-e", "0,3"]


_MV = re.compile(r"mv '([^']+)' '([^']+)'")


def in_place_once(
    zygote: Zygote,
    folder: Path,
    reference: InPlaceReference,
    counts: Counter[str],
    *,
    kill: Kill | None = None,
    crash_at: int | None = None,
    crash_in_rmtree: bool = False,
) -> tuple[str, Outcome]:
    """Interrupt an in-place delete; check old/new/backup; follow the advice; rerun.

    Returns what the path held after the interruption ("old", "new", "missing") and the outcome.
    """
    old, new = reference.old, reference.new
    folder.mkdir(parents=True)
    root = copy_tree_writable(fixtures_dir() / SECOND, folder / "ds")
    when = kill.describe() if kill else None
    context = f"in-place delete, SIGKILL {when}, crash_at {crash_at}, seed {SEED}"
    staging = staging_in(folder)
    outcome = zygote.run(
        _in_place_argv(root),
        folder / "run.log",
        signal_after=kill.delay if kill else None,
        signal_when=staging if kill and kill.after_staging else None,
        probe=staging,
        crash_at=crash_at,
        crash_in_rmtree=crash_in_rmtree,
    )
    context += f", {'during' if outcome.probed else 'outside'} the edit:\n{outcome.log}"
    if not root.exists():
        state = "missing"
    else:
        digest = content_digest(root)
        assert digest in (old, new), f"{root} is neither the old nor the new dataset ({context})"
        state = "old" if digest == old else "new"
    how = "killed by SIGKILL" if outcome.signal else f"exit {outcome.exit_code}"
    during = "during the edit" if outcome.probed else "outside the edit"
    counts[f"SIGKILL in-place delete {during}: {how}, path holds {state}"] += 1
    found = state
    kinds = Counter(left.kind for left in find_leftovers(root))
    locks = [p for p in folder.iterdir() if p.name.endswith(LOCK_SUFFIX)]
    if outcome.exit_code == 0:  # it finished before the signal: the new dataset, nothing else
        assert state == "new", context
        assert not kinds, (context, kinds)
        assert not locks, (context, locks)
    elif outcome.signal == signal.SIGKILL:
        if state == "missing":
            assert kinds["backup"] == 1, (context, kinds)
        if state == "old":
            assert kinds["backup"] == 0, (context, kinds)
            if outcome.probed:  # killed mid-edit, before the swap: its staging folder stays
                assert kinds["staging"] == 1, (context, kinds)
    else:
        pytest.fail(f"SIGKILL ended the in-place run in an unexpected way: {outcome} ({context})")

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
    assert not [p for p in folder.iterdir() if p.name.endswith(LOCK_SUFFIX)], context
    return found, outcome


def _in_place_kills(zygote, reference, tmp_path, kill_counts, count: int, seed: str) -> None:
    kills = plan_kills(random.Random(seed), reference.seconds, reference.staging, count)
    outcomes = [
        in_place_once(zygote, tmp_path / str(number), reference, kill_counts, kill=kill)[1]
        for number, kill in enumerate(kills)
    ]
    assert_enough_hit_the_edit(outcomes, "an in-place delete")


def test_in_place_delete_at_random_moments(
    zygote, in_place_reference, tmp_path, kill_counts
) -> None:
    _in_place_kills(
        zygote, in_place_reference, tmp_path, kill_counts, IN_PLACE_KILLS, f"{SEED}-in-place"
    )


@pytest.mark.slow
def test_many_in_place_kills(zygote, in_place_reference, tmp_path, kill_counts) -> None:
    _in_place_kills(
        zygote,
        in_place_reference,
        tmp_path,
        kill_counts,
        LONG_IN_PLACE_KILLS,
        f"{SEED}-in-place-long",
    )


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
    found, outcome = in_place_once(zygote, folder, in_place_reference, kill_counts, **crash)
    assert found == state
    assert outcome.signal == signal.SIGKILL  # the injected crash, not a normal end


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
