"""Pre-flight reads each kind's handling from its declaration (`Kind.on_edit`), not from names."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

import robosplice.ops._preflight as preflight_module
import robosplice.ops._run as run_module
from robosplice.checks.registry import KIND_OF
from robosplice.dataset import Dataset
from robosplice.errors import Problem
from robosplice.format.paths import INFO_PATH
from robosplice.ops._preflight import triage
from robosplice.ops.delete import plan_delete


def test_ops_match_no_kind_by_name() -> None:
    for module in (preflight_module, run_module):
        tree = ast.parse(inspect.getsource(module))
        strings = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        assert not strings & set(KIND_OF), f"{module.__name__} names kinds {strings & set(KIND_OF)}"


def test_the_kinds_declaration_decides_how_an_edit_handles_it(
    fixture_dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    root: Path = fixture_dataset("v3_av1_single")
    plan = plan_delete(Dataset(root), [0])
    problem = Problem(
        file=INFO_PATH, loc="total_frames", kind="wrong_total", message="expected 1, got 2"
    )
    kind = KIND_OF["wrong_total"]
    assert kind.on_edit is not None
    declared = kind.on_edit.decide(
        problem, preflight_module.EditFacts(features={}, recomputes_stats=False)
    )

    handled = triage([root], {root: [problem]}, plan)
    assert not handled.refused
    assert [(n.handling, n.action) for n in handled.notes] == [declared]

    # The same error without a declared handling refuses the source.
    monkeypatch.setitem(KIND_OF, "wrong_total", dataclasses.replace(kind, on_edit=None))
    handled = triage([root], {root: [problem]}, plan)
    assert handled.refused == {root: [problem]}
    assert handled.notes == ()
