"""Tables of parties: one module per format (delimited text, XLSX, JSON), all giving a Table.

Every reader works within bounds and reports each bad row with its place; a file that cannot be read at all
raises InputProblem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bansweep.findings import InputError
from bansweep.inputs import read_text

MAX_CELL = 64 * 1024  # a longer cell is reported (no name, address or alias list is this long)
MAX_ROWS = 5_000_000


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
    """Read a table, choosing the reader by content."""
    from bansweep.parties.sources import delimited, json_rows, xlsx

    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        return xlsx.read(path)
    text = read_text(path)
    if text.lstrip().startswith(("[", "{")):
        return json_rows.read(path, text)
    return delimited.read(path, text)
