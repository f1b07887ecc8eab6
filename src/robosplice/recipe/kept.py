"""What an edit keeps of its source: deleted episodes plus frame ranges, and the ONE merge rule.

The rule, used by `apply`, `doctor`'s proposed recipe and the review page (README "Recipes"):
- a deletion supersedes the trims of its episode (they are held, not written, while it stands);
- two trims of one episode keep the intersection of their ranges;
- trims whose intersection is empty are an error naming both (an emptied episode is never
  dropped silently: delete it instead).
Indices and `[start, stop)` ranges refer to the source. Pure; no dataset is read here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from robosplice.errors import SelectionError

Range = tuple[int, int]


def merge_range(episode: int, held: Range | None, new: Range, *, held_by: str, by: str) -> Range:
    """The frames of `episode` kept by a trim `held` (set by `held_by`) and a trim `new` (`by`).

    Raises:
        SelectionError: the two ranges do not overlap; the message names both.
    """
    if held is None:
        return new
    start, stop = max(held[0], new[0]), min(held[1], new[1])
    if start >= stop:
        raise SelectionError(
            f"episode {episode} keeps no frame: {held_by} keeps [{held[0]}, {held[1]}) and {by}"
            f" keeps [{new[0]}, {new[1]}), which do not overlap; delete the episode instead, or"
            " change one of the two"
        )
    return start, stop


@dataclass(frozen=True, slots=True, kw_only=True)
class Kept:
    """Deleted source episodes, the kept range of each trimmed one, and who set each range."""

    deleted: frozenset[int] = frozenset()
    ranges: Mapping[int, Range] = field(default_factory=dict)
    by: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    """Labels of the trims that set each range (steps, findings or reasons), for messages."""

    def deleting(self, episodes: Iterable[int]) -> Kept:
        """These episodes deleted too (their trims are held, superseded)."""
        return Kept(deleted=self.deleted | set(episodes), ranges=self.ranges, by=self.by)

    def keeping(self, episodes: Iterable[int], count: int) -> Kept:
        """Every episode of `range(count)` not in `episodes` deleted."""
        return self.deleting(set(range(count)) - set(episodes))

    def trimmed(self, ranges: Mapping[int, Range], *, by: str) -> Kept:
        """Each episode of `ranges` trimmed by the merge rule (module docstring).

        Raises:
            SelectionError: a trim leaves its episode no frame; the message names both trims.
        """
        merged, labels = dict(self.ranges), dict(self.by)
        for episode, new in ranges.items():
            held_by = labels.get(episode, ())
            merged[episode] = merge_range(
                episode, merged.get(episode), new, held_by=", ".join(held_by), by=by
            )
            labels[episode] = held_by if by in held_by else (*held_by, by)
        return Kept(deleted=self.deleted, ranges=merged, by=labels)

    def episodes(self, count: int) -> list[int]:
        """The kept episodes of a source with `count` episodes, in order."""
        return [e for e in range(count) if e not in self.deleted]

    def live_ranges(self) -> dict[int, Range]:
        """The ranges of episodes not deleted, by episode (the ones written)."""
        return {e: r for e, r in sorted(self.ranges.items()) if e not in self.deleted}

    def live_labels(self) -> set[str]:
        """The labels of the trims written (those of deleted episodes left out)."""
        return {label for e in self.live_ranges() for label in self.by.get(e, ())}
