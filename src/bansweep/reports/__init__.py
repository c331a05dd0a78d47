"""Report formats: one module per format, each with ``render(report) -> str``; formats made for large reports
(json, csv) also have ``write_stream(report, fh)``, which writes the same text piece by piece."""

from __future__ import annotations

import gc
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
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    module = importlib.import_module(f"bansweep.reports.{fmt}")
    # A large report is millions of small acyclic objects: the cyclic collector would rescan them over and over.
    enabled = gc.isenabled()
    gc.disable()
    try:
        if hasattr(module, "write_stream"):
            if out is None:
                module.write_stream(report, sys.stdout)
            else:
                with out.open("w", encoding="utf-8", newline="") as fh:  # keep CSV's CRLF as is on every platform
                    module.write_stream(report, fh)
            return
        if out is not None and fmt == "table":
            text: str = module.render(report, color=False)
        else:
            text = module.render(report)
    finally:
        if enabled:
            gc.enable()
    if out is None:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        return
    out.write_text(text, encoding="utf-8", newline="")
