"""Benchmark robosplice's edits against the official lerobot 0.6.1 tools, same input, same run.

Why: robosplice claims to be fast and lossless because it copies video packets instead of decoding and
re-encoding. This script measures that claim on a dataset written by the official recorder and prints
a Markdown table (for an issue note) or JSON: wall time, peak memory, output size, a `cp -r` baseline,
whether the output video is stream-copied, and the pixel error of decoded frames against the source.
The episode edits (delete, split, merge, trim) and feature edits (add_features, remove_feature) run on
the video dataset; the image→video conversion runs on a recorder image dataset and reports encoded
bytes and PSNR against the source PNGs.

    python bench/bench_edits.py              # recorder datasets (12k-frame video, 6k-frame image), cached
    python bench/bench_edits.py --quick      # small robosplice sample + v3_image fixture, a smoke run
    python bench/bench_edits.py --source DIR # any LeRobot v3.0 dataset (never modified)
    python bench/bench_edits.py --ops add_features,remove_feature,convert

See bench/README.md for how to read the tables.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import datetime
import hashlib
import io
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.parquet as pq

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
ROBOSPLICE_DRIVER = BENCH_DIR / "robosplice_driver.py"
OFFICIAL_DRIVER = BENCH_DIR / "official_driver.py"
MIB = 1024 * 1024
DELETE_EVERY = 10  # delete episodes 0, 10, 20, …: 10 % spread through the dataset
SPLIT_FRACTIONS = {"train": 0.8, "val": 0.2}
TRIM_FRAMES = 10  # cut from the start and from the end of every episode
OPS = ("delete", "split", "merge", "trim", "add_features", "remove_feature", "convert")
EDIT_OPS = tuple(op for op in OPS if op != "convert")  # these run on the video dataset
REWARD = "reward"  # add_features adds this float32 (1,) feature, one random value per frame
REWARD_INFO = {"dtype": "float32", "shape": [1], "names": None}
REMOVED_CAMERA = "observation.images.wrist"  # remove_feature drops it (else the last camera)
CONVERT_ENCODER = {"vcodec": "libsvtav1", "crf": 30, "g": 2}
CONVERT_WORKERS = 2
PSNR_SAMPLES = 200  # converted frames compared with their source PNG, same frames for both tools
ROBOSPLICE_MODULES = [
    f"robosplice.ops.{name}" for name in ("delete", "split", "merge", "trim", "features", "convert")
]
OFFICIAL_MODULES = [
    "lerobot.datasets.dataset_tools",
    "lerobot.datasets.lerobot_dataset",
    "lerobot.configs.video",
]
CP_REPEATS = 3  # `cp -r` is fast and noisy: keep the best of a few


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the table (or JSON)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- locations -------------------------------------------------------------------------------------


def cache_root() -> Path:
    """${XDG_CACHE_HOME:-~/.cache}/robosplice, shared with scripts/interop-env.sh."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "robosplice"


def default_official_python() -> Path:
    """The interop venv's python, where scripts/interop-env.sh builds it."""
    venv = os.environ.get("ROBOSPLICE_INTEROP_VENV") or str(cache_root() / "interop-venv")
    return Path(venv) / "bin" / "python"


FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures" / "datasets"


def fixtures_script() -> Path:
    """make_fixtures.py beside the recorder-written datasets in the repository, as the tests find
    them (tests/fixture_data.py): a clone alone runs the bench."""
    return FIXTURES_DIR / "make_fixtures.py"


# --- input datasets --------------------------------------------------------------------------------


def publish_cached(target: Path, build: Callable[[Path], Path]) -> Path:
    """Reuse `target` if it is a dataset; else build it in a staging folder and rename it into place.

    Why: generating the recorder dataset takes minutes, and an interrupted build must never be
    mistaken for a finished one.
    """
    if (target / "meta" / "info.json").is_file():
        log(f"reusing cached dataset {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{target.name}-", dir=target.parent))
    try:
        build(staging).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def cached_recorder_dataset(profile: str) -> Path:
    return cache_root() / "bench" / profile


def recorder_dataset(official_python: Path | None, profile: str = "bench_video") -> Path:
    """A make_fixtures.py profile written by the official lerobot recorder, cached.

    `bench_video`: 60 episodes, ~12k frames, two AV1 cameras (~8 min to make on 2 cores).
    `bench_image`: 30 episodes, ~5.9k frames, one 320x240 PNG image camera (the convert input,
    ~5 min). A cached copy is used even without the venv; making one needs it.
    """
    target = cached_recorder_dataset(profile)
    if (target / "meta" / "info.json").is_file():
        log(f"reusing cached dataset {target}")
        return target
    if official_python is None:
        raise SystemExit(
            f"the {profile} dataset is not cached and making it needs the lerobot venv: run "
            "`bash scripts/interop-env.sh`, or use --quick / --source"
        )
    script = fixtures_script()
    if not script.is_file():
        raise SystemExit(f"{script} not found in the repository; use --quick / --source")

    def build(staging: Path) -> Path:
        log(
            f"generating the {profile} dataset with the official recorder (takes minutes): {staging}"
        )
        env = {**os.environ, "HF_HOME": str(staging / "hf_home"), "HF_HUB_OFFLINE": "1"}
        log_path = staging / "make_fixtures.log"
        with log_path.open("wb") as sink:
            done = subprocess.run(
                [str(official_python), str(script), str(staging), profile],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                check=False,
            )
        if done.returncode != 0:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            raise SystemExit("make_fixtures.py failed:\n" + "\n".join(tail))
        return staging / profile

    return publish_cached(target, build)


def quick_dataset() -> Path:
    """A small robosplice sample (20 episodes of 150–250 frames, 2 cameras): no venv needed."""

    def build(staging: Path) -> Path:
        from robosplice.ops.sample import write_sample

        log("writing the quick sample dataset with robosplice")
        write_sample(staging / "sample", episodes=20, min_length=150, max_length=250)
        return staging / "sample"

    return publish_cached(cache_root() / "bench" / "quick_sample_20x150-250", build)


def multidim_features(info: dict[str, Any]) -> list[str]:
    """Non-camera features with 2 or more dims: official delete/split crash on them (FORMAT.md §6.1)."""
    return [
        name
        for name, feature in info["features"].items()
        if feature["dtype"] not in ("video", "image") and len(feature["shape"]) >= 2
    ]


def without_multidim(source: Path, workdir: Path, name: str = "source_without_multidim") -> Path:
    """A copy of `source` without ≥2-dim features (robosplice remove_feature, untimed)."""
    names = multidim_features(read_info(source))
    if not names:
        return source
    from robosplice.ops.features import remove_feature

    log(f"--drop-multidim: removing {names} from {source.name} so the official tools can run")
    target = workdir / name
    remove_feature(source, names, target)
    return target


# --- reading datasets (plain pyarrow + json: an independent reader for the checks) -----------------


def read_info(root: Path) -> dict[str, Any]:
    return json.loads((root / "meta" / "info.json").read_text())


@dataclass(frozen=True)
class Episode:
    """An episode's length and, per camera, its video file and start time in that file."""

    index: int
    length: int
    videos: dict[str, tuple[Path, float]]


def read_episodes(root: Path) -> list[Episode]:
    """meta/episodes rows, sorted by episode_index."""
    info = read_info(root)
    keys = [k for k, f in info["features"].items() if f["dtype"] == "video"]
    columns = ["episode_index", "length"]
    for key in keys:
        columns += [f"videos/{key}/chunk_index", f"videos/{key}/file_index"]
        columns += [f"videos/{key}/from_timestamp"]
    rows: list[dict[str, Any]] = []
    for path in sorted((root / "meta" / "episodes").glob("*/*.parquet")):
        rows += pq.read_table(path, columns=columns).to_pylist()
    episodes = []
    for row in sorted(rows, key=lambda r: r["episode_index"]):
        videos = {}
        for key in keys:
            relative = info["video_path"].format(
                video_key=key,
                chunk_index=row[f"videos/{key}/chunk_index"],
                file_index=row[f"videos/{key}/file_index"],
            )
            videos[key] = (root / relative, float(row[f"videos/{key}/from_timestamp"]))
        episodes.append(Episode(row["episode_index"], row["length"], videos))
    return episodes


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def fingerprint(root: Path) -> str:
    """Paths, sizes and mtimes of everything under `root`: any write to the source changes it."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        line = f"{path.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}|{path.is_dir()}\n"
        digest.update(line.encode())
    return digest.hexdigest()


def describe_source(root: Path) -> dict[str, Any]:
    info = read_info(root)
    cameras = {
        key: {
            "shape": feature["shape"],
            "codec": (feature.get("info") or {}).get("video.codec"),
        }
        for key, feature in info["features"].items()
        if feature["dtype"] == "video"
    }
    return {
        "path": str(root),
        "episodes": info["total_episodes"],
        "frames": info["total_frames"],
        "fps": info["fps"],
        "cameras": cameras,
        "video_files": len(list((root / "videos").rglob("*.mp4"))),
        "mib": tree_bytes(root) / MIB,
        "multidim_features": multidim_features(info),
    }


# --- video checks ----------------------------------------------------------------------------------


def packet_digests(path: Path) -> list[bytes]:
    """A digest of every video packet's payload, in file order (demux only, no decoding)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [
            hashlib.blake2b(bytes(packet), digest_size=16).digest()
            for packet in container.demux(stream)
            if packet.size
        ]


def source_packets(root: Path) -> set[bytes]:
    digests: set[bytes] = set()
    for path in (root / "videos").rglob("*.mp4"):
        digests.update(packet_digests(path))
    return digests


@dataclass
class StreamCopy:
    """How many of the output's video packets are byte-identical to a source packet."""

    from_source: int
    total: int

    @property
    def copied(self) -> bool:
        return self.total > 0 and self.from_source == self.total


def stream_copy_check(roots: list[Path], source: set[bytes]) -> StreamCopy:
    found = total = 0
    for root in roots:
        for path in (root / "videos").rglob("*.mp4"):
            digests = packet_digests(path)
            total += len(digests)
            found += sum(d in source for d in digests)
    return StreamCopy(found, total)


def decode_frames(path: Path, times: set[float]) -> dict[float, np.ndarray]:
    """The RGB frame shown at each time, found by seeking to the keyframe before it."""
    frames: dict[float, np.ndarray] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        half_frame = 0.5 / float(stream.average_rate or stream.guessed_rate or 30)
        for moment in sorted(times):
            container.seek(int(moment / stream.time_base), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.time is not None and frame.time >= moment - half_frame:
                    frames[moment] = frame.to_ndarray(format="rgb24")
                    break
    return frames


@dataclass
class FrameCheck:
    """Decoded output frames against the source frames they should show."""

    frames: int = 0
    min_psnr_db: float | None = None  # None: every compared frame is identical
    max_abs_diff: int = 0
    missing: int = 0  # a frame that could not be decoded or had another size


# (output part folder, source episode and frame offset for each output episode)
Part = tuple[str, list[tuple[int, int]]]


def frame_check(output: Path, parts: list[Part], source: Path) -> FrameCheck:
    """Compare frames at the start, middle and end of the first, middle and last output episodes.

    Why: a stream copy must be bit-identical (PSNR ∞, diff 0); a re-encode shows its generation loss.
    """
    source_episodes = read_episodes(source)
    pairs: list[tuple[Path, float, Path, float]] = []
    for folder, mapping in parts:
        episodes = read_episodes(output / folder)
        fps = float(read_info(output / folder)["fps"])
        picks = sorted({0, len(episodes) // 2, len(episodes) - 1})
        for position in picks:
            episode = episodes[position]
            source_index, offset = mapping[position]
            original = source_episodes[source_index]
            for k in sorted({0, episode.length // 2, episode.length - 1}):
                for key, (path, start) in episode.videos.items():
                    source_path, source_start = original.videos[key]
                    pairs.append(
                        (path, start + k / fps, source_path, source_start + (k + offset) / fps)
                    )
    wanted: dict[Path, set[float]] = {}
    for out_path, out_time, src_path, src_time in pairs:
        wanted.setdefault(out_path, set()).add(out_time)
        wanted.setdefault(src_path, set()).add(src_time)
    decoded = {path: decode_frames(path, times) for path, times in wanted.items()}
    check = FrameCheck()
    for out_path, out_time, src_path, src_time in pairs:
        ours, theirs = decoded[out_path].get(out_time), decoded[src_path].get(src_time)
        if ours is None or theirs is None or ours.shape != theirs.shape:
            check.missing += 1
            continue
        diff = ours.astype(np.int16) - theirs.astype(np.int16)
        mse = float(np.mean(np.square(diff, dtype=np.float64)))
        check.frames += 1
        check.max_abs_diff = max(check.max_abs_diff, int(np.abs(diff).max()))
        if mse > 0:
            psnr = 10 * math.log10(255**2 / mse)
            check.min_psnr_db = psnr if check.min_psnr_db is None else min(check.min_psnr_db, psnr)
    return check


# --- feature checks --------------------------------------------------------------------------------


def data_tables(root: Path, columns: list[str]) -> list[Any]:
    return [pq.read_table(path, columns=columns) for path in sorted(root.glob("data/*/*.parquet"))]


def stats_keys(root: Path) -> set[str]:
    path = root / "meta" / "stats.json"
    return set(json.loads(path.read_text())) if path.is_file() else set()


def verify_added(values_path: Path, name: str) -> Callable[[Path], str]:
    """Check of an add_features output: the column holds the given value at every `index`."""

    def check(output: Path) -> str:
        feature = read_info(output)["features"].get(name)
        if feature is None:
            return f"**{name} missing from info.json**"
        values = np.load(values_path).reshape(-1)
        rows = equal = 0
        for table in data_tables(output, ["index", name]):
            column = table.column(name).combine_chunks()
            if hasattr(column, "flatten"):  # stored as a list<float> of length 1
                column = column.flatten()
            got = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float32)
            expected = values[table.column("index").to_numpy()]
            rows += len(got)
            equal += int(np.count_nonzero(got == expected))
        verdict = "all values as given" if equal == rows == len(values) else "**values differ**"
        stats = "in stats.json" if name in stats_keys(output) else "not in stats.json"
        return f"{name}: {verdict} ({equal:,}/{len(values):,} rows), {stats}"

    return check


def verify_removed(name: str) -> Callable[[Path], str]:
    """Check of a remove_feature output: the feature is gone from every place that names it."""

    def check(output: Path) -> str:
        left = []
        if name in read_info(output)["features"]:
            left.append("info.json")
        if any((output / "videos" / name).rglob("*.mp4")):
            left.append("videos/")
        if name in stats_keys(output):
            left.append("stats.json")
        prefixes = (f"videos/{name}/", f"stats/{name}/")
        for path in sorted((output / "meta" / "episodes").glob("*/*.parquet")):
            if any(c.startswith(prefixes) for c in pq.read_schema(path).names):
                left.append("meta/episodes")
                break
        if any(name in pq.read_schema(path).names for path in output.glob("data/*/*.parquet")):
            left.append("data/")
        if left:
            return f"{name} still in {', '.join(left)}"
        return f"{name} gone (info, videos, stats, episodes)"

    return check


# --- image→video conversion checks -----------------------------------------------------------------


def image_keys(info: dict[str, Any]) -> list[str]:
    """The cameras both converters encode: image features named observation.image*."""
    return [
        key
        for key, feature in info["features"].items()
        if feature["dtype"] == "image" and key.startswith("observation.image")
    ]


def decode_image(data: bytes) -> np.ndarray:
    """An image cell's bytes (PNG for the recorder) as RGB, decoded by PyAV (no PIL needed)."""
    with av.open(io.BytesIO(data)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def frame_identity(image: np.ndarray, bits: int = 10) -> tuple[int, int]:
    """(episode, frame) from the 8-pixel identity blocks that make_fixtures.py draws in each frame."""
    values = []
    for row in range(2):
        blocks = image[row * 8 : (row + 1) * 8, : bits * 8].reshape(8, bits, 8, -1)
        on = blocks.mean(axis=(0, 2, 3)) >= 128
        values.append(sum(1 << bit for bit in range(bits) if on[bit]))
    return values[0], values[1]


@dataclass(frozen=True)
class SourceSample:
    """Source frames picked for the PSNR check, located through the source's episodes table."""

    frames: list[tuple[int, int, int]]  # (global index, episode_index, frame in episode)
    images: dict[tuple[int, str], np.ndarray]  # (global index, camera): decoded source image
    mislocated: int  # data rows whose episode_index/frame_index disagree with the episodes table


def sample_source_images(source: Path, count: int) -> SourceSample:
    """`count` random frames (seed 0) of an image dataset, with their decoded source images."""
    info = read_info(source)
    keys = image_keys(info)
    columns = ["episode_index", "dataset_from_index", "dataset_to_index"]
    rows: list[dict[str, Any]] = []
    for path in sorted((source / "meta" / "episodes").glob("*/*.parquet")):
        rows += pq.read_table(path, columns=columns).to_pylist()
    rows.sort(key=lambda r: r["dataset_from_index"])
    total = rows[-1]["dataset_to_index"]
    rng = np.random.default_rng(0)
    picks = sorted(int(i) for i in rng.choice(total, size=min(count, total), replace=False))
    starts = [r["dataset_from_index"] for r in rows]
    frames = []
    for index in picks:
        row = rows[bisect.bisect_right(starts, index) - 1]
        frames.append((index, row["episode_index"], index - row["dataset_from_index"]))
    wanted = {index: (episode, frame) for index, episode, frame in frames}
    images: dict[tuple[int, str], np.ndarray] = {}
    mislocated = 0
    for path in sorted((source / "data").glob("*/*.parquet")):
        reader = pq.ParquetFile(path)
        names = ["index", "episode_index", "frame_index", *keys]
        for batch in reader.iter_batches(batch_size=256, columns=names):
            indices = batch.column("index").to_pylist()
            for row_number, index in enumerate(indices):
                if index not in wanted:
                    continue
                located = (
                    batch.column("episode_index")[row_number].as_py(),
                    batch.column("frame_index")[row_number].as_py(),
                )
                mislocated += located != wanted[index]
                for key in keys:
                    cell = batch.column(key)[row_number].as_py()
                    images[(index, key)] = decode_image(cell["bytes"])
    return SourceSample(frames, images, mislocated)


@dataclass
class ConvertCheck:
    """A converted dataset: encoded size and settings, and decoded frames against the source PNGs."""

    video_bytes: int = 0
    video_files: int = 0
    encoder: str = ""
    frames: int = 0
    psnr_median_db: float | None = None  # None when every compared frame is identical
    psnr_min_db: float | None = None
    identical: int = 0
    identity_matches: int = 0  # frames whose identity blocks name the same (episode, frame)
    missing: int = 0  # a sampled frame that is not in the output or not decodable


def encoder_summary(root: Path, key: str) -> str:
    """The encoder settings the output's info.json records for `key`."""
    video = read_info(root)["features"].get(key, {}).get("info") or {}
    parts = [str(video.get("video.codec")), str(video.get("video.pix_fmt"))]
    parts += [f"{name}={video.get(f'video.{name}')}" for name in ("g", "crf", "preset")]
    return " ".join(parts)


def convert_check(output: Path, sample: SourceSample, keys: list[str]) -> ConvertCheck:
    """Decode the sampled frames from each output episode's video window; PSNR vs the source."""
    videos = sorted((output / "videos").rglob("*.mp4"))
    check = ConvertCheck(
        video_bytes=sum(p.stat().st_size for p in videos),
        video_files=len(videos),
        encoder=encoder_summary(output, keys[0]) if keys else "",
    )
    episodes = {e.index: e for e in read_episodes(output)}
    fps = float(read_info(output)["fps"])
    pairs: list[tuple[int, str, Path, float]] = []
    for index, episode_index, frame in sample.frames:
        for key in keys:
            episode = episodes.get(episode_index)
            if episode is None or key not in episode.videos:
                check.missing += 1
                continue
            path, start = episode.videos[key]
            pairs.append((index, key, path, start + frame / fps))
    wanted: dict[Path, set[float]] = {}
    for _, _, path, moment in pairs:
        wanted.setdefault(path, set()).add(moment)
    decoded = {path: decode_frames(path, times) for path, times in wanted.items()}
    psnrs = []
    for index, key, path, moment in pairs:
        ours, theirs = decoded[path].get(moment), sample.images.get((index, key))
        if ours is None or theirs is None or ours.shape != theirs.shape:
            check.missing += 1
            continue
        check.frames += 1
        check.identity_matches += frame_identity(ours) == frame_identity(theirs)
        mse = float(np.mean(np.square(ours.astype(np.int16) - theirs, dtype=np.float64)))
        if mse == 0:
            check.identical += 1
            psnrs.append(math.inf)
        else:
            psnrs.append(10 * math.log10(255**2 / mse))
    finite = [v for v in psnrs if math.isfinite(v)]
    if finite:
        median = float(np.median(psnrs))
        check.psnr_median_db = median if math.isfinite(median) else None
        check.psnr_min_db = min(finite)
    return check


# --- running the tools -----------------------------------------------------------------------------


@dataclass
class ToolRun:
    """One tool on one op: its own timing (imports excluded), process wall time and peak RSS."""

    ok: bool
    seconds: float | None  # the edit itself, timed inside the process
    process_seconds: float  # the whole process, interpreter start and imports included
    peak_mib: float
    error: str | None = None
    output_mib: float | None = None
    source_unchanged: bool | None = None
    stream_copy: StreamCopy | None = None
    frames: FrameCheck | None = None
    foreign_cores: float | None = None  # cores other processes kept busy while it ran
    data_check: str | None = None  # feature edits: the added/removed feature, checked
    convert: ConvertCheck | None = None  # convert: encoded size and PSNR
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Measured:
    """A finished process: exit code, wall time, its own peak RSS, other processes' CPU use."""

    returncode: int
    seconds: float
    peak_mib: float
    foreign_cores: float | None = None


FOREIGN_NOISY = 0.25  # share of the cores other processes may use before a time is flagged noisy


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy (all cores, steal included), from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if first[0] != "cpu" or len(first) < 9:
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait is busy
    ticks = [int(v) for v in first[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this harness and every child it has waited for (the tools included)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class ForeignCpu:
    """Average number of cores other processes kept busy between `__init__` and `cores()`.

    Why: the 1-min load average counts the benchmark's own encoding, so it cannot tell a busy
    machine from a busy benchmark. Machine busy time minus this process tree's CPU time can.
    """

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.busy = machine_busy_seconds()
        self.own = own_cpu_seconds()

    def cores(self) -> float | None:
        busy = machine_busy_seconds()
        if busy is None or self.busy is None:
            return None
        wall = time.perf_counter() - self.start
        foreign = (busy - self.busy) - (own_cpu_seconds() - self.own)
        return max(0.0, foreign) / wall if wall > 0 else None


# A tiny launcher between the harness and each tool. Why: Linux carries the RSS high-water mark
# of the process that forks into the child across exec, so a tool spawned straight from this
# harness (numpy, PyAV, frame buffers: ~180 MiB) would report at least the harness's peak. The
# launcher starts without `site` at ~10 MiB, spawns the tool and reports the tool's own wait4 rusage.
LAUNCHER = """\
import os, sys
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def spawn_measured(command: list[str], log_path: Path, env: dict[str, str], cwd: Path) -> Measured:
    """Run `command` with output to `log_path`; return its exit code, wall time and own peak RSS.

    Why wait4 and not RUSAGE_CHILDREN: the latter's ru_maxrss is the max over every child so far.
    """
    usage_path = log_path.with_suffix(".rusage")
    launcher = [sys.executable, "-S", "-c", LAUNCHER, str(usage_path), *command]
    foreign = ForeignCpu()
    start = time.perf_counter()
    with log_path.open("wb") as sink:
        subprocess.run(
            launcher, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=cwd, check=True
        )
    seconds = time.perf_counter() - start
    returncode, maxrss = (int(v) for v in usage_path.read_text().split())
    # ru_maxrss is KiB on Linux, bytes on macOS
    peak_mib = maxrss / (MIB if sys.platform == "darwin" else 1024)
    return Measured(returncode, seconds, peak_mib, foreign.cores())


def run_driver(
    python: Path, driver: Path, job: dict[str, Any], tag: str, workdir: Path, env: dict[str, str]
) -> ToolRun:
    """Run `driver` on `job` in a fresh process and collect its result file."""
    job_path = workdir / f"{tag}.job.json"
    result_path = workdir / f"{tag}.result.json"
    log_path = workdir / f"{tag}.log"
    job_path.write_text(json.dumps(job))
    command = [str(python), str(driver), str(job_path), str(result_path)]
    measured = spawn_measured(command, log_path, env, workdir)
    if result_path.is_file():
        result = json.loads(result_path.read_text())
    else:
        lines = log_path.read_text(errors="replace").strip().splitlines() or ["(no output)"]
        result = {"ok": False, "error": f"exit code {measured.returncode}: {lines[-1]}"}
    extra = {k: v for k, v in result.items() if k not in ("ok", "seconds", "error")}
    extra["log"] = str(log_path)
    return ToolRun(
        ok=bool(result["ok"]),
        seconds=result.get("seconds"),
        process_seconds=measured.seconds,
        peak_mib=measured.peak_mib,
        error=result.get("error"),
        foreign_cores=measured.foreign_cores,
        extra=extra,
    )


def import_peak_mib(python: Path, modules: list[str], tag: str, workdir: Path) -> float | None:
    """Peak RSS of a process that only imports a tool: the floor under its peak column."""
    command = [str(python), "-c", "import " + ", ".join(modules)]
    measured = spawn_measured(command, workdir / f"import-{tag}.log", tool_env(workdir), workdir)
    return measured.peak_mib if measured.returncode == 0 else None


def tool_env(workdir: Path) -> dict[str, str]:
    """Offline, a throwaway HF_HOME (nothing lands in the user's cache), no progress bars."""
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(workdir / "hf_home"),
        "ROBOSPLICE_NO_PROGRESS": "1",
    }


def time_cp(folder: Path, scratch: Path) -> float:
    """Best of a few `cp -r` of an output: the cost of just writing its bytes once."""
    best = math.inf
    for _ in range(CP_REPEATS):
        target = scratch / "cp-baseline"
        start = time.perf_counter()
        subprocess.run(["cp", "-r", str(folder), str(target)], check=True)
        best = min(best, time.perf_counter() - start)
        shutil.rmtree(target)
    return best


@dataclass
class OpSpec:
    """An edit to run with both tools: the job (minus its output) and how to check the output."""

    key: str
    label: str
    job: dict[str, Any]
    parts: list[Part]
    official: bool = True
    verify: Callable[[Path], str] | None = None  # a check of the output's data, shown as text
    convert: SourceSample | None = None  # convert: the sampled source frames for the PSNR check
    copy_baseline: bool = True  # time `cp -r` of robosplice's output


def reward_values(source: Path, workdir: Path) -> Path:
    """The add_features values: one random float32 per frame (seed 0), in `index` order, as .npy."""
    rows = read_info(source)["total_frames"]
    values = np.random.default_rng(0).random((rows, 1), dtype=np.float32)
    path = workdir / f"{REWARD}.npy"
    np.save(path, values)
    return path


def removed_camera(source: Path) -> str | None:
    keys = [k for k, f in read_info(source)["features"].items() if f["dtype"] == "video"]
    return REMOVED_CAMERA if REMOVED_CAMERA in keys else (keys[-1] if keys else None)


def op_specs(
    source: Path, halves: tuple[Path, Path], workdir: Path, ops: list[str]
) -> list[OpSpec]:
    """The episode and feature edits in `ops`, sized from the source's episodes and features."""
    episodes = read_episodes(source)
    count = len(episodes)
    deleted = list(range(0, count, DELETE_EVERY))
    kept = [i for i in range(count) if i not in set(deleted)]
    n_train = int(count * SPLIT_FRACTIONS["train"])
    ranges = {
        str(e.index): [TRIM_FRAMES, e.length - TRIM_FRAMES]
        for e in episodes
        if e.length > 2 * TRIM_FRAMES
    }
    half = count // 2
    specs = [
        OpSpec(
            "delete",
            f"delete 10% ({len(deleted)} of {count} episodes)",
            {"op": "delete", "sources": [str(source)], "episodes": deleted},
            [("", [(i, 0) for i in kept])],
        ),
        OpSpec(
            "split",
            "split 80/20 (fractions)",
            {"op": "split", "sources": [str(source)], "fractions": SPLIT_FRACTIONS},
            [
                ("train", [(i, 0) for i in range(n_train)]),
                ("val", [(i, 0) for i in range(n_train, count)]),
            ],
        ),
        OpSpec(
            "merge",
            f"merge 2 halves ({half}+{count - half} episodes)",
            {"op": "merge", "sources": [str(h) for h in halves]},
            [("", [(i, 0) for i in range(count)])],
        ),
        OpSpec(
            "trim",
            f"trim {TRIM_FRAMES}+{TRIM_FRAMES} frames of {len(ranges)} episodes",
            {"op": "trim", "sources": [str(source)], "ranges": ranges},
            [("", [(e.index, TRIM_FRAMES if str(e.index) in ranges else 0) for e in episodes])],
            official=False,
        ),
    ]
    everything = [(i, 0) for i in range(count)]
    if "add_features" in ops:
        values = reward_values(source, workdir)
        specs.append(
            OpSpec(
                "add_features",
                f"add_features {REWARD} float32 (1,) ({len(np.load(values)):,} values)",
                {
                    "op": "add_features",
                    "sources": [str(source)],
                    "name": REWARD,
                    "values": str(values),
                    "info": REWARD_INFO,
                },
                [("", everything)],
                verify=verify_added(values, REWARD),
            )
        )
    camera = removed_camera(source)
    if "remove_feature" in ops and camera is None:
        log("remove_feature: skipped, the source has no video camera to remove")
    elif "remove_feature" in ops:
        specs.append(
            OpSpec(
                "remove_feature",
                f"remove_feature {camera}",
                {"op": "remove_feature", "sources": [str(source)], "features": [camera]},
                [("", everything)],
                verify=verify_removed(camera),
            )
        )
    return [spec for spec in specs if spec.key in ops]


def convert_spec(image_source: Path) -> OpSpec:
    """The image→video conversion, with the source frames its PSNR check compares against."""
    info = read_info(image_source)
    keys = image_keys(info)
    if not keys:
        raise SystemExit(f"{image_source} has no observation.image* image features to convert")
    encoder = " ".join(f"{k}={v}" for k, v in CONVERT_ENCODER.items())
    log(f"convert: decoding {PSNR_SAMPLES} sampled source images for the PSNR check")
    return OpSpec(
        "convert",
        f"convert image→video ({info['total_frames']:,} frames × {len(keys)} camera(s), {encoder})",
        {
            "op": "convert",
            "sources": [str(image_source)],
            "encoder": CONVERT_ENCODER,
            "num_workers": CONVERT_WORKERS,
        },
        [],
        convert=sample_source_images(image_source, PSNR_SAMPLES),
        copy_baseline=False,
    )


def make_halves(source: Path, workdir: Path) -> tuple[Path, Path]:
    """The merge inputs: first and second half of the source, by robosplice split (untimed)."""
    from robosplice.ops.split import split_dataset

    count = len(read_episodes(source))
    lists = {"a": list(range(count // 2)), "b": list(range(count // 2, count))}
    split_dataset(source, lists, workdir / "halves")
    return workdir / "halves" / "a", workdir / "halves" / "b"


@dataclass
class OpResult:
    key: str
    label: str
    robosplice: ToolRun
    official: ToolRun | None  # None: no official tool for this op, or the venv is missing
    official_note: str
    cp_seconds: float | None


def check_output(
    run: ToolRun, output: Path, spec: OpSpec, source: Path, packets: set[bytes]
) -> None:
    """Fill in size, stream-copy and frame checks of a successful run."""
    if not run.ok:
        return
    run.output_mib = tree_bytes(output) / MIB
    if spec.convert is not None:
        try:
            run.convert = convert_check(output, spec.convert, image_keys(read_info(source)))
        except Exception as exc:  # a check failure must not lose the timings
            run.extra["convert_check_error"] = f"{type(exc).__name__}: {exc}"
        return
    roots = [output / folder for folder, _ in spec.parts]
    run.stream_copy = stream_copy_check(roots, packets)
    try:
        run.frames = frame_check(output, spec.parts, source)
    except Exception as exc:  # a check failure must not lose the timings
        run.extra["frame_check_error"] = f"{type(exc).__name__}: {exc}"
    if spec.verify is not None:
        try:
            run.data_check = spec.verify(output)
        except Exception as exc:
            run.data_check = f"**check failed: {type(exc).__name__}: {exc}**"


def run_op(
    spec: OpSpec,
    source: Path,
    workdir: Path,
    official_python: Path | None,
    packets: set[bytes],
) -> OpResult:
    """Both tools, one after the other, each into a fresh folder; the source is fingerprinted."""
    env = tool_env(workdir)
    inputs = [Path(p) for p in spec.job["sources"]]
    before = [fingerprint(p) for p in inputs]

    out = workdir / f"{spec.key}-robosplice"
    log(f"{spec.key}: robosplice")
    ours = run_driver(
        Path(sys.executable),
        ROBOSPLICE_DRIVER,
        {**spec.job, "output": str(out)},
        f"{spec.key}-robosplice",
        workdir,
        env,
    )
    ours.source_unchanged = [fingerprint(p) for p in inputs] == before
    check_output(ours, out, spec, source, packets)
    log(f"{spec.key}: robosplice {_seconds(ours)}")

    theirs: ToolRun | None = None
    note = ""
    if not spec.official:
        note = "n/a: lerobot 0.6.1 has no trim tool"
    elif official_python is None:
        note = "skipped: no lerobot venv"
    else:
        out_official = workdir / f"{spec.key}-official"
        log(f"{spec.key}: official")
        theirs = run_driver(
            official_python,
            OFFICIAL_DRIVER,
            {**spec.job, "output": str(out_official)},
            f"{spec.key}-official",
            workdir,
            env,
        )
        theirs.source_unchanged = [fingerprint(p) for p in inputs] == before
        check_output(theirs, out_official, spec, source, packets)
        log(f"{spec.key}: official {_seconds(theirs)}")

    cp_seconds = time_cp(out, workdir) if ours.ok and spec.copy_baseline else None
    return OpResult(spec.key, spec.label, ours, theirs, note, cp_seconds)


def _seconds(run: ToolRun) -> str:
    if run.ok and run.seconds is not None:
        return f"{run.seconds:.2f} s"
    return f"failed after {run.process_seconds:.1f} s: {run.error}"


# --- report ----------------------------------------------------------------------------------------


def _cell(text: str, limit: int = 110) -> str:
    """Markdown-safe, one line, short: error texts go into table cells."""
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "–"
    ratio = numerator / denominator
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def _official_seconds(result: OpResult) -> str:
    run = result.official
    if run is None:
        return result.official_note or "–"
    if run.ok:
        return _num(run.seconds)
    return _cell(f"error after {run.process_seconds:.1f} s: {run.error}")


def main_table(results: list[OpResult]) -> list[str]:
    lines = [
        "| operation | robosplice s | official s | speed-up (official/robosplice) | output MiB "
        "| cp -r s | robosplice/cp ratio | robosplice peak MiB | official peak MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ours, theirs = r.robosplice, r.official
        our_seconds = ours.seconds if ours.ok else None
        their_seconds = theirs.seconds if theirs is not None and theirs.ok else None
        our_cell = _num(our_seconds) if ours.ok else _cell(f"error: {ours.error}")
        if theirs is None:
            their_peak = "n/a" if not r.official_note.startswith("skipped") else "–"
        else:
            their_peak = f"{theirs.peak_mib:.0f}"
        cells = [
            r.label,
            our_cell,
            _official_seconds(r),
            _ratio(their_seconds, our_seconds) if their_seconds else "–",
            _num(ours.output_mib, 1),
            _num(r.cp_seconds, 3),
            _ratio(our_seconds, r.cp_seconds),
            f"{ours.peak_mib:.0f}",
            their_peak,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _copy_cell(check: StreamCopy | None) -> str:
    if check is None:
        return "–"
    if check.copied:
        return f"yes ({check.total:,} packets, all from source)"
    share = check.from_source / check.total if check.total else 0.0
    return (
        f"no: re-encoded ({check.from_source:,}/{check.total:,} packets from source, {share:.0%})"
    )


def _frames_cells(check: FrameCheck | None) -> list[str]:
    if check is None:
        return ["–", "–", "–"]
    psnr = "∞ (identical)" if check.min_psnr_db is None else f"{check.min_psnr_db:.1f}"
    if not check.frames:
        psnr = "–"
    frames = f"{check.frames}" + (f" ({check.missing} not decodable)" if check.missing else "")
    return [frames, psnr, str(check.max_abs_diff)]


def checks_table(results: list[OpResult]) -> list[str]:
    lines = [
        "| operation | tool | video stream-copied | frames compared | min PSNR dB | max abs pixel diff "
        "| output MiB | source unchanged | data check |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        for tool, run in (("robosplice", r.robosplice), ("official", r.official)):
            if run is None:
                continue
            if not run.ok:
                lines.append(
                    f"| {r.key} | {tool} | {_cell(f'failed: {run.error}', 70)} | | | | | "
                    f"{_yes(run.source_unchanged)} | |"
                )
                continue
            cells = [
                r.key,
                tool,
                _copy_cell(run.stream_copy),
                *_frames_cells(run.frames),
                _num(run.output_mib, 1),
                _yes(run.source_unchanged),
                run.data_check or "–",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def convert_table(result: OpResult) -> list[str]:
    """One row per tool: time, memory, encoded bytes and settings, PSNR of sampled frames."""
    lines = [
        "| tool | seconds | time vs robosplice | peak MiB | output MiB | video bytes | video files "
        "| encoder (info.json) | PSNR median dB | PSNR min dB | frames compared "
        "| identity blocks match | source unchanged |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    ours = result.robosplice
    base = ours.seconds if ours.ok else None
    for tool, run in (("robosplice", ours), ("official", result.official)):
        if run is None:
            lines.append(f"| {tool} | {result.official_note or '–'} |" + " |" * 11)
            continue
        if not run.ok:
            failed = _cell(f"error after {run.process_seconds:.1f} s: {run.error}")
            lines.append(
                f"| {tool} | {failed} | | {run.peak_mib:.0f} |"
                + " |" * 8
                + f" {_yes(run.source_unchanged)} |"
            )
            continue
        check = run.convert or ConvertCheck()
        psnr_median = (
            "∞ (identical)" if check.psnr_median_db is None else f"{check.psnr_median_db:.2f}"
        )
        psnr_min = "∞ (identical)" if check.psnr_min_db is None else f"{check.psnr_min_db:.2f}"
        if not check.frames:
            psnr_median = psnr_min = "–"
        frames = f"{check.frames}" + (f" ({check.missing} missing)" if check.missing else "")
        cells = [
            tool,
            _num(run.seconds),
            _ratio(run.seconds, base) if base else "–",
            f"{run.peak_mib:.0f}",
            _num(run.output_mib, 1),
            f"{check.video_bytes:,}",
            str(check.video_files),
            check.encoder or "–",
            psnr_median,
            psnr_min,
            frames,
            f"{check.identity_matches}/{check.frames}",
            _yes(run.source_unchanged),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _yes(flag: bool | None) -> str:
    return {True: "yes", False: "**NO: the source was modified**", None: "–"}[flag]


def markdown(report: dict[str, Any], results: list[OpResult], convert: OpResult | None) -> str:
    env = report["environment"]
    lines = [
        f"### robosplice vs lerobot {env['lerobot'] or '(not run)'}: dataset edits",
        "",
        f"Machine: {env['cpus']} cores, {env['platform']}; robosplice {env['robosplice']} on Python "
        f"{env['python']}, official tools on Python {env['official_python'] or '–'}. {env['date']}.",
    ]
    src = report["source"]
    if results and src is not None:
        cameras = ", ".join(
            f"{key.rsplit('.', 1)[-1]} {c['shape'][1]}×{c['shape'][0]} {c['codec']}"
            for key, c in src["cameras"].items()
        )
        lines += [
            "",
            "#### Episode and feature edits",
            "",
            f"Source: `{src['path']}` ({report['source_kind']}): {src['episodes']} episodes, "
            f"{src['frames']:,} frames at {src['fps']} fps, cameras: {cameras}; "
            f"{src['video_files']} video files, {src['mib']:.1f} MiB.",
            "",
            *main_table(results),
            "",
            "Times are wall clock of the edit inside its own process (interpreter start and imports "
            "excluded; see `process_seconds` in `--json`); peak = that process's max RSS. "
            f"`cp -r` = best of {CP_REPEATS} copies of robosplice's output (warm page cache).",
            "",
            *checks_table(results),
            "",
            "Frame check: start, middle and last frame of the first, middle and last output episode, "
            "every camera, decoded (PyAV) and compared with the source frame it should show. "
            "Data check: the added feature's column against the given values at every `index`, "
            "and whether it has stats; the removed feature's traces in info, videos, stats and "
            "episodes.",
        ]
    image = report.get("image_source")
    if convert is not None and image is not None:
        shapes = ", ".join(
            f"{key.rsplit('.', 1)[-1]} {shape[1]}×{shape[0]}"
            for key, shape in image["images"].items()
        )
        lines += [
            "",
            "#### Image → video conversion",
            "",
            f"Source: `{image['path']}` ({report['image_source_kind']}): {image['episodes']} "
            f"episodes, {image['frames']:,} frames at {image['fps']} fps, image cameras: {shapes}; "
            f"{image['mib']:.1f} MiB. Both tools: `{convert.label.split('(', 1)[1].rstrip(')')}`, "
            f"num_workers={CONVERT_WORKERS}.",
            "",
            *convert_table(convert),
            "",
            f"PSNR: {PSNR_SAMPLES} frames drawn at random (seed 0, the same for both tools) × every "
            "camera; each is decoded with PyAV from its output episode's video window (episodes "
            "table: file and from_timestamp + frame/fps) and compared with the source PNG from the "
            "parquet row the source episodes table points to. Identity blocks: the episode/frame "
            "number make_fixtures.py draws into each frame, read from both images.",
        ]
    if report["notes"]:
        lines.append("")
    for note in report["notes"]:
        lines.append(f"- {note}")
    lines += ["", f"Total runtime: {report['total_seconds']:.0f} s."]
    return "\n".join(lines)


def _op_json(r: OpResult) -> dict[str, Any]:
    return {
        "op": r.key,
        "label": r.label,
        "cp_seconds": r.cp_seconds,
        "official_note": r.official_note or None,
        "robosplice": asdict(r.robosplice),
        "official": asdict(r.official) if r.official is not None else None,
    }


def to_json(report: dict[str, Any], results: list[OpResult], convert: OpResult | None) -> str:
    ops = [_op_json(r) for r in results]
    converted = _op_json(convert) if convert is not None else None
    return json.dumps({**report, "ops": ops, "convert": converted}, indent=2)


# --- main ------------------------------------------------------------------------------------------


def official_version(python: Path) -> tuple[str, str] | None:
    """(lerobot version, python version) of the venv, or None if lerobot does not import there."""
    if not python.is_file():
        return None
    probe = "import sys, lerobot; print(lerobot.__version__, sys.version.split()[0])"
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    lerobot_version, python_version = done.stdout.split()
    return lerobot_version, python_version


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time robosplice's edits against lerobot 0.6.1's dataset_tools.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--quick",
        action="store_true",
        help="smoke run on a small robosplice sample (no venv needed to make it)",
    )
    which.add_argument("--source", type=Path, help="bench this dataset (it is never modified)")
    parser.add_argument(
        "--image-source",
        type=Path,
        help="image dataset for convert (default: the bench_image recorder dataset; "
        "with --quick the shared v3_image fixture)",
    )
    parser.add_argument(
        "--official-python",
        type=Path,
        default=default_official_python(),
        help="python of the venv with lerobot 0.6.1 (default: the interop venv)",
    )
    parser.add_argument("--no-official", action="store_true", help="robosplice only")
    parser.add_argument(
        "--drop-multidim",
        action="store_true",
        help="first remove ≥2-dim features (untimed), on which the official "
        "delete, split and merge fail, so both tools edit the same runnable input",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write JSON to PATH, or print it instead of Markdown if no PATH",
    )
    parser.add_argument(
        "--ops",
        default=",".join(OPS),
        help=f"comma-separated subset of {','.join(OPS)}, or all (default: all)",
    )
    parser.add_argument("--workdir", type=Path, help="parent folder for outputs (default: tmp)")
    parser.add_argument("--keep", action="store_true", help="keep outputs and logs")
    args = parser.parse_args(argv)
    args.ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    if args.ops == ["all"]:
        args.ops = list(OPS)
    unknown = sorted(set(args.ops) - set(OPS))
    if unknown or not args.ops:
        parser.error(f"--ops: unknown {unknown}, choose from {', '.join(OPS)}")
    return args


@contextlib.contextmanager
def work_folder(parent: Path | None, keep: bool) -> Iterator[Path]:
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="robosplice-bench-", dir=parent))
    try:
        yield folder
    finally:
        if keep:
            log(f"outputs and logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def describe_images(root: Path) -> dict[str, Any]:
    info = read_info(root)
    return {
        "path": str(root),
        "episodes": info["total_episodes"],
        "frames": info["total_frames"],
        "fps": info["fps"],
        "images": {key: info["features"][key]["shape"] for key in image_keys(info)},
        "mib": tree_bytes(root) / MIB,
    }


def edit_source(args: argparse.Namespace, official: tuple[str, str] | None) -> tuple[Path, str]:
    """The dataset of the episode and feature edits, and how it was made."""
    if args.source is not None:
        return args.source.expanduser().resolve(), "given with --source"
    if args.quick:
        return quick_dataset(), "robosplice sample, --quick"
    python = None if official is None else args.official_python
    return recorder_dataset(python, "bench_video"), "official lerobot 0.6.1 recorder"


def image_source(
    args: argparse.Namespace, official: tuple[str, str] | None
) -> tuple[Path | None, str]:
    """The convert input and how it was made, or (None, why not) when there is none."""
    if args.image_source is not None:
        return args.image_source.expanduser().resolve(), "given with --image-source"
    if args.quick:
        fixture = fixtures_script().parent / "v3_image"
        if (fixture / "meta" / "info.json").is_file():
            return fixture, "the repository's v3_image fixture, --quick"
        return None, f"convert skipped: no {fixture} in the repository (or pass --image-source)"
    cached = cached_recorder_dataset("bench_image")
    if official is None and not (cached / "meta" / "info.json").is_file():
        return None, "convert skipped: the bench_image dataset is not cached and needs the venv"
    python = None if official is None else args.official_python
    return recorder_dataset(python, "bench_image"), "official lerobot 0.6.1 recorder"


# Encodes frames.npy with plain PyAV and the convert settings; prints the byte count and versions.
# SVT-AV1 reports its version and how it maps the preset on stderr, which the caller parses.
ENCODE_PROBE = """\
import io, json, sys
import av, numpy as np
frames = np.load(sys.argv[1])
settings = json.loads(sys.argv[2])
buffer = io.BytesIO()
with av.open(buffer, "w", format="mp4") as out:
    stream = out.add_stream(settings.pop("vcodec"), rate=int(sys.argv[3]))
    stream.height, stream.width = frames.shape[1:3]
    stream.pix_fmt = "yuv420p"
    stream.options = {key: str(value) for key, value in settings.items()}
    for frame in frames:
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
codec = ".".join(map(str, av.library_versions["libavcodec"]))
print(json.dumps({"pyav": av.__version__, "libavcodec": codec, "bytes": len(buffer.getvalue())}))
"""
CONTROL_PRESET = 12  # 0.6.1's libsvtav1 default, which both tools use (see the encoder column)
CONTROL_FRAMES = 300


def first_episode_images(source: Path, key: str, limit: int) -> np.ndarray:
    """Up to `limit` frames of the source's first data episode, camera `key`, decoded."""
    frames: list[np.ndarray] = []
    episode = None
    for path in sorted((source / "data").glob("*/*.parquet")):
        reader = pq.ParquetFile(path)
        for batch in reader.iter_batches(batch_size=64, columns=["episode_index", key]):
            for number, episode_index in enumerate(batch.column("episode_index").to_pylist()):
                episode = episode_index if episode is None else episode
                if episode_index != episode or len(frames) >= limit:
                    return np.stack(frames)
                frames.append(decode_image(batch.column(key)[number].as_py()["bytes"]))
    return np.stack(frames)


def encoder_probe(python: Path, frames_path: Path, fps: int) -> dict[str, Any] | None:
    """Bytes of a plain-PyAV encode of the frames with `python`, with its PyAV/SVT-AV1 versions."""
    settings = {**CONVERT_ENCODER, "preset": CONTROL_PRESET}
    command = [str(python), "-c", ENCODE_PROBE, str(frames_path), json.dumps(settings), str(fps)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    version = re.search(r"SVT-AV1 Encoder Lib (v[\w.]+)", done.stderr)
    mapped = re.search(r"Preset M?\d+ is mapped to M?(\d+)", done.stderr)
    result["svt_av1"] = version.group(1) if version else None
    result["svt_preset"] = int(mapped.group(1)) if mapped else CONTROL_PRESET
    return result


def _build(probe: dict[str, Any]) -> str:
    svt = probe["svt_av1"] or "version not reported"
    return (
        f"PyAV {probe['pyav']}, libavcodec {probe['libavcodec']}, SVT-AV1 {svt}, "
        f"preset {CONTROL_PRESET} run as {probe['svt_preset']}"
    )


def encoder_control(
    images: Path, workdir: Path, official_python: Path | None
) -> dict[str, Any] | None:
    """The same frames encoded with the same settings by each Python's own PyAV build.

    Why: the two tools run different PyAV wheels, so different SVT-AV1 versions. The byte ratio
    of this plain encode is the part of the convert size gap that comes from the build.
    """
    key = image_keys(read_info(images))[0]
    frames = first_episode_images(images, key, CONTROL_FRAMES)
    frames_path = workdir / "encoder-control-frames.npy"
    np.save(frames_path, frames)
    fps = int(read_info(images)["fps"])
    log(f"convert: encoder control, {len(frames)} frames with each Python's PyAV")
    control = {
        "frames": len(frames),
        "camera": key,
        "robosplice_python": encoder_probe(Path(sys.executable), frames_path, fps),
        "official_python": None
        if official_python is None
        else encoder_probe(official_python, frames_path, fps),
    }
    frames_path.unlink()
    return control


def convert_notes(convert: OpResult, control: dict[str, Any] | None) -> list[str]:
    """Why the convert numbers are noisier than the edits', and what differs between the tools."""
    notes = [
        "convert: a single run per tool (no repeats, no spread); rerun to see the variation. "
        "Nearly all of the time is AV1 encoding, which SVT-AV1 spreads over every core "
        "whatever num_workers says, so it follows the load of the whole machine. The bytes and "
        "PSNR depend on the frames, the settings and the encoder build, not on the load.",
        "convert: the official tool writes every frame as a PNG file to a temporary folder and "
        "encodes the files, one video file per batch of episodes (its calibration encode is "
        "included); robosplice decodes the parquet images straight into the encoder, one "
        "episode at a time, and concatenates the packets.",
    ]
    ours = control and control["robosplice_python"]
    theirs = control and control["official_python"]
    if control and ours and theirs:
        line = (
            f"convert encoder control: the first source episode ({control['frames']} frames) "
            "encoded with plain PyAV and the same settings in each Python: robosplice's "
            f"({_build(ours)}) {ours['bytes']:,} bytes; the venv's ({_build(theirs)}) "
            f"{theirs['bytes']:,} bytes, {theirs['bytes'] / ours['bytes']:.2f}× as many."
        )
        run_ours, run_theirs = (
            convert.robosplice.convert,
            convert.official and convert.official.convert,
        )
        if run_ours and run_theirs and run_ours.video_bytes:
            ratio = run_theirs.video_bytes / run_ours.video_bytes
            rest = ratio / (theirs["bytes"] / ours["bytes"])
            line += (
                f" The official output has {ratio:.2f}× robosplice's video bytes; without the "
                f"build's share that is {rest:.2f}×"
                + (
                    ", so the size gap is the encoder build's, not the tool's."
                    if abs(rest - 1) < 0.05
                    else "."
                )
            )
        notes.append(line)
    elif ours:
        notes.append(f"convert encoder (robosplice's Python): {_build(ours)}")
    missed = [
        tool
        for tool, run in (("robosplice", convert.robosplice), ("official", convert.official))
        if run is not None and run.convert is not None and run.convert.missing
    ]
    if missed:
        notes.append(f"convert: sampled frames missing from the output of {', '.join(missed)}")
    return notes


def noise_notes(
    results: list[OpResult], foreign_run: float | None, load: tuple[float, float]
) -> list[str]:
    """How much other processes used the machine, per tool run and over the whole run."""
    cores = os.cpu_count() or 1
    if foreign_run is None:  # no /proc/stat: fall back on the load average
        if max(load) <= cores:
            return []
        return [
            f"the machine was busy (1-min load average {load[0]:.1f} at start, {load[1]:.1f} at "
            f"end, {cores} cores; the benchmark's own work counts too): times are noisy"
        ]
    measured = [
        (f"{r.key} {tool}", run.foreign_cores)
        for r in results
        for tool, run in (("robosplice", r.robosplice), ("official", r.official))
        if run is not None and run.foreign_cores is not None
    ]
    limit = FOREIGN_NOISY * cores
    noisy = [f"{name} {value:.2f}" for name, value in measured if value > limit]
    worst = max((value for _, value in measured), default=0.0)
    line = (
        f"other processes kept {foreign_run:.2f} of {cores} cores busy on average over the run, "
        f"at most {worst:.2f} while a tool ran (/proc/stat busy time minus the benchmark's own "
        "CPU time)"
    )
    if noisy:
        line += (
            f"; above {limit:.2f} cores, these times are noisy: {', '.join(noisy)}. "
            "Rerun those ops on an idle machine"
        )
    return [line + "."]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    official = None if args.no_official else official_version(args.official_python)
    notes: list[str] = []
    if official is None and not args.no_official:
        notes.append(
            f"official tools skipped: no lerobot at {args.official_python} "
            "(build it with `bash scripts/interop-env.sh`)"
        )
    edit_ops = [op for op in args.ops if op in EDIT_OPS]
    source, kind = edit_source(args, official) if edit_ops else (None, "")
    images, image_kind = (None, "")
    if "convert" in args.ops:
        images, image_kind = image_source(args, official)
        if images is None:
            notes.append(image_kind)

    from robosplice import __version__ as robosplice_version

    load_before = os.getloadavg()[0]
    whole_run = ForeignCpu()
    official_python = None if official is None else args.official_python
    results: list[OpResult] = []
    convert: OpResult | None = None
    image_multidim: list[str] = []
    image_described: dict[str, Any] | None = None
    control: dict[str, Any] | None = None
    described: dict[str, Any] | None = None
    with work_folder(args.workdir, args.keep) as workdir:
        if source is not None:
            if args.drop_multidim:
                dropped = multidim_features(read_info(source))
                source = without_multidim(source, workdir)
                if dropped:
                    kind += f", without {', '.join(dropped)} (--drop-multidim)"
            fingerprint_before = fingerprint(source)
            log("indexing source packets")
            packets = source_packets(source)
            halves = make_halves(source, workdir) if "merge" in edit_ops else (source, source)
            specs = op_specs(source, halves, workdir, edit_ops)
            results = [run_op(spec, source, workdir, official_python, packets) for spec in specs]
            if fingerprint(source) != fingerprint_before:
                notes.append("**the source changed during the run**")
            described = describe_source(source)
        if images is not None:
            if args.drop_multidim:
                dropped = multidim_features(read_info(images))
                images = without_multidim(images, workdir, "image_source_without_multidim")
                if dropped:
                    image_kind += f", without {', '.join(dropped)} (--drop-multidim)"
            image_multidim = multidim_features(read_info(images))
            image_described = describe_images(images)
            spec = convert_spec(images)
            convert = run_op(spec, images, workdir, official_python, set())
            control = encoder_control(images, workdir, official_python)
            notes += convert_notes(convert, control)
        import_peaks = {
            "robosplice": import_peak_mib(
                Path(sys.executable), ROBOSPLICE_MODULES, "robosplice", workdir
            ),
            "official": None
            if official_python is None
            else import_peak_mib(official_python, OFFICIAL_MODULES, "official", workdir),
        }

    failed = [r.key for r in results if r.official is not None and not r.official.ok]
    if described is not None and described["multidim_features"] and failed:
        notes.append(
            f"official {', '.join(failed)} failed; the source has ≥2-dim features "
            f"{described['multidim_features']}, which the official tools do not handle "
            "(FORMAT.md §6.1): rerun with --drop-multidim to time them"
        )
    if convert is not None and convert.official is not None and not convert.official.ok:
        if image_multidim:
            notes.append(
                f"official convert failed; the image source has ≥2-dim features {image_multidim} "
                "(FORMAT.md §6.1): rerun with --drop-multidim to time it"
            )
    if import_peaks["official"] is not None:
        notes.append(
            f"peak RSS of a process that only imports the tool: robosplice "
            f"{_num(import_peaks['robosplice'], 0)} MiB, official "
            f"{import_peaks['official']:.0f} MiB (torch); the rest of a peak is the op's own"
        )
    load_after = os.getloadavg()[0]
    foreign_run = whole_run.cores()
    runs = [*results, *([convert] if convert else [])]
    notes += noise_notes(runs, foreign_run, (load_before, load_after))
    report: dict[str, Any] = {
        "source": described,
        "source_kind": kind,
        "image_source": image_described,
        "image_source_kind": image_kind if images is not None else None,
        "environment": {
            "robosplice": robosplice_version,
            "python": platform.python_version(),
            "lerobot": official[0] if official else None,
            "official_python": official[1] if official else None,
            "cpus": os.cpu_count(),
            "load_average": [load_before, load_after],
            "foreign_cores": foreign_run,
            "platform": f"{platform.system()} {platform.machine()}",
            "date": datetime.date.today().isoformat(),
        },
        "import_peak_mib": import_peaks,
        "convert_encoder_control": control,
        "notes": notes,
        "total_seconds": time.perf_counter() - started,
    }
    if args.json == "-":
        print(to_json(report, results, convert))
    else:
        print(markdown(report, results, convert))
        if args.json:
            Path(args.json).write_text(to_json(report, results, convert) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
