"""Family "consistency": the episode rows and info.json totals against what the data files hold."""

from __future__ import annotations

from typing import Any, Final

from robosplice.checks._common import LOADER as _LOADER
from robosplice.checks.context import Context, DataSummary, EpisodeRows
from robosplice.checks.episodes import CORE_EPISODE_COLUMNS
from robosplice.checks.kinds import Kind, OnEdit, rebuilt
from robosplice.format.data import data_template
from robosplice.format.paths import EPISODES_DIR, INFO_PATH, format_template

__all__ = ["KINDS", "run"]

KINDS: Final[tuple[Kind, ...]] = (
    Kind(name="episode_without_data", severity="error",
         meaning="an episode row whose episode_index no data row has",
         why=f"{_LOADER} on that episode"),
    Kind(name="unknown_episode", severity="error",
         meaning="data rows whose episode_index has no episode row",
         why=f"{_LOADER} on those frames"),
    Kind(name="wrong_data_file", severity="error",
         meaning="data/chunk_index, data/file_index do not name the file holding the episode",
         why="loading a subset of episodes reads the wrong file"),
    Kind(name="episode_tasks_mismatch", severity="warning",
         meaning="an episode row's `tasks` differ from the tasks its frames use",
         why="neither the loader nor a trainer reads this column (frames carry task_index);"
         " robosplice rebuilds it from task_index in its outputs",
         on_edit=OnEdit(decide=rebuilt("each episode's tasks from its frames' task_index"))),
    Kind(name="wrong_total", severity="error",
         meaning="total_episodes, total_frames or total_tasks disagrees with the files",
         why="len(dataset) and episode counts come from these totals",
         on_edit=OnEdit(decide=rebuilt("info.json totals counted from the output's files"))),
)  # fmt: skip
"""The kinds this family reports: severity, and why, beside the checks below."""


def run(ctx: Context) -> None:
    """Episode rows against the data's spans; info.json totals against the files."""
    ctx.guarded(
        EPISODES_DIR, None, lambda: _check_against_data(ctx, ctx.episodes, ctx.summary, ctx.tasks)
    )
    info = ctx.info
    if info is not None:
        ctx.guarded(
            INFO_PATH, None, lambda: _check_totals(ctx, info, ctx.episodes, ctx.summary, ctx.tasks)
        )


def _check_against_data(
    ctx: Context, episodes: EpisodeRows | None, summary: DataSummary, tasks: list[str] | None
) -> None:
    if episodes is None:
        return
    columns = episodes.columns
    template = data_template(ctx.root, ctx.info or {})
    listed: set[int] = set()
    paths: dict[tuple[int, int], str | None] = {}
    for row in range(episodes.num_rows):
        episode = episodes.episode_index(row)
        if any(columns[name][row] is None for name in CORE_EPISODE_COLUMNS):
            continue
        assert episode is not None
        listed.add(episode)
        span = summary.spans.get(episode)
        chunk, number = columns["data/chunk_index"][row], columns["data/file_index"][row]
        data_file = None
        if isinstance(chunk, int) and isinstance(number, int):
            if (chunk, number) not in paths:  # a few files for many episodes
                paths[chunk, number] = _position_path(template, chunk, number)
            data_file = paths[chunk, number]
        if span is None:
            if summary.complete:
                ctx.report(
                    episodes.files[row],
                    f"episode {episode}",
                    "episode_without_data",
                    f"expected data rows with episode_index {episode}, got none; delete the"
                    " episode row or restore its data",
                )
            continue
        start, stop = columns["dataset_from_index"][row], columns["dataset_to_index"][row]
        if (
            summary.complete
            and row not in ctx.range_reported
            and (span.first_row, span.stop_row) != (start, stop)
        ):
            ctx.report(
                episodes.files[row],
                f"episode {episode}",
                "bad_episode_range",
                f"expected [dataset_from_index, dataset_to_index) = [{span.first_row},"
                f" {span.stop_row}) (the episode's rows in the data), got [{start}, {stop})",
            )
        if data_file is not None and data_file != span.file:
            ctx.report(
                episodes.files[row],
                f"episode {episode}",
                "wrong_data_file",
                f"expected data/chunk_index, data/file_index to name {span.file} (which"
                f" holds the episode's rows), got {data_file}",
            )
        listed_tasks = columns["tasks"][row]
        if listed_tasks is not None and tasks is not None:
            used = {tasks[t] for t in span.task_indices if 0 <= t < len(tasks)}
            if used != set(listed_tasks):
                ctx.report(
                    episodes.files[row],
                    f"episode {episode}",
                    "episode_tasks_mismatch",
                    f"expected tasks {sorted(used)} (those its frames use), got"
                    f" {sorted(listed_tasks)}; the tools rely on this column",
                )
    for episode in sorted(set(summary.spans) - listed):
        span = summary.spans[episode]
        ctx.report(
            span.file,
            f"episode {episode}",
            "unknown_episode",
            f"rows {span.first_row}..{span.stop_row - 1} have episode_index {episode}, which"
            " no episode row lists; add the row or delete these frames",
        )


def _check_totals(
    ctx: Context,
    info: dict[str, Any],
    episodes: EpisodeRows | None,
    summary: DataSummary,
    tasks: list[str] | None,
) -> None:
    actual: dict[str, tuple[int | None, str]] = {
        "total_episodes": (
            episodes.num_rows if episodes is not None else None,
            "episode rows",
        ),
        "total_frames": (summary.total_rows if summary.complete else None, "data rows"),
        "total_tasks": (len(tasks) if tasks is not None else None, "tasks"),
    }
    for key, (count, what) in actual.items():
        # A missing total reads as 0 in 0.6.1's DatasetInfo, so len(dataset) would be 0.
        value = info.get(key, 0)
        if count is None or not isinstance(value, int) or isinstance(value, bool):
            continue
        if value != count:
            got = value if key in info else "none (read as 0)"
            ctx.report(
                INFO_PATH,
                key,
                "wrong_total",
                f"expected {count} (the dataset has {count} {what}), got {got}; set"
                f" {key} to {count}",
            )


def _position_path(template: str, chunk: object, file: object) -> str | None:
    if not isinstance(chunk, int) or not isinstance(file, int):
        return None
    return format_template(template, (chunk, file))
