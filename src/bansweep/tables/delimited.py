"""Delimited text tables: CSV, TSV, semicolon and pipe separated, with the one delimiter sniffer.

The delimiter is Excel's "sep=X" first line when there is one, else the most frequent of , ; tab | in the header
line. Text is decoded by bansweep.inputs.decode_text (BOMs, UTF-16/32 with or without BOM, UTF-8, cp1252).
Quoted cells may span lines; one spanning more than MAX_ROW_LINES lines is taken for an unterminated quote.
"""

from __future__ import annotations

import csv
import itertools
import operator
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem, decode_text
from bansweep.tables import limits
from bansweep.tables.shape import check_header, cut_cells, long_row, short_row
from bansweep.tables.table import HeaderTest, Row, Table

DELIMITERS = ",;\t|"
HEAD_CHARS = 256 * 1024  # text searched for the header


def head_text(head: bytes) -> str | None:
    """The decoded start of a file for sniffing (a character cut at its end is dropped), or None for binary."""
    for cut in range(4):
        try:
            return decode_text(head[: len(head) - cut] if cut else head, "")
        except InputProblem:
            continue
    return None


def read_text(path: Path) -> str:
    """A whole text table, decoded, within limits.MAX_TEXT_BYTES; InputProblem when too big, binary or empty."""
    size = path.stat().st_size
    if size > limits.MAX_TEXT_BYTES:
        raise InputProblem(
            Location(str(path)), f"file is {size} bytes; the limit for tables is {limits.MAX_TEXT_BYTES}"
        )
    text = decode_text(path.read_bytes(), str(path))
    if not text.strip():
        raise InputProblem(Location(str(path)), "empty file")
    return text


def sniff_delimiter(line: str) -> str:
    """The delimiter of a header line: the most frequent of DELIMITERS (a comma when none occurs)."""
    best = max(DELIMITERS, key=line.count)
    return best if best in line else ","


def split_line(line: str, delimiter: str = "") -> list[str]:
    """One line's cells, stripped (delimiter sniffed when not given); [] when it cannot be split."""
    try:
        return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter or sniff_delimiter(line)))]
    except (csv.Error, StopIteration):
        return []


def find_header(text: str, header_test: HeaderTest | None = None, file: str = "") -> tuple[str, list[str], int]:
    """(delimiter, header cells, lines before the header) of a table's text (its start is enough).

    The header is the first of the first HEADER_ROWS lines that header_test accepts, else the first non-blank
    line. Raises InputProblem when those lines are all blank.
    """
    head = text[:HEAD_CHARS].split("\n", limits.HEADER_ROWS + 1)[: limits.HEADER_ROWS + 1]
    if len(head) == 1 and "\r" in head[0]:  # old Mac line ends
        head = head[0].split("\r", limits.HEADER_ROWS + 1)[: limits.HEADER_ROWS + 1]
    start, delimiter = 0, ""
    first = head[0].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        start, delimiter = 1, first[4]
    candidates = [(i, head[i].rstrip("\r")) for i in range(start, min(len(head), limits.HEADER_ROWS + start))]
    chosen = None
    if header_test is not None:
        chosen = next((i for i, line in candidates if header_test(split_line(line, delimiter))), None)
    if chosen is None:
        chosen = next((i for i, line in candidates if line.strip()), None)
    if chosen is None:
        raise InputProblem(Location(file, line=start + 1), "no header row: the first lines are empty")
    line = head[chosen].rstrip("\r")
    delimiter = delimiter or sniff_delimiter(line)
    return delimiter, _trim(split_line(line, delimiter)), chosen


def read(path: Path, header_test: HeaderTest | None = None, strict: bool = False, text: str | None = None) -> Table:
    """The table in a delimited text file. strict: a row shorter than the header is reported and not read
    (a fixed layout), instead of being padded. Raises InputProblem when the file has no usable header."""
    file = str(path)
    if text is None:
        text = read_text(path)
    delimiter, header, skip = find_header(text, header_test, file)
    check_header(header, Location(file, line=skip + 1))
    lines = text.split("\n") if "\n" in text or "\r" not in text else text.split("\r")
    del text
    fmt = "tsv" if delimiter == "\t" else "csv"
    rows = _rows(file, lines, delimiter, skip, header, strict)
    return Table(file, fmt, header, rows, header_line=skip + 1, delimiter=delimiter)


def _trim(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _rows(
    file: str, lines: list[str], delimiter: str, skip: int, header: list[str], strict: bool
) -> Iterator[Row | InputError]:
    width = len(header)
    # csv reads the split lines with their "\n" put back (quoted multi-line cells stay intact): faster than a
    # StringIO and without its four bytes per character of the whole file
    long_lines = max(map(len, lines), default=0) > limits.MAX_CELL
    csv.field_size_limit(limits.MAX_TEXT_BYTES)  # process-wide; cells are bounded below, with their row
    reader = csv.reader(
        map(operator.add, itertools.islice(lines, skip, None), itertools.repeat("\n")), delimiter=delimiter
    )
    try:
        next(reader)  # the header
    except (csv.Error, StopIteration):
        return
    number = 0
    start = reader.line_num
    max_rows = limits.MAX_ROWS
    while True:
        try:
            for cells in reader:
                number += 1
                end = reader.line_num
                if long_lines or end - start > 1:
                    if end - start > limits.MAX_ROW_LINES:
                        yield InputError(
                            Location(file, line=skip + start + 1, row=number),
                            f"a quoted cell runs from line {skip + start + 1} to line {skip + end} "
                            "(unterminated quote?); the rows in between could not be read",
                        )
                        start = end
                        continue
                    yield from cut_cells(file, None, number, cells, header)
                start = end
                if number > max_rows:
                    yield InputError(Location(file, row=number), f"more than {max_rows} rows; the rest was not read")
                    return
                count = len(cells)
                if count != width:
                    if count < width:
                        if not any(cells):
                            continue  # blank line
                        if strict:
                            yield short_row(file, None, number, count, width)
                            continue
                        cells += [""] * (width - count)
                    elif any(c.strip() for c in cells[width:]):
                        yield long_row(file, None, number, count, width)
                        continue
                    else:
                        del cells[width:]
                yield number, cells
            return
        except csv.Error as exc:
            number += 1
            start = reader.line_num
            yield InputError(Location(file, line=skip + start, row=number), f"unreadable row: {exc}")
