"""CSV/TSV inventory exports (CMDB, MDM, spreadsheets): one Observation per data row.

Excel's UTF-16/BOM CSV, `;`/tab/`|` delimiters (sniffed from the header line) and an Excel `sep=;` first line
are handled. Cells are bounded by the csv module's field size limit (128 KiB).
"""

from __future__ import annotations

import csv
import itertools
import operator
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import inventory_mapping as im
from bansweep.inputs import InputProblem, read_text

FORMAT = "inventory-csv"
DELIMITERS = ",;\t|"
HEADER_LINES = 10
HEAD_CHARS = 256 * 1024


def sniff(head: bytes, text: str | None, path: Path, mapping: dict[str, str] | None = None) -> bool:
    if text is None or text.lstrip().startswith(("{", "[", "<")):
        return False
    try:
        _, headers, _, _ = _header(text, str(path), mapping)
    except InputProblem:
        return False
    return im.is_inventory(headers) or (len(headers) > 1 and im.has_columns(headers, mapping or {}))


def describe(path: Path, mapping: dict[str, str] | None) -> dict[str, str]:
    text = read_text(path)
    _, headers, _, _ = _header(text, str(path), mapping)
    chosen, _ = im.apply_mapping(headers, mapping)
    return im.describe(headers, chosen)


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    text = read_text(path)
    if not text or text.isspace():
        raise InputProblem(Location(file), "empty file")
    delimiter, headers, header_line, skip = _header(text, file, mapping)
    chosen, problems = im.apply_mapping(headers, mapping)
    for problem in problems:
        yield InputError(Location(file, line=header_line), f"{problem}; columns are: {', '.join(headers)}")
    if not chosen:
        yield InputError(Location(file, line=header_line), no_columns(headers))
        return
    # csv reads from the split lines with their "\n" put back (quoted multi-line cells stay intact): faster than
    # a StringIO and without its four bytes per character of the whole file
    lines = text.split("\n")
    del text
    reader = csv.reader(
        map(operator.add, itertools.islice(lines, skip, None), itertools.repeat("\n")), delimiter=delimiter
    )
    next(reader)
    yield from im.observe_rows(FORMAT, file, headers, chosen, reader, line_offset=skip)


def no_columns(headers: list[str]) -> str:
    shown = ", ".join(repr(h) for h in headers[:30]) or "(none)"
    return (
        f"no usable column in the header {shown}; expected columns such as Manufacturer/Make/Vendor, Model, "
        "MAC, Serial, Hostname, IP (or name them with --map FIELD=COLUMN)"
    )


def _split_header(line: str, delimiter: str = "") -> list[str]:
    delimiter = delimiter or max(DELIMITERS, key=line.count)
    try:
        return [h.strip() for h in next(csv.reader([line], delimiter=delimiter))]
    except (csv.Error, StopIteration):
        return []


def _header(text: str, file: str, mapping: dict[str, str] | None = None) -> tuple[str, list[str], int, int]:
    """(delimiter, header cells, header line number, lines before the header).

    Excel's "sep=;" first line sets the delimiter; otherwise it is the most frequent of DELIMITERS in the header
    line. The header is the first of the first HEADER_LINES lines that looks like an inventory header (report
    titles above it are common), else the first line.
    """
    head = text[:HEAD_CHARS].split("\n", HEADER_LINES + 1)[: HEADER_LINES + 1]
    start, delimiter = 0, ""
    first = head[0].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        start, delimiter = 1, first[4]
    at = start
    for i in range(start, len(head)):
        cells = _split_header(head[i].rstrip("\r"), delimiter)
        if im.is_inventory(cells) or im.has_columns(cells, mapping or {}):
            at = i
            break
    line = head[at].rstrip("\r") if at < len(head) else ""
    if not line.strip():
        raise InputProblem(Location(file, line=at + 1), "the first line is empty; a header row was expected")
    delimiter = delimiter or max(DELIMITERS, key=line.count)
    return delimiter, _split_header(line, delimiter), at + 1, at
