"""A table as every reader gives it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bansweep.findings import InputError

Row = tuple[int, list[str]]  # (1-based data row, cells)
HeaderTest = Callable[[list[str]], bool]  # whether a row is the header (the first row when none is)


@dataclass(slots=True)
class Table:
    file: str
    format: str  # "csv" | "tsv" | "xlsx" | "json"
    header: list[str]
    rows: Iterator[Row | InputError]
    sheet: str | None = None  # XLSX worksheet
    header_line: int | None = None  # line of the header (delimited text); its sheet row for XLSX
    delimiter: str = ""
