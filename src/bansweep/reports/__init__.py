"""Report formats: one module per format (a ReportFormat, see interface.py), listed in REPORT_FORMATS.

A format module has ``render(report) -> str``; formats made for large reports (json, csv, sarif, html) also have
``write_stream(report, fh)``, which writes the same text piece by piece. A new format: one module and one line
in REPORT_FORMATS.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bansweep.findings import Report
from bansweep.reports import csv, html, json, sarif, table


@dataclass(frozen=True, slots=True)
class Format:
    """A format module's functions under its --format name."""

    name: str
    to_text: Callable[[Report], str]
    stream: Callable[[Report, IO[str]], None] | None = None

    def render(self, report: Report) -> str:
        return self.to_text(report)

    def write(self, report: Report, fh: IO[str]) -> None:
        if self.stream is not None:
            self.stream(report, fh)
        else:
            fh.write(self.to_text(report))


def _table_stream(report: Report, fh: IO[str]) -> None:
    """Colours only on a terminal (and as NO_COLOR allows)."""
    fh.write(table.render(report, color=None if fh.isatty() else False))


def _table_details(report: Report, fh: IO[str]) -> None:
    fh.write(table.render(report, color=None if fh.isatty() else False, details=True))


REPORT_FORMATS: tuple[Format, ...] = (
    Format("table", table.render, _table_stream),
    Format("json", json.render, json.write_stream),
    Format("csv", csv.render, csv.write_stream),
    Format("sarif", sarif.render, sarif.write_stream),
    Format("html", html.render, html.write_stream),
)
BY_NAME = {f.name: f for f in REPORT_FORMATS}
FORMATS = tuple(BY_NAME)


def report_format(name: str) -> Format:
    if name not in BY_NAME:
        raise ValueError(f"unknown report format {name!r}; choose one of {', '.join(FORMATS)}")
    return BY_NAME[name]


def render(report: Report, fmt: str) -> str:
    return report_format(fmt).render(report)


def write(report: Report, fmt: str, out: Path | None, details: bool = False) -> None:
    """Write the report to `out`, or to stdout when out is None (only a terminal gets the table's colours).
    details: the table format shows every evidence item and verdict (the other formats always do)."""
    form = report_format(fmt)
    if details and fmt == "table":
        form = Format("table", table.render, _table_details)
    # A large report is millions of small acyclic objects: the cyclic collector would rescan them over and over.
    enabled = gc.isenabled()
    gc.disable()
    try:
        if out is None:
            form.write(report, sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="") as fh:  # keep CSV's CRLF as is on every platform
                form.write(report, fh)
    finally:
        if enabled:
            gc.enable()
