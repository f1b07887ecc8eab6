"""Dump every item of a dataset, as the official `LeRobotDataset` returns it, into an .npz file.

Run with the interop venv's python (lerobot 0.6.1), never imported by pytest:

    lerobot_dump.py ROOT OUT.npz --backend pyav|torchcodec [--repo-id X]

Why a dump: robosplice's tests run in another interpreter, without torch or lerobot. The dump is the
loader's exact view of the dataset, item by item, so the pytest side can compare it with plain numpy.

Layout of the npz:
  <feature key>         values stacked over all items (index order); camera frames as uint8 CHW,
                        i.e. round(x * 255) of the loader's float32 [0, 1] output; strings (`task`)
                        as a numpy unicode array
  meta/len              len(dataset)
  meta/num_episodes     dataset.num_episodes
  meta/camera_keys      meta.camera_keys (unicode array, possibly empty)
  meta/video_keys       meta.video_keys
  meta/backend          the video backend used
  meta/lerobot_version  lerobot.__version__
  meta/quant_residual/<camera key>  max |x*255 - round(x*255)| over all frames; ~0 unless the
                        loader returned something other than uint8/255 values
  meta/stored/<key>     a float64 feature's values in the loader's hf_dataset (its items hold
                        them as float32: `hf_transform_to_torch` calls torch.tensor on floats)

Any loader error propagates: non-zero exit status and a traceback on stderr.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "root", type=Path, help="dataset root (the folder holding meta/, data/, videos/)"
    )
    p.add_argument("out", type=Path, help="output .npz path")
    p.add_argument("--backend", required=True, choices=["pyav", "torchcodec"])
    p.add_argument(
        "--repo-id",
        default=None,
        help="repo_id passed to LeRobotDataset (default: robosplice-interop/<root name>, not on the Hub)",
    )
    return p.parse_args(argv)


def isolate_hf_environment(tmp: Path) -> None:
    """Offline, and caches in a private temp dir, so no run can see another run's Arrow cache.

    Must run before lerobot/datasets/huggingface_hub are imported: they read these at import time.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HOME"] = str(tmp / "hf_home")
    os.environ["HF_DATASETS_CACHE"] = str(tmp / "hf_datasets")
    os.environ["HF_LEROBOT_HOME"] = str(tmp / "lerobot_home")
    os.environ.setdefault("TQDM_DISABLE", "1")


def to_numpy(value: Any) -> Any:
    """Tensor → numpy; leave everything else (str, numbers) to np.asarray at stacking time."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def dump(root: Path, out: Path, backend: str, repo_id: str) -> None:
    """Load every item and write the npz (atomically: a partial file never has the final name)."""
    import lerobot
    import numpy as np
    import torch
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    torch.set_num_threads(1)  # the machine is small; the tier runs several of these in sequence
    ds = LeRobotDataset(repo_id, root=root, video_backend=backend)
    camera_keys = list(ds.meta.camera_keys)
    video_keys = list(ds.meta.video_keys)
    n = len(ds)

    columns: dict[str, list[Any]] = {}
    residual = dict.fromkeys(camera_keys, 0.0)
    for i in range(n):
        item = ds[i]
        if i == 0:
            columns = {k: [] for k in item}
        if set(item) != set(columns):
            raise RuntimeError(f"item {i} has keys {sorted(item)}, item 0 had {sorted(columns)}")
        for key, value in item.items():
            arr = to_numpy(value)
            if key in residual:
                scaled = np.asarray(arr, dtype=np.float64) * 255.0
                rounded = np.rint(scaled)
                residual[key] = max(residual[key], float(np.abs(scaled - rounded).max()))
                if rounded.min() < 0 or rounded.max() > 255:
                    raise RuntimeError(f"item {i} {key}: values outside [0, 1]")
                arr = rounded.astype(np.uint8)
            columns[key].append(arr)

    arrays: dict[str, Any] = {}
    for key, values in columns.items():
        if values and isinstance(values[0], str):
            arrays[key] = np.array(values, dtype=np.str_)
        else:
            arrays[key] = np.stack([np.asarray(v) for v in values])
    arrays["meta/len"] = np.array(n, dtype=np.int64)
    arrays["meta/num_episodes"] = np.array(ds.num_episodes, dtype=np.int64)
    arrays["meta/camera_keys"] = np.array(camera_keys, dtype=np.str_)
    arrays["meta/video_keys"] = np.array(video_keys, dtype=np.str_)
    arrays["meta/backend"] = np.array(backend)
    arrays["meta/lerobot_version"] = np.array(lerobot.__version__)
    for key, r in residual.items():
        arrays[f"meta/quant_residual/{key}"] = np.array(r, dtype=np.float64)
    for key, feature in ds.meta.features.items():
        if feature.get("dtype") == "float64":  # items narrow them (torch.tensor of floats)
            stored = ds.hf_dataset.data.column(key).to_pylist()
            arrays[f"meta/stored/{key}"] = np.asarray(stored, dtype=np.float64)

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial.npz")
    np.savez(partial, **arrays)
    os.replace(partial, out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = args.root.resolve()
    if not (root / "meta" / "info.json").is_file():
        # Without this the loader would quietly try the Hub (offline: a confusing error).
        raise FileNotFoundError(f"{root}/meta/info.json not found: not a dataset root")
    repo_id = args.repo_id or f"robosplice-interop/{root.name}"
    tmp = Path(tempfile.mkdtemp(prefix="robosplice-lerobot-dump-"))
    try:
        isolate_hf_environment(tmp)
        dump(root, args.out.resolve(), args.backend, repo_id)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
