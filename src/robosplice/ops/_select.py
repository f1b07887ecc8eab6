"""Checks of episode selections shared by delete, split, trim, filter and tasks. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from robosplice.dataset import Dataset
from robosplice.errors import SelectionError


def format_indices(indices: Iterable[int]) -> str:
    """`[1, 2, 3, 7]` as `1–3, 7`, for messages about many episodes."""
    values = sorted(set(indices))
    parts: list[str] = []
    start = previous = None
    for value in [*values, None]:
        if value is not None and previous is not None and value == previous + 1:
            previous = value
            continue
        if start is not None:
            parts.append(f"{start}" if start == previous else f"{start}–{previous}")
        start = previous = value
    return ", ".join(parts)


def check_episode_indices(
    dataset: Dataset, episode_indices: Sequence[int], *, what: str = "episodes"
) -> list[int]:
    """Return the indices as ints, or raise naming every unknown or repeated one."""
    try:
        values = [int(i) for i in episode_indices]
    except (TypeError, ValueError):
        raise SelectionError(
            f"Invalid episode indices: {list(episode_indices)!r} are not integers"
        ) from None
    count = dataset.num_episodes
    unknown = sorted({i for i in values if not 0 <= i < count})
    if unknown:
        raise SelectionError(
            f"Invalid episode indices: {set(unknown)} — {what} {format_indices(unknown)} are not in"
            f" {dataset.root} (it has {format_indices(range(count)) or 'none'}); run"
            f" 'robosplice info {dataset.root}' to list them"
        )
    repeated = sorted(i for i, n in Counter(values).items() if n > 1)
    if repeated:
        raise SelectionError(
            f"Invalid episode indices: {format_indices(repeated)} given more than once in {what}"
        )
    return values
