"""`batch`: one operation over many datasets, resumable from a manifest, shardable.

Each dataset is one unit on a backend (engine/backends.py; inside a unit the op runs serially,
so pools do not nest). A unit never raises: it returns a record, and the driver appends it as
one JSON line to `<output_root>/batch-manifest.jsonl` as soon as it is done, so a killed run
loses only the datasets in flight. A re-run skips every input whose last record for the
operation says "done". `shard=(i, n)` keeps inputs number i, i+n, i+2n, … (SLURM arrays and
other schedulers without Ray); shards append to the same manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from robosplice._types import PathLike
from robosplice.engine.backends import Backend, check_execution, execution, resolve_backend
from robosplice.errors import SelectionError

MANIFEST_NAME = "batch-manifest.jsonl"


def _validate(source: Path, output: Path) -> dict[str, Any]:
    from robosplice.ops.validate import validate

    problems = validate(source)
    return {"valid": not problems, "problems": [str(p) for p in problems]}


def _repack(source: Path, output: Path) -> dict[str, Any]:
    from robosplice.ops.repack import repack

    result = repack(source, output, overwrite=True)
    return {"episodes": result.num_episodes}


def _info(source: Path, output: Path) -> dict[str, Any]:
    from robosplice.ops.info import dataset_info

    return {"info": dataset_info(source)}


# operation → (function(source, output) → details, whether it writes an output dataset)
OPERATIONS: dict[str, tuple[Callable[[Path, Path], dict[str, Any]], bool]] = {
    "validate": (_validate, False),
    "repack": (_repack, True),
    "info": (_info, False),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchItem:
    """One dataset of a batch: what to run on it and where its output goes."""

    operation: str
    source: str
    output: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchRecord:
    """One manifest line: the outcome of one dataset."""

    operation: str
    source: str
    output: str | None
    status: str  # "done" or "failed"
    seconds: float
    details: dict[str, Any]
    error: str | None = None


def run_item(item: BatchItem) -> BatchRecord:
    """Run one dataset's operation; failures become a "failed" record, never an exception."""
    function, _ = OPERATIONS[item.operation]
    start = time.perf_counter()
    try:
        with execution("serial"):
            details = function(Path(item.source), Path(item.output or item.source))
        status, error = "done", None
    except Exception as exc:
        details = {"traceback": traceback.format_exc(limit=5)}
        status, error = "failed", f"{exc.__class__.__name__}: {exc}"
    return BatchRecord(
        operation=item.operation,
        source=item.source,
        output=item.output,
        status=status,
        seconds=round(time.perf_counter() - start, 3),
        details=details,
        error=error,
    )


def read_manifest(output_root: PathLike) -> list[dict[str, Any]]:
    """Every record of the manifest, oldest first (a torn last line is ignored)."""
    path = Path(output_root) / MANIFEST_NAME
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _append(path: Path, record: BatchRecord) -> None:
    line = (json.dumps(asdict(record), default=str) + "\n").encode("utf-8")
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)  # one write per line: shards can share the file
    finally:
        os.close(descriptor)


def read_inputs(inputs: PathLike | Sequence[PathLike]) -> list[Path]:
    """Dataset folders from a list file (one per line, # comments) or a sequence of paths."""
    if isinstance(inputs, (str, os.PathLike)):
        lines = Path(inputs).read_text(encoding="utf-8").splitlines()
        entries = [line.strip() for line in lines]
        entries = [e for e in entries if e and not e.startswith("#")]
    else:
        entries = [str(p) for p in inputs]
    return [Path(e).expanduser().resolve() for e in entries]


def _output_names(sources: Sequence[Path]) -> list[str]:
    """Each input's folder name, with a short hash of its path where names collide."""
    names = [s.name for s in sources]
    return [
        name
        if names.count(name) == 1
        else f"{name}-{hashlib.sha256(str(s).encode()).hexdigest()[:8]}"
        for name, s in zip(names, sources)
    ]


def parse_shard(text: str) -> tuple[int, int]:
    """`i/N` → (i, N), with 0 ≤ i < N.

    Raises:
        SelectionError: not of that form.
    """
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise SelectionError(f"--shard must look like i/N (e.g. 0/4), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise SelectionError(f"--shard {text}: need 0 ≤ i < N")
    return index, count


def run_batch(
    operation: str,
    inputs: PathLike | Sequence[PathLike],
    output_root: PathLike,
    *,
    shard: tuple[int, int] | None = None,
    backend: str | Backend | None = None,
    workers: int | None = None,
    on_record: Callable[[BatchRecord], None] | None = None,
) -> list[BatchRecord]:
    """Run `operation` on every input not already done; return this run's records.

    Outputs go to `<output_root>/<input folder name>`; the manifest is
    `<output_root>/batch-manifest.jsonl`.

    Raises:
        SelectionError: unknown operation, bad shard, no inputs.

    Example:
        >>> run_batch("repack", "datasets.txt", "/data/repacked", shard=(0, 4))
    """
    if operation not in OPERATIONS:
        raise SelectionError(
            f"unknown batch operation {operation!r}: expected one of {', '.join(OPERATIONS)}"
        )
    check_execution(backend, workers)
    sources = read_inputs(inputs)
    if not sources:
        raise SelectionError("no inputs: the list is empty")
    root = Path(output_root).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    writes = OPERATIONS[operation][1]
    names = _output_names(sources)
    items = [
        BatchItem(
            operation=operation,
            source=str(source),
            output=str(root / name) if writes else None,
        )
        for source, name in zip(sources, names)
    ]
    if shard is not None:
        index, count = shard
        items = items[index::count]
    last: dict[str, str] = {}
    for record in read_manifest(root):
        if record.get("operation") == operation:
            last[record["source"]] = record.get("status", "")
    todo = [item for item in items if last.get(item.source) != "done"]
    runner = resolve_backend(backend, workers, units=len(todo), heavy=True)
    futures: dict[Future[Any], BatchItem] = {runner.submit(run_item, item): item for item in todo}
    records = []
    for future in as_completed(futures):
        item = futures[future]
        try:
            record = future.result()
        except Exception as exc:  # the worker itself died (crash, lost node)
            record = BatchRecord(
                operation=operation,
                source=item.source,
                output=item.output,
                status="failed",
                seconds=0.0,
                details={},
                error=f"{exc.__class__.__name__}: {exc}",
            )
        _append(root / MANIFEST_NAME, record)
        records.append(record)
        if on_record is not None:
            on_record(record)
    order = {item.source: n for n, item in enumerate(todo)}
    return sorted(records, key=lambda r: order[r.source])
