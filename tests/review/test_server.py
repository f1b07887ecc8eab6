"""The review server's API, through Starlette's TestClient: safety, media, series, edits, apply.

Every picture and value served is checked against the source files read independently (frame
identity bits, decoded pixels, parquet rows), never against the server's own output.
"""

from __future__ import annotations

import io
import json
import time

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from ops.test_episode_edits import assert_episode_matches
from robosplice.cli.app import app
from robosplice.dataset import Dataset
from robosplice.review.session import ReviewSession
from robosplice.testing import decode_episode_frames, frame_identity, read_episode_table

CAMERA = "observation.images.front"


def decode_all(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


# -- safety ---------------------------------------------------------------------------------------


def test_requests_need_the_token_same_origin_and_a_known_host(review_client):
    client, _ = review_client("v3_av1_single")
    assert client.get("/api/dataset").status_code == 200  # cookie from the page
    client.cookies.clear()
    assert client.get("/api/dataset").status_code == 403
    assert client.get("/api/dataset?token=wrong").status_code == 403
    assert client.get("/api/dataset?token=test-token").status_code == 200
    ok = "/api/dataset?token=test-token"
    assert client.get(ok, headers={"origin": "http://evil.example"}).status_code == 403
    assert client.get(ok, headers={"origin": "http://testserver"}).status_code == 200
    assert client.get(ok, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert client.get(ok, headers={"host": "evil.example"}).status_code == 421
    form = client.post(
        "/api/edits?token=test-token",
        content="action=undo",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    assert client.get("/static/../session.py?token=test-token").status_code == 404
    assert client.get("/static/server.py?token=test-token").status_code == 404
    page = client.get("/?token=test-token")
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'role="listbox"' in page.text
    assert 'aria-label="Pending edits"' in page.text
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")


def test_the_cache_may_not_live_inside_the_source(fixture_dataset, monkeypatch):
    root = fixture_dataset("v3_av1_single")
    monkeypatch.setenv("ROBOSPLICE_CACHE_DIR", str(root / "cache"))
    with pytest.raises(ValueError, match="inside the dataset"):
        ReviewSession(root)


# -- dataset, episodes, series ----------------------------------------------------------------------


def test_summary_and_episode_list_match_the_source(review_client):
    client, session = review_client("v3_av1_multifile")
    source = Dataset(session.dataset.root)
    summary = client.get("/api/dataset").json()
    assert summary["num_episodes"] == 10
    assert summary["num_frames"] == 492
    assert [c["key"] for c in summary["cameras"]] == source.video_keys
    assert {c["kind"] for c in summary["cameras"]} == {"video"}
    assert summary["series"][:2] == ["observation.state", "action"]
    episodes = client.get("/api/episodes").json()
    assert [e["length"] for e in episodes] == [e.length for e in source.episodes]
    assert [e["tasks"] for e in episodes] == [list(e.tasks) for e in source.episodes]


def test_series_are_the_parquet_values_with_names_from_info(review_client):
    client, session = review_client("v3_av1_multifile")
    source = Dataset(session.dataset.root)
    series = {s["key"]: s for s in client.get("/api/episodes/4/series").json()}
    table = read_episode_table(source, 4)
    state = np.array(table.column("observation.state").to_pylist())
    assert series["observation.state"]["names"] == [f"joint_{i}" for i in range(6)]
    np.testing.assert_allclose(np.array(series["observation.state"]["values"]).T, state, rtol=1e-7)
    pose = np.array(table.column("observation.pose").to_pylist()).reshape(len(table), 6)
    assert series["observation.pose"]["names"] == ["0,0", "0,1", "0,2", "1,0", "1,1", "1,2"]
    np.testing.assert_allclose(np.array(series["observation.pose"]["values"]).T, pose, rtol=1e-7)
    assert client.get("/api/episodes/99/series").status_code == 404


# -- clips and stills -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["v3_av1_multifile", "v3_h264_bframes"])
def test_clips_hold_exactly_the_episode_frames_by_packet_copy(review_client, name):
    client, session = review_client(name)
    source = Dataset(session.dataset.root)
    for episode in (3,):
        for camera in source.video_keys:
            base = f"/api/episodes/{episode}/cameras/{camera}"
            info = client.get(f"{base}/clip.json").json()
            data = client.get(f"{base}/clip.mp4").content
            frames = decode_all(data)
            first = round(info["offset_s"] * info["fps"])
            shown = frames[first : first + info["frames"]]
            assert info["frames"] == source.episodes[episode].length
            assert [frame_identity(f) for f in shown] == [
                (episode, i) for i in range(info["frames"])
            ]
            np.testing.assert_array_equal(
                np.stack(shown), decode_episode_frames(source, camera, episode)
            )
            with av.open(io.BytesIO(data)) as container:
                stream = container.streams.video[0]
                assert stream.codec_context.name in ("av1", "libdav1d", "libaom-av1", "h264")
                assert min(int(p.pts) for p in container.demux(stream) if p.pts is not None) == 0


def test_clips_are_cached_outside_the_source_and_served_with_ranges(review_client, review_cache):
    client, session = review_client("v3_av1_single")
    url = f"/api/episodes/2/cameras/{CAMERA}/clip.mp4"
    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4"
    part = client.get(url, headers={"range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.content == whole.content[100:200]
    cached = list(review_cache.rglob("*.mp4"))
    assert [p.name for p in cached] == ["2.mp4"]
    assert not list(session.dataset.root.rglob("*.partial"))


@pytest.mark.parametrize("name", ["v3_av1_multifile", "v3_h264_bframes"])
def test_stills_of_video_are_the_exact_decoded_frame(review_client, name):
    client, session = review_client(name)
    source = Dataset(session.dataset.root)
    for episode, frame in ((0, 0), (2, 17), (4, source.episodes[4].length - 1)):
        response = client.get(f"/api/episodes/{episode}/cameras/{CAMERA}/frames/{frame}")
        assert response.headers["content-type"] == "image/png"
        (picture,) = decode_all(response.content)
        assert frame_identity(picture) == (episode, frame)
        expected = decode_episode_frames(source, CAMERA, episode)[frame]
        np.testing.assert_array_equal(picture, expected)
    assert client.get(f"/api/episodes/0/cameras/{CAMERA}/frames/999").status_code == 404
    assert client.get("/api/episodes/0/cameras/nope/frames/0").status_code == 404


def test_image_datasets_serve_the_stored_image_bytes(review_client):
    client, session = review_client("v3_image")
    source = Dataset(session.dataset.root)
    summary = client.get("/api/dataset").json()
    assert {c["kind"] for c in summary["cameras"]} == {"stills"}
    stored = read_episode_table(source, 3).column(CAMERA).to_pylist()[11]["bytes"]
    response = client.get(f"/api/episodes/3/cameras/{CAMERA}/frames/11")
    assert response.content == stored
    assert response.headers["content-type"] == "image/png"
    assert client.get(f"/api/episodes/3/cameras/{CAMERA}/clip.json").status_code == 404


# -- pending edits, preview, recipe, apply ------------------------------------------------------


def post(client, action):
    return client.post("/api/edits", json=action)


def test_edits_survive_a_reload_and_conflicts_are_409(review_client, review_cache):
    client, session = review_client("v3_av1_multifile")
    assert post(client, {"action": "toggle_delete", "episode": 3}).status_code == 200
    post(client, {"action": "trim_start", "episode": 4, "frame": 15})
    body = post(client, {"action": "trim_end", "episode": 4, "frame": 39}).json()
    assert body["trims"] == {"4": [15, 40]}
    assert body["deleted"] == [3]
    conflict = post(client, {"action": "trim_start", "episode": 3, "frame": 2})
    assert conflict.status_code == 409
    assert "unmark it" in conflict.json()["error"]
    assert post(client, {"action": "fly"}).status_code == 409
    assert post(client, {"action": "toggle_delete", "episode": "3"}).status_code == 409
    assert post(client, {"action": "trim_start", "episode": 4}).status_code == 400  # no frame
    # A new session (a reload, or the next `robosplice review`) finds the same edits.
    again = ReviewSession(session.dataset.root)
    assert again.edits_json()["steps"] == body["steps"]
    assert session.edits_path.is_relative_to(review_cache)
    undone = post(client, {"action": "undo"}).json()
    assert undone["trims"] == {"4": [15, 52]}
    removed = post(client, {"action": "remove", "item": "delete:3"}).json()
    assert removed["deleted"] == []


def test_preview_is_the_cli_dry_run_text_of_the_exported_recipe(review_client, tmp_path):
    client, session = review_client("v3_av1_multifile")
    post(client, {"action": "toggle_delete", "episode": 7})
    post(client, {"action": "set_trim", "episode": 0, "start": 2, "stop": 25})
    exported = client.get("/api/recipe")
    assert "attachment" in exported.headers["content-disposition"]
    recipe = exported.json()
    assert recipe["format"] == "robosplice-recipe"
    assert recipe["created_by"] == "review"
    assert recipe["steps"] == [
        {"op": "delete_episodes", "args": {"episode_indices": [7]}, "reason": "marked in review"},
        {"op": "trim_episodes", "args": {"ranges": {"0": [2, 25]}}, "reason": "trimmed in review"},
    ]
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    result = CliRunner().invoke(
        app, ["apply", str(path), str(session.dataset.root), str(tmp_path / "x"), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert client.get("/api/preview").json()["text"] == result.output.rstrip("\n")


def wait_for_job(client, job):
    deadline = time.monotonic() + 60
    while job["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


def test_apply_writes_a_new_valid_dataset_with_the_source_frames(review_client, tmp_path):
    client, session = review_client("v3_h264_bframes")
    source = Dataset(session.dataset.root)
    post(client, {"action": "toggle_delete", "episode": 1})
    post(client, {"action": "trim_start", "episode": 3, "frame": 5})
    post(client, {"action": "trim_end", "episode": 3, "frame": 30})
    output = tmp_path / "reviewed"
    started = client.post("/api/apply", json={"output": str(output)})
    assert started.status_code == 202
    job = wait_for_job(client, started.json())
    assert job["state"] == "done", job
    assert job["message"] == f"Wrote {output}"
    assert job["verdict"] == "validate: valid"
    result = Dataset(output)
    assert result.num_episodes == 4
    for out_episode, (src_episode, start, stop) in enumerate(
        [(0, 0, None), (2, 0, None), (3, 5, 31), (4, 0, None)]
    ):
        assert_episode_matches(result, out_episode, source, src_episode, start, stop)


def test_apply_refuses_the_source_its_insides_and_existing_folders(review_client, tmp_path):
    client, session = review_client("v3_av1_single")
    post(client, {"action": "toggle_delete", "episode": 0})
    root = session.dataset.root
    (tmp_path / "exists").mkdir()
    for output in (
        str(root),
        str(root / "meta" / "x"),
        str(root.parent),
        str(tmp_path / "exists"),
        " ",
    ):
        refused = client.post("/api/apply", json={"output": output})
        assert refused.status_code == 409, output
    assert "never written" in client.post("/api/apply", json={"output": str(root)}).json()["error"]


def test_doctor_findings_flag_episodes_and_their_fix_is_one_click_away(review_client):
    from robosplice.checks.finding import Finding

    client, session = review_client("v3_av1_multifile")
    session.start_findings().join(timeout=60)
    body = client.get("/api/findings").json()
    assert body["available"]
    assert body["state"] == "done"
    assert body["findings"] == []  # the recorder fixtures are clean
    head = Finding(check="quality.idle_head", severity="warning", message="idle for 12 frames",
                   episode=4, frames=(0, 12),
                   fix={"op": "trim_episodes", "args": {"ranges": {"4": [12, 52]}}})  # fmt: skip
    tail = Finding(check="quality.idle_tail", severity="warning", message="idle for 7 frames",
                   episode=4, frames=(45, 52),
                   fix={"op": "trim_episodes", "args": {"ranges": {"4": [0, 45]}}})  # fmt: skip
    session.set_findings([head.to_json(), tail.to_json()])
    flags = {e["episode_index"]: e["flags"] for e in client.get("/api/episodes").json()}
    assert flags[4] == ["quality.idle_head", "quality.idle_tail"]
    assert flags[3] == []
    for finding in client.get("/api/findings").json()["findings"]:
        body = post(client, {"action": "step", **finding["fix"], "reason": finding["message"]})
        assert body.status_code == 200
    # Head and tail compose by intersection, as recipe steps do.
    assert body.json()["trims"] == {"4": [12, 45]}
    assert body.json()["steps"][0]["reason"] == "idle for 12 frames; idle for 7 frames"


def test_defects_planted_in_a_copy_are_flagged_by_the_background_doctor(tmp_path, source_guard):
    """The page's flags come from doctor over the data (here a frozen episode 1, an idle head in
    5, and 7 repeating the start of 2, written into a copy), not from findings handed in."""
    from starlette.testclient import TestClient

    from doctor.corpus_doctor import three_defects
    from robosplice.review.server import create_app

    root = source_guard(three_defects(tmp_path))
    session = ReviewSession(root)
    with TestClient(create_app(session, token="t", hosts={"testserver"})) as client:
        assert client.get("/?token=t").status_code == 200
        assert all(not e["flags"] for e in client.get("/api/episodes").json())  # not run yet
        session.start_findings().join(timeout=120)
        assert client.get("/api/findings").json()["state"] == "done"
        flags = {e["episode_index"]: e["flags"] for e in client.get("/api/episodes").json()}
    assert "frozen_episode" in flags[1]
    assert "idle_head" in flags[5]
    assert "duplicate_episode" in flags[7]
    assert {e for e, checks in flags.items() if checks} == {1, 5, 7}


def test_hevc_cameras_are_shown_as_exact_server_stills(fixture_dataset, tmp_path):
    from starlette.testclient import TestClient

    from robosplice.ops.convert import reencode_dataset
    from robosplice.review.server import create_app

    source = fixture_dataset("v3_av1_single")
    hevc = reencode_dataset(
        source, vcodec="libx265", crf=0, g=8, cameras=[CAMERA], output_dir=tmp_path / "hevc"
    )
    session = ReviewSession(hevc.root)
    with TestClient(create_app(session, token="t", hosts={"testserver"})) as client:
        client.get("/?token=t")
        kinds = {
            c["key"]: (c["kind"], c["codec"]) for c in client.get("/api/dataset").json()["cameras"]
        }
        assert kinds[CAMERA] == ("stills", "hevc")
        assert kinds["observation.images.wrist"] == ("video", "av1")
        for episode, frame in ((1, 0), (3, 13)):
            response = client.get(f"/api/episodes/{episode}/cameras/{CAMERA}/frames/{frame}")
            (picture,) = decode_all(response.content)
            assert frame_identity(picture) == (episode, frame)
            expected = decode_episode_frames(Dataset(hevc.root), CAMERA, episode)[frame]
            np.testing.assert_array_equal(picture, expected)
