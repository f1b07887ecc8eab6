"""doctor → recipe → apply: the official LeRobotDataset loads the output frame for frame.

The expected frames are written from the defects planted (`three_defects`: episode 1 frozen, 7 a
copy of 2, 5 idle for its first 25 frames), not from the recipe or the plan: a doctor or planner
that cuts the wrong thing fails here.
"""

from __future__ import annotations

import pytest
from harness import BACKENDS
from test_ops_load import assert_loads_as

from doctor.corpus_doctor import three_defects
from robosplice.ops.apply import apply
from robosplice.ops.doctor import doctor

KEPT = [0, 2, 3, 4, 5, 6, 8, 9]
IDLE_HEAD = 25  # frames 0-24 of episode 5 are the idle head planted by three_defects


@pytest.mark.parametrize("backend", BACKENDS)
def test_applied_recipe_loads_frame_for_frame(lerobot_python, tmp_path, backend):
    root = three_defects(tmp_path)
    recipe = doctor(root).recipe()
    apply(recipe, root, tmp_path / "out")
    expected = [(root, e, IDLE_HEAD if e == 5 else 0, None) for e in KEPT]
    assert_loads_as(tmp_path / "out", expected, backend)
