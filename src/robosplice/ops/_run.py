"""Shared tail of every op: check the target and sources, stage, execute, log, publish, return."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from robosplice._types import PathLike, ProgressReporter
from robosplice.checks import validate_dataset
from robosplice.commit import check_output_target, staged_output
from robosplice.dataset import Dataset
from robosplice.engine.backends import Backend, check_execution
from robosplice.engine.run import execute
from robosplice.errors import InvalidDatasetError, Problem
from robosplice.history import write_history
from robosplice.ops._lazy import fetch_planned_files
from robosplice.ops._preflight import Preflight, repaired, triage
from robosplice.ops._validation_cache import validate_cached
from robosplice.plan.model import Plan

logger = logging.getLogger(__name__)


def lerobot_home() -> Path:
    """$HF_LEROBOT_HOME, else the official default (~/.cache/huggingface/lerobot)."""
    if "HF_LEROBOT_HOME" in os.environ:
        return Path(os.environ["HF_LEROBOT_HOME"]).expanduser()
    hf_home = Path(os.environ.get("HF_HOME", "~/.cache/huggingface")).expanduser()
    return hf_home / "lerobot"


def resolve_output_dir(
    output_dir: PathLike | None, repo_id: str | None, default_repo_id: str
) -> tuple[Path, str]:
    """The output folder and repo id, defaulting as the official tools do."""
    repo_id = repo_id or default_repo_id
    if output_dir is None:
        return lerobot_home() / repo_id, repo_id
    return Path(output_dir).expanduser().resolve(), repo_id


def check_sources(
    plan: Plan,
    *,
    progress: ProgressReporter | None = None,
    remote: Mapping[Path, frozenset[str]] | None = None,
) -> Preflight:
    """Validate every source of `plan` before anything is written (DESIGN.md: Safety).

    Runs the checks of `validate` (no decoding: data index and numeric columns, metadata, and
    each video's packet index), or reuses what they found in a source unchanged since
    (`_validation_cache.py`). Problems the output repairs or harmlessly carries (see
    `ops/_preflight.py`) are returned as notes; the others refuse the edit, every one of every
    source listed at once. `remote` names, per source, files left on the Hub because the edit
    does not read them (`ops/_lazy.py`): a file the edit does not read cannot make its output
    wrong, so findings in those files (their absence, here) are not this edit's concern.

    Raises:
        InvalidDatasetError: a source has problems that would make the output wrong or
            unloadable, or lose data.
    """
    roots = list(dict.fromkeys(plan.sources))
    found: dict[Path, list[Problem]] = {}
    for root in roots:
        left = (remote or {}).get(Path(root), frozenset())
        found_in_root = validate_cached(root, lambda r: validate_dataset(r, progress=progress))
        problems = [p for p in found_in_root if not repaired(p, plan) and p.file not in left]
        if problems:
            found[root] = problems
    preflight = triage(roots, found, plan)
    refused = {root: list(problems) for root, problems in preflight.refused.items()}
    if not refused:
        return preflight
    if len(refused) == 1:
        root, problems = next(iter(refused.items()))
        raise InvalidDatasetError(
            f"{root} is not a valid LeRobot v3.0 dataset ({len(problems)} problem(s)); nothing"
            f" was written. Fix them first ('robosplice validate {root}' lists them):",
            problems,
        )
    listed = [
        dataclasses.replace(p, file=f"{root}/{p.file}")
        for root, problems in refused.items()
        for p in problems
    ]
    raise InvalidDatasetError(
        f"{len(refused)} sources are not valid LeRobot v3.0 datasets ({len(listed)} problem(s));"
        " nothing was written. Fix them first ('robosplice validate ROOT' lists them):",
        listed,
    )


def prepare(
    plan: Plan,
    *,
    progress: ProgressReporter | None = None,
    remote: Mapping[Path, frozenset[str]] | None = None,
) -> tuple[Plan, Preflight]:
    """Pre-flight `plan`'s sources, report what the output repairs, and return the plan to run.

    Every repair and carried warning is logged (the CLI prints warnings) and goes into the
    output's edit log (`write_history(..., repairs=...)`).
    """
    preflight = check_sources(plan, progress=progress, remote=remote)
    for line in preflight.summary_lines():
        logger.warning("%s", line)
    return preflight.apply(plan), preflight


def write_plan(
    plan: Plan,
    output_dir: Path,
    *,
    repo_id: str | None = None,
    overwrite: bool = False,
    in_place: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
    opened: Sequence[Dataset] = (),
) -> Dataset:
    """Execute `plan` into `output_dir` atomically and return a handle on the result.

    Work units run on `backend` with `workers` workers (None: the enclosing `execution(...)`
    block's, else chosen by size); `workers` threads also encode the cameras of `plan.videos`.

    The target and every source are checked before anything is written; the output gets the
    sources' edit log plus a line for this edit (`robosplice.history`).

    When the output replaces an existing folder (in-place, overwrite), the new copy is
    validated before the swap, so a faulty edit can never take the place of good data.

    Raises:
        InvalidBackendError: unknown backend or workers < 1 (see `check_execution`).
        OutputExistsError: see `check_output_target`.
        OutputLockedError: another process is writing `output_dir`.
        InvalidDatasetError: a source has problems (all of them are listed), or the new copy
            of a replaced folder does (a robosplice bug; the folder is left as it was).
    """
    check_execution(backend, workers)
    check_output_target(output_dir, list(plan.sources), overwrite=overwrite, in_place=in_place)
    remote = fetch_planned_files([plan])  # Hub sources: only the files this plan reads
    plan, preflight = prepare(plan, progress=progress, remote=remote)
    replaces = output_dir.exists()
    with staged_output(output_dir, replace=overwrite or in_place) as staging:
        result = execute(
            plan, staging, progress=progress, backend=backend, workers=workers, opened=opened
        )
        write_history(
            staging,
            plan,
            repairs=[note.to_json() for note in preflight.notes],
            stats=result.stats_record,
        )
        if replaces:
            check_replacement(plan, staging, output_dir, progress=progress, preflight=preflight)
    return Dataset(output_dir, repo_id=repo_id)


def write_edit(
    source: Dataset,
    plan: Plan,
    output_dir: PathLike | None,
    repo_id: str | None,
    *,
    suffix: str,
    in_place: bool = False,
    overwrite: bool = False,
    progress: ProgressReporter | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
) -> Dataset:
    """`write_plan` for an edit of one dataset: in place at its root (keeping its repo id), else
    at `output_dir`, defaulting as the official tools do to `$HF_LEROBOT_HOME/<repo_id><suffix>`."""
    target, repo_id = resolve_output_dir(
        source.root if in_place and output_dir is None else output_dir,
        repo_id or (source.repo_id if in_place else None),
        f"{source.repo_id}{suffix}",
    )
    return write_plan(
        plan,
        target,
        repo_id=repo_id,
        overwrite=overwrite,
        in_place=in_place,
        progress=progress,
        backend=backend,
        workers=workers,
        opened=[source],
    )


def check_replacement(
    plan: Plan,
    staging: Path,
    target: Path,
    *,
    progress: ProgressReporter | None = None,
    preflight: Preflight | None = None,
) -> None:
    """Validate the new copy `plan` wrote before it replaces `target` (DESIGN.md: validate
    staging). Problems the plan was allowed to start from (see `repaired`), warnings, and
    problems a source already had and the edit carried are tolerated.

    Raises:
        InvalidDatasetError: the new copy has problems; `target` is left untouched.
    """
    carried = {
        (note.problem.kind, note.problem.file, note.problem.loc)
        for note in (preflight.notes if preflight else ())
    }
    problems = [
        p
        for p in validate_dataset(staging, progress=progress)
        if not repaired(p, plan)
        and p.severity == "error"
        and (p.kind, p.file, p.loc) not in carried
    ]
    if problems:
        raise InvalidDatasetError(
            f"the new copy of {target} failed validation, so it did not replace it (the"
            " original is untouched); this is a robosplice bug, please report it:",
            problems,
        )
