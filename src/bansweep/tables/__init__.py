"""Tables: CSV/TSV (any of , ; tab |), XLSX and JSON rows, read within one set of limits (tables.limits).

A reader gives Tables::

    Table.header   column names (stripped; trailing empty ones dropped)
    Table.rows     iterator of (row number, cells) and InputErrors, in file order. Row numbers are 1-based data
                   rows, header excluded, blank rows counted; cells are padded to the header's width. A row
                   with cells beyond the header, an unreadable row and an oversized cell (replaced by "") come
                   as InputErrors naming file, row and column (and sheet, for XLSX).

A file that cannot be read as a table at all raises InputProblem. Header synonyms (which column means what) are
knowledge data: bansweep.tables.headers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem

Row = tuple[int, list[str]]  # (1-based data row, cells)
if TYPE_CHECKING:
    from bansweep.tables.json_rows import Lists

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


def read_table(path: Path, header_test: HeaderTest | None = None, lists: Lists = "all", strict: bool = False) -> Table:
    """The table in a file (an XLSX workbook's first sheet), the reader chosen by content. See delimited.read,
    xlsx.read and json_rows.read for the options."""
    from bansweep.tables import delimited, json_rows, xlsx

    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        sheets = xlsx.read(path, header_test, first_only=True)
        try:
            table = next(sheets, None)
            if table is None:
                raise InputProblem(Location(str(path)), "workbook without a worksheet")
            table.rows = iter(list(table.rows))  # read while the workbook is open
        finally:
            sheets.close()
        return table
    text = delimited.read_text(path)
    if text.lstrip().startswith(("[", "{")):
        return json_rows.read(path, lists=lists, text=text)
    return delimited.read(path, header_test, strict=strict, text=text)
