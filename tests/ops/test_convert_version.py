"""convert: v2.1/v2.0 → v3.0 and v3.0 → v2.1, checked against the source files, never the code.

v2.1 sources are written by the independent writer in tests/v21_fixtures.py from the recorder's
v3.0 fixtures (frames decoded and re-encoded per episode with the codec under test). Outputs are
compared packet by packet, frame by frame and value by value with the source files, pass
`validate`, and the sources stay byte-identical (source_guard).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import robosplice as rs
from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.cli.app import app
from robosplice.dataset import Dataset
from robosplice.errors import InvalidDatasetError, OutputExistsError, SelectionError
from robosplice.testing.frames import decode_episode_frames, episode_packets
from v21_fixtures import continuous_v3, synthetic_v21, v21_from_v3

LAYOUT_PREFIXES = ("data/", "videos/", "meta/episodes/", "dataset_")


def _file_packets(path: Path) -> tuple[list[tuple[int, int, bool, bytes]], Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [
            (int(p.pts), int(p.dts), bool(p.is_keyframe), bytes(p))
            for p in container.demux(stream)
            if p.pts is not None and p.dts is not None
        ]
        return packets, Fraction(stream.time_base)


def _decode_file(path: Path) -> tuple[np.ndarray, list[int]]:
    with av.open(str(path)) as container:
        frames = list(container.decode(container.streams.video[0]))
    return np.stack([f.to_ndarray(format="rgb24") for f in frames]), [f.pts for f in frames]


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="session")
def v21_sources(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """name → a v2.x source built once per session (do not write into it)."""
    built: dict[str, Path] = {}
    specs = {
        "av1": ("v3_av1_single", {"codec": "av1"}),
        "h264": ("v3_h264_bframes", {"codec": "h264"}),
        "hevc": ("v3_av1_single", {"codec": "hevc"}),
        "image": ("v3_image", {"codec": None}),
        "v20": ("v3_av1_single", {"codec": "av1", "version": "v2.0"}),
    }

    def get(name: str) -> Path:
        if name not in built:
            root = tmp_path_factory.mktemp("v21") / name
            if name == "short300":
                built[name] = synthetic_v21(root, episodes=300, length=4, codec="h264")
            else:
                fixture, options = specs[name]
                built[name] = v21_from_v3(fixtures_dir() / fixture, root, **options)
        return built[name]

    return get


def _check_v30_against_v21(v21: Path, v30: Path) -> None:
    """Every value, frame and packet of the v3.0 output equals the v2.1 source's."""
    assert rs.validate(v30) == []
    out = Dataset(v30)
    info = json.loads((v21 / "meta/info.json").read_text())
    episodes = _jsonl(v21 / "meta/episodes.jsonl")
    assert out.num_episodes == len(episodes)
    assert out.tasks == [r["task"] for r in _jsonl(v21 / "meta/tasks.jsonl")]
    table = out.episodes_table.to_pylist()
    stats_lines = (
        _jsonl(v21 / "meta/episodes_stats.jsonl")
        if (v21 / "meta/episodes_stats.jsonl").exists()
        else None
    )
    start = 0
    for number, line in enumerate(episodes):
        row = table[number]
        for key, value in line.items():
            assert row[key] == value, (number, key)
        assert (row["dataset_from_index"], row["dataset_to_index"]) == (
            start,
            start + line["length"],
        )
        start += line["length"]
        if stats_lines is not None:
            for feature, values in stats_lines[number]["stats"].items():
                for stat, value in values.items():
                    cell = row[f"stats/{feature}/{stat}"]
                    assert cell == value, (feature, stat)
                    assert json.dumps(cell) == json.dumps(value), (feature, stat)
        # Data: the v2.1 episode file's values, in order.
        chunk = number // info["chunks_size"]
        source_rows = pq.read_table(v21 / f"data/chunk-{chunk:03d}/episode_{number:06d}.parquet")
        data = pq.read_table(out.data_path((row["data/chunk_index"], row["data/file_index"])))
        mask = np.asarray(data.column("episode_index").to_numpy() == number)
        rows = data.filter(pa.array(mask))
        for name in source_rows.column_names:
            assert rows.column(name).to_pylist() == source_rows.column(name).to_pylist(), name
        # Video: the per-episode file's packets and frames, at exact integer-tick windows.
        for key in out.video_keys:
            path = v21 / f"videos/chunk-{chunk:03d}/{key}/episode_{number:06d}.mp4"
            packets, _ = _file_packets(path)
            wanted = [payload for _, _, _, payload in sorted(packets)]
            assert episode_packets(out, key, number) == wanted[: line["length"]]
            frames, _ = _decode_file(path)
            np.testing.assert_array_equal(decode_episode_frames(out, key, number), frames)


@pytest.mark.parametrize("name", ["av1", "h264", "hevc", "image"])
def test_v21_to_v30_keeps_every_value_frame_and_packet(
    name: str, v21_sources: Callable[[str], Path], source_guard, tmp_path: Path
) -> None:
    src = source_guard(v21_sources(name))
    result = rs.convert(src, tmp_path / "v30", to="v3.0")
    assert isinstance(result, rs.convert.__globals__["ConversionResult"])
    out = tmp_path / "v30"
    _check_v30_against_v21(src, out)
    info = json.loads((out / "meta/info.json").read_text())
    source_info = json.loads((src / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0"
    assert "total_videos" not in info
    assert "total_chunks" not in info
    assert info["data_files_size_in_mb"] == 100
    assert info["video_files_size_in_mb"] == 200
    assert info["robot_type"] == source_info["robot_type"]
    for feature_name, feature in source_info["features"].items():
        for key, value in feature.items():
            assert info["features"][feature_name][key] == value
    # Unknown files carried byte for byte; README and modality.json are there.
    assert set(result.carried) == {"README.md", "meta/modality.json"}
    for relative in result.carried:
        assert (out / relative).read_bytes() == (src / relative).read_bytes()
    # One row group per episode.
    for path in (out / "data").glob("*/*.parquet"):
        metadata = pq.ParquetFile(path).metadata
        assert metadata.num_row_groups == len(
            set(pq.read_table(path, columns=["episode_index"]).column(0).to_pylist())
        )


def test_image_rows_keep_their_bytes(v21_sources, source_guard, tmp_path: Path) -> None:
    src = source_guard(v21_sources("image"))
    rs.convert(src, tmp_path / "v30", to="v3.0")
    out = Dataset(tmp_path / "v30")
    source = pq.read_table(src / "data/chunk-000/episode_000002.parquet")
    record = out.episodes[2]
    data = pq.read_table(out.data_path(record.data_position))
    rows = data.slice(record.dataset_from_index, record.length)
    for key in out.image_keys:
        assert rows.column(key).to_pylist() == source.column(key).to_pylist()


def test_300_short_episodes_have_exact_windows(v21_sources, source_guard, tmp_path: Path) -> None:
    """The official converter's failure case (conversion.md §2.3): no drift, windows exact."""
    src = source_guard(v21_sources("short300"))
    rs.convert(src, tmp_path / "v30", to="v3.0")
    out = Dataset(tmp_path / "v30")
    assert rs.validate(out.root) == []
    key = "observation.images.cam"
    packets, time_base = _file_packets(out.video_path(key, (0, 0)))
    first_pts = sorted(pts for pts, _, _, _ in packets)[::4]
    for number, record in enumerate(out.episodes):
        window = record.videos[key]
        assert window.from_timestamp == number * 4 / 30  # exactly, as a float
        assert window.to_timestamp == (number + 1) * 4 / 30
        assert Fraction(first_pts[number]) * time_base == Fraction(number * 4, 30)
    for number in (0, 150, 293, 299):
        frames, _ = _decode_file(src / f"videos/chunk-000/{key}/episode_{number:06d}.mp4")
        np.testing.assert_array_equal(decode_episode_frames(out, key, number), frames)


def test_v20_gets_stats_computed(v21_sources, source_guard, tmp_path: Path) -> None:
    src = source_guard(v21_sources("v20"))
    rs.convert(src, tmp_path / "v30", to="v3.0")
    out = Dataset(tmp_path / "v30")
    assert rs.validate(out.root) == []
    info = json.loads((out.root / "meta/info.json").read_text())
    assert info["fps"] == 30
    assert isinstance(info["fps"], int)
    source_info = json.loads((src / "meta/info.json").read_text())
    for key in out.video_keys:
        assert info["features"][key]["info"] == source_info["features"][key]["video_info"]
    row = out.episodes_table.to_pylist()[1]
    data = pq.read_table(src / "data/chunk-000/episode_000001.parquet")
    state = np.stack(data.column("observation.state").to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(row["stats/observation.state/min"], state.min(axis=0))
    np.testing.assert_array_equal(row["stats/observation.state/max"], state.max(axis=0))
    assert row["stats/observation.state/count"] == [data.num_rows]
    global_stats = json.loads((src / "meta/stats.json").read_text())
    key = out.video_keys[0]
    assert row[f"stats/{key}/mean"] == global_stats[key]["mean"]
    assert row[f"stats/{key}/count"] == [data.num_rows]


@pytest.mark.parametrize("fixture", ["v3_av1_multifile", "v3_h264_bframes", "v3_image"])
def test_v30_to_v21_cuts_each_window_rebased_to_zero(
    fixture: str, source_guard, tmp_path: Path
) -> None:
    src = copy_tree_writable(fixtures_dir() / fixture, tmp_path / "src")
    (src / "meta/modality.json").write_text("{}\n")
    source_guard(src)
    source = Dataset(src)
    result = rs.convert(src, tmp_path / "v21", to="v2.1")
    out = tmp_path / "v21"
    assert result.reencoded == ()
    assert "meta/modality.json" in result.carried
    info = json.loads((out / "meta/info.json").read_text())
    assert info["codebase_version"] == "v2.1"
    assert list(info)[:13] == [
        "codebase_version", "robot_type", "total_episodes", "total_frames", "total_tasks",
        "total_videos", "total_chunks", "chunks_size", "fps", "splits", "data_path",
        "video_path", "features",
    ]  # fmt: skip
    assert info["total_videos"] == source.num_episodes * len(source.video_keys)
    assert [r["task"] for r in _jsonl(out / "meta/tasks.jsonl")] == source.tasks
    lines = _jsonl(out / "meta/episodes.jsonl")
    stats_lines = _jsonl(out / "meta/episodes_stats.jsonl")
    table = source.episodes_table.to_pylist()
    data = pa.concat_tables(pq.read_table(p) for p in sorted((src / "data").glob("*/*.parquet")))
    for number, record in enumerate(source.episodes):
        assert lines[number] == {
            "episode_index": number,
            "tasks": list(record.tasks),
            "length": record.length,
        }
        for column, value in table[number].items():
            if column.startswith("stats/"):
                feature, _, stat = column[6:].rpartition("/")
                assert stats_lines[number]["stats"][feature][stat] == value
        chunk = number // info["chunks_size"]
        episode = pq.read_table(out / f"data/chunk-{chunk:03d}/episode_{number:06d}.parquet")
        hf = json.loads(episode.schema.metadata[b"huggingface"])["info"]["features"]
        assert hf["observation.state"]["_type"] == "Sequence"
        assert "List" not in json.dumps(hf)
        mask = pa.array(np.asarray(data.column("episode_index").to_numpy() == number))
        rows = data.filter(mask)
        for name in episode.column_names:
            assert episode.column(name).to_pylist() == rows.column(name).to_pylist(), name
        for key in source.video_keys:
            path = out / f"videos/chunk-{chunk:03d}/{key}/episode_{number:06d}.mp4"
            packets, time_base = _file_packets(path)
            assert len(packets) == record.length
            assert packets[0][2]
            assert [p for _, _, _, p in sorted(packets)] == episode_packets(source, key, number)
            frames, pts = _decode_file(path)
            assert [Fraction(p) * time_base for p in pts] == [
                Fraction(k, 30) for k in range(record.length)
            ]
            np.testing.assert_array_equal(frames, decode_episode_frames(source, key, number))


@pytest.mark.parametrize("name", ["h264", "av1"])
def test_round_trip_v21_v30_v21_is_identical(
    name: str, v21_sources, source_guard, tmp_path: Path
) -> None:
    src = source_guard(v21_sources(name))
    rs.convert(src, tmp_path / "v30", to="v3.0")
    rs.convert(tmp_path / "v30", tmp_path / "back", to="v2.1")
    back = tmp_path / "back"
    for relative in ("meta/tasks.jsonl", "meta/episodes.jsonl", "meta/episodes_stats.jsonl"):
        assert (back / relative).read_bytes() == (src / relative).read_bytes(), relative
    assert json.loads((back / "meta/info.json").read_text()) == json.loads(
        (src / "meta/info.json").read_text()
    )
    for path in sorted((src / "data").glob("*/*.parquet")):
        relative = path.relative_to(src)
        assert pq.read_table(back / relative).equals(pq.read_table(path)), relative
    for path in sorted((src / "videos").rglob("*.mp4")):
        relative = path.relative_to(src)
        got, _ = _file_packets(back / relative)
        want, _ = _file_packets(path)
        assert got == want, relative  # pts, dts, key flags and payloads
    for relative in ("README.md", "meta/modality.json"):
        assert (back / relative).read_bytes() == (src / relative).read_bytes()


def test_round_trip_v30_v21_v30_keeps_values(fixture_dataset, tmp_path: Path) -> None:
    src = fixture_dataset("v3_h264_bframes")
    rs.convert(src, tmp_path / "v21", to="v2.1")
    rs.convert(tmp_path / "v21", tmp_path / "v30", to="v3.0", video_files_size_in_mb=0.08)
    source, out = Dataset(src), Dataset(tmp_path / "v30")
    assert rs.validate(out.root) == []
    a, b = source.episodes_table.to_pylist(), out.episodes_table.to_pylist()
    for row_a, row_b in zip(a, b, strict=True):
        kept = [k for k in row_a if not k.startswith(LAYOUT_PREFIXES)]
        assert {k: row_a[k] for k in kept} == {k: row_b[k] for k in kept}
    assert source.tasks == out.tasks
    for number in range(source.num_episodes):
        for key in source.video_keys:
            assert episode_packets(out, key, number) == episode_packets(source, key, number)
    info_a = json.loads((src / "meta/info.json").read_text())
    info_b = json.loads((out.root / "meta/info.json").read_text())
    for feature in info_b["features"].values():
        if feature["dtype"] != "video":
            assert feature.pop("fps") == 30  # as the official converter adds it
    assert info_a == info_b


def test_unaligned_episode_is_refused_then_reencoded(fixture_dataset, tmp_path: Path) -> None:
    src = fixture_dataset("v3_h264_bframes")
    trimmed = rs.trim_episodes(src, {1: (5, 30)}, tmp_path / "trimmed")
    with pytest.raises(InvalidDatasetError, match="reencode-unaligned") as caught:
        rs.convert(trimmed.root, tmp_path / "v21", to="v2.1")
    assert {p.loc for p in caught.value.problems} == {"episode 1"}
    assert not (tmp_path / "v21").exists()
    result = rs.convert(trimmed.root, tmp_path / "v21", to="v2.1", reencode_unaligned=True)
    assert len(result.reencoded) == 2  # episode 1 of both cameras, nothing else
    source = Dataset(trimmed.root)
    for key in source.video_keys:
        frames, _ = _decode_file(tmp_path / f"v21/videos/chunk-000/{key}/episode_000001.mp4")
        assert len(frames) == 25
        want = decode_episode_frames(source, key, 1)
        assert np.abs(frames.astype(int) - want.astype(int)).mean() < 8  # lossy but the same
        packets, _ = _file_packets(tmp_path / f"v21/videos/chunk-000/{key}/episode_000000.mp4")
        assert [p for _, _, _, p in sorted(packets)] == episode_packets(source, key, 0)


def test_refusals_name_the_fault(v21_sources, fixture_dataset, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(v21_sources("av1"), broken)
    (broken / "videos/chunk-000/observation.images.wrist/episode_000003.mp4").unlink()
    (broken / "data/chunk-000/episode_000009.parquet").write_bytes(b"x")
    with pytest.raises(InvalidDatasetError) as caught:
        rs.convert(broken, tmp_path / "out", to="v3.0")
    found = {(p.kind, p.loc) for p in caught.value.problems}
    assert ("missing_file", "episode 3") in found
    assert ("extra_file", "") in found
    assert not (tmp_path / "out").exists()
    with pytest.raises(SelectionError, match=r"already v3\.0"):
        rs.convert(fixture_dataset("v3_av1_single"), tmp_path / "o", to="v3.0")
    with pytest.raises(SelectionError, match="must be one of"):
        rs.convert(broken, tmp_path / "o", to="v4")
    (tmp_path / "exists").mkdir()
    with pytest.raises(OutputExistsError):
        rs.convert(v21_sources("av1"), tmp_path / "exists", to="v3.0")


def test_cli_convert_both_ways(v21_sources, source_guard, tmp_path: Path) -> None:
    src = source_guard(v21_sources("av1"))
    runner = CliRunner()
    plan = runner.invoke(
        app, ["convert", str(src), str(tmp_path / "o"), "--to", "v3.0", "--dry-run"]
    )
    assert plan.exit_code == 0
    assert "v2.1" in plan.output
    assert "files carried as they are: README.md, meta/modality.json" in plan.output
    assert not (tmp_path / "o").exists()
    done = runner.invoke(app, ["convert", str(src), str(tmp_path / "o"), "--to", "v3.0"])
    assert done.exit_code == 0, done.output
    assert "carried as is: README.md, meta/modality.json" in done.output
    back = runner.invoke(app, ["convert", str(tmp_path / "o"), str(tmp_path / "b"), "--to", "v2.1"])
    assert back.exit_code == 0, back.output
    wrong = runner.invoke(app, ["convert", str(src), str(tmp_path / "c"), "--to", "v2.1"])
    assert wrong.exit_code == 1
    assert "converts v3.0 datasets" in wrong.output


def test_av1_continuous_encode_refuses_exactly_the_mid_gop_episodes(
    source_guard, tmp_path: Path
) -> None:
    """AV1 g=2 continuous encode: episodes starting on a non-keyframe are named, the rest cut."""
    src = source_guard(continuous_v3(fixtures_dir() / "v3_av1_single", tmp_path / "src"))
    source = Dataset(src)
    key = source.video_keys[0]
    packets, time_base = _file_packets(source.video_path(key, (0, 0)))
    keyframe_at = {Fraction(pts) * time_base: key_flag for pts, _, key_flag, _ in packets}
    mid_gop = {
        record.episode_index
        for record in source.episodes
        if not keyframe_at[Fraction(record.videos[key].from_timestamp).limit_denominator(1000)]
    }
    assert mid_gop, "the fixture must have episodes starting mid-GOP"
    assert len(mid_gop) < source.num_episodes
    with pytest.raises(InvalidDatasetError, match="reencode-unaligned") as caught:
        rs.convert(src, tmp_path / "v21", to="v2.1")
    assert {p.loc for p in caught.value.problems if key in p.message} == {
        f"episode {n}" for n in mid_gop
    }
    result = rs.convert(src, tmp_path / "v21", to="v2.1", reencode_unaligned=True)
    assert len(result.reencoded) == 2 * len(mid_gop)
    for record in source.episodes:
        path = tmp_path / f"v21/videos/chunk-000/{key}/episode_{record.episode_index:06d}.mp4"
        frames, pts = _decode_file(path)
        assert len(frames) == record.length
        assert [Fraction(p) * _file_packets(path)[1] for p in pts] == [
            Fraction(k, 30) for k in range(record.length)
        ]
        want = decode_episode_frames(source, key, record.episode_index)
        if record.episode_index in mid_gop:
            assert np.abs(frames.astype(int) - want.astype(int)).mean() < 8
        else:
            np.testing.assert_array_equal(frames, want)


def test_pandas_style_lists_and_groot_stats_are_accepted(v21_sources, tmp_path: Path) -> None:
    """`list<float>` columns (pandas-written v2.1) become the recorder's fixed-size lists, values
    equal; a v2.1 stats.json's extra keys (GR00T q01/q99) survive into the v3.0 stats.json."""
    import shutil

    src = tmp_path / "src"
    shutil.copytree(v21_sources("av1"), src)
    path = src / "data/chunk-000/episode_000001.parquet"
    table = pq.read_table(path)
    state = table.column("observation.state").cast(pa.list_(pa.float32()))
    table = table.set_column(
        table.schema.get_field_index("observation.state"), "observation.state", state
    )
    pq.write_table(table.replace_schema_metadata(None), path)
    (src / "meta/stats.json").write_text(
        json.dumps({"action": {"q01": [0.5] * 6, "q99": [1.5] * 6}})
    )
    rs.convert(src, tmp_path / "v30", to="v3.0")
    out = Dataset(tmp_path / "v30")
    assert rs.validate(out.root) == []
    data = pq.read_table(out.data_path((0, 0)))
    assert data.schema.field("observation.state").type == pa.list_(pa.float32(), 6)
    record = out.episodes[1]
    rows = data.slice(record.dataset_from_index, record.length)
    assert rows.column("observation.state").to_pylist() == state.to_pylist()
    stats = json.loads((out.root / "meta/stats.json").read_text())
    assert stats["action"]["q01"] == [0.5] * 6
    assert set(stats["action"]) >= {"min", "max", "mean", "std", "count"}


def test_ids_and_rows_that_do_not_match_are_refused(v21_sources, tmp_path: Path) -> None:
    import shutil

    gaps = tmp_path / "gaps"
    shutil.copytree(v21_sources("av1"), gaps)
    lines = (gaps / "meta/episodes.jsonl").read_text().splitlines()
    (gaps / "meta/episodes.jsonl").write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    with pytest.raises(InvalidDatasetError, match=r"episode_index 0\.\.4") as caught:
        rs.convert(gaps, tmp_path / "o1", to="v3.0")
    assert caught.value.problems[0].kind == "bad_episode_index"
    rows = tmp_path / "rows"
    shutil.copytree(v21_sources("av1"), rows)
    path = rows / "data/chunk-000/episode_000002.parquet"
    table = pq.read_table(path)
    frame_index = pa.array(table.column("frame_index").to_numpy()[::-1].copy())
    table = table.set_column(
        table.schema.get_field_index("frame_index"), "frame_index", frame_index
    )
    pq.write_table(table, path)
    with pytest.raises(InvalidDatasetError, match="episode 2") as caught:
        rs.convert(rows, tmp_path / "o2", to="v3.0")
    assert "frame_index of row 0" in str(caught.value)
    assert not (tmp_path / "o1").exists()
    assert not (tmp_path / "o2").exists()


def test_video_not_starting_at_zero_is_refused(v21_sources, tmp_path: Path) -> None:
    """An episode mp4 cut with `-avoid_negative_ts` style offsets (first frame at 66 ms)."""
    import shutil

    src = tmp_path / "src"
    shutil.copytree(v21_sources("h264"), src)
    path = src / "videos/chunk-000/observation.images.front/episode_000001.mp4"
    shifted = tmp_path / "shifted.mp4"
    with av.open(str(path)) as source, av.open(str(shifted), "w", format="mp4") as target:
        stream = source.streams.video[0]
        out = target.add_stream_from_template(stream, opaque=True)
        out.time_base = stream.time_base
        for packet in source.demux(stream):
            if packet.dts is None:
                continue
            packet.pts, packet.dts = packet.pts + 1024, packet.dts + 1024
            packet.stream = out
            target.mux(packet)
    shutil.move(shifted, path)
    with pytest.raises(InvalidDatasetError, match=r"frame 0 is at 0\.06") as caught:
        rs.convert(src, tmp_path / "out", to="v3.0")
    assert [(p.kind, p.loc) for p in caught.value.problems] == [("bad_video", "episode 1")]
    assert not (tmp_path / "out").exists()


def test_episode_lines_without_tasks_get_them_from_task_index(v21_sources, tmp_path: Path) -> None:
    import shutil

    src = tmp_path / "src"
    shutil.copytree(v21_sources("h264"), src)
    lines = _jsonl(src / "meta/episodes.jsonl")
    want = lines[2].pop("tasks")
    lines[3]["extra_only_here"] = 7
    (src / "meta/episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    rs.convert(src, tmp_path / "v30", to="v3.0")
    out = Dataset(tmp_path / "v30")
    assert sorted(out.episodes[2].tasks) == sorted(want)
    assert out.episodes_table.column("extra_only_here").to_pylist()[3] == 7


def test_small_file_limits_give_cameras_their_own_windows(
    v21_sources, source_guard, tmp_path: Path
) -> None:
    """Size limits that rotate each camera's files at different episodes (per-camera windows,
    starVLA#90) and data files of a few episodes: still every value, frame and packet."""
    src = source_guard(v21_sources("av1"))
    rs.convert(
        src, tmp_path / "v30", to="v3.0", video_files_size_in_mb=0.03, data_files_size_in_mb=0.01
    )
    _check_v30_against_v21(src, tmp_path / "v30")
    out = Dataset(tmp_path / "v30")
    front, wrist = out.video_keys
    positions = [(e.videos[front].position, e.videos[wrist].position) for e in out.episodes]
    assert any(a != b for a, b in positions), positions
    assert any(
        e.videos[front].from_timestamp != e.videos[wrist].from_timestamp for e in out.episodes
    )
    assert len({e.data_position for e in out.episodes}) > 1
