"""JSON inventory exports: an array of objects, or an object holding one under a key such as "devices",
"result" (ServiceNow) or "value" (Microsoft Graph/Intune), read by bansweep.tables.json_rows. Keys are mapped like
CSV headers; ServiceNow {"display_value": …} values are unwrapped, lists give their first value. Row n is the n-th
object (Location.row, key in field).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from bansweep.findings import InputError
from bansweep.fleet import dates
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import inventory_mapping as im
from bansweep.tables import json_rows

FORMAT = "inventory-json"
HEAD_CHARS = 64 * 1024
_KEY = re.compile(r'"([^"\\]{1,64})"\s*:')


def sniff(head: bytes, text: str | None, path: Path, knowledge: Sequence[Path] = ()) -> bool:
    if text is None or not text.lstrip().startswith(("[", "{")) or '"bomFormat"' in text:
        return False
    keys = list(dict.fromkeys(_KEY.findall(text[:HEAD_CHARS])))  # object keys near the start
    return im.is_inventory(keys, im.known(knowledge))


def describe(path: Path, mapping: dict[str, str] | None, knowledge: Sequence[Path] = ()) -> dict[str, str]:
    table = json_rows.read(path, lists="first")
    chosen, _ = im.apply_mapping(table.header, mapping, im.known(knowledge))
    return im.describe(table.header, chosen)


def parse(
    path: Path, mapping: dict[str, str] | None = None, knowledge: Sequence[Path] = (), date_order: str = dates.AUTO
) -> Iterator[Observation | InputError]:
    table = json_rows.read(path, lists="first")
    yield from im.observe_table(FORMAT, table, mapping, im.known(knowledge), date_order)
