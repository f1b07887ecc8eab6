"""Digest every command's output over the fixtures: the gate for refactors that must not change bytes.

    python scripts/output_digests.py OUT.json [--robosplice PATH] [--work DIR]

Runs a fixed list of CLI commands (episode edits, feature edits, conversions, doctor, apply, validate,
info) on each recorder-written fixture and on a synthetic sample, and writes {case: {path: sha256}}.
The edit log (meta/robosplice/history.jsonl) holds times and versions, so it is left out. Compare two
runs with `--compare A.json B.json`: it prints every case whose bytes differ and exits 1 if any do.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "datasets"
HISTORY = "meta/robosplice/history.jsonl"

# (case name, argv after the source; OUT stands for the output folder, SRC for the source again)
EDITS: list[tuple[str, list[str]]] = [
    (
        "repack",
        ["repack", "SRC", "OUT", "--data-file-size-mb", "0.01", "--video-file-size-mb", "0.05"],
    ),
    ("delete", ["delete-episodes", "SRC", "OUT", "--episodes", "0"]),
    (
        "split",
        ["split-dataset", "SRC", "OUT", "--split", "a=0.5", "--split", "b=0.5", "--seed", "0"],
    ),
    ("merge", ["merge-datasets", "SRC", "SRC", "--output", "OUT"]),
    ("trim", ["trim-episodes", "SRC", "OUT", "--range", "0:1:5", "--range", "1:2:6"]),
    ("filter", ["filter-episodes", "SRC", "OUT", "--min-length", "3"]),
    ("remove", ["remove-feature", "SRC", "OUT", "observation.state"]),
    ("rename", ["rename-feature", "SRC", "OUT", "action", "act"]),
    ("tasks", ["modify-tasks", "SRC", "OUT", "--episode-task", "0=Open the drawer"]),
    ("stats", ["recompute-stats", "SRC", "OUT"]),
    ("to_v21", ["convert", "SRC", "OUT", "--to", "v2.1", "--reencode-unaligned"]),
]
REPORTS: list[tuple[str, list[str]]] = [
    ("doctor", ["doctor", "SRC", "--json"]),
    ("validate", ["validate", "SRC", "--json"]),
    ("info", ["info", "SRC", "--json"]),
]


def digest_tree(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.endswith(HISTORY):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run(cli: str, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env_argv = (
        [cli, *argv, "--no-progress"]
        if argv[0] not in {"doctor", "validate", "info"}
        else [cli, *argv]
    )
    return subprocess.run(env_argv, cwd=cwd, capture_output=True, text=True, check=False)


def digest_all(cli: str, work: Path) -> dict[str, dict[str, str]]:
    sources: dict[str, Path] = {}
    for fixture in sorted(p for p in FIXTURES.iterdir() if (p / "meta" / "info.json").exists()):
        shutil.copytree(fixture, work / "src" / fixture.name)
        sources[fixture.name] = work / "src" / fixture.name
    subprocess.run([cli, "sample", str(work / "src" / "sample")], check=True, capture_output=True)
    sources["sample"] = work / "src" / "sample"
    results: dict[str, dict[str, str]] = {}
    for name, src in sources.items():
        for case, template in EDITS:
            out = work / "out" / name / case
            argv = [str(src) if a == "SRC" else str(out) if a == "OUT" else a for a in template]
            proc = run(cli, argv, work)
            key = f"{name}/{case}"
            results[key] = {"exit": str(proc.returncode)}
            if out.exists():
                results[key].update(digest_tree(out))
            if case == "to_v21" and out.exists():  # and back
                back = work / "out" / name / "back_v30"
                proc = run(cli, ["convert", str(out), str(back), "--to", "v3.0"], work)
                results[f"{name}/back_v30"] = {"exit": str(proc.returncode), **digest_tree(back)}
        for case, template in REPORTS:
            argv = [str(src) if a == "SRC" else a for a in template]
            proc = run(cli, argv, work)
            text = proc.stdout.replace(str(src), "SRC")
            results[f"{name}/{case}"] = {"exit": str(proc.returncode), "stdout": text}
        # doctor's recipe, applied
        recipe = work / "out" / name / "fix.json"
        proc = run(cli, ["doctor", str(src), "--recipe", str(recipe)], work)
        if recipe.exists():
            out = work / "out" / name / "applied"
            proc = run(cli, ["apply", str(recipe), str(src), str(out), "--force"], work)
            results[f"{name}/apply"] = {"exit": str(proc.returncode)}
            if out.exists():
                results[f"{name}/apply"].update(digest_tree(out))
    return results


def compare(a: Path, b: Path) -> int:
    left, right = json.loads(a.read_text()), json.loads(b.read_text())
    bad = 0
    for key in sorted(set(left) | set(right)):
        if left.get(key) != right.get(key):
            bad += 1
            l_, r_ = left.get(key, {}), right.get(key, {})
            diff = sorted(k for k in set(l_) | set(r_) if l_.get(k) != r_.get(k))
            print(f"DIFFERS {key}: {diff[:8]}")
    print(f"{len(set(left) | set(right))} cases, {bad} differ")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path)
    parser.add_argument("--robosplice", default=str(REPO / ".venv" / "bin" / "robosplice"))
    parser.add_argument("--compare", nargs=2, type=Path)
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if args.output is None:
        parser.error("OUT.json is required")
    with tempfile.TemporaryDirectory() as tmp:
        results = digest_all(args.robosplice, Path(tmp))
    args.output.write_text(json.dumps(results, indent=1, sort_keys=True))
    print(f"{len(results)} cases -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
