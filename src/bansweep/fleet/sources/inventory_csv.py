"""CSV/TSV inventory exports (CMDB, MDM, spreadsheets): one Observation per data row.

Excel's UTF-16/BOM CSV, `;`/tab/`|` delimiters (sniffed from the header line) and an Excel `sep=;` first line
are handled. Cells are bounded by the csv module's field size limit (128 KiB).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import inventory_mapping as im
from bansweep.fleet.sources.common import first_lines
from bansweep.inputs import InputProblem, read_text

FORMAT = "inventory-csv"
DELIMITERS = ",;\t|"


def sniff(head: bytes, text: str | None, path: Path, mapping: dict[str, str] | None = None) -> bool:
    if text is None or text.lstrip().startswith(("{", "[", "<")):
        return False
    top = first_lines(text, 2)
    if not top:
        return False
    header = top[1] if top[0].lower().startswith("sep=") and len(top) > 1 else top[0]
    headers = _split_header(header)
    return im.is_inventory(headers) or (len(headers) > 1 and im.has_columns(headers, mapping or {}))


def describe(path: Path, mapping: dict[str, str] | None) -> dict[str, str]:
    text = read_text(path)
    _, headers, _, _ = _header(text, str(path))
    chosen, _ = im.apply_mapping(headers, mapping)
    return im.describe(headers, chosen)


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    text = read_text(path)
    if not text.strip():
        raise InputProblem(Location(file), "empty file")
    delimiter, headers, header_line, skip = _header(text, file)
    chosen, problems = im.apply_mapping(headers, mapping)
    for problem in problems:
        yield InputError(Location(file, line=header_line), f"{problem}; columns are: {', '.join(headers)}")
    if not chosen:
        yield InputError(Location(file, line=header_line), no_columns(headers))
        return
    buffer = io.StringIO(text, newline="")
    for _ in range(skip):
        buffer.readline()
    reader = csv.reader(buffer, delimiter=delimiter)
    next(reader)
    yield from im.observe_rows(FORMAT, file, headers, chosen, reader)


def no_columns(headers: list[str]) -> str:
    shown = ", ".join(repr(h) for h in headers[:30]) or "(none)"
    return (
        f"no usable column in the header {shown}; expected columns such as Manufacturer/Make/Vendor, Model, "
        "MAC, Serial, Hostname, IP (or name them with --map FIELD=COLUMN)"
    )


def _split_header(line: str) -> list[str]:
    delimiter = max(DELIMITERS, key=line.count)
    try:
        return [h.strip() for h in next(csv.reader([line], delimiter=delimiter))]
    except (csv.Error, StopIteration):
        return []


def _header(text: str, file: str) -> tuple[str, list[str], int, int]:
    """(delimiter, header cells, header line number, lines before the header)."""
    skip = 0
    line_no = 1
    start = 0
    first = text.split("\n", 1)[0].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        skip, line_no, start = 1, 2, len(text.split("\n", 1)[0]) + 1
        delimiter = first[4]
    else:
        delimiter = ""
    header_line = text[start:].split("\n", 1)[0].rstrip("\r")
    if not header_line.strip():
        raise InputProblem(Location(file, line=line_no), "the first line is empty; a header row was expected")
    if not delimiter:
        delimiter = max(DELIMITERS, key=header_line.count)
    try:
        headers = [h.strip() for h in next(csv.reader(io.StringIO(text[start:], newline=""), delimiter=delimiter))]
    except csv.Error as exc:
        raise InputProblem(Location(file, line=line_no), f"unreadable header row: {exc}") from None
    return delimiter, headers, line_no, skip
