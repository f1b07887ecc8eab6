"""Benchmark `robosplice doctor`: wall time and peak memory on a large synthetic numeric dataset.

Why: doctor claims to read every episode (no sampling) with memory bounded by a row group plus an
episode. This writes (once, cached) a realistic synthetic dataset — smooth 14-joint trajectories with
sensor noise, pandas-style `list<float>` columns, no cameras — with a few injected defects, then runs
`doctor` in a fresh process and reports its time, its peak RSS, the findings per check, and the
baseline RSS of a process that only imports robosplice.

    python bench/bench_doctor.py                  # 1M frames (4000 episodes × 250), cached
    python bench/bench_doctor.py --frames 100000  # smaller
    python bench/bench_doctor.py --json

Peers (lerobot-doctor, robovet, rdq) are not run here yet; see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("ROBOSPLICE_BENCH_CACHE", Path.home() / ".cache/robosplice/bench"))
EPISODE_FRAMES = 250

_CHILD = r"""
import json, os, sys, time
def peak_mib():
    # VmHWM is per address space, so unlike ru_maxrss it does not inherit the parent's peak.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
t0 = time.perf_counter()
import robosplice
imported = time.perf_counter()
base = peak_mib()
if sys.argv[1] == "doctor":
    report = robosplice.doctor(sys.argv[2])
    counts = {}
    for finding in report.findings:
        counts[finding.check] = counts.get(finding.check, 0) + 1
else:
    counts = {}
done = time.perf_counter()
cpu = os.times()
print(json.dumps({"seconds": done - imported, "import_seconds": imported - t0,
                  "cpu_seconds": cpu.user + cpu.system,
                  "peak_rss_mib": peak_mib(), "import_rss_mib": base, "counts": counts}))
"""


def build(frames: int, root: Path) -> Path:
    """Write the dataset (cached by frame count) with one of each numeric defect."""
    if (root / "meta/info.json").exists():
        return root
    from robosplice.testing.synthetic import joint_names, realistic_episodes, write_numeric_dataset

    episodes = max(10, frames // EPISODE_FRAMES)
    data = realistic_episodes(
        episodes, dims=14, min_length=EPISODE_FRAMES, max_length=EPISODE_FRAMES, seed=3
    )
    data[1]["observation.state"][:] = data[1]["observation.state"][0]  # frozen
    data[1]["action"][:] = data[1]["action"][0]
    data[2]["observation.state"][:60] = data[2]["observation.state"][60]  # idle head
    data[2]["action"][:60] = data[2]["action"][60]
    data[3]["action"][100, 4] = np.nan  # NaN
    data[4]["observation.state"][120, 6] += 5.0  # spike
    data[episodes - 1] = {k: v.copy() for k, v in data[5].items()}  # duplicate
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        import shutil

        shutil.rmtree(partial)
    names = {"observation.state": joint_names(14), "action": joint_names(14)}
    write_numeric_dataset(partial, data, names=names, episodes_per_file=400)
    partial.rename(root)
    return root


def run_child(*args: str) -> dict[str, object]:
    output = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    root = CACHE / f"doctor_{args.frames}"
    started = time.perf_counter()
    build(args.frames, root)
    built = time.perf_counter() - started
    baseline = run_child("import")
    result = run_child("doctor", str(root))
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    row = {
        "frames": args.frames,
        "data_mib": round(size / 2**20, 1),
        "doctor_s": round(float(result["seconds"]), 2),
        "cpu_s": round(float(result["cpu_seconds"]), 2),
        "frames_per_s": round(args.frames / float(result["seconds"])),
        "peak_rss_mib": round(float(result["peak_rss_mib"]), 1),
        "import_only_rss_mib": round(float(baseline["peak_rss_mib"]), 1),
        "findings": result["counts"],
        "build_s": round(built, 1),
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(row, indent=2))
        return
    print(
        "| frames | data MiB | doctor wall s | CPU s | frames/s | peak RSS MiB"
        " | import-only RSS MiB | findings |"
    )
    print("|---|---|---|---|---|---|---|---|")
    found = ", ".join(f"{k} {v}" for k, v in sorted(row["findings"].items()))
    print(
        f"| {row['frames']:,} | {row['data_mib']} | {row['doctor_s']} | {row['cpu_s']} |"
        f" {row['frames_per_s']:,} |"
        f" {row['peak_rss_mib']} | {row['import_only_rss_mib']} | {found} |"
    )


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
