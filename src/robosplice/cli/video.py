"""Commands that encode video: images-to-video, reencode, change-fps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from robosplice.cli._edit import Edit, Outcome, edit_command
from robosplice.cli._options import InPlace
from robosplice.cli._parse import output_or_in_place, parse_episode_list

Vcodec = Annotated[
    str | None, typer.Option(help="Video encoder, e.g. libsvtav1, h264, hevc (see the error list).")
]
Crf = Annotated[float | None, typer.Option(help="Quality (lower is better), e.g. 30.")]
Gop = Annotated[int | None, typer.Option("--g", help="Keyframe interval (GOP) in frames.")]
PixFmt = Annotated[str | None, typer.Option("--pix-fmt", help="Pixel format, e.g. yuv420p.")]
Workers = Annotated[int | None, typer.Option("--workers", help="Encoder threads (default: cores).")]


def _crf(value: float | None) -> int | float | None:
    return int(value) if value is not None and float(value).is_integer() else value


@edit_command()
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
) -> Edit[Outcome]:
    """Encode the observation.image* cameras into video (one encode per episode)."""
    from robosplice.ops.convert import convert_image_to_video_dataset

    return lambda args: convert_image_to_video_dataset(
        source,
        output,
        episode_indices=parse_episode_list(episodes) if episodes else None,
        num_workers=workers or 0,
        vcodec=vcodec,
        pix_fmt=pix_fmt,
        g=g,
        crf=_crf(crf),
        **args,
    )


@edit_command()
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
) -> Edit[Outcome]:
    """Re-encode cameras with a new codec, quality, GOP, pixel format or size."""
    from robosplice.ops.convert import reencode_dataset

    return lambda args: reencode_dataset(
        source,
        num_workers=workers,
        cameras=cameras,
        size=size,
        vcodec=vcodec,
        pix_fmt=pix_fmt,
        g=g,
        crf=_crf(crf),
        output_dir=output_or_in_place(output, in_place),
        in_place=in_place,
        **args,
    )


@edit_command()
def change_fps_command(
    source: Annotated[Path, typer.Argument(help="Dataset folder.")],
    output: Annotated[Path, typer.Argument(help="New dataset folder.")],
    fps: Annotated[float, typer.Option("--fps", help="Target fps; must divide the source fps.")],
    workers: Workers = None,
) -> Edit[Outcome]:
    """Lower the frame rate by an integer factor (every k-th frame; videos re-encoded)."""
    from robosplice.ops.convert import change_fps

    return lambda args: change_fps(
        source,
        int(fps) if fps.is_integer() else fps,
        output_dir=output,
        num_workers=workers,
        **args,
    )
