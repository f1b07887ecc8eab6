"""A second edit of an unchanged source reuses its pre-flight findings; any change re-checks it.

Counts the calls of the validation pre-flight runs (`validate_dataset`), keyed by the source's
files' sizes and mtimes; a corrupt source is refused from the cache as it was the first time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import robosplice.ops._run as op_run
from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.errors import InvalidDatasetError
from robosplice.ops.delete import delete_episodes
from robosplice.testing import tree_digest

HISTORY = "meta/robosplice/history.jsonl"


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Roots `validate_dataset` was run on by pre-flight."""
    calls: list[Path] = []
    original: Callable[..., Any] = op_run.validate_dataset

    def counted(root: Path, **kwargs: Any) -> Any:
        calls.append(Path(root))
        return original(root, **kwargs)

    monkeypatch.setattr(op_run, "validate_dataset", counted)
    return calls


def _break_timestamps(source: Path) -> None:
    """Shift every timestamp of a data file by 1 s: a refused error only validation finds."""
    path = next((source / "data").glob("*/*.parquet"))
    table = pq.read_table(path)
    position = table.schema.get_field_index("timestamp")
    shifted = pc.add(table.column(position), pa.scalar(1.0, pa.float32()))
    pq.write_table(table.set_column(position, "timestamp", shifted), path)


def _without_history(root: Path) -> dict[str, str]:
    return {k: v for k, v in tree_digest(root).items() if k != HISTORY}


def test_second_edit_of_an_unchanged_source_is_not_rechecked(
    fixture_dataset: Callable[[str], Path], tmp_path: Path, validations: list[Path]
) -> None:
    source = fixture_dataset("v3_av1_multifile")
    delete_episodes(source, [0], tmp_path / "first")
    delete_episodes(source, [0], tmp_path / "second")
    assert validations == [source]
    assert _without_history(tmp_path / "first") == _without_history(tmp_path / "second")


def test_a_touched_file_is_checked_again(
    fixture_dataset: Callable[[str], Path], tmp_path: Path, validations: list[Path]
) -> None:
    source = fixture_dataset("v3_av1_single")
    delete_episodes(source, [0], tmp_path / "first")
    data = next((source / "data").glob("*/*.parquet"))
    stat = data.stat()
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # same bytes, new mtime
    delete_episodes(source, [0], tmp_path / "second")
    assert validations == [source, source]


def test_a_file_broken_after_a_clean_check_is_refused(
    tmp_path: Path, validations: list[Path]
) -> None:
    source = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "source")
    delete_episodes(source, [0], tmp_path / "first")
    _break_timestamps(source)
    with pytest.raises(InvalidDatasetError, match="bad_timestamp"):
        delete_episodes(source, [0], tmp_path / "second")
    assert validations == [source, source]
    assert not (tmp_path / "second").exists()


def test_a_corrupt_source_is_refused_again_from_the_cache(
    tmp_path: Path, validations: list[Path]
) -> None:
    source = copy_tree_writable(fixtures_dir() / "v3_av1_single", tmp_path / "source")
    _break_timestamps(source)
    before = tree_digest(source)
    for attempt in ("first", "second"):
        with pytest.raises(InvalidDatasetError, match="bad_timestamp"):
            delete_episodes(source, [0], tmp_path / attempt)
        assert not (tmp_path / attempt).exists()
    assert validations == [source]
    assert tree_digest(source) == before
