"""What each tool does with each class of real-world dataset today: a markdown table.

    python tests/repair/survey.py [--official] [--work DIR] [--only NAME,...]

For every `wild_corpus.CASES` and `RECORDED_CASES` entry: robosplice `info`, `validate`
(errors/warnings) and `convert --to v3.0` (or `repack` for v3.0 folders); with `--official`, lerobot 0.6.1's v2.1 → v3.0 converter (on v2.x
cases) and its loader (`LeRobotDataset`, pyav) on the converter's output or the v3.0 folder. Each
cell is `ok` or the first line of the error. Run it to see where `repair` stands.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from wild_corpus import CASES, RECORDED_CASES  # noqa: E402

REPO = HERE.parents[1]
CLI = str(REPO / ".venv" / "bin" / "robosplice")


def _first_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or line.startswith(("error", "Error")):
            return line[:140]
    return (lines[-1] if lines else "")[:140]


def _run(argv: list[str]) -> tuple[int, str]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def robosplice_cells(root: Path, version: str, work: Path) -> dict[str, str]:
    cells: dict[str, str] = {}
    code, out = _run([CLI, "info", str(root)])
    cells["info"] = "ok" if code == 0 else _first_error(out)
    code, out = _run([CLI, "validate", str(root), "--json"])
    try:
        found = json.loads(out[out.index("[") :])
        problems = found if isinstance(found, list) else found.get("problems", [])
        errors = [p for p in problems if p.get("severity") == "error"]
        cells["validate"] = f"{len(errors)} errors" + (
            f": {errors[0].get('kind')}" if errors else ""
        )
    except ValueError:
        cells["validate"] = _first_error(out)
    target = work / "rs_out"
    verb = (
        ["convert", str(root), str(target), "--to", "v3.0"]
        if version != "v3.0"
        else ["repack", str(root), str(target)]
    )
    code, out = _run([CLI, *verb, "--no-progress"])
    cells["convert/repack"] = "ok" if code == 0 else _first_error(out)
    return cells


def official_cells(root: Path, version: str, work: Path, python: str) -> dict[str, str]:
    cells: dict[str, str] = {}
    target = root
    if version != "v3.0":
        copy = work / "official" / root.name
        shutil.copytree(root, copy)
        code, out = _run([python, str(REPO / "tests/interop/official_convert_v21.py"), str(copy)])
        cells["official convert"] = "ok" if code == 0 else _first_error(out)
        if code != 0:
            cells["official loader"] = "—"
            return cells
        target = copy
    code, out = _run(
        [
            python,
            str(REPO / "tests/interop/lerobot_dump.py"),
            str(target),
            str(work / "dump.npz"),
            "--backend",
            "pyav",
        ]
    )
    cells["official loader"] = "ok" if code == 0 else _first_error(out)
    return cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument(
        "--python", default=str(Path.home() / ".cache/robosplice/interop-venv/bin/python")
    )
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in (*CASES, *RECORDED_CASES):
            if only and case.name not in only:
                continue
            work = Path(tmp) / case.name
            work.mkdir()
            root = work / "src"
            try:
                case.build(root)
            except Exception as exc:  # a builder bug must show, not stop the survey
                rows.append((case, {"build": f"{type(exc).__name__}: {exc}"[:140]}))
                continue
            cells = robosplice_cells(root, case.version, work)
            if args.official:
                cells.update(official_cells(root, case.version, work, args.python))
            rows.append((case, cells))
            print(case.name, cells, file=sys.stderr, flush=True)
    columns = sorted({k for _, cells in rows for k in cells})
    print("| case | class | what | " + " | ".join(columns) + " |")
    print("|---|---|---|" + "---|" * len(columns))
    for case, cells in rows:
        values = " | ".join(cells.get(c, "").replace("|", "/") for c in columns)
        print(f"| {case.name} | {case.klass} | {case.what} | {values} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
