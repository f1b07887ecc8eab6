"""Every test marked `interop` runs in the interop tier.

Why: `make test` deselects `interop` and `make interop` collects only tests/interop, so a test marked
`interop` anywhere else runs in no tier at all (one did, in tests/safety, unnoticed). The root conftest
refuses such a collection; this test also reads the source, so it fails even when run alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tiers import TESTS, in_an_interop_tier


def interop_marks(source: str) -> list[int]:
    """Line numbers where `source` marks something `interop` (`*.mark.interop`, `add_marker("interop")`)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "interop":
            base = node.value
            if (isinstance(base, ast.Attribute) and base.attr == "mark") or (
                isinstance(base, ast.Name) and base.id == "mark"
            ):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and any(
            isinstance(arg, ast.Constant) and arg.value == "interop" for arg in node.args
        ):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("add_marker", "getattr", "Mark"):
                lines.append(node.lineno)
    return sorted(lines)


def test_the_scan_sees_every_way_of_marking() -> None:
    assert interop_marks("import pytest\n@pytest.mark.interop\ndef test_x(): pass\n") == [2]
    assert interop_marks("import pytest\npytestmark = [pytest.mark.interop]\n") == [2]
    assert interop_marks("from pytest import mark\n@mark.interop\ndef test_x(): pass\n") == [2]
    assert interop_marks("def f(item):\n    item.add_marker('interop')\n") == [2]
    assert interop_marks("import pytest\nm = getattr(pytest.mark, 'interop')\n") == [2]
    assert interop_marks("import os\nos.environ.get('ROBOSPLICE_SKIP_INTEROP')\n") == []


def test_no_test_outside_tests_interop_is_marked_interop() -> None:
    stray = {
        str(path.relative_to(TESTS)): lines
        for path in sorted(TESTS.rglob("*.py"))
        if not in_an_interop_tier(path)
        and path != Path(__file__).resolve()
        and (lines := interop_marks(path.read_text()))
    }
    assert not stray, (
        f"tests marked `interop` outside the interop tiers run in no tier ({stray}, file: lines); "
        "move them to tests/interop, which `make interop` collects"
    )
