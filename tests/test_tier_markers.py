"""Every test carrying a tier marker runs in that tier, and every tier is a Makefile target.

Why: `make test` deselects the tier markers (interop, browser, ray; slow in tests/safety) and each
tier collects only its folders, so a marked test anywhere else runs in no tier at all (one did, in
tests/safety, unnoticed). The root conftest refuses such a collection; these tests also read the
sources and the Makefile, so they fail even when run alone.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from tiers import TESTS, TIER_ENV, TIER_MARKERS, TIERS, in_a_tier_of

MAKEFILE = TESTS.parent / "Makefile"


def tier_marks(source: str | ast.AST, marker: str) -> list[int]:
    """Line numbers where `source` marks something `marker` (`*.mark.X`, `add_marker("X")`)."""
    lines = []
    tree = ast.parse(source) if isinstance(source, str) else source
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == marker:
            base = node.value
            if (isinstance(base, ast.Attribute) and base.attr == "mark") or (
                isinstance(base, ast.Name) and base.id == "mark"
            ):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and any(
            isinstance(arg, ast.Constant) and arg.value == marker for arg in node.args
        ):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("add_marker", "getattr", "Mark"):
                lines.append(node.lineno)
    return sorted(lines)


def test_the_scan_sees_every_way_of_marking() -> None:
    assert tier_marks("import pytest\n@pytest.mark.interop\ndef test_x(): pass\n", "interop") == [2]
    assert tier_marks("import pytest\npytestmark = [pytest.mark.ray]\n", "ray") == [2]
    assert tier_marks("from pytest import mark\n@mark.slow\ndef test_x(): pass\n", "slow") == [2]
    assert tier_marks("def f(item):\n    item.add_marker('browser')\n", "browser") == [2]
    assert tier_marks("import pytest\nm = getattr(pytest.mark, 'interop')\n", "interop") == [2]
    assert tier_marks("import os\nos.environ.get('ROBOSPLICE_SKIP_INTEROP')\n", "interop") == []
    assert tier_marks("import pytest\n@pytest.mark.ray\ndef test_x(): pass\n", "interop") == []


def test_every_marker_in_pyproject_is_a_tier_or_named_here() -> None:
    declared = set(re.findall(r'^\s*"(\w+): ', (TESTS.parent / "pyproject.toml").read_text(), re.M))
    assert declared == set(TIER_MARKERS)


@functools.cache
def parsed_sources() -> dict[Path, ast.AST]:
    """Every Python file of the test tree (the recorder fixtures aside), parsed once."""
    folders = [TESTS, *(p for p in TESTS.iterdir() if p.is_dir() and p.name != "fixtures")]
    files = [
        f
        for folder in folders
        for f in (folder.glob("*.py") if folder == TESTS else folder.rglob("*.py"))
    ]
    return {f: ast.parse(f.read_text()) for f in sorted(files) if f != Path(__file__).resolve()}


@pytest.mark.parametrize("marker", TIER_MARKERS)
def test_no_test_outside_its_tier_carries_a_tier_marker(marker: str) -> None:
    stray = {
        str(path.relative_to(TESTS)): lines
        for path, tree in parsed_sources().items()
        if not in_a_tier_of(marker, path) and (lines := tier_marks(tree, marker))
    }
    assert not stray, (
        f"tests marked `{marker}` outside its tier's folders run in no tier ({stray}, file: lines);"
        " move them where tiers.TIERS says that tier collects"
    )


def _recipe(target: str) -> str:
    """The recipe lines of a Makefile target (continuations joined)."""
    text = MAKEFILE.read_text().replace("\\\n", " ")
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", text, re.M)
    assert match, f"Makefile has no target {target}"
    return match.group(1)


@pytest.mark.parametrize("tier", TIERS, ids=lambda tier: tier.name)
def test_each_tier_is_a_makefile_target_that_selects_its_marker_and_folders(tier) -> None:
    recipe = _recipe(tier.name)
    pytest_line = next(line for line in recipe.splitlines() if "-m pytest" in line)
    assert f"{TIER_ENV}={tier.name} " in pytest_line, "the skip gate needs the tier's name"
    if tier.marker:
        assert f"-m {tier.marker} " in pytest_line
    for path in tier.paths:
        if path != TESTS:
            assert str(path.relative_to(TESTS.parent)) in pytest_line.split()
