"""The recipe steps quality findings propose (as plain JSON, the `fix` of a Finding)."""

from __future__ import annotations

from typing import Any


def delete_fix(episode: int) -> dict[str, Any]:
    """Delete one source episode."""
    return {"op": "delete_episodes", "args": {"episode_indices": [int(episode)]}}


def trim_fix(episode: int, start: int, stop: int) -> dict[str, Any]:
    """Keep frames [start, stop) of one source episode."""
    return {"op": "trim_episodes", "args": {"ranges": {str(int(episode)): [int(start), int(stop)]}}}
