"""Datasets written by the official lerobot 0.6.1 *tools* (not only its recorder), as inputs for
test_official_outputs.py: every robosplice op must accept them and its outputs must load.

* Run with the interop venv's python (lerobot 0.6.1), as a script:

      make_official_outputs.py build OUT_DIR

  records two small video datasets and an image dataset with the official recorder
  (make_upstream_datasets.py recipes), then writes one dataset per official operation into
  OUT_DIR/<name> (see OUTPUTS) and a summary OUT_DIR/outputs.json ({name: what is unusual about
  it}). An operation that fails leaves its traceback in OUT_DIR/<name>.err instead.

* Imported by the tests (robosplice's python, no lerobot): `official_outputs(python)` builds the
  set once per process and returns the folder.

What each official output lacks or does differently (checked on 0.6.1, see also the README's
"Deliberate differences"; test_official_outputs.py asserts the repairs):

    delete, split:   written by pandas (one row group per file), `index`/`episode_index`/
                     `task_index` stats copied stale from the source episodes; tasks in set order.
    merge:           aggregate_datasets; per-episode index stats shifted, not recomputed.
    add_features:    new feature without per-episode stats columns.
    remove_feature:  the removed feature's `stats/*` columns stay in meta/episodes.
    modify_tasks:    in place; multi-task episodes collapsed; stats of task_index stale.
    image_to_video:  meta/episodes has no `tasks`, no `stats/*` columns and no
                     `meta/episodes/chunk_index`/`file_index`; stats.json has no camera stats.
    images_delete:   delete_episodes of an image dataset (input of robosplice images-to-video).
    reencode:        in place; only info.json's video info and the mp4 files change.
    depth_311:       a recorder dataset whose depth camera stats (stats.json and stats/*) have
                     shape (3, 1, 1) like lerobot's test factories write them (the camera has
                     1 channel); the official loader and aggregate_datasets accept it.
    depth_311_merged: aggregate_datasets of two such datasets.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent

# Recorded inputs (make_upstream_datasets.DATASETS recipes, smaller).
SOURCES: dict[str, dict[str, Any]] = {
    "video": {"kind": "video", "lengths": [5, 6, 4, 5], "tasks": ["reach", "grasp"], "seed": 4},
    "video_b": {"kind": "video", "lengths": [4, 3], "tasks": ["grasp", "place"], "seed": 5},
    "images": {"kind": "image", "lengths": [4, 5, 3], "tasks": ["reach", "grasp"], "seed": 1},
    # RGB only: 0.6.1's converter writes depth videos its own loader cannot seek (FrameTimestampError).
    "sample_images": {"kind": "sample", "lengths": [5, 6, 4], "seed": 2},
}
DEPTH_CAMERA = "observation.images.laptop_depth"
RGB_CAMERA = "observation.images.laptop"
REMOVED = "observation.environment_state"
REENCODE_RGB = {"vcodec": "h264", "g": 4, "crf": 28, "pix_fmt": "yuv420p"}
CONVERT_RGB = {"vcodec": "libsvtav1", "pix_fmt": "yuv420p", "g": 2, "crf": 30}
CONVERT_DEPTH = {"vcodec": "hevc", "g": 4, "crf": 20, "depth_max": 8.0}

# name -> (source recipe, how the output relates to it) for the tests' frame mapping.
OUTPUTS: dict[str, dict[str, Any]] = {
    "delete": {"source": "video", "episodes": [0, 2]},
    "split_train": {"source": "video", "episodes": [0, 2]},
    "split_val": {"source": "video", "episodes": [1, 3]},
    "merge": {"source": ["video", "video_b"], "episodes": None},
    "add_features": {"source": "video", "episodes": None, "added": ["reward"]},
    "remove_feature": {"source": "video", "episodes": None, "removed": [REMOVED]},
    "modify_tasks": {"source": "video", "episodes": None},
    "image_to_video": {"source": "sample_images", "episodes": None},
    "images_delete": {"source": "images", "episodes": [0, 2]},
    "reencode": {"source": "video", "episodes": None},
    "depth_311": {"source": "video", "episodes": None},
    "depth_311_merged": {"source": ["video", "video_b"], "episodes": None},
}
NEW_TASK = "tidy the table"
TIMEOUT_S = 1800


# --------------------------------------------------------------------------- venv side


def _factory_depth_stats(root: Path) -> None:
    """Give the depth camera (3, 1, 1) stats, as lerobot's test factories do for every camera.

    The values are the recorded 1-channel values repeated over 3 channels, in stats.json and in
    every meta/episodes `stats/<depth>/*` column (written back with pyarrow, schema kept).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    stats_path = root / "meta" / "stats.json"
    stats = json.loads(stats_path.read_text())
    for key, value in stats[DEPTH_CAMERA].items():
        if key != "count":
            stats[DEPTH_CAMERA][key] = np.broadcast_to(np.asarray(value), (3, 1, 1)).tolist()
    stats_path.write_text(json.dumps(stats, indent=4))
    prefix = f"stats/{DEPTH_CAMERA}/"
    for path in sorted((root / "meta" / "episodes").rglob("*.parquet")):
        table = pq.read_table(path)
        for i, name in enumerate(table.column_names):
            if not name.startswith(prefix) or name.endswith("/count"):
                continue
            cells = [
                np.broadcast_to(np.asarray(cell, dtype=np.float64), (3, 1, 1)).tolist()
                for cell in table.column(name).to_pylist()
            ]
            table = table.set_column(i, name, pa.array(cells, type=table.schema.field(i).type))
        pq.write_table(table, path)


def build(out: Path) -> None:
    import numpy as np
    from lerobot.configs.video import RGBEncoderConfig
    from lerobot.datasets import dataset_tools as tools
    from lerobot.datasets.aggregate import aggregate_datasets
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    sys.path.insert(0, str(_HERE))
    from make_upstream_datasets import _isolate, _record  # noqa: F401  (same recipes)

    out.mkdir(parents=True, exist_ok=True)
    recorded = out / "_recorded"
    for name, recipe in SOURCES.items():
        if not (recorded / name).exists():
            _record(recorded / name, recipe)

    def load(name: str, root: Path | None = None) -> Any:
        return LeRobotDataset(f"official/{name}", root=root or recorded / name)

    def copy(name: str, dest: Path) -> Path:
        shutil.copytree(recorded / name, dest)
        return dest

    def delete(dest: Path) -> None:
        tools.delete_episodes(load("video"), [1], output_dir=dest, repo_id="official/delete")

    def split(dest: Path) -> None:
        parts = tools.split_dataset(
            load("video"), {"train": [0, 2], "val": [1, 3]}, output_dir=dest.parent / "_split"
        )
        for part, name in (("train", "split_train"), ("val", "split_val")):
            shutil.move(str(parts[part].root), str(dest.parent / name))

    def merge(dest: Path) -> None:
        aggregate_datasets(
            ["official/video", "official/video_b"],
            "official/merge",
            roots=[recorded / "video", recorded / "video_b"],
            aggr_root=dest,
        )

    def add(dest: Path) -> None:
        length = load("video").meta.total_frames
        reward = np.linspace(0, 1, length, dtype=np.float32)
        tools.add_features(
            load("video"),
            {"reward": (reward, {"dtype": "float32", "shape": (1,), "names": None})},
            output_dir=dest,
            repo_id="official/add",
        )

    def remove(dest: Path) -> None:
        tools.remove_feature(load("video"), REMOVED, output_dir=dest, repo_id="official/remove")

    def modify(dest: Path) -> None:
        copy("video", dest)
        tools.modify_tasks(load("modify", dest), episode_tasks={1: NEW_TASK})

    def convert(dest: Path) -> None:
        tools.convert_image_to_video_dataset(
            load("sample_images"),
            output_dir=dest,
            repo_id="official/image_to_video",
            rgb_encoder=RGBEncoderConfig(**CONVERT_RGB),
            num_workers=1,
        )

    def delete_images(dest: Path) -> None:
        tools.delete_episodes(load("images"), [1], output_dir=dest, repo_id="official/images")

    def reencode(dest: Path) -> None:
        copy("video", dest)
        tools.reencode_dataset(load("reencode", dest), rgb_encoder=RGBEncoderConfig(**REENCODE_RGB))

    def depth_311(dest: Path) -> None:
        copy("video", dest)
        _factory_depth_stats(dest)

    def depth_311_merged(dest: Path) -> None:
        for name in ("video", "video_b"):
            _factory_depth_stats(copy(name, dest.parent / f"_311_{name}"))
        aggregate_datasets(
            ["official/a", "official/b"],
            "official/depth_311_merged",
            roots=[dest.parent / "_311_video", dest.parent / "_311_video_b"],
            aggr_root=dest,
        )

    makers = {
        "delete": delete,
        "split_train": split,
        "merge": merge,
        "add_features": add,
        "remove_feature": remove,
        "modify_tasks": modify,
        "image_to_video": convert,
        "images_delete": delete_images,
        "reencode": reencode,
        "depth_311": depth_311,
        "depth_311_merged": depth_311_merged,
    }
    for name, make in makers.items():
        dest = out / name
        try:
            make(dest)
        except Exception:
            (out / f"{name}.err").write_text(traceback.format_exc())
    (out / "outputs.json").write_text(json.dumps(OUTPUTS, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build")
    b.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="robosplice-official-"))
    try:
        sys.path.insert(0, str(_HERE))
        from make_upstream_datasets import _isolate

        _isolate(tmp)
        build(args.out.resolve())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


# ------------------------------------------------------------------ pytest side (no lerobot)


@functools.cache
def official_outputs(python: Path) -> Path:
    """Folder holding every official output (and `_recorded/<source>`), built once per process.

    Read only: copy a dataset before editing it in place.
    """
    import atexit

    base = Path(tempfile.mkdtemp(prefix="robosplice-official-outputs-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    proc = subprocess.run(
        [str(python), str(Path(__file__).resolve()), "build", str(base)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"make_official_outputs.py build failed:\n{proc.stderr[-6000:]}")
    return base


if __name__ == "__main__":
    sys.exit(main())
