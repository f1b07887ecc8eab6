"""Run lerobot 0.6.1's official v2.1 → v3.0 converter on a local folder (interop venv python).

    official_convert_v21.py ROOT      # converts ROOT in place: ROOT becomes v3.0, ROOT_old the v2.1

Why a script: the converter lives in the lerobot venv (Python 3.12, torch). It runs offline on a
local root (`push_to_hub=False`); prints one JSON line {"seconds": conversion wall time,
"import_seconds": time to import it}. Callers pass a throwaway copy: the official tool renames
and deletes folders around ROOT.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def _cpu_seconds() -> float:
    """User + system seconds of this process and the children it reaped (e.g. ffmpeg)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="robosplice-official-convert-"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HOME"] = str(tmp / "hf_home")
    os.environ["HF_DATASETS_CACHE"] = str(tmp / "hf_datasets")
    os.environ["HF_LEROBOT_HOME"] = str(tmp / "lerobot_home")
    os.environ.setdefault("TQDM_DISABLE", "1")
    started = time.perf_counter()
    from lerobot.scripts.convert_dataset_v21_to_v30 import convert_dataset

    imported, cpu = time.perf_counter(), _cpu_seconds()
    convert_dataset(f"robosplice-interop/{root.name}", root=root, push_to_hub=False)
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": done - imported,
                "cpu_seconds": _cpu_seconds() - cpu,
                "import_seconds": imported - started,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
