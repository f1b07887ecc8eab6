"""The loader's timing tolerance: one constant for every check and edit that matches times.

FORMAT.md §3.4: 0.6.1's `LeRobotDataset(tolerance_s=1e-4)` default bounds both a frame's pts
against its query time and a data timestamp against frame_index / fps; the v2.1 loader uses the
same. A source further off than this would not load either.
"""

from __future__ import annotations

from typing import Final

TOLERANCE_S: Final = 1e-4
