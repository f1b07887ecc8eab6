"""Interop harness: load datasets with the official `lerobot` 0.6.1 and compare what it returns.

Why out-of-process: lerobot needs Python 3.12, torch and its own pins, so it lives in a separate venv
(built by scripts/interop-env.sh). `lerobot_dump.py` runs there and writes every item of a dataset into
an .npz; this module (plain numpy) loads that dump and compares it with another.

Typical use in a test (see test_fixtures_load.py):

    src = load_with_lerobot(src_root, "pyav")
    out = load_with_lerobot(out_root, "pyav")
    assert_same_items(out, src, mapping=kept_rows, exclude=INDEX_KEYS)
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

import fixture_data

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_SCRIPT = REPO_ROOT / "scripts" / "interop-env.sh"
DUMP_SCRIPT = Path(__file__).resolve().with_name("lerobot_dump.py")
BACKENDS = ("pyav", "torchcodec")

# Keys whose values legitimately change when episodes are removed, reordered or merged.
INDEX_KEYS = ("index", "episode_index", "frame_index", "timestamp", "task_index")

# Identity blocks (see fixtures/README.md): rows 0-7 episode, rows 8-15 frame, 10 bits of 8x8 px each.
ID_BITS = 10
ID_BLOCK = 8
ID_THRESHOLD = 128.0

DUMP_TIMEOUT_S = 1800


class LerobotLoadError(RuntimeError):
    """The official loader (or the dump script around it) failed; carries its stderr."""

    def __init__(self, root: Path, backend: str, returncode: int, stderr: str) -> None:
        tail = "\n".join(stderr.strip().splitlines()[-60:])
        super().__init__(
            f"LeRobotDataset failed to load {root} with backend {backend!r} "
            f"(exit {returncode}). stderr tail:\n{tail}"
        )
        self.root = root
        self.backend = backend
        self.returncode = returncode
        self.stderr = stderr


# --------------------------------------------------------------------------------------- locations


fixtures_dir = fixture_data.fixtures_dir


def fixture_names() -> list[str]:
    """Names of the fixture datasets (folders holding meta/info.json), sorted; [] if none."""
    base = fixtures_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "meta" / "info.json").is_file())


def copy_dataset(src: Path, dest: Path) -> Path:
    """Copy a dataset tree and make the copy writable (the shared fixtures are read-only)."""
    shutil.copytree(src, dest, copy_function=shutil.copyfile)
    for dirpath, _dirnames, filenames in os.walk(dest):
        for name in [".", *filenames]:
            p = Path(dirpath, name)
            p.chmod(p.stat().st_mode | stat.S_IWUSR | stat.S_IRUSR)
    return dest


# ------------------------------------------------------------------------------------- environment


@functools.cache
def lerobot_python_path() -> Path:
    """Build (or reuse) the interop venv once per process; return its python.

    Raises RuntimeError with the script's output if the environment cannot be built.
    """
    if not ENV_SCRIPT.is_file():
        raise RuntimeError(f"{ENV_SCRIPT} is missing")
    proc = subprocess.run(["bash", str(ENV_SCRIPT)], capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"{ENV_SCRIPT} failed (exit {proc.returncode}).\nstdout:\n{proc.stdout}\n"
            f"stderr:\n{proc.stderr[-8000:]}"
        )
    python = Path(lines[-1])
    if not python.exists():
        raise RuntimeError(f"{ENV_SCRIPT} printed {python}, which does not exist")
    return python


# ------------------------------------------------------------------------------------------ loading


def _tree_fingerprint(root: Path) -> str:
    """Cheap fingerprint (path, size, mtime) of every file: a cached dump is reused only if unchanged."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath, name)
            st = p.stat()
            h.update(f"{p.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


@functools.cache
def _dump_dir() -> Path:
    """Scratch folder for the npz files, removed when the process exits."""
    path = Path(tempfile.mkdtemp(prefix="robosplice-interop-dumps-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


_DUMP_CACHE: dict[tuple[str, str, str | None, str], dict[str, np.ndarray]] = {}


def load_with_lerobot(
    root: Path | str,
    backend: str,
    *,
    repo_id: str | None = None,
    python: Path | None = None,
    cache: bool = True,
) -> dict[str, np.ndarray]:
    """Every item of `root` as the official LeRobotDataset returns it, via lerobot_dump.py.

    Returns {feature key: values stacked over items} plus `meta/*` entries (see lerobot_dump.py).
    Camera frames are uint8 CHW. Dumps are cached per process keyed by the tree's fingerprint, so
    tests may share a source dump without re-running the loader. Raises LerobotLoadError on failure.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    root = Path(root).resolve()
    key = (str(root), backend, repo_id, _tree_fingerprint(root))
    if cache and key in _DUMP_CACHE:
        return dict(_DUMP_CACHE[key])

    py = python or lerobot_python_path()
    out = _dump_dir() / f"{hashlib.sha256(repr(key).encode()).hexdigest()[:16]}.npz"
    cmd = [str(py), str(DUMP_SCRIPT), str(root), str(out), "--backend", backend]
    if repo_id is not None:
        cmd += ["--repo-id", repo_id]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=DUMP_TIMEOUT_S, check=False)
    if proc.returncode != 0 or not out.is_file():
        raise LerobotLoadError(root, backend, proc.returncode, proc.stderr)
    with np.load(out, allow_pickle=False) as npz:
        items = {k: npz[k] for k in npz.files}
    out.unlink()
    if cache:
        _DUMP_CACHE[key] = items
    return dict(items)


def load_from_hub(
    endpoint: str, repo_id: str, revision: str, backend: str, *, python: Path | None = None
) -> dict[str, np.ndarray]:
    """Every item of `repo_id`@`revision` as lerobot downloads and loads it from `endpoint`
    (`LeRobotDataset(repo_id, revision=...)` with HF_ENDPOINT set; no local root)."""
    py = python or lerobot_python_path()
    out = (
        _dump_dir()
        / f"hub-{hashlib.sha256(repr((repo_id, revision, backend)).encode()).hexdigest()[:16]}.npz"
    )
    cmd = [str(py), str(DUMP_SCRIPT), "-", str(out), "--backend", backend, "--repo-id", repo_id]
    cmd += ["--endpoint", endpoint, "--revision", revision]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=DUMP_TIMEOUT_S, check=False)
    if proc.returncode != 0 or not out.is_file():
        raise LerobotLoadError(
            Path(f"{endpoint}/{repo_id}@{revision}"), backend, proc.returncode, proc.stderr
        )
    with np.load(out, allow_pickle=False) as npz:
        items = {k: npz[k] for k in npz.files}
    out.unlink()
    return items


def camera_keys(items: dict[str, np.ndarray]) -> list[str]:
    """Camera (image or video) keys recorded in a dump."""
    return [str(k) for k in items["meta/camera_keys"]]


def item_keys(items: dict[str, np.ndarray]) -> list[str]:
    """The per-item keys of a dump (everything except meta/*)."""
    return [k for k in items if not k.startswith("meta/")]


# --------------------------------------------------------------------------------------- comparing


def assert_same_items(
    out_items: dict[str, np.ndarray],
    src_items: dict[str, np.ndarray],
    mapping: Sequence[int] | np.ndarray,
    *,
    exclude: Iterable[str] = (),
) -> None:
    """Assert output item i equals source item mapping[i], for every key not in `exclude`.

    Non-visual values must be exactly equal, with the same dtype and shape (NaN equals NaN); `task`
    strings equal; camera frames bit-identical after the dump's uint8 quantization. Pass
    exclude=INDEX_KEYS when the edit renumbers rows or episodes.
    """
    excluded = set(exclude)
    mapping = np.asarray(mapping, dtype=np.int64)
    n_out = int(out_items["meta/len"])
    n_src = int(src_items["meta/len"])
    assert mapping.ndim == 1
    assert len(mapping) == n_out, f"mapping has {len(mapping)} entries, output has {n_out} items"
    if n_out:
        assert mapping.min() >= 0, "negative source index in mapping"
        assert mapping.max() < n_src, f"mapping refers to item {mapping.max()}, source has {n_src}"

    out_keys = set(item_keys(out_items)) - excluded
    src_keys = set(item_keys(src_items)) - excluded
    assert out_keys == src_keys, (
        f"item keys differ: only in output {sorted(out_keys - src_keys)}, "
        f"only in source {sorted(src_keys - out_keys)}"
    )
    cams = set(camera_keys(src_items))
    assert set(camera_keys(out_items)) == cams, "camera keys differ"

    failures: list[str] = []
    for key in sorted(out_keys):
        got = out_items[key]
        want = src_items[key][mapping]
        same_strings = got.dtype.kind == want.dtype.kind == "U"  # widths differ, values may not
        if got.shape != want.shape or (got.dtype != want.dtype and not same_strings):
            failures.append(
                f"{key}: shape/dtype {got.shape} {got.dtype} != {want.shape} {want.dtype}"
            )
            continue
        if key in cams:
            same = (got == want).reshape(len(got), -1).all(axis=1)
        elif got.dtype.kind in "fc":
            eq = (got == want) | (np.isnan(got) & np.isnan(want))
            same = eq.reshape(len(got), -1).all(axis=1)
        else:
            same = (got == want).reshape(len(got), -1).all(axis=1)
        bad = np.flatnonzero(~same)
        if bad.size:
            failures.append(_describe_mismatch(key, got, want, mapping, bad, is_camera=key in cams))
    assert not failures, "items differ:\n" + "\n".join(failures)


def _describe_mismatch(
    key: str,
    got: np.ndarray,
    want: np.ndarray,
    mapping: np.ndarray,
    bad: np.ndarray,
    *,
    is_camera: bool,
) -> str:
    """One readable line per key: how many items differ, and the first few in detail."""
    lines = [f"{key}: {bad.size} of {len(got)} items differ"]
    for i in bad[:5]:
        if is_camera:
            ndiff = int((got[i] != want[i]).sum())
            lines.append(
                f"  out[{i}] vs src[{mapping[i]}]: {ndiff} values differ, identity "
                f"{_safe_identity(got[i])} vs {_safe_identity(want[i])}"
            )
        else:
            lines.append(f"  out[{i}] = {got[i]!r} vs src[{mapping[i]}] = {want[i]!r}")
    return "\n".join(lines)


def _safe_identity(img: np.ndarray) -> tuple[int, int] | str:
    try:
        return frame_identity(img)
    except ValueError as e:
        return f"<{e}>"


# ------------------------------------------------------------------------------------ frame identity


def _to_nhwc(imgs: np.ndarray) -> np.ndarray:
    """(N,H,W,C) or (N,C,H,W) → (N,H,W,C); channel axis is the one of size 1, 3 or 4."""
    if imgs.ndim != 4:
        raise ValueError(f"expected a batch of images (4 dims), got shape {imgs.shape}")
    if imgs.shape[-1] in (1, 3, 4):
        return imgs
    if imgs.shape[1] in (1, 3, 4):
        return np.moveaxis(imgs, 1, -1)
    raise ValueError(f"cannot tell the channel axis of shape {imgs.shape}")


def identity_block_means(imgs: np.ndarray) -> np.ndarray:
    """Mean of every identity block, shape (N, 2, ID_BITS): [:,0] episode bits, [:,1] frame bits.

    Accepts uint8 frames, HWC or CHW, batched or not (a float image in [0,1] is scaled by 255).
    """
    arr = np.asarray(imgs)
    if arr.ndim == 3:
        arr = arr[None]
    arr = _to_nhwc(arr)
    if arr.dtype.kind == "f":
        arr = arr * 255.0
    n, h, w, c = arr.shape
    if h < 2 * ID_BLOCK or w < ID_BITS * ID_BLOCK:
        raise ValueError(f"image {h}x{w} too small for identity blocks")
    top = arr[:, : 2 * ID_BLOCK, : ID_BITS * ID_BLOCK].astype(np.float64)
    return top.reshape(n, 2, ID_BLOCK, ID_BITS, ID_BLOCK, c).mean(axis=(2, 4, 5))


def frame_identities(imgs: np.ndarray) -> np.ndarray:
    """Decode (episode, frame) of a batch of frames: int64 array of shape (N, 2)."""
    bits = identity_block_means(imgs) >= ID_THRESHOLD
    weights = 1 << np.arange(ID_BITS, dtype=np.int64)
    return (bits.astype(np.int64) * weights).sum(axis=2)


def frame_identity(img: np.ndarray) -> tuple[int, int]:
    """Decode (episode, frame) from one uint8 frame, HWC or CHW (fixtures/README.md identity blocks)."""
    arr = np.asarray(img)
    if arr.ndim != 3:
        raise ValueError(f"expected one image (3 dims), got shape {arr.shape}")
    ep, fr = frame_identities(arr)[0]
    return int(ep), int(fr)


def identity_margin(imgs: np.ndarray) -> float:
    """Smallest distance of any identity block mean from the threshold: how safe decoding was."""
    return float(np.abs(identity_block_means(imgs) - ID_THRESHOLD).min())
