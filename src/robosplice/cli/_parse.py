"""Parsers for compact CLI arguments: episode lists, splits, trim ranges, renames."""

from __future__ import annotations

from pathlib import Path

import typer


def parse_episode_list(text: str) -> list[int]:
    """`"1,3,5-7"` → [1, 3, 5, 6, 7]."""
    episodes: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part[1:]:
                first, last = part.split("-", 1)
                episodes.extend(range(int(first), int(last) + 1))
            else:
                episodes.append(int(part))
        except ValueError:
            raise typer.BadParameter(
                f"{part!r} is not an episode number or range like 5-7"
            ) from None
    return episodes


def parse_split(items: list[str]) -> dict[str, float | list[int]]:
    """`["train=0.8", "val=0.2"]` or `["train=0-39", "val=40-49"]`."""
    splits: dict[str, float | list[int]] = {}
    for item in items:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise typer.BadParameter(f"{item!r}: expected NAME=FRACTION or NAME=EPISODES")
        if "." in value and "," not in value:
            try:
                splits[name] = float(value)
                continue
            except ValueError:
                pass
        splits[name] = parse_episode_list(value)
    return splits


def _frame_or_seconds(text: str, fps: float, default: int) -> int:
    if text == "":
        return default
    if text.endswith("s"):
        return round(float(text[:-1]) * fps)
    return int(text)


def parse_trim_ranges(
    items: list[str], fps: float, lengths: list[int]
) -> dict[int, tuple[int, int]]:
    """`EPISODE:START:END` in frames, or seconds with an `s` suffix; empty START/END = edge."""
    ranges = {}
    for item in items:
        parts = item.split(":")
        if len(parts) != 3:
            raise typer.BadParameter(
                f"{item!r}: expected EPISODE:START:END, e.g. 3:15:240 or 3:0.5s:8s"
            )
        try:
            episode = int(parts[0])
            length = lengths[episode] if 0 <= episode < len(lengths) else 0
            ranges[episode] = (
                _frame_or_seconds(parts[1], fps, 0),
                _frame_or_seconds(parts[2], fps, length),
            )
        except ValueError:
            raise typer.BadParameter(
                f"{item!r}: START/END must be frames or seconds like 1.5s"
            ) from None
    return ranges


def parse_renames(items: list[str]) -> dict[int, dict[str, str]]:
    """`["1:observation.images.fixed=observation.images.top"]` → {1: {old: new}}."""
    renames: dict[int, dict[str, str]] = {}
    for item in items:
        source, colon, pair = item.partition(":")
        old, equals, new = pair.partition("=")
        if not colon or not equals or not source.isdigit():
            raise typer.BadParameter(f"{item!r}: expected SOURCE_NUMBER:OLD=NEW")
        renames.setdefault(int(source), {})[old] = new
    return renames


def output_or_in_place(output: Path | None, in_place: bool) -> Path | None:
    """The OUTPUT argument, required unless --in-place."""
    if output is None and not in_place:
        raise typer.BadParameter("give an OUTPUT folder or --in-place")
    return output
