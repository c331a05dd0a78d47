"""Who is the same device: the records of every input of a run grouped by MAC, IP, host name and serial.

Records come as single Observations or as ObservationBatches (columns of a fast reader); both are one table here,
with one index per record in input order. Grouping is a union-find over the records that share a key; a key that
no other record has links nothing, so a table of distinct devices costs a few passes over its columns.

A key shared by several devices is not used to merge: a MAC seen with many IPv4 addresses (a router answering for
a routed segment, or proxy-ARP), and an IP, host name or serial seen with more than one MAC (a reused DHCP
address, a default host name). A host name is weaker still: a default or placeholder name (knowledge
placeholder-names.yaml) is never a key, and a name that two records of one source carry with no MAC or serial to
tell them apart (two SNMP walks, two inventory rows) names more than one device. Such keys are noted on the devices
they touch ("may be the same device").
"""

from __future__ import annotations

import bisect
import ipaddress
import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from bansweep.fleet.model import Observation, ObservationBatch, normalise_mac
from bansweep.knowledge import load

SHARED_MAC_IPS = 4  # a MAC seen with this many IPv4 addresses is a router or proxy-ARP, not one device


@dataclass(slots=True)
class Device:
    observations: list[Observation] = field(default_factory=list)
    macs: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    hostnames: list[str] = field(default_factory=list)
    serials: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    first: int = 0  # index of its first record: devices are in the order of their first records

    @property
    def id(self) -> str:
        for values in (self.macs, self.serials, self.ips, self.hostnames):
            if values:
                return values[0]
        return str(self.observations[0].location)

    @property
    def address(self) -> str:
        for values in (self.ips, self.hostnames, self.macs, self.serials):
            if values:
                return values[0]
        return str(self.observations[0].location)

    @property
    def sources(self) -> list[str]:
        return sorted({o.source for o in self.observations})


def observed_mac(obs: Observation) -> str | None:
    """The MAC that identifies an observation: its own, or the LLDP chassis MAC it reports."""
    if obs.mac:
        return obs.mac
    chassis = obs.facts.get("lldp.chassis_mac")
    return normalise_mac(chassis) if chassis else None


def short_host(name: str) -> str | None:
    """'CAM-01.corp.example.' -> 'cam-01'; None for an address written as a name."""
    name = name.strip().rstrip(".").lower()
    if not name:
        return None
    if ":" in name or name[0].isdigit():  # what an IPv6 or IPv4 address begins with
        try:
            ipaddress.ip_address(name)
            return None
        except ValueError:
            pass
    return name.split(".", 1)[0]


@cache
def placeholder_names() -> frozenset[str]:
    """Default and placeholder host names, compared as short_host gives them."""
    names = (str(n) for e in load("placeholder-names", ("names",)).entries for n in e["names"])
    return frozenset(short for n in names if (short := short_host(n)))


def host_key(name: str) -> str | None:
    short = short_host(name)
    return None if short is None or short in placeholder_names() else short


def serial_key(serial: str) -> str | None:
    return serial.strip().upper() or None


class Records:
    """The records of a run in input order, as one table: record r is part `part_of(r)`'s record."""

    def __init__(self, items: Sequence[Observation | ObservationBatch]) -> None:
        self.parts: list[Observation | ObservationBatch] = []
        self.starts: list[int] = []
        self.macs: list[str | None] = []
        self.ips: list[str | None] = []
        self.hostnames: list[str | None] = []
        self.serials: list[str | None] = []
        self.sources: list[str] = []
        loose: list[Observation] = []
        for item in items:
            if isinstance(item, ObservationBatch):
                self._add_loose(loose)
                loose = []
                self._add(item, item.macs, item.ips, item.hostnames, item.serials)
                if "lldp.chassis_mac" in item.facts:
                    start = self.starts[-1]
                    for k in range(len(item)):
                        self.macs[start + k] = observed_mac(item.observation(k))
            else:
                loose.append(item)
        self._add_loose(loose)
        self.size = len(self.macs)

    def _add(
        self,
        part: Observation | ObservationBatch,
        macs: Sequence[str | None],
        ips: Sequence[str | None],
        hosts: Sequence[str | None],
        serials: Sequence[str | None],
    ) -> None:
        self.parts.append(part)
        self.starts.append(len(self.macs))
        self.macs.extend(macs)
        self.ips.extend(ips)
        self.hostnames.extend(hosts)
        self.serials.extend(serials)
        self.sources.extend(itertools.repeat(part.source, len(macs)))

    def _add_loose(self, loose: list[Observation]) -> None:
        for obs in loose:
            self._add(obs, [observed_mac(obs)], [obs.ip], [obs.hostname], [obs.serial])

    def __len__(self) -> int:
        return self.size

    def part_of(self, r: int) -> tuple[int, int]:
        """(part index, record index within the part)."""
        p = bisect.bisect_right(self.starts, r) - 1
        return p, r - self.starts[p]

    def observation(self, r: int) -> Observation:
        p, k = self.part_of(r)
        part = self.parts[p]
        return part.observation(k) if isinstance(part, ObservationBatch) else part


@dataclass(slots=True)
class Merged:
    records: Records
    singles: list[int]  # records that are a device by themselves, without notes (ascending)
    devices: list[Device]  # the other devices, in the order of their first records; routers last


def _keys(values: Sequence[str | None], key: object) -> list[str | None]:
    """A key per value (computed once per distinct value); None for none."""
    if not any(values):
        return [None] * len(values)
    table = {v: key(v) if v else None for v in dict.fromkeys(values)}  # type: ignore[operator]
    return list(map(table.__getitem__, values))


def _repeated(column: Sequence[str | None]) -> set[str]:
    """The non-empty values that occur more than once."""
    if column.count(None) >= len(column) - 1:
        return set()
    distinct = set(column)
    if len(distinct) == len(column) or len(distinct) == len(column) - column.count(None) + (None in distinct):
        return set()
    return {v for v, n in Counter(column).items() if n > 1 and v}


def merge_records(items: Sequence[Observation | ObservationBatch]) -> Merged:
    """Group the records of a run into devices (see the module description)."""
    records = Records(items)
    n = len(records)
    macs = [m or None for m in records.macs] if "" in records.macs else records.macs
    ips = [ip or None for ip in records.ips] if "" in records.ips else records.ips
    hosts = _keys(records.hostnames, host_key)
    serials = _keys(records.serials, serial_key)

    # a MAC with many IPv4 addresses, in records that name no host (or several): a router or proxy-ARP
    mac_ips: dict[str, set[str]] = {}
    shared: dict[str, None] = {}  # in the order first seen
    repeated_macs = _repeated(macs)
    many = {m for m, c in Counter(macs).items() if c >= SHARED_MAC_IPS and m} if repeated_macs else set()
    if many:
        mac_names: dict[str, set[tuple[str, str] | None]] = {}
        for r in itertools.compress(range(n), map(many.__contains__, macs)):
            ip, mac = ips[r], macs[r]
            assert mac is not None
            if ip and ":" not in ip:
                mac_ips.setdefault(mac, set()).add(ip)
                host, serial = hosts[r], serials[r]
                mac_names.setdefault(mac, set()).add((host or "", serial or "") if host or serial else None)
        for r in itertools.compress(range(n), map(many.__contains__, macs)):
            mac = macs[r]
            assert mac is not None
            names = mac_names.get(mac, set())
            if len(mac_ips.get(mac, ())) >= SHARED_MAC_IPS and (None in names or len(names) > 1):
                shared[mac] = None
    own = [None if m in shared else m for m in macs] if shared else macs

    # keys other than the MAC that several MACs share are not used to merge
    kinds = (("mac", own), ("ip", ips), ("host", hosts), ("serial", serials))
    repeated = {kind: _repeated(col) if kind != "mac" or shared else repeated_macs for kind, col in kinds}
    ambiguous: dict[tuple[str, str], str] = {}  # (kind, value) -> the note on the devices it touches
    for kind, col in kinds[1:]:
        if not repeated[kind]:
            continue
        key_macs: dict[str, set[str]] = {}
        bare: Counter[tuple[str, str]] = Counter()  # (value, source) -> records with no MAC or serial
        for r in itertools.compress(range(n), map(repeated[kind].__contains__, col)):
            mac = own[r]
            if mac:
                key_macs.setdefault(col[r], set()).add(mac)  # type: ignore[arg-type]
            elif kind == "host" and not serials[r]:
                bare[col[r], records.sources[r]] += 1  # type: ignore[index]
        for v, ms in key_macs.items():
            if len(ms) > 1:
                ambiguous[kind, v] = (
                    f"{kind} {v} is shared by {len(ms)} MAC addresses; not used to merge (may be the same device)"
                )
        for (v, source), count in bare.items():
            if count > 1 and ("host", v) not in ambiguous:
                ambiguous["host", v] = (
                    f"host {v} names {count} {source} records with no MAC or serial to tell them apart; not used to "
                    "merge (may be the same device)"
                )

    parent: dict[int, int] = {}

    def find(i: int) -> int:
        root = i
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(i, i) != root:
            parent[i], i = root, parent[i]
        return root

    noted: set[int] = set()
    for kind, col in kinds:
        if not repeated[kind]:
            continue
        first: dict[str, int] = {}
        for r in itertools.compress(range(n), map(repeated[kind].__contains__, col)):
            value = col[r]
            assert value is not None
            if (kind, value) in ambiguous:
                noted.add(r)  # its device is noted
                continue
            j = first.setdefault(value, r)
            if j != r:
                ri, rj = find(r), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
                parent.setdefault(r, r)
                parent.setdefault(j, j)
    if shared:
        noted.update(itertools.compress(range(n), map(shared.__contains__, macs)))

    grouped = set(parent) | noted
    singles = list(itertools.filterfalse(grouped.__contains__, range(n)))
    groups: dict[int, Device] = {}
    for r in sorted(grouped):
        root = find(r) if r in parent else r
        dev = groups.get(root)
        if dev is None:
            dev = groups[root] = Device(first=r)
        obs = records.observation(r)
        dev.observations.append(obs)
        mac = macs[r]
        if mac and mac in shared:
            _note(
                dev,
                f"MAC {mac} was seen with {len(mac_ips[mac])} IP addresses (a router or proxy-ARP answering "
                f"for them); it is not used to identify or attribute this device",
            )
        elif mac and mac not in dev.macs:
            dev.macs.append(mac)
        if obs.ip and obs.ip not in dev.ips:
            dev.ips.append(obs.ip)
        if obs.hostname and obs.hostname not in dev.hostnames:
            dev.hostnames.append(obs.hostname)
        if obs.serial and obs.serial not in dev.serials:
            dev.serials.append(obs.serial)
        for kind, col in kinds[1:] if ambiguous else ():
            value = col[r]
            if value is not None and (kind, value) in ambiguous:
                _note(dev, ambiguous[kind, value])
    devices = sorted(groups.values(), key=lambda d: d.first)
    for k, mac in enumerate(shared):  # the router/proxy itself, once, so its MAC is still attributed
        first_obs = records.observation(macs.index(mac))
        devices.append(
            Device(
                observations=[Observation(first_obs.source, first_obs.location, mac=mac)],
                macs=[mac],
                notes=[f"answers for {len(mac_ips[mac])} IP addresses: a router or proxy-ARP"],
                first=n + k,
            )
        )
    return Merged(records, singles, devices)


def _note(dev: Device, note: str) -> None:
    if note not in dev.notes:
        dev.notes.append(note)


def single(obs: Observation, first: int = 0) -> Device:
    """The device of one record that shares no key."""
    return Device(
        [obs],
        [mac] if (mac := observed_mac(obs)) else [],
        [obs.ip] if obs.ip else [],
        [obs.hostname] if obs.hostname else [],
        [obs.serial] if obs.serial else [],
        [],
        first,
    )


def merge(items: Sequence[Observation | ObservationBatch]) -> list[Device]:
    """Every device of the records, in the order of their first records (routers last)."""
    merged = merge_records(items)
    records = merged.records
    out = [single(records.observation(r), r) for r in merged.singles] + merged.devices
    out.sort(key=lambda d: d.first)
    return out
