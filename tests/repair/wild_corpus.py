"""Datasets as people actually have them: one builder per class of issue 21, by mutating the fixtures.

Third-party LeRobot datasets (a lab's own converter, an old recorder, GR00T / openpi exports) differ
from what lerobot's recorder writes. Each `WildCase` reproduces one such difference on a small
dataset and says what the author's files unambiguously say, so a test can check a repaired output
against it: the episodes that must survive (with their lengths) and the class of the difference.

The v2.x bases come from `v21_fixtures.v21_from_v3` (an independent v2.1 writer: one parquet and one
mp4 per episode, frames re-encoded afresh); the v3.0 bases are copies of the recorder-written
fixtures. `RECORDED_CASES` start from datasets the official v2.1 recorder (lerobot 0.3.3) wrote
(`fixtures/datasets/v21_lerobot033`, made by its `record_v21.py`). Builders write only under the
root they are given.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fixture_data import copy_tree_writable, fixtures_dir
from v21_fixtures import encode_episode, synthetic_v21, v21_from_v3, write_v21

BASE = "v3_av1_single"  # 6 episodes of 40, 25, 55, 31, 47, 36 frames, 2 cameras, 3 tasks
BASE_LENGTHS = (40, 25, 55, 31, 47, 36)
FPS = 30
FRONT = "observation.images.front"
REAL_EPISODES = "meta/episodes/chunk-000/file-000.parquet"  # the right one in a v3.0 case


@dataclass(frozen=True, slots=True, kw_only=True)
class WildCase:
    """One class of real-world difference, reproduced on a small dataset.

    Args:
        name: the case id (`<class>_<what>`).
        klass: the issue-21 class number (1–8; 0: a recording as its recorder wrote it).
        what: one line a README table can show.
        version: the version the folder claims.
        build: writes the dataset under the given (absent) root.
        lengths: the episode lengths the author's files say (what a repair must keep).
        decidable: False when a repair must refuse (and name the way out) rather than guess.
        episodes_file: (v3.0) the episodes file that matches the data, beside any stray one.
    """

    name: str
    klass: int
    what: str
    version: str
    build: Callable[[Path], None]
    lengths: tuple[int, ...] = BASE_LENGTHS
    decidable: bool = True
    notes: tuple[str, ...] = field(default=())
    episodes_file: str = REAL_EPISODES


# ------------------------------------------------------------------------------ bases


_V21_CACHE: dict[tuple[str, str], Path] = {}


def _v21_base(root: Path, *, codec: str = "av1", version: str = "v2.1") -> None:
    """A v2.x copy of the base fixture (built once per process, then copied)."""
    key = (codec, version)
    cached = _V21_CACHE.get(key)
    if cached is None or not cached.exists():
        import tempfile

        cached = Path(tempfile.mkdtemp(prefix="robosplice-wild-")) / f"base_{codec}_{version}"
        v21_from_v3(
            fixtures_dir() / BASE,
            cached,
            codec=codec,
            version=version,
            extra_files=False,
            drop=("observation.pose",),
        )
        _V21_CACHE[key] = cached
    shutil.copytree(cached, root)


def _v3_base(root: Path, name: str = BASE) -> None:
    copy_tree_writable(fixtures_dir() / name, root)


def _info(root: Path) -> dict:
    return json.loads((root / "meta/info.json").read_text())


def _write_info(root: Path, info: dict) -> None:
    (root / "meta/info.json").write_text(json.dumps(info, indent=4))


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _episode_files(root: Path) -> list[Path]:
    return sorted((root / "data").glob("*/episode_*.parquet"))


def _edit_episode_tables(root: Path, edit: Callable[[int, pa.Table], pa.Table]) -> None:
    """Rewrite each v2.x episode parquet (keeping its schema metadata unless `edit` drops it)."""
    for number, path in enumerate(_episode_files(root)):
        table = pq.read_table(path)
        pq.write_table(edit(number, table), path)


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    index = table.schema.get_field_index(name)
    if index < 0:
        return table.append_column(name, values)
    return table.set_column(index, name, values)


# ------------------------------------------------------------------------------ class 1: timestamps


def wallclock_timestamps(root: Path) -> None:
    """Capture times: jittery steps, first frame at 0.03 s, drifting up to ~2 s by the end."""
    _v21_base(root)
    _wallclock(root)


def _wallclock(root: Path) -> None:
    rng = np.random.default_rng(0)

    def edit(number: int, table: pa.Table) -> pa.Table:
        n = table.num_rows
        steps = 1 / FPS + rng.normal(0, 0.004, n) + np.linspace(0, 2.0 / n, n)
        stamps = 0.03 + np.concatenate([[0.0], np.cumsum(steps[1:])])
        return _set(table, "timestamp", pa.array(stamps.astype(np.float32)))

    _edit_episode_tables(root, edit)


def late_timestamps(root: Path) -> None:
    """Every timestamp one frame late: the first frame is stamped 1/fps."""
    _v21_base(root)
    _late(root)


def _late(root: Path) -> None:
    def edit(number: int, table: pa.Table) -> pa.Table:
        k = np.arange(1, table.num_rows + 1)
        return _set(table, "timestamp", pa.array((k / FPS).astype(np.float32)))

    _edit_episode_tables(root, edit)


# ------------------------------------------------------------------------------ class 2: stats


def v21_without_episodes_stats(root: Path) -> None:
    """v2.1 with only a v2.0-style stats.json (no meta/episodes_stats.jsonl)."""
    _v21_base(root)
    _stats_json_only(root)


def _stats_json_only(root: Path) -> None:
    rows = _jsonl(root / "meta/episodes_stats.jsonl")
    merged = {
        name: {k: v for k, v in s.items() if k != "count"} for name, s in rows[0]["stats"].items()
    }
    (root / "meta/stats.json").write_text(json.dumps(merged, indent=4))
    (root / "meta/episodes_stats.jsonl").unlink()


# ------------------------------------------------------------------------------ class 3: columns


def _drop_column(name: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        _v21_base(root)
        _edit_episode_tables(root, lambda _n, t: t.drop_columns([name]))

    build.__doc__ = f"Data files without the `{name}` column (still declared in info.json)."
    return build


def partial_features(root: Path) -> None:
    """info.json declares only the data features: no timestamp/frame_index/index/... entries."""
    _v21_base(root)
    info = _info(root)
    for name in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        info["features"].pop(name)
    _write_info(root, info)


def undeclared_column(root: Path) -> None:
    """A `next.done` column in every data file that info.json does not declare."""
    _v21_base(root)

    def edit(number: int, table: pa.Table) -> pa.Table:
        done = np.zeros(table.num_rows, bool)
        done[-1] = True
        return table.append_column("next.done", pa.array(done))

    _edit_episode_tables(root, edit)


def float64_stored(root: Path) -> None:
    """Vectors stored as float64 (pandas-written lists) where info.json declares float32."""
    _v21_base(root)

    def edit(number: int, table: pa.Table) -> pa.Table:
        for name in ("observation.state", "action"):
            column = table.column(name).combine_chunks()
            width = len(column[0])
            flat = column.flatten().cast(pa.float64())
            offsets = pa.array(np.arange(0, len(flat) + 1, width, dtype=np.int32))
            table = _set(table, name, pa.ListArray.from_arrays(offsets, flat))
        return table.replace_schema_metadata(None)

    _edit_episode_tables(root, edit)


INEXACT_TICKS = 2**24 + 1  # an encoder count float32 cannot hold (it rounds to 2**24)


def float64_inexact(root: Path) -> None:
    """float64 values float32 cannot hold, declared float32: `observation.state` off its float32
    values by 1e-9 (a calibration a pandas pipeline applied in float64), and an int-valued
    `action` dimension of raw encoder counts above 2**24."""
    _v21_base(root)

    def edit(number: int, table: pa.Table) -> pa.Table:
        for name in ("observation.state", "action"):
            column = table.column(name).combine_chunks()
            width = len(column[0])
            values = column.flatten().to_numpy().astype(np.float64).reshape(-1, width)
            if name == "observation.state":
                values = values + 1e-9 * (1 + np.arange(values.size).reshape(values.shape))
            else:
                values[:, 0] = INEXACT_TICKS + 2 * np.arange(len(values))
            offsets = pa.array(np.arange(0, values.size + 1, width, dtype=np.int32))
            flat = pa.array(values.reshape(-1))
            table = _set(table, name, pa.ListArray.from_arrays(offsets, flat))
            stats.setdefault(number, {})[name] = {
                "min": values.min(axis=0).tolist(),
                "max": values.max(axis=0).tolist(),
                "mean": values.mean(axis=0).tolist(),
                "std": values.std(axis=0).tolist(),
                "count": [len(values)],
            }
        return table.replace_schema_metadata(None)

    stats: dict[int, dict] = {}
    _edit_episode_tables(root, edit)
    rows = _jsonl(root / "meta/episodes_stats.jsonl")  # the author's stats are of its values
    for row in rows:
        row["stats"].update(stats[row["episode_index"]])
    _write_jsonl(root / "meta/episodes_stats.jsonl", rows)


def groot_annotation_tasks(root: Path) -> None:
    """GR00T export: int64 `annotation.human.*` columns holding task indices, two tasks an episode."""
    _v21_base(root)
    tasks = [r["task"] for r in _jsonl(root / "meta/tasks.jsonl")]
    extra = [f"{t} (validity)" for t in ("valid", "invalid")]
    _write_jsonl(
        root / "meta/tasks.jsonl",
        [{"task_index": i, "task": t} for i, t in enumerate([*tasks, *extra])],
    )
    valid = len(tasks)

    def edit(number: int, table: pa.Table) -> pa.Table:
        n = table.num_rows
        column = np.full(n, valid, np.int64)
        return table.append_column("annotation.human.validity", pa.array(column))

    _edit_episode_tables(root, edit)
    rows = _jsonl(root / "meta/episodes.jsonl")
    for row in rows:
        row["tasks"] = [*row["tasks"], extra[0]]
    _write_jsonl(root / "meta/episodes.jsonl", rows)
    info = _info(root)
    info["features"]["annotation.human.validity"] = {"dtype": "int64", "shape": [1], "names": None}
    info["total_tasks"] = len(tasks) + len(extra)
    _write_info(root, info)


# ------------------------------------------------------------------------------ class 4: templates


def v21_with_v3_placeholders(root: Path) -> None:
    """v2.1 templates spelled with v3.0 placeholders (`{chunk_index}` for `{episode_chunk}`)."""
    _v21_base(root)
    info = _info(root)
    info["data_path"] = "data/chunk-{chunk_index:03d}/episode_{episode_index:06d}.parquet"
    info["video_path"] = (
        "videos/chunk-{chunk_index:03d}/{video_key}/episode_{episode_index:06d}.mp4"
    )
    _write_info(root, info)


def v3_per_episode_templates(root: Path) -> None:
    """v3.0 info.json whose templates name one file per episode (`episode_{file_index:06d}`)."""
    _v3_base(root)
    info = _info(root)
    episodes_path = root / "meta/episodes/chunk-000/file-000.parquet"
    episodes = pq.read_table(episodes_path)
    data = pq.read_table(root / "data/chunk-000/file-000.parquet")
    shutil.rmtree(root / "data")
    for number, length in enumerate(BASE_LENGTHS):
        start = sum(BASE_LENGTHS[:number])
        path = root / f"data/chunk-000/episode_{number:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(data.slice(start, length), path)
    for key in (FRONT, "observation.images.wrist"):
        source = root / f"videos/{key}/chunk-000/file-000.mp4"
        froms = episodes.column(f"videos/{key}/from_timestamp").to_numpy()
        with av.open(str(source)) as container:
            frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
        for number in range(len(BASE_LENGTHS)):
            first = round(froms[number] * FPS)
            window = frames[first : first + BASE_LENGTHS[number]]
            target = root / f"videos/chunk-000/{key}/episode_{number:06d}.mp4"
            encode_episode(window, target, fps=FPS, codec="av1")
        shutil.rmtree(root / f"videos/{key}")
        zeros = pa.array(np.zeros(len(BASE_LENGTHS)))
        episodes = _set(episodes, f"videos/{key}/from_timestamp", zeros)
        episodes = _set(
            episodes,
            f"videos/{key}/to_timestamp",
            pa.array(np.asarray(BASE_LENGTHS, float) / FPS),
        )
        episodes = _set(
            episodes, f"videos/{key}/file_index", pa.array(np.arange(len(BASE_LENGTHS)))
        )
    episodes = _set(episodes, "data/file_index", pa.array(np.arange(len(BASE_LENGTHS))))
    pq.write_table(episodes, episodes_path)
    info["data_path"] = "data/chunk-{chunk_index:03d}/episode_{file_index:06d}.parquet"
    info["video_path"] = "videos/chunk-{chunk_index:03d}/{video_key}/episode_{file_index:06d}.mp4"
    _write_info(root, info)


# ------------------------------------------------------------------------------ class 5: generations


def mixed_generations(root: Path) -> None:
    """v3.0 with v2.1's episodes.jsonl / tasks.jsonl / episodes_stats.jsonl left beside it."""
    _v3_base(root)
    episodes = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    _write_jsonl(
        root / "meta/episodes.jsonl",
        [
            {"episode_index": e["episode_index"], "tasks": e["tasks"], "length": e["length"]}
            for e in episodes
        ],
    )
    tasks = pq.read_table(root / "meta/tasks.parquet").to_pylist()
    _write_jsonl(
        root / "meta/tasks.jsonl",
        [
            {"task_index": t["task_index"], "task": t.get("task") or t.get("__index_level_0__")}
            for t in tasks
        ],
    )
    _write_jsonl(
        root / "meta/episodes_stats.jsonl",
        [{"episode_index": e["episode_index"], "stats": {}} for e in episodes],
    )


def stray_episodes_file(root: Path) -> None:
    """A stray duplicate of the episodes file (`file-000 (1).parquet`) beside the real one."""
    _v3_base(root)
    source = root / "meta/episodes/chunk-000/file-000.parquet"
    shutil.copy(source, source.with_name("file-000 (1).parquet"))


def second_episodes_file(root: Path) -> None:
    """A second episodes file (`file-001.parquet`) listing the same episodes again."""
    _v3_base(root)
    source = root / "meta/episodes/chunk-000/file-000.parquet"
    shutil.copy(source, source.with_name("file-001.parquet"))


def stale_episodes_file_first(root: Path) -> None:
    """An older export's episodes file (`file-000`, ranges one row off) before the current one."""
    _v3_base(root)
    current = root / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(current)
    current.rename(current.with_name("file-001.parquet"))
    for name in ("dataset_from_index", "dataset_to_index"):
        table = _set(table, name, pc.add(table.column(name), 1))
    pq.write_table(table, current)


def plain_tasks_parquet(root: Path) -> None:
    """tasks.parquet with `task_index` and `task` as plain columns (no pandas index)."""
    _v3_base(root)
    path = root / "meta/tasks.parquet"
    table = pq.read_table(path)
    tasks = (
        table.column("__index_level_0__")
        if "__index_level_0__" in table.column_names
        else table.column("task")
    )
    plain = pa.table({"task_index": table.column("task_index"), "task": tasks})
    pq.write_table(plain, path)


def short_to_timestamp(root: Path) -> None:
    """`to_timestamp` one frame short in every episode."""
    _v3_base(root)
    path = root / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(path)
    for key in (FRONT, "observation.images.wrist"):
        name = f"videos/{key}/to_timestamp"
        table = _set(table, name, pc.subtract(table.column(name), 1 / FPS))
    pq.write_table(table, path)


def bare_episode_rows(root: Path) -> None:
    """Episode rows without `stats/*` and `meta/episodes/*` columns."""
    _v3_base(root)
    path = root / "meta/episodes/chunk-000/file-000.parquet"
    table = pq.read_table(path)
    drop = [n for n in table.column_names if n.startswith(("stats/", "meta/episodes/"))]
    pq.write_table(table.drop_columns(drop), path)


# ------------------------------------------------------------------------------ class 6: cameras


def camera_without_files(root: Path) -> None:
    """A video feature declared in info.json with no files at all."""
    _v21_base(root)
    info = _info(root)
    info["features"]["observation.images.side"] = dict(info["features"][FRONT])
    _write_info(root, info)


def channel_first_shape(root: Path) -> None:
    """A camera declared channel-first (`[3, H, W]`, names channels/height/width)."""
    _v21_base(root)
    info = _info(root)
    h, w, c = info["features"][FRONT]["shape"]
    info["features"][FRONT]["shape"] = [c, h, w]
    info["features"][FRONT]["names"] = ["channels", "height", "width"]
    _write_info(root, info)


def _reencode_camera(root: Path, key: str, codec: str, options: dict[str, str]) -> None:
    """Re-encode each v2.x episode mp4 of one camera with another codec (frames kept, pts k/fps)."""
    for path in sorted((root / "videos").glob(f"*/{key}/episode_*.mp4")):
        with av.open(str(path)) as src:
            frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
        tmp = path.with_suffix(".tmp.mp4")
        with av.open(str(tmp), "w", format="mp4") as out:
            stream = out.add_stream(codec, rate=FPS, options=options)
            stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, FPS)
            for k, image in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = k
                frame.time_base = Fraction(1, FPS)
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        tmp.replace(path)


def mpeg4_part2(root: Path) -> None:
    """One camera stored as MPEG-4 Part 2 (`mp4v`), labelled so in info.json."""
    _v21_base(root)
    _reencode_camera(root, FRONT, "mpeg4", {"qscale": "3", "g": "12"})
    info = _info(root)
    info["features"][FRONT]["info"]["video.codec"] = "mpeg4"
    _write_info(root, info)


def codec_label_disagrees(root: Path) -> None:
    """info.json says `h264` for a camera whose stream is AV1."""
    _v21_base(root)
    info = _info(root)
    info["features"][FRONT]["info"]["video.codec"] = "h264"
    _write_info(root, info)


def videos_in_other_folder(root: Path) -> None:
    """Videos stored under `video/` while the template says `videos/` (a refusal with the way out)."""
    _v21_base(root)
    (root / "videos").rename(root / "video")


def long_gop_bframes(root: Path) -> None:
    """Long-GOP H.264 with B-frames: one 400-frame episode with 2 keyframes."""
    synthetic_v21(root, episodes=2, length=200, codec="h264")
    for path in sorted((root / "videos").glob("*/*/episode_*.mp4")):
        path.unlink()
    _merge_long_episode(root)


def _merge_long_episode(root: Path) -> None:
    """Rewrite the synthetic 2×200 dataset as one 400-frame episode with keyint 200."""
    tables = [pq.read_table(p) for p in _episode_files(root)]
    for p in _episode_files(root):
        p.unlink()
    table = pa.concat_tables([t.replace_schema_metadata(None) for t in tables])
    n = table.num_rows
    k = np.arange(n)
    table = _set(table, "frame_index", pa.array(k, pa.int64()))
    table = _set(table, "index", pa.array(k, pa.int64()))
    table = _set(table, "episode_index", pa.array(np.zeros(n, np.int64)))
    table = _set(table, "task_index", pa.array(np.zeros(n, np.int64)))
    table = _set(table, "timestamp", pa.array((k / FPS).astype(np.float32)))
    info = _info(root)
    frames = np.zeros((n, 16, 16, 3), np.uint8)
    frames[:, :, :, 1] = (k * 3 % 256)[:, None, None]
    frames[:, :8, :8, 0] = 200
    shutil.rmtree(root / "meta")
    shutil.rmtree(root / "data")
    write_v21(
        root,
        info_base={"fps": FPS, "robot_type": "sim", "features": info["features"]},
        episodes=[
            {"table": table, "frames": {"observation.images.cam": frames}, "tasks": ["task 0"]}
        ],
        tasks=["task 0"],
        codec="h264",
    )
    _reencode_camera(
        root,
        "observation.images.cam",
        "libx264",
        {"g": "200", "bf": "3", "keyint_min": "200", "sc_threshold": "0"},
    )


# ------------------------------------------------------------------------------ class 7: junk


def junk_in_tree(root: Path) -> None:
    """.DS_Store files, raw session JSONs, an extension-less episode copy, a GR00T modality.json,
    `total_chunks: 0` and `splits` that disagree with the episode count."""
    _v21_base(root)
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "data/.DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "raw_session_0001.json").write_text('{"operator": "a", "start": 1712345678.0}\n')
    first = _episode_files(root)[0]
    shutil.copy(first, first.with_suffix(""))
    (root / "meta/modality.json").write_text('{"state": {"joints": {"start": 0, "end": 6}}}\n')
    info = _info(root)
    info["total_chunks"] = 0
    info["splits"] = {"train": "0:10"}
    _write_info(root, info)


def half_uploaded_chunk(root: Path) -> None:
    """A `chunk-001/` of raw recordings named like episode files of episodes the metadata lacks."""
    _v21_base(root)
    for number in (1000, 1001):
        path = root / f"data/chunk-001/episode_{number:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"raw": pa.array([1.0, 2.0, 3.0])}), path)


def spaces_in_folders(root: Path) -> None:
    """Camera keys (hence folder names) with spaces."""
    _v21_base(root)
    info = _info(root)
    features = {}
    for name, feature in info["features"].items():
        features[name.replace("observation.images.front", "observation.images.front cam")] = feature
    info["features"] = features
    _write_info(root, info)
    for folder in (root / "videos").glob(f"*/{FRONT}"):
        folder.rename(folder.with_name(f"{FRONT} cam"))
    rows = _jsonl(root / "meta/episodes_stats.jsonl")
    for row in rows:
        row["stats"][f"{FRONT} cam"] = row["stats"].pop(FRONT)
    _write_jsonl(root / "meta/episodes_stats.jsonl", rows)


# ------------------------------------------------------------------------------ class 8: shapes


SHORT_LENGTHS = tuple(int(x) for x in np.random.default_rng(7).integers(3, 45, 100))


def many_short_episodes(root: Path) -> None:
    """100 episodes of 3–44 frames."""
    _short(root, SHORT_LENGTHS)


def single_episode(root: Path) -> None:
    """A single-episode dataset."""
    _short(root, (40,))


def _short(root: Path, lengths: tuple[int, ...]) -> None:
    features = {
        "observation.state": {"dtype": "float32", "shape": [2], "names": ["a", "b"]},
        "observation.images.cam": {
            "dtype": "video",
            "shape": [16, 16, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.height": 16,
                "video.width": 16,
                "video.codec": "av1",
                "video.pix_fmt": "yuv420p",
                "video.is_depth_map": False,
                "video.fps": FPS,
                "video.channels": 3,
                "has_audio": False,
            },
        },
        "timestamp": {"dtype": "float32", "shape": [1], "names": None},
        "frame_index": {"dtype": "int64", "shape": [1], "names": None},
        "episode_index": {"dtype": "int64", "shape": [1], "names": None},
        "index": {"dtype": "int64", "shape": [1], "names": None},
        "task_index": {"dtype": "int64", "shape": [1], "names": None},
    }
    episodes, start = [], 0
    for number, length in enumerate(lengths):
        k = np.arange(length)
        state = np.stack([number + k * 0.5, -k * 0.25], axis=1).astype(np.float32)
        table = pa.table(
            {
                "observation.state": pa.FixedSizeListArray.from_arrays(
                    pa.array(state.reshape(-1)), 2
                ),
                "timestamp": pa.array((k / FPS).astype(np.float32)),
                "frame_index": pa.array(k, pa.int64()),
                "episode_index": pa.array(np.full(length, number), pa.int64()),
                "index": pa.array(start + k, pa.int64()),
                "task_index": pa.array(np.zeros(length, np.int64)),
            }
        )
        start += length
        frames = np.zeros((length, 16, 16, 3), np.uint8)
        frames[:, :, :, 0] = (number * 37) % 256
        frames[:, :, :, 1] = ((k * 40) % 256)[:, None, None]
        episodes.append(
            {"table": table, "frames": {"observation.images.cam": frames}, "tasks": ["stack"]}
        )
    write_v21(
        root,
        info_base={"fps": FPS, "robot_type": "sim", "features": features},
        episodes=episodes,
        tasks=["stack"],
        codec="av1",
    )


# ------------------------------------------------------------------------------ recorded by lerobot 0.3.3

RECORDED_LENGTHS = {"v21_two_cams": (20, 14, 26, 17), "v21_one_cam": (12, 18, 15)}


def _recorded(name: str, mutate: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
    """A dataset the official v2.1 recorder wrote (`fixtures/datasets/v21_lerobot033`), mutated."""

    def build(root: Path) -> None:
        copy_tree_writable(fixtures_dir() / "v21_lerobot033" / name, root)
        if mutate is not None:
            mutate(root)

    return build


def _drop_index(root: Path) -> None:
    _edit_episode_tables(root, lambda _n, t: t.drop_columns(["index"]))


RECORDED_CASES: tuple[WildCase, ...] = (
    WildCase(
        name="0_recorded_two_cams",
        klass=0,
        what="as lerobot 0.3.3 recorded it (2 cameras, 4 episodes)",
        version="v2.1",
        build=_recorded("v21_two_cams"),
        lengths=RECORDED_LENGTHS["v21_two_cams"],
    ),
    WildCase(
        name="0_recorded_one_cam",
        klass=0,
        what="as lerobot 0.3.3 recorded it (1 camera, 3 episodes)",
        version="v2.1",
        build=_recorded("v21_one_cam"),
        lengths=RECORDED_LENGTHS["v21_one_cam"],
    ),
    WildCase(
        name="1_recorded_wallclock",
        klass=1,
        what="0.3.3 recording, wall-clock timestamps",
        version="v2.1",
        build=_recorded("v21_two_cams", _wallclock),
        lengths=RECORDED_LENGTHS["v21_two_cams"],
    ),
    WildCase(
        name="1_recorded_late",
        klass=1,
        what="0.3.3 recording, every timestamp a frame late",
        version="v2.1",
        build=_recorded("v21_one_cam", _late),
        lengths=RECORDED_LENGTHS["v21_one_cam"],
    ),
    WildCase(
        name="2_recorded_no_episodes_stats",
        klass=2,
        what="0.3.3 recording, episodes_stats.jsonl removed (stats.json only)",
        version="v2.1",
        build=_recorded("v21_one_cam", _stats_json_only),
        lengths=RECORDED_LENGTHS["v21_one_cam"],
    ),
    WildCase(
        name="3_recorded_no_index",
        klass=3,
        what="0.3.3 recording, `index` dropped from the data files",
        version="v2.1",
        build=_recorded("v21_two_cams", _drop_index),
        lengths=RECORDED_LENGTHS["v21_two_cams"],
    ),
)


# ------------------------------------------------------------------------------ the corpus


CASES: tuple[WildCase, ...] = (
    WildCase(
        name="1_wallclock_timestamps",
        klass=1,
        what="wall-clock timestamps (jitter, 0.03 s start, 2 s drift)",
        version="v2.1",
        build=wallclock_timestamps,
    ),
    WildCase(
        name="1_late_timestamps",
        klass=1,
        what="every timestamp one frame late",
        version="v2.1",
        build=late_timestamps,
    ),
    WildCase(
        name="2_no_episodes_stats",
        klass=2,
        what="v2.1 without episodes_stats.jsonl (stats.json only)",
        version="v2.1",
        build=v21_without_episodes_stats,
    ),
    WildCase(
        name="3_no_index",
        klass=3,
        what="data files without `index`",
        version="v2.1",
        build=_drop_column("index"),
    ),
    WildCase(
        name="3_no_task_index",
        klass=3,
        what="data files without `task_index`",
        version="v2.1",
        build=_drop_column("task_index"),
    ),
    WildCase(
        name="3_no_frame_index",
        klass=3,
        what="data files without `frame_index`",
        version="v2.1",
        build=_drop_column("frame_index"),
    ),
    WildCase(
        name="3_partial_features",
        klass=3,
        what="info.json declares no timestamp/index features",
        version="v2.1",
        build=partial_features,
    ),
    WildCase(
        name="3_undeclared_column",
        klass=3,
        what="undeclared `next.done` column",
        version="v2.1",
        build=undeclared_column,
    ),
    WildCase(
        name="3_float64_stored",
        klass=3,
        what="float64 stored where float32 is declared",
        version="v2.1",
        build=float64_stored,
    ),
    WildCase(
        name="3_float64_inexact",
        klass=3,
        what="float64 values float32 cannot hold (1e-9 offsets, counts > 2**24), declared float32",
        version="v2.1",
        build=float64_inexact,
    ),
    WildCase(
        name="3_groot_annotations",
        klass=3,
        what="GR00T `annotation.human.*` task columns, two tasks an episode",
        version="v2.1",
        build=groot_annotation_tasks,
    ),
    WildCase(
        name="4_v21_v3_placeholders",
        klass=4,
        what="v2.1 templates with v3.0 placeholders",
        version="v2.1",
        build=v21_with_v3_placeholders,
    ),
    WildCase(
        name="4_v3_per_episode_files",
        klass=4,
        what="v3.0 templates naming one file per episode",
        version="v3.0",
        build=v3_per_episode_templates,
    ),
    WildCase(
        name="5_mixed_generations",
        klass=5,
        what="v2.1 jsonl metadata beside v3.0 meta/episodes",
        version="v3.0",
        build=mixed_generations,
    ),
    WildCase(
        name="5_stray_episodes_file",
        klass=5,
        what="a stray duplicate episodes file",
        version="v3.0",
        build=stray_episodes_file,
    ),
    WildCase(
        name="5_second_episodes_file",
        klass=5,
        what="a second episodes file listing the same episodes",
        version="v3.0",
        build=second_episodes_file,
    ),
    WildCase(
        name="5_stale_episodes_file_first",
        klass=5,
        what="an older episodes file (ranges off) listing the same episodes before the current",
        version="v3.0",
        build=stale_episodes_file_first,
        episodes_file="meta/episodes/chunk-000/file-001.parquet",
    ),
    WildCase(
        name="5_plain_tasks_parquet",
        klass=5,
        what="tasks.parquet without a pandas index",
        version="v3.0",
        build=plain_tasks_parquet,
    ),
    WildCase(
        name="5_short_to_timestamp",
        klass=5,
        what="`to_timestamp` one frame short",
        version="v3.0",
        build=short_to_timestamp,
    ),
    WildCase(
        name="5_bare_episode_rows",
        klass=5,
        what="episode rows without stats/* and meta/episodes/*",
        version="v3.0",
        build=bare_episode_rows,
    ),
    WildCase(
        name="6_camera_without_files",
        klass=6,
        what="a declared camera with no files",
        version="v2.1",
        build=camera_without_files,
    ),
    WildCase(
        name="6_channel_first",
        klass=6,
        what="channel-first camera shape [3, H, W]",
        version="v2.1",
        build=channel_first_shape,
    ),
    WildCase(
        name="6_mpeg4_part2",
        klass=6,
        what="MPEG-4 Part 2 (mp4v) camera",
        version="v2.1",
        build=mpeg4_part2,
    ),
    WildCase(
        name="6_codec_label",
        klass=6,
        what="info.json codec label disagrees with the stream",
        version="v2.1",
        build=codec_label_disagrees,
    ),
    WildCase(
        name="6_videos_elsewhere",
        klass=6,
        what="videos under `video/`, template says `videos/`",
        version="v2.1",
        build=videos_in_other_folder,
        decidable=False,
    ),
    WildCase(
        name="6_long_gop_bframes",
        klass=6,
        what="long-GOP H.264 with B-frames (2 keyframes in 400)",
        version="v2.1",
        build=long_gop_bframes,
        lengths=(400,),
    ),
    WildCase(
        name="7_junk",
        klass=7,
        what=".DS_Store, raw JSONs, extension-less copy, modality.json, total_chunks 0, bad splits",
        version="v2.1",
        build=junk_in_tree,
    ),
    WildCase(
        name="7_half_uploaded_chunk",
        klass=7,
        what="unlisted raw `chunk-001/episode_*.parquet`",
        version="v2.1",
        build=half_uploaded_chunk,
    ),
    WildCase(
        name="7_spaces_in_folders",
        klass=7,
        what="camera folder names with spaces",
        version="v2.1",
        build=spaces_in_folders,
    ),
    WildCase(
        name="8_many_short",
        klass=8,
        what="100 episodes of 3–44 frames",
        version="v2.1",
        build=many_short_episodes,
        lengths=SHORT_LENGTHS,
    ),
    WildCase(
        name="8_single_episode",
        klass=8,
        what="a single-episode dataset",
        version="v2.1",
        build=single_episode,
        lengths=(40,),
    ),
)

CASES_BY_NAME: dict[str, WildCase] = {case.name: case for case in (*CASES, *RECORDED_CASES)}
V3_REPAIRED: tuple[str, ...] = (
    "4_v3_per_episode_files",
    "5_stray_episodes_file",
    "5_second_episodes_file",
    "5_stale_episodes_file_first",
    "5_plain_tasks_parquet",
    "5_short_to_timestamp",
    "5_bare_episode_rows",
)
"""The v3.0 cases whose folders `repair` rewrites into another shape (tested row and frame exact,
and in the official loader)."""


# ------------------------------------------------------------------------------ reading v3.0 folders


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthoredEpisode:
    """One episode of a v3.0 folder as its files say, read with pyarrow and PyAV only."""

    row: dict  # its meta/episodes row
    rows: pa.Table  # its data rows (every data parquet, by episode_index), in order
    tasks: list[str]  # the task string of each row
    frames: dict[str, np.ndarray]  # camera -> `length` frames (HWC) from from_timestamp on


def read_v3_episodes(root: Path, episodes_files: list[Path] | None = None) -> list[AuthoredEpisode]:
    """Each episode of the v3.0 folder `root`, following the templates its info.json declares.

    Frames are taken by position: the frame at from_timestamp and the `length - 1` after it.
    `episodes_files` defaults to every meta/episodes file.
    """
    info = _info(root)
    files = episodes_files or sorted((root / "meta/episodes").glob("*/*.parquet"))
    rows = [row for path in files for row in pq.read_table(path).to_pylist()]
    data = pa.concat_tables(
        [pq.read_table(path) for path in sorted((root / "data").glob("*/*.parquet"))],
        promote_options="permissive",
    )
    tasks_table = pq.read_table(root / "meta/tasks.parquet")
    text = "task" if "task" in tasks_table.column_names else "__index_level_0__"
    strings = dict(
        zip(
            tasks_table.column("task_index").to_pylist(),
            tasks_table.column(text).to_pylist(),
            strict=True,
        )
    )
    cameras = [k for k, f in info["features"].items() if f["dtype"] == "video"]
    decoded: dict[Path, list[tuple[float, np.ndarray]]] = {}
    episodes = []
    for row in rows:
        mine = data.filter(pc.equal(data.column("episode_index"), row["episode_index"]))
        length = row["dataset_to_index"] - row["dataset_from_index"]
        frames = {}
        for key in cameras:
            path = root / info["video_path"].format(
                video_key=key,
                chunk_index=row[f"videos/{key}/chunk_index"],
                file_index=row[f"videos/{key}/file_index"],
            )
            if path not in decoded:
                with av.open(str(path)) as container:
                    stream = container.streams.video[0]
                    decoded[path] = [
                        (float(f.pts * stream.time_base), f.to_ndarray(format="rgb24"))
                        for f in container.decode(stream)
                    ]
            times = np.array([t for t, _ in decoded[path]])
            first = int(np.argmin(np.abs(times - row[f"videos/{key}/from_timestamp"])))
            frames[key] = np.stack([image for _, image in decoded[path][first : first + length]])
        episodes.append(
            AuthoredEpisode(
                row=row,
                rows=mine,
                tasks=[strings[i] for i in mine.column("task_index").to_pylist()],
                frames=frames,
            )
        )
    return episodes
