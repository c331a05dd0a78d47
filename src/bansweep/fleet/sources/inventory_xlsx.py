"""XLSX inventory exports, read with openpyxl in read-only mode (its XML goes through defusedxml).

Every worksheet whose first row maps to device columns is read; rows and columns are bounded, and the archive's
declared uncompressed size is checked first (zip bombs). Location: sheet name in entry, data row in row.
"""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import inventory_csv
from bansweep.fleet.sources import inventory_mapping as im
from bansweep.inputs import InputProblem

FORMAT = "inventory-xlsx"
MAX_UNPACKED = 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed/compressed size of a member beyond which it is treated as a zip bomb
MAX_COLUMNS = 512
HEADER_ROWS = 10


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if not head.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                return False
        return any(im.is_inventory(headers) for _, headers, _ in _sheets(path))
    except (zipfile.BadZipFile, InputProblem, OSError, ValueError, KeyError, EOFError):
        return False


def _check_archive(path: Path) -> None:
    file = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            total = 0
            for info in archive.infolist():
                total += info.file_size
                if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1 << 20:
                    raise InputProblem(Location(file, entry=info.filename), "compression ratio too high (zip bomb?)")
            if total > MAX_UNPACKED:
                raise InputProblem(Location(file), f"workbook unpacks to {total} bytes (limit {MAX_UNPACKED})")
            if "xl/workbook.xml" not in archive.namelist():
                raise InputProblem(Location(file), "ZIP archive without xl/workbook.xml: not an XLSX workbook")
    except zipfile.BadZipFile as exc:
        raise InputProblem(Location(file), f"not a readable XLSX file: {exc}") from None


def _sheets(
    path: Path, mapping: dict[str, str] | None = None
) -> Iterator[tuple[str, list[str], Iterator[Sequence[Any]]]]:
    """(sheet name, header cells, the row tuples after the header) per worksheet. The header is the first of the
    first HEADER_ROWS rows that looks like an inventory header (title rows above it are common), else row 1."""
    from openpyxl import load_workbook  # imported on use: loading openpyxl costs ~0.2 s

    _check_archive(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken workbooks
        raise InputProblem(Location(str(path)), f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None
    try:
        for sheet in book.worksheets:
            rows = _readable(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), str(path), sheet.title)
            top = [_header(r) for r in itertools.islice(rows, HEADER_ROWS)]
            at = next((i for i, h in enumerate(top) if im.is_inventory(h) or im.has_columns(h, mapping or {})), 0)
            rest: Iterator[Sequence[Any]] = itertools.chain(top[at + 1 :], rows)
            yield str(sheet.title), top[at] if top else [], rest
    finally:
        book.close()


def _readable(rows: Iterator[tuple[Any, ...]], file: str, title: str) -> Iterator[tuple[Any, ...]]:
    """The worksheet's rows; a damaged worksheet (openpyxl reads it lazily) becomes one InputProblem."""
    count = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # XML, zip and openpyxl errors from the damaged sheet
            where = Location(file, entry=title)
            raise InputProblem(
                where, f"unreadable worksheet after sheet row {count}: {type(exc).__name__}: {exc}"
            ) from None
        count += 1
        yield row


def _header(row: tuple[Any, ...]) -> list[str]:
    cells = [_text(v).strip() for v in row]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _text(value: Any) -> str:
    return "" if value is None else str(value)  # overlong cells are reported by observe_rows


def describe(path: Path, mapping: dict[str, str] | None) -> dict[str, str]:
    for _, headers, _ in _sheets(path, mapping):
        chosen, _ = im.apply_mapping(headers, mapping)
        if im.DEVICE_FIELDS.intersection(chosen) or (mapping and chosen):
            return im.describe(headers, chosen)
    return {}


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    used = 0
    skipped = []
    for title, headers, rows in _sheets(path, mapping):
        chosen, problems = im.apply_mapping(headers, mapping)
        if not (im.DEVICE_FIELDS.intersection(chosen) or (mapping and chosen)):
            skipped.append((title, headers))
            continue
        used += 1
        for problem in problems:
            yield InputError(Location(file, entry=title), f"{problem}; columns are: {', '.join(headers)}")
        for item in im.observe_rows(FORMAT, file, headers, chosen, _rows(rows, len(headers))):
            if item.location.entry is None:
                item.location = _in_sheet(item.location, title)
            yield item
    if not used:
        title, headers = skipped[0] if skipped else ("", [])
        yield InputError(Location(file, entry=title or None), inventory_csv.no_columns(headers))


def _rows(rows: Iterator[Sequence[Any]], width: int) -> Iterator[list[str]]:
    for row in rows:  # observe_rows stops after MAX_RECORDS rows
        yield [_text(v) for v in row[:width]]


def _in_sheet(loc: Location, title: str) -> Location:
    return Location(loc.file, loc.line, loc.row, title, loc.offset, loc.field)
