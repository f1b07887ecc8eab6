"""README: "pyarrow, numpy and PyAV. No pandas, torch or `datasets`."

In a fresh interpreter, with an import hook that records every attempt to import those (even one
caught by `except ImportError`, so a missing package cannot hide it): import every robosplice
module, then run real commands through the CLI (info, validate, repack, delete, images-to-video),
which triggers the lazy imports inside functions too. An attempt made by robosplice's own code
fails; pyarrow's optional look for pandas is not robosplice's (and loads nothing when absent).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fixture_data import copy_tree_writable, fixtures_dir

FORBIDDEN = ("pandas", "torch", "datasets")

PROBE = r"""
import importlib, importlib.util, json, pkgutil, sys, traceback

FORBIDDEN = tuple(sys.argv[1].split(","))
PACKAGE = importlib.util.find_spec("robosplice").submodule_search_locations[0]
attempts, others = [], []


class Recorder:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            frames = [f for f in traceback.extract_stack()[:-1] if "importlib" not in f.filename]
            where = f"{frames[-1].filename}:{frames[-1].lineno}"
            # robosplice's own imports fail the test; a dependency's optional probe (pyarrow
            # looks for pandas) is only reported.
            (attempts if frames[-1].filename.startswith(PACKAGE) else others).append([name, where])
        return None  # let the real finders decide


sys.meta_path.insert(0, Recorder())
import robosplice

modules = ["robosplice"]
for info in pkgutil.walk_packages(robosplice.__path__, "robosplice."):
    importlib.import_module(info.name)
    modules.append(info.name)

from robosplice.cli.app import app
from typer.testing import CliRunner

video, image, out = sys.argv[2:5]
runs = {}
for argv in (
    ["info", video],
    ["validate", video],
    ["repack", video, out + "/repacked"],
    ["delete-episodes", video, out + "/deleted", "--episodes", "1"],
    ["images-to-video", image, out + "/converted", "--episodes", "0"],
):
    result = CliRunner().invoke(app, argv)
    runs[argv[0]] = [result.exit_code, result.output[-2000:]]
loaded = sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)
report = {"modules": modules, "runs": runs, "attempts": attempts, "others": others}
print(json.dumps({**report, "loaded": loaded}))
"""


def test_no_pandas_torch_or_datasets_anywhere(tmp_path: Path) -> None:
    video = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "video")
    image = copy_tree_writable(fixtures_dir() / "v3_image", tmp_path / "image")
    run = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(FORBIDDEN), str(video), str(image), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    for command, (code, output) in report["runs"].items():
        assert code == 0, f"robosplice {command} failed:\n{output}"
    assert {"robosplice.ops.merge", "robosplice.cli.app", "robosplice.engine.run"} <= set(
        report["modules"]
    ), report["modules"]
    assert report["attempts"] == [], f"robosplice tried to import {report['attempts']}"
    assert report["loaded"] == [], f"robosplice loaded {report['loaded']}"
