"""Tables (CSV, TSV, XLSX, JSON arrays of objects) read within bounds, every bad row reported with its place."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem, read_text

MAX_CELL = 64 * 1024  # a longer cell is reported (no name, address or alias list is this long)
MAX_ROW_LINES = 200  # a quoted cell spanning more lines is taken for an unterminated quote
MAX_ROWS = 5_000_000
MAX_JSON_DEPTH = 32
_LIST_KEYS = ("parties", "suppliers", "vendors", "counterparties", "results", "records", "items", "data", "rows")

csv.field_size_limit(64 * 1024 * 1024)  # cells are checked against MAX_CELL after reading, with their row


@dataclass(slots=True)
class Table:
    file: str
    format: str  # "csv" | "tsv" | "xlsx" | "json"
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (1-based data row, cells)
    errors: list[InputError] = field(default_factory=list)


def is_xlsx(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04") and b"xl/" in head[:4096]


def read_table(path: Path) -> Table:
    """Read a table; raises InputProblem when the file as a whole cannot be read."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        return _xlsx(path)
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return _json(path, text)
    return _delimited(path, text)


def delimiter_of(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _delimited(path: Path, text: str) -> Table:
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


def _xlsx(path: Path) -> Table:
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


def _json(path: Path, text: str) -> Table:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputProblem(
            Location(str(path), line=exc.lineno), f"malformed JSON: {exc.msg} (column {exc.colno})"
        ) from None
    except RecursionError:
        raise InputProblem(Location(str(path)), "JSON nested too deeply") from None
    items = doc
    if isinstance(doc, dict):
        items = next((doc[k] for k in _LIST_KEYS if isinstance(doc.get(k), list)), None)
        if items is None:
            items = next((v for v in doc.values() if isinstance(v, list)), None)
    if not isinstance(items, list):
        raise InputProblem(Location(str(path)), "expected a JSON array of objects (or an object holding one)")
    table = Table(str(path), "json", [])
    keys: dict[str, None] = {}
    objects: list[tuple[int, dict[str, str] | None]] = []
    for number, item in enumerate(items[:MAX_ROWS], 1):
        if not isinstance(item, dict):
            table.errors.append(InputError(Location(str(path), entry=f"[{number - 1}]", row=number), "not an object"))
            objects.append((number, None))
            continue
        flat = {str(k): _flat(v, 0) for k, v in item.items()}
        keys.update(dict.fromkeys(flat))
        objects.append((number, flat))
    table.header = list(keys)
    for number, obj in objects:
        if obj is not None:
            table.rows.append((number, [obj.get(k, "") for k in table.header]))
    return table


def _flat(value: Any, depth: int) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and depth < MAX_JSON_DEPTH:
        return "; ".join(s for s in (_flat(v, depth + 1) for v in value) if s)
    if isinstance(value, dict) and depth < MAX_JSON_DEPTH:
        return ", ".join(s for s in (_flat(v, depth + 1) for v in value.values()) if s)
    return str(value)
