"""dnsmasq lease files (dnsmasq.leases): `EXPIRY MAC IP HOSTNAME CLIENT-ID` per line; after a `duid` line,
DHCPv6 leases `EXPIRY IAID IPv6 HOSTNAME CLIENT-DUID` (no MAC)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import each_line, first_lines, mac_or_error

FORMAT = "dnsmasq"
V4 = re.compile(r"^(?P<expiry>\d+)\s+(?P<mac>[0-9A-Fa-f:-]{11,})\s+(?P<ip>[0-9.]+)\s+(?P<host>\S+)\s+(?P<cid>\S+)\s*$")
V6 = re.compile(r"^(?P<expiry>\d+)\s+(?P<iaid>\d+)\s+(?P<ip>[0-9A-Fa-f:]+)\s+(?P<host>\S+)\s+(?P<cid>\S+)\s*$")
DUID = re.compile(r"^duid\s+\S+\s*$")


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None:
        return False
    top = first_lines(text)
    return (
        bool(top)
        and all(V4.match(line) or V6.match(line) or DUID.match(line) for line in top)
        and any(V4.match(line) for line in top)
    )


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)

    def entry(number: int, text: str) -> Iterator[Observation | InputError]:
        if DUID.match(text):
            return
        where = Location(file, line=number)
        m = V4.match(text)
        mac = None
        if m:
            raw = m.group("mac")
            if raw.count("-") == 1 and raw.index("-") <= 2:
                raw = raw.split("-", 1)[1]  # "<hwtype>-<address>" for non-Ethernet hardware
            mac, error = mac_or_error(raw, Location(file, line=number, field="mac"))
            if error:
                yield error
        else:
            m = V6.match(text)
            if not m:
                yield InputError(where, f"not a dnsmasq lease: {text[:80]!r}")
                return
        host = m.group("host") if m.group("host") != "*" else None
        facts = {"dhcp.hostname": host} if host else {}
        yield Observation(FORMAT, where, mac, m.group("ip"), host, None, facts, {"dhcp.hostname": "hostname"})

    return each_line(path, entry)
