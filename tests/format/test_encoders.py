"""The PyAV wheel has the encoders the README promises, and each one encodes.

One policy for the whole suite: encoders are asserted here, never skipped elsewhere. The README's
commands encode with libsvtav1 (`images-to-video`, `sample`) and h264/hevc (`reencode`); a PyAV build
without them is a broken install, and a skip would hide it.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from robosplice.format.video_codec import available_encoders, encode_episode_video

# name given by the user → codec of the stream it writes
PROMISED = {
    "libsvtav1": "av1",
    "av1": "av1",
    "libx264": "h264",
    "h264": "h264",
    "libx265": "hevc",
    "hevc": "hevc",
}


def test_the_wheel_has_every_promised_encoder() -> None:
    missing = sorted(set(PROMISED) - set(available_encoders()))
    assert not missing, (
        f"this PyAV build lacks the encoders {missing} that the README promises; install the "
        "`av` wheel from PyPI (pip install --force-reinstall av), which bundles them"
    )


@pytest.mark.parametrize("vcodec", sorted(PROMISED))
def test_each_promised_encoder_writes_a_decodable_video(vcodec: str, tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    frames = [np.full((64, 64, 3), 40 * k, np.uint8) for k in range(4)]
    encode_episode_video(frames, path, fps=30, vcodec=vcodec, g=2)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.codec.canonical_name == PROMISED[vcodec]
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(decoded) == len(frames)
    for k, (got, want) in enumerate(zip(decoded, frames, strict=True)):
        assert abs(float(got.mean()) - float(want.mean())) < 4, f"{vcodec} frame {k}"
