"""doctor → recipe → apply: the official LeRobotDataset loads the output frame for frame."""

from __future__ import annotations

import pytest
from harness import BACKENDS
from test_ops_load import assert_loads_like_sources

from doctor.corpus_doctor import three_defects
from robosplice.ops.apply import apply
from robosplice.ops.doctor import doctor


@pytest.mark.parametrize("backend", BACKENDS)
def test_applied_recipe_loads_frame_for_frame(lerobot_python, tmp_path, backend):
    root = three_defects(tmp_path)
    recipe = doctor(root).recipe()
    assert [step.op for step in recipe.steps] == [
        "delete_episodes",
        "delete_episodes",
        "trim_episodes",
    ]
    plan = apply(recipe, root, tmp_path / "out", dry_run=True)
    apply(recipe, root, tmp_path / "out")
    assert_loads_like_sources(tmp_path / "out", plan, backend)
