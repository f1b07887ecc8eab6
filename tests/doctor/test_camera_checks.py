"""doctor --decode: black, frozen and repeated camera frames, injected into a recorder image
fixture (PNG cells) before it is encoded to video; the clean encode gives no camera finding."""

from __future__ import annotations

import io

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fixture_data import copy_tree_writable, fixtures_dir
from robosplice.checks.quality import Thresholds
from robosplice.dataset import Dataset
from robosplice.ops.convert import convert_image_to_video_dataset
from robosplice.ops.doctor import QUALITY_KINDS, doctor

FRONT, WRIST = "observation.images.front", "observation.images.wrist"
# v3_image episode lengths: 20, 34, 27, 41, 22, 30


def _png(image: np.ndarray) -> bytes:
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="image2pipe") as container:
        stream = container.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "rgb24"
        for packet in stream.encode(frame):
            container.mux(packet)
    return buffer.getvalue()


def _inject(root) -> None:
    (path,) = sorted((root / "data").rglob("*.parquet"))
    table = pq.read_table(path)
    episode = table.column("episode_index").to_numpy()
    frame = table.column("frame_index").to_numpy()
    for key in (FRONT, WRIST):
        cells = table.column(key).to_pylist()
        row = {(int(e), int(f)): i for i, (e, f) in enumerate(zip(episode, frame))}
        if key == FRONT:  # episode 1: frames 5–9 black
            height, width = 64, 96
            black = _png(np.zeros((height, width, 3), np.uint8))
            for f in range(5, 10):
                cells[row[1, f]] = {"bytes": black, "path": None}
        else:  # episode 3: frames 10–35 frozen on frame 10; episode 5: frame 12 repeats 11
            for f in range(11, 36):
                cells[row[3, f]] = cells[row[3, 10]]
            cells[row[5, 12]] = cells[row[5, 11]]
        field = table.schema.field(key)
        table = table.set_column(
            table.schema.get_field_index(key), field, pa.array(cells, type=field.type)
        )
    pq.write_table(table, path)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("camera")
    clean = copy_tree_writable(fixtures_dir() / "v3_image", folder / "clean_images")
    broken = copy_tree_writable(fixtures_dir() / "v3_image", folder / "broken_images")
    _inject(broken)
    return (
        convert_image_to_video_dataset(clean, folder / "clean", num_workers=1),
        convert_image_to_video_dataset(broken, folder / "broken", num_workers=1),
    )


def test_clean_encode_has_no_camera_finding(encoded):
    clean, _ = encoded
    assert [f for f in doctor(clean.root, decode=True).findings if f.check in QUALITY_KINDS] == []


def test_black_frozen_and_repeated_frames_are_found(encoded):
    _, broken = encoded
    assert isinstance(broken, Dataset)
    report = doctor(broken.root, decode=True, thresholds=Thresholds(camera_frozen_s=0.5))
    found = {
        (f.check, f.episode, f.feature, f.frames)
        for f in report.findings
        if f.check in QUALITY_KINDS  # the black frames also make the camera stats stale
    }
    assert found == {
        ("camera_black", 1, FRONT, (5, 10)),
        ("camera_frozen", 3, WRIST, (10, 36)),
        ("camera_repeated", 5, WRIST, (12, 13)),
    }
