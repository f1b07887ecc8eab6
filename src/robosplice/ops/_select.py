"""Episode-selection checks for the ops; they live in `robosplice.recipe.select` (re-exported)."""

from __future__ import annotations

from robosplice.recipe.select import check_episode_indices, format_indices

__all__ = ["check_episode_indices", "format_indices"]
