"""XLSX inventory exports, read by bansweep.tables.xlsx (zip limits, openpyxl read-only).

Every worksheet whose header maps to device columns is read; the header may sit below title rows.
Location: sheet name in entry, data row in row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet import dates
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import inventory_mapping as im
from bansweep.inputs import InputProblem
from bansweep.tables import xlsx

FORMAT = "inventory-xlsx"


def sniff(head: bytes, text: str | None, path: Path, knowledge: Sequence[Path] = ()) -> bool:
    if not xlsx.is_workbook(head, path):
        return False
    kb = im.known(knowledge)
    test = im.header_test(None, kb)
    try:
        return any(test(table.header) for table in xlsx.read(path, test))
    except InputProblem:
        return False


def describe(path: Path, mapping: dict[str, str] | None, knowledge: Sequence[Path] = ()) -> dict[str, str]:
    kb = im.known(knowledge)
    for table in xlsx.read(path, im.header_test(mapping, kb)):
        chosen, _ = im.apply_mapping(table.header, mapping, kb)
        if im.usable(chosen, mapping):
            return im.describe(table.header, chosen)
    return {}


def parse(
    path: Path, mapping: dict[str, str] | None = None, knowledge: Sequence[Path] = (), date_order: str = dates.AUTO
) -> Iterator[Observation | InputError]:
    kb = im.known(knowledge)
    used = 0
    skipped: list[tuple[str, list[str]]] = []
    for table in xlsx.read(path, im.header_test(mapping, kb)):
        chosen, _ = im.apply_mapping(table.header, mapping, kb)
        if not im.usable(chosen, mapping):
            skipped.append((table.sheet or "", table.header))
            continue
        used += 1
        yield from im.observe_table(FORMAT, table, mapping, kb, date_order)
    if not used:
        sheet, header = skipped[0] if skipped else ("", [])
        yield InputError(Location(str(path), entry=sheet or None), im.no_columns(header))
