"""Wild v3.0 folders: `repair` writes a standard v3.0 dataset that is the author's, by position.

Each case comes from `wild_corpus.py` (issue 21's v3.0 classes, built from the recorder-written
`v3_av1_single`). Expected values come from the source files read here with pyarrow and PyAV,
without robosplice: the episode rows of the source's real episodes file, the data rows of each
episode (by `episode_index`, from every data parquet), and the k-th frame of each episode's
window in its source mp4 (the file the declared template names; frames counted from
`from_timestamp`, by position). The output is read the same way at the standard paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from wild_corpus import CASES_BY_NAME, REAL_EPISODES, V3_REPAIRED, read_v3_episodes

from robosplice.format.paths import HISTORY_PATH
from robosplice.ops.repair import repair
from robosplice.ops.validate import validate

V3_CASES: tuple[str, ...] = (*V3_REPAIRED, "5_mixed_generations")
# Kind a v3.0 case plants, as validate names it (with `repair` as the fix), and as repair logs it.
PLANTED: dict[str, str] = {
    "4_v3_per_episode_files": "bad_path_template",
    "5_stray_episodes_file": "stray_episodes_file",
    "5_second_episodes_file": "stray_episodes_file",
    "5_stale_episodes_file_first": "stray_episodes_file",
    "5_plain_tasks_parquet": "tasks_no_pandas_index",
    "5_short_to_timestamp": "video_window_duration",
}
STANDARD_VIDEO = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"


def assert_v3_repair_is_the_authors(source: Path, output: Path, episodes_file: str) -> None:
    """Output valid; each episode's rows, task strings and frames are the source's, in order."""
    assert not [p for p in validate(output) if p.severity == "error"]
    out_info = json.loads((output / "meta/info.json").read_text())
    assert out_info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert out_info["video_path"] == STANDARD_VIDEO
    fps = out_info["fps"]
    authored = read_v3_episodes(source, [source / episodes_file])
    written = read_v3_episodes(output)
    assert [e.row["episode_index"] for e in written] == [e.row["episode_index"] for e in authored]
    for theirs, ours in zip(authored, written, strict=True):
        number = theirs.row["episode_index"]
        assert ours.row["length"] == theirs.row["length"] == theirs.rows.num_rows
        assert ours.rows.num_rows == theirs.rows.num_rows
        assert ours.tasks == theirs.tasks, number
        for name in theirs.rows.column_names:
            if name not in ("index", "task_index"):
                got, want = ours.rows.column(name), theirs.rows.column(name)
                assert got.to_pylist() == want.to_pylist(), (number, name)
        assert ours.rows.column("index").to_pylist() == list(
            range(ours.row["dataset_from_index"], ours.row["dataset_to_index"])
        )
        assert ours.frames.keys() == theirs.frames.keys()
        for key, frames in theirs.frames.items():
            assert np.array_equal(ours.frames[key], frames), (key, number)
            start, end = (ours.row[f"videos/{key}/{e}_timestamp"] for e in ("from", "to"))
            assert end - start == pytest.approx(theirs.row["length"] / fps, abs=1e-6)


def _built(name: str, root: Path, source_guard) -> Path:
    CASES_BY_NAME[name].build(root)
    return source_guard(root)


@pytest.mark.parametrize("name", V3_CASES)
def test_repaired_v3_output_is_the_authors_and_keeps_stats_json(
    name: str, tmp_path: Path, source_guard
) -> None:
    source = _built(name, tmp_path / "src", source_guard)
    repair(source, tmp_path / "out", dry_run=True)
    assert not (tmp_path / "out").exists()
    repair(source, tmp_path / "out")
    assert_v3_repair_is_the_authors(source, tmp_path / "out", CASES_BY_NAME[name].episodes_file)
    # A repair changes nothing that was right: every episode stays whole, so stats.json is the
    # source's, entry for entry, whatever had to be rebuilt beside it.
    before = json.loads((source / "meta/stats.json").read_text())
    after = json.loads((tmp_path / "out/meta/stats.json").read_text())
    assert after == before


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_validate_names_the_class_once_with_repair_as_the_fix_and_repair_logs_it(
    name: str, tmp_path: Path, source_guard
) -> None:
    source = _built(name, tmp_path / "src", source_guard)
    kind = PLANTED[name]
    found = [p for p in validate(source) if p.kind == kind]
    assert found, [str(p) for p in validate(source)]
    assert all("robosplice repair" in p.message for p in found)
    # Once per class: per template field, per stray file, per video file — never per episode.
    assert len(found) <= 2, [str(p) for p in found]
    repair(source, tmp_path / "out")
    log = [json.loads(line) for line in (tmp_path / "out" / HISTORY_PATH).read_text().splitlines()]
    logged = [r for r in log[-1].get("repairs", []) if r["kind"] == kind]
    assert len(logged) == len(found)
    assert all(r["handling"] == "rebuilt" for r in logged)


def test_stray_episodes_file_is_left_out_and_named(tmp_path: Path, source_guard) -> None:
    source = _built("5_stray_episodes_file", tmp_path / "src", source_guard)
    (problem,) = [p for p in validate(source) if p.severity == "error"]
    assert (problem.kind, problem.file) == (
        "stray_episodes_file",
        "meta/episodes/chunk-000/file-000 (1).parquet",
    )
    repair(source, tmp_path / "out")
    written = sorted(p.name for p in (tmp_path / "out/meta/episodes").rglob("*.parquet"))
    assert written == ["file-000.parquet"]
    info = json.loads((tmp_path / "out/meta/info.json").read_text())
    assert info["total_episodes"] == len(CASES_BY_NAME["5_stray_episodes_file"].lengths)


def test_a_template_that_leaves_the_folder_stays_refused(tmp_path: Path, source_guard) -> None:
    from robosplice.errors import UnsafePathError

    root = tmp_path / "src"
    CASES_BY_NAME["4_v3_per_episode_files"].build(root)
    info = json.loads((root / "meta/info.json").read_text())
    info["data_path"] = "../elsewhere/episode_{file_index:06d}.parquet"
    (root / "meta/info.json").write_text(json.dumps(info, indent=4))
    source = source_guard(root)
    assert "unsafe_path" in {p.kind for p in validate(source)}
    with pytest.raises(UnsafePathError):
        repair(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_short_window_whose_length_reaches_the_next_episode_is_refused(
    tmp_path: Path, source_guard
) -> None:
    """from_timestamp one frame late, to_timestamp kept: the 55 frames from there include episode
    3's first, so no end is derivable; repair refuses, naming the overlap, and writes nothing."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from robosplice.errors import InvalidDatasetError

    root = tmp_path / "src"
    CASES_BY_NAME["5_mixed_generations"].build(root)  # a v3.0 case whose windows are right
    path = root / REAL_EPISODES
    table = pq.read_table(path)
    name = "videos/observation.images.front/from_timestamp"
    starts = table.column(name).to_pylist()
    starts[2] += 1 / 30
    table = table.set_column(table.schema.get_field_index(name), name, pa.array(starts))
    pq.write_table(table, path)
    source = source_guard(root)
    kinds = {p.kind for p in validate(source) if p.severity == "error"}
    assert kinds == {"video_window_duration", "video_windows_overlap"}
    with pytest.raises(InvalidDatasetError, match="overlaps"):
        repair(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()
