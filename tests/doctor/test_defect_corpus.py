"""doctor on the defect corpus: every check finds its defect at the right place, nothing else is
reported, and clean copies (recorder fixtures and a realistic signal) give no finding at all."""

from __future__ import annotations

import pytest
from corpus_doctor import (
    FIXTURE_DEFECTS,
    REALISTIC_DEFECTS,
    Expect,
    fixture_case,
    realistic_case,
)

from fixture_data import FIXTURE_NAMES, fixtures_dir
from robosplice.ops.doctor import QUALITY_KINDS, doctor


def quality(report):
    return [f for f in report.findings if f.check in QUALITY_KINDS]


def matches(finding, expect: Expect) -> bool:
    if (finding.check, finding.episode, finding.feature, finding.dimension) != (
        expect.check,
        expect.episode,
        expect.feature,
        expect.dimension,
    ):
        return False
    if expect.dimension_name is not None and finding.dimension_name != expect.dimension_name:
        return False
    if expect.other_episode is not None and finding.other_episode != expect.other_episode:
        return False
    if expect.frames is not None and finding.frames != expect.frames:
        return False
    if expect.frames_between is not None:
        (low_start, low_stop), (high_start, high_stop) = expect.frames_between
        start, stop = finding.frames
        return low_start <= start <= high_start and low_stop <= stop <= high_stop
    return True


def assert_found_exactly(report, expected: list[Expect]) -> None:
    found = quality(report)
    described = "\n".join(str(f) + f" frames={f.frames}" for f in found)
    for expect in expected:
        assert any(matches(f, expect) for f in found), f"missing {expect}; got:\n{described}"
    assert len(found) == len(expected), f"extra findings:\n{described}"


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_recorder_fixtures_are_clean(name):
    report = doctor(fixtures_dir() / name)
    assert report.findings == ()
    assert report.exit_code == 0


@pytest.mark.parametrize("name", ["clean", *FIXTURE_DEFECTS])
def test_fixture_corpus(name, tmp_path):
    root, expect = fixture_case(name, tmp_path)
    report = doctor(root)
    assert_found_exactly(report, [] if expect is None else [expect])
    assert report.exit_code == (0 if expect is None else 1)


@pytest.mark.parametrize("seed", [7, 8])
def test_realistic_signal_is_clean(seed, tmp_path):
    root, _ = realistic_case("clean", tmp_path, seed=seed)
    report = doctor(root)
    assert report.findings == ()


@pytest.mark.parametrize("name", REALISTIC_DEFECTS)
def test_realistic_corpus(name, tmp_path):
    root, expected = realistic_case(name, tmp_path)
    assert_found_exactly(doctor(root), expected)
