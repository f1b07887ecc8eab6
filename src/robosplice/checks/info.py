"""Family "info": meta/info.json — version, fps, features, path templates.

FORMAT.md §0.1, §1.1-1.2.
"""

from __future__ import annotations

import json
from typing import Any, Final

from robosplice.checks._common import LOADER as _LOADER
from robosplice.checks._common import REPAIR_FIX, is_number, problem_maker
from robosplice.checks.context import KINDS as COMMON_KINDS
from robosplice.checks.context import Context
from robosplice.checks.kinds import Decision, EditFacts, Kind, OnEdit
from robosplice.errors import Problem
from robosplice.format.info import DEFAULT_FEATURES, VISUAL_DTYPES, Features
from robosplice.format.paths import (
    DATA_PATH_TEMPLATE,
    INFO_PATH,
    VIDEO_PATH_TEMPLATE,
    declared_template,
)
from robosplice.format.untrusted import metadata_path_problems, tree_problems

__all__ = ["KINDS", "run", "validate_info"]


def _path_template_on_edit(problem: Problem, facts: EditFacts) -> Decision:
    # Readers follow the declared templates (format.paths.declared_template); writers are strict.
    return "rebuilt", f"the output uses the standard {problem.loc} template"


KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="unsupported_version", severity="error",
         meaning="codebase_version is not v3.x", why="the v3 loader refuses it"),
    Kind(name="missing_field", severity="error",
         meaning="a required info.json key (codebase_version, fps, features, data_path, video_path"
         " with videos) is missing",
         why=f"{_LOADER} (KeyError)"),
    Kind(name="bad_field", severity="error",
         meaning="an info.json value has the wrong type or range (fps <= 0, chunks_size <= 0, a"
         " video_path that does not format, ...)",
         why="the loader computes frame times and file paths from it"),
    Kind(name="bad_path_template", severity="warning",
         meaning="data_path or video_path is not the default template the tools hard-code",
         why="the loader globs data/*/*.parquet and formats video_path itself, so it loads; only"
         " the official tools, which hard-code the defaults, go astray",
         on_edit=OnEdit(decide=_path_template_on_edit)),
    Kind(name="unsafe_path", severity="error",
         meaning="a path that metadata names (a template, a camera name, a symlink) leads outside"
         " the dataset folder: absolute, a '..' segment, or a link out",
         why="a reader would open, and an edit or a push would carry along, files the dataset"
         " does not own; robosplice refuses such a dataset (a Hub dataset is untrusted input)"),
    Kind(name="missing_feature", severity="error",
         meaning="one of the five default features is missing from info.json",
         why="the data column is then not a feature, and the loader's cast fails"),
    Kind(name="bad_feature", severity="error",
         meaning="a feature entry is malformed (dtype, shape, '/' in the name, wrong default)",
         why="the loader builds the Arrow schema and stats names from it"),
)  # fmt: skip
"""The kinds this family reports: severity, and why, beside the checks below."""

_problem = problem_maker(KINDS, COMMON_KINDS)


def run(ctx: Context) -> None:
    """Parse and check info.json; without a usable one nothing else can be checked."""
    info = _check_info(ctx)
    if info is None:
        ctx.stop = True
        return
    unsafe = [*metadata_path_problems(info), *tree_problems(ctx.root)]
    if unsafe:  # nothing is read through such paths
        for problem in unsafe:
            ctx.report(problem.file, problem.loc, "unsafe_path", problem.message)
        ctx.stop = True
        return
    # Malformed entries are reported by validate_info; the other checks skip them.
    features: Features = {
        name: feature for name, feature in info["features"].items() if isinstance(feature, dict)
    }
    raw_fps = info.get("fps")
    ctx.info = info
    ctx.features = features
    ctx.fps = float(raw_fps) if is_number(raw_fps) and raw_fps > 0 else None


def validate_info(info: object) -> list[Problem]:
    """Return the problems of a parsed meta/info.json (pure; FORMAT.md §0.1, §1.1-1.2)."""
    problems: list[Problem] = []

    def report(loc: str, kind: str, message: str) -> None:
        problems.append(_problem(file=INFO_PATH, loc=loc, kind=kind, message=message))

    if not isinstance(info, dict):
        report("", "invalid_json", f"expected a JSON object, got {type(info).__name__}")
        return problems
    version = info.get("codebase_version")
    if version is None:
        report(
            "codebase_version",
            "missing_field",
            'codebase_version is missing; a v3.0 dataset says "v3.0"',
        )
        return problems
    if not (isinstance(version, str) and version.startswith("v3")):
        hint = (
            "make it one with 'robosplice repair SRC OUT' (it converts, and repairs what other"
            " converters leave out)"
            if str(version).startswith("v2")
            else "robosplice reads only v3.x"
        )
        report(
            "codebase_version",
            "unsupported_version",
            f"expected a v3.x codebase_version, got {version!r}; {hint}",
        )
        return problems
    fps = info.get("fps")
    if fps is None:
        report("fps", "missing_field", "fps is missing; set it to the recording's frame rate")
    elif not is_number(fps) or fps <= 0:
        report("fps", "bad_field", f"expected a number > 0, got {fps!r}")
    for key in ("chunks_size", "data_files_size_in_mb", "video_files_size_in_mb"):
        value = info.get(key)
        if value is not None and (not is_number(value) or value <= 0):
            report(key, "bad_field", f"expected a number > 0, got {value!r}")
    for key in ("total_episodes", "total_frames", "total_tasks"):
        value = info.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            report(key, "bad_field", f"expected an integer, got {value!r}")
    features = info.get("features")
    if features is None:
        report("features", "missing_field", "features is missing; it must list every feature")
        return problems
    if not isinstance(features, dict):
        report("features", "bad_field", f"expected an object, got {type(features).__name__}")
        return problems
    problems.extend(_feature_problems(features))
    problems.extend(_template_problems(info, features))
    return problems


def _check_info(ctx: Context) -> dict[str, Any] | None:
    """Parse and check info.json; None when nothing else can be checked without it."""
    path = ctx.root / INFO_PATH
    if not path.is_file():
        ctx.report(
            INFO_PATH,
            "",
            "missing_file",
            f"no meta/info.json under {ctx.root}; this is not a LeRobot v3.0 dataset",
        )
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        ctx.report(INFO_PATH, "", "invalid_json", f"cannot parse JSON ({exc})")
        return None
    problems = validate_info(info)
    ctx.add_problems(problems)
    blocking = {"invalid_json", "unsupported_version"}
    if any(p.kind in blocking or p.loc in ("codebase_version", "features") for p in problems):
        return None
    assert isinstance(info, dict)
    return info


def _feature_problems(features: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []

    def report(loc: str, kind: str, message: str) -> None:
        problems.append(_problem(file=INFO_PATH, loc=loc, kind=kind, message=message))

    for name, feature in features.items():
        loc = f"features.{name}"
        if "/" in name:
            report(
                loc,
                "bad_feature",
                f"feature name {name!r} contains '/', which breaks the stats/<name>/<stat>"
                " columns; rename it",
            )
        if not isinstance(feature, dict):
            report(loc, "bad_feature", f"expected an object, got {feature!r}")
            continue
        dtype = feature.get("dtype")
        if not isinstance(dtype, str):
            report(f"{loc}.dtype", "bad_feature", f"expected a dtype string, got {dtype!r}")
        shape = feature.get("shape")
        if not (
            isinstance(shape, list)
            and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)
        ):
            report(f"{loc}.shape", "bad_feature", f"expected a list of sizes > 0, got {shape!r}")
        elif dtype in VISUAL_DTYPES and len(shape) != 3:
            report(
                f"{loc}.shape",
                "bad_feature",
                f"expected [height, width, channels] for a {dtype} feature, got {shape}",
            )
    for name, default in DEFAULT_FEATURES.items():
        feature = features.get(name)
        if feature is None:
            report(
                f"features.{name}",
                "missing_feature",
                f"expected the default feature {name!r} ({default['dtype']}, shape"
                f" {default['shape']}), got none; add it",
            )
        elif isinstance(feature, dict) and (
            feature.get("dtype") != default["dtype"] or feature.get("shape") != default["shape"]
        ):
            report(
                f"features.{name}",
                "bad_feature",
                f"expected dtype {default['dtype']!r} shape {default['shape']}, got dtype"
                f" {feature.get('dtype')!r} shape {feature.get('shape')!r}",
            )
    return problems


def _template_problems(info: dict[str, Any], features: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    data_path = info.get("data_path")
    if data_path is None:
        problems.append(
            _problem(
                file=INFO_PATH,
                loc="data_path",
                kind="missing_field",
                message=f"data_path is missing; set it to {DATA_PATH_TEMPLATE!r}",
            )
        )
    elif data_path != DATA_PATH_TEMPLATE:
        problems.append(
            _problem(
                file=INFO_PATH,
                loc="data_path",
                kind="bad_path_template",
                message=f"expected {DATA_PATH_TEMPLATE!r} (the loader globs data/*/*.parquet and"
                f" the tools hard-code it), got {data_path!r}; {REPAIR_FIX}",
            )
        )
    has_video = any(isinstance(f, dict) and f.get("dtype") == "video" for f in features.values())
    video_path = info.get("video_path")
    if not has_video:
        return problems
    if video_path is None:
        problems.append(
            _problem(
                file=INFO_PATH,
                loc="video_path",
                kind="missing_field",
                message="video_path is missing but there are video features; the loader finds"
                f" the mp4 files with it; set it to {VIDEO_PATH_TEMPLATE!r}",
            )
        )
    elif video_path != VIDEO_PATH_TEMPLATE:
        # The loader formats video_path itself: one that does not format cannot load.
        usable = declared_template(info, "video_path") == video_path
        problems.append(
            _problem(
                file=INFO_PATH,
                loc="video_path",
                kind="bad_path_template" if usable else "bad_field",
                message=f"expected {VIDEO_PATH_TEMPLATE!r} (the tools hard-code it), got"
                f" {video_path!r}"
                + (f"; {REPAIR_FIX}" if usable else " (it does not even format)"),
            )
        )
    return problems
