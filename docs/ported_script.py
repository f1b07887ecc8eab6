"""Clean, label, split and re-merge a recording with lerobot's dataset tools.

Usage: python ported_script.py SOURCE_ROOT OUTPUT_DIR

Written against lerobot 0.6.1 (`lerobot.datasets.dataset_tools`). To run it with robosplice
(no torch, no lerobot), change the two `from lerobot...` lines of the imports to
`from robosplice import (` and `from robosplice import Dataset as LeRobotDataset`.
"""

import sys
from pathlib import Path

import numpy as np
from lerobot.datasets.dataset_tools import (
    add_features,
    delete_episodes,
    merge_datasets,
    modify_tasks,
    split_dataset,
)
from lerobot.datasets.lerobot_dataset import LeRobotDataset

source, output = Path(sys.argv[1]), Path(sys.argv[2])
dataset = LeRobotDataset(repo_id="lab/pick_place", root=source)

# Drop a bad take.
cleaned = delete_episodes(
    dataset, [1], output_dir=output / "cleaned", repo_id="lab/pick_place_clean"
)

# Label every frame: a dense progress value, and a success flag on each episode's last frame.
frames = cleaned.meta.total_frames
labelled = add_features(
    cleaned,
    {
        "progress": (
            np.linspace(0.0, 1.0, frames, dtype=np.float32),
            {"dtype": "float32", "shape": (1,), "names": None},
        ),
        "success": (
            lambda row, episode_index, frame_index: float(frame_index == 9),
            {"dtype": "float32", "shape": (1,), "names": None},
        ),
    },
    output_dir=output / "labelled",
)

# Say what the episodes do.
labelled = modify_tasks(
    labelled, task_replacements={"task_0": "pick up the cube", "task_1": "place the cube"}
)

splits = split_dataset(labelled, {"train": 0.75, "val": 0.25}, output_dir=output / "splits")
merged = merge_datasets(
    [splits["val"], splits["train"]],
    output_repo_id="lab/pick_place_val_first",
    output_dir=output / "merged",
)
print(merged.meta.total_episodes, merged.meta.total_frames, len(merged))
