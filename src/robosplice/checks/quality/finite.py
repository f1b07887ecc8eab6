"""NaN / Inf in any float feature: episode, feature, dimension and the frames that hold them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from robosplice.checks.finding import Finding
from robosplice.checks.quality.fixes import delete_fix
from robosplice.checks.quality.signals import Column, EpisodeSignals

CHECK = "non_finite"


def non_finite_findings(
    signals: EpisodeSignals, columns: Mapping[str, Sequence[Column]]
) -> list[Finding]:
    """One error per (feature, dimension) with NaN or ±Inf; the fix deletes the episode."""
    findings = []
    for feature, values in signals.values.items():
        bad = ~np.isfinite(values)
        if not bad.any():
            continue
        for dimension in np.flatnonzero(bad.any(axis=0)):
            frames = np.flatnonzero(bad[:, dimension])
            column = columns[feature][int(dimension)]
            kinds = []
            if np.isnan(values[frames, dimension]).any():
                kinds.append("NaN")
            if np.isinf(values[frames, dimension]).any():
                kinds.append("Inf")
            findings.append(
                Finding(
                    check=CHECK,
                    severity="error",
                    episode=signals.episode_index,
                    feature=feature,
                    dimension=int(dimension),
                    dimension_name=column.name,
                    frames=(int(frames[0]), int(frames[-1]) + 1),
                    message=(
                        f"{'/'.join(kinds)} in {len(frames)} frame(s) of {feature}[{dimension}]"
                        f" (first at frame {frames[0]}); training on it gives NaN losses"
                    ),
                    fix=delete_fix(signals.episode_index),
                )
            )
    return findings
