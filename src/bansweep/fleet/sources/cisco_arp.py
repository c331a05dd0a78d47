"""Cisco `show ip arp` (IOS/IOS-XE, and NX-OS's `show ip arp` table): IP, MAC and interface per entry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import device_mac, each_line, first_lines

FORMAT = "cisco-arp"
DOTTED = r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
# Internet  10.1.1.20   12   4cbd.8f12.3456  ARPA   Vlan10
IOS = re.compile(
    rf"^Internet\s+(?P<ip>[0-9.]+)\s+(?P<age>\S+)\s+(?P<mac>{DOTTED}|Incomplete)\s+\S+(?:\s+(?P<dev>\S+))?\s*$"
)
# 10.1.1.20   00:03:12  4cbd.8f12.3456  Vlan10   (NX-OS)
NXOS = re.compile(rf"^(?P<ip>[0-9.]+)\s+(?P<age>\S+)\s+(?P<mac>{DOTTED}|INCOMPLETE)\s+(?P<dev>\S+)(?:\s+\S+)*\s*$")
HEADER = re.compile(r"^(Protocol\s+Address\s+Age|Address\s+Age\s+MAC)", re.IGNORECASE)
# prompts, NX-OS legends and totals that surround the table
NOISE = re.compile(
    r"^(\S+[#>]\s*((sh|show)\b.*)?$|Flags:|IP ARP Table|Total number of entries|\(?[\w*+#~]{1,3}\)?\s+-\s)",
    re.IGNORECASE,
)


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None:
        return False
    top = first_lines(text)
    return any(HEADER.match(line) for line in top) and any(IOS.match(line) or NXOS.match(line) for line in top)


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)

    def entry(number: int, text: str) -> Iterator[Observation | InputError]:
        if HEADER.match(text):
            return
        m = IOS.match(text) or NXOS.match(text)
        if not m:
            if not NOISE.match(text):
                yield InputError(Location(file, line=number), f"not a show ip arp entry: {text[:80]!r}")
            return
        if m.group("mac").lower() == "incomplete":
            return
        mac, error = device_mac(m.group("mac"), Location(file, line=number, field="Hardware Addr"))
        if error:
            yield error
        if mac:
            facts = {"interface": m.group("dev")} if m.group("dev") else {}
            yield Observation(FORMAT, Location(file, line=number), mac, m.group("ip"), None, None, facts)

    return each_line(path, entry)
