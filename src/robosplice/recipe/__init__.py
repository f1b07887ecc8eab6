"""Recipes: the one vocabulary of edits, as JSON. A model; no editing here.

`doctor --recipe` writes one, the review page writes one, a person may write one; `apply` runs it
(`robosplice.ops.apply`). The format, version 1:

```json
{"format": "robosplice-recipe", "version": 1,
 "source": {"path": "data/pusht", "fingerprint": "<hex sha256, see fingerprint()>"},
 "created_by": "doctor",
 "steps": [
   {"op": "delete_episodes", "args": {"episode_indices": [3, 7]}, "reason": "frozen episode"},
   {"op": "trim_episodes", "args": {"ranges": {"4": [15, 240]}}, "reason": "idle head"}
 ]}
```

The ops and their `args` are registered in `steps.SPECS` (README table: `ops_table()`); what
they keep merges by the one rule of `kept.Kept`. Every episode index and frame range refers to
the SOURCE dataset, never to the output of an earlier step; ranges are `[start, stop)` frames.
`reason` is free text for people. Unknown ops, keys, or badly typed arguments are refused with
an error naming the step; `load_recipe`/`from_json` never touch a dataset.
"""

from __future__ import annotations

from robosplice.format.fingerprint import fingerprint, fingerprint_files
from robosplice.recipe.folded import Folded
from robosplice.recipe.kept import Kept, Range, merge_range
from robosplice.recipe.model import (
    FORMAT,
    VERSION,
    Recipe,
    dump,
    dumps,
    from_json,
    load_recipe,
    make_recipe,
    to_json,
)
from robosplice.recipe.steps import (
    EPISODE_OPS,
    OPS,
    OTHER_OPS,
    SPECS,
    Step,
    StepSpec,
    delete_step,
    fold_steps,
    ops_table,
    parse_step,
    trim_step,
)

__all__ = [
    "EPISODE_OPS",
    "FORMAT",
    "OPS",
    "OTHER_OPS",
    "SPECS",
    "VERSION",
    "Folded",
    "Kept",
    "Range",
    "Recipe",
    "Step",
    "StepSpec",
    "delete_step",
    "dump",
    "dumps",
    "fingerprint",
    "fingerprint_files",
    "fold_steps",
    "from_json",
    "load_recipe",
    "make_recipe",
    "merge_range",
    "ops_table",
    "parse_step",
    "to_json",
    "trim_step",
]
