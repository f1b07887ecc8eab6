"""robosplice: fast, lossless, safe editing of LeRobot v3.0 datasets.

The functions keep the names and arguments of `lerobot.datasets.dataset_tools`; robosplice's own
options are keyword-only. See README.md for a tour.
"""

from __future__ import annotations

from robosplice.dataset import Dataset, open_dataset
from robosplice.engine.backends import execution
from robosplice.errors import (
    DatasetError,
    DatasetNotFoundError,
    IncompatibleDatasetsError,
    InvalidBackendError,
    InvalidDatasetError,
    OutputExistsError,
    OutputLockedError,
    Problem,
    RecipeError,
    RobospliceError,
    SelectionError,
    SourceMismatchError,
    UnitFailedError,
    UnsupportedVersionError,
    VideoError,
)
from robosplice.ops.apply import apply
from robosplice.ops.convert import change_fps, convert_image_to_video_dataset, reencode_dataset
from robosplice.ops.convert_version import convert
from robosplice.ops.delete import delete_episodes
from robosplice.ops.doctor import DoctorReport, doctor
from robosplice.ops.features import (
    add_features,
    modify_features,
    remove_feature,
    rename_feature,
)
from robosplice.ops.filter import filter_episodes
from robosplice.ops.info import dataset_info
from robosplice.ops.merge import aggregate_datasets, merge_datasets
from robosplice.ops.repack import repack
from robosplice.ops.repair import repair
from robosplice.ops.sample import write_sample
from robosplice.ops.split import split_dataset
from robosplice.ops.stats import recompute_stats
from robosplice.ops.tasks import modify_tasks
from robosplice.ops.trim import trim_episodes
from robosplice.ops.validate import validate
from robosplice.plan.model import Plan
from robosplice.recipe import Recipe

__version__ = "0.1.0"

open = open_dataset

__all__ = [
    "Dataset",
    "DatasetError",
    "DatasetNotFoundError",
    "DoctorReport",
    "IncompatibleDatasetsError",
    "InvalidBackendError",
    "InvalidDatasetError",
    "OutputExistsError",
    "OutputLockedError",
    "Plan",
    "Problem",
    "Recipe",
    "RecipeError",
    "RobospliceError",
    "SelectionError",
    "SourceMismatchError",
    "UnitFailedError",
    "UnsupportedVersionError",
    "VideoError",
    "__version__",
    "add_features",
    "aggregate_datasets",
    "apply",
    "change_fps",
    "convert",
    "convert_image_to_video_dataset",
    "dataset_info",
    "delete_episodes",
    "doctor",
    "execution",
    "filter_episodes",
    "merge_datasets",
    "modify_features",
    "modify_tasks",
    "open",
    "open_dataset",
    "recompute_stats",
    "reencode_dataset",
    "remove_feature",
    "rename_feature",
    "repack",
    "repair",
    "split_dataset",
    "trim_episodes",
    "validate",
    "write_sample",
]
