"""Fleet input sources: one module per format, recognised by content, each yielding Observations and InputErrors.

    sniff(item, mapping=None, knowledge=()) -> format name or None
    parse(fmt, path, mapping, knowledge=()) -> Iterator[Observation | InputError]   (bad input never raises)
    describe_mapping(path, mapping, knowledge=()) -> {field: column} for inventories, else None

knowledge: --knowledge overlay directories (their headers.yaml adds inventory header names).

Formats (Observation.source is the format name):
    nmap              nmap -oX: host (MAC, nmap.vendor, IP, hostname, os, cpe) + one per open port (banners)
    inventory-csv     CSV/TSV exports (CMDB, MDM, spreadsheets), header auto-mapping
    inventory-xlsx    XLSX exports, same mapping
    inventory-json    JSON arrays of objects / {"devices"|"value"|"result"|…: [...]}, same mapping
    neigh-linux       ip neigh, arp -a / -an / -n
    arp-windows       arp -a with Interface sections
    cisco-arp         show ip arp (IOS, NX-OS)
    cisco-mac-table   show mac address-table (IOS, NX-OS): vlan, interface
    dhcp-isc          dhcpd.leases: dhcp.hostname, dhcp.vendor_class (option 60)
    dnsmasq           dnsmasq.leases
    kea-csv           Kea memfile lease CSV (vendor class from user_context)
    snmpwalk          snmpwalk/snmpbulkwalk: agent (snmp.*) + LLDP neighbours (lldp.*)
    cyclonedx         CycloneDX JSON device/firmware components
    getprop           Android getprop dumps: manufacturer, brand, model, serial, prop.<key>
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.inventory_mapping import FIELDS, check_mapping
from bansweep.inputs import InputFile, InputProblem, read_head
from bansweep.tables.delimited import head_text

# format name -> module, in sniff order (most specific first)
MODULES = {
    "nmap": "nmap",
    "cyclonedx": "cyclonedx",
    "inventory-json": "inventory_json",
    "inventory-xlsx": "inventory_xlsx",
    "getprop": "getprop",
    "snmpwalk": "snmpwalk",
    "dhcp-isc": "dhcp_isc",
    "kea-csv": "kea_csv",
    "dnsmasq": "dnsmasq",
    "cisco-mac-table": "cisco_mac_table",
    "cisco-arp": "cisco_arp",
    "arp-windows": "arp_windows",
    "neigh-linux": "neigh_linux",
    "inventory-csv": "inventory_csv",
}
FORMATS = tuple(MODULES)
INVENTORY_FORMATS = ("inventory-csv", "inventory-xlsx", "inventory-json")
__all__ = ["FIELDS", "FORMATS", "INVENTORY_FORMATS", "describe_mapping", "parse", "sniff"]


def _module(fmt: str) -> ModuleType:
    if fmt not in MODULES:
        raise ValueError(f"unknown fleet input format {fmt!r}; formats are: {', '.join(FORMATS)}")
    return importlib.import_module(f"bansweep.fleet.sources.{MODULES[fmt]}")


def sniff(item: InputFile, mapping: dict[str, str] | None = None, knowledge: Sequence[Path] = ()) -> str | None:
    """The format of a file, judged by its content (never its name), or None.

    With a user mapping ({field: column}), a delimited table whose header holds every mapped column is an
    inventory even when no column name is recognised.
    """
    if not item.head:
        return None
    text = head_text(item.head)
    for fmt in FORMATS:
        extra = {"knowledge": knowledge} if fmt in INVENTORY_FORMATS else {}
        try:
            if _module(fmt).sniff(item.head, text, item.path, **extra):
                return fmt
        except (OSError, InputProblem):
            return None
    if mapping and _module("inventory-csv").sniff(item.head, text, item.path, mapping, knowledge):
        return "inventory-csv"
    return None


def parse(
    fmt: str, path: Path, mapping: dict[str, str] | None = None, knowledge: Sequence[Path] = ()
) -> Iterator[Observation | InputError]:
    """Observations and InputErrors of one file. Unknown formats or mapping fields raise ValueError at once;
    everything wrong with the file itself comes back as InputErrors."""
    module = _module(fmt)
    if fmt in INVENTORY_FORMATS:
        check_mapping(mapping)
        return _guarded(module.parse(path, mapping, knowledge), path)
    return _guarded(module.parse(path, mapping), path)


def _guarded(items: Iterator[Observation | InputError], path: Path) -> Iterator[Observation | InputError]:
    """Turn a file-level failure (unreadable, too big, wrong encoding, nested too deep) into one InputError."""
    try:
        yield from items
    except InputProblem as problem:
        yield problem.to_error()
    except OSError as exc:
        yield InputError(Location(str(path)), f"cannot read: {exc.strerror or exc}")
    except UnicodeError as exc:
        yield InputError(Location(str(path)), f"text encoding problem: {exc}")
    except RecursionError:
        yield InputError(Location(str(path)), "input nested too deeply")


def describe_mapping(
    path: Path, mapping: dict[str, str] | None = None, knowledge: Sequence[Path] = ()
) -> dict[str, str] | None:
    """For an inventory file, the column chosen for each field (after overrides); None for other formats or when
    the file cannot be read."""
    try:
        fmt = sniff(InputFile(path, read_head(path)), mapping, knowledge)
    except OSError:
        return None
    if fmt not in INVENTORY_FORMATS:
        return None
    check_mapping(mapping)
    try:
        described: dict[str, str] = _module(fmt).describe(path, mapping, knowledge)
    except (InputProblem, OSError, UnicodeError, RecursionError):
        return None
    return described
