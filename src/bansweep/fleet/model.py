"""What fleet sources produce: Observations of one device, each fact with where it was seen.

Fact names (the vocabulary every source uses, attribution reads):
  manufacturer, model, brand, os, firmware, device_type  -- free-text claims from inventories, MDM, getprop
  nmap.vendor           -- nmap's MAC vendor name
  cpe                   -- a CPE string
  http.server, http.realm, http.title, rtsp.server, sip.banner, ssh.banner, telnet.banner, ftp.banner,
  upnp.server, tls.subject, service.banner  -- network banners (service.banner: any other service)
  http.favicon          -- a favicon hash: MD5 hex (nmap http-favicon) or Shodan's mmh3 integer (fleet/favicon.py)
  snmp.sysdescr, snmp.sysobjectid, snmp.sysname
  snmp.entity_mfg, snmp.entity_descr  -- ENTITY-MIB entPhysicalMfgName / entPhysicalDescr (model: entPhysicalModelName)
  lldp.sysdesc, lldp.sysname, lldp.chassis_mac, lldp.port_id  -- LLDP remote-table entries describe the *neighbour*
  dhcp.vendor_class, dhcp.hostname
  prop.<key>            -- Android build properties (e.g. prop.ro.product.manufacturer)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from bansweep.findings import InputError, Location

if TYPE_CHECKING:
    from bansweep.fleet.dates import TableDates

NO_LINES: Mapping[str, int] = MappingProxyType({})
NO_CONTEXT: Mapping[str, str] = MappingProxyType({})
_HEX = re.compile(r"[0-9A-Fa-f]")

# Location is a frozen dataclass whose generated __init__ costs about 1 µs; `where` makes one for each fact of
# every device's evidence and `observation` one per record of a batch, so they set the same slots directly (equal
# and hashable like any Location). If Location's fields ever change, the plain constructor is used.
if Location.__slots__ == ("file", "line", "row", "entry", "offset", "field"):
    _new = object.__new__
    _file, _line, _row, _entry, _offset, _field = (Location.__dict__[name].__set__ for name in Location.__slots__)

    def _location(
        file: str, line: int | None, row: int | None, entry: str | None, offset: int | None, column: str | None
    ) -> Location:
        loc = _new(Location)
        _file(loc, file)
        _line(loc, line)
        _row(loc, row)
        _entry(loc, entry)
        _offset(loc, offset)
        _field(loc, column)
        return loc

else:  # pragma: no cover

    def _location(
        file: str, line: int | None, row: int | None, entry: str | None, offset: int | None, column: str | None
    ) -> Location:
        return Location(file, line, row, entry, offset, column)


@dataclass(slots=True)
class Observation:
    source: str  # input format, e.g. "nmap", "inventory", "dhcp-isc", "snmpwalk"
    location: Location  # where this record is (file and line/row)
    mac: str | None = None  # normalised by normalise_mac
    ip: str | None = None
    hostname: str | None = None
    serial: str | None = None
    facts: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)  # fact name -> original column/attribute, for evidence
    # fact name -> its own file line, when not the record's (one shared empty mapping for the records without)
    lines: Mapping[str, int] = field(default_factory=lambda: NO_LINES)
    # inventory context (fleet/context.py), not read as facts; likewise shared when empty
    context: Mapping[str, str] = field(default_factory=lambda: NO_CONTEXT)
    dates: TableDates | None = None  # how its table's numeric dates were read (fleet/dates.py), shared

    def where(self, fact: str) -> Location:
        """Location of one fact: the record's location plus the column/attribute it came from (and its own line in
        a text source whose record spans lines, e.g. an SNMP walk)."""
        col = self.fields.get(fact)
        line = self.lines.get(fact)
        if col is None and line is None:
            return self.location
        loc = self.location
        return _location(loc.file, line or loc.line, loc.row, loc.entry, loc.offset, col)


@dataclass(slots=True)
class ObservationBatch:
    """Many observations of one table in columns: record k is the Observation `observation(k)` gives, row for row
    what a source would yield one by one (a fast reader's output; merging treats both forms alike).

    Every record's location is `file` with its row; an empty value ("" or None) is an absent one, and the facts
    of a record are its non-empty values in column order (its context likewise)."""

    source: str
    file: str
    fields: dict[str, str]  # fact (and mac/ip/...) name -> column, shared by every record
    rows: list[int]
    macs: list[str | None]
    ips: list[str | None]
    hostnames: list[str | None]
    serials: list[str | None]
    facts: dict[str, list[str | None]]
    context: dict[str, list[str | None]] = field(default_factory=dict)  # context field -> column of values
    dates: TableDates | None = None  # how the table's numeric dates were read (fleet/dates.py)

    def __len__(self) -> int:
        return len(self.rows)

    def observation(self, k: int) -> Observation:
        return Observation(
            self.source,
            _location(self.file, None, self.rows[k], None, None, None),
            self.macs[k] or None,
            self.ips[k] or None,
            self.hostnames[k] or None,
            self.serials[k] or None,
            {fact: value for fact, column in self.facts.items() if (value := column[k])},
            self.fields,
            NO_LINES,
            {name: value for name, column in self.context.items() if (value := column[k])},
            self.dates,
        )


# What every source module provides: parse(path) -> Iterator[Observation | InputError]
ParseResult = Iterator[Observation | InputError]


def normalise_mac(text: str) -> str | None:
    """'aa-bb-cc-dd-ee-ff', 'aabb.ccdd.eeff', 'aabbccddeeff', 'a:b:c:d:e:f' -> 'AA:BB:CC:DD:EE:FF'; else None."""
    s = text.strip()
    if not s or len(s) > 32:
        return None
    parts = re.split(r"[:\-]", s)
    if len(parts) == 6 and all(1 <= len(p) <= 2 and _HEX.fullmatch(p[0]) for p in parts):
        try:
            octets = [int(p, 16) for p in parts]
        except ValueError:
            return None
        return ":".join(f"{o:02X}" for o in octets)
    digits = re.sub(r"[.:\-\s]", "", s)
    if len(digits) == 12 and all(_HEX.fullmatch(c) for c in digits):
        return ":".join(digits[i : i + 2].upper() for i in range(0, 12, 2))
    return None
