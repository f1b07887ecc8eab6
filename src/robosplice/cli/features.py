"""Commands that edit features, tasks and stats: add/remove/rename a feature, tasks, stats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._edit import Edit, EditArgs, Outcome, edit_command
from robosplice.cli._options import InPlace
from robosplice.cli._parse import output_or_in_place

Source = Annotated[Path, typer.Argument(help="Dataset folder.")]
Output = Annotated[Path, typer.Argument(help="New dataset folder.")]
OptionalOutput = Annotated[Path | None, typer.Argument(help="New dataset folder.")]


@edit_command()
def add_feature_command(
    source: Source,
    output: Output,
    name: Annotated[str, typer.Argument(help="Name of the new feature.")],
    from_: Annotated[
        Path,
        typer.Option(
            "--from",
            help=".npy (one row per frame), .parquet, or a folder of per-episode .npy files.",
        ),
    ],
    column: Annotated[str | None, typer.Option(help="Column of a .parquet file.")] = None,
    dtype: Annotated[
        str | None, typer.Option(help="float32, int64, bool, string… (default: the array's).")
    ] = None,
    shape: Annotated[
        str | None, typer.Option(help="Per-frame shape, e.g. 1 or 2,3 (default: the array's).")
    ] = None,
    names: Annotated[
        str | None, typer.Option(help="Comma-separated names of the dimensions.")
    ] = None,
) -> Edit[Outcome]:
    """Add a per-frame feature from a file; its stats are computed."""
    from robosplice.cli._load import feature_info, load_feature_values
    from robosplice.dataset import open_dataset
    from robosplice.ops.features import add_features

    def edit(args: EditArgs) -> Outcome:
        dataset = open_dataset(source)
        lengths = [episode.length for episode in dataset.episodes]
        values = load_feature_values(from_, column=column, episode_lengths=lengths)
        info = feature_info(values, dtype=dtype, shape=shape, names=names)
        return add_features(dataset, {name: (values, info)}, output, **args)

    return edit


@edit_command()
def remove_feature_command(
    source: Source,
    output: Output,
    names: Annotated[list[str], typer.Argument(help="Features to remove (cameras too).")],
) -> Edit[Outcome]:
    """Remove features; a camera loses its video files, episode columns and stats."""
    from robosplice.ops.features import remove_feature

    return lambda args: remove_feature(source, names, output, **args)


@edit_command()
def rename_feature_command(
    source: Source,
    output: Output,
    old: Annotated[str, typer.Argument(help="Current name.")],
    new: Annotated[str, typer.Argument(help="New name.")],
) -> Edit[Outcome]:
    """Rename a feature; values, stats and video bytes are kept."""
    from robosplice.ops.features import rename_feature

    return lambda args: rename_feature(source, {old: new}, output, **args)


@edit_command()
def modify_tasks_command(
    source: Source,
    output: OptionalOutput = None,
    new_task: Annotated[
        str | None, typer.Option(help="Task of every episode not otherwise set.")
    ] = None,
    episode_task: Annotated[
        list[str] | None, typer.Option(help='EPISODE=TASK, e.g. 3="pick the cube".')
    ] = None,
    replace: Annotated[
        list[str] | None, typer.Option(help="OLD=NEW: replace an exact task string.")
    ] = None,
    replace_regex: Annotated[
        list[str] | None, typer.Option(help="REGEX=NEW: re.sub on matching tasks.")
    ] = None,
    in_place: InPlace = False,
) -> Edit[Outcome]:
    """Set or replace tasks (precedence: --episode-task > --replace > --new-task > original)."""
    from robosplice.cli._load import parse_episode_tasks, parse_replacements
    from robosplice.ops.tasks import modify_tasks

    return lambda args: modify_tasks(
        source,
        new_task,
        parse_episode_tasks(episode_task or []),
        parse_replacements(replace or [], replace_regex or []),
        output_dir=output_or_in_place(output, in_place),
        in_place=in_place,
        **args,
    )


@edit_command()
def recompute_stats_command(
    source: Source,
    output: OptionalOutput = None,
    include_images: Annotated[
        bool, typer.Option("--include-images", help="Also sample camera frames.")
    ] = False,
    relative_action: Annotated[
        bool, typer.Option(help="stats.json action relative to the state.")
    ] = False,
    chunk_size: Annotated[int, typer.Option(help="Action chunk size for --relative-action.")] = 50,
    exclude_joint: Annotated[
        list[str] | None, typer.Option(help="Joint kept absolute (default gripper).")
    ] = None,
    in_place: InPlace = False,
) -> Edit[Outcome]:
    """Recompute per-episode stats and stats.json (exact quantiles) from the data."""
    from robosplice.ops.stats import recompute_stats

    return lambda args: recompute_stats(
        source,
        skip_image_video=not include_images,
        relative_action=relative_action,
        relative_exclude_joints=exclude_joint,
        chunk_size=chunk_size,
        output_dir=output_or_in_place(output, in_place),
        in_place=in_place,
        **args,
    )
