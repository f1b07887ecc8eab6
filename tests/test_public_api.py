"""The front door: what `import robosplice` offers is pinned, and matches the official names."""

from __future__ import annotations

import inspect

import robosplice

EXPECTED = {
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
    "apply",
    "aggregate_datasets",
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
}

# lerobot 0.6.1 dataset_tools: name → positional-or-keyword parameters with their defaults.
OFFICIAL = {
    "delete_episodes": [
        ("dataset", None),
        ("episode_indices", None),
        ("output_dir", None),
        ("repo_id", None),
    ],
    "split_dataset": [("dataset", None), ("splits", None), ("output_dir", None)],
    "merge_datasets": [
        ("datasets", None),
        ("output_repo_id", None),
        ("output_dir", None),
        ("concatenate_videos", True),
        ("concatenate_data", True),
    ],
    "modify_features": [
        ("dataset", None),
        ("add_features", None),
        ("remove_features", None),
        ("output_dir", None),
        ("repo_id", None),
    ],
    "add_features": [
        ("dataset", None),
        ("features", None),
        ("output_dir", None),
        ("repo_id", None),
    ],
    "remove_feature": [
        ("dataset", None),
        ("feature_names", None),
        ("output_dir", None),
        ("repo_id", None),
    ],
    "modify_tasks": [
        ("dataset", None),
        ("new_task", None),
        ("episode_tasks", None),
        ("task_replacements", None),
    ],
    "recompute_stats": [
        ("dataset", None),
        ("skip_image_video", True),
        ("relative_action", False),
        ("relative_exclude_joints", None),
        ("chunk_size", 50),
        ("num_workers", 0),
    ],
    "convert_image_to_video_dataset": [
        ("dataset", None),
        ("output_dir", None),
        ("repo_id", None),
        ("rgb_encoder", None),
        ("depth_encoder", None),
        ("episode_indices", None),
        ("num_workers", 4),
        ("max_episodes_per_batch", None),
        ("max_frames_per_batch", None),
    ],
    "reencode_dataset": [
        ("dataset", None),
        ("rgb_encoder", None),
        ("depth_encoder", None),
        ("encoder_threads", None),
        ("num_workers", None),
    ],
    "aggregate_datasets": [
        ("repo_ids", None),
        ("aggr_repo_id", None),
        ("roots", None),
        ("aggr_root", None),
        ("data_files_size_in_mb", None),
        ("video_files_size_in_mb", None),
        ("chunk_size", None),
        ("concatenate_videos", True),
        ("concatenate_data", True),
    ],
}


def test_exports_are_pinned():
    assert set(robosplice.__all__) == EXPECTED
    assert sorted(robosplice.__all__) == robosplice.__all__
    for name in robosplice.__all__:
        assert hasattr(robosplice, name), name


def test_official_positional_parameters_and_defaults():
    for name, expected in OFFICIAL.items():
        parameters = [
            p
            for p in inspect.signature(getattr(robosplice, name)).parameters.values()
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        ]
        got = [
            (p.name, None if p.default is inspect.Parameter.empty else p.default)
            for p in parameters
        ]
        assert got == expected, name


def test_errors_are_value_errors_where_the_official_raises_value_error():
    for error in (
        robosplice.SelectionError,
        robosplice.IncompatibleDatasetsError,
        robosplice.InvalidDatasetError,
    ):
        assert issubclass(error, ValueError)
        assert issubclass(error, robosplice.RobospliceError)


def test_ops_that_run_work_units_take_backend_and_workers_keywords():
    """`backend=`/`workers=` as the CLI's --backend/--workers (reencode, change_fps: num_workers)."""
    both = {
        "add_features",
        "aggregate_datasets",
        "apply",
        "delete_episodes",
        "filter_episodes",
        "merge_datasets",
        "modify_features",
        "modify_tasks",
        "recompute_stats",
        "remove_feature",
        "rename_feature",
        "repack",
        "split_dataset",
        "trim_episodes",
    }
    for name in both | {"reencode_dataset", "change_fps"}:
        parameters = inspect.signature(getattr(robosplice, name)).parameters
        for keyword in ("backend", "workers") if name in both else ("backend",):
            assert parameters[keyword].kind is inspect.Parameter.KEYWORD_ONLY, name
            assert parameters[keyword].default is None, name


def test_every_exception_is_defined_in_errors_and_drawn_in_its_tree():
    import robosplice.cli.app
    import robosplice.errors
    import robosplice.review.session  # imports the review page's errors too

    found, todo = set(), [robosplice.RobospliceError]
    while todo:
        error = todo.pop()
        found.add(error)
        todo.extend(error.__subclasses__())
    for error in found:
        assert error.__module__ == "robosplice.errors", (
            f"{error.__qualname__} in {error.__module__}"
        )
        assert error.__name__ in (robosplice.errors.__doc__ or ""), error.__name__
