"""Record a small v2.1 dataset with lerobot 0.3.3's own recorder (run with the v2.1 venv python).

    record_v21_033.py ROOT video|image

Why: the v2.1 sources the default suite converts come from robosplice's test writer; this one is
written by the official v2.1 recorder itself (`LeRobotDataset.create`, `add_frame`,
`save_episode`: per-episode AV1 g=2 mp4s, episodes_stats.jsonl from sampled frames). Frames carry
identity blocks (tests/fixtures/datasets/README.md): rows 0-7 the episode, rows 8-15 the frame.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

LENGTHS = (12, 7, 15, 9)
TASKS = ("Pick the cube", "Place the cube")


def identity_image(episode: int, frame: int, height: int = 64, width: int = 96):
    import numpy as np

    image = np.full((height, width, 3), 96, dtype=np.uint8)
    image[16:, :, 0] = (episode * 40) % 256
    image[16:, :, 1] = (frame * 9) % 256
    for row, value in ((0, episode), (8, frame)):
        for bit in range(10):
            if value >> bit & 1:
                image[row : row + 8, 8 * bit : 8 * bit + 8] = 255
            else:
                image[row : row + 8, 8 * bit : 8 * bit + 8] = 0
    return image


def main() -> int:
    root, mode = Path(sys.argv[1]).resolve(), sys.argv[2]
    tmp = Path(tempfile.mkdtemp(prefix="robosplice-record-v21-"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HOME"] = str(tmp / "hf_home")
    os.environ["HF_DATASETS_CACHE"] = str(tmp / "hf_datasets")
    os.environ["HF_LEROBOT_HOME"] = str(tmp / "lerobot_home")
    import numpy as np
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = {
        "observation.state": {
            "dtype": "float32",
            "shape": (6,),
            "names": [f"j{i}" for i in range(6)],
        },
        "action": {"dtype": "float32", "shape": (6,), "names": [f"j{i}" for i in range(6)]},
        "next.success": {"dtype": "bool", "shape": (1,), "names": None},
        "observation.images.front": {
            "dtype": mode,
            "shape": (64, 96, 3),
            "names": ["height", "width", "channels"],
        },
    }
    dataset = LeRobotDataset.create(
        "robosplice-interop/recorded",
        fps=30,
        features=features,
        root=root,
        robot_type="so100",
        use_videos=mode == "video",
    )
    rng = np.random.default_rng(0)
    for episode, length in enumerate(LENGTHS):
        for frame in range(length):
            dataset.add_frame(
                {
                    "observation.state": rng.normal(size=6).astype(np.float32),
                    "action": rng.normal(size=6).astype(np.float32),
                    "next.success": np.array([frame == length - 1]),
                    "observation.images.front": identity_image(episode, frame),
                },
                task=TASKS[episode % 2] if frame < length // 2 or episode != 2 else TASKS[1],
            )
        dataset.save_episode()
    return 0


if __name__ == "__main__":
    sys.exit(main())
