"""CLI: info, validate, repack, sample, delete/split/merge/trim/filter — plumbing, dry runs, exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from robosplice.cli.app import app
from robosplice.dataset import Dataset
from robosplice.ops.validate import validate

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_info_text_and_json(fixture_dataset):
    root = fixture_dataset("v3_av1_multifile")
    text = run("info", root)
    assert text.exit_code == 0
    assert "episodes     10" in text.output
    assert "observation.images.front  video    96x64 av1 yuv420p" in text.output
    summary = json.loads(run("info", root, "--json").output)
    assert summary["total_frames"] == 492
    assert {t["task"]: t["episodes"] for t in summary["tasks"]}["open the drawer"] == 3


def test_validate_exit_codes(fixture_dataset, tmp_path):
    root = fixture_dataset("v3_av1_single")
    assert run("validate", root).exit_code == 0
    broken = tmp_path / "broken"
    run("repack", root, broken)
    info = json.loads((broken / "meta/info.json").read_text())
    info["total_frames"] += 1
    (broken / "meta/info.json").write_text(json.dumps(info))
    result = run("validate", broken)
    assert result.exit_code == 1
    assert "total_frames" in result.output
    assert "1 error(s)" in result.output
    assert "  - error: meta/info.json: total_frames:" in result.output
    (row,) = json.loads(run("validate", broken, "--json").output)
    assert (row["kind"], row["severity"], row["loc"]) == ("wrong_total", "error", "total_frames")


def test_validate_says_a_kind_with_many_instances_once_with_its_count(fixture_dataset, tmp_path):
    """Six missing video files: three named, then one line with the count; --json has all six."""
    root = tmp_path / "gone"
    run("repack", fixture_dataset("v3_av1_multifile"), root)
    gone = sorted(root.glob("videos/*/*/*.mp4"))
    assert len(gone) >= 6
    for path in gone:
        path.unlink()
    result = run("validate", root)
    assert result.exit_code == 1
    named = [line for line in result.output.splitlines() if "[missing_file]" in line]
    assert len(named) == 4, result.output
    assert f"… {len(gone) - 3} more error(s) of this kind ({len(gone)} in all)" in named[-1]
    rows = json.loads(run("validate", root, "--json").output)
    assert sorted(r["file"] for r in rows if r["kind"] == "missing_file") == sorted(
        p.relative_to(root).as_posix() for p in gone
    )


def test_validate_exits_0_on_warnings_unless_strict(fixture_dataset, tmp_path):
    root = tmp_path / "warned"
    run("repack", fixture_dataset("v3_av1_single"), root)
    info = json.loads((root / "meta/info.json").read_text())
    info["data_path"] = "data/{chunk_index}.parquet"  # loads (globbed), tools hard-code the default
    (root / "meta/info.json").write_text(json.dumps(info))
    result = run("validate", root)
    assert result.exit_code == 0, result.output
    assert "1 warning(s) (loads and trains)" in result.output
    assert "  - warning: meta/info.json: data_path:" in result.output
    assert run("validate", root, "--strict").exit_code == 1
    (row,) = json.loads(run("validate", root, "--json").output)
    assert (row["kind"], row["severity"]) == ("bad_path_template", "warning")


def test_delete_dry_run_prints_the_plan_and_writes_nothing(fixture_dataset, tmp_path):
    result = run(
        "delete-episodes",
        fixture_dataset("v3_av1_single"),
        tmp_path / "out",
        "-e",
        "1,3-4",
        "--dry-run",
    )
    assert result.exit_code == 0, result.output
    assert "delete_episodes: 3 episodes" in result.output
    assert "0:0→0, 0:2→1, 0:5→2" in result.output
    assert "estimated output" in result.output
    assert not (tmp_path / "out").exists()


def test_delete_then_in_place_trim(fixture_dataset, tmp_path):
    result = run("delete-episodes", fixture_dataset("v3_h264_bframes"), tmp_path / "out", "-e", "0")
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    result = run("trim-episodes", tmp_path / "out", "--in-place", "-r", "0:0.1s:1s", "-r", "2::30")
    assert result.exit_code == 0, result.output
    output = Dataset(tmp_path / "out")
    assert output.episodes[0].length == 27  # frames 3..29 at 30 fps
    assert output.episodes[2].length == 30
    assert validate(output) == []


def test_split_merge_filter(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_single")
    assert (
        run("split-dataset", source, tmp_path / "s", "-s", "train=0-3", "-s", "val=4-5").exit_code
        == 0
    )
    result = run("merge-datasets", tmp_path / "s/val", tmp_path / "s/train", "-o", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert Dataset(tmp_path / "m").num_episodes == 6
    result = run(
        "filter-episodes",
        tmp_path / "m",
        tmp_path / "f",
        "--task",
        "open the drawer",
        "--min-length",
        "30",
    )
    assert result.exit_code == 0, result.output
    assert Dataset(tmp_path / "f").num_episodes == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("delete-episodes", "{src}", "{out}", "-e", "99"), "Invalid episode indices"),
        (
            ("split-dataset", "{src}", "{out}", "-s", "a=0.7", "-s", "b=0.5"),
            "Split fractions must sum",
        ),
        (("trim-episodes", "{src}", "{out}", "-r", "0:10:5"), "outside its frames"),
        (("repack", "{src}", "{src}"), "is the source dataset"),
        (("info", "{out}"), "no LeRobot dataset here"),
    ],
)
def test_errors_exit_1_with_the_message(args, message, fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_single")
    result = run(*(a.format(src=source, out=tmp_path / "out") for a in args))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_usage_errors_exit_2(fixture_dataset):
    result = run("delete-episodes", fixture_dataset("v3_av1_single"), "-e", "1")
    assert result.exit_code == 2
    assert "OUTPUT folder or --in-place" in result.output


def test_a_bad_backend_is_a_usage_error_and_writes_nothing(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_single")
    result = run("delete-episodes", source, tmp_path / "out", "-e", "1", "--backend", "rey")
    assert result.exit_code == 2
    assert "expected one of serial, process, ray" in " ".join(
        result.output.replace("│", "").split()
    )
    assert not (tmp_path / "out").exists()


def test_link_files_hard_links_whole_source_files(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_multifile")  # front files (0,0), (0,1) hold episodes 0-5
    front = "videos/observation.images.front/chunk-000/file-000.mp4"
    for flag, linked in (((), False), (("--link-files",), True)):
        out = tmp_path / f"out-{linked}"
        result = run("split-dataset", source, out, "-s", "a=0-5", "-s", "b=6-9", *flag)
        assert result.exit_code == 0, result.output
        same_inode = (out / "a" / front).stat().st_ino == (source / front).stat().st_ino
        assert same_inode == linked
        assert (out / "a" / front).read_bytes() == (source / front).read_bytes()
        assert validate(Dataset(out / "a")) == []
