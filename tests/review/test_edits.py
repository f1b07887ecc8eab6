"""Pending edits: marks, trims, conflicts, undo, and the recipe steps they become (no files)."""

from __future__ import annotations

import pytest

from robosplice.review.edits import EditConflictError, PendingEdits

LENGTHS = [30, 45, 60, 38]


def test_keys_build_a_delete_and_a_trim_step():
    edits = PendingEdits(LENGTHS)
    edits.toggle_deleted(3)
    edits.trim_start(1, 5)  # `[` at frame 5
    edits.trim_end(1, 39)  # `]` at frame 39: the last kept frame
    assert edits.steps() == [
        {"op": "delete_episodes", "args": {"episode_indices": [3]}, "reason": "marked in review"},
        {"op": "trim_episodes", "args": {"ranges": {"1": [5, 40]}}, "reason": "trimmed in review"},
    ]
    assert [item["id"] for item in edits.items()] == ["trim:1", "delete:3"]


def test_undo_walks_back_every_change_and_toggle_unmarks():
    edits = PendingEdits(LENGTHS)
    edits.toggle_deleted(0)
    edits.trim_end(2, 9)
    edits.toggle_deleted(0)
    assert edits.steps() == [
        {"op": "trim_episodes", "args": {"ranges": {"2": [0, 10]}}, "reason": "trimmed in review"}
    ]
    edits.undo()
    assert edits.state.deleted == {0}
    edits.undo()
    edits.undo()
    assert edits.steps() == []
    edits.undo()  # nothing left: no-op
    assert edits.steps() == []


def test_conflicts_are_refused_with_the_fix():
    edits = PendingEdits(LENGTHS)
    edits.toggle_deleted(1)
    with pytest.raises(EditConflictError, match=r"episode 1 is marked for deletion; unmark it"):
        edits.trim_start(1, 3)
    with pytest.raises(EditConflictError, match=r"trim \[20, 10\) is outside"):
        edits.set_trim(0, 20, 10)
    with pytest.raises(EditConflictError, match="not in the dataset"):
        edits.toggle_deleted(4)
    for episode in (0, 2):
        edits.toggle_deleted(episode)
    with pytest.raises(EditConflictError, match="every episode would be deleted"):
        edits.toggle_deleted(3)


def test_deleting_a_trimmed_episode_keeps_the_trim_out_of_the_recipe():
    edits = PendingEdits(LENGTHS)
    edits.set_trim(2, 4, 50)
    edits.toggle_deleted(2)
    assert [step["op"] for step in edits.steps()] == ["delete_episodes"]
    assert [item.get("superseded") for item in edits.items()] == [None, True]
    edits.remove("delete:2")
    assert edits.steps()[0]["args"] == {"ranges": {"2": [4, 50]}}


def test_a_whole_range_trim_removes_the_trim_and_steps_add_as_one_undo():
    edits = PendingEdits(LENGTHS)
    edits.set_trim(0, 3, 30)
    edits.set_trim(0, 0, 30)
    assert edits.steps() == []
    edits.add_step("trim_episodes", {"ranges": {"1": [2, 44], "2": [0, 59]}}, "idle tail")
    assert edits.state.trims == {1: (2, 44), 2: (0, 59)}
    assert edits.steps()[0]["reason"] == "idle tail"
    edits.undo()
    assert edits.state.trims == {}
    with pytest.raises(EditConflictError, match="deletions and trims only"):
        edits.add_step("remove_feature", {"feature_names": ["x"]})


def test_round_trip_through_json_keeps_history():
    edits = PendingEdits(LENGTHS)
    edits.toggle_deleted(2)
    edits.set_trim(0, 1, 20)
    restored = PendingEdits.from_json(LENGTHS, edits.to_json())
    assert restored.state == edits.state
    restored.undo()
    assert restored.state.trims == {}
    assert restored.state.deleted == {2}
