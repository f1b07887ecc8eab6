"""The Ray backend writes the serial backend's bytes, on a local Ray and on a two-node cluster.

Tier `ray` (`make ray`): needs `pip install 'robosplice[ray]'`; without Ray each test fails (a
skip would let the tier pass having run nothing). The default run deselects the `ray` mark.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from robosplice.engine.backends import execution
from robosplice.format.paths import HISTORY_PATH
from robosplice.ops.delete import delete_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.trim import trim_episodes
from robosplice.testing import tree_digest

try:
    import ray
except ImportError:  # the default run never selects these tests; the ray tier must not skip them
    ray = None
pytestmark = pytest.mark.ray
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

_INIT = {"include_dashboard": False, "object_store_memory": 200 * 2**20, "log_to_driver": False}


@pytest.fixture(autouse=True)
def _ray_installed() -> None:
    if ray is None:
        pytest.fail("the ray tier needs Ray: pip install 'robosplice[ray]' (make ray does)")


def _digest(root: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(root).items() if not k.endswith(HISTORY_PATH)}


def _edits(source: Path, out: Path, **options: Any) -> None:
    delete_episodes(source, [4], out / "delete", **options)
    trim_episodes(source, {0: (3, 25), 5: (10, 60)}, out / "trim", **options)
    merge_datasets([source, source], "t/m", out / "merge", video_files_size_in_mb=0.1, **options)


@pytest.fixture
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, num_gpus=0, **_INIT)
    yield
    ray.shutdown()


def test_local_ray_writes_the_serial_bytes(local_ray, fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_multifile")
    _edits(source, tmp_path / "serial", backend="serial")
    _edits(source, tmp_path / "ray", backend="ray", workers=2)  # the ops' keywords
    serial = _digest(tmp_path / "serial")
    assert len([p for p in serial if p.endswith(".mp4")]) > 10
    assert _digest(tmp_path / "ray") == serial


def test_two_node_cluster_writes_the_serial_bytes(fixture_dataset, tmp_path):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, **_INIT_NODE})
    cluster.add_node(num_cpus=1, **_INIT_NODE)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        source = fixture_dataset("v3_av1_multifile")
        with execution("serial"):
            _edits(source, tmp_path / "serial")
        with execution("ray"):
            _edits(source, tmp_path / "ray")
        assert _digest(tmp_path / "ray") == _digest(tmp_path / "serial")
    finally:
        ray.shutdown()
        cluster.shutdown()


_INIT_NODE = {"object_store_memory": 100 * 2**20}
