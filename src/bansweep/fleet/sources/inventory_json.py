"""JSON inventory exports: an array of objects, or an object holding one under a key such as "devices", "items",
"records", "result" (ServiceNow) or "value" (Microsoft Graph/Intune). Keys are mapped like CSV headers; values
given as {"display_value": …} (ServiceNow) are unwrapped. Row n is the n-th object (Location.row, key in field).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import inventory_csv
from bansweep.fleet.sources import inventory_mapping as im
from bansweep.fleet.sources.common import MAX_RECORDS, load_json
from bansweep.inputs import InputProblem

FORMAT = "inventory-json"
LIST_KEYS = ("devices", "items", "records", "result", "results", "value", "data", "assets", "hosts", "inventory")
SAMPLE = 200  # objects whose keys make the header
HEAD_CHARS = 64 * 1024
_KEY = re.compile(r'"([^"\\]{1,64})"\s*:')


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None or not text.lstrip().startswith(("[", "{")) or '"bomFormat"' in text:
        return False
    keys = list(dict.fromkeys(_KEY.findall(text[:HEAD_CHARS])))  # object keys near the start
    return im.is_inventory(keys)


def _records(data: Any, file: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in LIST_KEYS:
            if isinstance(data.get(key), list):
                return data[key]
        lists = [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
    raise InputProblem(Location(file), "no list of device objects found (expected an array or a key such as 'devices')")


def _headers(records: list[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records[:SAMPLE]:
        if isinstance(record, dict):
            for key in record:
                seen.setdefault(str(key), None)
    return list(seen)


def _cell(value: Any) -> str:
    """A key's value as text: ServiceNow {"display_value": …} unwrapped, the first of a list (e.g. IP addresses)."""
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "", [], {})), None)
    if isinstance(value, dict):
        value = value.get("display_value", value.get("name", value.get("value", "")))
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)


def describe(path: Path, mapping: dict[str, str] | None) -> dict[str, str]:
    records = _records(load_json(path), str(path))
    headers = _headers(records)
    chosen, _ = im.apply_mapping(headers, mapping)
    return im.describe(headers, chosen)


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    records = _records(load_json(path), file)
    headers = _headers(records)
    chosen, problems = im.apply_mapping(headers, mapping)
    for problem in problems:
        yield InputError(Location(file), f"{problem}; keys are: {', '.join(headers[:50])}")
    if not chosen:
        yield InputError(Location(file), inventory_csv.no_columns(headers).replace("header", "object keys"))
        return
    for i, record in enumerate(records[:MAX_RECORDS], 1):
        if not isinstance(record, dict):
            yield InputError(Location(file, row=i), f"entry is a JSON {type(record).__name__}, not an object")
    if len(records) > MAX_RECORDS:
        yield InputError(Location(file), f"more than {MAX_RECORDS} objects; the rest were not read")
    yield from im.observe_rows(FORMAT, file, headers, chosen, _rows(records[:MAX_RECORDS], headers, file))


def _rows(records: list[Any], headers: list[str], file: str) -> Iterator[list[str]]:
    for record in records:
        if isinstance(record, dict):
            yield [_cell(record.get(h)) for h in headers]
        else:
            yield []  # reported above; keeps row numbers aligned
