"""Report formats: one module per format, each with ``render(report) -> str``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from bansweep.findings import Report

FORMATS = ("table", "json", "csv", "sarif", "html")


def render(report: Report, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    module = importlib.import_module(f"bansweep.reports.{fmt}")
    text: str = module.render(report)
    return text


def write(report: Report, fmt: str, out: Path | None) -> None:
    """Write the report to `out`, or to stdout when out is None (only a terminal gets the table's colours)."""
    if out is not None and fmt == "table":
        from bansweep.reports import table

        text = table.render(report, color=False)
    else:
        text = render(report, fmt)
    if out is None:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        return
    out.write_text(text, encoding="utf-8", newline="")  # keep CSV's CRLF as is on every platform
