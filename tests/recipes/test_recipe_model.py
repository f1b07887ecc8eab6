"""The recipe model: JSON round trip, the exact documented format, and errors that name the step."""

from __future__ import annotations

import hashlib
import json

import pytest

from robosplice.errors import RecipeError
from robosplice.recipe import Recipe, Step, dump, fingerprint, from_json, load_recipe

DOC = {
    "format": "robosplice-recipe",
    "version": 1,
    "source": {"path": "data/pusht", "fingerprint": "ab" * 32},
    "created_by": "doctor",
    "steps": [
        {"op": "delete_episodes", "args": {"episode_indices": [3, 7]}, "reason": "frozen episode"},
        {"op": "trim_episodes", "args": {"ranges": {"4": [15, 240]}}, "reason": "idle head"},
    ],
}


def test_round_trip_keeps_the_document(tmp_path):
    recipe = from_json(DOC)
    assert recipe.source_path == "data/pusht"
    assert recipe.steps[0] == Step(
        op="delete_episodes", args={"episode_indices": [3, 7]}, reason="frozen episode"
    )
    assert recipe.to_json() == DOC
    path = dump(recipe, tmp_path / "fix.json")
    assert json.loads(path.read_text()) == DOC
    assert load_recipe(path) == recipe
    assert Recipe.from_json(json.loads(json.dumps(DOC))) == recipe


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other"}, "not a robosplice recipe"),
        ({"version": 2}, "version 2 is not supported"),
        ({"extra": 1}, "unknown keys ['extra']"),
        ({"source": {"path": "x"}}, "recipe source"),
        ({"steps": [{"op": "explode", "args": {}}]}, "steps[0]: unknown op 'explode'"),
        ({"steps": [{"op": "delete_episodes", "args": {"episode_indices": [1, 1]}}]}, "repeat"),
        ({"steps": [{"op": "delete_episodes", "args": {"episodes": [1]}}]}, "unknown ['episodes']"),
        (
            {"steps": [{"op": "trim_episodes", "args": {"ranges": {"4": [9, 3]}}}]},
            "steps[0] (trim_episodes).ranges.4",
        ),
        ({"steps": [{"op": "trim_episodes", "args": {"ranges": {"x": [0, 3]}}}]}, "episode keys"),
        ({"steps": [{"op": "remove_feature", "args": {}}]}, "feature_names"),
        (
            {"steps": [{"op": "recompute_stats", "args": {"skip_image_video": "no"}}]},
            "true or false",
        ),
    ],
)
def test_bad_documents_are_refused_naming_the_place(change, message):
    with pytest.raises(RecipeError) as info:
        from_json({**DOC, **change})
    assert message in str(info.value)


def test_steps_built_in_code_are_checked_too():
    with pytest.raises(RecipeError, match="unknown op"):
        Step(op="delete", args={})
    assert Step(op="remove_feature", args={"feature_names": "a"}).args == {"feature_names": ["a"]}


def test_load_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(RecipeError, match=r"bad.json: not JSON \(line 1"):
        load_recipe(path)
    with pytest.raises(RecipeError, match="cannot read"):
        load_recipe(tmp_path / "missing.json")


def test_fingerprint_is_sha256_over_sorted_meta_files(fixture_dataset):
    root = fixture_dataset("v3_av1_multifile")
    files = sorted(
        [
            root / "meta/info.json",
            root / "meta/tasks.parquet",
            *(root / "meta/episodes").rglob("*.parquet"),
        ],
        key=lambda p: p.relative_to(root).as_posix(),
    )
    assert len(files) >= 3
    digest = hashlib.sha256()
    for path in files:
        digest.update(
            path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0"
        )
    assert fingerprint(root) == digest.hexdigest()


def test_the_readme_ops_table_is_the_registry():
    from pathlib import Path

    from robosplice.recipe import OPS, SPECS, ops_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- recipe-ops:start -->\n", 1)[1].split("\n<!-- recipe-ops:end -->")[0]
    assert table == ops_table(), "regenerate it: .venv/bin/python scripts/update_readme_tables.py"
    assert [row.split("`")[1] for row in table.splitlines()[2:]] == list(OPS)
    assert len({spec.op for spec in SPECS}) == len(SPECS)


def test_constructors_make_the_steps_a_person_would_write():
    from robosplice.recipe import delete_step, parse_step, trim_step

    assert delete_step([7, 3], "frozen episode").to_json() == DOC["steps"][0]
    assert trim_step({4: (15, 240)}, "idle head").to_json() == DOC["steps"][1]
    assert parse_step(trim_step({4: (15, 240)}).to_json()) == trim_step({4: (15, 240)})
    with pytest.raises(RecipeError, match="does nothing"):
        delete_step([])


def test_the_edit_log_records_the_fingerprint_a_recipe_carries(fixture_dataset, tmp_path):
    from robosplice.history import HISTORY_PATH, read_history
    from robosplice.ops.apply import apply
    from robosplice.recipe import delete_step, make_recipe

    source = fixture_dataset("v3_av1_single")
    root = apply(make_recipe(source, [delete_step([0])]), source, tmp_path / "first").root
    # A log written before the fingerprint was shared (sha256: over info + episodes) still reads.
    old = {"operation": "delete_episodes", "sources": [{"fingerprint": "sha256:" + "0" * 64}]}
    (root / HISTORY_PATH).write_text(json.dumps(old) + "\n", encoding="utf-8")
    recipe = make_recipe(root, [delete_step([0])])
    output = apply(recipe, root, tmp_path / "out")
    log = read_history(output.root)
    assert log[0] == old
    assert log[-1]["sources"][0]["fingerprint"] == recipe.fingerprint == fingerprint(root)
