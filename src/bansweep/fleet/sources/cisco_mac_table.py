"""Cisco `show mac address-table` (IOS/IOS-XE and NX-OS): one Observation per learned MAC, VLAN and port as facts.

Entries pointing at the switch itself (CPU, Router, Sup-eth, "All" VLAN) and multicast MACs are not devices.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import device_mac, each_line, first_lines

FORMAT = "cisco-mac-table"
DOTTED = r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
#   10    4cbd.8f12.3456    DYNAMIC     Gi1/0/5          (IOS)
# *   10     4cbd.8f12.3456   dynamic  0         F      F    Eth1/5   (NX-OS, with flags and age)
ENTRY = re.compile(
    rf"^(?:[*+GRO~C]\s+)?(?P<vlan>\d+|All|-|N/A)\s+(?P<mac>{DOTTED})\s+(?P<type>\S+)(?P<rest>.*)$",
    re.IGNORECASE,
)
HEADER = re.compile(r"^(Vlan\s+Mac Address|VLAN\s+MAC Address|Mac Address Table|-{3,}|[-+ ]+$)", re.IGNORECASE)
NOISE = re.compile(
    r"^(\S+[#>]\s*((sh|show)\b.*)?$|Legend:|Total Mac Addresses|Multicast Entries|(\(?[\w*+#~]{1,3}\)?|age)\s+-\s)",
    re.IGNORECASE,
)
SELF_PORTS = {"cpu", "router", "sup-eth1(r)", "sup-eth1", "vpc peer-link(r)", "drop"}


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None:
        return False
    top = first_lines(text, 30)
    return any(re.match(r"^(Vlan|VLAN)\s+Mac Address", line, re.IGNORECASE) for line in top) and any(
        ENTRY.match(line) for line in top
    )


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)

    def entry(number: int, text: str) -> Iterator[Observation | InputError]:
        if HEADER.match(text):
            return
        m = ENTRY.match(text)
        if not m:
            if not NOISE.match(text):
                yield InputError(Location(file, line=number), f"not a MAC address table entry: {text[:80]!r}")
            return
        rest = m.group("rest").split()
        port = rest[-1] if rest else ""  # NX-OS puts age/secure/ntfy columns before the port
        if m.group("vlan").lower() == "all" or port.lower() in SELF_PORTS:
            return
        mac, error = device_mac(m.group("mac"), Location(file, line=number, field="Mac Address"))
        if error:
            yield error
        if mac:
            facts = {"vlan": m.group("vlan"), "interface": port} if port else {"vlan": m.group("vlan")}
            yield Observation(FORMAT, Location(file, line=number), mac, None, None, None, facts)

    return each_line(path, entry)
