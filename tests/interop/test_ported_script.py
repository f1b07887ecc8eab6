"""A script written against lerobot 0.6.1's `dataset_tools` runs on robosplice with only its
imports changed, and gives the same dataset.

docs/ported_script.py (shown in the README) is run twice on copies of the
same recorder-made image dataset (the upstream `sample_dataset` recipe): unchanged with the
interop venv's python (official lerobot), then with its two import lines switched to robosplice
with robosplice's python. Both final outputs are opened with the official loader and must hold
the same episodes, frames, task strings and feature values (camera frames included).

The one expected difference: official `modify_tasks` edits in place, robosplice's writes a new
dataset under $HF_LEROBOT_HOME unless `in_place=True`; the script uses the returned dataset, so
both runs continue from the edited one.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from harness import REPO_ROOT, assert_same_items, copy_dataset, load_with_lerobot
from make_upstream_datasets import load_batch, recorded_datasets

# The import lines of the official script, and what they become for robosplice.
PORT = {
    "from lerobot.datasets.dataset_tools import (\n": "from robosplice import (\n",
    "from lerobot.datasets.lerobot_dataset import LeRobotDataset\n": (
        "from robosplice import Dataset as LeRobotDataset\n"
    ),
}
DOCS_COPY = REPO_ROOT / "docs" / "ported_script.py"
# The script users read is the script the test runs.
PORTED_SCRIPT = DOCS_COPY.read_text()
TIMEOUT_S = 900


def ported(script: str) -> str:
    """The script with its official imports replaced by robosplice's, and nothing else."""
    for official, ours in PORT.items():
        assert script.count(official) == 1, official
        script = script.replace(official, ours)
    return script


def run(python: Path | str, script: Path, args: list[Path], home: Path) -> str:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(home / "hf"),
        "HF_LEROBOT_HOME": str(home / "lerobot"),
        "TQDM_DISABLE": "1",
    }
    proc = subprocess.run(
        [str(python), str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stderr[-6000:]}"
    return proc.stdout.strip().splitlines()[-1]


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_only_the_imports_change():
    changed = [
        line
        for line in difflib.unified_diff(
            PORTED_SCRIPT.splitlines(), ported(PORTED_SCRIPT).splitlines(), lineterm="", n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert len(changed) == 4  # two lines out, two lines in
    assert all(line[1:].startswith(("from lerobot.", "from robosplice ")) for line in changed)


def test_ported_script_gives_the_official_result(lerobot_python, tmp_path):
    sample = recorded_datasets(lerobot_python) / "sample"
    results = {}
    for name, python, text in (
        ("official", lerobot_python, PORTED_SCRIPT),
        ("robosplice", sys.executable, ported(PORTED_SCRIPT)),
    ):
        base = tmp_path / name
        source = copy_dataset(sample, base / "source")
        before = tree_digest(source)
        script = base / "ported_script.py"
        script.write_text(text)
        summary = run(python, script, [source, base / "out"], base / "home")
        results[name] = (summary, base / "out" / "merged")
        if name == "robosplice":
            assert tree_digest(source) == before, "robosplice wrote into its source"

    (official_summary, official_root), (our_summary, our_root) = results.values()
    # 5 episodes - 1 deleted, 10 frames each; printed as `episodes frames len`.
    assert official_summary == our_summary == "4 40 40"
    load_batch(lerobot_python, plain=[official_root, our_root])
    theirs = load_with_lerobot(official_root, "pyav")
    ours = load_with_lerobot(our_root, "pyav")
    assert int(ours["meta/num_episodes"]) == int(theirs["meta/num_episodes"]) == 4
    assert int(ours["meta/len"]) == int(theirs["meta/len"]) == 40
    # Same items: features (added ones included), camera frames, task strings. The task_index
    # numbering may differ: the official delete numbers tasks in Python set order.
    assert_same_items(ours, theirs, np.arange(40), exclude=("task_index",))
    assert set(ours["task"].tolist()) == {"pick up the cube", "place the cube"}
    np.testing.assert_array_equal(ours["success"], (ours["frame_index"] == 9).astype(np.float32))
