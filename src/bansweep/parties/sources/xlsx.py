"""XLSX workbooks (first sheet), read-only and streamed."""

from __future__ import annotations

from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem
from bansweep.parties.sources import MAX_ROWS, Table


def read(path: Path) -> Table:
    import openpyxl  # openpyxl parses the XML parts through defusedxml when it is installed

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a hostile workbook can fail anywhere in openpyxl (zip, XML, styles, file type)
        raise InputProblem(Location(str(path)), f"not a readable XLSX workbook: {exc}") from None
    table = Table(str(path), "xlsx", [])
    sheet_name = ""
    number = 0
    try:
        sheet = book.worksheets[0]
        sheet_name = sheet.title
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise InputProblem(Location(str(path), entry=sheet_name, line=1), "no header row")
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
    except InputProblem:
        raise
    except Exception as exc:  # as above: corrupt sheet XML surfaces while rows are read
        if not table.header:
            raise InputProblem(Location(str(path), entry=sheet_name or None), f"unreadable worksheet: {exc}") from None
        table.errors.append(
            InputError(
                Location(str(path), entry=sheet_name, row=number + 1), f"unreadable worksheet row: {exc}; rest not read"
            )
        )
    finally:
        book.close()
    return table
