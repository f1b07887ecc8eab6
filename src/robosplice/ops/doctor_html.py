"""`doctor --html`: one self-contained page (no network, no script) with the findings and a small
inline SVG plot per flagged episode and dimension, the flagged frames shaded."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from robosplice.checks.finding import Finding
from robosplice.checks.quality.signals import columns_of, motion_features, stream_episodes
from robosplice.dataset import Dataset
from robosplice.ops.doctor import DoctorReport

_WIDTH, _HEIGHT = 640, 90
_MAX_EPISODES = 200
_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd")
_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:60em}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:1.6em;border-top:1px solid #ddd;padding-top:.8em}
.error{color:#b00020}.warning{color:#a65b00}.info{color:#555}
svg{background:#fafafa;border:1px solid #ddd;display:block;margin:.3em 0}
code{background:#f2f2f2;padding:0 .2em} li{margin:.2em 0}
"""


def _plot(
    series: Sequence[np.ndarray], frames: tuple[int, int] | None, labels: Sequence[str]
) -> str:
    """An SVG with one polyline per series (each scaled to the plot) and the frames shaded."""
    length = max((len(s) for s in series), default=0)
    if length == 0:
        return ""
    x_step = (_WIDTH - 10) / max(length - 1, 1)
    parts = [f'<svg width="{_WIDTH}" height="{_HEIGHT}" viewBox="0 0 {_WIDTH} {_HEIGHT}">']
    if frames is not None:
        start, stop = frames
        left = 5 + start * x_step - x_step / 2
        width = max((stop - start) * x_step, 2.0)
        parts.append(
            f'<rect x="{left:.1f}" y="0" width="{width:.1f}" height="{_HEIGHT}"'
            ' fill="#e53935" fill-opacity="0.25"/>'
        )
    for number, values in enumerate(series):
        finite = np.where(np.isfinite(values), values, np.nan)
        low, high = np.nanmin(finite), np.nanmax(finite)
        span = high - low if high > low else 1.0
        ys = _HEIGHT - 5 - (finite - low) / span * (_HEIGHT - 10)
        points = " ".join(
            f"{5 + i * x_step:.1f},{y:.1f}" for i, y in enumerate(ys) if np.isfinite(y)
        )
        colour = _COLOURS[number % len(_COLOURS)]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{points}">'
            f"<title>{html.escape(labels[number])}</title></polyline>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _finding_line(finding: Finding) -> str:
    frames = f" frames {finding.frames[0]}–{finding.frames[1]}" if finding.frames else ""
    where = ""
    if finding.feature is not None:
        where = f" <code>{html.escape(finding.feature)}"
        if finding.dimension is not None:
            name = f" {finding.dimension_name}" if finding.dimension_name else ""
            where += f"[{finding.dimension}]{html.escape(name)}"
        where += "</code>"
    return (
        f'<li><b class="{finding.severity}">{finding.severity}</b> {finding.check}{where}'
        f"{frames}: {html.escape(finding.message)}</li>"
    )


def render_html(report: DoctorReport) -> str:
    """The page as a string."""
    body = [
        f"<h1>robosplice doctor: {html.escape(report.dataset)}</h1>",
        f"<p>{report.episodes} episodes, {report.frames} frames, {len(report.findings)}"
        " finding(s). Shaded: the frames a finding is about.</p>",
    ]
    general = [f for f in report.findings if f.episode is None]
    if general:
        body.append("<h2>Dataset</h2><ul>" + "".join(_finding_line(f) for f in general) + "</ul>")
    flagged = sorted({f.episode for f in report.findings if f.episode is not None})
    plots: dict[int, dict[str, np.ndarray]] = {}
    dataset: Dataset | None = None
    if flagged and report.quality is not None:
        dataset = Dataset(report.root)
        features = motion_features(dataset, report.thresholds.motion_features)
        wanted = {f.feature for f in report.findings if f.feature} - {None}
        features = list(dict.fromkeys([*features, *(w for w in wanted if w in dataset.features)]))
        chosen = set(flagged[:_MAX_EPISODES])
        chosen |= {f.other_episode for f in report.findings if f.episode in chosen} - {None}
        for signals in stream_episodes(dataset, features, timestamps=True, episodes=chosen):
            values = dict(signals.values)
            if signals.timestamp is not None:
                values["timestamp"] = signals.timestamp.reshape(-1, 1)
            plots[signals.episode_index] = values
    steps = report.recipe_steps()
    for episode in flagged:
        findings = [f for f in report.findings if f.episode == episode]
        body.append(f"<h2>Episode {episode}</h2><ul>")
        body += [_finding_line(f) for f in findings]
        body.append("</ul>")
        for step in steps:
            if step.op == "delete_episodes" and episode in step.args["episode_indices"]:
                body.append(
                    f"<p>Proposed fix: delete this episode ({html.escape(step.reason or '')}).</p>"
                )
            if step.op == "trim_episodes" and str(episode) in step.args["ranges"]:
                start, stop = step.args["ranges"][str(episode)]
                body.append(f"<p>Proposed fix: keep frames [{start}, {stop}).</p>")
        values = plots.get(episode)
        if values is None or dataset is None:
            continue
        for finding in findings:
            if finding.feature in values and finding.dimension is not None:
                column = values[finding.feature][:, finding.dimension]
                label = f"{finding.feature}[{finding.dimension}]"
                body.append(f"<div>{html.escape(label)}</div>")
                body.append(_plot([column], finding.frames, [label]))
            elif finding.feature == "timestamp" and "timestamp" in values:
                intervals = np.diff(values["timestamp"][:, 0])
                body.append("<div>frame intervals (s)</div>")
                body.append(_plot([intervals], finding.frames, ["interval"]))
            else:
                matrices = [values[f] for f in motion_features(dataset) if f in values]
                if not matrices:
                    continue
                matrix = np.concatenate(matrices, axis=1)
                labels = [
                    f"{c.feature}[{c.dimension}]"
                    for c in columns_of(dataset, motion_features(dataset))
                ]
                spread = np.nan_to_num(np.nanmax(matrix, axis=0) - np.nanmin(matrix, axis=0))
                top = np.argsort(-spread)[:3]
                body.append(
                    "<div>"
                    + html.escape(", ".join(labels[i] for i in top))
                    + " (each scaled)</div>"
                )
                body.append(
                    _plot([matrix[:, i] for i in top], finding.frames, [labels[i] for i in top])
                )
                other = (
                    plots.get(finding.other_episode) if finding.other_episode is not None else None
                )
                if other is not None:  # a duplicate: the earlier episode, same dimensions
                    earlier = np.concatenate(
                        [other[f] for f in motion_features(dataset) if f in other], axis=1
                    )
                    body.append(
                        f"<div>the same dimensions in episode {finding.other_episode}</div>"
                    )
                    body.append(
                        _plot(
                            [earlier[:, i] for i in top], finding.frames, [labels[i] for i in top]
                        )
                    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>doctor: {html.escape(report.dataset)}</title><style>{_STYLE}</style></head>"
        "<body>" + "\n".join(body) + "</body></html>\n"
    )


def write_html(report: DoctorReport, path: str | os.PathLike[str]) -> Path:
    """Write the page to `path` (a temporary file renamed into place)."""
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(render_html(report), encoding="utf-8")
    os.replace(partial, target)
    return target
