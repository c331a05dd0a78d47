"""read_table: the table in a file, the reader chosen by content."""

from __future__ import annotations

from pathlib import Path

from bansweep.findings import Location
from bansweep.inputs import InputProblem
from bansweep.tables import delimited, json_rows, xlsx
from bansweep.tables.json_rows import Lists
from bansweep.tables.table import HeaderTest, Table


def read_table(path: Path, header_test: HeaderTest | None = None, lists: Lists = "all", strict: bool = False) -> Table:
    """The table in a file (an XLSX workbook's first sheet), the reader chosen by content. See delimited.read,
    xlsx.read and json_rows.read for the options."""
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
