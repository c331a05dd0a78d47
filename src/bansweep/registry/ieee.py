"""Import the official IEEE registry CSV files (oui.csv, mam.csv, oui36.csv, iab.csv, cid.csv).

Layout of each file: header `Registry,Assignment,Organization Name,Organization Address`, one row per block;
Registry is MA-L, MA-M, MA-S, IAB or CID; Assignment is the prefix in hex (6, 7 or 9 digits).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem, read_text
from bansweep.registry.mac import BLOCKS, IMPORT_DIR, IMPORT_META, IMPORT_TABLE
from bansweep.store import data_path

HEADER = ["Registry", "Assignment", "Organization Name", "Organization Address"]
DIGITS = {"MA-L": 6, "CID": 6, "MA-M": 7, "MA-S": 9, "IAB": 9}
MAX_CSV_BYTES = 64 * 1024 * 1024  # the real oui.csv is ~4 MB
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class ImportResult:
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BLOCKS, 0))
    files: list[dict[str, object]] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    date: str = ""
    duplicates: int = 0  # the same block assigned twice (the IEEE files have a few); the later row is kept


def parse_csv(path: Path) -> tuple[list[tuple[str, str, str]], list[InputError]]:
    """Rows (block, hex assignment, organisation) and one error per bad row, each naming file and row."""
    name = str(path)
    try:
        text = read_text(path, MAX_CSV_BYTES)
    except InputProblem as exc:
        return [], [exc.to_error()]
    except OSError as exc:
        return [], [InputError(Location(name), f"cannot read: {exc.strerror or exc}")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [InputError(Location(name, line=1), f"not a CSV file: {exc}")]
    if header is None:
        return [], [InputError(Location(name), "empty file")]
    if [h.strip() for h in header[:4]] != HEADER:
        return [], [InputError(Location(name, line=1), f"not an IEEE registry CSV: header must be {','.join(HEADER)}")]
    rows: list[tuple[str, str, str]] = []
    errors: list[InputError] = []
    row = 0
    while True:
        row += 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(InputError(Location(name, row=row), f"malformed CSV: {exc}"))
            break
        if not any(cell.strip() for cell in record):
            continue
        where = Location(name, row=row)
        if len(record) < 3:
            errors.append(InputError(where, f"expected at least 3 columns, got {len(record)}"))
            continue
        block, assignment, org = record[0].strip(), record[1].strip().upper(), _SPACE.sub(" ", record[2]).strip()
        if block not in DIGITS:
            errors.append(InputError(Location(name, row=row, field="Registry"), f"unknown registry {block!r}"))
            continue
        if not _HEX.match(assignment) or len(assignment) != DIGITS[block]:
            errors.append(
                InputError(
                    Location(name, row=row, field="Assignment"),
                    f"{block} assignment must be {DIGITS[block]} hex digits, got {assignment[:40]!r}",
                )
            )
            continue
        if not org:
            errors.append(InputError(Location(name, row=row, field="Organization Name"), "empty organisation name"))
            continue
        rows.append((block, assignment, org))
    return rows, errors


def import_files(paths: Sequence[Path], date: str | None = None) -> ImportResult:
    """Parse the CSVs and store them as the registry used by MacRegistry.load (replacing any earlier import).

    `date` is the registry's date (default: the newest file's modification date).
    Nothing is stored when no file yields a row.
    """
    result = ImportResult()
    table: list[str] = []
    dates = []
    seen: set[tuple[str, str]] = set()
    for path in paths:
        rows, errors = parse_csv(path)
        result.errors.extend(errors)
        if not rows:
            continue
        per_block = dict.fromkeys(BLOCKS, 0)
        for block, assignment, org in rows:
            if (block, assignment) in seen:
                result.duplicates += 1
            seen.add((block, assignment))
            per_block[block] += 1
            table.append(f"{block}\t{assignment}\t{org}\n")
        stat = path.stat()
        file_date = dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc).date().isoformat()
        dates.append(file_date)
        result.files.append(
            {
                "file": str(path.resolve()),
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "date": file_date,
                "rows": {b: n for b, n in per_block.items() if n},
            }
        )
        for b, n in per_block.items():
            result.rows[b] += n
    if not table:
        return result
    result.date = date or max(dates)
    meta = {
        "imported": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "date": result.date,
        "files": result.files,
        "rows": result.rows,
    }
    target = data_path(IMPORT_DIR, IMPORT_TABLE)
    _atomic_write(target, "".join(table))
    _atomic_write(target.parent / IMPORT_META, json.dumps(meta, indent=2))
    return result


def forget() -> bool:
    """Remove imported data; MacRegistry.load falls back to the bundled file. True if something was removed."""
    removed = False
    for name in (IMPORT_META, IMPORT_TABLE, "ieee.cache"):
        path = data_path(IMPORT_DIR, name)
        if path.exists():
            path.unlink()
            removed = True
    return removed


def imported_meta() -> dict[str, Any] | None:
    path = data_path(IMPORT_DIR, IMPORT_META)
    if not path.exists():
        return None
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return meta


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
