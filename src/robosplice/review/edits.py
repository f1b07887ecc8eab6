"""Pending edits of a review: episodes marked for deletion and trims, with undo. Pure, no I/O.

Every index and `[start, stop)` range refers to the SOURCE dataset, as recipe steps do. A trim of
a deleted episode is refused (the deletion wins; undo or remove it first); deleting a trimmed
episode keeps the trim listed but leaves it out of the recipe while the deletion stands. A step
added to the pending trims (a doctor fix) merges by the recipe's one rule (`recipe.Kept`); the
`[`/`]` keys and `set_trim` set the pending trim itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from robosplice.errors import EditConflictError, SelectionError
from robosplice.recipe import Kept, Range, Step, delete_step, trim_step

FORMAT: Final = "robosplice-review-edits"
VERSION: Final = 1
HISTORY_LIMIT: Final = 200
DELETE_REASON: Final = "marked in review"
TRIM_REASON: Final = "trimmed in review"


@dataclass(frozen=True, slots=True, kw_only=True)
class EditState:
    """The pending edits at one moment: deleted episodes and trims (episode → (start, stop))."""

    deleted: frozenset[int] = frozenset()
    trims: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON shape (episode keys as strings, like recipe ranges)."""
        return {
            "deleted": sorted(self.deleted),
            "trims": {str(k): list(v) for k, v in sorted(self.trims.items())},
            "reasons": dict(sorted(self.reasons.items())),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> EditState:
        """Parse `to_json`'s shape."""
        return cls(
            deleted=frozenset(int(e) for e in value.get("deleted", [])),
            trims={int(k): (int(v[0]), int(v[1])) for k, v in value.get("trims", {}).items()},
            reasons={str(k): str(v) for k, v in value.get("reasons", {}).items()},
        )


class PendingEdits:
    """The edits of one review and their undo history, checked against the episode lengths."""

    def __init__(self, lengths: Sequence[int], state: EditState | None = None) -> None:
        self.lengths = list(lengths)
        self.state = state or EditState()
        self.history: list[EditState] = []

    # -- changes (each pushes the previous state for undo) --------------------------------------

    def _push(self, new: EditState) -> EditState:
        if new != self.state:
            self.history.append(self.state)
            del self.history[:-HISTORY_LIMIT]
            self.state = new
        return self.state

    def _check_episode(self, episode: int) -> int:
        if not 0 <= episode < len(self.lengths):
            raise EditConflictError(
                f"episode {episode} is not in the dataset (it has 0–{len(self.lengths) - 1})"
            )
        return episode

    def set_deleted(self, episode: int, deleted: bool, reason: str | None = None) -> EditState:
        """Mark or unmark `episode` for deletion.

        Raises:
            EditConflictError: unknown episode, or it would delete every episode.
        """
        self._check_episode(episode)
        marked = set(self.state.deleted)
        reasons = dict(self.state.reasons)
        key = f"delete:{episode}"
        if deleted:
            marked.add(episode)
            reasons[key] = reason or reasons.get(key, DELETE_REASON)
        else:
            marked.discard(episode)
            reasons.pop(key, None)
        if len(marked) >= len(self.lengths):
            raise EditConflictError(
                f"cannot mark episode {episode} too: every episode would be deleted"
            )
        return self._push(replace(self.state, deleted=frozenset(marked), reasons=reasons))

    def toggle_deleted(self, episode: int) -> EditState:
        """Flip the deletion mark of `episode` (the `d` key)."""
        return self.set_deleted(episode, episode not in self.state.deleted)

    def set_trim(self, episode: int, start: int, stop: int, reason: str | None = None) -> EditState:
        """Keep frames [start, stop) of `episode`; the whole range removes the trim.

        Raises:
            EditConflictError: unknown or deleted episode, or a range outside its frames.
        """
        length = self.lengths[self._check_episode(episode)]
        if episode in self.state.deleted:
            raise EditConflictError(
                f"episode {episode} is marked for deletion; unmark it (d) before trimming it"
            )
        if not 0 <= start < stop <= length:
            raise EditConflictError(
                f"episode {episode}: trim [{start}, {stop}) is outside its frames 0–{length}"
                " (need 0 <= start < stop <= length; the start must come before the end)"
            )
        trims = dict(self.state.trims)
        reasons = dict(self.state.reasons)
        key = f"trim:{episode}"
        if (start, stop) == (0, length):
            trims.pop(episode, None)
            reasons.pop(key, None)
        else:
            trims[episode] = (start, stop)
            reasons[key] = reason or reasons.get(key, TRIM_REASON)
        return self._push(replace(self.state, trims=trims, reasons=reasons))

    def trim_start(self, episode: int, frame: int) -> EditState:
        """First kept frame = `frame` (the `[` key); the end stays."""
        stop = self.state.trims.get(episode, (0, self.lengths[self._check_episode(episode)]))[1]
        return self.set_trim(episode, frame, stop)

    def trim_end(self, episode: int, frame: int) -> EditState:
        """Last kept frame = `frame` (the `]` key); the start stays."""
        start = self.state.trims.get(episode, (0, self.lengths[self._check_episode(episode)]))[0]
        return self.set_trim(episode, start, frame + 1)

    def remove(self, item: str) -> EditState:
        """Remove one pending edit by its id (`delete:N` or `trim:N`).

        Raises:
            EditConflictError: no such pending edit.
        """
        kind, _, number = item.partition(":")
        episode = int(number) if number.isdigit() else -1
        if kind == "delete" and episode in self.state.deleted:
            return self.set_deleted(episode, False)
        if kind == "trim" and episode in self.state.trims:
            trims = {k: v for k, v in self.state.trims.items() if k != episode}
            reasons = {k: v for k, v in self.state.reasons.items() if k != item}
            return self._push(replace(self.state, trims=trims, reasons=reasons))
        raise EditConflictError(f"no pending edit {item!r}")

    def add_step(self, op: str, args: Mapping[str, Any], reason: str | None = None) -> EditState:
        """Take a recipe step (e.g. a doctor finding's fix) as pending edits, as one undo step.

        Raises:
            EditConflictError: an op the page cannot hold, or an edit that conflicts.
        """
        before, history = self.state, list(self.history)
        try:
            if op == "delete_episodes":
                for episode in args.get("episode_indices", []):
                    self.set_deleted(int(episode), True, reason)
            elif op == "trim_episodes":
                for key, (start, stop) in args.get("ranges", {}).items():
                    self._merge_trim(int(key), (int(start), int(stop)), reason)
            else:
                raise EditConflictError(
                    f"the review page holds deletions and trims only, not {op!r}; apply that"
                    " step with 'robosplice apply'"
                )
        except Exception:
            self.state, self.history = before, history
            raise
        self.history = [*history, before] if self.state != before else history
        return self.state

    def _merge_trim(self, episode: int, new: Range, reason: str | None) -> EditState:
        """Trim `episode` to `new` by the recipe's merge rule (intersection with a held trim)."""
        key = f"trim:{episode}"
        held = tuple(self.state.reasons.get(key, TRIM_REASON).split("; "))
        kept = Kept(ranges=self.state.trims, by={episode: held})
        try:
            merged = kept.trimmed({episode: new}, by=reason or held[-1])
        except SelectionError as exc:
            raise EditConflictError(str(exc)) from exc
        why = "; ".join(merged.by[episode]) if episode in self.state.trims else reason
        return self.set_trim(episode, *merged.ranges[episode], why)

    def undo(self) -> EditState:
        """Go back one change (no-op when there is nothing to undo)."""
        if self.history:
            self.state = self.history.pop()
        return self.state

    # -- views ----------------------------------------------------------------------------------

    def items(self) -> list[dict[str, Any]]:
        """The pending edits as the page lists them, in episode order."""
        listed: list[dict[str, Any]] = []
        episodes = sorted(self.state.deleted | set(self.state.trims))
        for episode in episodes:
            if episode in self.state.deleted:
                listed.append(
                    {
                        "id": f"delete:{episode}",
                        "kind": "delete",
                        "episode": episode,
                        "reason": self.state.reasons.get(f"delete:{episode}", DELETE_REASON),
                        "text": f"Delete episode {episode}",
                    }
                )
            if episode in self.state.trims:
                start, stop = self.state.trims[episode]
                superseded = episode in self.state.deleted
                listed.append(
                    {
                        "id": f"trim:{episode}",
                        "kind": "trim",
                        "episode": episode,
                        "range": [start, stop],
                        "superseded": superseded,
                        "reason": self.state.reasons.get(f"trim:{episode}", TRIM_REASON),
                        "text": f"Trim episode {episode} to frames {start}–{stop - 1}"
                        f" (keep {stop - start} of {self.lengths[episode]})"
                        + (" — superseded by its deletion" if superseded else ""),
                    }
                )
        return listed

    def steps(self) -> list[dict[str, Any]]:
        """The recipe steps (JSON) for the pending edits: one delete, then one trim step."""
        state = self.state
        steps: list[Step] = []
        if state.deleted:
            reasons = {state.reasons.get(f"delete:{e}", DELETE_REASON) for e in state.deleted}
            steps.append(delete_step(state.deleted, "; ".join(sorted(reasons))))
        trims = {e: r for e, r in state.trims.items() if e not in state.deleted}
        if trims:
            reasons = {state.reasons.get(f"trim:{e}", TRIM_REASON) for e in trims}
            steps.append(trim_step(trims, "; ".join(sorted(reasons))))
        return [step.to_json() for step in steps]

    def to_json(self) -> dict[str, Any]:
        """What the store writes: the state and its undo history."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "state": self.state.to_json(),
            "history": [state.to_json() for state in self.history],
        }

    @classmethod
    def from_json(cls, lengths: Sequence[int], value: Mapping[str, Any]) -> PendingEdits:
        """Restore `to_json`'s shape; edits that no longer fit the dataset raise."""
        if value.get("format") != FORMAT or value.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} v{VERSION} document")
        edits = cls(lengths, EditState.from_json(value.get("state", {})))
        edits.history = [EditState.from_json(state) for state in value.get("history", [])]
        return edits
