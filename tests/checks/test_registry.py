"""The registry: one finding type, every kind declared once beside its check, a family in one line."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from fixture_data import fixtures_dir
from robosplice.checks import (
    FAMILIES,
    KINDS,
    PROBLEM_KINDS,
    SEVERITY,
    Family,
    Finding,
    Kind,
    run_checks,
    validate_dataset,
)
from robosplice.checks import context as context_module
from robosplice.checks.context import Context
from robosplice.checks.registry import severity_table
from robosplice.errors import Problem

README = Path(__file__).resolve().parents[2] / "README.md"
SINGLE = fixtures_dir() / "v3_av1_single"


def test_every_kind_is_declared_once_with_a_severity() -> None:
    names = [kind.name for kind in KINDS]
    assert len(names) == len(set(names))
    assert list(PROBLEM_KINDS) == names
    assert {kind.severity for kind in KINDS} == {"error", "warning"}
    assert all(SEVERITY[kind.name] == kind.severity for kind in KINDS)


def test_each_family_reports_the_kinds_it_declares() -> None:
    # The severity and its reason sit in the module whose code decides the kind.
    for family in FAMILIES:
        source = inspect.getsource(inspect.getmodule(family.run))  # type: ignore[arg-type]
        _head, marker, body = source.partition('"""The kinds this family reports')
        assert marker, family.name
        for kind in family.kinds:
            assert f'"{kind.name}"' in body, (family.name, kind.name)
    common = inspect.getsource(context_module)
    assert "check_failed" in common.split("class Context", 1)[1]


def test_the_readme_table_lists_every_kind_with_its_severity() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- severity-table:start -->\n", 1)[1].split(
        "\n<!-- severity-table:end -->"
    )[0]
    assert table == severity_table(), "regenerate the README table with severity_table()"
    rows = dict(re.findall(r"^\| `(\w+)` \| (error|warning) \|", table, flags=re.MULTILINE))
    assert rows == {kind.name: kind.severity for kind in KINDS}


def test_a_family_added_in_one_line_runs_after_the_structural_ones() -> None:
    frozen = Kind(name="toy_frozen", severity="warning", meaning="an example quality kind", why="x")

    def run(ctx: Context) -> None:
        assert ctx.episodes is not None  # structure ran before
        assert ctx.summary.complete
        ctx.report("data", "episode 2", "toy_frozen", "frozen", feature="action", dimension=3)

    toy = Family(name="toy", group="quality", kinds=(frozen,), run=run)
    findings = run_checks(SINGLE, groups=("structure", "quality"), families=(*FAMILIES, toy))
    assert findings == [
        Finding(
            check="toy_frozen",
            severity="warning",
            message="frozen",
            file="data",
            loc="episode 2",
            episode=2,
            feature="action",
            dimension=3,
        )
    ]
    assert run_checks(SINGLE, families=(*FAMILIES, toy)) == []  # validate's group only


def test_a_check_that_raises_becomes_a_check_failed_finding() -> None:
    def run(ctx: Context) -> None:
        ctx.report("x", "", "not_declared_anywhere", "boom")

    broken = Family(name="broken", group="structure", kinds=(), run=run)
    (finding,) = run_checks(SINGLE, families=(*FAMILIES, broken))
    assert (finding.check, finding.severity, finding.file) == ("check_failed", "error", "broken")
    assert "not_declared_anywhere" in finding.message


def test_findings_and_problems_convert_both_ways() -> None:
    problem = Problem(
        file="meta/episodes/chunk-000/file-000.parquet",
        loc="episode 4",
        kind="stale_stats",
        message="m",
        severity="error",
    )
    finding = Finding.from_problem(problem)
    assert (finding.check, finding.kind, finding.episode) == ("stale_stats", "stale_stats", 4)
    assert finding.to_problem() == problem
    assert str(finding) == str(problem)


def test_validate_returns_the_structural_findings_as_problems(tmp_path: Path) -> None:
    assert validate_dataset(SINGLE) == []
    assert run_checks(SINGLE) == []
