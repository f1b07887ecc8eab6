"""The one merge rule of what a recipe keeps, through every entry point: the `Kept` value, `apply`
(library and CLI), `doctor`'s proposed recipe and the review page's pending edits. Trims of one
episode keep their intersection; trims that do not overlap are an error naming both."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from robosplice.checks.finding import Finding
from robosplice.checks.quality.fixes import delete_fix, trim_fix
from robosplice.cli.app import app
from robosplice.dataset import Dataset
from robosplice.errors import SelectionError
from robosplice.ops.apply import apply
from robosplice.ops.doctor import DoctorReport
from robosplice.recipe import Kept, delete_step, dump, make_recipe, trim_step
from robosplice.review.edits import EditConflictError, PendingEdits

BOTH = r"{first} keeps \[2, 10\) and {second} keeps \[12, 20\), which do not overlap"


def test_kept_intersects_trims_and_names_both_when_nothing_is_left():
    kept = Kept().trimmed({4: (2, 20)}, by="a").trimmed({4: (5, 30)}, by="b")
    assert kept.ranges == {4: (5, 20)}
    assert kept.by == {4: ("a", "b")}
    with pytest.raises(SelectionError, match=r"episode 4 keeps no frame: a, b keeps \[5, 20\)"):
        kept.trimmed({4: (20, 25)}, by="c")
    deleted = kept.deleting([4])
    assert deleted.live_ranges() == {}
    assert deleted.deleting([]).ranges == {4: (5, 20)}  # held while the deletion stands


def test_apply_refuses_trims_that_empty_an_episode(fixture_dataset, tmp_path):
    root = fixture_dataset("v3_av1_single")
    steps = [trim_step({1: (2, 10)}), delete_step([0]), trim_step({1: (12, 20)})]
    first, second = r"recipe step 0 \(trim_episodes\)", r"recipe step 2 \(trim_episodes\)"
    with pytest.raises(SelectionError, match=BOTH.format(first=first, second=second)):
        apply(make_recipe(root, steps), root, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # Overlapping trims keep the intersection.
    output = apply(make_recipe(root, [*steps[:2], trim_step({1: (5, 20)})]), root, tmp_path / "ok")
    assert output.episodes[0].length == 10 - 5
    assert output.num_episodes == Dataset(root).num_episodes - 1


def test_cli_apply_exits_1_naming_both_steps(fixture_dataset, tmp_path):
    root = fixture_dataset("v3_av1_single")
    recipe = make_recipe(root, [trim_step({1: (2, 10)}), trim_step({1: (12, 20)})])
    path = dump(recipe, tmp_path / "fix.json")
    result = CliRunner().invoke(app, ["apply", str(path), str(root), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "recipe step 0 (trim_episodes) keeps [2, 10)" in result.output
    assert "recipe step 1 (trim_episodes) keeps [12, 20)" in result.output
    assert not (tmp_path / "out").exists()


def _report(*findings: Finding) -> DoctorReport:
    return DoctorReport(
        dataset="d", root=Path("/nonexistent"), episodes=9, frames=900, fps=30.0, findings=findings
    )


def test_doctor_names_both_findings_instead_of_dropping_the_trim():
    head = Finding(check="idle_head", severity="warning", message="", episode=3,
                   fix=trim_fix(3, 2, 10))  # fmt: skip
    tail = Finding(check="idle_tail", severity="warning", message="", episode=3,
                   fix=trim_fix(3, 12, 20))  # fmt: skip
    with pytest.raises(SelectionError, match=BOTH.format(first="idle head", second="idle tail")):
        _report(head, tail).recipe_steps()
    # A deleted episode's trims are superseded: left out of the recipe.
    frozen = Finding(check="frozen_episode", severity="warning", message="", episode=3,
                     fix=delete_fix(3))  # fmt: skip
    steps = _report(head, frozen).recipe_steps()
    assert [step.to_json() for step in steps] == [delete_step([3], "frozen episode").to_json()]


def test_the_review_page_refuses_a_step_that_empties_a_pending_trim():
    edits = PendingEdits([30, 45, 60])
    edits.add_step("trim_episodes", {"ranges": {"1": [2, 10]}}, "idle head")
    before = edits.state
    with pytest.raises(EditConflictError, match=BOTH.format(first="idle head", second="idle tail")):
        edits.add_step("trim_episodes", {"ranges": {"1": [12, 20]}}, "idle tail")
    assert edits.state == before
    edits.add_step("trim_episodes", {"ranges": {"1": [5, 20]}}, "idle tail")
    assert edits.state.trims == {1: (5, 10)}
    assert edits.steps() == [trim_step({1: (5, 10)}, "idle head; idle tail").to_json()]


def test_the_review_session_answers_a_conflicting_fix_with_a_conflict(fixture_dataset, tmp_path):
    from robosplice.review.session import ReviewSession

    session = ReviewSession(fixture_dataset("v3_av1_single"), cache_dir=tmp_path / "cache")
    step = {"action": "step", "op": "trim_episodes", "reason": "idle head"}
    session.change_edits({**step, "args": {"ranges": {"1": [2, 10]}}})
    with pytest.raises(EditConflictError, match=BOTH.format(first="idle head", second="idle tail")):
        session.change_edits({**step, "args": {"ranges": {"1": [12, 20]}}, "reason": "idle tail"})
    assert session.edits_json()["trims"] == {"1": [2, 10]}
