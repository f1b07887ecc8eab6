"""Datasets lerobot 0.3.3's own recorder wrote (v2.1), then mutated into wild classes: `repair` is exact.

The sources are `fixtures/datasets/v21_lerobot033` (recorded by its `record_v21.py` with the official
`LeRobotDataset.create` + `add_frame` + `save_episode`, one parquet and one AV1 mp4 per episode), copied
and mutated by `wild_corpus.RECORDED_CASES`. As in `test_convert_wild.py`, each episode's k-th row and
k-th decoded frame of the source (by position) must be the output's, and the output must validate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_convert_wild import assert_authors_by_position
from wild_corpus import CASES_BY_NAME, RECORDED_CASES

from robosplice.dataset import Dataset
from robosplice.errors import InvalidDatasetError
from robosplice.format.v2_repair import TIMESTAMP_SOURCE
from robosplice.ops.convert_version import convert
from robosplice.ops.repair import repair

AS_RECORDED = [c.name for c in RECORDED_CASES if c.klass == 0]
MUTATED = [c.name for c in RECORDED_CASES if c.klass != 0]


@pytest.mark.parametrize("name", AS_RECORDED)
def test_a_recording_converts_as_it_is_and_repair_has_nothing_to_do(
    name: str, tmp_path: Path, source_guard
) -> None:
    case = CASES_BY_NAME[name]
    case.build(tmp_path / "src")
    source = source_guard(tmp_path / "src")
    assert json.loads((source / "meta/info.json").read_text())["codebase_version"] == "v2.1"
    convert(source, tmp_path / "converted", to="v3.0")
    assert_authors_by_position(case, source, Dataset(tmp_path / "converted"))
    result = repair(source, tmp_path / "repaired")
    assert result.plan.repairs == ()
    assert_authors_by_position(case, source, Dataset(tmp_path / "repaired"))


@pytest.mark.parametrize("name", MUTATED)
def test_a_mutated_recording_is_refused_by_convert_and_repaired_exactly(
    name: str, tmp_path: Path, source_guard
) -> None:
    case = CASES_BY_NAME[name]
    case.build(tmp_path / "src")
    source = source_guard(tmp_path / "src")
    with pytest.raises(InvalidDatasetError):
        convert(source, tmp_path / "converted", to="v3.0")
    assert not (tmp_path / "converted").exists()
    result = repair(source, tmp_path / "out")
    assert result.plan.repairs
    output = Dataset(tmp_path / "out")
    assert_authors_by_position(case, source, output)
    assert (TIMESTAMP_SOURCE in output.features) == (case.klass == 1)
