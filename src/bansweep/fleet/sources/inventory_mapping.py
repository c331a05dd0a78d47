"""Header auto-mapping for inventory exports (CSV/TSV, XLSX, JSON): which column holds which field.

Headers are compared case-, space-, dash- and underscore-insensitively. The names cover common spreadsheet
headers, ServiceNow cmdb_ci exports (manufacturer, model_id, mac_address, serial_number, ip_address, name,
sys_class_name), Microsoft Intune device exports and Graph JSON (Manufacturer, Model, Wi-Fi MAC, Ethernet MAC,
Serial number, Device name; wiFiMacAddress, serialNumber, deviceName), Jamf/SCCM style names and the common
German/French/Spanish spreadsheet headers (Hersteller, Modell, MAC-Adresse, Seriennummer, Fabricant, Modelo …).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import MAX_RECORDS, fast_mac, row_location

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
)

# Per field, known header names (normalised), best first.
NAMES: dict[str, tuple[str, ...]] = {
    "manufacturer": (
        "manufacturer",
        "manufacturername",
        "devicemanufacturer",
        "hardwaremanufacturer",
        "make",
        "vendor",
        "vendorname",
        "hardwarevendor",
        "oem",
        "mfr",
        "mfg",
        "maker",
        "hersteller",
        "fabricant",
        "fabricante",
    ),
    "model": (
        "model",
        "modelname",
        "devicemodel",
        "hardwaremodel",
        "modelid",
        "modelnumber",
        "modelno",
        "product",
        "productname",
        "productmodel",
        "modell",
        "modèle",
        "modelo",
    ),
    "mac": (
        "mac",
        "macaddress",
        "macaddresses",
        "macaddr",
        "ethernetaddress",
        "wifimac",
        "wifimacaddress",
        "ethernetmac",
        "ethernetmacaddress",
        "wlanmac",
        "lanmac",
        "hwaddr",
        "hardwareaddress",
        "physicaladdress",
        "macadresse",
        "adressemac",
        "direccionmac",
    ),
    "ip": (
        "ip",
        "ipaddress",
        "ipaddresses",
        "ipaddr",
        "ipv4",
        "ipv4address",
        "managementip",
        "mgmtip",
        "lastip",
        "ipv6address",
        "primaryip",
        "primaryipv4",
        "ipadresse",
        "adresseip",
    ),
    "hostname": (
        "hostname",
        "host",
        "devicename",
        "computername",
        "dnsname",
        "fqdn",
        "systemname",
        "sysname",
        "netbiosname",
        "assetname",
        "gerätename",
        "name",
    ),
    "serial": (
        "serial",
        "serialnumber",
        "serialno",
        "sn",
        "servicetag",
        "chassisserial",
        "seriennummer",
        "numérodesérie",
    ),
    "brand": ("brand", "brandname"),
    "os": ("os", "operatingsystem", "osname", "platform"),
    "firmware": (
        "firmware",
        "firmwareversion",
        "fwversion",
        "fw",
        "softwareversion",
        "osversion",
        "version",
    ),
    "banner": ("banner", "servicebanner", "sysdescr", "systemdescription"),
    "device_type": (
        "devicetype",
        "type",
        "category",
        "deviceclass",
        "class",
        "sysclassname",
        "ciclass",
        "assettype",
        "equipmenttype",
        "devicecategory",
    ),
}

# Longest cell used. The csv module's own field limit is process-wide state other code changes, so the cells a
# mapping uses are checked here.
MAX_CELL = 128 * 1024

# Fields that say something about a device's maker or identity; a table needs one to be an inventory.
DEVICE_FIELDS = frozenset({"manufacturer", "model", "mac", "brand", "serial", "banner"})
STRONG_FIELDS = frozenset({"model", "mac", "serial", "banner"})

_NOT_NAME = re.compile(r"[\s_\-./()#:]+")


def norm(header: str) -> str:
    return _NOT_NAME.sub("", header.strip().lower())


def auto_map(headers: Iterable[str]) -> dict[str, int]:
    """field -> column index chosen from the headers (best-ranked name; leftmost column on ties)."""
    index: dict[str, int] = {}
    for i, header in enumerate(headers):
        index.setdefault(norm(header), i)
    out: dict[str, int] = {}
    used: set[int] = set()
    for field in FIELDS:
        for name in NAMES[field]:
            col = index.get(name)
            if col is not None and col not in used:
                out[field] = col
                used.add(col)
                break
    return out


def mac_columns(headers: list[str], chosen: dict[str, int]) -> list[int]:
    """Further MAC columns (e.g. Ethernet MAC besides Wi-Fi MAC), used when the chosen one is empty."""
    names = set(NAMES["mac"])
    first = chosen.get("mac")
    return [i for i, h in enumerate(headers) if i != first and norm(h) in names] if first is not None else []


def check_mapping(mapping: dict[str, str] | None) -> None:
    """Reject unknown field names in a user mapping (ValueError naming the known fields)."""
    for field in mapping or {}:
        if field not in FIELDS:
            raise ValueError(f"unknown inventory field {field!r}; fields are: {', '.join(FIELDS)}")


def apply_mapping(headers: list[str], mapping: dict[str, str] | None) -> tuple[dict[str, int], list[str]]:
    """Auto-map, then apply user overrides {field: column}. Returns (field -> index, problems)."""
    chosen = auto_map(headers)
    problems = []
    for field, column in (mapping or {}).items():
        if column == "":
            chosen.pop(field, None)  # "--map serial=" switches a field off
            continue
        col = _find(headers, column)
        if col is None:
            problems.append(f"column {column!r} for field {field!r} is not in the header")
            continue
        for other, idx in list(chosen.items()):
            if idx == col and other != field:
                del chosen[other]
        chosen[field] = col
    return chosen, problems


def _find(headers: list[str], column: str) -> int | None:
    if column in headers:
        return headers.index(column)
    wanted = norm(column)
    for i, header in enumerate(headers):
        if norm(header) == wanted:
            return i
    return None


def is_inventory(headers: list[str]) -> bool:
    """A header row of a device inventory: a model, MAC, serial or banner column, or a maker/brand column together
    with an IP, OS or firmware column. A supplier list (vendor name, address, country, type) is not one."""
    fields = auto_map(headers).keys()
    return bool(fields & STRONG_FIELDS) or bool(
        fields & {"manufacturer", "brand"} and fields & {"ip", "os", "firmware"}
    )


def has_columns(headers: list[str], mapping: dict[str, str]) -> bool:
    """Whether every column a user mapping names is in the header (a table made readable by --map)."""
    return bool(mapping) and all(column == "" or _find(headers, column) is not None for column in mapping.values())


def describe(headers: list[str], chosen: dict[str, int]) -> dict[str, str]:
    return {field: headers[idx] for field, idx in sorted(chosen.items(), key=lambda kv: kv[1])}


FACT_NAMES = {"banner": "service.banner"}  # inventory field -> fact name where they differ
ATTRIBUTES = ("mac", "ip", "hostname", "serial")  # fields kept as Observation attributes, not facts


def observe_rows(
    fmt: str, file: str, headers: list[str], chosen: dict[str, int], rows: Iterator[list[str]], line_offset: int = 0
) -> Iterator[Observation | InputError]:
    """Observations from table rows (lists of cells in header order), numbered from 1 (line_offset: lines before
    the rows' reader started, for csv.Error line numbers).

    Rows with no mapped value are blank and yield nothing; an invalid MAC yields an InputError naming the row and
    column, and the rest of the row is still used. A row the csv module cannot read (csv.Error) becomes an
    InputError and reading goes on.
    """
    text_cols = tuple((FACT_NAMES.get(f, f), i) for f, i in chosen.items() if f not in ATTRIBUTES)
    mac_col = chosen.get("mac", -1)
    extra_macs = mac_columns(headers, chosen)
    ip_col = chosen.get("ip", -1)
    host_col = chosen.get("hostname", -1)
    serial_col = chosen.get("serial", -1)
    fields = {FACT_NAMES.get(f, f): headers[i] for f, i in chosen.items()}  # shared by every row's Observation
    width = max(chosen.values()) + 1
    fromhex = bytes.fromhex
    new_location = row_location
    row_no = 0
    while True:
        try:
            for row in rows:
                row_no += 1
                if row_no > MAX_RECORDS:
                    yield InputError(
                        Location(file, row=row_no), f"more than {MAX_RECORDS} rows; the rest of the file was not read"
                    )
                    return
                if len(row) < width:
                    if not any(row):
                        continue  # blank line
                    row = row + [""] * (width - len(row))
                facts = {}
                for fact, i in text_cols:
                    value = row[i]
                    if value:
                        if len(value) > MAX_CELL:
                            yield _too_long(file, row_no, headers[i], value)
                            continue
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
                                where = Location(file, None, row_no, None, None, headers[column])
                                yield InputError(where, f"not a MAC address: {shown!r}")
                if ip_col >= 0:
                    ip = row[ip_col].strip() or None
                if host_col >= 0:
                    host = row[host_col].strip() or None
                if serial_col >= 0:
                    serial = row[serial_col].strip() or None
                if ip and len(ip) > MAX_CELL:
                    yield _too_long(file, row_no, headers[ip_col], ip)
                    ip = None
                if host and len(host) > MAX_CELL:
                    yield _too_long(file, row_no, headers[host_col], host)
                    host = None
                if serial and len(serial) > MAX_CELL:
                    yield _too_long(file, row_no, headers[serial_col], serial)
                    serial = None
                if facts or mac or ip or host or serial:
                    yield Observation(fmt, new_location(file, row_no), mac, ip, host, serial, facts, fields)
            return
        except csv.Error as exc:
            row_no += 1
            line = getattr(rows, "line_num", None)
            where = Location(file, line=None if line is None else line + line_offset, row=row_no)
            yield InputError(where, f"unreadable row: {exc}")


def _too_long(file: str, row: int, column: str, value: str) -> InputError:
    where = Location(file, None, row, None, None, column)
    return InputError(where, f"cell is {len(value)} characters long (limit {MAX_CELL}); not used")
