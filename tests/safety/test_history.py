"""The edit log: every output says what produced it, inherits its sources' log, and loads fine."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from robosplice.cli.app import app
from robosplice.history import HISTORY_PATH, fingerprint, json_safe, read_history
from robosplice.ops.delete import delete_episodes
from robosplice.ops.filter import filter_episodes
from robosplice.ops.info import dataset_info, render_info
from robosplice.ops.merge import merge_datasets
from robosplice.ops.repack import repack
from robosplice.ops.split import split_dataset
from robosplice.ops.trim import trim_episodes
from robosplice.ops.validate import validate

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _named(value: int) -> bool:
    return value > 40


def test_json_safe_turns_arguments_into_plain_json() -> None:
    value = {
        "path": Path("/home/someone/data/pusht"),
        "relative": Path("data/pusht"),
        "snapshot": Path(
            "/home/someone/.cache/huggingface/hub/datasets--org--pusht/snapshots/ab12"
        ),
        "regex": re.compile("push.*"),
        "predicate": _named,
        "lambda": lambda row: True,
        "numbers": (np.int64(3), np.float32(0.5), np.arange(2)),
        "set": {3, 1, 2},
        7: None,
        "nan": float("nan"),
    }
    safe = json_safe(value)
    assert json.loads(json.dumps(safe)) == safe
    # Absolute paths are private (the log is pushed): the folder's name, or the Hub repo@sha.
    assert safe["path"] == "pusht"
    assert safe["relative"] == "data/pusht"
    assert safe["snapshot"] == "hf://datasets/org/pusht@ab12"
    assert safe["regex"] == "push.*"
    assert safe["predicate"] == f"{__name__}._named"
    assert safe["lambda"].endswith(
        "test_json_safe_turns_arguments_into_plain_json.<locals>.<lambda>"
    )
    assert safe["numbers"] == [3, 0.5, [0, 1]]
    assert safe["set"] == [1, 2, 3]
    assert safe["7"] is None
    assert safe["nan"] == "nan"


def test_every_operation_logs_what_produced_it(fixture_dataset, tmp_path: Path) -> None:
    source = fixture_dataset("v3_av1_single")
    outputs = {
        "delete_episodes": delete_episodes(source, [0, 2], tmp_path / "deleted"),
        "trim_episodes": trim_episodes(source, {1: (2, 9)}, tmp_path / "trimmed"),
        "filter_episodes": filter_episodes(
            source, tasks=re.compile("drawer"), output_dir=tmp_path / "filtered"
        ),
        "repack": repack(source, tmp_path / "repacked", data_files_size_in_mb=1),
        "merge_datasets": merge_datasets([source, source], "me/twice", tmp_path / "merged"),
    }
    splits = split_dataset(source, {"train": 0.5, "val": 0.5}, tmp_path / "splits")
    outputs |= {f"split_dataset[{name}]": dataset for name, dataset in splits.items()}
    print_of_source = fingerprint(source)
    for operation, output in outputs.items():
        log = read_history(output.root)
        assert len(log) == 1, operation
        entry = log[0]
        assert entry["operation"] == operation
        assert TIME.match(entry["time"])
        assert entry["robosplice_version"] == "0.1.0"
        assert {s["fingerprint"] for s in entry["sources"]} == {print_of_source}
        # The log is pushed with the dataset: the folder's name, never its absolute path.
        assert all(s["root"] == source.name for s in entry["sources"])
        assert str(tmp_path) not in json.dumps(entry), operation
        assert entry["output"] == {"episodes": output.num_episodes, "frames": output.num_frames}
        assert validate(output) == [], operation
    assert read_history(tmp_path / "filtered")[0]["arguments"]["tasks"] == ["drawer"]
    assert read_history(tmp_path / "trimmed")[0]["arguments"]["ranges"] == {"1": [2, 9]}
    assert len(read_history(tmp_path / "merged")[0]["sources"]) == 2


def test_outputs_inherit_their_sources_log(fixture_dataset, tmp_path: Path) -> None:
    source = fixture_dataset("v3_av1_single")
    first = delete_episodes(source, [0], tmp_path / "a")
    second = trim_episodes(first, {0: (1, 5)}, tmp_path / "b")
    splits = split_dataset(second, {"x": [0, 1], "y": [2, 3, 4]}, tmp_path / "c")
    merged = merge_datasets([splits["x"], splits["y"], splits["x"]], "me/m", tmp_path / "d")
    operations = [entry["operation"] for entry in read_history(merged.root)]
    # Lines shared by several sources appear once; the order is the sources' order.
    assert operations == [
        "delete_episodes",
        "trim_episodes",
        "split_dataset[x]",
        "split_dataset[y]",
        "merge_datasets",
    ]
    log = read_history(merged.root)
    assert log[1]["sources"][0]["fingerprint"] == fingerprint(first.root)
    assert len({entry["id"] for entry in log}) == len(log)


def test_in_place_edit_appends_to_the_log(fixture_dataset, tmp_path: Path) -> None:
    root = shutil.copytree(fixture_dataset("v3_av1_single"), tmp_path / "ds")
    before = fingerprint(root)
    delete_episodes(root, [5], in_place=True)
    delete_episodes(root, [0], in_place=True)
    log = read_history(root)
    assert [entry["arguments"]["episode_indices"] for entry in log] == [[5], [0]]
    assert log[0]["sources"][0]["fingerprint"] == before
    assert log[1]["sources"][0]["fingerprint"] != before


def test_a_damaged_log_never_blocks_an_edit(fixture_dataset, tmp_path: Path, caplog) -> None:
    first = delete_episodes(fixture_dataset("v3_av1_single"), [0], tmp_path / "a")
    path = first.root / HISTORY_PATH
    path.write_text(path.read_text() + "{not json\n[1, 2]\n\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="robosplice.history"):
        second = delete_episodes(first, [0], tmp_path / "b")
    assert [e["operation"] for e in read_history(second.root)] == ["delete_episodes"] * 2
    assert "not a JSON object" in caplog.text


def test_info_shows_the_history(fixture_dataset, tmp_path: Path) -> None:
    source = fixture_dataset("v3_av1_single")
    output = delete_episodes(source, [0, 1], tmp_path / "a")
    output = filter_episodes(output, min_length=30, output_dir=tmp_path / "b")
    summary = dataset_info(output)
    assert [entry["operation"] for entry in summary["history"]] == [
        "delete_episodes",
        "filter_episodes",
    ]
    json.dumps(summary)
    text = render_info(summary)
    assert "history      2 edit(s)" in text
    assert "delete_episodes  episode_indices=[0, 1]" in text
    result = CliRunner().invoke(app, ["info", str(output.root)])
    assert result.exit_code == 0, result.output
    assert "filter_episodes  kept=" in result.output
    assert dataset_info(source)["history"] == []
    assert "edit(s)" not in render_info(dataset_info(source))


def test_dry_run_and_refused_edits_log_nothing(fixture_dataset, tmp_path: Path) -> None:
    source = fixture_dataset("v3_av1_single")
    delete_episodes(source, [0], tmp_path / "out", dry_run=True)
    assert not (tmp_path / "out").exists()
    assert not (Path(source) / "meta" / "robosplice").exists()


def test_logs_written_with_absolute_paths_are_cleaned_when_carried(fixture_dataset, tmp_path):
    source = fixture_dataset("v3_av1_single")
    first = delete_episodes(source, [0], tmp_path / "first").root
    log_path = first / "meta/robosplice/history.jsonl"
    (old,) = read_history(first)
    old["sources"][0]["root"] = "/home/someone/datasets/v3_av1_single"  # as older versions wrote
    log_path.write_text(json.dumps(old) + "\n", encoding="utf-8")
    second = delete_episodes(first, [0], tmp_path / "second").root
    carried, _ = read_history(second)
    assert carried["sources"][0]["root"] == "v3_av1_single"
    assert "/home/someone" not in (second / "meta/robosplice/history.jsonl").read_text()


def test_the_log_says_how_stats_json_was_made(fixture_dataset, tmp_path: Path) -> None:
    """Entries kept bit for bit are named, and so are the quantiles computed anew with their
    method: those are the quantiles of every output value at once (checked here from the written
    rows), not lerobot's average of per-episode quantiles."""
    import pyarrow.parquet as pq

    from robosplice.format.stats import compute_feature_stats

    source = fixture_dataset("v3_av1_single")
    source_stats = json.loads((Path(source) / "meta/stats.json").read_text())
    repacked = repack(source, tmp_path / "repacked")
    record = read_history(repacked.root)[-1]["stats"]
    assert set(record["kept_from_source"]) == set(source_stats)
    assert "quantiles_recomputed" not in record
    assert json.loads((repacked.root / "meta/stats.json").read_text()) == source_stats

    deleted = delete_episodes(source, [0, 2], tmp_path / "deleted")
    record = read_history(deleted.root)[-1]["stats"]
    assert record["kept_from_source"] == []
    assert {"action", "observation.state"} <= set(record["quantiles_recomputed"])
    assert "every value of the output at once" in record["quantile_method"]
    written = json.loads((deleted.root / "meta/stats.json").read_text())
    rows = pq.read_table(sorted((deleted.root / "data").rglob("*.parquet")), columns=["action"])
    action = np.stack(rows.column("action").to_numpy(zero_copy_only=False))
    expected = compute_feature_stats(action)
    for key in ("q01", "q10", "q50", "q90", "q99"):
        assert written["action"][key] == expected[key].tolist(), key
