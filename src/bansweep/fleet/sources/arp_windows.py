"""Windows `arp -a` output, with its "Interface: 192.168.1.10 --- 0xb" sections (any display language)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import first_lines, lines, mac_or_error, too_long, unicast

FORMAT = "arp-windows"
INTERFACE = re.compile(r"^\S[^:]*:\s*(?P<ip>[0-9A-Fa-f.:]+)\s+---\s+(?P<index>0x[0-9A-Fa-f]+)\s*$")
ENTRY = re.compile(r"^(?P<ip>[0-9.]+)\s+(?P<mac>(?:[0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2})\s+(?P<type>\S+)\s*$")
# the column header line ("Internet Address  Physical Address  Type"): no digits, three or more words
HEADER = re.compile(r"^[^\d]+\s{2,}[^\d]+\s{2,}[^\d]+$")


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None:
        return False
    top = first_lines(text)
    return any(INTERFACE.match(line) for line in top[:3]) and any(ENTRY.match(line) for line in top)


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    interface = None
    for number, line in lines(path):
        error = too_long(path, number, line)
        if error:
            yield error
            continue
        text = line.strip()
        if not text:
            continue
        section = INTERFACE.match(text)
        if section:
            interface = f"{section.group('ip')} ({section.group('index')})"
            continue
        m = ENTRY.match(text)
        if not m:
            if not HEADER.match(text):
                yield InputError(Location(file, line=number), f"not an arp -a entry: {text[:80]!r}")
            continue
        mac, error = mac_or_error(m.group("mac"), Location(file, line=number, field="Physical Address"))
        if error:
            yield error
            continue
        if mac is None or not unicast(mac) or mac == "FF:FF:FF:FF:FF:FF":
            continue
        facts = {"interface": interface} if interface else {}
        yield Observation(FORMAT, Location(file, line=number), mac, m.group("ip"), None, None, facts)
