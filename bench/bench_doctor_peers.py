"""robosplice doctor side by side with lerobot-doctor, robovet and rdq on the defect corpus.

Why: the issue's claim is that the existing validators miss defects (one-frame spikes averaged
over dimensions, duplicated episodes) or report them at no particular place. This runs every tool
on the one-defect copies of tests/doctor/corpus_doctor.py (a recorder fixture and a realistic
14-joint signal) and on their clean copies, and prints, per defect and tool, whether the tool
pointed at the right place, plus each tool's CPU time and its warnings on the clean copies.

    python bench/bench_doctor_peers.py            # builds ~/.cache/robosplice/doctor-peers-venv once
    python bench/bench_doctor_peers.py --json

Scoring (the same rule for every tool, robosplice included): a tool's findings are its entries of
severity warning or worse (lerobot-doctor WARN/FAIL messages, robovet WARN/FAIL results, rdq
warning/critical findings, robosplice warning/error findings). Findings whose text also appears on
the clean copy are dropped. A defect is detected when a remaining finding names the defect's
episode (in its episode list, or as "episode N"/"ep N" in its text); for a dead dimension, when it
names the dimension ("[5]" or its name).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
VENV = Path.home() / ".cache/robosplice/doctor-peers-venv"
PEERS = {"lerobot-doctor": "0.2.0", "robovet": "0.2.2", "rdq": "0.3.4"}
TOOLS = ("robosplice", *PEERS)

Found = list[tuple[str, list[int]]]  # (text, episodes) of each warning-or-worse finding


def ensure_venv() -> Path:
    """The peers' venv (pinned versions), built once."""
    python = VENV / "bin/python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pins = [f"{name}=={version}" for name, version in PEERS.items()]
        subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], check=True)
    return VENV / "bin"


def run_tool(tool: str, root: Path, bin_dir: Path, scratch: Path) -> tuple[Found, float]:
    """Run one tool on one dataset; its warning-or-worse findings and its CPU seconds."""
    out = scratch / f"{tool}.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    if tool == "robosplice":
        command = [str(REPO / ".venv/bin/robosplice"), "doctor", str(root), "--json"]
    elif tool == "lerobot-doctor":
        command = [str(bin_dir / "lerobot-doctor"), "check", str(root), "--json"]
    elif tool == "robovet":
        command = [str(bin_dir / "robovet"), "doctor", str(root), "--json", str(out)]
    else:
        command = [str(bin_dir / "rdq"), "check", str(root), "--json", str(out), "--no-color"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    del started  # wall time is noise on a shared machine; CPU time of the tool's process counts
    elapsed = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = result.stdout if tool in ("robosplice", "lerobot-doctor") else out.read_text()
    return parse(tool, json.loads(text)), elapsed


def parse(tool: str, document: dict[str, Any]) -> Found:
    """Each tool's JSON as (text, episodes) of its warning-or-worse findings."""
    found: Found = []
    if tool == "robosplice":
        for f in document["findings"]:
            if f["severity"] in ("warning", "error"):
                where = f"{f['feature']}[{f['dimension']}] {f['dimension_name']}"
                episodes = [e for e in (f["episode"],) if e is not None]
                found.append((f"{f['check']} {where} {f['message']}", episodes))
    elif tool == "lerobot-doctor":
        for check in document["checks"]:
            for message in check["messages"]:
                if message["severity"] in ("WARN", "FAIL"):
                    found.append((f"{check['name']}: {message['message']}", []))
    elif tool == "robovet":
        for entry in document["results"]:
            if entry["severity"] in ("WARN", "FAIL"):
                text = (
                    f"{entry['check_id']} {entry['summary']} {' '.join(map(str, entry['details']))}"
                )
                found.append((text, [int(e) for e in entry.get("episodes") or []]))
    else:
        for entry in document["findings"]:
            if entry["severity"] in ("warning", "critical"):
                text = f"{entry['check']} {entry['message']} {json.dumps(entry.get('details'))}"
                found.append((text, [int(e) for e in entry.get("episodes") or []]))
    return found


def detected(found: Found, clean: Found, expect: Any) -> bool:
    """Whether a finding absent from the clean copy names the defect's place."""
    clean_texts = {text for text, _ in clean}
    fresh = [(text, episodes) for text, episodes in found if text not in clean_texts]
    if expect.episode is None:  # a dataset-level defect: the dimension must be named
        marks = [f"[{expect.dimension}]"] + (
            [expect.dimension_name] if expect.dimension_name else []
        )
        return any(any(mark in text for mark in marks) for text, _ in fresh)
    pattern = re.compile(rf"\b(?:episode|ep)[\s_#:=]*{expect.episode}\b", re.IGNORECASE)
    return any(expect.episode in episodes or pattern.search(text) for text, episodes in fresh)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests/doctor")]
    from corpus_doctor import (  # the test corpus, reused as is
        FIXTURE_DEFECTS,
        REALISTIC_DEFECTS,
        fixture_case,
        realistic_case,
    )

    bin_dir = ensure_venv()
    rows = []
    times: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    clean_alarms: dict[str, int] = dict.fromkeys(TOOLS, 0)
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        for corpus, names, make in (
            ("fixture", FIXTURE_DEFECTS, lambda n, f: fixture_case(n, f)),
            ("realistic", REALISTIC_DEFECTS, lambda n, f: realistic_case(n, f)),
        ):
            clean_root, _ = make("clean", scratch / corpus / "clean")
            clean = {}
            for tool in TOOLS:
                clean[tool], seconds = run_tool(tool, clean_root, bin_dir, scratch)
                clean_alarms[tool] += len(clean[tool])
                times[tool].append(seconds)
            for name in names:
                root, expect = make(name, scratch / corpus / name)
                expects = expect if isinstance(expect, list) else [expect]
                row = {"case": f"{corpus}/{name}"}
                for tool in TOOLS:
                    found, seconds = run_tool(tool, root, bin_dir, scratch)
                    times[tool].append(seconds)
                    row[tool] = all(detected(found, clean[tool], e) for e in expects)
                rows.append(row)
    summary = {
        "cases": rows,
        "detected": {tool: sum(bool(r[tool]) for r in rows) for tool in TOOLS},
        "total": len(rows),
        "median_cpu_seconds": {t: sorted(v)[len(v) // 2] for t, v in times.items()},
        "warnings_on_clean_copies": clean_alarms,
        "versions": PEERS,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print("| defect | " + " | ".join(TOOLS) + " |")
    print("|---|" + "---|" * len(TOOLS))
    for row in rows:
        print(f"| {row['case']} | " + " | ".join("✓" if row[t] else "·" for t in TOOLS) + " |")
    print(
        "| **detected at the right place** | "
        + " | ".join(f"{summary['detected'][t]}/{len(rows)}" for t in TOOLS)
        + " |"
    )
    print(
        "| warnings on the 2 clean copies | "
        + " | ".join(str(clean_alarms[t]) for t in TOOLS)
        + " |"
    )
    print(
        "| median CPU time per run (s) | "
        + " | ".join(f"{summary['median_cpu_seconds'][t]:.2f}" for t in TOOLS)
        + " |"
    )


if __name__ == "__main__":
    main()
