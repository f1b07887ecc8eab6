"""The recipe steps quality findings propose (as JSON, the `fix` of a Finding)."""

from __future__ import annotations

from typing import Any

from robosplice.recipe import delete_step, trim_step


def delete_fix(episode: int) -> dict[str, Any]:
    """Delete one source episode."""
    return delete_step([int(episode)]).to_json()


def trim_fix(episode: int, start: int, stop: int) -> dict[str, Any]:
    """Keep frames [start, stop) of one source episode."""
    return trim_step({int(episode): (int(start), int(stop))}).to_json()
