"""Windows `arp -a` output, with its "Interface: 192.168.1.10 --- 0xb" sections (any display language)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import device_mac, each_line, first_lines

FORMAT = "arp-windows"
INTERFACE = re.compile(r"^\S[^:]*:\s*(?P<ip>[0-9A-Fa-f.:]+)\s+---\s+(?P<index>0x[0-9A-Fa-f]+)\s*$")
ENTRY = re.compile(r"^(?P<ip>[0-9.]+)\s+(?P<mac>(?:[0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2})\s+(?P<type>\S+)\s*$")
# the column header line ("Internet Address  Physical Address  Type"): no digits, three or more words
GAP = re.compile(r"\s{2,}")


def _is_header(text: str) -> bool:
    """'  Internet Address      Physical Address      Type': three digit-free columns (no backtracking regex: a
    line of spaces and control characters must not take seconds)."""
    return not any(c.isdigit() for c in text) and len([p for p in GAP.split(text.strip()) if p]) == 3


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None:
        return False
    top = first_lines(text)
    return any(INTERFACE.match(line) for line in top[:3]) and any(ENTRY.match(line) for line in top)


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    interface = None

    def entry(number: int, text: str) -> Iterator[Observation | InputError]:
        nonlocal interface
        section = INTERFACE.match(text)
        if section:
            interface = f"{section.group('ip')} ({section.group('index')})"
            return
        m = ENTRY.match(text)
        if not m:
            if not _is_header(text):
                yield InputError(Location(file, line=number), f"not an arp -a entry: {text[:80]!r}")
            return
        mac, error = device_mac(m.group("mac"), Location(file, line=number, field="Physical Address"))
        if error:
            yield error
        if mac:  # broadcast ff-ff-ff-ff-ff-ff is multicast too, so device_mac drops it
            facts = {"interface": interface} if interface else {}
            yield Observation(FORMAT, Location(file, line=number), mac, m.group("ip"), None, None, facts)

    return each_line(path, entry)
