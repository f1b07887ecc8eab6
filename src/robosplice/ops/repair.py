"""`repair`: a LeRobot folder written by anyone's converter → a valid v3.0 dataset, losslessly.

v2.0 / v2.1 folders go through `convert` with every derivable repair on (`format.v2_repair`: the
bookkeeping columns and feature entries an exporter left out, timestamps that are not
frame_index / fps — the stored ones kept as a feature —, per-episode stats); v3.0 folders are
rewritten whole by `repack`, whose pre-flight rebuilds the metadata it can derive. Each repair is
listed by `dry_run`, printed by the CLI and recorded in the output's edit log. What cannot be
decided is refused with the problem named and nothing written.
"""

from __future__ import annotations

from pathlib import Path

from robosplice._types import PathLike, ProgressReporter
from robosplice.dataset import Dataset
from robosplice.format.v21 import V20, V21, read_version
from robosplice.ops.convert_version import (
    ConversionPlan,
    ConversionResult,
    _source_root,
    convert,
)
from robosplice.ops.repack import repack
from robosplice.plan.model import Plan


def repair(
    dataset: PathLike | Dataset,
    output_dir: PathLike,
    *,
    videos_dir: str | None = None,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: ProgressReporter | None = None,
) -> ConversionResult | ConversionPlan | Dataset | Plan:
    """Write a valid v3.0 form of `dataset` into `output_dir`, keeping what its author wrote.

    Returns the plan when `dry_run` (its `describe()` lists every repair), else the result.
    `videos_dir` reads a v2.x source's videos from another top folder than its video_path says
    (a refusal names the folder where same-named files were found).

    Raises:
        InvalidDatasetError: something cannot be decided from the files (each problem named).
        OutputExistsError: `output_dir` exists and `overwrite` is not set.

    Example:
        >>> repair("downloads/lab_dataset_v21", "data/lab_dataset")
    """
    source = _source_root(dataset)
    if read_version(source) in (V20, V21):
        return convert(
            source,
            output_dir,
            to="v3.0",
            repair=True,
            videos_dir=videos_dir,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=progress,
        )
    return repack(source, Path(output_dir), overwrite=overwrite, dry_run=dry_run, progress=progress)
