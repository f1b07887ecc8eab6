"""`batch`: one op over many datasets, a manifest line each, re-runs skip what is done, shards split."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from robosplice.cli.app import app
from robosplice.dataset import Dataset
from robosplice.ops.batch import MANIFEST_NAME, read_manifest, run_batch
from robosplice.ops.validate import validate
from robosplice.testing import decode_episode_frames


def _inputs(tmp_path: Path, roots: list[Path]) -> Path:
    listing = tmp_path / "inputs.txt"
    listing.write_text("# datasets\n" + "\n".join(str(r) for r in roots) + "\n\n")
    return listing


def test_batch_repack_writes_each_output_and_a_rerun_skips_them(fixture_dataset, tmp_path):
    roots = [fixture_dataset(n) for n in ("v3_av1_single", "v3_image")]
    broken = tmp_path / "not_a_dataset"
    broken.mkdir()
    listing = _inputs(tmp_path, [*roots, broken])
    out = tmp_path / "out"
    records = run_batch("repack", listing, out, backend="serial")
    assert [r.status for r in records] == ["done", "done", "failed"]
    assert "DatasetNotFoundError" in (records[2].error or "")
    for root in roots:
        repacked = Dataset(out / root.name)
        assert validate(repacked) == []
        source = Dataset(root)
        assert repacked.num_frames == source.num_frames
        for key in source.video_keys:
            last = source.num_episodes - 1
            assert (
                decode_episode_frames(repacked, key, last)
                == decode_episode_frames(source, key, last)
            ).all()
    written = (out / roots[0].name / "meta/info.json").stat().st_mtime_ns
    again = run_batch("repack", listing, out, backend="serial")
    assert [r.source for r in again] == [str(broken)]  # only the failed one runs again
    assert (out / roots[0].name / "meta/info.json").stat().st_mtime_ns == written
    lines = (out / MANIFEST_NAME).read_text().splitlines()
    statuses = sorted(json.loads(line)["status"] for line in lines)
    assert statuses == ["done", "done", "failed", "failed"]


def test_shards_cover_every_input_once_on_a_process_pool(fixture_dataset, tmp_path):
    roots = [fixture_dataset(n) for n in ("v3_av1_single", "v3_av1_multifile", "v3_image")]
    listing = _inputs(tmp_path, roots)
    out = tmp_path / "out"
    first = run_batch("validate", listing, out, shard=(0, 2), backend="process", workers=2)
    second = run_batch("validate", listing, out, shard=(1, 2), backend="process", workers=2)
    assert [r.source for r in first] == [str(roots[0]), str(roots[2])]
    assert [r.source for r in second] == [str(roots[1])]
    records = read_manifest(out)
    assert sorted(r["source"] for r in records) == sorted(str(r) for r in roots)
    assert all(r["status"] == "done" and r["details"]["valid"] for r in records)


def test_batch_command_reports_and_exits_1_on_a_failure(fixture_dataset, tmp_path):
    root = fixture_dataset("v3_av1_single")
    listing = _inputs(tmp_path, [root, tmp_path / "missing"])
    result = CliRunner().invoke(
        app,
        ["batch", "validate", "--inputs", str(listing), "--output-root", str(tmp_path / "o")],
    )
    assert result.exit_code == 1, result.output
    assert f"done   {root}" in result.output
    assert "1 failed or invalid" in result.output
