"""Rewrite README.md's severity table from the checks registry (tests/checks/test_registry.py
fails until the table matches): `.venv/bin/python scripts/update_severity_table.py`."""

from __future__ import annotations

from pathlib import Path

from robosplice.checks.registry import severity_table

START, END = "<!-- severity-table:start -->\n", "\n<!-- severity-table:end -->"

readme = Path(__file__).resolve().parents[1] / "README.md"
text = readme.read_text(encoding="utf-8")
head, _, rest = text.partition(START)
_, _, tail = rest.partition(END)
readme.write_text(head + START + severity_table() + END + tail, encoding="utf-8")
