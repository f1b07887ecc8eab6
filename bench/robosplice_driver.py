"""Run one edit with robosplice, in its own process.

Why a separate process per op: the benchmark reads the peak RSS of exactly this process (wait4
rusage), so nothing left over from earlier ops or from the harness inflates it. The JSON job / JSON
result contract is the same as `official_driver.py`.

Usage:  robosplice_driver.py JOB.json RESULT.json
    JOB: {"op": "delete"|"split"|"merge"|"trim"|"add_features"|"remove_feature"|"convert",
          "sources": [path, ...], "output": path,
          "episodes": [int, ...] (delete), "fractions"|"lists": {name: ...} (split),
          "ranges": {"ep": [start, stop]} (trim),
          "name": str, "values": path to a .npy, "info": {...} (add_features),
          "features": [name, ...] (remove_feature),
          "encoder": {"vcodec": str, "crf": int, "g": int}, "num_workers": int (convert)}
    RESULT: {"ok": bool, "seconds": float, "error": str | None}
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def run(job: dict[str, Any]) -> dict[str, Any]:
    """Import, then time the edit alone (the same boundary as the official driver).

    The added feature's values are loaded from their .npy before the clock starts: a caller
    already holds them in memory.
    """
    import numpy as np

    from robosplice.ops.convert import convert_image_to_video_dataset
    from robosplice.ops.delete import delete_episodes
    from robosplice.ops.features import add_features, remove_feature
    from robosplice.ops.merge import merge_datasets
    from robosplice.ops.split import split_dataset
    from robosplice.ops.trim import trim_episodes

    op = job["op"]
    sources = job["sources"]
    output = Path(job["output"])
    values = np.load(job["values"]) if op == "add_features" else None
    start = time.perf_counter()
    if op == "delete":
        delete_episodes(sources[0], job["episodes"], output)
    elif op == "split":
        split_dataset(sources[0], job.get("fractions") or job["lists"], output)
    elif op == "merge":
        merge_datasets(sources, "bench/merged", output)
    elif op == "trim":
        ranges = {int(ep): (start_, stop) for ep, (start_, stop) in job["ranges"].items()}
        trim_episodes(sources[0], ranges, output)
    elif op == "add_features":
        add_features(sources[0], {job["name"]: (values, job["info"])}, output)
    elif op == "remove_feature":
        remove_feature(sources[0], job["features"], output)
    elif op == "convert":
        convert_image_to_video_dataset(
            sources[0], output_dir=output, num_workers=job["num_workers"], **job["encoder"]
        )
    else:
        raise ValueError(f"unknown op {op!r}")
    return {"ok": True, "seconds": time.perf_counter() - start, "error": None}


def main(argv: list[str]) -> int:
    """Run the job; a failure is a result (with its error text), not a crash."""
    job_path, result_path = argv
    job = json.loads(Path(job_path).read_text())
    try:
        result = run(job)
    except Exception as exc:  # reported in the table instead of numbers
        traceback.print_exc()
        result = {"ok": False, "seconds": None, "error": f"{type(exc).__name__}: {exc}"}
    Path(result_path).write_text(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
