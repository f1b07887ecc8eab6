"""Paths that dataset metadata names, kept inside the dataset folder.

Why: a dataset from the Hub is untrusted input. Its info.json templates, camera names and file
links decide which files a reader opens; an edit copies those files into its output and a push
uploads them. A template of `../secret/...`, an absolute one, or a symlink out of the folder
would read (and publish) files the dataset does not own. Every reader resolves such paths here:
absolute paths and `..` segments are an error naming the field, and a symlink is followed only to
a target inside the dataset folder, or inside the Hub cache entry a cache snapshot links into.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Final

from robosplice.errors import Problem, UnsafePathError
from robosplice.format.paths import (
    INFO_PATH,
    FilePosition,
    TemplateField,
    declared_path,
)

DATASET_DIRS: Final = ("meta", "data", "videos", "images")
"""The folders whose files a reader opens or an edit copies."""

_SAMPLE_POSITION: Final = {
    "chunk_index": 0,
    "file_index": 0,
    "episode_chunk": 0,
    "episode_index": 0,
}


def unsafe_reason(relative: str) -> str | None:
    """Why `relative` cannot name a file inside a dataset folder, or None when it can. Pure."""
    if not relative:
        return "is empty"
    if "\x00" in relative:
        return "contains a NUL byte"
    if (
        PurePosixPath(relative).is_absolute()
        or PureWindowsPath(relative).is_absolute()
        or PureWindowsPath(relative).drive
        or relative.startswith("\\")
    ):
        return "is an absolute path"
    if ".." in re.split(r"[/\\]", relative):
        return "has a '..' segment"
    return None


def trusted_roots(root: Path) -> tuple[Path, ...]:
    """Real folders a dataset's files may resolve into: the root, and its Hub cache entry.

    A huggingface_hub cache snapshot (`<cache>/datasets--org--name/snapshots/<sha>`) holds
    symlinks into the entry's `blobs/`; those targets are the dataset's own bytes.
    """
    real = Path(os.path.realpath(root))
    roots = [real]
    if hub_snapshot(real) is not None:
        roots.append(real.parent.parent)
    return tuple(roots)


def hub_snapshot(root: Path) -> tuple[str, str] | None:
    """(repo id, commit sha) when `root` is a huggingface_hub cache snapshot of a dataset
    (`<cache>/datasets--ORG--NAME/snapshots/<sha>`), else None. Pure: reads only the path."""
    entry, kind = root.parent.parent.name, root.parent.name
    if kind != "snapshots" or not entry.startswith("datasets--"):
        return None
    return entry.removeprefix("datasets--").replace("--", "/"), root.name


def is_inside(path: Path, roots: Iterable[Path]) -> bool:
    """Whether `path`, with every symlink followed, lies in one of `roots` (already real)."""
    real = Path(os.path.realpath(path))
    return any(real == root or real.is_relative_to(root) for root in roots)


def resolve_inside(
    root: Path,
    relative: str,
    *,
    field: str,
    file: str = INFO_PATH,
    roots: tuple[Path, ...] | None = None,
) -> Path:
    """`root / relative`, refused (UnsafePathError naming `field`) when it leaves the root.

    `roots`: `trusted_roots(root)`, when the caller resolves many files of one root.
    """
    reason = unsafe_reason(relative)
    path = root / relative
    if reason is None and not is_inside(path, roots or trusted_roots(root)):
        reason = "resolves (through a symlink) outside the dataset folder"
    if reason is not None:
        raise _error(root, [_problem(file, field, relative, reason)])
    return path


def resolve_declared(
    root: Path,
    info: Mapping[str, Any],
    field: TemplateField,
    position: FilePosition,
    video_key: str = "",
    present: Collection[str] | None = None,
) -> Path:
    """The data or video file at `position`, by the template info.json declares, kept inside.

    The one way a reader finds a numbered file (FORMAT.md §1: the loader formats the declared
    template with an episode row's chunk/file indices); a template that leaves the root is an
    UnsafePathError naming the field. `present`: the data files there (`declared_template`).
    """
    relative = declared_path(info, field, position, video_key, present)
    return resolve_inside(root, relative, field=field)


def check_metadata_paths(root: Path, info: Mapping[str, Any]) -> None:
    """Refuse a dataset whose info.json templates or camera names lead out of its folder."""
    problems = metadata_path_problems(info)
    if problems:
        raise _error(root, problems)


def metadata_path_problems(info: Mapping[str, Any]) -> list[Problem]:
    """Every info.json field that would name a path outside the dataset folder. Pure.

    The templates (`data_path`, `video_path`) are formatted with each camera name, as a reader
    formats them; a template that does not format is left to the format checks.
    """
    features = info.get("features")
    cameras = [
        str(name)
        for name, feature in (features.items() if isinstance(features, dict) else ())
        if isinstance(feature, dict) and feature.get("dtype") in ("video", "image")
    ]
    problems = [
        _problem(INFO_PATH, f"features.{name}", name, "names a path outside the dataset folder")
        for name in cameras
        if unsafe_reason(f"videos/{name}/x") is not None
    ]
    for field in ("data_path", "video_path"):
        template = info.get(field)
        if not isinstance(template, str):
            continue
        for camera in cameras or ["camera"]:
            try:
                relative = template.format(video_key=camera, **_SAMPLE_POSITION)
            except (KeyError, IndexError, ValueError, AttributeError):
                break
            reason = unsafe_reason(relative)
            if reason is not None:
                problems.append(_problem(INFO_PATH, field, template, reason))
                break
    return problems


def check_tree(root: Path, dirs: Iterable[str] = DATASET_DIRS) -> None:
    """Refuse a dataset folder holding a symlink (file or folder) that resolves outside it."""
    problems = list(tree_problems(root, dirs))
    if problems:
        raise _error(root, problems)


def tree_problems(root: Path, dirs: Iterable[str] = DATASET_DIRS) -> Iterator[Problem]:
    """One problem per symlink under `root/dirs` whose target is outside the trusted roots."""
    roots = trusted_roots(root)
    seen: set[str] = set()
    for name in dirs:
        top = root / name
        if top.is_symlink() and not is_inside(top, roots):
            yield _symlink_problem(root, top)
            continue
        for directory, subdirs, files in os.walk(top, followlinks=True):
            real = os.path.realpath(directory)
            if real in seen:  # a symlink loop, or a folder linked twice
                subdirs.clear()
                continue
            seen.add(real)
            kept = []
            for entry in subdirs:
                path = Path(directory) / entry
                if path.is_symlink() and not is_inside(path, roots):
                    yield _symlink_problem(root, path)
                else:
                    kept.append(entry)
            subdirs[:] = kept
            for entry in files:
                path = Path(directory) / entry
                if path.is_symlink() and not is_inside(path, roots):
                    yield _symlink_problem(root, path)


def _symlink_problem(root: Path, path: Path) -> Problem:
    relative = path.relative_to(root).as_posix()
    return _problem(
        relative,
        "",
        os.readlink(path),
        "is a symlink to a target outside the dataset folder",
        what="link target",
    )


def _problem(file: str, field: str, value: str, reason: str, *, what: str = "") -> Problem:
    label = what or field
    return Problem(
        file=file,
        loc=field,
        kind="unsafe_path",
        message=f"{label} {value!r} {reason}; a dataset may not name files outside its folder",
    )


def _error(root: Path, problems: list[Problem]) -> UnsafePathError:
    fields = ", ".join(sorted({f"{p.file}: {p.loc}" if p.loc else p.file for p in problems}))
    return UnsafePathError(
        f"{root}: refusing a dataset whose metadata names paths outside its folder ({fields})",
        problems,
    )
