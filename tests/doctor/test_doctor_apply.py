"""The loop: doctor → recipe → apply removes and trims exactly what was flagged, losslessly."""

from __future__ import annotations

import json

import numpy as np
from corpus_doctor import STATE, realistic_case, three_defects
from typer.testing import CliRunner

from fixture_data import fixtures_dir
from ops.test_episode_edits import assert_episode_matches
from robosplice.cli.app import app
from robosplice.dataset import Dataset
from robosplice.ops.apply import apply
from robosplice.ops.doctor import doctor
from robosplice.ops.doctor_html import render_html
from robosplice.ops.validate import validate
from robosplice.testing import read_episode_table


def test_recipe_then_apply_cuts_exactly_what_was_flagged(tmp_path, source_guard):
    root = source_guard(three_defects(tmp_path))
    source = Dataset(root)
    report = doctor(root)
    assert {(f.check, f.episode) for f in report.findings} == {
        ("frozen_episode", 1),
        ("idle_head", 5),
        ("duplicate_episode", 7),
    }
    text = report.render_text()
    assert "episode 1:\n  warning frozen_episode frames 0–45" in text
    assert "  → fix: delete the episode (frozen episode)" in text
    assert "episode 5:\n  warning idle_head frames 0–25" in text
    assert "  → fix: keep frames [25, 70)" in text
    page = render_html(report)  # a plot per flagged episode, the duplicate beside its original
    assert page.count("<svg") == 4
    assert "the same dimensions in episode 2" in page
    recipe = report.recipe()
    assert recipe.source_path == str(root)
    assert [s.to_json() for s in recipe.steps] == [
        {"op": "delete_episodes", "args": {"episode_indices": [1]}, "reason": "frozen episode"},
        {
            "op": "delete_episodes",
            "args": {"episode_indices": [7]},
            "reason": "near-duplicate of an earlier episode",
        },
        {"op": "trim_episodes", "args": {"ranges": {"5": [25, 70]}}, "reason": "idle head"},
    ]
    output = apply(recipe, root, tmp_path / "out")
    assert validate(output) == []
    kept = [0, 2, 3, 4, 5, 6, 8, 9]
    assert output.num_episodes == len(kept)
    for new, old in enumerate(kept):  # rows equal and decoded frames bit-identical
        assert_episode_matches(output, new, source, old, *((25, 70) if old == 5 else (0, None)))
    assert doctor(output).findings == ()


def test_realistic_loop_keeps_values_bit_for_bit(tmp_path, source_guard):
    root, _ = realistic_case("idle_head", tmp_path)
    source_guard(root)
    report = doctor(root)
    (finding,) = report.findings
    assert finding.check == "idle_head"
    start = finding.frames[1]
    output = apply(report.recipe(), root, tmp_path / "out")
    got = read_episode_table(output, 3)
    want = read_episode_table(Dataset(root), 3).slice(start)
    for name in (STATE, "action"):
        np.testing.assert_array_equal(
            np.stack(got.column(name).to_numpy(zero_copy_only=False)),
            np.stack(want.column(name).to_numpy(zero_copy_only=False)),
        )
    assert validate(output) == []


def test_cli_json_recipe_html_and_exit_codes(tmp_path):
    runner = CliRunner()
    clean = runner.invoke(app, ["doctor", str(fixtures_dir() / "v3_av1_single"), "--json"])
    assert clean.exit_code == 0, clean.output
    document = json.loads(clean.output)
    assert document == {
        "dataset": str(fixtures_dir() / "v3_av1_single"),
        "episodes": 6,
        "frames": 234,
        "findings": [],
    }
    root, _ = realistic_case("spike", tmp_path)
    recipe, page = tmp_path / "fix.json", tmp_path / "report.html"
    flagged = runner.invoke(
        app, ["doctor", str(root), "--json", "--recipe", str(recipe), "--html", str(page)]
    )
    assert flagged.exit_code == 1
    (finding,) = json.loads(flagged.output)["findings"]
    assert set(finding) >= {
        "check", "severity", "episode", "other_episode", "feature", "dimension",
        "dimension_name", "frames", "message", "fix",
    }  # fmt: skip
    assert (finding["check"], finding["episode"], finding["frames"]) == ("spike", 6, [50, 51])
    assert json.loads(recipe.read_text())["steps"] == []  # a spike has no automatic fix
    text = page.read_text()
    assert "<svg" in text
    assert "http" not in text.replace("http://www.w3.org", "")
    assert "Episode 6" in text
    text_report = runner.invoke(app, ["doctor", str(root)])
    assert text_report.exit_code == 1
    assert "episode 6:" in text_report.output
    usage = runner.invoke(app, ["doctor"])
    assert usage.exit_code == 2
