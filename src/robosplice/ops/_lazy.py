"""Sources whose data and video files arrive only when an edit needs them (Hub sources).

Why: a Hub dataset can be hundreds of GB, and deleting ten episodes needs only the metadata and
the files holding the episodes the output keeps. The Hub layer opens a source from its metadata
and data files (planners read the frames' task indices; data files are small next to videos)
and registers a fetcher for its root (`lazy_sources`); once an op has planned, `write_plan` asks
each lazy source for the video files of the episodes the plan reads (`fetch_planned_files`), and
pre-flight excuses the absence of the others: they stay on the remote, unread and unchecked, as
lerobot's own partial loading leaves them.

When the output goes back to the source's own repo, the Hub layer also names the repo's files
(`RemoteListing`): a video file the plan keeps whole (every episode of it, whole and in order)
is then not fetched at all; the engine records it (`engine/cameras.py`
`video_files_kept_remote`) and the push keeps it or copies it server-side.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from robosplice.dataset import Dataset
from robosplice.engine.cameras import file_episodes, runs_whole_file, video_files_kept_remote
from robosplice.engine.units import RemoteFile
from robosplice.format import info as info_format
from robosplice.format.paths import mebibytes_to_bytes
from robosplice.plan.model import Plan

FileFetcher = Callable[[Sequence[str]], None]
"""Downloads these files (paths relative to the source root) into the root, or raises."""

RemoteListing = Callable[[Sequence[str]], Mapping[str, RemoteFile]]
"""The repo's LFS files among these paths (relative to the source root), with size and id."""


@dataclass(frozen=True, slots=True)
class _Lazy:
    fetchers: Mapping[Path, FileFetcher]
    listings: Mapping[Path, RemoteListing]
    kept: dict[Path, RemoteFile] = field(default_factory=dict)


_LAZY: contextvars.ContextVar[_Lazy | None] = contextvars.ContextVar(
    "robosplice_lazy_sources", default=None
)


@contextlib.contextmanager
def lazy_sources(
    fetchers: Mapping[Path, FileFetcher],
    listings: Mapping[Path, RemoteListing] | None = None,
) -> Iterator[None]:
    """Within the block, edits of these roots fetch only the files their plan reads; a root with
    a listing (the output goes back to its repo) leaves the video files kept whole remote."""
    outer = _LAZY.get()
    state = _Lazy(
        fetchers={
            **(outer.fetchers if outer else {}),
            **{Path(k).resolve(): v for k, v in fetchers.items()},
        },
        listings={
            **(outer.listings if outer else {}),
            **{Path(k).resolve(): v for k, v in (listings or {}).items()},
        },
    )
    token = _LAZY.set(state)
    try:
        with video_files_kept_remote(state.kept):
            yield
    finally:
        _LAZY.reset(token)


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
    state = _LAZY.get()
    fetchers = state.fetchers if state else {}
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
        listing = state.listings.get(root.resolve()) if state else None
        if state is not None and listing is not None and len(plans) == 1:
            # The output goes back to this repo: what the plan keeps whole stays there.
            kept = _keep_remote(plans[0], root, dataset, listing)
            state.kept.update({root / path: file for path, file in kept.items()})
            needed = [path for path in needed if path not in kept]
        fetcher(needed)
        every = files_of_episodes(dataset, range(len(dataset.episodes)))
        remote[root] = frozenset(
            path for path in every if path not in needed and not (root / path).is_file()
        )
    return remote


def files_kept_whole(plan: Plan, root: Path, dataset: Dataset) -> list[str]:
    """Video files of `dataset` (at `root`) that `plan` copies whole: every episode of the file,
    whole, in the file's order and one after another (the run `engine/cameras.py` keeps whole,
    less its size rule). Read from the metadata alone."""
    numbers = [n for n, source in enumerate(plan.sources) if Path(source) == root]
    order: dict[tuple[int, int], int] = {}  # first place of each source episode in the plan
    for number, episode in enumerate(plan.episodes):
        order.setdefault((episode.segment.source, episode.segment.episode_index), number)
    kept: list[str] = []
    for key in info_format.video_keys(plan.info["features"]):
        if key in plan.videos:  # encoded, not copied
            continue
        for source in numbers:
            source_key = plan.columns.source_name(source, key)
            for position, in_file in file_episodes(dataset, source_key).items():
                start = order.get((source, in_file[0]))
                if start is None:
                    continue
                run = plan.episodes[start : start + len(in_file)]
                if runs_whole_file(run, source, in_file):
                    kept.append(_relative(dataset, dataset.video_path(source_key, position)))
    return kept


def _keep_remote(
    plan: Plan, root: Path, dataset: Dataset, listing: RemoteListing
) -> dict[str, RemoteFile]:
    """The files `plan` keeps whole that the repo holds as LFS files: all of them when the output
    keeps the source's file-size limit (each was written under it; its payload, which the limit
    counts, is unknown without the file), else those whose whole size is under the new limit."""
    settings = plan.settings
    limit = mebibytes_to_bytes(settings.video_files_size_in_mb)
    same_limit = dataset.info.get("video_files_size_in_mb") == settings.video_files_size_in_mb
    candidates = files_kept_whole(plan, root, dataset)
    if not candidates:
        return {}
    listed = listing(candidates)
    return {path: file for path, file in listed.items() if same_limit or file.size < limit}


def _relative(dataset: Dataset, path: Path) -> str:
    return path.relative_to(dataset.root).as_posix()
