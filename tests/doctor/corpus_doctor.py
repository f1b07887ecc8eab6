"""The defect corpus: one-defect copies of a recorder fixture and of a realistic synthetic signal.

Each defect is injected into a copy, the stats are recomputed (so only the defect is wrong), and
the expectation — check, episode, feature, dimension, frames — is written down here, by hand,
from the injection, not from what doctor reports.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.dataset import Dataset
from robosplice.ops.stats import recompute_stats
from robosplice.ops.trim import trim_episodes
from robosplice.testing.synthetic import joint_names, realistic_episodes, write_numeric_dataset

FIXTURE = "v3_av1_multifile"  # lengths 30, 45, 60, 38, 52, 70, 33, 41, 57, 66 at 30 fps
STATE, ACTION = "observation.state", "action"


@dataclass(frozen=True)
class Expect:
    """One finding doctor must report (frames None: any; `frames_between` for a tolerance)."""

    check: str
    episode: int | None
    feature: str | None = None
    dimension: int | None = None
    dimension_name: str | None = None
    frames: tuple[int, int] | None = None
    other_episode: int | None = None
    frames_between: tuple[tuple[int, int], tuple[int, int]] | None = None


# ---- recorder fixture: edit the data parquet of a copy, then recompute every stat ----


def _edit_fixture(root: Path, edit: Callable[[int, dict[str, np.ndarray]], None]) -> None:
    """Call edit(episode, columns) for every episode; columns are writable numpy copies."""
    dataset = Dataset(root)
    paths = sorted({dataset.data_path(e.data_position) for e in dataset.episodes})
    for path in paths:
        table = pq.read_table(path)
        episode = table.column("episode_index").to_numpy()
        columns = {}
        for name in (STATE, ACTION, "timestamp"):
            column = table.column(name).combine_chunks()
            flat = column.flatten() if pa.types.is_fixed_size_list(column.type) else column
            values = flat.to_numpy(zero_copy_only=False).copy()
            columns[name] = values.reshape(len(episode), -1) if name != "timestamp" else values
        for index in np.unique(episode):
            rows = np.flatnonzero(episode == index)
            view = {name: values[rows] for name, values in columns.items()}
            edit(int(index), view)
            for name, values in columns.items():
                values[rows] = view[name]
        for name, values in columns.items():
            field = table.schema.field(name)
            if pa.types.is_fixed_size_list(field.type):
                array = pa.FixedSizeListArray.from_arrays(
                    pa.array(values.reshape(-1), type=field.type.value_type),
                    field.type.list_size,
                )
            else:
                array = pa.array(values, type=field.type)
            table = table.set_column(table.schema.get_field_index(name), field, array)
        pq.write_table(table, path)


def _fixture_defects() -> dict[str, tuple[Callable[[int, dict[str, np.ndarray]], None], Expect]]:
    def frozen(e, c):
        if e == 1:
            c[STATE][:] = c[STATE][0]
            c[ACTION][:] = c[ACTION][0]

    def idle_head(e, c):
        if e == 5:
            c[STATE][:25] = c[STATE][24]
            c[ACTION][:25] = c[ACTION][24]

    def idle_tail(e, c):
        if e == 8:
            c[STATE][35:] = c[STATE][35]
            c[ACTION][35:] = c[ACTION][35]

    def dead(e, c):
        c[STATE][:, 2] = 0.5

    def nan(e, c):
        if e == 3:
            c[STATE][10, 4] = np.nan

    def spike(e, c):
        if e == 6:
            c[ACTION][20, 1] += 0.5

    return {
        "frozen": (frozen, Expect("frozen_episode", 1, frames=(0, 45))),
        "idle_head": (idle_head, Expect("idle_head", 5, frames=(0, 25))),
        "idle_tail": (idle_tail, Expect("idle_tail", 8, frames=(35, 57))),
        "dead": (dead, Expect("dead_dimension", None, STATE, 2, "joint_2")),
        "nan": (nan, Expect("non_finite", 3, STATE, 4, "joint_4", (10, 11))),
        "spike": (spike, Expect("spike", 6, ACTION, 1, "joint_1", (20, 21))),
    }


def _duplicate_fixture(root: Path) -> None:
    """Episode 7 (41 frames) becomes the first 41 frames of episode 2 (60 frames)."""
    copied: dict[str, np.ndarray] = {}

    def take(e, c):
        if e == 2:
            copied.update({k: v[:41].copy() for k, v in c.items() if k != "timestamp"})

    def paste(e, c):
        if e == 7:
            c[STATE][:] = copied[STATE]
            c[ACTION][:] = copied[ACTION]

    _edit_fixture(root, take)
    _edit_fixture(root, paste)


# Timestamp jitter is injected in the realistic corpus only: recompute_stats refuses (rightly) a
# dataset whose timestamps validate rejects.
FIXTURE_DEFECTS = [*_fixture_defects(), "duplicate", "length"]


def fixture_case(name: str, folder: Path) -> tuple[Path, Expect | None]:
    """A copy of the fixture with defect `name` ("clean" for none) and its expectation."""
    root = copy_tree_writable(fixtures_dir() / FIXTURE, folder / "raw")
    expect: Expect | None = None
    if name == "duplicate":
        _duplicate_fixture(root)
        expect = Expect("duplicate_episode", 7, frames=(0, 41), other_episode=2)
    elif name == "length":
        # trim_episodes recomputes the trimmed episode's stats itself.
        trim_episodes(root, {4: (0, 5)}, folder / "case")
        shutil.rmtree(root)
        return folder / "case", Expect("length_outlier", 4, frames=(0, 5))
    elif name != "clean":
        edit, expect = _fixture_defects()[name]
        _edit_fixture(root, edit)
    recompute_stats(root, output_dir=folder / "case")
    shutil.rmtree(root)
    return folder / "case", expect


def three_defects(tmp_path: Path) -> Path:
    """The video fixture with a frozen episode 1, an idle head in 5 and 7 repeating 2's start."""
    raw = copy_tree_writable(fixtures_dir() / "v3_av1_multifile", tmp_path / "raw")
    copied = {}

    def edit(e, c):
        if e == 1:
            c[STATE][:] = c[STATE][0]
            c["action"][:] = c["action"][0]
        if e == 2:
            copied.update({k: v[:41].copy() for k, v in c.items()})
        if e == 5:
            c[STATE][:25] = c[STATE][24]
            c["action"][:25] = c["action"][24]
        if e == 7:
            c[STATE][:] = copied[STATE]
            c["action"][:] = copied["action"]

    _edit_fixture(raw, edit)
    root = recompute_stats(raw, output_dir=tmp_path / "src").root
    shutil.rmtree(raw)
    return root


# ---- realistic signal: inject into the arrays, write with exact stats ----

NAMES = {STATE: {"motors": joint_names(14)}, ACTION: [joint_names(14)]}  # nested lists too


def realistic_source(seed: int = 7) -> list[dict[str, np.ndarray]]:
    """12 episodes, 14 dims (13 joints + gripper), 150–300 frames, scales 0.03–30."""
    return realistic_episodes(12, dims=14, seed=seed)


def _scale(episodes, feature: str, dimension: int) -> float:
    values = np.concatenate([e[feature][:, dimension] for e in episodes])
    return float(values.max() - values.min())


def realistic_case(name: str, folder: Path, seed: int = 7) -> tuple[Path, list[Expect]]:
    """A realistic dataset with defect `name` ("clean" for none) and the expected findings."""
    episodes = realistic_source(seed)
    lengths = [len(e[STATE]) for e in episodes]
    rng = np.random.default_rng(99)
    expect: list[Expect] = []
    if name == "frozen":  # the arm rests: only sensor noise on the state
        ranges = np.array([_scale(episodes, STATE, d) for d in range(14)])
        noise = rng.normal(size=episodes[2][STATE].shape) * ranges * 0.001
        episodes[2][STATE][:] = episodes[2][STATE][0] + noise.astype(np.float32)
        episodes[2][ACTION][:] = episodes[2][ACTION][0]
        expect = [Expect("frozen_episode", 2, frames=(0, lengths[2]))]
    elif name == "idle_head":
        episodes[3][STATE][:40] = episodes[3][STATE][40]
        episodes[3][ACTION][:40] = episodes[3][ACTION][40]
        expect = [Expect("idle_head", 3, frames_between=((0, 40), (0, 48)))]
    elif name == "idle_tail":
        stop = lengths[4] - 40
        episodes[4][STATE][stop:] = episodes[4][STATE][stop]
        episodes[4][ACTION][stop:] = episodes[4][ACTION][stop]
        expect = [
            Expect("idle_tail", 4, frames_between=((stop - 8, lengths[4]), (stop, lengths[4])))
        ]
    elif name == "dead":  # state names are {"motors": [...]}, action names a nested list
        for episode in episodes:
            episode[STATE][:, 5] = 0.25
            episode[ACTION][:, 9] = -1.5
        expect = [
            Expect("dead_dimension", None, STATE, 5, "joint_5"),
            Expect("dead_dimension", None, ACTION, 9, "joint_9"),
        ]
    elif name == "nan":
        episodes[5][ACTION][40, 7] = np.inf
        expect = [Expect("non_finite", 5, ACTION, 7, "joint_7", (40, 41))]
    elif name == "spike":
        # 10% of the joint's range, in one of 14 dimensions: an average over dims hides it.
        episodes[6][STATE][50, 3] += 0.1 * _scale(episodes, STATE, 3)
        expect = [Expect("spike", 6, STATE, 3, "joint_3", (50, 51))]
    elif name == "duplicate":
        episodes[9] = {k: v.copy() for k, v in episodes[4].items()}
        expect = [Expect("duplicate_episode", 9, frames=(0, lengths[4]), other_episode=4)]
    elif name == "duplicate_prefix":
        longer, shorter = sorted((1, 10), key=lambda e: -lengths[e])
        keep = lengths[shorter]
        if longer < shorter:
            episodes[shorter] = {k: v[:keep].copy() for k, v in episodes[longer].items()}
            expect = [Expect("duplicate_episode", shorter, frames=(0, keep), other_episode=longer)]
        else:  # the later, longer episode starts with all of the earlier one
            episodes[longer] = {
                k: np.concatenate([v, episodes[longer][k][keep:]])
                for k, v in episodes[shorter].items()
            }
            expect = [Expect("duplicate_episode", longer, frames=(0, keep), other_episode=shorter)]
    elif name == "length":
        episodes[7] = {k: v[:20].copy() for k, v in episodes[7].items()}
        expect = [Expect("length_outlier", 7, frames=(0, 20))]
    elif name == "jitter":
        stamps = (np.arange(lengths[8]) / 30).astype(np.float32)
        stamps[30] += np.float32(0.01)
        episodes[8]["timestamp"] = stamps
        expect = [Expect("timestamp_jitter", 8, "timestamp", frames=(29, 32))]
    elif name != "clean":
        raise ValueError(name)
    return write_numeric_dataset(folder / "case", episodes, names=NAMES).root, expect


REALISTIC_DEFECTS = [
    "frozen",
    "idle_head",
    "idle_tail",
    "dead",
    "nan",
    "spike",
    "duplicate",
    "duplicate_prefix",
    "length",
    "jitter",
]
