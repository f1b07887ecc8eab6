"""Run one episode edit with robosplice, in its own process.

Why a separate process per op: the benchmark reads the peak RSS of exactly this process (wait4
rusage), so nothing left over from earlier ops or from the harness inflates it. The JSON job / JSON
result contract is the same as `official_driver.py`.

Usage:  robosplice_driver.py JOB.json RESULT.json
    JOB: {"op": "delete"|"split"|"merge"|"trim", "sources": [path, ...], "output": path,
          "episodes": [int, ...] (delete), "fractions"|"lists": {name: ...} (split),
          "ranges": {"ep": [start, stop]} (trim)}
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
    """Import, then time the edit alone (the same boundary as the official driver)."""
    from robosplice.ops.delete import delete_episodes
    from robosplice.ops.merge import merge_datasets
    from robosplice.ops.split import split_dataset
    from robosplice.ops.trim import trim_episodes

    op = job["op"]
    sources = job["sources"]
    output = Path(job["output"])
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
