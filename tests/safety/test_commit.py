"""Staging, locks and swaps (robosplice.commit): leftovers of dead runs, and two real processes."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from robosplice.commit import (
    _signals_deferred,
    check_output_target,
    describe_leftovers,
    find_leftovers,
    lock_path,
    publish,
    staged_output,
    target_lock,
)
from robosplice.dataset import Dataset
from robosplice.errors import (
    DatasetNotFoundError,
    InvalidDatasetError,
    OutputExistsError,
    OutputLockedError,
)
from robosplice.ops.delete import delete_episodes
from robosplice.ops.validate import validate
from robosplice.testing import tree_digest

_HOLDER = """
import sys
from pathlib import Path
from robosplice.commit import target_lock
with target_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _dataset(path: Path) -> Path:
    (path / "meta").mkdir(parents=True)
    (path / "meta" / "info.json").write_text("{}")
    return path


# The CLI as a separate, freshly started Python process.
CLI = [sys.executable, "-c", "from robosplice.cli.app import main; main()"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "ROBOSPLICE_NO_PROGRESS": "1"},
    )


def test_leftovers_are_found_by_name(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    for name in (
        ".ds.robosplice-staging-12-abcd",
        ".ds.robosplice-backup-13-abcd",
        ".ds.robosplice-trash-14-abcd",
        ".dsx.robosplice-staging-15-abcd",  # another target's
        ".ds.robosplice-lock",
    ):
        (tmp_path / name).mkdir()
    found = {(left.kind, left.pid) for left in find_leftovers(target)}
    assert found == {("staging", 12), ("backup", 13), ("trash", 14)}


def test_a_missing_target_with_a_backup_is_refused_with_the_mv(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    backup = _dataset(tmp_path / f".ds.robosplice-backup-{_dead_pid()}-abcd1234")
    with pytest.raises(OutputExistsError) as caught:
        check_output_target(target, [tmp_path / "other"], overwrite=True)
    assert f"mv '{backup}' '{target}'" in str(caught.value)
    with pytest.raises(OutputExistsError, match="restore it with: mv"), staged_output(target):
        pass
    # The in-place case: the source itself is missing.
    with pytest.raises(DatasetNotFoundError) as caught:
        Dataset(target)
    assert f"mv '{backup}' '{target}'" in str(caught.value)
    assert backup.is_dir()


def test_the_finished_new_copy_is_offered_too(tmp_path: Path) -> None:
    target, pid = tmp_path / "ds", _dead_pid()
    backup = _dataset(tmp_path / f".ds.robosplice-backup-{pid}-aaaa")
    staging = _dataset(tmp_path / f".ds.robosplice-staging-{pid}-bbbb")
    [advice] = describe_leftovers(target)
    assert f"mv '{backup}' '{target}'" in advice
    assert f"mv '{staging}' '{target}' && rm -r '{backup}'" in advice


def test_stale_staging_and_trash_are_removed_and_a_backup_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = _dataset(tmp_path / "ds")
    dead = _dead_pid()
    staging = _dataset(tmp_path / f".ds.robosplice-staging-{dead}-aaaa")
    trash = _dataset(tmp_path / f".ds.robosplice-trash-{dead}-bbbb")
    backup = _dataset(tmp_path / f".ds.robosplice-backup-{dead}-cccc")
    live = _dataset(tmp_path / f".ds.robosplice-staging-{os.getpid()}-dddd")
    with caplog.at_level(logging.WARNING, logger="robosplice.commit"):
        check_output_target(target, [], overwrite=True)
        assert f"rm -r '{backup}'" in caplog.text
        assert str(live) in caplog.text
        with staged_output(target) as new:
            (new / "marker").write_text("new")
    assert (target / "marker").read_text() == "new"
    assert not staging.exists()
    assert not trash.exists()
    assert backup.is_dir()
    assert live.is_dir()
    assert "removing" in caplog.text
    assert str(staging) in caplog.text


def test_staging_is_removed_on_error_and_interrupt(tmp_path: Path) -> None:
    target = tmp_path / "ds"

    def fail_while_staging(error: BaseException) -> None:
        with staged_output(target) as staging:
            (staging / "file").write_text("x")
            raise error

    for error in (ValueError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            fail_while_staging(error)
        assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_swap_leaves_only_the_new_copy(tmp_path: Path) -> None:
    target = _dataset(tmp_path / "ds")
    (target / "old").write_text("old")
    staging = _dataset(tmp_path / "new")
    publish(staging, target)
    assert sorted(p.name for p in target.iterdir()) == ["meta"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_replace_false_refuses_a_target_that_appeared(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    check_output_target(target, [])
    _dataset(target)  # another process published it in between
    with pytest.raises(OutputExistsError, match="appeared"), staged_output(target, replace=False):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_signals_during_a_swap_are_held_until_it_is_done() -> None:
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    steps = []

    def swap() -> None:
        with _signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("after the signal")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            swap()
        assert steps == ["after the signal"]
        assert signal.getsignal(signal.SIGTERM) is interrupt
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_lock_is_exclusive_within_a_process(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    with (
        target_lock(target),
        pytest.raises(OutputLockedError, match=f"process {os.getpid()}"),
        target_lock(target),
    ):
        pass
    assert not lock_path(target).exists()
    with target_lock(target):
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    lock_path(target).write_text(str(_dead_pid()))
    with target_lock(target):
        assert lock_path(target).read_text() == str(os.getpid())
    assert not lock_path(target).exists()


def test_two_processes_cannot_write_the_same_target(fixture_dataset, tmp_path: Path) -> None:
    source = fixture_dataset("v3_av1_single")
    target = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        refused = _cli("delete-episodes", str(source), str(target), "-e", "0")
        assert refused.returncode == 1, refused.stderr
        assert f"being written by robosplice process {holder.pid}" in refused.stderr
        with pytest.raises(OutputLockedError):
            delete_episodes(source, [0], target)
        assert not target.exists()
        # The holder dies without releasing anything: its lock file stays, the lock does not.
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert lock_path(target).exists()
        done = _cli("delete-episodes", str(source), str(target), "-e", "0")
        assert done.returncode == 0, done.stderr
    finally:
        holder.kill()
        holder.wait()
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()
    assert validate(target) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


def test_racing_processes_publish_exactly_one_output(fixture_dataset, tmp_path: Path) -> None:
    source = fixture_dataset("v3_av1_single")
    target = tmp_path / "out"
    command = [*CLI, "delete-episodes"]
    processes = [
        subprocess.Popen(
            [*command, str(source), str(target), "-e", str(episode)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "ROBOSPLICE_NO_PROGRESS": "1"},
        )
        for episode in range(4)
    ]
    results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    winners = [episode for episode, (code, _, _) in enumerate(results) if code == 0]
    assert len(winners) == 1, results
    for code, _, stderr in results:
        if code != 0:
            assert code == 1
            assert re.search("already exists|being written|appeared", stderr), stderr
    assert Dataset(target).num_episodes == 5
    assert validate(target) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


def test_split_publishes_all_splits_or_none(fixture_dataset, tmp_path: Path) -> None:
    from robosplice.ops.split import split_dataset

    source = fixture_dataset("v3_av1_single")
    before = tree_digest(source)
    out = tmp_path / "splits"
    split_dataset(source, {"a": [0, 1], "b": [2, 3]}, out)
    assert sorted(p.name for p in out.iterdir()) == ["a", "b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["splits", "src"]
    shutil.rmtree(out)
    with pytest.raises(ValueError, match="plain folder names"):
        split_dataset(source, {"../escape": [0], "b": [1]}, out)
    assert tree_digest(source) == before


def test_split_into_an_existing_parent_takes_over_its_stale_lock(
    fixture_dataset, tmp_path: Path
) -> None:
    """A run killed between publishing the splits' parent and unlinking its lock leaves the lock;
    the rerun (into the now existing parent) must take it over and remove it, and a live holder
    of the parent's lock refuses the split."""
    from robosplice.ops.split import split_dataset

    source = fixture_dataset("v3_av1_single")
    out = tmp_path / "splits"
    split_dataset(source, {"a": [0, 1], "b": [2, 3]}, out)
    lock_path(out).write_text(str(_dead_pid()))  # what the killed run left
    split_dataset(source, {"a": [0], "b": [1]}, out, overwrite=True)
    assert not lock_path(out).exists()
    assert Dataset(out / "a").num_episodes == 1
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"locked"
        with pytest.raises(OutputLockedError, match="being written"):
            split_dataset(source, {"a": [2], "b": [3]}, out, overwrite=True)
    finally:
        holder.communicate(b"")
    assert Dataset(out / "a").num_episodes == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["splits", "src"]


def test_a_faulty_new_copy_never_replaces_the_original(
    fixture_dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import robosplice.ops._run as run

    root = shutil.copytree(fixture_dataset("v3_av1_single"), tmp_path / "ds")
    before = tree_digest(root)
    real_write_history = run.write_history

    def write_history_then_break(staging: Path, plan, **kwargs):  # an engine bug, simulated
        entry = real_write_history(staging, plan, **kwargs)
        info = json.loads((staging / "meta" / "info.json").read_text())
        info["total_frames"] += 1
        (staging / "meta" / "info.json").write_text(json.dumps(info))
        return entry

    monkeypatch.setattr(run, "write_history", write_history_then_break)
    with pytest.raises(InvalidDatasetError, match="did not replace it") as caught:
        delete_episodes(root, [0], in_place=True)
    assert "total_frames" in str(caught.value)
    assert tree_digest(root) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "src"]


def test_the_pid_file_lock_used_without_fcntl(tmp_path: Path, monkeypatch) -> None:
    import robosplice.commit as commit

    monkeypatch.setattr(commit, "fcntl", None)
    target = tmp_path / "ds"
    with target_lock(target):
        assert lock_path(target).read_text() == str(os.getpid())
    assert not lock_path(target).exists()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock_path(target).write_text(str(sleeper.pid))  # held by a live process
        with pytest.raises(OutputLockedError, match=f"process {sleeper.pid}"), target_lock(target):
            pass
    finally:
        sleeper.kill()
        sleeper.wait()
    with target_lock(target):  # its lock is stale now
        assert lock_path(target).read_text() == str(os.getpid())
    assert not lock_path(target).exists()
