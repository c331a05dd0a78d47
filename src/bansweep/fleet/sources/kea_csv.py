"""Kea DHCP memfile lease files (kea-leases4.csv / kea-leases6.csv).

Columns are read by header name (address, hwaddr, client_id, hostname, state, user_context …), so v4, v6 and
newer layouts (pool_id) all work. Kea writes commas inside values as "&#x2c"; the user context is JSON in which a
vendor class (option 60) may be stored under any key naming a vendor class.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import MAX_RECORDS, clip, fast_mac, first_lines, mac_or_error
from bansweep.inputs import InputProblem, read_text

FORMAT = "kea-csv"


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None:
        return False
    top = first_lines(text, 1)
    if not top:
        return False
    names = top[0].split(",")
    return names[0] == "address" and ("hwaddr" in names or "duid" in names) and "valid_lifetime" in names


def unescape(value: str) -> str:
    return value.replace("&#x2c", ",")


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    text = read_text(path)
    if not text.strip():
        raise InputProblem(Location(file), "empty file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputProblem(Location(file, line=1), f"unreadable header row: {exc}") from None
    col = {name.strip(): i for i, name in enumerate(header)}
    if "address" not in col:
        yield InputError(Location(file, line=1), "Kea lease header has no 'address' column")
        return
    row_no = 0
    while True:
        try:
            for row in reader:
                row_no += 1
                if row_no > MAX_RECORDS:
                    yield InputError(Location(file, row=row_no), f"more than {MAX_RECORDS} leases; rest not read")
                    return
                if not any(row):
                    continue
                yield from _lease(row, col, file, row_no, reader.line_num)
            return
        except csv.Error as exc:
            row_no += 1
            yield InputError(Location(file, line=reader.line_num, row=row_no), f"unreadable lease row: {exc}")


def _cell(row: list[str], col: dict[str, int], name: str) -> str:
    i = col.get(name)
    return unescape(row[i]).strip() if i is not None and i < len(row) else ""


def _lease(
    row: list[str], col: dict[str, int], file: str, row_no: int, line: int
) -> Iterator[Observation | InputError]:
    where = Location(file, line=line, row=row_no)
    mac = None
    fields = {}
    hwaddr = _cell(row, col, "hwaddr")
    if hwaddr:
        mac, error = mac_or_error(hwaddr, Location(file, line=line, row=row_no, field="hwaddr"))
        if error:
            yield error
        fields["mac"] = "hwaddr"
    client_id = _cell(row, col, "client_id")
    if mac is None and client_id.startswith("01:") and len(client_id) == 20:
        mac = fast_mac(client_id[3:])
        fields["mac"] = "client_id"
    facts = {}
    host = _cell(row, col, "hostname").rstrip(".") or None
    if host:
        facts["dhcp.hostname"] = clip(host)
        fields["dhcp.hostname"] = "hostname"
    context = _cell(row, col, "user_context")
    if context:
        try:
            vendor = _vendor_class(json.loads(context), 0)
        except (ValueError, RecursionError):  # JSONDecodeError, or an over-long integer
            yield InputError(Location(file, line=line, row=row_no, field="user_context"), "user_context is not JSON")
            vendor = None
        if vendor:
            facts["dhcp.vendor_class"] = clip(vendor)
            fields["dhcp.vendor_class"] = "user_context"
    yield Observation(FORMAT, where, mac, _cell(row, col, "address") or None, host, None, facts, fields)


def _vendor_class(data: Any, depth: int) -> str | None:
    if depth > 16:
        return None
    if isinstance(data, dict):
        for key, value in data.items():
            name = str(key).lower().replace("_", "-")
            if "vendor-class" in name or name in ("vci", "option-60", "option60"):
                if isinstance(value, str):
                    return value
                if isinstance(value, list) and value and isinstance(value[0], str):
                    return value[0]
            found = _vendor_class(value, depth + 1)
            if found:
                return found
    elif isinstance(data, list):
        for value in data[:64]:
            found = _vendor_class(value, depth + 1)
            if found:
                return found
    return None
