"""XLSX workbooks: the one XLSX reader, openpyxl in read-only mode (its XML goes through defusedxml).

The ZIP central directory is checked first (entry count, total and per-member uncompressed size: zip bombs);
any failure of zipfile or openpyxl, however the archive is damaged (unknown ZIP version, flags, compression,
truncated or corrupt XML), becomes an InputProblem or InputError naming the file and the sheet and row.
The workbook is read from an open file, so a workbook is recognised by content whatever its name.
"""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem
from bansweep.tables import limits
from bansweep.tables.shape import check_header, fitted
from bansweep.tables.table import HeaderTest, Row, Table

WORKBOOK = "xl/workbook.xml"


def is_workbook(head: bytes, path: Path) -> bool:
    """A ZIP archive holding xl/workbook.xml (never raises)."""
    if not head.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return WORKBOOK in archive.namelist()
    except Exception:  # zipfile raises many types for damaged archives
        return False


def check_archive(path: Path) -> None:
    """Refuse what is not a workbook or would unpack beyond the limits; InputProblem naming the file (and entry)."""
    file = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except Exception as exc:  # BadZipFile, NotImplementedError (ZIP version), ValueError, OSError, ...
        raise InputProblem(Location(file), f"not a readable XLSX workbook: {_what(exc)}") from None
    if len(infos) > limits.MAX_ZIP_ENTRIES:
        raise InputProblem(Location(file), f"workbook has {len(infos)} entries (limit {limits.MAX_ZIP_ENTRIES})")
    total = 0
    for info in infos:
        total += info.file_size
        if info.flag_bits & 0x1:
            raise InputProblem(Location(file, entry=info.filename), "encrypted entry: the workbook cannot be read")
        if info.file_size > limits.RATIO_FROM and info.file_size > limits.MAX_RATIO * max(info.compress_size, 1):
            raise InputProblem(
                Location(file, entry=info.filename),
                f"compression ratio above {limits.MAX_RATIO} ({info.file_size} bytes from {info.compress_size}): "
                "zip bomb?",
            )
    if total > limits.MAX_UNPACKED:
        raise InputProblem(Location(file), f"workbook unpacks to {total} bytes (limit {limits.MAX_UNPACKED})")
    if WORKBOOK not in {info.filename for info in infos}:
        raise InputProblem(Location(file), "ZIP archive without xl/workbook.xml: not an XLSX workbook")


def read(path: Path, header_test: HeaderTest | None = None, first_only: bool = False) -> Generator[Table, None, None]:
    """One Table per worksheet (only the first with first_only), header found as in delimited.find_header.

    Each Table's rows must be read before the next Table is taken: the workbook stays open while this
    generator runs. Raises InputProblem for a workbook that cannot be opened or a sheet whose header cannot
    be read; a sheet that breaks later gives an InputError with the row and the rest of that sheet is skipped.
    """
    from openpyxl import load_workbook  # imported on use: loading openpyxl costs ~0.2 s

    file = str(path)
    check_archive(path)
    with path.open("rb") as fh:
        try:
            book = load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for broken workbooks
            raise InputProblem(Location(file), f"not a readable XLSX workbook: {_what(exc)}") from None
        try:
            for sheet in book.worksheets:
                title = str(sheet.title)
                # the sheet's declared dimensions are not trusted: rows would be cut at, or padded to, them
                sheet.reset_dimensions()
                rows = sheet.iter_rows(values_only=True)
                top = _top(rows, file, title)
                heads = [_header(cells) for cells in top]
                at = next((i for i, h in enumerate(heads) if header_test and header_test(h)), None)
                if at is None:
                    at = next((i for i, h in enumerate(heads) if h), 0)
                header = heads[at] if heads else []
                check_header(header, Location(file, entry=title))
                body = _rows(top[at + 1 :], rows, file, title, header)
                yield Table(file, "xlsx", header, body, title, at + 1)
                if first_only:
                    return
        finally:
            book.close()


def _top(rows: Iterator[tuple[Any, ...]], file: str, title: str) -> list[list[str]]:
    """The first HEADER_ROWS rows (the header candidates)."""
    try:
        return [_cells(values) for values in itertools.islice(rows, limits.HEADER_ROWS)]
    except Exception as exc:  # XML, zip and openpyxl errors from a damaged sheet
        raise InputProblem(Location(file, entry=title), f"unreadable worksheet: {_what(exc)}") from None


def _header(cells: list[str]) -> list[str]:
    out = [c.strip() for c in cells]
    while out and not out[-1]:
        out.pop()
    return out


def _rows(
    top: list[list[str]], rows: Iterator[tuple[Any, ...]], file: str, title: str, header: list[str]
) -> Iterator[Row | InputError]:
    """The data rows: those read with the header, then the rest of the sheet. A sheet that breaks while its rows
    are read (openpyxl reads lazily) ends with an InputError naming the row."""
    broken: list[InputError] = []

    def numbered() -> Iterator[tuple[int, list[str]]]:
        number = 0
        for number, cells in enumerate(top, 1):
            yield number, cells
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # XML, zip and openpyxl errors from the damaged sheet
                where = Location(file, row=number + 1, entry=title)
                why = f"unreadable worksheet after data row {number}: {_what(exc)}; the rest of the sheet was not read"
                broken.append(InputError(where, why))
                return
            number += 1
            yield number, _cells(values)

    yield from fitted(file, title, numbered(), header)
    yield from broken


def _cells(values: tuple[Any, ...]) -> list[str]:
    return ["" if v is None else str(v) for v in values[: limits.MAX_COLUMNS + 1]]


def _what(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
