"""The `robosplice` command line: parse, call the library, render. No logic lives here."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._errors import reported_errors
from robosplice.cli._execution import parallel_options
from robosplice.cli._help import FlagsAsFlags
from robosplice.cli._options import Debug, DryRun, Overwrite, Progress, Verbose
from robosplice.cli._progress import make_progress
from robosplice.cli.batch import batch_command

app = typer.Typer(
    name="robosplice",
    help="Fast, lossless, safe editing of LeRobot v3.0 datasets. Video is copied packet by"
    " packet; sources are never written.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=FlagsAsFlags,
)


def _setup(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")


def _finish(progress: object) -> None:
    close = getattr(progress, "close", None)
    if close is not None:
        close()


@app.command()
def info(
    root: Annotated[Path, typer.Argument(help="Dataset folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    debug: Debug = False,
) -> None:
    """Summarize a dataset: episodes, frames, features, cameras, tasks, files."""
    from robosplice.ops.info import dataset_info, render_info

    with reported_errors(debug):
        summary = dataset_info(root)
        typer.echo(json.dumps(summary, indent=2) if as_json else render_info(summary))


@app.command()
def validate(
    root: Annotated[Path, typer.Argument(help="Dataset folder.")],
    decode: Annotated[bool, typer.Option("--decode", help="Also decode every frame.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
    debug: Debug = False,
) -> None:
    """Check everything a loader or trainer would trip on. Exit 1 on errors (--strict: warnings)."""
    from robosplice.cli._validate import render_problems, validate_exit_code
    from robosplice.ops.validate import validate as validate_op

    with reported_errors(debug):
        problems = validate_op(root, decode=decode)
    typer.echo(render_problems(root, problems, as_json=as_json))
    raise typer.Exit(validate_exit_code(problems, strict=strict))


@app.command()
@parallel_options
def repack(
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
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Rewrite a dataset whole, e.g. to merge many small files into few (or the reverse)."""
    from robosplice.ops.repack import repack as repack_op

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        result = repack_op(
            source,
            output,
            data_files_size_in_mb=data_file_size_mb,
            video_files_size_in_mb=video_file_size_mb,
            chunks_size=chunk_size,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command()
def sample(
    output: Annotated[Path, typer.Argument(help="Folder to create.")],
    episodes: Annotated[int, typer.Option(help="Number of episodes.")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    overwrite: Overwrite = False,
    debug: Debug = False,
) -> None:
    """Write a small synthetic dataset (two video cameras, state/action, several tasks)."""
    from robosplice.ops.sample import write_sample

    with reported_errors(debug):
        dataset = write_sample(output, episodes=episodes, seed=seed, overwrite=overwrite)
    typer.echo(
        f"wrote {dataset.root}: {dataset.num_episodes} episodes, {dataset.num_frames} frames"
    )


app.command("batch")(batch_command)


def main() -> None:
    """Entry point of the `robosplice` script."""
    app()


InPlace = Annotated[
    bool,
    typer.Option("--in-place", help="Replace the source (atomic swap; old copy kept until done)."),
]


def _output_or_in_place(output: Path | None, in_place: bool) -> Path | None:
    if output is None and not in_place:
        raise typer.BadParameter("give an OUTPUT folder or --in-place")
    return output


def _report(result: object, dry_run: bool) -> None:
    if dry_run:
        from robosplice.engine.estimate import estimate_bytes

        typer.echo(result.describe())  # type: ignore[attr-defined]
        typer.echo(estimate_bytes(result).describe())  # type: ignore[arg-type]
    else:
        typer.echo(
            f"wrote {result.root}: {result.num_episodes} episodes, {result.num_frames} frames"  # type: ignore[attr-defined]
        )


@app.command("delete-episodes")
@parallel_options
def delete_episodes_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path | None, typer.Argument(help="New dataset folder.")] = None,
    episodes: Annotated[
        str, typer.Option("--episodes", "-e", help="Episodes to delete, e.g. 3,7,10-12.")
    ] = "",
    in_place: InPlace = False,
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Delete episodes; the rest are renumbered. Video packets are copied, never re-encoded."""
    from robosplice.cli._parse import parse_episode_list
    from robosplice.ops.delete import delete_episodes

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        result = delete_episodes(
            source,
            parse_episode_list(episodes),
            _output_or_in_place(output, in_place),
            in_place=in_place,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command("split-dataset")
@parallel_options
def split_dataset_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
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
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Split into OUTPUT/<name> per split (the last fraction takes the remainder)."""
    from robosplice.cli._parse import parse_split
    from robosplice.ops.split import split_dataset

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        results = split_dataset(
            source,
            parse_split(split),
            output,
            shuffle=shuffle or seed is not None,
            seed=seed,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    for result in results.values():
        _report(result, dry_run)


@app.command("merge-datasets")
@parallel_options
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
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Merge datasets (same fps, features and cameras); tasks are unioned."""
    from robosplice.cli._parse import parse_renames
    from robosplice.ops.merge import merge_datasets

    _setup(verbose)
    reporter = make_progress(progress)
    renames = parse_renames(rename or [])
    with reported_errors(debug):
        result = merge_datasets(
            sources,
            repo_id or f"local/{output.name}",
            output,
            concatenate_videos,
            concatenate_data,
            data_files_size_in_mb=data_file_size_mb,
            video_files_size_in_mb=video_file_size_mb,
            chunk_size=chunk_size,
            feature_renames=[renames.get(i) for i in range(len(sources))],
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command("trim-episodes")
@parallel_options
def trim_episodes_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path | None, typer.Argument(help="New dataset folder.")] = None,
    range_: Annotated[
        list[str],
        typer.Option(
            "--range",
            "-r",
            help="EPISODE:START:END, frames or seconds (3:15:240, 3:0.5s:8s, 3::200).",
        ),
    ] = [],  # noqa: B006 (typer needs a literal default)
    in_place: InPlace = False,
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Keep a frame range of some episodes (end exclusive); video cut by packet copy."""
    from robosplice.cli._parse import parse_trim_ranges
    from robosplice.dataset import open_dataset
    from robosplice.ops.trim import trim_episodes

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        dataset = open_dataset(source)
        ranges = parse_trim_ranges(range_, float(dataset.fps), [e.length for e in dataset.episodes])
        result = trim_episodes(
            dataset,
            ranges,
            _output_or_in_place(output, in_place),
            in_place=in_place,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command("filter-episodes")
@parallel_options
def filter_episodes_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path | None, typer.Argument(help="New dataset folder.")] = None,
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
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Keep the episodes matching every given criterion."""
    import re

    from robosplice.cli._parse import parse_episode_list
    from robosplice.ops.filter import filter_episodes

    _setup(verbose)
    reporter = make_progress(progress)
    matchers: list[str | re.Pattern[str]] = list(task or [])
    with reported_errors(debug):
        if task_regex:
            matchers.append(re.compile(task_regex))
        result = filter_episodes(
            source,
            episodes=parse_episode_list(episodes) if episodes else None,
            tasks=matchers or None,
            min_length=min_length,
            max_length=max_length,
            output_dir=_output_or_in_place(output, in_place),
            in_place=in_place,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command("add-feature")
def add_feature_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path, typer.Argument(help="New dataset folder.")],
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
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Add a per-frame feature from a file; its stats are computed."""
    from robosplice.cli._load import feature_info, load_feature_values
    from robosplice.dataset import open_dataset
    from robosplice.ops.features import add_features

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        dataset = open_dataset(source)
        lengths = [episode.length for episode in dataset.episodes]
        values = load_feature_values(from_, column=column, episode_lengths=lengths)
        info = feature_info(values, dtype=dtype, shape=shape, names=names)
        result = add_features(
            dataset,
            {name: (values, info)},
            output,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command("remove-feature")
def remove_feature_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path, typer.Argument(help="New dataset folder.")],
    names: Annotated[list[str], typer.Argument(help="Features to remove (cameras too).")],
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Remove features; a camera loses its video files, episode columns and stats."""
    from robosplice.ops.features import remove_feature

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        result = remove_feature(
            source, names, output, overwrite=overwrite, dry_run=dry_run, progress=reporter
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command("rename-feature")
def rename_feature_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path, typer.Argument(help="New dataset folder.")],
    old: Annotated[str, typer.Argument(help="Current name.")],
    new: Annotated[str, typer.Argument(help="New name.")],
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Rename a feature; values, stats and video bytes are kept."""
    from robosplice.ops.features import rename_feature

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        result = rename_feature(
            source, {old: new}, output, overwrite=overwrite, dry_run=dry_run, progress=reporter
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command("modify-tasks")
def modify_tasks_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path | None, typer.Argument(help="New dataset folder.")] = None,
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
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Set or replace tasks (precedence: --episode-task > --replace > --new-task > original)."""
    from robosplice.cli._load import parse_episode_tasks, parse_replacements
    from robosplice.ops.tasks import modify_tasks

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        result = modify_tasks(
            source,
            new_task,
            parse_episode_tasks(episode_task or []),
            parse_replacements(replace or [], replace_regex or []),
            output_dir=_output_or_in_place(output, in_place),
            in_place=in_place,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command("recompute-stats")
def recompute_stats_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path | None, typer.Argument(help="New dataset folder.")] = None,
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
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Recompute per-episode stats and stats.json (exact quantiles) from the data."""
    from robosplice.ops.stats import recompute_stats

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        result = recompute_stats(
            source,
            skip_image_video=not include_images,
            relative_action=relative_action,
            relative_exclude_joints=exclude_joint,
            chunk_size=chunk_size,
            output_dir=_output_or_in_place(output, in_place),
            in_place=in_place,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


Vcodec = Annotated[
    str | None, typer.Option(help="Video encoder, e.g. libsvtav1, h264, hevc (see the error list).")
]
Crf = Annotated[float | None, typer.Option(help="Quality (lower is better), e.g. 30.")]
Gop = Annotated[int | None, typer.Option("--g", help="Keyframe interval (GOP) in frames.")]
PixFmt = Annotated[str | None, typer.Option("--pix-fmt", help="Pixel format, e.g. yuv420p.")]
Workers = Annotated[int | None, typer.Option("--workers", help="Encoder threads (default: cores).")]


def _crf(value: float | None) -> int | float | None:
    return int(value) if value is not None and float(value).is_integer() else value


@app.command("images-to-video")
def images_to_video_command(
    source: Annotated[Path, typer.Argument(help="Image dataset folder.")],
    output: Annotated[Path, typer.Argument(help="New dataset folder.")],
    vcodec: Vcodec = None,
    crf: Crf = None,
    g: Gop = None,
    pix_fmt: PixFmt = None,
    episodes: Annotated[
        str | None, typer.Option("--episodes", "-e", help="Only these, e.g. 0-9,20.")
    ] = None,
    workers: Workers = None,
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Encode the observation.image* cameras into video (one encode per episode)."""
    from robosplice.cli._parse import parse_episode_list
    from robosplice.ops.convert import convert_image_to_video_dataset

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        result = convert_image_to_video_dataset(
            source,
            output,
            episode_indices=parse_episode_list(episodes) if episodes else None,
            num_workers=workers or 0,
            vcodec=vcodec,
            pix_fmt=pix_fmt,
            g=g,
            crf=_crf(crf),
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command("reencode")
def reencode_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path | None, typer.Argument(help="New dataset folder.")] = None,
    cameras: Annotated[
        str | None, typer.Option(help="Only these cameras, comma-separated (default: all).")
    ] = None,
    vcodec: Vcodec = None,
    crf: Crf = None,
    g: Gop = None,
    pix_fmt: PixFmt = None,
    size: Annotated[str | None, typer.Option(help="Scale to WIDTHxHEIGHT, e.g. 320x240.")] = None,
    workers: Workers = None,
    in_place: InPlace = False,
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Re-encode cameras with a new codec, quality, GOP, pixel format or size."""
    from robosplice.ops.convert import reencode_dataset

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        result = reencode_dataset(
            source,
            num_workers=workers,
            cameras=cameras,
            size=size,
            vcodec=vcodec,
            pix_fmt=pix_fmt,
            g=g,
            crf=_crf(crf),
            output_dir=_output_or_in_place(output, in_place),
            in_place=in_place,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


@app.command("change-fps")
def change_fps_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path, typer.Argument(help="New dataset folder.")],
    fps: Annotated[float, typer.Option("--fps", help="Target fps; must divide the source fps.")],
    workers: Workers = None,
    overwrite: Overwrite = False,
    dry_run: DryRun = False,
    progress: Progress = None,
    verbose: Verbose = False,
    debug: Debug = False,
) -> None:
    """Lower the frame rate by an integer factor (every k-th frame; videos re-encoded)."""
    from robosplice.ops.convert import change_fps

    _setup(verbose)
    reporter = make_progress(progress)
    with reported_errors(debug):
        result = change_fps(
            source,
            int(fps) if fps.is_integer() else fps,
            output_dir=output,
            num_workers=workers,
            overwrite=overwrite,
            dry_run=dry_run,
            progress=reporter,
        )
    _finish(reporter)
    _report(result, dry_run)


from robosplice.cli.apply import apply_command  # noqa: E402 (commands in their own modules)

app.command("apply")(apply_command)

from robosplice.cli.doctor import doctor_command  # noqa: E402

app.command("doctor")(doctor_command)

from robosplice.cli.review import review_command  # noqa: E402

app.command("review")(review_command)

from robosplice.cli.convert_version import register as _register_convert  # noqa: E402

_register_convert(app)

from robosplice.cli.repair import register as _register_repair  # noqa: E402

_register_repair(app)
