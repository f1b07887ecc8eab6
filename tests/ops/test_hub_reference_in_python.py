"""A Hub reference given to the Python API, which reads and writes local folders, is refused with
the way to pull or push, instead of opening or creating a folder named `hf:` beside the data
(`Path("hf://datasets/o/n")` is the relative folder `hf:/datasets/o/n`). The CLI accepts hf://
for SRC and OUT (tests/hub)."""

from __future__ import annotations

from pathlib import Path

import pytest

from robosplice import delete_episodes, merge_datasets, split_dataset
from robosplice.errors import DatasetNotFoundError, SelectionError

REFERENCES = ["hf://datasets/lab/pick", "https://huggingface.co/datasets/lab/pick"]


@pytest.mark.parametrize("reference", REFERENCES)
def test_a_hub_output_is_refused_and_nothing_is_created(
    reference: str, fixture_dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = fixture_dataset("v3_av1_single")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for edit in (
        lambda: delete_episodes(source, [0], output_dir=reference),
        lambda: merge_datasets([source, source], "lab/merged", output_dir=reference),
        lambda: split_dataset(source, {"train": 0.5, "val": 0.5}, output_dir=reference),
    ):
        with pytest.raises(SelectionError, match=r"robosplice\.hub\.push"):
            edit()
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("reference", REFERENCES)
def test_a_hub_source_is_refused_with_the_way_to_pull_it(
    reference: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetNotFoundError, match=r"robosplice\.hub\.pull"):
        delete_episodes(reference, [0], output_dir=tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
