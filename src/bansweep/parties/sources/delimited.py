"""CSV and TSV (delimiter taken from the header line), with unterminated quotes caught and reported."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem
from bansweep.parties.sources import MAX_ROWS, Table

MAX_ROW_LINES = 200  # a quoted cell spanning more lines is taken for an unterminated quote

csv.field_size_limit(64 * 1024 * 1024)  # cells are checked against MAX_CELL after reading, with their row


def delimiter_of(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read(path: Path, text: str) -> Table:
    first = text.split("\n", 1)[0]
    delim = delimiter_of(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    table = Table(str(path), "tsv" if delim == "\t" else "csv", [])
    try:
        header = next(reader, None)
        if not header:
            raise InputProblem(Location(str(path), line=1), "no header row")
        table.header = [h.strip() for h in header]
        start = reader.line_num
        number = 0
        for cells in reader:
            number += 1
            end = reader.line_num
            if number > MAX_ROWS:
                table.errors.append(
                    InputError(Location(str(path), row=number), f"more than {MAX_ROWS} rows; rest not read")
                )
                break
            if end - start > MAX_ROW_LINES:
                table.errors.append(
                    InputError(
                        Location(str(path), line=start + 1, row=number),
                        f"a quoted cell runs from line {start + 1} to line {end} (unterminated quote?); "
                        "the rows in between could not be read",
                    )
                )
                start = end
                continue
            start = end
            if not any(c.strip() for c in cells):
                continue  # blank line
            table.rows.append((number, cells))
    except csv.Error as exc:
        table.errors.append(
            InputError(Location(str(path), line=reader.line_num), f"malformed CSV: {exc}; rest not read")
        )
    return table
