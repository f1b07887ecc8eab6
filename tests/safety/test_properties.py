"""Random sequences of edits against an in-memory model of episodes and frames (hypothesis).

The model of a dataset is its list of episodes, each a list of frame identities (source episode,
source frame) of one generated base dataset, plus what its features hold. After every step the
new dataset must: pass `validate`; have the model's episodes and lengths; show, when decoded,
the model's frame identities (the identity blocks drawn into every frame); hold, row by row, the
base dataset's data values and task of each identity; and hold in added features the values
computed from each identity. Feature rules run once `robosplice.ops.features` exists.

Examples: ROBOSPLICE_HYPOTHESIS_EXAMPLES (default 12) and ROBOSPLICE_HYPOTHESIS_STEPS (default 8).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from robosplice.dataset import Dataset
from robosplice.errors import IncompatibleDatasetsError, SelectionError
from robosplice.format.info import DEFAULT_FEATURE_NAMES
from robosplice.ops.delete import delete_episodes
from robosplice.ops.filter import filter_episodes
from robosplice.ops.merge import merge_datasets
from robosplice.ops.sample import write_sample
from robosplice.ops.split import split_dataset
from robosplice.ops.trim import trim_episodes
from robosplice.ops.validate import validate
from robosplice.testing import (
    decode_episode_frames,
    frame_identity,
    read_episode_table,
    tree_digest,
)

try:
    from robosplice.ops import features as feature_ops
except ImportError:  # the feature edits are not there yet: their rules are skipped
    feature_ops = None  # type: ignore[assignment]

EXAMPLES = int(os.environ.get("ROBOSPLICE_HYPOTHESIS_EXAMPLES", "12"))
STEPS = int(os.environ.get("ROBOSPLICE_HYPOTHESIS_STEPS", "8"))
CAMERA = "observation.images.top"
MAX_EPISODES = 20  # merges stop growing a dataset past this
DATA_COLUMNS = ("observation.state", "action")
EXTRA_INFO = {"dtype": "float32", "shape": [1], "names": None}

Identity = tuple[int, int]


def identity_code(identity: Identity) -> float:
    """The value an added feature holds for a frame: derived from its identity only."""
    return float(identity[0] * 1000 + identity[1])


@dataclasses.dataclass(frozen=True)
class Base:
    """The generated base dataset: values and task of every (episode, frame) identity."""

    root: Path
    rows: dict[Identity, dict[str, Any]]
    tasks: dict[Identity, str]


@dataclasses.dataclass(frozen=True)
class Node:
    """A dataset on disk and its model.

    `features` maps each non-default feature's current name to what it holds: an original
    column ("observation.state", "action"), the camera ("camera"), or "code" (identity_code).
    """

    root: Path
    episodes: tuple[tuple[Identity, ...], ...]
    features: tuple[tuple[str, str], ...]

    @property
    def feature_map(self) -> dict[str, str]:
        return dict(self.features)

    @property
    def camera(self) -> str | None:
        return next((name for name, kind in self.features if kind == "camera"), None)

    def with_episodes(self, root: Path, episodes: list[tuple[Identity, ...]]) -> Node:
        return Node(root=root, episodes=tuple(episodes), features=self.features)


def build_base(folder: Path) -> Base:
    root = folder / "base"
    dataset = write_sample(
        root,
        episodes=5,
        min_length=8,
        max_length=20,
        cameras=((CAMERA, 48, 80),),
        seed=7,
    )
    rows: dict[Identity, dict[str, Any]] = {}
    tasks: dict[Identity, str] = {}
    for episode in range(dataset.num_episodes):
        table = read_episode_table(dataset, episode)
        columns = {name: table.column(name).to_pylist() for name in DATA_COLUMNS}
        task_index = table.column("task_index").to_pylist()
        for frame in range(table.num_rows):
            rows[(episode, frame)] = {name: columns[name][frame] for name in DATA_COLUMNS}
            tasks[(episode, frame)] = dataset.tasks[task_index[frame]]
    assert validate(dataset) == []
    return Base(root=root, rows=rows, tasks=tasks)


def check_node(node: Node, base: Base) -> None:
    """The dataset on disk is exactly what the model says."""
    problems = validate(node.root)
    assert problems == [], "\n".join(map(str, problems))
    dataset = Dataset(node.root)
    assert [e.length for e in dataset.episodes] == [len(e) for e in node.episodes]
    expected_features = {name for name, _ in node.features}
    actual = {n for n in dataset.features if n not in DEFAULT_FEATURE_NAMES}
    assert actual == expected_features
    for number, identities in enumerate(node.episodes):
        table = read_episode_table(dataset, number)
        assert table.column("frame_index").to_pylist() == list(range(len(identities)))
        tasks = [dataset.tasks[i] for i in table.column("task_index").to_pylist()]
        assert tasks == [base.tasks[identity] for identity in identities], number
        for name, kind in node.features:
            if kind in DATA_COLUMNS:
                got = table.column(name).to_pylist()
                assert got == [base.rows[i][kind] for i in identities], (number, name)
            elif kind == "code":
                got = np.asarray(table.column(name).to_pylist(), dtype=np.float64).reshape(-1)
                want = [identity_code(identity) for identity in identities]
                np.testing.assert_array_equal(got, want, err_msg=f"{number} {name}")
        camera = node.camera
        if camera is not None:
            frames = decode_episode_frames(dataset, camera, number)
            assert [frame_identity(frame) for frame in frames] == list(identities), number


class EditSequences(RuleBasedStateMachine):
    """Edits chained at random on datasets derived from one base; each output is checked."""

    base: ClassVar[Base]
    workspace: ClassVar[Path]
    counts: ClassVar[Counter[str]] = Counter()

    datasets = Bundle("datasets")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="example-", dir=self.workspace))
        self.names = itertools.count()
        self.digests: dict[Path, dict[str, str]] = {}

    def teardown(self) -> None:
        try:
            # Every dataset served as a source of later edits: none of them changed.
            for root, digest in self.digests.items():
                assert tree_digest(root) == digest, f"{root} changed after it was written"
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _out(self) -> Path:
        return self.folder / f"d{next(self.names)}"

    def _count(self, what: str) -> None:
        self.counts[what] += 1

    def _checked(self, node: Node, what: str) -> Node:
        self._count(what)
        check_node(node, self.base)
        self.digests[node.root] = tree_digest(node.root)
        return node

    @initialize(target=datasets)
    def start(self) -> Node:
        root = shutil.copytree(self.base.root, self._out())
        dataset = Dataset(root)
        episodes = [
            tuple((episode, frame) for frame in range(record.length))
            for episode, record in enumerate(dataset.episodes)
        ]
        features = (
            ("observation.state", "observation.state"),
            ("action", "action"),
            (CAMERA, "camera"),
        )
        return self._checked(Node(root=root, episodes=tuple(episodes), features=features), "start")

    @rule(target=datasets, node=datasets, data=st.data())
    def delete(self, node: Node, data: st.DataObject) -> Node:
        count = len(node.episodes)
        if count < 2:
            out = self._out()
            self._count("delete refused (one episode)")
            with pytest.raises(SelectionError, match="Cannot delete all episodes"):
                delete_episodes(node.root, [0], out)
            assert not out.exists()
            return node
        deleted = data.draw(
            st.sets(st.integers(0, count - 1), min_size=1, max_size=count - 1), label="deleted"
        )
        out = self._out()
        delete_episodes(node.root, sorted(deleted), out)
        kept = [e for i, e in enumerate(node.episodes) if i not in deleted]
        return self._checked(node.with_episodes(out, kept), "delete")

    @rule(target=datasets, node=datasets, data=st.data())
    def split(self, node: Node, data: st.DataObject):  # type: ignore[no-untyped-def]
        count = len(node.episodes)
        if count < 2:
            return multiple()
        sides = data.draw(
            st.lists(st.booleans(), min_size=count, max_size=count).filter(
                lambda s: any(s) and not all(s)
            ),
            label="in first split",
        )
        first = [i for i, side in enumerate(sides) if side]
        second = [i for i, side in enumerate(sides) if not side]
        out = self._out()
        results = split_dataset(node.root, {"a": first, "b": second}, out)
        nodes = []
        for name, chosen in (("a", first), ("b", second)):
            assert results[name].root == (out / name).resolve()
            episodes = [node.episodes[i] for i in chosen]
            nodes.append(self._checked(node.with_episodes(out / name, episodes), "split"))
        return multiple(*nodes)

    @rule(target=datasets, first=datasets, second=datasets)
    def merge(self, first: Node, second: Node) -> Node:
        out = self._out()
        if sorted(first.features) != sorted(second.features):
            self._count("merge refused (features differ)")
            with pytest.raises(IncompatibleDatasetsError):
                merge_datasets([first.root, second.root], "local/merged", out)
            assert not out.exists()
            return first
        if len(first.episodes) + len(second.episodes) > MAX_EPISODES:
            self._count("merge skipped (too many episodes)")
            return first
        merge_datasets([first.root, second.root], "local/merged", out)
        merged = [*first.episodes, *second.episodes]
        return self._checked(first.with_episodes(out, merged), "merge")

    @rule(target=datasets, node=datasets, data=st.data())
    def trim(self, node: Node, data: st.DataObject) -> Node:
        count = len(node.episodes)
        chosen = data.draw(
            st.sets(st.integers(0, count - 1), min_size=1, max_size=min(3, count)),
            label="trimmed",
        )
        ranges = {}
        for episode in sorted(chosen):
            length = len(node.episodes[episode])
            start = data.draw(st.integers(0, length - 1), label=f"start {episode}")
            stop = data.draw(st.integers(start + 1, length), label=f"stop {episode}")
            ranges[episode] = (start, stop)
        out = self._out()
        trim_episodes(node.root, ranges, out)
        episodes = [e[slice(*ranges[i])] if i in ranges else e for i, e in enumerate(node.episodes)]
        return self._checked(node.with_episodes(out, episodes), "trim")

    @rule(target=datasets, node=datasets, data=st.data())
    def filter(self, node: Node, data: st.DataObject) -> Node:
        lengths = sorted({len(e) for e in node.episodes})
        low = data.draw(st.sampled_from([None, *lengths]), label="min_length")
        high = data.draw(st.sampled_from([None, *lengths]), label="max_length")
        if low is None and high is None:
            high = lengths[-1]
        kept = [
            i
            for i, e in enumerate(node.episodes)
            if (low is None or len(e) >= low) and (high is None or len(e) <= high)
        ]
        out = self._out()
        if not kept:
            self._count("filter refused (nothing matches)")
            with pytest.raises(SelectionError, match="No episode"):
                filter_episodes(node.root, min_length=low, max_length=high, output_dir=out)
            assert not out.exists()
            return node
        filter_episodes(node.root, min_length=low, max_length=high, output_dir=out)
        return self._checked(node.with_episodes(out, [node.episodes[i] for i in kept]), "filter")

    @precondition(lambda self: feature_ops is not None)
    @rule(target=datasets, node=datasets)
    def add_feature(self, node: Node) -> Node:
        name = f"extra_{next(self.names)}"
        values = np.array([identity_code(i) for e in node.episodes for i in e], dtype=np.float32)
        out = self._out()
        feature_ops.add_features(node.root, {name: (values, dict(EXTRA_INFO))}, out)
        return self._checked(
            Node(root=out, episodes=node.episodes, features=(*node.features, (name, "code"))),
            "add_feature",
        )

    @precondition(lambda self: feature_ops is not None)
    @rule(target=datasets, node=datasets, data=st.data())
    def remove_feature(self, node: Node, data: st.DataObject) -> Node:
        removable = [name for name, kind in node.features if kind != "observation.state"]
        if not removable:
            return node
        name = data.draw(st.sampled_from(removable), label="removed")
        out = self._out()
        feature_ops.remove_feature(node.root, [name], out)
        features = tuple(f for f in node.features if f[0] != name)
        what = "remove_feature (camera)" if node.feature_map[name] == "camera" else "remove_feature"
        return self._checked(Node(root=out, episodes=node.episodes, features=features), what)

    @precondition(lambda self: feature_ops is not None)
    @rule(target=datasets, node=datasets, data=st.data())
    def rename_feature(self, node: Node, data: st.DataObject) -> Node:
        renamable = [name for name, kind in node.features if kind != "observation.state"]
        if not renamable:
            return node
        old = data.draw(st.sampled_from(renamable), label="renamed")
        kind = node.feature_map[old]
        new = f"observation.images.cam{next(self.names)}" if kind == "camera" else f"r{old}"
        out = self._out()
        feature_ops.rename_feature(node.root, {old: new}, out)
        features = tuple((new if n == old else n, k) for n, k in node.features)
        what = "rename_feature (camera)" if kind == "camera" else "rename_feature"
        return self._checked(Node(root=out, episodes=node.episodes, features=features), what)


SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return build_base(tmp_path_factory.mktemp("properties"))


def test_random_edit_sequences_match_the_model(
    base: Base, tmp_path: Path, kill_counts: Counter[str]
) -> None:
    EditSequences.base = base
    EditSequences.workspace = tmp_path
    EditSequences.counts = Counter()
    run_state_machine_as_test(EditSequences, settings=SETTINGS)
    for what, count in EditSequences.counts.items():
        kill_counts[f"property step {what}"] += count
    kill_counts["property examples (edit sequences)"] += EditSequences.counts["start"]


def test_the_base_matches_its_own_model(base: Base, tmp_path: Path) -> None:
    root = shutil.copytree(base.root, tmp_path / "copy")
    dataset = Dataset(root)
    episodes = tuple(
        tuple((episode, frame) for frame in range(record.length))
        for episode, record in enumerate(dataset.episodes)
    )
    features = (
        ("observation.state", "observation.state"),
        ("action", "action"),
        (CAMERA, "camera"),
    )
    check_node(Node(root=root, episodes=episodes, features=features), base)
