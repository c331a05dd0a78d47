"""CSV/TSV inventory exports (CMDB, MDM, spreadsheets): one Observation per data row.

Read by bansweep.tables.delimited: Excel's UTF-16 and BOM'd CSV, `,`/`;`/tab/`|` delimiters, an Excel `sep=;`
first line, report title lines above the header.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from bansweep.findings import InputError
from bansweep.fleet import dates
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import inventory_mapping as im
from bansweep.inputs import InputProblem
from bansweep.tables import delimited

FORMAT = "inventory-csv"


def sniff(
    head: bytes, text: str | None, path: Path, mapping: dict[str, str] | None = None, knowledge: Sequence[Path] = ()
) -> bool:
    if text is None or text.lstrip().startswith(("{", "[", "<")):
        return False
    kb = im.known(knowledge)
    try:
        _, header, _ = delimited.find_header(text, im.header_test(mapping, kb), str(path))
    except InputProblem:
        return False
    return im.is_inventory(header, kb) or (len(header) > 1 and im.has_columns(header, mapping or {}))


def describe(path: Path, mapping: dict[str, str] | None, knowledge: Sequence[Path] = ()) -> dict[str, str]:
    kb = im.known(knowledge)
    _, header, _ = delimited.find_header(delimited.read_text(path), im.header_test(mapping, kb), str(path))
    chosen, _ = im.apply_mapping(header, mapping, kb)
    return im.describe(header, chosen)


def parse(
    path: Path, mapping: dict[str, str] | None = None, knowledge: Sequence[Path] = (), date_order: str = dates.AUTO
) -> Iterator[Observation | InputError]:
    kb = im.known(knowledge)
    table = delimited.read(path, im.header_test(mapping, kb))
    yield from im.observe_table(FORMAT, table, mapping, kb, date_order)
