"""Who is the same device: the records of every input of a run grouped by MAC, serial, IP and host name.

Identifiers by strength: a universally administered MAC and a serial (not a placeholder, and of one maker:
records of one serial that name makers with no word in common are two devices) first; then an IP
address, only among the records of one source; then a host name that is not a default or placeholder
(knowledge/data/placeholder-names.yaml). Two groups that hold different MACs or serials are never merged by a
weaker key: each device gets a "may be the same device" note naming that key.

Records come as single Observations or as ObservationBatches (columns of a fast reader); both are one table here,
with one index per record in input order. Grouping is a union-find over the records that share a key; a key that
no other record has links nothing, so a table of distinct devices costs a few passes over its columns.

A key shared by several devices is not used to merge: a MAC seen with many IPv4 addresses (a router answering for
a routed segment, or proxy-ARP), and an IP, host name or serial seen with more than one MAC (a reused DHCP
address, a default host name), nor a host name that two records of one source carry with no MAC or serial to
tell them apart (two SNMP walks, two inventory rows). Such keys are noted on the devices they touch.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import itertools
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from bansweep import knowledge
from bansweep.fleet.model import Observation, ObservationBatch, normalise_mac
from bansweep.knowledge.schema import LegalForm, PartyWords, PlaceholderNames
from bansweep.knowledge.vendors import normalise_name

# facts that name the maker of the device a serial belongs to
MAKER_FACTS = ("manufacturer", "snmp.entity_mfg", "prop.ro.product.manufacturer")
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


def serial_key(serial: str) -> str | None:
    """A serial as a key; None for a placeholder ('To Be Filled By O.E.M.', '0000', 'REDACTED')."""
    key = serial.strip().upper()
    return None if not key or _placeholders("serial")(key) else key


def host_key(name: str) -> str | None:
    """A host name as a key (short_host); None for a default or placeholder name ('localhost', 'switch', 'xxx')."""
    key = short_host(name)
    placeholder = _placeholders("host")
    if key is None or placeholder(key) or "." in name and placeholder(name.strip().rstrip(".").lower()):
        return None
    return key


@functools.cache
def _placeholders(kind: str) -> Callable[[str], bool]:
    """A test for the placeholder names of one kind (knowledge/data/placeholder-names.yaml), on any case."""
    names: set[str] = set()
    patterns: list[str] = []
    for entry in knowledge.facts(PlaceholderNames).entries:
        if entry.kind == kind:
            names.update(n.lower() for n in entry.names)
            patterns.extend(entry.patterns)
    whole = re.compile("|".join(f"(?:{p})" for p in patterns), re.I) if patterns else None

    def test(value: str) -> bool:
        low = value.strip().lower()
        return low in names or (whole is not None and whole.fullmatch(low) is not None)

    return test


class Records:
    """The records of a run in input order, as one table: record r is part `part_of(r)`'s record."""

    def __init__(self, items: Sequence[Observation | ObservationBatch]) -> None:
        self.parts: list[Observation | ObservationBatch | None] = []  # None: released (see release)
        self.starts = array("q")  # each part's first record (machine integers: a scan's records are parts each)
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
        """Each loose record is a part of its own (in bulk: a scan has hundreds of thousands)."""
        start = len(self.macs)
        self.parts.extend(loose)
        self.starts.extend(range(start, start + len(loose)))
        self.macs.extend(map(observed_mac, loose))
        self.ips.extend([o.ip for o in loose])
        self.hostnames.extend([o.hostname for o in loose])
        self.serials.extend([o.serial for o in loose])
        self.sources.extend([o.source for o in loose])

    def __len__(self) -> int:
        return self.size

    def release(self) -> None:
        """Drop the key columns (only merging reads them)."""
        for column in (self.macs, self.ips, self.hostnames, self.serials, self.sources):
            column.clear()

    def take(self, r: int) -> Observation:
        """Record r, dropped from the table (a loose record's part is freed with its device)."""
        p, k = self.part_of(r)
        part = self.parts[p]
        if isinstance(part, ObservationBatch):
            return part.observation(k)
        assert part is not None, f"record {r} is a merged device's"
        self.parts[p] = None
        return part

    def part_of(self, r: int) -> tuple[int, int]:
        """(part index, record index within the part)."""
        p = bisect.bisect_right(self.starts, r) - 1
        return p, r - self.starts[p]

    def observation(self, r: int) -> Observation:
        p, k = self.part_of(r)
        part = self.parts[p]
        if isinstance(part, ObservationBatch):
            return part.observation(k)
        assert part is not None, f"record {r} was released"
        return part


@dataclass(slots=True)
class Merged:
    records: Records
    singles: list[int]  # records that are a device by themselves, without notes (ascending)
    devices: Devices  # the other devices, in the order of their first records; routers last


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
    ips = _source_ips(records) if any(records.ips) else [None] * n
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
            ip, mac = records.ips[r], macs[r]
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
    # only a universally administered unicast MAC identifies a device (a randomised or group address does not)
    kind_of = {m[:2]: _administration(m) for m in set(macs) if m}  # by the first octet
    universals = {first for first, kind in kind_of.items() if kind == "universal"}
    locals_ = {first for first, kind in kind_of.items() if kind == "local"}
    own: list[str | None] = [m if m and m[:2] in universals and m not in shared else None for m in macs]
    # a locally administered one (randomised, stable per network) is a weak key; a group address none
    local: list[str | None] = (
        [m if m and m[:2] in locals_ and m not in shared else None for m in macs] if locals_ else [None] * n
    )

    # strong keys first (MAC, serial), then weak ones (local MAC, IP within one source, host name)
    kinds = (("mac", own), ("serial", serials), ("local-mac", local), ("ip", ips), ("host", hosts))
    repeated = {kind: _repeated(col) for kind, col in kinds}
    # a weak key (or a serial) seen with more than one MAC or serial is not used: it may name several devices
    ambiguous: dict[tuple[str, str], str] = {}
    for kind, col in kinds[1:]:
        if not repeated[kind]:
            continue
        macs_of: dict[str, str | set[str]] = {}  # value -> its MAC, or its MACs once it has several
        serials_of: dict[str, str | set[str]] = {}
        bare: Counter[tuple[str, str]] = Counter()  # (host, source) -> records with no MAC or serial
        for r in itertools.compress(range(n), map(repeated[kind].__contains__, col)):
            value = col[r]
            assert value is not None
            mac, serial = own[r], serials[r]
            if mac:
                _seen(macs_of, value, mac)
            if kind != "serial" and serial:
                _seen(serials_of, value, serial)
            if kind == "host" and not mac and not serial:
                bare[value, records.sources[r]] += 1
        for what, table in (("MAC addresses", macs_of), ("serial numbers", serials_of)):
            for value, seen in table.items():
                if isinstance(seen, set) and (kind, value) not in ambiguous:
                    ambiguous[kind, value] = f"{len(seen)} {what}"
        del macs_of, serials_of
        if kind == "serial":  # a serial names one device of one maker: the same serial from two makers is two
            for value, makers in _serial_makers(col, repeated[kind], records).items():
                if (kind, value) not in ambiguous:
                    ambiguous[kind, value] = "makers " + " and ".join(makers)
        for (value, source), count in bare.items():
            if count > 1 and (kind, value) not in ambiguous:
                ambiguous[kind, value] = f"{count} {source} records with no MAC or serial to tell them apart"

    parent: dict[int, int] = {}
    strong: dict[int, tuple[frozenset[str], frozenset[str]]] = {}  # a group's (MACs, serials), by its root
    none: frozenset[str] = frozenset()

    def find(i: int) -> int:
        root = i
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(i, i) != root:
            parent[i], i = root, parent[i]
        return root

    def ids(r: int) -> tuple[frozenset[str], frozenset[str]]:
        got = strong.get(r)  # kept only for groups with more than their root's own
        return lone(r) if got is None else got

    def lone(r: int) -> tuple[frozenset[str], frozenset[str]]:
        mac, serial = own[r], serials[r]
        return (frozenset((mac,)) if mac else none, frozenset((serial,)) if serial else none)

    noted: dict[int, list[str]] = {}  # record -> notes of its device
    for kind, col in kinds:
        if not repeated[kind]:
            continue
        first: dict[str, int] = {}
        for r in itertools.compress(range(n), map(repeated[kind].__contains__, col)):
            value = col[r]
            assert value is not None
            if (kind, value) in ambiguous:
                noted.setdefault(r, []).append(_maybe(kind, value, ambiguous[kind, value]))
                continue
            j = first.setdefault(value, r)
            if j == r:
                continue
            parent.setdefault(r, r)
            parent.setdefault(j, j)
            ri, rj = find(r), find(j)
            if ri == rj:
                continue
            (mi, si), (mj, sj) = ids(ri), ids(rj)
            if kind != "mac" and (mi and mj and not mi & mj or kind != "serial" and si and sj and not si & sj):
                what = "MAC addresses" if mi and mj and not mi & mj else "serial numbers"
                note = _maybe(kind, value, f"devices with different {what}")
                noted.setdefault(r, []).append(note)
                noted.setdefault(j, []).append(note)
                continue
            lo, hi = min(ri, rj), max(ri, rj)
            parent[hi] = lo
            union = (mi if mi >= mj else mi | mj, si if si >= sj else si | sj)
            strong.pop(hi, None)
            if union == lone(lo):  # most groups: one MAC or serial, the root's own
                strong.pop(lo, None)
            else:
                strong[lo] = union
    if shared:
        for r in itertools.compress(range(n), map(shared.__contains__, macs)):
            noted.setdefault(r, [])
    for made in (own, local, ips, hosts, serials, strong, repeated):  # new here: freed before the devices are made
        made.clear()

    grouped = set(parent) | set(noted)
    singles = list(itertools.filterfalse(grouped.__contains__, range(n)))
    groups: dict[int, list[int]] = {}  # by root, the smallest record of a group: in the order of first records
    for r in sorted(grouped):
        groups.setdefault(find(r) if r in parent else r, []).append(r)
    parent.clear()
    routers = []
    for k, mac in enumerate(shared):  # the router/proxy itself, once, so its MAC is still attributed
        first_obs = records.observation(macs.index(mac))
        routers.append(
            Device(
                observations=[Observation(first_obs.source, first_obs.location, mac=mac)],
                macs=[mac],
                notes=[f"answers for {len(mac_ips[mac])} IP addresses: a router or proxy-ARP"],
                first=n + k,
            )
        )
    records.release()
    router_ips = {mac: len(mac_ips[mac]) for mac in shared}
    return Merged(records, singles, Devices(records, list(groups.values()), noted, router_ips, routers))


class Devices:
    """The merged devices in the order of their first records (routers last), each made from its records when its
    turn comes, its records then dropped from the table: a run's devices are not all held at once. Iterated once."""

    def __init__(
        self,
        records: Records,
        groups: list[list[int]],
        noted: dict[int, list[str]],
        router_ips: dict[str, int],
        routers: list[Device],
    ) -> None:
        self.records, self.groups, self.noted, self.router_ips, self.routers = (
            records,
            groups,
            noted,
            router_ips,
            routers,
        )

    def __len__(self) -> int:
        return len(self.groups) + len(self.routers)

    def __iter__(self) -> Iterator[Device]:
        groups = self.groups
        for k, members in enumerate(groups):
            groups[k] = []
            yield self._device(members)
        groups.clear()
        yield from self.routers
        self.routers = []

    def _device(self, members: list[int]) -> Device:
        dev = Device(first=members[0])
        for r in members:
            obs = self.records.take(r)
            dev.observations.append(obs)
            mac = observed_mac(obs)
            if mac and mac in self.router_ips:
                _note(
                    dev,
                    f"MAC {mac} was seen with {self.router_ips[mac]} IP addresses (a router or proxy-ARP answering "
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
            for note in self.noted.pop(r, ()):
                _note(dev, note)
        return dev


_KIND_WORDS = {
    "local-mac": "locally administered MAC",
    "ip": "IP address",
    "host": "host name",
    "serial": "serial number",
}


def _seen(table: dict[str, str | set[str]], value: str, item: str) -> None:
    """Note item as seen with value: one item kept as itself, several as a set."""
    got = table.get(value)
    if got is None:
        table[value] = item
    elif isinstance(got, set):
        got.add(item)
    elif got != item:
        table[value] = {got, item}


def _maybe(kind: str, value: str, others: str) -> str:
    shown = value.split("\0", 1)[-1]
    return (
        f"may be the same device as another with {_KIND_WORDS.get(kind, kind)} {shown} (seen with {others}); not merged"
    )


def _serial_makers(serials: Sequence[str | None], repeated: set[str], records: Records) -> dict[str, list[str]]:
    """Repeated serials whose records name makers with no word in common (legal forms and generic words aside),
    with those makers."""
    named: dict[str, dict[str, frozenset[str]]] = {}
    for r in itertools.compress(range(len(serials)), map(repeated.__contains__, serials)):
        facts = records.observation(r).facts
        maker = next((facts[f] for f in MAKER_FACTS if facts.get(f)), None)
        if maker:
            named.setdefault(serials[r], {}).setdefault(maker, _maker_words(maker))  # type: ignore[arg-type]
    out: dict[str, list[str]] = {}
    for serial, seen in named.items():
        words = [w for w in seen.values() if w]
        if any(not a & b for a, b in itertools.combinations(words, 2)):
            out[serial] = sorted(seen)
    return out


@functools.cache
def _maker_words(maker: str) -> frozenset[str]:
    """The words that tell a maker apart: its name without legal forms and generic business words."""
    return frozenset(normalise_name(maker).split()) - _common_words()


@functools.cache
def _common_words() -> frozenset[str]:
    words: set[str] = set()
    for entry in knowledge.facts(PartyWords).entries:
        if entry.kind in ("stop", "generic"):
            words.update(w.lower() for w in entry.words)
    for form in knowledge.facts(LegalForm).entries:
        for text in form.forms:
            words.update(normalise_name(text).split())
    return frozenset(words)


def _source_ips(records: Records) -> list[str | None]:
    """Each record's IP as a key within its source: the same address in two sources may be two devices. The
    source with the most addresses keeps them as they are (no copy); the others' are prefixed with the source."""
    sources, ips = records.sources, records.ips
    bare = Counter(itertools.compress(sources, ips)).most_common(1)[0][0]
    return [
        (ip if source == bare else f"{source}\0{ip}") if ip else None for source, ip in zip(sources, ips, strict=True)
    ]


def _administration(mac: str) -> str:
    """ "universal" or "local" for a unicast MAC (bit 1 of the first octet), "group" for a multicast one."""
    try:
        bits = int(mac[:2], 16) & 0x03
    except ValueError:
        return "group"
    return "universal" if bits == 0 else "local" if bits == 2 else "group"


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
    out = [single(records.observation(r), r) for r in merged.singles] + list(merged.devices)
    out.sort(key=lambda d: d.first)
    return out
