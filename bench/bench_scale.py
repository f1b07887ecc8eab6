"""Scale benchmark: edits of a ≥ 1 GB multi-camera dataset against `cp -r`, per backend.

Why: robosplice aims to edit at the speed of copying bytes, on every core, and on a Ray cluster
with byte-identical output. This script measures that in one run and prints Markdown tables:

- delete 10 %, split 80/20, merge (the dataset with itself), trim (10 frames off each end) and
  repack (100 MB video files) of a dataset built by merging a sample with itself until it
  reaches `--size-gb` (several video files per camera), each timed against `cp -r` of the same
  output bytes, with the tool's own peak RSS (wait4, through bench_edits' launcher);
- the same ops with the `serial`, `process` (2 workers) and `ray` (local, 2 CPUs) backends side
  by side, and whether every backend wrote the same bytes (edit log aside);
- peak memory at ¼ of the size against the full size (flat = memory does not grow with data);
- delete 10 % on the 60-episode base dataset against the official lerobot 0.6.1 tool.

    python bench/bench_scale.py                      # builds /tmp/robosplice-scale (deleted after)
    python bench/bench_scale.py --base DIR --keep    # reuse a base dataset; keep the work folder
    python bench/bench_scale.py --backends serial,process --size-gb 0.3

Everything is written under `--workdir` (default /tmp/robosplice-scale) and removed at the end
unless `--keep`. Sources are never modified.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from bench_edits import (  # noqa: E402
    OFFICIAL_DRIVER,
    default_official_python,
    log,
    run_driver,
    time_cp,
    tool_env,
)

# bench_edits' launcher, plus CPU seconds of every process the run started. The launcher makes
# itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER): a process orphaned below it (a pool
# worker of the forkserver, which exits without reaping them; a Ray worker whose raylet is gone)
# is re-parented to it, not to init, and reaped by it. The kernel adds a process's user + system
# time to its parent's when the parent reaps it (with the times of the children it reaped), so
# once the launcher has reaped the driver and every orphan, RUSAGE_CHILDREN holds the CPU time of
# the whole tree, each process once. One hole: a parent that ignores SIGCHLD (Ray's raylet does)
# lets the kernel drop its children's times when they exit. So the launcher also reads, every
# 0.2 s, the times of each live child of such a parent (/proc), and adds the last reading of the
# ones that went without it reaping them: exact but for their last 0.2 s (Ray's workers sit idle
# at the end). Peak RSS stays the driver's own (wait4: the maximum of it and what it reaped).
LAUNCHER = """\
import ctypes, os, resource, signal, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
driver = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
TICK, me = os.sysconf("SC_CLK_TCK"), os.getpid()
seen, reaped, ended, deadline = {}, set(), None, None

def poll():
    table = {}
    for entry in os.listdir("/proc"):
        try:
            stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            table[int(entry)] = (int(stat[1]), (int(stat[11]) + int(stat[12])) / TICK)
        except (OSError, ValueError, IndexError):
            continue
    below, frontier = set(), {me}
    while frontier:
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier} - below
        below |= frontier
    for pid in below:
        parent = table[pid][0]
        try:
            status = open(f"/proc/{parent}/status").read()
        except OSError:
            continue
        ignored = int(status.split("SigIgn:")[1].split()[0], 16)
        if parent != me and ignored >> (signal.SIGCHLD - 1) & 1:
            seen[pid] = table[pid][1]

while True:
    try:
        pid, status, usage = os.wait4(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid == driver:
        ended, deadline = (status, usage), time.monotonic() + 60
    elif pid:
        reaped.add(pid)
    else:
        if deadline and time.monotonic() > deadline:
            for line in os.popen(f"ps -o pid= --ppid {me}").read().split():
                os.kill(int(line), signal.SIGKILL)
        poll()
        time.sleep(0.2)
status, usage = ended
tree = resource.getrusage(resource.RUSAGE_CHILDREN)
lost = sum(seconds for pid, seconds in seen.items() if pid not in reaped)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
    out.write(f" {usage.ru_utime + usage.ru_stime} {tree.ru_utime + tree.ru_stime + lost} {lost}")
"""


def run_measured(
    job: dict[str, Any], tag: str, workdir: Path, env: dict[str, str]
) -> dict[str, Any]:
    """Run this script as a driver on `job`; its result plus peak MiB and CPU seconds (of the
    driver and the children it reaped, and of every process of the run)."""
    job_path, result_path = workdir / f"{tag}.job.json", workdir / f"{tag}.result.json"
    usage_path = workdir / f"{tag}.rusage"
    job_path.write_text(json.dumps(job))
    command = [sys.executable, str(Path(__file__)), str(job_path), str(result_path)]
    with (workdir / f"{tag}.log").open("wb") as sink:
        subprocess.run(
            [sys.executable, "-S", "-c", LAUNCHER, str(usage_path), *command],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
            check=True,
        )
    _, maxrss, driver_cpu, tree_cpu, unreaped_cpu = usage_path.read_text().split()
    result = json.loads(result_path.read_text()) if result_path.is_file() else {"ok": False}
    result.setdefault("error", "no result (see the log)")
    return {
        **result,
        "peak_mib": int(maxrss) / 1024,
        "driver_cpu_seconds": float(driver_cpu),
        "cpu_seconds": float(tree_cpu),
        "unreaped_cpu_seconds": float(unreaped_cpu),
    }


MIB = 1024 * 1024
OPS = ("delete", "split", "merge", "trim", "repack")
CAMERAS = (
    ("observation.images.front", 240, 320),
    ("observation.images.wrist", 240, 320),
    ("observation.images.side", 240, 320),
)


# --- driver (runs in its own process, one op) ------------------------------------------------------


def drive(job_path: str, result_path: str) -> int:
    """Run one op with the job's backend; write {"ok", "seconds", "error"}."""
    job = json.loads(Path(job_path).read_text())
    from robosplice.cli._allocator import use_system_allocator
    from robosplice.dataset import Dataset
    from robosplice.engine.backends import execution
    from robosplice.ops.delete import delete_episodes
    from robosplice.ops.merge import merge_datasets
    from robosplice.ops.repack import repack
    from robosplice.ops.split import split_dataset
    from robosplice.ops.trim import trim_episodes

    source, out, op = job["source"], Path(job["output"]), job["op"]
    result: dict[str, Any] = {"ok": False, "seconds": None, "error": None}
    phases = _time_phases() if job["backend"] == "serial" else {}
    use_system_allocator()  # as the `robosplice` command does
    try:
        if job["backend"] == "ray":
            import ray

            ray.init(num_cpus=job["workers"], include_dashboard=False, log_to_driver=False)
        dataset = Dataset(source)
        start = time.perf_counter()
        with execution(job["backend"], job["workers"]):
            if op == "delete":
                delete_episodes(source, list(range(0, dataset.num_episodes, 10)), out)
            elif op == "split":
                split_dataset(source, {"train": 0.8, "val": 0.2}, out)
            elif op == "merge":
                merge_datasets([source, source], "bench/merged", out)
            elif op == "trim":
                ranges = {e.episode_index: (10, e.length - 10) for e in dataset.episodes}
                trim_episodes(source, ranges, out)
            elif op == "repack":
                repack(source, out, video_files_size_in_mb=100)
        result.update(ok=True, seconds=time.perf_counter() - start, phases=phases)
        if job["backend"] == "ray":  # a cross-check of the launcher's count (see LAUNCHER)
            result["ray_processes_cpu_seconds"] = descendants_cpu_seconds()
    except Exception as exc:
        import traceback

        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
    Path(result_path).write_text(json.dumps(result))
    return 0 if result["ok"] else 1


def descendants_cpu_seconds() -> dict[str, float]:
    """User + system seconds so far of each live process below this one, summed by name (from
    /proc: Ray's raylet and GCS, its workers `ray::…`), before Ray shuts them down."""
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            name, fields = (
                text[text.index("(") + 1 : text.rindex(")")],
                text[text.rindex(")") + 2 :],
            )
            stats[int(entry.name)] = [name, *fields.split()]
            parents[int(entry.name)] = int(stats[int(entry.name)][2])
    below, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - below
        below |= frontier
    ticks = os.sysconf("SC_CLK_TCK")
    seconds: dict[str, float] = {}
    for pid in below:
        name, *fields = stats[pid]
        # fields from the state on: utime and stime are the 12th and 13th (stat(5) fields 14, 15)
        seconds[name] = seconds.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return seconds


def _time_phases() -> dict[str, float]:
    """Wrap the phases of an edit so a serial run reports where its time goes (seconds):
    pre-flight validation, video copy units, frame-stats units; the rest is rows, stats,
    metadata and publishing."""
    import robosplice.engine.run as engine_run
    import robosplice.ops._run as op_run

    phases = dict.fromkeys(("preflight", "video copy", "frame stats"), 0.0)

    def timed(module: Any, name: str, phase: str) -> None:
        original = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases[phase] += time.perf_counter() - started

        setattr(module, name, wrapper)

    timed(op_run, "check_sources", "preflight")
    timed(engine_run, "copy_camera", "video copy")
    timed(engine_run, "frame_stats", "frame stats")
    return phases


# --- harness ---------------------------------------------------------------------------------------


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def tree_hash(root: Path) -> str:
    """One sha256 over every file but the edit log (which records times)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.as_posix().endswith("meta/robosplice/history.jsonl"):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            with path.open("rb") as handle:
                while chunk := handle.read(8 * MIB):
                    digest.update(chunk)
    return digest.hexdigest()[:12]


def build_base(target: Path, episodes: int) -> Path:
    from robosplice.ops.sample import write_sample

    if target.is_dir():  # a kept work folder (--keep): a published sample is complete
        log(f"reusing {target}")
        return target

    log(f"writing the base sample ({episodes} episodes, {len(CAMERAS)} cameras)")
    write_sample(
        target,
        episodes=episodes,
        cameras=CAMERAS,
        min_length=150,
        max_length=250,
        video_files_size_in_mb=3,
    )
    return target


def grow(base: Path, workdir: Path, size_gb: float) -> list[Path]:
    """Merge the dataset with itself until it reaches `size_gb`; return every size built."""
    from robosplice.engine.backends import execution
    from robosplice.ops.merge import merge_datasets

    sizes = [base]
    current = base
    step = 0
    while tree_bytes(current) < size_gb * 1024**3:
        step += 1
        target = workdir / f"grown-{step}"
        if target.is_dir():  # a kept work folder (--keep): published outputs are complete
            log(f"reusing {target}")
        else:
            log(f"merging {current.name} with itself → {target.name}")
            with execution("process", 2):
                merge_datasets([current, current], f"bench/grown{step}", target)
        sizes.append(target)
        current = target
    return sizes


def run_robosplice(
    op: str, source: Path, workdir: Path, backend: str, workers: int, tag: str
) -> dict[str, Any]:
    output = workdir / f"out-{tag}"
    job = {
        "op": op,
        "source": str(source),
        "output": str(output),
        "backend": backend,
        "workers": workers,
    }
    env = tool_env(workdir)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    measured = run_measured(job, tag, workdir, env)
    result = {
        "ok": measured["ok"],
        "seconds": measured.get("seconds"),
        "cpu_seconds": measured["cpu_seconds"],
        "driver_cpu_seconds": measured["driver_cpu_seconds"],
        "unreaped_cpu_seconds": measured["unreaped_cpu_seconds"],
        "ray_processes_cpu_seconds": measured.get("ray_processes_cpu_seconds") or {},
        "peak_mib": measured["peak_mib"],
        "error": measured.get("error"),
        "phases": measured.get("phases") or {},
        "output": output,
    }
    if result["ok"]:
        result["bytes"] = tree_bytes(output)
        result["hash"] = tree_hash(output)
    return result


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1].endswith(".job.json"):  # run_driver's contract
        return drive(sys.argv[1], sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/robosplice-scale"))
    parser.add_argument("--base", type=Path, help="a base dataset (default: write a sample)")
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--backends", default="serial,process,ray")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-official", action="store_true")
    parser.add_argument(
        "--official-source", type=Path, help="dataset for the official delete (default: the base)"
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    ops = [o for o in args.ops.split(",") if o]
    backends = [b for b in args.backends.split(",") if b]
    workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    lines: list[str] = []
    from robosplice.dataset import Dataset

    try:
        base = args.base.resolve() if args.base else build_base(workdir / "base", args.episodes)
        sizes = grow(base, workdir, args.size_gb)
        big = sizes[-1]
        quarter = next((s for s in sizes if tree_bytes(s) >= tree_bytes(big) / 4.5), big)
        big_bytes, quarter_bytes = tree_bytes(big), tree_bytes(quarter)
        videos = len(list((big / "videos").rglob("*.mp4")))
        cameras = len(list((big / "videos").iterdir()))
        lines.append(
            f"Dataset: {big_bytes / MIB:.0f} MiB, {videos} video files over {cameras}"
            f" cameras ({Dataset(big).num_episodes} episodes: the base merged with itself"
            f" {len(sizes) - 1} times); ¼ size: {quarter_bytes / MIB:.0f} MiB."
        )
        results: dict[tuple[str, str], dict[str, Any]] = {}
        cp_seconds: dict[str, float] = {}
        for op in ops:
            for backend in backends:
                tag = f"{op}-{backend}"
                log(f"{op} with {backend}")
                result = run_robosplice(op, big, workdir, backend, args.workers, tag)
                results[(op, backend)] = result
                if result["ok"] and op not in cp_seconds:
                    cp_seconds[op] = time_cp(result["output"], workdir)
                if not result["ok"]:
                    log(f"  failed: {result['error']}")
            for backend in backends:
                shutil.rmtree(results[(op, backend)]["output"], ignore_errors=True)
        lines += ["", "| op | output MiB | cp -r s |"]
        lines[-1] += "".join(f" {b} s | {b}/cp | {b} CPU s | {b} peak MiB |" for b in backends)
        lines[-1] += " identical bytes |"
        lines.append("|---" * (4 + 4 * len(backends)) + "|")
        for op in ops:
            first = next((results[(op, b)] for b in backends if results[(op, b)]["ok"]), None)
            cp = cp_seconds.get(op)
            row = f"| {op} | {fmt(first['bytes'] / MIB if first else None, 0)} | {fmt(cp, 2)} |"
            for backend in backends:
                result = results[(op, backend)]
                seconds = result["seconds"]
                ratio = seconds / cp if seconds and cp else None
                row += f" {fmt(seconds, 2)} | {fmt(ratio)}× | {fmt(result['cpu_seconds'], 1)} |"
                row += f" {fmt(result['peak_mib'], 0)} |"
            hashes = {results[(op, b)].get("hash") for b in backends}
            row += " yes |" if len(hashes) == 1 and None not in hashes else " **no** |"
            lines.append(row)
        lines.append(
            "\nPeak MiB is the driver process's own (wait4). CPU s is user + system time of every"
            " process of the run (the driver, pool workers, Ray's processes: the launcher is their"
            " child subreaper and reaps them all). Times include the pre-flight validation."
        )
        lines += ["", "| op | " + " | ".join(f"{b} CPU s: driver + reaped → all" for b in backends)]
        lines[-1] += (
            " | of which unreaped (children of raylet) | Ray's processes at the end (/proc) |"
        )
        lines.append("|---" * (3 + len(backends)) + "|")
        for op in ops:
            row = f"| {op} |"
            for backend in backends:
                result = results[(op, backend)]
                driver = result.get("driver_cpu_seconds")
                row += f" {fmt(driver, 1)} → {fmt(result['cpu_seconds'], 1)} |"
            ray = results.get((op, "ray"), {})
            row += f" {fmt(ray.get('unreaped_cpu_seconds'), 1)} |"
            ray_cpu = ray.get("ray_processes_cpu_seconds") or {}
            row += " " + ", ".join(f"{n} {v:.1f}" for n, v in sorted(ray_cpu.items())) + " |"
            lines.append(row)
        if "serial" in backends:
            lines += [
                "",
                "Where the time goes (serial backend, seconds):",
                "",
                "| op | total | pre-flight validation | video copy | frame stats | rows, stats,"
                " metadata, publish |",
                "|---|---|---|---|---|---|",
            ]
            for op in ops:
                result = results[(op, "serial")]
                if not result["ok"]:
                    continue
                phases = result["phases"]
                rest = result["seconds"] - sum(phases.values())
                lines.append(
                    f"| {op} | {fmt(result['seconds'], 2)} | {fmt(phases.get('preflight'), 2)} |"
                    f" {fmt(phases.get('video copy'), 2)} | {fmt(phases.get('frame stats'), 2)} |"
                    f" {fmt(rest, 2)} |"
                )
        # memory at ¼ size vs full size, serial backend (one process holds everything)
        lines += [
            "",
            f"Peak RSS (MiB), serial backend: ¼ size ({quarter_bytes / MIB:.0f} MiB) vs full"
            f" ({big_bytes / MIB:.0f} MiB):",
            "",
            "| op | ¼ size | full size |",
            "|---|---|---|",
        ]
        for op in ops:
            log(f"{op} at ¼ size")
            small = run_robosplice(op, quarter, workdir, "serial", 1, f"{op}-quarter")
            shutil.rmtree(small["output"], ignore_errors=True)
            full = results.get((op, "serial"), {}).get("peak_mib")
            lines.append(f"| {op} | {fmt(small['peak_mib'], 0)} | {fmt(full, 0)} |")
        if not args.no_official:
            lines += ["", *official_delete((args.official_source or base).resolve(), workdir)]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    lines.append("")
    lines.append(f"Total bench time {time.perf_counter() - started:.0f} s.")
    print("\n".join(lines))
    return 0


def official_delete(base: Path, workdir: Path) -> list[str]:
    """Delete 10 % of the base dataset with robosplice (serial) and with lerobot 0.6.1."""
    python = default_official_python()
    if not python.exists():
        return ["Official delete: skipped (no interop venv; bash scripts/interop-env.sh)."]
    from robosplice.dataset import Dataset

    episodes = list(range(0, Dataset(base).num_episodes, 10))
    log("delete on the base dataset with robosplice and the official tool")
    ours = run_robosplice("delete", base, workdir, "serial", 1, "delete-base")
    job = {"op": "delete", "sources": [str(base)], "output": str(workdir / "official-delete")}
    job["episodes"] = episodes
    official = run_driver(
        python, OFFICIAL_DRIVER, job, "delete-official", workdir, tool_env(workdir)
    )
    speedup = official.seconds / ours["seconds"] if official.ok and ours["ok"] else None
    subprocess.run(
        ["rm", "-rf", str(workdir / "official-delete"), str(ours["output"])], check=False
    )
    return [
        f"Delete 10 % of the base dataset ({tree_bytes(base) / MIB:.0f} MiB):",
        "",
        "| tool | seconds | peak MiB |",
        "|---|---|---|",
        f"| robosplice (serial) | {fmt(ours['seconds'], 2)} | {fmt(ours['peak_mib'], 0)} |",
        f"| official lerobot 0.6.1 | {fmt(official.seconds, 2)}"
        f"{'' if official.ok else ' (' + str(official.error)[:80] + ')'} | {fmt(official.peak_mib, 0)} |",
        f"| speed-up | {fmt(speedup, 0)}× | |",
    ]


if __name__ == "__main__":
    sys.exit(main())
