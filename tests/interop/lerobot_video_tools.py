"""Official lerobot 0.6.1 video tools, run in the interop venv (never imported by pytest).

    lerobot_video_tools.py convert SRC OUT [--vcodec V --crf N --g N --pix-fmt P --episodes 0,2]
    lerobot_video_tools.py record-depth OUT (--videos | --images)
    lerobot_video_tools.py record-images OUT --fixtures DIR [--lengths 20,34 --size 64x96]
    lerobot_video_tools.py dump-depth ROOT OUT.npz

`convert` runs the official `convert_image_to_video_dataset` and prints its wall time in seconds
on the last stdout line. `record-depth` writes a small dataset with one RGB and one depth camera
through the official recorder (`LeRobotDataset.create` / `add_frame` / `save_episode`).
`record-images` writes an image dataset with the recipe of tests/fixtures/datasets/make_fixtures.py
(noisy frames with identity blocks) but without the (2, 3) feature the official converter cannot
copy (its pandas writer fails on Array2D columns). `dump-depth` loads a dataset with the official loader (pyav, depth in mm) and saves every item's
depth frames (float32, 1xHxW), RGB frames (uint8 CHW), `episode_index` and `frame_index`.

Why a separate script: the tests run in another interpreter without torch or lerobot, and the
generic dump (lerobot_dump.py) expects frames in [0, 1], which depth frames are not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

DEPTH_KEY = "observation.images.depth"
RGB_KEY = "observation.images.front"
DEPTH_LENGTHS = (12, 9, 15)
HEIGHT, WIDTH = 48, 80
BITS = 10


def _isolate(tmp: Path) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HOME"] = str(tmp / "hf_home")
    os.environ["HF_DATASETS_CACHE"] = str(tmp / "hf_datasets")
    os.environ["HF_LEROBOT_HOME"] = str(tmp / "lerobot_home")
    os.environ.setdefault("TQDM_DISABLE", "1")


def depth_frame(episode: int, frame: int):
    """A smooth uint16 depth map in millimetres (0.5–3 m), different per episode and frame."""
    import numpy as np

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    return (500 + 20 * x + 10 * y + 37 * frame + 100 * episode).astype(np.uint16)[..., None]


def rgb_frame(episode: int, frame: int):
    """An RGB frame with identity blocks (fixtures/README.md)."""
    import numpy as np

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[..., 0] = (x * 3 + 5 * frame) % 256
    image[..., 1] = (y * 4 + 40 * episode) % 256
    image[..., 2] = 90
    for row, value in enumerate((episode, frame)):
        for bit in range(BITS):
            on = (value >> bit) & 1
            image[row * 8 : (row + 1) * 8, bit * 8 : (bit + 1) * 8] = 255 if on else 0
    return image


def record_depth(out: Path, use_videos: bool) -> None:
    import numpy as np
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dtype = "video" if use_videos else "image"
    features = {
        "observation.state": {"dtype": "float32", "shape": (2,), "names": None},
        RGB_KEY: {
            "dtype": dtype,
            "shape": (HEIGHT, WIDTH, 3),
            "names": ["height", "width", "channels"],
        },
        DEPTH_KEY: {
            "dtype": dtype,
            "shape": (HEIGHT, WIDTH, 1),
            "names": ["height", "width", "channels"],
            "info": {"is_depth_map": True},
        },
    }
    if out.exists():
        shutil.rmtree(out)
    dataset = LeRobotDataset.create(
        repo_id="interop/depth", fps=30, features=features, root=out, use_videos=use_videos
    )
    for episode, length in enumerate(DEPTH_LENGTHS):
        for frame in range(length):
            dataset.add_frame(
                {
                    "observation.state": np.array([episode, frame], np.float32),
                    RGB_KEY: rgb_frame(episode, frame),
                    DEPTH_KEY: depth_frame(episode, frame),
                    "task": ["reach", "grasp"][episode % 2],
                }
            )
        dataset.save_episode()
    dataset.finalize()


def dump_depth(root: Path, out: Path) -> None:
    import numpy as np
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset("interop/depth", root=root, video_backend="pyav")
    columns: dict[str, list] = {}
    for i in range(len(dataset)):
        item = dataset[i]
        for key in (DEPTH_KEY, RGB_KEY, "episode_index", "frame_index"):
            value = item[key].numpy()
            if key == RGB_KEY:
                value = np.rint(value * 255).astype(np.uint8)
            columns.setdefault(key, []).append(value)
    arrays = {key: np.stack(values) for key, values in columns.items()}
    arrays["meta/depth_keys"] = np.array(list(dataset.meta.depth_keys), dtype=np.str_)
    np.savez(out, **arrays)


def record_images(out: Path, fixtures: Path, lengths: list[int], size: tuple[int, int]) -> None:
    sys.path.insert(0, str(fixtures))
    from make_fixtures import build  # the shared fixtures' own recipe

    build(
        out.parent,
        out.name,
        cams={"observation.images.front": size},
        use_videos=False,
        lengths=lengths,
        seed=7,
        pose=False,
    )


def convert(src: Path, out: Path, args: argparse.Namespace) -> None:
    from lerobot.configs.video import RGBEncoderConfig
    from lerobot.datasets.dataset_tools import convert_image_to_video_dataset
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    encoder = RGBEncoderConfig(vcodec=args.vcodec, pix_fmt=args.pix_fmt, g=args.g, crf=args.crf)
    dataset = LeRobotDataset("interop/source", root=src)
    episodes = [int(e) for e in args.episodes.split(",")] if args.episodes else None
    start = time.perf_counter()
    convert_image_to_video_dataset(
        dataset,
        output_dir=out,
        repo_id="interop/converted",
        rgb_encoder=encoder,
        episode_indices=episodes,
    )
    print(f"{time.perf_counter() - start:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("convert")
    c.add_argument("src", type=Path)
    c.add_argument("out", type=Path)
    c.add_argument("--vcodec", default="libsvtav1")
    c.add_argument("--pix-fmt", default="yuv420p")
    c.add_argument("--g", type=int, default=2)
    c.add_argument("--crf", type=int, default=30)
    c.add_argument("--episodes", default="")
    r = commands.add_parser("record-depth")
    r.add_argument("out", type=Path)
    kind = r.add_mutually_exclusive_group(required=True)
    kind.add_argument("--videos", action="store_true")
    kind.add_argument("--images", action="store_true")
    i = commands.add_parser("record-images")
    i.add_argument("out", type=Path)
    i.add_argument("--fixtures", type=Path, required=True)
    i.add_argument("--lengths", default="20,34,27,41")
    i.add_argument("--size", default="64x96", help="HEIGHTxWIDTH")
    d = commands.add_parser("dump-depth")
    d.add_argument("root", type=Path)
    d.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="robosplice-lerobot-video-"))
    try:
        _isolate(tmp)
        if args.command == "convert":
            convert(args.src.resolve(), args.out.resolve(), args)
        elif args.command == "record-images":
            height, width = (int(v) for v in args.size.split("x"))
            lengths = [int(n) for n in args.lengths.split(",")]
            record_images(args.out.resolve(), args.fixtures.resolve(), lengths, (height, width))
        elif args.command == "record-depth":
            record_depth(args.out.resolve(), use_videos=args.videos)
        else:
            dump_depth(args.root.resolve(), args.out.resolve())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
