"""Shared tail of every op: check the target, stage, execute, publish, return a handle."""

from __future__ import annotations

import os
from pathlib import Path

from robosplice._types import PathLike, ProgressReporter
from robosplice.commit import check_output_target, staged_output
from robosplice.dataset import Dataset
from robosplice.engine.run import execute
from robosplice.plan.model import Plan


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


def write_plan(
    plan: Plan,
    output_dir: Path,
    *,
    repo_id: str | None = None,
    overwrite: bool = False,
    in_place: bool = False,
    progress: ProgressReporter | None = None,
) -> Dataset:
    """Execute `plan` into `output_dir` atomically and return a handle on the result."""
    check_output_target(output_dir, list(plan.sources), overwrite=overwrite, in_place=in_place)
    with staged_output(output_dir) as staging:
        execute(plan, staging, progress=progress)
    return Dataset(output_dir, repo_id=repo_id)
