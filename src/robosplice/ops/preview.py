"""What the review page asks of the layers under ops: a plan's byte estimate, the packets of one
episode's clip, and the output-target check. The page imports no engine or commit module
(an import-linter contract), so these come through here; nothing here writes.
"""

from __future__ import annotations

from pathlib import Path

from robosplice.commit import check_output_target
from robosplice.dataset import Dataset
from robosplice.engine.estimate import ByteEstimate, estimate_bytes
from robosplice.format.packet_ranges import PacketRange, plan_packet_range
from robosplice.format.video import PacketIndex, read_packet_index
from robosplice.plan.model import Plan

__all__ = ["ByteEstimate", "PacketRange", "check_output", "episode_packets", "estimate_output"]


def estimate_output(plan: Plan) -> ByteEstimate:
    """The bytes `plan` would write, from the sources' file sizes (metadata only)."""
    return estimate_bytes(plan)


def check_output(target: Path, sources: list[Path]) -> Path:
    """`target` resolved, if an edit of `sources` may write it as a new folder.

    Raises:
        OutputExistsError: the target exists or is a source.
        SelectionError: the target is inside a source, or contains one.
    """
    resolved = target.expanduser().resolve()
    check_output_target(resolved, sources)
    return resolved


def episode_packets(
    dataset: Dataset, episode: int, camera: str, start: int, stop: int
) -> tuple[Path, PacketIndex, PacketRange]:
    """The source file of `camera`'s episode, its packet index, and the packets holding frames
    [start, stop) of the episode (the keyframe at or before `start` first).

    Raises:
        VideoError: the file cannot be read or does not hold those frames.
    """
    window = dataset.episodes[episode].videos[camera]
    path = dataset.video_path(camera, window.position)
    index = read_packet_index(path)
    packets = plan_packet_range(
        index,
        from_timestamp=window.from_timestamp,
        fps=float(dataset.fps),
        start=start,
        stop=stop,
        where=f"{path} (episode {episode}, frames {start}–{stop - 1})",
    )
    return path, index, packets
