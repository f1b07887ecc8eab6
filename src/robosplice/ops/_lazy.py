"""Sources whose data and video files arrive only when an edit needs them (Hub sources).

Why: a Hub dataset can be hundreds of GB, and deleting ten episodes needs only the metadata and
the files holding the episodes the output keeps. The Hub layer opens a source from its metadata
and data files (planners read the frames' task indices; data files are small next to videos)
and registers a fetcher for its root (`lazy_sources`); once an op has planned, `write_plan` asks
each lazy source for the video files of the episodes the plan reads (`fetch_planned_files`), and
pre-flight excuses the absence of the others: they stay on the remote, unread and unchecked, as
lerobot's own partial loading leaves them.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from robosplice.dataset import Dataset
from robosplice.plan.model import Plan

FileFetcher = Callable[[Sequence[str]], None]
"""Downloads these files (paths relative to the source root) into the root, or raises."""

_FETCHERS: contextvars.ContextVar[Mapping[Path, FileFetcher] | None] = contextvars.ContextVar(
    "robosplice_lazy_sources", default=None
)


@contextlib.contextmanager
def lazy_sources(fetchers: Mapping[Path, FileFetcher]) -> Iterator[None]:
    """Within the block, edits of these roots fetch only the files their plan reads."""
    token = _FETCHERS.set(
        {**(_FETCHERS.get() or {}), **{Path(k).resolve(): v for k, v in fetchers.items()}}
    )
    try:
        yield
    finally:
        _FETCHERS.reset(token)


def files_of_episodes(
    dataset: Dataset, positions: Iterable[int], *, videos: bool = True
) -> list[str]:
    """Relative paths of the data (and video) files holding the episodes at these positions of
    `dataset.episodes`, each once, in order."""
    paths: dict[str, None] = {}
    for position in positions:
        record = dataset.episodes[position]
        paths[_relative(dataset, dataset.data_path(record.data_position))] = None
        for key, window in record.videos.items() if videos else ():
            paths[_relative(dataset, dataset.video_path(key, window.position))] = None
    return list(paths)


def fetch_planned_files(plans: Sequence[Plan]) -> dict[Path, frozenset[str]]:
    """Fetch, for each lazy source of `plans`, the files of the episodes they read; return per
    lazy source the files its metadata names that stay remote (not needed, not fetched)."""
    fetchers = _FETCHERS.get() or {}
    remote: dict[Path, frozenset[str]] = {}
    for root in dict.fromkeys(Path(r) for plan in plans for r in plan.sources):
        fetcher = fetchers.get(root.resolve())
        if fetcher is None:
            continue
        dataset = Dataset(root)
        read = sorted(
            {
                episode.segment.episode_index
                for plan in plans
                for episode in plan.episodes
                if Path(plan.sources[episode.segment.source]) == root
            }
        )
        needed = files_of_episodes(dataset, read)
        fetcher(needed)
        every = files_of_episodes(dataset, range(len(dataset.episodes)))
        remote[root] = frozenset(
            path for path in every if path not in needed and not (root / path).is_file()
        )
    return remote


def _relative(dataset: Dataset, path: Path) -> str:
    return path.relative_to(dataset.root).as_posix()
