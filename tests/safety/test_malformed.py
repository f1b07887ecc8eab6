"""Every malformed input of the corpus is refused by every operation, and nothing is written.

For each case (tests/safety/corpus.py) and each operation (delete, split, merge with itself, trim,
filter, repack, and validate): the library raises a `RobospliceError` whose message names the
problem and where it is (validate: a problem of the expected kind); the CLI exits 1 with an
`error:` line and no traceback; the output folder is absent, no staging folder or lock is left
behind, and the source is byte-identical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import typer.testing
from corpus import CASES, Case, build_case
from typer.testing import CliRunner

from robosplice.cli.app import app
from robosplice.errors import RobospliceError
from robosplice.format.paths import HISTORY_PATH
from robosplice.ops.delete import delete_episodes
from robosplice.ops.filter import filter_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.repack import repack
from robosplice.ops.split import split_dataset
from robosplice.ops.trim import trim_episodes
from robosplice.ops.validate import validate
from robosplice.testing import tree_digest

Call = Callable[[Path, Path], Any]
Argv = Callable[[Path, Path], list[str]]

OPERATIONS: dict[str, tuple[Call, Argv]] = {
    "delete": (
        lambda source, out: delete_episodes(source, [0], out),
        lambda source, out: ["delete-episodes", str(source), str(out), "--episodes", "0"],
    ),
    "split": (
        lambda source, out: split_dataset(source, {"a": 0.5, "b": 0.5}, out),
        lambda source, out: ["split-dataset", str(source), str(out), "-s", "a=0.5", "-s", "b=0.5"],
    ),
    "merge": (
        lambda source, out: merge_datasets([source, source], "local/merged", out),
        lambda source, out: ["merge-datasets", str(source), str(source), "--output", str(out)],
    ),
    "trim": (
        lambda source, out: trim_episodes(source, {0: (1, 5)}, out),
        lambda source, out: ["trim-episodes", str(source), str(out), "--range", "0:1:5"],
    ),
    "filter": (
        lambda source, out: filter_episodes(source, min_length=1, output_dir=out),
        lambda source, out: ["filter-episodes", str(source), str(out), "--min-length", "1"],
    ),
    "repack": (
        lambda source, out: repack(source, out),
        lambda source, out: ["repack", str(source), str(out)],
    ),
}

_runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def _cli_built_once() -> Iterator[None]:
    """Build the click command of the app once for the module, not on each of ~400 invokes."""
    command = typer.main.get_command(app)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", lambda _app: command)
        yield


@pytest.fixture(scope="module")
def corpus_roots(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, dict[str, str]]]:
    """Every case built once (read-only from here on), with the digest of its files."""
    folder = tmp_path_factory.mktemp("corpus")
    roots = {}
    for case in CASES:
        root = build_case(case, folder)
        roots[case.name] = (root, tree_digest(root))
    return roots


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".robosplice-" in p.name)


def _names_the_problem(case: Case, message: str) -> None:
    assert re.search(case.pattern, message), f"{case.name}: no {case.pattern!r} in:\n{message}"
    for where in case.where:
        assert where in message, f"{case.name}: {where!r} not named in:\n{message}"


def test_the_corpus_is_large_and_named_uniquely() -> None:
    names = [case.name for case in CASES]
    assert len(names) >= 30
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_validate_reports_the_problem(case: Case, corpus_roots, tmp_path: Path) -> None:
    root, before = corpus_roots[case.name]
    problems = validate(root)
    matching = [p for p in problems if p.kind == case.kind and all(w in str(p) for w in case.where)]
    assert matching, f"{case.name}: expected a {case.kind} problem naming {case.where}, got:\n" + (
        "\n".join(map(str, problems))
    )
    errors = any(p.severity == "error" for p in problems)
    result = _runner.invoke(app, ["validate", str(root)])
    assert result.exit_code == (1 if errors else 0), result.output  # warnings alone load
    assert case.kind in result.output
    assert _runner.invoke(app, ["validate", "--strict", str(root)]).exit_code == 1
    assert tree_digest(root) == before


# Cases whose problem the output rebuilds (ops/_preflight.py): an edit accepts them.
REPAIRED = frozenset(
    {
        "wrong_total_frames",
        "wrong_total_episodes",
        "wrong_total_tasks",
        "tasks_without_pandas_metadata",
        "duplicate_task",
        "episode_tasks_mismatch",
        "stats_json_invalid",
        "stats_json_missing_feature",
        "episode_stats_columns_missing",
    }
)
REFUSED = [case for case in CASES if case.name not in REPAIRED]


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize(
    "case", [c for c in CASES if c.name in REPAIRED], ids=lambda case: case.name
)
def test_operation_repairs_what_the_output_can_rebuild(
    case: Case, operation: str, corpus_roots, tmp_path: Path
) -> None:
    root, before = corpus_roots[case.name]
    call, _argv = OPERATIONS[operation]
    output = tmp_path / "out"
    call(root, output)
    outputs = [output / "a", output / "b"] if operation == "split" else [output]
    for folder in outputs:
        errors = [p for p in validate(folder) if p.severity == "error"]
        assert errors == [], f"{case.name} {operation}: {[str(p) for p in errors]}"
        entry = json.loads((folder / HISTORY_PATH).read_text().splitlines()[-1])
        assert case.kind in {r["kind"] for r in entry["repairs"]}
    assert _leftovers(tmp_path) == []
    assert tree_digest(root) == before


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.name)
def test_operation_refuses_and_writes_nothing(
    case: Case, operation: str, corpus_roots, tmp_path: Path
) -> None:
    root, before = corpus_roots[case.name]
    call, argv = OPERATIONS[operation]
    output = tmp_path / "out"
    with pytest.raises(RobospliceError) as caught:
        call(root, output)
    _names_the_problem(case, str(caught.value))
    assert not output.exists()

    cli_output = tmp_path / "cli-out"
    result = _runner.invoke(app, argv(root, cli_output))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    _names_the_problem(case, result.stderr)
    assert not cli_output.exists()

    assert _leftovers(tmp_path) == []
    assert tree_digest(root) == before


def test_merge_reports_the_problems_of_every_source_at_once(corpus_roots, tmp_path: Path) -> None:
    first, _ = corpus_roots["index_gap"]
    second, _ = corpus_roots["tasks_unsorted"]
    with pytest.raises(RobospliceError) as caught:
        merge_datasets([first, second], "local/merged", tmp_path / "out")
    message = str(caught.value)
    assert "2 sources are not valid" in message
    assert f"{first}/data/chunk-000/file-000.parquet: episode 2" in message
    assert f"{second}/meta/tasks.parquet" in message
    assert not (tmp_path / "out").exists()
