"""snmpwalk / snmpbulkwalk output, numeric (-On, `iso.3.6…`) or with MIB names (`SNMPv2-MIB::sysDescr.0`).

The walked agent is one Observation (snmp.sysdescr, snmp.sysobjectid, snmp.sysname, ENTITY-MIB's
manufacturer/model/serial of the first physical entity that has them, the first interface MAC and non-loopback
IPv4 address); each LLDP remote-table neighbour is one more (lldp.sysname, lldp.sysdesc, lldp.port_desc,
lldp.chassis_mac, and the IPv4 management address from lldpRemManAddrTable). A file holding several walks (a second
sysDescr.0) gives one agent Observation per walk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import clip, fast_mac, first_lines, lines, too_long, unicast

FORMAT = "snmpwalk"
LINE = re.compile(r"^(?P<oid>[\w.:\-\[\]\"']+)\s+=\s+(?:(?P<type>[\w\- ]+?):\s?(?P<value>.*)|(?P<empty>\"\"\s*))$")
NO_VALUE = re.compile(r"^(No Such (Object|Instance)|No more variables left|End of MIB|Timeout: No Response)")

SYSTEM = {"1.3.6.1.2.1.1.1": "snmp.sysdescr", "1.3.6.1.2.1.1.2": "snmp.sysobjectid", "1.3.6.1.2.1.1.5": "snmp.sysname"}
ENTITY = {
    "1.3.6.1.2.1.47.1.1.1.1.2": "snmp.entity_descr",
    "1.3.6.1.2.1.47.1.1.1.1.12": "snmp.entity_mfg",
    "1.3.6.1.2.1.47.1.1.1.1.13": "model",
}
ENTITY_SERIAL = "1.3.6.1.2.1.47.1.1.1.1.11"
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1."
LLDP_MAN_ADDR = "1.0.8802.1.1.2.1.4.2.1."
IF_PHYS = "1.3.6.1.2.1.2.2.1.6"
IP_ADDR = "1.3.6.1.2.1.4.20.1.1"
LLDP_COLUMNS = {
    "4": "chassis_subtype",
    "5": "chassis",
    "7": "lldp.port_id",
    "8": "lldp.port_desc",
    "9": "lldp.sysname",
    "10": "lldp.sysdesc",
}
NAMES = {
    "sysDescr": "1.3.6.1.2.1.1.1",
    "sysObjectID": "1.3.6.1.2.1.1.2",
    "sysName": "1.3.6.1.2.1.1.5",
    "entPhysicalDescr": "1.3.6.1.2.1.47.1.1.1.1.2",
    "entPhysicalSerialNum": "1.3.6.1.2.1.47.1.1.1.1.11",
    "entPhysicalMfgName": "1.3.6.1.2.1.47.1.1.1.1.12",
    "entPhysicalModelName": "1.3.6.1.2.1.47.1.1.1.1.13",
    "lldpRemChassisIdSubtype": "1.0.8802.1.1.2.1.4.1.1.4",
    "lldpRemChassisId": "1.0.8802.1.1.2.1.4.1.1.5",
    "lldpRemPortId": "1.0.8802.1.1.2.1.4.1.1.7",
    "lldpRemPortDesc": "1.0.8802.1.1.2.1.4.1.1.8",
    "lldpRemSysName": "1.0.8802.1.1.2.1.4.1.1.9",
    "lldpRemSysDesc": "1.0.8802.1.1.2.1.4.1.1.10",
    "lldpRemManAddrIfSubtype": "1.0.8802.1.1.2.1.4.2.1.3",
    "lldpRemManAddrIfId": "1.0.8802.1.1.2.1.4.2.1.4",
    "ifPhysAddress": "1.3.6.1.2.1.2.2.1.6",
    "ipAdEntAddr": "1.3.6.1.2.1.4.20.1.1",
    "enterprises": "1.3.6.1.4.1",
}
_OID = re.compile(r"^(\.?\d+(\.\d+)+|iso(\.\d+)+|[\w-]+::\w+)")
# a lone value of a walk (one line) is enough when its OID is plainly an SNMP one
_SNMP_OID = re.compile(r"^(?:\.?1\.3\.6\.1\.|iso\.3\.6\.1\.|[\w-]+-MIB::\w+)")
_NAMED = re.compile(r"^(?:[\w\-]+::)?(?P<name>[A-Za-z]\w*)(?P<rest>(?:\.[^\s]*)?)$")


def numeric(oid: str) -> str:
    """'iso.3.6.1…', '.1.3.6.1…', 'SNMPv2-MIB::sysDescr.0', 'SNMPv2-SMI::enterprises.2011.2' -> '1.3.6.1…'."""
    oid = oid.strip().strip('"')
    if oid.startswith("."):
        return oid[1:]
    if oid.startswith("iso."):
        return "1." + oid[4:]
    m = _NAMED.match(oid)
    if m and m.group("name") in NAMES:
        return NAMES[m.group("name")] + m.group("rest")
    return oid


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None:
        return False
    top = first_lines(text)
    hits = kept = 0  # OID lines; and lines that continue a quoted STRING value over several lines
    inside = False
    for line in top:
        quotes = line.count('"') - line.count('\\"')
        if inside:
            kept += 1
            inside = quotes % 2 == 0
        elif LINE.match(line) and _OID.match(line):
            hits += 1
            inside = quotes % 2 == 1
    if hits == 1 and len(top) == 1:
        return _SNMP_OID.match(top[0]) is not None
    return hits >= 2 and hits + kept >= len(top) * 0.6


class _Agent:
    def __init__(self) -> None:
        self.facts: dict[str, str] = {}
        self.fields: dict[str, str] = {}
        self.lines: dict[str, int] = {}  # fact -> the line of its OID
        self.serial: str | None = None
        self.ip: str | None = None
        self.mac: str | None = None
        self.line = 0


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    walk = _Walk()
    current: _Value | None = None  # the value being read; STRING values may continue on the following lines
    for number, line in lines(path):
        error = too_long(path, number, line)
        if error:
            yield error
            continue
        if current is not None and current.open:
            current.parts.append(line)
            current.open = not _closes(line)
            continue
        text = line.strip()
        m = LINE.match(text) if text else None
        if m is None:
            if not text or NO_VALUE.match(text):
                continue
            if current is not None and current.kind == "STRING" and not current.parts[0].startswith('"'):
                current.parts.append(line)  # an unquoted multi-line DisplayString (MIBs loaded)
                continue
            yield InputError(Location(file, line=number), f"not an snmpwalk line: {text[:80]!r}")
            continue
        if current is not None:
            yield from walk.add(current, file)
        value = m.group("value") if m.group("value") is not None else '""'
        current = _Value(number, m.group("oid"), (m.group("type") or "STRING").strip(), value)
    if current is not None:
        if current.open:
            yield InputError(Location(file, line=current.line), "quoted string is not closed (truncated file?)")
        else:
            yield from walk.add(current, file)
    yield from walk.finish(file)


class _Value:
    __slots__ = ("line", "oid", "kind", "parts", "open")

    def __init__(self, line: int, oid: str, kind: str, value: str) -> None:
        self.line, self.oid, self.kind, self.parts = line, oid, kind, [value]
        self.open = kind == "STRING" and value.startswith('"') and not _closes(value, opening=True)


class _Walk:
    def __init__(self) -> None:
        self.agent = _Agent()
        self.neighbours: dict[str, dict[str, str]] = {}  # LLDP index -> column -> value
        self.neighbour_lines: dict[str, int] = {}

    def add(self, value: _Value, file: str) -> Iterator[Observation]:
        if numeric(value.oid) == "1.3.6.1.2.1.1.1.0" and "snmp.sysdescr" in self.agent.facts:
            yield from _flush_agent(self.agent, file)  # a second walk in the same file
            self.agent = _Agent()
        _value(
            value.oid, value.kind, "\n".join(value.parts), value.line, self.agent, self.neighbours, self.neighbour_lines
        )

    def finish(self, file: str) -> Iterator[Observation]:
        yield from _flush_agent(self.agent, file)
        for index, columns in self.neighbours.items():
            yield _neighbour(index, columns, Location(file, line=self.neighbour_lines[index]))


def _closes(text: str, opening: bool = False) -> bool:
    body = text.rstrip()
    if opening:
        body = body[1:]
    return body.endswith('"') and not body.endswith('\\"')


def _decode(kind: str, value: str) -> str:
    value = value.strip()
    if kind == "Hex-STRING":
        try:
            data = bytes.fromhex(value.replace("\n", " "))
        except ValueError:
            return value
        return data.rstrip(b"\x00").decode("utf-8", errors="replace")
    if kind == "OID":
        return numeric(value)
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def _value(
    oid: str,
    kind: str,
    value: str,
    number: int,
    agent: _Agent,
    neighbours: dict[str, dict[str, str]],
    neighbour_lines: dict[str, int],
) -> None:
    dotted = numeric(oid)
    base, _, instance = dotted.rpartition(".")
    if base in SYSTEM and instance == "0":
        fact = SYSTEM[base]
        agent.line = agent.line or number
        decoded = clip(_decode(kind, value))
        if decoded:
            agent.facts[fact] = decoded
            agent.fields[fact] = oid
            agent.lines[fact] = number
    elif dotted.startswith(LLDP_REM):
        column, _, index = dotted[len(LLDP_REM) :].partition(".")
        if column in LLDP_COLUMNS and index:
            entry = neighbours.setdefault(index, {})
            neighbour_lines.setdefault(index, number)
            entry[LLDP_COLUMNS[column]] = (
                value.strip() if column == "5" and kind == "Hex-STRING" else _decode(kind, value)
            )
            entry[f"{LLDP_COLUMNS[column]}.kind"] = kind
            entry[f"{LLDP_COLUMNS[column]}.oid"] = oid
            entry[f"{LLDP_COLUMNS[column]}.line"] = str(number)
    else:
        for prefix, fact in ENTITY.items():
            if dotted.startswith(prefix + ".") and fact not in agent.facts:
                decoded = _decode(kind, value)
                if decoded:
                    agent.facts[fact] = clip(decoded)
                    agent.fields[fact] = oid
                    agent.lines[fact] = number
        if dotted.startswith(ENTITY_SERIAL + ".") and agent.serial is None:
            agent.serial = _decode(kind, value) or None
            agent.fields["serial"] = oid
            agent.lines["serial"] = number
        elif dotted.startswith(IF_PHYS + ".") and agent.mac is None:
            mac = fast_mac(":".join(value.replace('"', "").split()) if kind == "Hex-STRING" else value.strip('" '))
            if mac and mac != "00:00:00:00:00:00" and unicast(mac):
                agent.mac = mac
                agent.fields["mac"] = oid
                agent.lines["mac"] = number
        elif dotted.startswith(IP_ADDR + ".") and agent.ip is None:
            ip = value.strip()
            if ip and not ip.startswith(("127.", "0.")):
                agent.ip = ip
                agent.fields["ip"] = oid
                agent.lines["ip"] = number
    if dotted.startswith(LLDP_MAN_ADDR):
        _management_address(dotted, oid, number, neighbours, neighbour_lines)


def _management_address(
    dotted: str, oid: str, number: int, neighbours: dict[str, dict[str, str]], neighbour_lines: dict[str, int]
) -> None:
    """lldpRemManAddrTable carries the neighbour's management address in its index:
    column.timemark.localport.remindex.subtype.length.address-octets (subtype 1 = IPv4)."""
    parts = dotted[len(LLDP_MAN_ADDR) :].split(".")
    if len(parts) == 10 and parts[4] == "1" and parts[5] == "4":
        index = ".".join(parts[1:4])
        entry = neighbours.setdefault(index, {})
        neighbour_lines.setdefault(index, number)
        entry.setdefault("ip", ".".join(parts[6:10]))
        entry.setdefault("ip.oid", oid)
        entry.setdefault("ip.line", str(number))


def _flush_agent(agent: _Agent, file: str) -> Iterator[Observation]:
    if agent.facts or agent.mac or agent.ip or agent.serial:
        host = agent.facts.get("snmp.sysname") or None
        where = Location(file, line=agent.line or None)
        yield Observation(
            FORMAT, where, agent.mac, agent.ip, host, agent.serial, agent.facts, agent.fields, agent.lines
        )


def _neighbour(index: str, columns: dict[str, str], where: Location) -> Observation:
    facts: dict[str, str] = {}
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    for key in ("lldp.sysname", "lldp.sysdesc", "lldp.port_id", "lldp.port_desc"):
        if columns.get(key):
            facts[key] = clip(columns[key])
            fields[key] = columns[f"{key}.oid"]
            lines[key] = int(columns[f"{key}.line"])
    mac = None
    chassis = columns.get("chassis", "")
    if chassis:
        raw = chassis.replace('"', "").split()
        # macAddress(4) chassis IDs are six octets (Hex-STRING "70 7B E8 11 22 33", or a MAC-like string)
        if len(raw) == 6:
            mac = fast_mac(":".join(raw))
        elif columns.get("chassis_subtype", "4") in ("4", "macAddress(4)"):
            mac = fast_mac(chassis.strip('"'))
        if mac:
            facts["lldp.chassis_mac"] = mac
            fields["lldp.chassis_mac"] = columns["chassis.oid"]
            fields["mac"] = columns["chassis.oid"]
            lines["lldp.chassis_mac"] = lines["mac"] = int(columns["chassis.line"])
    if columns.get("ip"):
        fields["ip"] = columns["ip.oid"]
        lines["ip"] = int(columns["ip.line"])
    host = facts.get("lldp.sysname")
    return Observation(FORMAT, where, mac, columns.get("ip"), host, None, facts, fields, lines)
