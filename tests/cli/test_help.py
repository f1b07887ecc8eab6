"""Help output: flags read as flags (`--overwrite`), options with a value show its type.

typer's rich help printed `<bool>` after every flag, as if `--overwrite` took a value
(robosplice/cli/_help.py fixes it); every command's help is checked, the group's too.
"""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from robosplice.cli.app import app

GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)  # type: ignore[attr-defined]
WIDE = {"COLUMNS": "240", "TERMINAL_WIDTH": "240"}


def help_text(argv: list[str]) -> str:
    result = CliRunner().invoke(app, [*argv, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def option_line(text: str, option: str) -> str:
    """The row of the options table that starts with `option` (not a mention in some help text)."""
    lines = [line for line in text.splitlines() if re.match(rf"^\W*{option}(?![\w-])", line)]
    assert lines, f"{option} is missing from the help:\n{text}"
    return lines[0]


@pytest.mark.parametrize("command", ["(robosplice)", *COMMANDS])
def test_help_renders_flags_as_flags(command: str) -> None:
    argv = [] if command == "(robosplice)" else [command]
    text = help_text(argv)
    assert "<bool>" not in text, text
    params = GROUP.params if not argv else GROUP.commands[command].params  # type: ignore[attr-defined]
    options = [p for p in params if p.param_type_name == "option"]
    for option in [*options, None]:
        flag = option is None or option.is_flag or option.count
        opts = ["--help"] if option is None else option.opts
        name = next((o for o in opts if o.startswith("--")), opts[0])
        line = option_line(text, name)
        if flag:
            assert not re.search(r"<\w[\w|.\[\] -]*>", line), f"flag {name} shows a type: {line}"
        else:
            assert re.search(r"<\w", line), f"option {name} lost its value type: {line}"


def test_the_group_and_commands_are_all_checked() -> None:
    assert {"delete-episodes", "merge-datasets", "validate", "info"} <= set(COMMANDS)
    text = help_text(["delete-episodes"])
    assert "<str>" in option_line(text, "--episodes")
    assert "<" not in option_line(text, "--overwrite")
