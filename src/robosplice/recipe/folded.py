"""What the steps of a recipe do to their source, folded in order (source terms). Pure.

Each step's spec (`robosplice.recipe.steps`) folds into this value; `ops.apply` turns it into
one plan. Feature names follow the steps in order; task edits merge (later keys win).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from robosplice.recipe.kept import Kept


@dataclass(slots=True, kw_only=True)
class Folded:
    """Kept episodes and ranges, feature changes, merged task edits and stats options."""

    kept: Kept = field(default_factory=Kept)
    names: dict[str, str] = field(default_factory=dict)
    """Output feature name → source name, as the steps so far leave them."""
    removed: list[str] = field(default_factory=list)
    """Source features removed."""
    tasks: dict[str, Any] = field(default_factory=dict)
    """`modify_tasks` arguments merged (`new_task`, `episode_tasks`, `task_replacements`)."""
    stats_skips: list[bool] = field(default_factory=list)
    """`skip_image_video` of each `recompute_stats` step."""

    @classmethod
    def of(cls, features: Mapping[str, Any]) -> Folded:
        """Nothing done yet to a source with these features."""
        return cls(names={name: name for name in features})

    def renames(self) -> dict[str, str]:
        """Source → output names of the features renamed."""
        return {source: output for output, source in self.names.items() if output != source}
