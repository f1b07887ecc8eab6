"""Help output: a flag reads as a flag (`--overwrite`), never as an option taking a `<bool>`.

typer's rich help prints every option's value type in a column, flags included. Options that take
no value (flags, counters) get an empty metavar, which that column prints as nothing; the plain
(non-rich) help already leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterable

import typer
from typer.core import TyperGroup


def _without_flag_types(params: Iterable[object]) -> None:
    for param in params:
        takes_no_value = getattr(param, "is_flag", False) or getattr(param, "count", False)
        if takes_no_value and getattr(param, "metavar", "") is None:
            param.metavar = ""  # type: ignore[attr-defined]


class FlagsAsFlags(TyperGroup):
    """The command group: its own options and every subcommand's render flags without a type."""

    def get_params(self, ctx: typer.Context) -> list:  # type: ignore[override]
        params = super().get_params(ctx)
        _without_flag_types(params)
        return params

    def get_command(self, ctx: typer.Context, cmd_name: str):  # type: ignore[override]
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _without_flag_types(command.get_params(ctx))
        return command
