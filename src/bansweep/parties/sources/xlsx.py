"""XLSX workbooks (first sheet), read-only and streamed."""

from __future__ import annotations

import zipfile
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem
from bansweep.parties.sources import MAX_ROWS, Table


def read(path: Path) -> Table:
    import openpyxl  # openpyxl parses the XML parts through defusedxml when it is installed

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputProblem(Location(str(path)), f"not a readable XLSX workbook: {exc}") from None
    table = Table(str(path), "xlsx", [])
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise InputProblem(Location(str(path), entry=sheet.title, line=1), "no header row")
        table.header = ["" if h is None else str(h).strip() for h in header]
        for number, values in enumerate(rows, 1):
            if number > MAX_ROWS:
                table.errors.append(
                    InputError(Location(str(path), row=number), f"more than {MAX_ROWS} rows; rest not read")
                )
                break
            cells = ["" if v is None else str(v) for v in values]
            if any(c.strip() for c in cells):
                table.rows.append((number, cells))
    finally:
        book.close()
    return table
