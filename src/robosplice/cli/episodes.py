"""Commands that choose episodes and frames: repack, delete, split, merge, trim, filter."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._edit import Edit, EditArgs, Outcome, edit_command
from robosplice.cli._execution import parallel_options
from robosplice.cli._options import InPlace
from robosplice.cli._parse import (
    output_or_in_place,
    parse_episode_list,
    parse_renames,
    parse_split,
    parse_trim_ranges,
)

Source = Annotated[Path, typer.Argument(help="Dataset folder.")]
Output = Annotated[Path | None, typer.Argument(help="New dataset folder.")]


@parallel_options
@edit_command()
def repack_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder to read.")],
    output: Annotated[Path, typer.Argument(help="New dataset folder.")],
    data_file_size_mb: Annotated[
        float | None, typer.Option(help="Target data file size in MiB (default: keep).")
    ] = None,
    video_file_size_mb: Annotated[
        float | None, typer.Option(help="Target video file size in MiB (default: keep).")
    ] = None,
    chunk_size: Annotated[
        int | None, typer.Option(help="Files per chunk folder (default: keep).")
    ] = None,
) -> Edit[Outcome]:
    """Rewrite a dataset whole, e.g. to merge many small files into few (or the reverse)."""
    from robosplice.ops.repack import repack

    return lambda args: repack(
        source,
        output,
        data_files_size_in_mb=data_file_size_mb,
        video_files_size_in_mb=video_file_size_mb,
        chunks_size=chunk_size,
        **args,
    )


@parallel_options
@edit_command()
def delete_episodes_command(
    source: Source,
    output: Output = None,
    episodes: Annotated[
        str, typer.Option("--episodes", "-e", help="Episodes to delete, e.g. 3,7,10-12.")
    ] = "",
    in_place: InPlace = False,
) -> Edit[Outcome]:
    """Delete episodes; the rest are renumbered. Video packets are copied, never re-encoded."""
    from robosplice.ops.delete import delete_episodes

    return lambda args: delete_episodes(
        source,
        parse_episode_list(episodes),
        output_or_in_place(output, in_place),
        in_place=in_place,
        **args,
    )


@parallel_options
@edit_command()
def split_dataset_command(
    source: Source,
    output: Annotated[Path, typer.Argument(help="Folder that receives one dataset per split.")],
    split: Annotated[
        list[str],
        typer.Option(
            "--split",
            "-s",
            help="NAME=FRACTION (e.g. train=0.8) or NAME=EPISODES (e.g. val=40-49).",
        ),
    ],
    shuffle: Annotated[
        bool, typer.Option("--shuffle", help="Assign episodes to fractions at random.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option(help="Seed for --shuffle (reproducible splits).")
    ] = None,
) -> Edit[Outcome]:
    """Split into OUTPUT/<name> per split (the last fraction takes the remainder)."""
    from robosplice.ops.split import split_dataset

    return lambda args: split_dataset(
        source, parse_split(split), output, shuffle=shuffle or seed is not None, seed=seed, **args
    )


@parallel_options
@edit_command()
def merge_datasets_command(
    sources: Annotated[list[Path], typer.Argument(help="Dataset folders, in output order.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="New dataset folder.")],
    repo_id: Annotated[str | None, typer.Option(help="Repo id of the output.")] = None,
    rename: Annotated[
        list[str] | None,
        typer.Option(help="SOURCE_NUMBER:OLD=NEW feature rename for one source (0-based)."),
    ] = None,
    data_file_size_mb: Annotated[
        float | None, typer.Option(help="MiB per data file (default 100).")
    ] = None,
    video_file_size_mb: Annotated[
        float | None, typer.Option(help="MiB per video file (default 200).")
    ] = None,
    chunk_size: Annotated[
        int | None, typer.Option(help="Files per chunk folder (default 1000).")
    ] = None,
    concatenate_videos: Annotated[
        bool, typer.Option(help="Append sources' videos into shared files.")
    ] = True,
    concatenate_data: Annotated[
        bool, typer.Option(help="Append sources' data into shared files.")
    ] = True,
) -> Edit[Outcome]:
    """Merge datasets (same fps, features and cameras); tasks are unioned."""
    from robosplice.ops.merge import merge_datasets

    renames = parse_renames(rename or [])
    return lambda args: merge_datasets(
        sources,
        repo_id or f"local/{output.name}",
        output,
        concatenate_videos,
        concatenate_data,
        data_files_size_in_mb=data_file_size_mb,
        video_files_size_in_mb=video_file_size_mb,
        chunk_size=chunk_size,
        feature_renames=[renames.get(i) for i in range(len(sources))],
        **args,
    )


@parallel_options
@edit_command()
def trim_episodes_command(
    source: Source,
    output: Output = None,
    range_: Annotated[
        list[str],
        typer.Option(
            "--range",
            "-r",
            help="EPISODE:START:END, frames or seconds (3:15:240, 3:0.5s:8s, 3::200).",
        ),
    ] = [],  # noqa: B006 (typer needs a literal default)
    in_place: InPlace = False,
) -> Edit[Outcome]:
    """Keep a frame range of some episodes (end exclusive); video cut by packet copy."""
    from robosplice.dataset import open_dataset
    from robosplice.ops.trim import trim_episodes

    def edit(args: EditArgs) -> Outcome:
        dataset = open_dataset(source)
        lengths = [episode.length for episode in dataset.episodes]
        ranges = parse_trim_ranges(range_, float(dataset.fps), lengths)
        target = output_or_in_place(output, in_place)
        return trim_episodes(dataset, ranges, target, in_place=in_place, **args)

    return edit


@parallel_options
@edit_command()
def filter_episodes_command(
    source: Source,
    output: Output = None,
    episodes: Annotated[str | None, typer.Option(help="Keep only these, e.g. 0-9,20.")] = None,
    task: Annotated[
        list[str] | None, typer.Option(help="Keep episodes with this exact task.")
    ] = None,
    task_regex: Annotated[
        str | None, typer.Option(help="Keep episodes with a task matching this regex.")
    ] = None,
    min_length: Annotated[int | None, typer.Option(help="Minimum frames.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Maximum frames.")] = None,
    in_place: InPlace = False,
) -> Edit[Outcome]:
    """Keep the episodes matching every given criterion."""
    from robosplice.ops.filter import filter_episodes

    def edit(args: EditArgs) -> Outcome:
        matchers: list[str | re.Pattern[str]] = list(task or [])
        if task_regex:
            matchers.append(re.compile(task_regex))
        return filter_episodes(
            source,
            episodes=parse_episode_list(episodes) if episodes else None,
            tasks=matchers or None,
            min_length=min_length,
            max_length=max_length,
            output_dir=output_or_in_place(output, in_place),
            in_place=in_place,
            **args,
        )

    return edit
