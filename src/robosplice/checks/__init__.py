"""Checks of a dataset: one finding type, one registry, a module per family (DESIGN.md "Next layers").

`validate` runs the structural families, `doctor` adds the quality ones, and an edit's pre-flight asks
which findings would make its output wrong. Judging a dataset never edits it.
"""

from robosplice.checks.finding import SEVERITIES, Finding, Severity

__all__ = ["SEVERITIES", "Finding", "Severity"]
