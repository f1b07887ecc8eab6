"""Issue 22's many-episodes row: `validate` and delete 1 % of a 100,000-episode dataset against `cp -r`.

Why: with tens of thousands of short episodes, per-episode Python (not bytes) sets the cost of
an edit. The dataset comes from `make_many_episodes.py` (cached); each command runs as a child
whose wall time, CPU seconds (user + system, children included) and peak RSS come from wait4.

    python bench/bench_many_episodes.py                      # 100,000 episodes, serial backend
    python bench/bench_many_episodes.py --episodes 10000 --profile /tmp/prof

With `--profile DIR`, validate and delete also run once under cProfile (DIR/validate.prof,
DIR/delete.prof; `python -m pstats`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from make_many_episodes import ensure  # noqa: E402

CLI = str(Path(sys.executable).parent / "robosplice")
ROBOSPLICE = [sys.executable, CLI]


def measured(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `command`; wall s, CPU s (user + sys, reaped children too) and peak MiB from wait4."""
    began = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, env or dict(os.environ))
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - began
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(command[:6])} … exited {code}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--dataset", type=Path, default=None, help="default: the cached build")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args(argv)
    source = args.dataset or ensure(args.episodes)
    work = Path(tempfile.mkdtemp(prefix="many-", dir=args.workdir))
    env = {**os.environ, "ROBOSPLICE_NO_PROGRESS": "1"}
    deleted = ",".join(str(e) for e in range(0, args.episodes, 100))
    try:
        rows = {
            "cp -r": measured(["cp", "-r", str(source), str(work / "copy")]),
            "validate": measured([*ROBOSPLICE, "validate", str(source)], env),
            "delete 1 %": measured(
                [
                    *ROBOSPLICE,
                    "delete-episodes",
                    str(source),
                    str(work / "deleted"),
                    "--episodes",
                    deleted,
                    "--backend",
                    "serial",
                ],
                env,
            ),
        }
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(work / "deleted")
            profiled = [sys.executable, "-m", "cProfile", "-o"]
            app = [CLI]
            measured([*profiled, str(args.profile / "validate.prof"), *app, "validate",
                      str(source)], env)  # fmt: skip
            measured([*profiled, str(args.profile / "delete.prof"), *app, "delete-episodes",
                      str(source), str(work / "deleted"), "--episodes", deleted,
                      "--backend", "serial"], env)  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    copy = rows["cp -r"]["wall"]
    print(f"\n{args.episodes:,} episodes ({source})\n")
    print("| step | wall s | × cp -r | CPU s | peak MiB |")
    print("|---|---|---|---|---|")
    for name, row in rows.items():
        print(
            f"| {name} | {row['wall']:.2f} | {row['wall'] / copy:.1f} | {row['cpu']:.2f} "
            f"| {row['peak_mib']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
