"""Helpers for testing code that edits datasets: decode windows, compare frames, hash trees.

Shipped with the package so users can check their own edits the way robosplice's tests do.
"""

from robosplice.testing.frames import (
    decode_episode_frames,
    episode_packets,
    frame_identity,
    read_episode_table,
)
from robosplice.testing.trees import tree_digest

__all__ = [
    "decode_episode_frames",
    "episode_packets",
    "frame_identity",
    "read_episode_table",
    "tree_digest",
]
