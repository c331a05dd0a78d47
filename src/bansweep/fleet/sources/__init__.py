"""Fleet input sources: one module per format (an InputSource, see interface.py), listed in SOURCES.

    sniff(item, mapping=None, knowledge=()) -> format name or None
    parse(fmt, path, mapping, knowledge=(), date_order="auto") -> Iterator[Observation | InputError]   (bad input never raises)
    describe_mapping(path, mapping, knowledge=(), fmt=None) -> {field: column} for inventories, else None

knowledge: --knowledge overlay directories (their headers.yaml adds inventory header names).
A new format: one module with sniff(head, text, path) and parse(path, mapping), and one line in SOURCES.

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

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet import dates
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import (
    arp_windows,
    cisco_arp,
    cisco_mac_table,
    cyclonedx,
    dhcp_isc,
    dnsmasq,
    getprop,
    inventory_csv,
    inventory_json,
    inventory_xlsx,
    kea_csv,
    neigh_linux,
    nmap,
    snmpwalk,
)
from bansweep.fleet.sources.inventory_mapping import FIELDS, check_mapping
from bansweep.inputs import InputFile, InputProblem, read_head
from bansweep.tables.delimited import head_text


@dataclass(frozen=True, slots=True)
class Source:
    """A source module (an InputSource) under its format name. Inventories (those with `describe`, which gives the
    column mapping) also take the --knowledge overlays, whose headers.yaml adds header names."""

    name: str
    sniff_fn: Callable[..., bool]
    parse_fn: Callable[..., Iterator[Observation | InputError]]
    describe: Callable[..., dict[str, str]] | None = None

    def sniff(self, head: bytes, text: str | None, path: Path, knowledge: Sequence[Path] = ()) -> bool:
        if self.describe is not None:
            return self.sniff_fn(head, text, path, knowledge=knowledge)
        return self.sniff_fn(head, text, path)

    def parse(
        self,
        path: Path,
        mapping: dict[str, str] | None = None,
        knowledge: Sequence[Path] = (),
        date_order: str = dates.AUTO,
    ) -> Iterator[Observation | InputError]:
        if self.describe is not None:
            return self.parse_fn(path, mapping, knowledge, date_order)
        return self.parse_fn(path, mapping)


# in sniff order: most specific first
SOURCES: tuple[Source, ...] = (
    Source("nmap", nmap.sniff, nmap.parse),
    Source("cyclonedx", cyclonedx.sniff, cyclonedx.parse),
    Source("inventory-json", inventory_json.sniff, inventory_json.parse, inventory_json.describe),
    Source("inventory-xlsx", inventory_xlsx.sniff, inventory_xlsx.parse, inventory_xlsx.describe),
    Source("getprop", getprop.sniff, getprop.parse),
    Source("snmpwalk", snmpwalk.sniff, snmpwalk.parse),
    Source("dhcp-isc", dhcp_isc.sniff, dhcp_isc.parse),
    Source("kea-csv", kea_csv.sniff, kea_csv.parse),
    Source("dnsmasq", dnsmasq.sniff, dnsmasq.parse),
    Source("cisco-mac-table", cisco_mac_table.sniff, cisco_mac_table.parse),
    Source("cisco-arp", cisco_arp.sniff, cisco_arp.parse),
    Source("arp-windows", arp_windows.sniff, arp_windows.parse),
    Source("neigh-linux", neigh_linux.sniff, neigh_linux.parse),
    Source("inventory-csv", inventory_csv.sniff, inventory_csv.parse, inventory_csv.describe),
)
BY_NAME = {s.name: s for s in SOURCES}
FORMATS = tuple(BY_NAME)
INVENTORY_FORMATS = ("inventory-csv", "inventory-xlsx", "inventory-json")
__all__ = ["FIELDS", "FORMATS", "INVENTORY_FORMATS", "SOURCES", "describe_mapping", "parse", "sniff"]


def source(fmt: str) -> Source:
    if fmt not in BY_NAME:
        raise ValueError(f"unknown fleet input format {fmt!r}; formats are: {', '.join(FORMATS)}")
    return BY_NAME[fmt]


def sniff(item: InputFile, mapping: dict[str, str] | None = None, knowledge: Sequence[Path] = ()) -> str | None:
    """The format of a file, judged by its content (never its name), or None.

    With a user mapping ({field: column}), a delimited table whose header holds every mapped column is an
    inventory even when no column name is recognised.
    """
    if not item.head:
        return None
    text = head_text(item.head)
    for src in SOURCES:
        try:
            if src.sniff(item.head, text, item.path, knowledge):
                return src.name
        except (OSError, InputProblem):
            return None
    if mapping and inventory_csv.sniff(item.head, text, item.path, mapping, knowledge):
        return "inventory-csv"
    return None


def parse(
    fmt: str,
    path: Path,
    mapping: dict[str, str] | None = None,
    knowledge: Sequence[Path] = (),
    date_order: str = dates.AUTO,
) -> Iterator[Observation | InputError]:
    """Observations and InputErrors of one file. Unknown formats or mapping fields raise ValueError at once;
    everything wrong with the file itself comes back as InputErrors. date_order: how inventories read numeric
    dates (--date-order, fleet/dates.py)."""
    src = source(fmt)
    if fmt in INVENTORY_FORMATS:
        check_mapping(mapping)
    return _guarded(src.parse(path, mapping, knowledge, date_order), path)


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
    path: Path, mapping: dict[str, str] | None = None, knowledge: Sequence[Path] = (), fmt: str | None = None
) -> dict[str, str] | None:
    """For an inventory file, the column chosen for each field (after overrides); None for other formats or when
    the file cannot be read. fmt: the file's format when already known (else it is sniffed)."""
    if fmt is None:
        try:
            fmt = sniff(InputFile(path, read_head(path)), mapping, knowledge)
        except OSError:
            return None
    src = BY_NAME.get(fmt) if fmt in INVENTORY_FORMATS else None
    if src is None or src.describe is None:
        return None
    check_mapping(mapping)
    try:
        described = src.describe(path, mapping, knowledge)
    except (InputProblem, OSError, UnicodeError, RecursionError):
        return None
    return described
