"""Run one edit with the official `lerobot.datasets.dataset_tools` (lerobot 0.6.1).

Why a separate script: lerobot needs Python >= 3.12, torch and friends, so it lives in the interop
venv and `bench_edits.py` runs this file there, one op per process, to measure its time and memory.
The same JSON job / JSON result contract as `robosplice_driver.py` keeps the two sides comparable.

Usage (venv python):  official_driver.py JOB.json RESULT.json
    JOB: {"op": "delete"|"split"|"merge"|"add_features"|"remove_feature"|"convert",
          "sources": [path, ...], "output": path,
          "episodes": [int, ...] (delete), "fractions": {name: float} (split),
          "name": str, "values": path to a .npy, "info": {...} (add_features),
          "features": [name, ...] (remove_feature),
          "encoder": {"vcodec": str, "crf": int, "g": int}, "num_workers": int (convert)}
    RESULT: {"ok": bool, "seconds": float, "load_seconds": float, "version": str,
             "error": str | None}
There is no official trim, so the benchmark never asks for one.
Set HF_HUB_OFFLINE=1 and a throwaway HF_HOME in the environment; the caller does.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def _load(sources: list[str]) -> list[Any]:
    """Open every source the way a user of the official API would: a LeRobotDataset on a local root."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return [LeRobotDataset(f"bench/source{i}", root=path) for i, path in enumerate(sources)]


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Import, load and edit, timing the load and the edit (imports excluded: torch is slow to import)."""
    import lerobot
    import numpy as np
    from lerobot.configs.video import RGBEncoderConfig
    from lerobot.datasets import dataset_tools

    op = job["op"]
    output = Path(job["output"])
    values = np.load(job["values"]) if op == "add_features" else None  # held in memory by a caller
    start = time.perf_counter()
    datasets = _load(job["sources"])
    loaded = time.perf_counter()
    if op == "delete":
        dataset_tools.delete_episodes(
            datasets[0], job["episodes"], output_dir=output, repo_id="bench/deleted"
        )
    elif op == "split":
        dataset_tools.split_dataset(datasets[0], job["fractions"], output_dir=output)
    elif op == "merge":
        dataset_tools.merge_datasets(datasets, "bench/merged", output_dir=output)
    elif op == "add_features":
        features = {job["name"]: (values, job["info"])}
        dataset_tools.add_features(datasets[0], features, output_dir=output)
    elif op == "remove_feature":
        dataset_tools.remove_feature(datasets[0], job["features"], output_dir=output)
    elif op == "convert":
        dataset_tools.convert_image_to_video_dataset(
            datasets[0],
            output_dir=output,
            rgb_encoder=RGBEncoderConfig(**job["encoder"]),
            num_workers=job["num_workers"],
        )
    else:
        raise ValueError(f"unknown op {op!r}")
    done = time.perf_counter()
    return {
        "ok": True,
        "seconds": done - start,
        "load_seconds": loaded - start,
        "version": lerobot.__version__,
        "error": None,
    }


def main(argv: list[str]) -> int:
    """Run the job; a failure of the tool is a result (with its error text), not a crash."""
    job_path, result_path = argv
    job = json.loads(Path(job_path).read_text())
    try:
        result = run(job)
    except Exception as exc:  # the tool's own failure is what we report
        traceback.print_exc()
        result = {"ok": False, "seconds": None, "error": f"{type(exc).__name__}: {exc}"}
    Path(result_path).write_text(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
