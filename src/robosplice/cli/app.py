"""The `robosplice` command line: every command, registered in one place, in the order of --help.

Each command lives in a module by what it touches (reports, episodes, features, video, apply, …) and
is a plain function; an editing command returns its op call and `@edit_command` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from robosplice.cli import episodes, features, reports, video
from robosplice.cli._help import FlagsAsFlags
from robosplice.cli.apply import apply_command
from robosplice.cli.batch import batch_command
from robosplice.cli.convert_version import convert_command
from robosplice.cli.doctor import doctor_command
from robosplice.cli.hub import pull_command, push_command
from robosplice.cli.repair import repair_command
from robosplice.cli.review import review_command

app = typer.Typer(
    name="robosplice",
    help="Fast, lossless, safe editing of LeRobot v3.0 datasets. Video is copied packet by"
    " packet; sources are never written.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=FlagsAsFlags,
)

COMMANDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("info", reports.info_command),
    ("validate", reports.validate_command),
    ("repack", episodes.repack_command),
    ("sample", reports.sample_command),
    ("batch", batch_command),
    ("delete-episodes", episodes.delete_episodes_command),
    ("split-dataset", episodes.split_dataset_command),
    ("merge-datasets", episodes.merge_datasets_command),
    ("trim-episodes", episodes.trim_episodes_command),
    ("filter-episodes", episodes.filter_episodes_command),
    ("add-feature", features.add_feature_command),
    ("remove-feature", features.remove_feature_command),
    ("rename-feature", features.rename_feature_command),
    ("modify-tasks", features.modify_tasks_command),
    ("recompute-stats", features.recompute_stats_command),
    ("images-to-video", video.images_to_video_command),
    ("reencode", video.reencode_command),
    ("change-fps", video.change_fps_command),
    ("apply", apply_command),
    ("doctor", doctor_command),
    ("review", review_command),
    ("convert", convert_command),
    ("repair", repair_command),
    ("pull", pull_command),
    ("push", push_command),
)
for name, command in COMMANDS:
    app.command(name)(command)


def main() -> None:
    """Entry point of the `robosplice` script (hf:// datasets work as SRC and OUT)."""
    import sys

    from robosplice.cli._allocator import use_system_allocator
    from robosplice.cli.hub import run_with_hub_paths

    use_system_allocator()
    sys.exit(run_with_hub_paths(app, sys.argv[1:]))
