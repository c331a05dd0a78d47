"""Linux neighbour tables: `ip neigh` output and `arp -a`/`arp -an` (plus the `arp -n` table form).

One Observation per entry with a link-layer address; entries without one (FAILED, INCOMPLETE) name no device.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import device_mac, each_line, first_lines

FORMAT = "neigh-linux"
# 192.168.1.1 dev eth0 lladdr 00:11:22:33:44:55 [router] REACHABLE
IP_NEIGH = re.compile(r"^(?P<ip>[0-9A-Fa-f.:]+)\s+dev\s+(?P<dev>\S+)(?:\s+lladdr\s+(?P<mac>\S+))?(?:\s+\S+)*\s*$")
# ? (192.168.1.1) at 00:11:22:33:44:55 [ether] on eth0   /   host.lan (10.0.0.2) at <incomplete> on eth0
ARP_A = re.compile(
    r"^(?P<host>\S+)\s+\((?P<ip>[0-9A-Fa-f.:]+)\)\s+at\s+(?P<mac>\S+)(?:\s+\[\w+\])?(?:\s+\S+)*?\s+on\s+(?P<dev>\S+)"
)
# 192.168.1.1   ether   00:11:22:33:44:55   C   eth0
ARP_N = re.compile(
    r"^(?P<ip>[0-9.]+)\s+(?:ether|ieee802)\s+(?P<mac>[0-9A-Fa-f:]{11,17})\s+\S+\s+(?:\S+\s+)?(?P<dev>\S+)\s*$"
)
ARP_N_HEADER = re.compile(r"^Address\s+HWtype\s+HWaddress", re.IGNORECASE)
_NO_ADDRESS = re.compile(r"\(incomplete\)|<incomplete>|\bFAILED\b|\bINCOMPLETE\b")


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None:
        return False
    top = first_lines(text)
    hits = sum(1 for line in top if IP_NEIGH.match(line) or ARP_A.match(line) or ARP_N.match(line))
    return hits > 0 and hits >= len(top) - 1 - any(ARP_N_HEADER.match(line) for line in top)


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)

    def entry(number: int, text: str) -> Iterator[Observation | InputError]:
        if ARP_N_HEADER.match(text):
            return
        m = ARP_A.match(text) or IP_NEIGH.match(text) or ARP_N.match(text)
        if not m:
            yield InputError(Location(file, line=number), f"not a neighbour table entry: {text[:80]!r}")
            return
        raw = m.group("mac")
        if raw is None or _NO_ADDRESS.search(raw) or (m.re is IP_NEIGH and _NO_ADDRESS.search(text) and not raw):
            return
        mac, error = device_mac(raw, Location(file, line=number, field="lladdr"))
        if error:
            yield error
        if mac:
            host = m.groupdict().get("host")
            facts = {"interface": m.group("dev")}
            where = Location(file, line=number)
            yield Observation(FORMAT, where, mac, m.group("ip"), host if host and host != "?" else None, None, facts)

    return each_line(path, entry)
