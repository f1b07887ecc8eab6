"""An edit interrupted while a video file is open (created, no sample written yet) ends with the
interrupt itself: the half-written file is abandoned, not finished, since finishing an empty mp4
raises and would mask why the edit stopped (the CLI then said "error: … no samples to write"
and exited 1 instead of 130 on SIGTERM). Nothing is published; the source is unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from robosplice import delete_episodes, execution
from robosplice.commit import find_leftovers
from robosplice.engine import video_copy


def test_an_interrupt_between_opening_a_file_and_its_first_sample_is_what_propagates(
    fixture_dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = fixture_dataset("v3_av1_multifile")

    def interrupted(*args: Any, **kwargs: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(video_copy, "_add_samples", interrupted)
    out = tmp_path / "out"
    with execution("serial"), pytest.raises(KeyboardInterrupt):
        delete_episodes(source, [0], output_dir=out)
    assert not out.exists()
    assert find_leftovers(out) == []
