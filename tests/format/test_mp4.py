"""The sample tables read from `moov` say what FFmpeg's demuxer says, packet for packet.

Every recorder fixture and fresh encodes of each codec (B-frames, open GOPs, edit lists) are read
both ways: `read_mp4_samples` must agree with PyAV's demuxer on pts, dts, duration, keyframe,
size and byte position of every packet, or decline the file (None) so the caller demuxes it.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from fixture_data import fixtures_dir
from robosplice.errors import VideoError
from robosplice.format import mp4_writer
from robosplice.format.mp4 import read_mp4_samples
from robosplice.format.mp4_writer import Mp4Writer
from robosplice.format.video import read_packet_index


def demuxed(path: Path) -> dict[str, np.ndarray]:
    """Each packet's fields as PyAV reports them (the reference)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rows = [
            (p.pts, p.dts, p.duration or 0, p.is_keyframe, p.size, p.pos)
            for p in container.demux(stream)
            if p.dts is not None and p.pts is not None
        ]
    names = ("pts", "dts", "duration", "keyframe", "size_bytes", "offset")
    return {n: np.asarray(column) for n, column in zip(names, zip(*rows, strict=True), strict=True)}


def assert_same_as_demuxer(path: Path) -> None:
    samples = read_mp4_samples(path)
    assert samples is not None, f"{path}: plain recorder layout declined"
    want = demuxed(path)
    for name, values in want.items():
        got = getattr(samples, name)
        assert np.array_equal(got, values.astype(got.dtype)), f"{path}: {name} differs"


FIXTURE_VIDEOS = sorted(fixtures_dir().rglob("*.mp4"))


def test_there_are_fixture_videos() -> None:
    assert len(FIXTURE_VIDEOS) >= 10


@pytest.mark.parametrize("path", FIXTURE_VIDEOS, ids=lambda p: "/".join(p.parts[-5:]))
def test_recorder_videos_read_like_the_demuxer(path: Path) -> None:
    assert_same_as_demuxer(path)


def encode(
    path: Path, codec: str, options: dict[str, str], *, frames: int = 40, **container_options: str
) -> Path:
    """A small moving-gradient video, so encoders make real P/B frames."""
    with av.open(str(path), "w", options=container_options) as container:
        stream = container.add_stream(codec, rate=Fraction(30))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = options
        ramp = np.arange(64, dtype=np.int64)[None, :, None]
        for k in range(frames):
            image = np.broadcast_to((ramp * 3 + 7 * k) % 256, (48, 64, 3)).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


ENCODES = {
    "h264-bframes": ("libx264", {"bf": "3", "g": "12"}),
    "h264-pyramid": ("libx264", {"x264-params": "b-pyramid=normal:bframes=4:keyint=9"}),
    "h264-intra": ("libx264", {"g": "1"}),
    "hevc-open-gop": ("libx265", {"x265-params": "keyint=8:min-keyint=8:log-level=error"}),
    "hevc-closed-gop": ("libx265", {"x265-params": "keyint=8:open-gop=0:log-level=error"}),
    "av1-g2": ("libsvtav1", {"g": "2"}),
}


@pytest.mark.parametrize("name", sorted(ENCODES))
def test_fresh_encodes_read_like_the_demuxer(name: str, tmp_path: Path) -> None:
    codec, options = ENCODES[name]
    assert_same_as_demuxer(encode(tmp_path / f"{name}.mp4", codec, options))


def test_fragmented_files_are_declined_and_still_indexed(tmp_path: Path) -> None:
    path = encode(
        tmp_path / "frag.mp4", "libx264", {"g": "10"}, movflags="frag_keyframe+empty_moov"
    )
    assert read_mp4_samples(path) is None
    index = read_packet_index(path)  # through the demuxer
    assert np.array_equal(index.pts, demuxed(path)["pts"])


def test_matroska_is_declined(tmp_path: Path) -> None:
    path = tmp_path / "video.mkv"
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((48, 64, 3), 30 * k, np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert read_mp4_samples(path) is None
    assert read_packet_index(path).num_packets == len(demuxed(path)["pts"]) > 0


def test_truncated_moov_is_an_error_not_a_guess(tmp_path: Path) -> None:
    source = FIXTURE_VIDEOS[0]
    data = source.read_bytes()
    moov = data.find(b"moov") - 4
    broken = tmp_path / "broken.mp4"
    # Cut the file inside the moov box: its declared size overruns the file.
    broken.write_bytes(data[: moov + 200] if moov > 0 else data[:200])
    with pytest.raises(ValueError, match="overruns"):
        read_mp4_samples(broken)


def copy_samples(source: Path, target: Path, spans: list[tuple[int, int]]) -> list[bytes]:
    """Write spans [first, stop) of `source`'s samples (decode order, each from a keyframe) back
    to back with `Mp4Writer`, rebased as the engine does; return the payloads copied."""
    samples = read_mp4_samples(source)
    assert samples is not None
    writer = Mp4Writer(target, samples.track)
    end = 0
    payloads: list[bytes] = []
    data = source.read_bytes()
    for first, stop in spans:
        pts = samples.pts[first:stop]
        delta = end - int(pts.min())
        writer.add(
            source,
            offset=samples.offset[first:stop],
            size_bytes=samples.size_bytes[first:stop],
            pts=pts + delta,
            dts=samples.dts[first:stop] + delta,
            duration=samples.duration[first:stop],
            keyframe=samples.keyframe[first:stop],
        )
        end = int((pts + samples.duration[first:stop]).max()) + delta
        payloads += [
            data[o : o + n]
            for o, n in zip(
                samples.offset[first:stop].tolist(),
                samples.size_bytes[first:stop].tolist(),
                strict=True,
            )
        ]
    writer.close()
    return payloads


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]


def closed_spans(path: Path, count: int) -> list[tuple[int, int]]:
    """`count` GOPs of the file, as decode-order spans from each keyframe to the next."""
    samples = read_mp4_samples(path)
    assert samples is not None
    keys = [*np.flatnonzero(samples.keyframe).tolist(), len(samples.pts)]
    return [(keys[k], keys[k + 1]) for k in range(0, min(count, len(keys) - 1))]


@pytest.mark.parametrize("name", ["h264-bframes", "hevc-closed-gop", "av1-g2"])
@pytest.mark.parametrize("large", [False, True], ids=["stco", "co64"])
def test_written_cut_reads_back_packet_for_packet(
    name: str, large: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if large:  # the > 4 GiB layout (64-bit chunk offsets, 16-byte mdat header) on a small file
        monkeypatch.setattr(mp4_writer, "_UINT32_MAX", 64)
    codec, options = ENCODES[name]
    source = encode(tmp_path / "source.mp4", codec, options)
    spans = closed_spans(source, 4)
    spans = [spans[2], spans[0], spans[3]]  # out of order, one GOP left out
    payloads = copy_samples(source, tmp_path / "cut.mp4", spans)
    cut = tmp_path / "cut.mp4"
    got = demuxed(cut)
    with open(cut, "rb") as handle:
        data = handle.read()
    assert [
        data[o : o + n] for o, n in zip(got["offset"], got["size_bytes"], strict=True)
    ] == payloads
    # Every sample lasts as long as in the source, the last one of the file too.
    source_durations = demuxed(source)["duration"]
    want_durations = np.concatenate([source_durations[first:stop] for first, stop in spans])
    np.testing.assert_array_equal(got["duration"], want_durations)
    want_frames = decoded(source)
    samples = read_mp4_samples(source)
    assert samples is not None
    rank = np.argsort(np.argsort(samples.pts, kind="stable"), kind="stable")
    want = [want_frames[r] for first, stop in spans for r in sorted(rank[first:stop].tolist())]
    frames = decoded(cut)
    assert len(frames) == len(want)
    for k, (a, b) in enumerate(zip(frames, want, strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=f"frame {k}")
    # Frames are back to back in display time, from 0.
    assert np.array_equal(np.sort(got["pts"]), np.arange(len(want)) * int(samples.duration[0]))
    reread = read_mp4_samples(cut)
    assert reread is not None
    assert np.array_equal(reread.pts, got["pts"])
    assert (b"co64" in data) == large


def test_a_source_shorter_than_its_tables_is_an_error(tmp_path: Path) -> None:
    source = encode(tmp_path / "source.mp4", "libx264", {"g": "5"})
    samples = read_mp4_samples(source)
    assert samples is not None
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(source.read_bytes()[: int(samples.offset[10])])
    writer = Mp4Writer(tmp_path / "out.mp4", samples.track)
    with pytest.raises(VideoError, match=r"truncated\.mp4: ended at byte"):
        writer.add(
            truncated,
            offset=samples.offset,
            size_bytes=samples.size_bytes,
            pts=samples.pts,
            dts=samples.dts,
            duration=samples.duration,
            keyframe=samples.keyframe,
        )
    writer.abandon()
