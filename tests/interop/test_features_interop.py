"""Feature, task and stats edits, checked against the official lerobot 0.6.1.

- Outputs of add/remove/rename features and modify_tasks load in the official LeRobotDataset
  (both video backends) with the added values at the right frames and everything else unchanged.
- recompute_stats agrees with the official `recompute_stats` run on the same dataset: equal
  moments, and quantiles equal to the official histogram algorithm run over all values (the
  official tool averages per-episode quantiles instead). Relative-action stats agree in full.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
from harness import (
    BACKENDS,
    assert_same_items,
    camera_keys,
    copy_dataset,
    fixtures_dir,
    load_with_lerobot,
)

from robosplice.dataset import Dataset
from robosplice.engine.frame_stats import RunningQuantileStats
from robosplice.format.info import DEFAULT_FEATURE_NAMES, numeric_feature_names
from robosplice.ops.features import modify_features, remove_feature
from robosplice.ops.stats import recompute_stats
from robosplice.ops.tasks import modify_tasks
from robosplice.ops.validate import validate

REMOVED_CAMERA = "observation.images.wrist"
RENAMED = {"observation.images.front": "observation.images.main", "action": "action.joints"}

# Runs in the interop venv: offline, private caches (as lerobot_dump.py), then the given body.
_PRELUDE = """
import json, os, sys, tempfile
_tmp = tempfile.mkdtemp()
os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=_tmp + "/hf",
                  HF_DATASETS_CACHE=_tmp + "/ds", HF_LEROBOT_HOME=_tmp + "/lr", TQDM_DISABLE="1")
import numpy as np
"""


def run_official(python: Path, body: str, *args: str) -> str:
    """Run `body` with the interop venv's python; return its stdout."""
    code = _PRELUDE + textwrap.dedent(body)
    proc = subprocess.run(
        [str(python), "-c", code, *args], capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


@pytest.fixture
def fixture(tmp_path: Path):
    def get(name: str) -> Path:
        return copy_dataset(fixtures_dir() / name, tmp_path / "src" / name)

    return get


def added_values(n: int) -> dict[str, tuple[object, dict]]:
    """The official test's shapes (scalar as (N,) and (N,1), vector, matrix) plus callables."""
    rng = np.random.default_rng(7)
    return {
        "scalar_1d": (
            rng.normal(size=n).astype(np.float32),
            {"dtype": "float32", "shape": [1], "names": None},
        ),
        "scalar_2d": (
            rng.normal(size=(n, 1)).astype(np.float32),
            {"dtype": "float32", "shape": [1], "names": None},
        ),
        "vector": (rng.normal(size=(n, 7)), {"dtype": "float32", "shape": [7], "names": None}),
        "matrix": (
            rng.normal(size=(n, 1, 4)).astype(np.float32),
            {"dtype": "float32", "shape": [1, 4], "names": None},
        ),
        "pose2": (
            lambda columns, episode: columns["observation.pose"] * 2,
            {"dtype": "float32", "shape": [2, 3]},
        ),
        "reward": (
            lambda row, episode, frame: float(episode * 10 + frame),
            {"dtype": "float32", "shape": [1]},
        ),
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["v3_av1_multifile", "v3_image"])
def test_feature_edits_load_in_lerobot(lerobot_python, fixture, tmp_path, name, backend):
    source = Dataset(fixture(name))
    n = source.num_frames
    adds = added_values(n)
    output = modify_features(source, adds, [REMOVED_CAMERA], tmp_path / "out", rename=RENAMED)
    assert validate(output) == []
    out = load_with_lerobot(output.root, backend)
    src = load_with_lerobot(source.root, backend)
    assert int(out["meta/len"]) == n
    # The added values, at the right frames, with the official item shapes.
    np.testing.assert_array_equal(out["scalar_1d"], adds["scalar_1d"][0])
    np.testing.assert_array_equal(out["scalar_2d"], adds["scalar_2d"][0].reshape(n))
    np.testing.assert_array_equal(out["vector"], adds["vector"][0].astype(np.float32))
    np.testing.assert_array_equal(out["matrix"], adds["matrix"][0])
    assert out["scalar_1d"].shape == (n,)
    assert out["vector"].shape == (n, 7)
    assert out["matrix"].shape == (n, 1, 4)
    np.testing.assert_array_equal(out["pose2"], src["observation.pose"] * 2)
    expected_reward = src["episode_index"] * 10 + src["frame_index"]
    np.testing.assert_array_equal(out["reward"], expected_reward.astype(np.float32))
    # Removed and renamed: the rest is item for item the source, cameras bit for bit.
    assert REMOVED_CAMERA not in out
    assert REMOVED_CAMERA not in camera_keys(out)
    renamed_source = {RENAMED.get(k, k): v for k, v in src.items() if k != REMOVED_CAMERA}
    renamed_source["meta/camera_keys"] = np.array(
        [RENAMED.get(k, k) for k in camera_keys(src) if k != REMOVED_CAMERA]
    )
    kept = {k: v for k, v in out.items() if k not in adds}
    assert_same_items(kept, renamed_source, np.arange(n))


@pytest.mark.parametrize("backend", BACKENDS)
def test_modified_tasks_load_in_lerobot(lerobot_python, fixture, tmp_path, backend):
    source = Dataset(fixture("v3_h264_bframes"))
    output = modify_tasks(
        source,
        new_task="Default task",
        episode_tasks={0: "Special task"},
        task_replacements={source.tasks[1]: "Renamed task"},
        output_dir=tmp_path / "out",
    )
    out = load_with_lerobot(output.root, backend)
    src = load_with_lerobot(source.root, backend)
    expected = []
    for episode, task in zip(src["episode_index"], src["task"], strict=True):
        if episode == 0:
            expected.append("Special task")
        elif task == source.tasks[1]:
            expected.append("Renamed task")
        else:
            expected.append("Default task")
    assert out["task"].tolist() == expected
    tasks = sorted(set(expected))
    np.testing.assert_array_equal(out["task_index"], [tasks.index(t) for t in expected])
    assert_same_items(out, src, np.arange(int(src["meta/len"])), exclude=("task", "task_index"))


# ------------------------------------------------------------------------------------ stats


_OFFICIAL_RECOMPUTE = """
from lerobot.datasets.compute_stats import get_feature_stats
from lerobot.datasets.dataset_tools import recompute_stats
from lerobot.datasets.lerobot_dataset import LeRobotDataset
import pandas as pd
from pathlib import Path
root, relative, names = Path(sys.argv[1]), sys.argv[2] == "1", sys.argv[3].split(",")
ds = LeRobotDataset("interop/recompute", root=root)
recompute_stats(ds, relative_action=relative, chunk_size=10)
frame = pd.concat([pd.read_parquet(p) for p in sorted((root / "data").glob("*/*.parquet"))])
exact = {}
for name in names:
    values = frame[name].values
    array = np.stack(values) if hasattr(values[0], "__len__") else np.array(values)
    stats = get_feature_stats(array, axis=0, keepdims=array.ndim == 1)
    exact[name] = {k: np.asarray(v).tolist() for k, v in stats.items()}
print(json.dumps(exact))
"""


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative_action"])
def test_recompute_stats_agrees_with_the_official_tool(lerobot_python, fixture, tmp_path, relative):
    # The official tool crashes on 2-D features (pandas Array2D), so compare without the pose.
    base = remove_feature(fixture("v3_av1_multifile"), ["observation.pose"], tmp_path / "base")
    official_root = copy_dataset(base.root, tmp_path / "official")
    names = [n for n in numeric_feature_names(base.features) if n not in DEFAULT_FEATURE_NAMES]
    exact = json.loads(
        run_official(
            lerobot_python,
            _OFFICIAL_RECOMPUTE,
            str(official_root),
            "1" if relative else "0",
            ",".join(names),
        )
    )
    official = json.loads((official_root / "meta/stats.json").read_text())
    ours = recompute_stats(
        base, relative_action=relative, chunk_size=10, output_dir=tmp_path / "ours"
    )
    assert validate(ours) == []
    mine = json.loads((ours.root / "meta/stats.json").read_text())
    assert set(mine) == set(official)
    for name in names:
        for key in ("min", "max", "mean", "std", "count"):
            np.testing.assert_allclose(
                mine[name][key], official[name][key], rtol=1e-6, atol=1e-9, err_msg=f"{name} {key}"
            )
        if relative and name == "action":
            for key in ("q01", "q10", "q50", "q90", "q99"):  # the same single-pass algorithm
                np.testing.assert_allclose(
                    mine[name][key], official[name][key], rtol=1e-6, err_msg=key
                )
            continue
        for key in (
            "q01",
            "q10",
            "q50",
            "q90",
            "q99",
        ):  # exact: the official algorithm on all values
            np.testing.assert_allclose(
                mine[name][key], exact[name][key], rtol=1e-6, atol=1e-9, err_msg=f"{name} {key}"
            )
    # Camera stats are kept by both when skip_image_video (the default).
    for camera in base.camera_keys:
        for key in ("mean", "std", "count"):
            np.testing.assert_allclose(mine[camera][key], official[camera][key], rtol=1e-6)


_OFFICIAL_RUNNING = """
from lerobot.datasets.compute_stats import RunningQuantileStats
batches = np.load(sys.argv[1])
running = RunningQuantileStats()
for key in sorted(batches.files):
    running.update(batches[key])
print(json.dumps({k: np.asarray(v).tolist() for k, v in running.get_statistics().items()}))
"""


def test_running_quantile_stats_matches_the_official_rebinning(lerobot_python, tmp_path):
    rng = np.random.default_rng(3)
    batches = {
        "b0": rng.normal(size=(300, 3)).astype(np.float32),
        "b1": rng.normal(loc=2.0, scale=3.0, size=(300, 3)).astype(np.float32),
        "b2": rng.uniform(-9.0, 9.0, size=(50, 3)).astype(np.float32),
    }
    np.savez(tmp_path / "batches.npz", **batches)
    official = json.loads(
        run_official(lerobot_python, _OFFICIAL_RUNNING, str(tmp_path / "batches.npz"))
    )
    running = RunningQuantileStats()
    for key in sorted(batches):
        running.update(batches[key])
    for key, value in running.statistics().items():
        np.testing.assert_allclose(value, official[key], rtol=1e-6, err_msg=key)
