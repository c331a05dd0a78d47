"""Inventory tables (CSV/TSV, XLSX, JSON, read by bansweep.tables) to Observations: which column holds which field.

The header names per field are knowledge data (knowledge/data/headers.yaml, job fleet): common spreadsheet
headers, ServiceNow cmdb_ci and Microsoft Intune/Graph exports, Jamf/SCCM style and German/French/Spanish names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from bansweep.findings import InputError, Location
from bansweep.fleet import context, dates
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import fast_mac, row_location, sheet_row
from bansweep.tables import headers
from bansweep.tables.headers import Headers, fold
from bansweep.tables.table import Table

FIELDS = (
    "manufacturer",
    "model",
    "mac",
    "ip",
    "hostname",
    "serial",
    "brand",
    "os",
    "firmware",
    "banner",
    "device_type",
    *context.FIELDS,  # location, owner, install status, purchase/install date, asset tag: shown, not attributed
)

# Fields that say something about a device's maker or identity; a table needs one to be an inventory.
DEVICE_FIELDS = frozenset({"manufacturer", "model", "mac", "brand", "serial", "banner"})
STRONG_FIELDS = frozenset({"model", "mac", "serial", "banner"})


def known(knowledge: Sequence[Path] = ()) -> Headers:
    """The fleet's header names (knowledge/data/headers.yaml, job fleet), with overlays."""
    return headers.load("fleet", FIELDS, knowledge)


def auto_map(columns: Sequence[str], kb: Headers | None = None) -> dict[str, int]:
    """field -> column index chosen from the header (best-ranked name; leftmost column on ties)."""
    return (kb or known()).match(columns)


def mac_columns(columns: list[str], chosen: dict[str, int], kb: Headers | None = None) -> list[int]:
    """Further MAC columns (e.g. Ethernet MAC besides Wi-Fi MAC), used when the chosen one is empty."""
    names = set((kb or known()).names.get("mac", ()))
    first = chosen.get("mac")
    return [i for i, h in enumerate(columns) if i != first and fold(h) in names] if first is not None else []


def check_mapping(mapping: dict[str, str] | None) -> None:
    """Reject unknown field names in a user mapping (ValueError naming the known fields)."""
    for field in mapping or {}:
        if field not in FIELDS:
            raise ValueError(f"unknown inventory field {field!r}; fields are: {', '.join(FIELDS)}")


def apply_mapping(
    columns: list[str], mapping: dict[str, str] | None, kb: Headers | None = None
) -> tuple[dict[str, int], list[str]]:
    """Auto-map, then apply user overrides {field: column}. Returns (field -> index, problems)."""
    chosen = auto_map(columns, kb)
    problems = []
    for field, column in (mapping or {}).items():
        if column == "":
            chosen.pop(field, None)  # "--map serial=" switches a field off
            continue
        col = _find(columns, column)
        if col is None:
            problems.append(f"column {column!r} for field {field!r} is not in the header")
            continue
        for other, idx in list(chosen.items()):
            if idx == col and other != field:
                del chosen[other]
        chosen[field] = col
    return chosen, problems


def _find(columns: list[str], column: str) -> int | None:
    if column in columns:
        return columns.index(column)
    wanted = fold(column)
    for i, header in enumerate(columns):
        if fold(header) == wanted:
            return i
    return None


def is_inventory(columns: list[str], kb: Headers | None = None) -> bool:
    """A header row of a device inventory: a model, MAC, serial or banner column, or a maker/brand column together
    with an IP, OS or firmware column. A supplier list (vendor name, address, country, type) is not one."""
    fields = auto_map(columns, kb).keys()
    return bool(fields & STRONG_FIELDS) or bool(
        fields & {"manufacturer", "brand"} and fields & {"ip", "os", "firmware"}
    )


def has_columns(columns: list[str], mapping: dict[str, str]) -> bool:
    """Whether every column a user mapping names is in the header (a table made readable by --map)."""
    return bool(mapping) and all(column == "" or _find(columns, column) is not None for column in mapping.values())


def header_test(mapping: dict[str, str] | None, kb: Headers | None = None) -> Callable[[list[str]], bool]:
    """What tells the header row of an inventory from title rows above it."""
    return lambda cells: is_inventory(cells, kb) or has_columns(cells, mapping or {})


def usable(chosen: dict[str, int], mapping: dict[str, str] | None) -> bool:
    """Whether a mapped table says something about devices (for workbooks with other sheets)."""
    return bool(DEVICE_FIELDS.intersection(chosen) or (mapping and chosen))


def describe(columns: list[str], chosen: dict[str, int]) -> dict[str, str]:
    return {field: columns[idx] for field, idx in sorted(chosen.items(), key=lambda kv: kv[1])}


def no_columns(columns: list[str], what: str = "header") -> str:
    shown = ", ".join(repr(h) for h in columns[:30]) or "(none)"
    return (
        f"no usable column in the {what} {shown}; expected columns such as Manufacturer/Make/Vendor, Model, "
        "MAC, Serial, Hostname, IP (or name them with --map FIELD=COLUMN)"
    )


def observe_table(
    fmt: str, table: Table, mapping: dict[str, str] | None, kb: Headers | None = None, date_order: str = dates.AUTO
) -> Iterator[Observation | InputError]:
    """Observations of one table: mapping problems and a table without usable columns as InputErrors first.
    date_order: --date-order (fleet/dates.py)."""
    where = Location(table.file, line=table.header_line if table.delimiter else None, entry=table.sheet)
    chosen, problems = apply_mapping(table.header, mapping, kb)
    what = "keys" if table.format == "json" else "columns"
    for problem in problems:
        yield InputError(where, f"{problem}; {what} are: {', '.join(table.header[:50])}")
    if not chosen:
        yield InputError(where, no_columns(table.header, "object keys" if table.format == "json" else "header"))
        return
    yield from observe_rows(fmt, table, chosen, kb, date_order)


FACT_NAMES = {"banner": "service.banner"}  # inventory field -> fact name where they differ
ATTRIBUTES = ("mac", "ip", "hostname", "serial")  # fields kept as Observation attributes, not facts
KEPT_APART = (*ATTRIBUTES, *context.FIELDS)  # fields that are no facts


def observe_rows(
    fmt: str, table: Table, chosen: dict[str, int], kb: Headers | None = None, date_order: str = dates.AUTO
) -> Iterator[Observation | InputError]:
    """Observations from a table's rows (the reader's InputErrors passed on in order).

    Rows with no mapped value are blank and yield nothing; an invalid MAC or date yields an InputError naming the
    row and column, and the rest of the row is still used; an empty MAC cell falls back to a further MAC column.
    Context values (fleet/context.py) go to Observation.context, dates read into YYYY-MM-DD (Excel day numbers
    too, in a workbook). A table with date columns is yielded once it is read: the day/month order of its numeric
    dates is decided from the whole column (fleet/dates.py).
    """
    date_cols = {f: table.header[i] for f, i in chosen.items() if f in context.DATES}
    if not date_cols:
        yield from cast(Iterator[Observation | InputError], _observe_rows(fmt, table, chosen, kb, None, []))
        return
    reading = dates.Dates(table.file, date_cols, date_order, table.format == "xlsx", table.sheet)
    waiting: list[Any] = []  # row, field, the row's context values: three items per date
    held = list(_observe_rows(fmt, table, chosen, kb, reading, waiting))  # None: the place of a date's error
    table_dates = reading.decide()
    file, sheet = table.file, table.sheet
    places = (place for place, item in enumerate(held) if item is None)
    each = iter(waiting)
    for place, row, name, kept in zip(places, each, each, each, strict=True):
        kept[name], problem = reading.read(name, kept[name])
        if problem:
            held[place] = InputError(Location(file, None, row, sheet, None, date_cols[name]), problem)
    for item in held:
        if item is not None:
            if table_dates is not None and isinstance(item, Observation):
                item.dates = table_dates
            yield item


def _observe_rows(
    fmt: str,
    table: Table,
    chosen: dict[str, int],
    kb: Headers | None,
    reading: dates.Dates | None,
    waiting: list[Any],
) -> Iterator[Observation | InputError | None]:
    """observe_rows; with `reading`, each date value (kept as written) is seen by it and put in `waiting` as row,
    field and the row's context values (three items), and a None yielded in the place of its InputError, if any."""
    file, columns, sheet = table.file, table.header, table.sheet
    text_cols = tuple((FACT_NAMES.get(f, f), i) for f, i in chosen.items() if f not in KEPT_APART)
    context_cols = tuple((f, i, f in context.DATES) for f, i in chosen.items() if f in context.FIELDS)
    mac_col = chosen.get("mac", -1)
    extra_macs = mac_columns(columns, chosen, kb)
    ip_col = chosen.get("ip", -1)
    host_col = chosen.get("hostname", -1)
    serial_col = chosen.get("serial", -1)
    fields = {FACT_NAMES.get(f, f): columns[i] for f, i in chosen.items()}  # shared by every row's Observation
    fromhex = bytes.fromhex
    error_type = InputError
    shift = table.header_line or 0  # rows as a spreadsheet shows them: the header's row, then its data rows
    for item in table.rows:
        if item.__class__ is error_type:
            yield sheet_row(item, shift)  # type: ignore[arg-type]
            continue
        row_no, row = item  # type: ignore[misc]
        row_no += shift
        facts = {}
        for fact, i in text_cols:
            value = row[i]
            if value:
                value = value.strip()
                if value:
                    facts[fact] = value
        mac = ip = host = serial = None
        if mac_col >= 0:
            raw = row[mac_col]
            # inline fast path of fast_mac for 'aa:bb:cc:dd:ee:ff' (the hot loop of million-row files)
            if raw[2::3] == ":::::" and len(raw) == 17:
                try:
                    if len(fromhex(raw.replace(":", ""))) == 6:
                        mac = raw.upper()
                except ValueError:
                    pass
            if mac is None:
                column = mac_col
                if not raw.strip():
                    column = next((i for i in extra_macs if row[i].strip()), mac_col)
                    raw = row[column]
                if raw.strip():
                    mac = fast_mac(raw.strip())
                    if mac is None:
                        shown = raw if len(raw) <= 40 else raw[:40] + "…"
                        where = Location(file, None, row_no, sheet, None, columns[column])
                        yield InputError(where, f"not a MAC address: {shown!r}")
        if ip_col >= 0:
            ip = row[ip_col].strip() or None
        if host_col >= 0:
            host = row[host_col].strip() or None
        if serial_col >= 0:
            serial = row[serial_col].strip() or None
        kept: dict[str, str] = {}
        for name, i, dated in context_cols:
            value = row[i].strip()
            if value:
                if dated and reading is not None:
                    value = reading.see(name, row_no, value)
                    waiting += (row_no, name, kept)
                    yield None
                kept[name] = value
        if facts or mac or ip or host or serial or kept:
            loc = row_location(file, row_no) if sheet is None else Location(file, None, row_no, sheet)
            yield Observation(fmt, loc, mac, ip, host, serial, facts, fields, context=kept)
