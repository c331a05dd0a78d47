"""Bulk path for large CSV/TSV inventories: rows become verdicts without an Observation per row.

A million-row export has a few thousand distinct (MAC prefix, manufacturer, model, banner, type) combinations.
Each row costs a CSV split and one dict probe on its raw (first 8 MAC characters, field values); attribution and
policy verdicts are computed once per combination (Attributor caches). The rest of each MAC is checked, upper-cased
and de-duplicated for all rows of a chunk at once; rows with odd MACs go through the per-row path. Findings (with
per-row evidence locations) are built only for rows judged covered or needing review; other rows are only counted.
Rows are merged within the file only: by MAC (across the whole file, also when it is split between processes),
and listed rows without a MAC by IP address (a listed device's duplicate rows become its evidence); the column
mapping is the inventory source's (sources.describe_mapping), so both paths read the same columns. Large files are
split at record ends: the parent scans the first part while a forked worker scans the second.
The general path (sources.parse + attribute.merge) is used for smaller files.
"""

from __future__ import annotations

import csv
import gc
import io
import itertools
import multiprocessing
import operator
import os
import re
from array import array
from collections import Counter
from collections.abc import Callable, MutableSequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bansweep import progress
from bansweep.findings import Evidence, Finding, InputError, Location, Report, Subject
from bansweep.fleet.attribute import Attributor, Claim, Decision, mac_key
from bansweep.fleet.job import RULE, Tally, Template, template
from bansweep.fleet.sources.common import mac_or_error
from bansweep.inputs import InputProblem, read_text
from bansweep.registry.mac import LOCAL, MULTICAST, MacHit, MacRegistry, MacUnattributable

BULK_MIN_BYTES = 2 * 1024 * 1024
PARALLEL_MIN_CHARS = 8 * 1024 * 1024  # below this (about 120,000 rows), forking a worker saves little
WORKERS = 2
PARENT_SHARE = 0.45  # of the rows, with two processes
BULK_FORMATS = ("inventory-csv",)
SOURCE = "inventory-csv"  # the source name the observation path gives these rows
# inventory field -> observation fact (the vocabulary of bansweep.fleet.model)
FIELD_FACTS = {
    "manufacturer": "manufacturer",
    "brand": "brand",
    "model": "model",
    "banner": "service.banner",
    "device_type": "device_type",
}
_CANON_MAC = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
MAX_FIELD = 1_000_000


def wants(path: Path, fmt: str, mapping: dict[str, str] | None) -> bool:
    if fmt not in BULK_FORMATS or not mapping:
        return False
    try:
        return path.stat().st_size >= BULK_MIN_BYTES
    except OSError:
        return False


def _dialect(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=lambda d: counts[d])


@dataclass(slots=True)
class Entry:
    """One distinct (MAC prefix, field values) combination: its decision and the finding parts it shares."""

    decision: Decision
    template: Template | None
    evidence: list[tuple[str, str | None, str, str, str]]  # rule, column (None = MAC), value, date, detail
    org: str
    block: str
    unattributable: str
    mac_col: str
    count: int = 0


_SLOW = object()  # prefix needing a per-MAC lookup (a block subdivided into MA-M, MA-S or IAB blocks)


def run_file(
    path: Path,
    mapping: dict[str, str],
    attributor: Attributor,
    report: Report,
    tally: Tally,
    show: bool | None,
) -> bool:
    """Read one inventory; False when its first line is not the header the mapping names (a title row above
    the header, say): the caller then reads it through the inventory source instead."""
    # Millions of small, acyclic objects: the cyclic garbage collector would rescan them over and over.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run_file(path, mapping, attributor, report, tally, show)
    finally:
        if enabled:
            gc.enable()


@dataclass(slots=True)
class Layout:
    name: str
    mac_i: int
    ip_i: int
    width: int
    mac_col: str
    ip_col: str
    fact_cols: list[tuple[str, int, str]]  # fact, column index, column name
    delimiter: str


@dataclass(slots=True)
class Scan:
    """What one pass over rows found; row numbers are local to the chunk scanned (1-based)."""

    rows: int = 0
    keys: list[tuple[object, tuple[str, ...]]] = field(default_factory=list)  # entry key per local entry id
    hits: list[MacHit] = field(default_factory=list)  # registry answers by key index (MAC digits blanked)
    ids: MutableSequence[int] = field(default_factory=list)  # entry id per row; -1: not a device of its own
    macs: list[str] = field(default_factory=list)  # MAC per row (canonical, "" for none)
    macs_text: str = ""  # the same joined by newlines: how a worker sends them (one string pickles fast)
    seen: set[str] = field(default_factory=set)  # the distinct MACs (kept by the parent only)
    counts: dict[int, int] = field(default_factory=dict)  # devices per entry id
    listed: list[tuple[int, str]] = field(default_factory=list)  # row and IP address of rows with a listed entry
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)  # row, column, message
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    unattributable: list[tuple[int, str | None, int]] = field(default_factory=list)  # row, MAC, entry id


def _run_file(
    path: Path,
    mapping: dict[str, str],
    attributor: Attributor,
    report: Report,
    tally: Tally,
    show: bool | None,
) -> bool:
    name = str(path)
    try:
        text = read_text(path)
    except InputProblem as exc:
        report.errors.append(exc.to_error())
        return True
    except OSError as exc:
        report.errors.append(InputError(Location(name), f"cannot read: {exc.strerror or exc}"))
        return True
    csv.field_size_limit(MAX_FIELD)
    head_end = _record_end(text, 0)
    delimiter = _dialect(text[:head_end])
    try:
        header = next(csv.reader(io.StringIO(text[:head_end]), delimiter=delimiter))
    except (StopIteration, csv.Error):
        return False
    index = {col.strip().lstrip("\ufeff"): i for i, col in enumerate(header)}
    cols: dict[str, int] = {f: index[c] for f, c in mapping.items() if c in index}
    if len(cols) < len(mapping):
        return False
    layout = Layout(
        name,
        cols.get("mac", -1),
        cols.get("ip", -1),
        max(cols.values(), default=-1) + 1,
        mapping.get("mac", ""),
        mapping.get("ip", ""),
        [(FIELD_FACTS[f], i, mapping[f]) for f, i in cols.items() if f in FIELD_FACTS],
        delimiter,
    )
    body = text[head_end:]
    del text
    parts = WORKERS if len(body) >= PARALLEL_MIN_CHARS and _can_fork() else 1
    collector = Collector(layout, attributor, report, tally)
    with progress.progress(f"fleet: {path.name}", total=parts, show=show) as bar:
        _scan_all(body, _split(body, parts), layout, attributor, collector, bar)
    collector.finish()
    return True


def _record_end(text: str, start: int) -> int:
    """Index just past the first line end at or after start that is outside a quoted field."""
    pos = start
    while True:
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        if text.count('"', start, nl) % 2 == 0:
            return nl + 1
        pos = nl + 1


def _split(body: str, parts: int) -> list[tuple[int, int]]:
    """`parts` ranges, each ending at a record end; the first (the parent's, which also builds its findings
    while the workers scan) a little smaller than the others."""
    out: list[tuple[int, int]] = []
    start = 0
    first = PARENT_SHARE * 2 / parts if parts > 1 else 1.0
    for k in range(1, parts):
        guess = int(len(body) * (first + (1 - first) * (k - 1) / (parts - 1)))
        cut = _record_end(body, max(start, guess))
        # the cut must be outside quotes counted from the start of the body, not from the guess
        while body.count('"', 0, cut) % 2:
            cut = _record_end(body, cut)
        out.append((start, cut))
        start = cut
    out.append((start, len(body)))
    return [(a, b) for a, b in out if b > a]


def _can_fork() -> bool:
    return (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()


_SHARED: tuple[str, list[tuple[int, int]], Layout, Attributor] | None = None  # set before forking; read by workers


def _scan_shared(k: int) -> Scan:
    assert _SHARED is not None
    body, ranges, layout, attributor = _SHARED
    gc.disable()
    start, end = ranges[k]
    scan = _scan(body[start:end], layout, attributor)
    # what the parent needs, in forms that pickle fast
    scan.macs_text = "\n".join(scan.macs)
    scan.macs = []
    scan.seen = set()
    scan.ids = array("i", scan.ids)
    return scan


def _scan_all(
    body: str,
    ranges: list[tuple[int, int]],
    layout: Layout,
    attributor: Attributor,
    collector: Collector,
    bar: progress.Progress,
) -> None:
    """Scan the first range here while forked workers scan the others; the first range's findings are built
    while the workers still run."""
    global _SHARED
    if len(ranges) <= 1:
        collector.add(_scan(body, layout, attributor))
        bar.advance()
        return
    _SHARED = (body, ranges, layout, attributor)
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(len(ranges) - 1) as pool:
            others = pool.map_async(_scan_shared, range(1, len(ranges)))
            start, end = ranges[0]
            collector.add(_scan(body[start:end], layout, attributor))
            bar.advance()
            for scan in others.get():
                collector.add(scan)
                bar.advance()
    finally:
        _SHARED = None


_PER_ROW = -(1 << 31)  # raw-value cache answer: this row needs the per-row path
_CANON_PREFIX = re.compile(r"[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}")


def _scan(text: str, layout: Layout, attributor: Attributor) -> Scan:
    """The hot loop. A row whose MAC starts with a canonical prefix costs one CSV split and one dict probe on
    its raw (MAC prefix, field values); the rest of its MAC is checked for all rows at once afterwards. Other
    rows (no or odd MAC, subdivided registry blocks, short rows) take the per-row path."""
    out = Scan()
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    reader = csv.reader(map(operator.add, lines, itertools.repeat("\n")), delimiter=layout.delimiter)
    mac_i, ip_i, width = layout.mac_i, layout.ip_i, layout.width
    fact_i = [i for _, i, _ in layout.fact_cols]
    get_values = _getter(fact_i)
    get_raw = _getter([mac_i, *fact_i]) if mac_i >= 0 and mac_i not in fact_i else None
    get_ip: Callable[[list[str]], str] = operator.itemgetter(ip_i) if ip_i >= 0 else (lambda row: "")
    registry = attributor.registry
    subdivided = _subdivided(registry)
    cid = registry.tables["CID"]
    prefixes: dict[str, object] = {}
    hit_ids: dict[tuple[str, ...], int] = {}
    entry_ids: dict[tuple[object, tuple[str, ...]], int] = {}
    listed_ids: list[bool] = []
    canon = _CANON_MAC.fullmatch
    where = Location(layout.name, field=layout.mac_col)  # errors are placed by row in the collector

    def entry_id(pkey: object, values: tuple[str, ...], row_no: int, mac: str | None) -> int:
        key = (pkey, values)
        e = entry_ids.get(key)
        if e is None:
            e = entry_ids[key] = len(out.keys)
            out.keys.append(key)
            entry = _entry(attributor, pkey, out.hits, layout.fact_cols, values, layout.mac_col)
            listed_ids.append(entry.template is not None)
            if isinstance(pkey, str):  # the first row of each kind of unattributable address, as examples
                out.unattributable.append((row_no, mac, e))
        return e

    def prefix_of(prefix: str) -> object:
        pkey = prefixes.get(prefix)
        if pkey is None:
            pkey = prefixes[prefix] = _prefix_key(registry, prefix, subdivided, cid, hit_ids, out.hits)
        return pkey

    def prefix_key(mac: str) -> object:
        pkey = prefix_of(mac[:8])
        return _hit_key(registry.lookup(mac), hit_ids, out.hits) if pkey is _SLOW else pkey

    def resolve(key: tuple[str, ...], row_no: int, raw: str) -> int:
        """Cache answer for a raw (MAC prefix, values): the entry id, its complement if listed, or _PER_ROW."""
        if not _CANON_PREFIX.fullmatch(key[0]):
            return _PER_ROW
        pkey = prefix_of(key[0].upper())
        if pkey is _SLOW:
            return _PER_ROW
        e = entry_id(pkey, key[1:], row_no, raw.upper())
        return ~e if listed_ids[e] else e

    def per_row(row_no: int, row: list[str]) -> tuple[str, int, str | None]:
        """MAC, entry id and (for a listed entry) IP address of one row, read field by field."""
        if len(row) < width:
            if not row or (len(row) == 1 and not row[0].strip()):
                return "", -1, None
            row = row + [""] * (width - len(row))
        mac: str | None = None
        pkey: object = None
        if mac_i >= 0:
            raw = row[mac_i]
            if canon(raw):
                mac = raw.upper()
            elif raw.strip():
                mac, error = mac_or_error(raw.strip(), where)
                if error is not None:
                    out.errors.append((row_no, layout.mac_col, error.message))
            if mac is not None:
                pkey = prefix_key(mac)
        e = entry_id(pkey, get_values(row), row_no, mac)
        return mac or "", e, get_ip(row) if listed_ids[e] else None

    ids: list[int] = []
    macs = out.macs
    cache: dict[tuple[str, ...], int] = {}
    add_id, add_mac, add_listed = ids.append, macs.append, out.listed.append
    raw = ""
    while True:  # each row adds one id: its number is len(ids) + 1
        try:
            for row in reader:
                if get_raw is not None:
                    try:
                        raw = row[mac_i]
                        row[mac_i] = raw[:8]
                        key = get_raw(row)
                        e = cache.get(key)
                        if e is None:
                            e = cache[key] = resolve(key, len(ids) + 1, raw)
                        if e >= 0:
                            add_mac(raw)
                            add_id(e)
                            continue
                        if e != _PER_ROW:
                            add_listed((len(ids) + 1, get_ip(row)))
                            add_mac(raw)
                            add_id(~e)
                            continue
                    except IndexError:
                        pass
                    if len(row) > mac_i:
                        row[mac_i] = raw
                row_no = len(ids) + 1
                mac, e, ip = per_row(row_no, row)
                add_mac(mac)
                add_id(e)
                if ip is not None:
                    add_listed((row_no, ip))
            break
        except csv.Error as exc:  # one bad record; the reader goes on with the next line
            out.errors.append((len(ids) + 1, None, f"bad CSV row: {exc}"))
            add_mac("")
            add_id(-1)
    out.rows = len(ids)

    bad = _odd_macs(macs)
    if bad:  # MACs with a canonical prefix but not canonical as a whole: read those rows again, field by field
        rows = _reread(lines, layout.delimiter, {i + 1 for i in bad})
        out.listed = [item for item in out.listed if item[0] not in rows]
        for row_no, row in rows.items():
            mac, e, ip = per_row(row_no, row)
            macs[row_no - 1] = mac
            ids[row_no - 1] = e
            if ip is not None:
                out.listed.append((row_no, ip))
        out.listed.sort()
        out.errors.sort(key=operator.itemgetter(0))
    del lines

    # duplicates: a MAC seen in an earlier row of this chunk
    upper = "\n".join(macs).upper().split("\n") if macs else []
    out.macs = macs = upper
    seen = out.seen = set(macs)
    seen.discard("")
    if len(seen) < len(macs) - macs.count(""):
        first: dict[str, int] = {}
        for i, mac in enumerate(macs):
            if mac and first.setdefault(mac, i) != i:
                ids[i] = -1
                out.duplicates.append((i + 1, mac))
    counts = Counter(ids)
    counts.pop(-1, None)
    out.counts = dict(counts)
    out.ids = ids
    return out


def _odd_macs(macs: list[str]) -> list[int]:
    """Indexes of values that are neither empty nor canonical MACs (AA:BB:CC:DD:EE:FF, any case)."""
    n = len(macs)
    joined = "\n".join(macs)
    # all of one length: check the separators by position and the digits in one pass
    uniform = n and len(joined) == 18 * n - 1 and joined.count(":") == 5 * n and joined.count("\n") == n - 1
    if uniform and all(joined[k::18].count(":") == n for k in (2, 5, 8, 11, 14)):
        try:
            if len(bytes.fromhex(joined.replace(":", "").replace("\n", ""))) == 6 * n:
                return []
        except ValueError:
            pass
    canon = _CANON_MAC.fullmatch
    return [i for i, mac in enumerate(macs) if mac and not canon(mac)]


def _reread(lines: list[str], delimiter: str, wanted: set[int]) -> dict[int, list[str]]:
    """The rows with these numbers, read again."""
    reader = csv.reader(map(operator.add, lines, itertools.repeat("\n")), delimiter=delimiter)
    found: dict[int, list[str]] = {}
    row_no = 0
    while True:
        try:
            for row_no, row in enumerate(reader, row_no + 1):  # noqa: B020 (restarts after a bad record)
                if row_no in wanted:
                    found[row_no] = row
                    if len(found) == len(wanted):
                        return found
            return found
        except csv.Error:
            row_no += 1


class Collector:
    """Merges chunk scans in file order into findings and counts. A MAC seen in an earlier chunk makes the row a
    duplicate, as within a chunk; the first chunk's findings are built while workers still scan the rest."""

    def __init__(self, layout: Layout, attributor: Attributor, report: Report, tally: Tally) -> None:
        self.layout = layout
        self.attributor = attributor
        self.report = report
        self.tally = tally
        self.entries: dict[tuple[object, tuple[str, ...]], Entry] = {}
        self.offset = 0
        self.by_mac: dict[str, Finding] = {}
        self.by_ip: dict[str, Finding] = {}
        self.seen: set[str] | None = None
        self.examples: set[int] = set()  # ids of the entries that gave an unattributable example

    def add(self, scan: Scan) -> None:
        layout, name, offset = self.layout, self.layout.name, self.offset
        macs = scan.macs or (scan.macs_text.split("\n") if scan.rows else [])
        ids = scan.ids
        if self.seen is None:
            self.seen = scan.seen or {m for m in macs if m}
        else:  # rows whose MAC an earlier chunk had: duplicates of that device
            common = self.seen.intersection(macs)
            if common:
                for i, value in enumerate(macs):
                    if value in common and ids[i] >= 0:
                        scan.counts[ids[i]] -= 1
                        ids[i] = -1
                        scan.duplicates.append((i + 1, value))
                scan.duplicates.sort()
            self.seen.update(macs)
            self.seen.discard("")
        local: list[Entry] = []
        for pkey, values in scan.keys:
            shared = (mac_key(scan.hits[pkey]) if isinstance(pkey, int) else pkey, values)
            entry = self.entries.get(shared)
            if entry is None:
                entry = self.entries[shared] = _entry(
                    self.attributor, pkey, scan.hits, layout.fact_cols, values, layout.mac_col
                )
            local.append(entry)
        for e, n in scan.counts.items():
            local[e].count += n
        errors = self.report.errors
        for row_no, column, message in scan.errors:
            errors.append(InputError(Location(name, row=offset + row_no, field=column), message))
        findings, by_mac, by_ip = self.report.findings, self.by_mac, self.by_ip
        for row_no, ip in scan.listed:
            e = ids[row_no - 1]
            if e < 0:
                continue
            entry = local[e]
            mac = macs[row_no - 1] or None
            ip = ip.strip()
            same = by_mac.get(mac) if mac is not None else by_ip.get(ip) if ip else None
            if same is not None:  # a MAC-less row of a known address
                _duplicate(same, name, offset + row_no, layout.mac_col if mac else layout.ip_col, mac or ip)
                entry.count -= 1
                continue
            finding = _finding(name, offset + row_no, mac, ip, entry)
            findings.append(finding)
            if mac is not None:
                by_mac[mac] = finding
            if ip:
                by_ip.setdefault(ip, finding)
        for row_no, seen_mac in scan.duplicates:
            if seen_mac in by_mac:
                _duplicate(by_mac[seen_mac], name, offset + row_no, layout.mac_col, seen_mac)
        for row_no, example, e in scan.unattributable:  # one per entry, also when it is in several chunks
            if local[e].decision.attributable or id(local[e]) in self.examples:
                continue
            if len(self.tally.unattributable_ids) < 20:
                self.examples.add(id(local[e]))
                self.tally.unattributable_ids.append(example or f"{name} row {offset + row_no}")
        self.offset += scan.rows

    def finish(self) -> None:
        for entry in self.entries.values():
            if not entry.count:  # every row of it was another row's duplicate
                continue
            self.tally.count(entry.decision, [SOURCE], entry.count)
            if entry.unattributable and not entry.decision.attributable:
                self.tally.unattributable += entry.count


def _duplicate(finding: Finding, name: str, row_no: int, column: str, key: str) -> None:
    where = Location(name, row=row_no, field=column)
    finding.evidence.append(Evidence("inventory.duplicate", key, where, None, "the same device in another row"))


def _getter(indexes: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    if not indexes:
        return lambda row: ()
    if len(indexes) == 1:
        only = indexes[0]
        return lambda row: (row[only],)
    return operator.itemgetter(*indexes)  # type: ignore[return-value]


def _subdivided(registry: MacRegistry) -> frozenset[int]:
    """24-bit prefixes with MA-M, MA-S or IAB blocks inside: their MACs need a lookup each."""
    tables = registry.tables
    out = {p >> 4 for p in tables.get("MA-M", {})}
    out.update(p >> 12 for p in tables.get("MA-S", {}))
    out.update(p >> 12 for p in tables.get("IAB", {}))
    return frozenset(out)


def _prefix_key(
    registry: MacRegistry,
    prefix: str,
    subdivided: frozenset[int],
    cid: dict[int, int],
    ids: dict[tuple[str, ...], int],
    hits: list[MacHit],
) -> object:
    """Cache key for the registry answer of every MAC with this 24-bit prefix ("AA:BB:CC"), or _SLOW."""
    try:
        p24 = int(prefix.replace(":", ""), 16)
    except ValueError:
        return _SLOW
    if p24 in subdivided:
        return _SLOW
    # Randomised (local) MACs each bring a new prefix: answered here without a lookup, as MacRegistry does
    first = p24 >> 16
    if first & 0x01:
        return MULTICAST
    if first & 0x02 and p24 not in cid:
        return LOCAL
    return _hit_key(registry.lookup(prefix + ":00:00:00"), ids, hits)


def _hit_key(hit: MacHit | MacUnattributable, ids: dict[tuple[str, ...], int], hits: list[MacHit]) -> object:
    """Cache key for a registry answer: an index per distinct registrant block kind (the claims are the same for
    all its prefixes), the reason for an unattributable address."""
    if isinstance(hit, MacUnattributable):
        return hit.reason
    key = mac_key(hit)
    index = ids.get(key)
    if index is None:
        index = ids[key] = len(hits)
        hits.append(replace(hit, mac="", prefix="", bits=0))
    return index


def _entry(
    attributor: Attributor,
    pkey: object,
    hits: list[MacHit],
    fact_cols: list[tuple[str, int, str]],
    values: tuple[str, ...],
    mac_col: str,
) -> Entry:
    located: list[tuple[Claim, str | None, str]] = []
    hit = hits[pkey] if isinstance(pkey, int) else None
    unattributable = pkey if isinstance(pkey, str) else ""
    if hit is not None:
        located.extend((c, None, "") for c in attributor.mac_claims(hit))
    model = dtype = None
    for (fact, _, column), value in zip(fact_cols, values, strict=True):
        value = value.strip()
        if value:
            located.extend((c, column, value) for c in attributor.claims(fact, value))
            model = model or (value if fact == "model" else None)
            dtype = dtype or (value if fact == "device_type" else None)
    claims = tuple(dict.fromkeys(c for c, _, _ in located))
    decision = attributor.decide(claims, unattributable=bool(unattributable))
    if (model and model != decision.model) or (dtype and dtype != decision.device_type):
        decision = replace(decision, model=model or decision.model, device_type=dtype or decision.device_type)
    order = {c: i for i, c in enumerate(decision.claims)}
    located.sort(key=lambda item: order.get(item[0], len(order)))
    evidence = [(c.rule, col, value, c.data_date, c.detail) for c, col, value in located]
    notes = [f"MAC address: {unattributable}"] if unattributable else []
    t = template(decision, notes, [SOURCE])
    return Entry(decision, t, evidence, hit.org if hit else "", hit.block if hit else "", unattributable, mac_col)


def _finding(name: str, row_no: int, mac: str | None, ip: str, entry: Entry) -> Finding:
    """A finding per listed row, from the parts its entry shares (kept lean: this runs once per covered row)."""
    t = entry.template
    assert t is not None
    evidence = []
    for rule, column, value, data_date, detail in entry.evidence:
        if column is None:
            where = Location(name, None, row_no, None, None, entry.mac_col)
            evidence.append(Evidence(rule, f"{mac} ({entry.org}; {entry.block})", where, data_date, detail))
        else:
            evidence.append(Evidence(rule, value, Location(name, None, row_no, None, None, column), data_date, detail))
    ip = ip.strip()
    device_id = mac or ip or f"{name} row {row_no}"
    label = f"{t.name} at {ip or device_id}"
    attributes = t.attributes.copy()
    extra = t.extra.copy()
    if mac and not entry.unattributable:
        attributes["mac"] = mac
        extra["macs"] = [mac]
    if ip:
        attributes["ip"] = ip
        extra["ips"] = [ip]
    extra["notes"] = list(entry.decision.notes)
    return Finding(
        Subject("device", device_id, label, attributes),
        RULE,
        f"{label}: {t.status.value}",
        t.severity,
        t.confidence,
        evidence,
        t.status,
        t.explanation,
        t.verdicts.copy(),
        t.tags.copy(),
        extra,
    )
