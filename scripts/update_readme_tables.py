"""Rewrite README.md's generated tables from their registries (tests fail until each matches):
the severity table (checks registry, tests/checks/test_registry.py) and the recipe ops table
(recipe steps registry, tests/recipes/test_recipe_model.py).

    .venv/bin/python scripts/update_readme_tables.py
"""

from __future__ import annotations

from pathlib import Path

from robosplice.checks.registry import severity_table
from robosplice.recipe import ops_table

TABLES = {"severity-table": severity_table(), "recipe-ops": ops_table()}

readme = Path(__file__).resolve().parents[1] / "README.md"
text = readme.read_text(encoding="utf-8")
for name, table in TABLES.items():
    start, end = f"<!-- {name}:start -->\n", f"\n<!-- {name}:end -->"
    head, found_start, rest = text.partition(start)
    _, found_end, tail = rest.partition(end)
    if not (found_start and found_end):
        raise SystemExit(f"README.md: no {start.strip()} … {end.strip()} markers")
    text = head + start + table + end + tail
readme.write_text(text, encoding="utf-8")
