"""Benchmark `robosplice convert --to v3.0` against the official lerobot 0.6.1 converter and `cp -r`.

Same v2.1 input, same run, each tool on its own fresh copy:
- `cp -r` of the v2.1 folder: the I/O floor;
- `robosplice convert SRC OUT --to v3.0` as a CLI process (imports included);
- lerobot 0.6.1 `convert_dataset_v21_to_v30.convert_dataset(root=..., push_to_hub=False)` in the
  interop venv (scripts/interop-env.sh), timed as a whole process and without its imports;
- `robosplice convert OUT BACK --to v2.1` (no official counterpart; the ratio is against `cp -r`).

    python bench/bench_convert.py                    # 300 episodes x 30 frames, H.264 with B-frames
    python bench/bench_convert.py --episodes 1000 --length 60 --codec av1
    python bench/bench_convert.py --source DIR       # any v2.1 folder (never modified)

Prints a Markdown table (seconds, ratio to `cp -r`, robosplice's speed-up over the official tool).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
OFFICIAL = REPO / "tests" / "interop" / "official_convert_v21.py"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system: on a shared machine wall seconds follow the load,
    CPU seconds much less) of a command, and its stdout."""
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    return seconds, _children_cpu() - cpu, proc.stdout


def _size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="a v2.1 dataset (default: a synthetic one)")
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--length", type=int, default=30)
    parser.add_argument("--codec", default="h264", choices=["h264", "av1", "hevc"])
    parser.add_argument("--size", default="96x128", help="synthetic frames' HEIGHTxWIDTH")
    parser.add_argument(
        "--noise", type=int, default=0, help="synthetic per-pixel noise amplitude (0: flat frames)"
    )
    parser.add_argument("--no-official", action="store_true", help="skip the official converter")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="robosplice-bench-convert-"))
    try:
        if args.source:
            source = args.source.resolve()
        else:
            from v21_fixtures import synthetic_v21

            source = synthetic_v21(
                work / "v21",
                episodes=args.episodes,
                length=args.length,
                codec=args.codec,
                size=tuple(int(v) for v in args.size.split("x")),  # type: ignore[arg-type]
                noise=args.noise,
            )
        robosplice = str(Path(sys.executable).with_name("robosplice"))
        rows: list[tuple[str, float, float | None, str]] = []
        copy_s, copy_cpu, _ = _run(["cp", "-r", str(source), str(work / "copy")])
        rows.append(("cp -r (v2.1 folder)", copy_s, copy_cpu, ""))
        ours_s, ours_cpu, _ = _run(
            [
                robosplice,
                "convert",
                str(source),
                str(work / "ours"),
                "--to",
                "v3.0",
                "--no-progress",
            ]
        )
        rows.append(("robosplice convert --to v3.0", ours_s, ours_cpu, "process, imports included"))
        official_s = official_cpu = None
        if not args.no_official:
            python = subprocess.run(
                ["bash", str(REPO / "scripts" / "interop-env.sh")],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()[-1]
            shutil.copytree(source, work / "official")
            official_s, official_cpu, out = _run([python, str(OFFICIAL), str(work / "official")])
            inner = json.loads(out.strip().splitlines()[-1])
            rows.append(
                (
                    "official convert_dataset_v21_to_v30",
                    official_s,
                    official_cpu,
                    "process, imports included",
                )
            )
            rows.append(
                (
                    "  of which the conversion alone",
                    inner["seconds"],
                    inner.get("cpu_seconds"),
                    f"import {inner['import_seconds']:.1f} s",
                )
            )
        back_s, back_cpu, _ = _run(
            [
                robosplice,
                "convert",
                str(work / "ours"),
                str(work / "back"),
                "--to",
                "v2.1",
                "--no-progress",
            ]
        )
        rows.append(("robosplice convert --to v2.1 (back)", back_s, back_cpu, "no official tool"))
        info = json.loads((source / "meta/info.json").read_text())
        print(
            f"input: {info['total_episodes']} episodes, {info['total_frames']} frames,"
            f" {info.get('total_videos', 0)} mp4 files, {_size(source) / 2**20:.1f} MiB"
        )
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the end")
        print()
        print("| step | wall s | CPU s | × cp -r (wall) | official ÷ this (wall, CPU) | note |")
        print("|---|---:|---:|---:|---:|---|")
        for name, seconds, cpu, note in rows:
            speedup = ""
            if official_s and official_cpu and cpu and "--to v3.0" in name:
                speedup = f"{official_s / seconds:.1f}×, {official_cpu / cpu:.1f}×"
            cpu_text = f"{cpu:.2f}" if cpu is not None else ""
            print(
                f"| {name} | {seconds:.2f} | {cpu_text} | {seconds / copy_s:.1f} | {speedup}"
                f" | {note} |"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
