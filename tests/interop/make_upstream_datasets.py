"""Inputs for test_upstream_behaviours.py, recorded by the official lerobot 0.6.1, and a loader dump
that also understands depth cameras.

Two roles:

* Run with the interop venv's python (lerobot 0.6.1), as a script:

      make_upstream_datasets.py build OUT_DIR
      make_upstream_datasets.py dump-many SPEC.json

  `build` records every dataset of DATASETS under OUT_DIR with the official recorder
  (`LeRobotDataset.create` / `add_frame` / `save_episode` / `finalize`). `dump-many` loads many
  datasets with the official `LeRobotDataset` in one process (SPEC: a list of {"root", "out",
  "backend", "depth", "expect"}). A plain entry is dumped by lerobot_dump.dump itself (the exact
  .npz harness.load_with_lerobot returns). A depth entry keeps depth cameras as the loader returns
  them (float32 millimetres, 1xHxW; lerobot_dump rejects values outside [0, 1]) and adds
  `meta/depth_keys`, `meta/image_keys`, `meta/tasks`, the encoder config the official
  `encoder_config_from_video_info` rebuilds from each video key's info (`meta/encoder/<key>`) and,
  per `expect` entry "KEY=CLASS:JSON_KWARGS", the config that official class builds from those
  arguments (`meta/expected_encoder/<key>`). A failing entry leaves its traceback in OUT.err.

* Imported by the tests (robosplice's python, no lerobot): `recorded_datasets(python)` builds the
  set once per process; `load_batch(python, plain=..., depth=...)` loads many outputs in one
  loader process and caches the dumps, so that `harness.load_with_lerobot(root, backend)` and
  `load_with_depth(root, python, expect)` return them without starting the loader again.

Why batching: starting the official loader (torch + lerobot imports) costs 5-20 s per process on
the test machine, more than loading a small dataset; one process for a whole test module's
outputs keeps the tier fast. The loader, its arguments and the dump layout are unchanged.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# ------------------------------------------------------------------------------ what is recorded

FPS = 30
SAMPLE_CAMERA = "observation.images.top"
SAMPLE_SIZE = 32  # upstream uses 224x224; small keeps the tier fast, the behaviour is the same
RGB_CAMERAS = ("observation.images.laptop", "observation.images.phone")
DEPTH_CAMERA = "observation.images.laptop_depth"
HEIGHT, WIDTH = 64, 96  # the upstream factory's camera size
ID_BITS = 10

# name -> recipe. "sample*": the upstream `sample_dataset` recipe (image dataset, action (6),
# observation.state (4), one camera, tasks task_0/task_1 alternating). "video*": RGB + depth
# cameras as videos; "image*": the same cameras as images. Task lists cycle over episodes.
DATASETS: dict[str, dict[str, Any]] = {
    "sample": {"kind": "sample", "lengths": [10] * 5, "seed": 0},
    "sample_3ep": {"kind": "sample", "lengths": [10] * 3, "seed": 1},
    "sample_2ep_a": {"kind": "sample", "lengths": [10] * 2, "seed": 2},
    "sample_2ep_b": {"kind": "sample", "lengths": [10] * 2, "seed": 3},
    "video_a": {"kind": "video", "lengths": [12, 15, 9], "tasks": ["reach", "grasp"], "seed": 4},
    "video_b": {
        "kind": "video",
        "lengths": [10, 14, 8, 11],
        "tasks": ["grasp", "place"],
        "seed": 5,
    },
    "video_c": {"kind": "video", "lengths": [8, 6], "tasks": ["reach"], "seed": 6},
    "video_d": {"kind": "video", "lengths": [7, 9], "tasks": ["place", "reach"], "seed": 7},
    "image_a": {"kind": "image", "lengths": [6, 5, 7], "tasks": ["reach", "grasp"], "seed": 8},
    "image_b": {"kind": "image", "lengths": [5, 6, 4, 7], "tasks": ["grasp"], "seed": 9},
}

TIMEOUT_S = 1800


# --------------------------------------------------------------------- venv side: recording


def _isolate(tmp: Path) -> None:
    """Offline, private caches; must run before lerobot / datasets / huggingface_hub import."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HOME"] = str(tmp / "hf_home")
    os.environ["HF_DATASETS_CACHE"] = str(tmp / "hf_datasets")
    os.environ["HF_LEROBOT_HOME"] = str(tmp / "lerobot_home")
    os.environ.setdefault("TQDM_DISABLE", "1")


def _rgb_frame(rng: Any, episode: int, frame: int) -> Any:
    """Noisy RGB frame with identity blocks (episode in rows 0-7, frame in rows 8-15)."""
    import numpy as np

    image = rng.integers(0, 256, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)
    for row, value in enumerate((episode, frame)):
        for bit in range(ID_BITS):
            on = (value >> bit) & 1
            image[row * 8 : (row + 1) * 8, bit * 8 : (bit + 1) * 8] = 255 if on else 0
    return image


def _depth_frame(seed: int, episode: int, frame: int) -> Any:
    """A smooth uint16 depth map in millimetres, different per dataset, episode and frame."""
    import numpy as np

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    return (400 + 15 * x + 9 * y + 31 * frame + 90 * episode + 50 * seed).astype(np.uint16)[
        ..., None
    ]


def _record(root: Path, recipe: dict[str, Any]) -> None:
    import numpy as np
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    rng = np.random.default_rng(recipe["seed"])
    kind = recipe["kind"]
    if kind == "sample":
        features: dict[str, dict[str, Any]] = {
            "action": {"dtype": "float32", "shape": (6,), "names": None},
            "observation.state": {"dtype": "float32", "shape": (4,), "names": None},
            SAMPLE_CAMERA: {
                "dtype": "image",
                "shape": (SAMPLE_SIZE, SAMPLE_SIZE, 3),
                "names": ["height", "width", "channels"],
            },
        }
        tasks = ["task_0", "task_1"]
    else:
        dtype = "video" if kind == "video" else "image"
        camera = {
            "dtype": dtype,
            "shape": (HEIGHT, WIDTH, 3),
            "names": ["height", "width", "channels"],
        }
        features = {
            "action": {"dtype": "float32", "shape": (6,), "names": None},
            "observation.state": {"dtype": "float32", "shape": (6,), "names": None},
            # Wide enough that a few dozen rows exceed the upstream low-threshold data size.
            "observation.environment_state": {"dtype": "float32", "shape": (64,), "names": None},
            **{key: dict(camera) for key in RGB_CAMERAS},
            DEPTH_CAMERA: {
                "dtype": dtype,
                "shape": (HEIGHT, WIDTH, 1),
                "names": ["height", "width", "channels"],
                "info": {"is_depth_map": True},
            },
        }
        tasks = recipe["tasks"]
    dataset = LeRobotDataset.create(
        repo_id=f"upstream/{root.name}",
        fps=FPS,
        features=features,
        root=root,
        robot_type="dummy",
        use_videos=kind == "video",
    )
    for episode, length in enumerate(recipe["lengths"]):
        for frame in range(length):
            values: dict[str, Any] = {
                "action": rng.normal(size=6).astype(np.float32),
                "task": tasks[episode % len(tasks)],
            }
            if kind == "sample":
                values["observation.state"] = rng.normal(size=4).astype(np.float32)
                values[SAMPLE_CAMERA] = rng.integers(
                    0, 256, size=(SAMPLE_SIZE, SAMPLE_SIZE, 3), dtype=np.uint8
                )
            else:
                values["observation.state"] = rng.normal(size=6).astype(np.float32)
                values["observation.environment_state"] = rng.normal(size=64).astype(np.float32)
                for key in RGB_CAMERAS:
                    values[key] = _rgb_frame(rng, episode, frame)
                values[DEPTH_CAMERA] = _depth_frame(recipe["seed"], episode, frame)
            dataset.add_frame(values)
        dataset.save_episode()
    dataset.finalize()


def build(out: Path) -> None:
    for name, recipe in DATASETS.items():
        root = out / name
        if root.exists():
            shutil.rmtree(root)
        _record(root, recipe)


# ------------------------------------------------------------------------ venv side: dumping


def _encoder_json(config: Any) -> str:
    import dataclasses

    return json.dumps(
        {"class": type(config).__name__, **dataclasses.asdict(config)}, sort_keys=True
    )


def dump_many(entries: list[dict[str, Any]]) -> None:
    import traceback

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import lerobot_dump

    for entry in entries:
        root, out = Path(entry["root"]), Path(entry["out"])
        try:
            if entry["depth"]:
                dump_depth(root, out, entry["backend"], entry["expect"])
            else:
                lerobot_dump.dump(root, out, entry["backend"], f"robosplice-interop/{root.name}")
        except Exception:
            out.with_name(out.name + ".err").write_text(traceback.format_exc())


def dump_depth(root: Path, out: Path, backend: str, expects: list[str]) -> None:
    import lerobot
    import numpy as np
    import torch
    from lerobot import configs
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    torch.set_num_threads(1)
    dataset = LeRobotDataset(f"upstream/{root.name}", root=root, video_backend=backend)
    meta = dataset.meta
    depth_keys = set(meta.depth_keys)
    columns: dict[str, list[Any]] = {}
    for i in range(len(dataset)):
        item = dataset[i]
        if i == 0:
            columns = {key: [] for key in item}
        if set(item) != set(columns):
            raise RuntimeError(f"item {i} has keys {sorted(item)}, item 0 had {sorted(columns)}")
        for key, value in item.items():
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            if key in meta.camera_keys and key not in depth_keys:
                value = np.rint(np.asarray(value, np.float64) * 255.0).astype(np.uint8)
            columns[key].append(value)
    arrays: dict[str, Any] = {}
    for key, values in columns.items():
        if values and isinstance(values[0], str):
            arrays[key] = np.array(values, dtype=np.str_)
        else:
            arrays[key] = np.stack([np.asarray(v) for v in values])
    arrays["meta/len"] = np.array(len(dataset), dtype=np.int64)
    arrays["meta/num_episodes"] = np.array(dataset.num_episodes, dtype=np.int64)
    for name in ("camera_keys", "video_keys", "image_keys", "depth_keys"):
        arrays[f"meta/{name}"] = np.array(list(getattr(meta, name)), dtype=np.str_)
    arrays["meta/tasks"] = np.array(list(meta.tasks.index), dtype=np.str_)
    arrays["meta/lerobot_version"] = np.array(lerobot.__version__)
    for key in meta.video_keys:
        rebuilt = configs.encoder_config_from_video_info(meta.features[key].get("info"))
        arrays[f"meta/encoder/{key}"] = np.array(_encoder_json(rebuilt))
    for spec in expects:
        key, _, rest = spec.partition("=")
        cls_name, _, kwargs = rest.partition(":")
        config = getattr(configs, cls_name)(**json.loads(kwargs))
        arrays[f"meta/expected_encoder/{key}"] = np.array(_encoder_json(config))
    partial = out.with_name(out.name + ".partial.npz")
    np.savez(partial, **arrays)
    os.replace(partial, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build")
    b.add_argument("out", type=Path)
    d = commands.add_parser("dump-many")
    d.add_argument("spec", type=Path)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="robosplice-upstream-"))
    try:
        _isolate(tmp)
        if args.command == "build":
            build(args.out.resolve())
        else:
            dump_many(json.loads(args.spec.read_text()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


# ----------------------------------------------------------------------- pytest side (no lerobot)


def _run(python: Path, *args: str | Path) -> None:
    proc = subprocess.run(
        [str(python), str(Path(__file__).resolve()), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"make_upstream_datasets.py {args[0]} failed:\n{proc.stderr[-6000:]}")


@functools.cache
def recorded_datasets(python: Path) -> Path:
    """Folder holding every dataset of DATASETS, recorded once per process (read only: copy them)."""
    base = Path(tempfile.mkdtemp(prefix="robosplice-upstream-datasets-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    _run(python, "build", base)
    return base


Expect = dict[str, tuple[str, dict[str, Any]]]
DepthKey = tuple[str, str, str, tuple[str, ...]]
_DEPTH_DUMPS: dict[DepthKey, dict[str, Any]] = {}
_FAILURES: dict[DepthKey, str] = {}


def _expect_specs(expect: Expect | None) -> tuple[str, ...]:
    return tuple(
        f"{key}={cls}:{json.dumps(kwargs, sort_keys=True)}"
        for key, (cls, kwargs) in sorted((expect or {}).items())
    )


def _depth_key(root: Path, backend: str, specs: tuple[str, ...]) -> DepthKey:
    """Cache key of a depth dump: the tree's fingerprint as harness keys its own dumps."""
    from harness import _tree_fingerprint

    root = Path(root).resolve()
    return (str(root), _tree_fingerprint(root), backend, specs)


def load_batch(
    python: Path,
    *,
    plain: Sequence[Path | tuple[Path, str]] = (),
    depth: Mapping[Path | tuple[Path, str], Expect | None] | None = None,
    backend: str = "pyav",
) -> None:
    """Load every root in one official-loader process and cache the dumps.

    An entry (a `plain` item, a `depth` key) is a root, loaded with `backend`, or a (root,
    backend) pair; a depth entry maps to its `expect` (see load_with_depth). Plain roots land
    in harness.load_with_lerobot's cache (same key, same .npz content as its own subprocess
    would produce); depth roots in load_with_depth's. A root the loader fails on
    is not cached: load_with_lerobot then reruns it alone and raises its LerobotLoadError, and
    load_with_depth raises with the recorded traceback.
    """
    import harness
    import numpy as np

    depth = depth or {}
    with tempfile.TemporaryDirectory(prefix="robosplice-upstream-dumps-") as tmp:
        entries = []
        for number, entry in enumerate(plain):
            root, entry_backend = entry if isinstance(entry, tuple) else (entry, backend)
            root = Path(root).resolve()
            key = (str(root), entry_backend, None, harness._tree_fingerprint(root))
            out = Path(tmp) / f"{number}.npz"
            entries.append(("plain", key, root, out, entry_backend, ()))
        for number, (entry, expect) in enumerate(depth.items()):
            root, entry_backend = entry if isinstance(entry, tuple) else (entry, backend)
            specs = _expect_specs(expect)
            key = _depth_key(root, entry_backend, specs)
            out = Path(tmp) / f"d{number}.npz"
            entries.append(("depth", key, Path(root).resolve(), out, entry_backend, specs))
        spec = [
            {
                "root": str(root),
                "out": str(out),
                "backend": entry_backend,
                "depth": kind == "depth",
                "expect": list(specs),
            }
            for kind, _key, root, out, entry_backend, specs in entries
        ]
        (Path(tmp) / "spec.json").write_text(json.dumps(spec))
        _run(python, "dump-many", Path(tmp) / "spec.json")
        for kind, key, _root, out, _backend, _specs in entries:
            if not out.is_file():
                err = out.with_name(out.name + ".err")
                if kind == "depth":
                    _FAILURES[key] = err.read_text() if err.is_file() else "no dump written"
                continue
            with np.load(out, allow_pickle=False) as npz:
                items = {name: npz[name] for name in npz.files}
            if kind == "plain":
                harness._DUMP_CACHE[key] = items
            else:
                _DEPTH_DUMPS[key] = items


def load_with_depth(
    root: Path, python: Path, expect: Expect | None = None, *, backend: str = "pyav"
) -> dict[str, Any]:
    """Every item of `root` as the official loader returns it (depth in mm), plus meta/* entries.

    `expect` maps a video key to (official encoder config class name, keyword arguments): the
    dump then holds `meta/expected_encoder/<key>`, built by that class, next to
    `meta/encoder/<key>`, rebuilt from the dataset's info by the official code.
    """
    specs = _expect_specs(expect)
    key = _depth_key(root, backend, specs)
    if key in _FAILURES:
        raise RuntimeError(f"the official loader failed on {root}:\n{_FAILURES[key][-6000:]}")
    if key not in _DEPTH_DUMPS:
        load_batch(python, depth={Path(root): expect}, backend=backend)
        if key in _FAILURES:
            raise RuntimeError(f"the official loader failed on {root}:\n{_FAILURES[key][-6000:]}")
    return dict(_DEPTH_DUMPS[key])


def encoder_fields(items: dict[str, Any], key: str, *, expected: bool = False) -> dict[str, Any]:
    """An encoder config recorded in a depth dump (rebuilt from info, or the expected one)."""
    prefix = "meta/expected_encoder/" if expected else "meta/encoder/"
    return json.loads(str(items[prefix + key]))


if __name__ == "__main__":
    sys.exit(main())
