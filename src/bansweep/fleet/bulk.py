"""Bulk path for large CSV/TSV inventories: rows become verdicts without an Observation per row.

A million-row export has a few thousand distinct (MAC prefix, manufacturer, model, banner, type) combinations;
attribution and policy verdicts are computed once per combination (Attributor caches) and each row only costs a
CSV split, a MAC check, a registry lookup and a dict probe. Findings (with per-row evidence locations) are built
only for rows judged covered or needing review. Rows are merged within the file only: by MAC, and rows
without a MAC by IP address (a listed device's duplicate rows become its evidence); the column mapping is the inventory source's (sources.describe_mapping), so both paths read the same
columns. With two workers, a clean (not listed) device repeated in both halves of the file is counted twice.
The general path (sources.parse + attribute.merge) is used for smaller files.
"""

from __future__ import annotations

import csv
import gc
import io
import multiprocessing
import operator
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bansweep import progress
from bansweep.findings import Evidence, Finding, InputError, Location, Report, Subject
from bansweep.fleet.attribute import Attributor, Claim, Decision, mac_key
from bansweep.fleet.job import RULE, Tally, Template, template
from bansweep.fleet.sources.common import mac_or_error
from bansweep.inputs import InputProblem, read_text
from bansweep.registry.mac import MacHit, MacRegistry, MacUnattributable

BULK_MIN_BYTES = 2 * 1024 * 1024
PARALLEL_MIN_CHARS = 16 * 1024 * 1024  # below this, forking workers costs more than it saves
WORKERS = 2
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


_SLOW = object()  # prefix needing a per-MAC lookup (subdivided block, CID or local space)


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
    """What one pass over rows found; row numbers are local to the chunk scanned."""

    rows: int = 0
    counts: dict[tuple[object, tuple[str, ...]], int] = field(default_factory=dict)
    listed: list[tuple[int, str | None, str, tuple[object, tuple[str, ...]]]] = field(default_factory=list)
    errors: list[tuple[int, str | None, str]] = field(default_factory=list)  # row, column, message
    duplicates: list[tuple[int, str]] = field(default_factory=list)
    unattributable: list[tuple[int, str | None]] = field(default_factory=list)
    hits: list[MacHit] = field(default_factory=list)  # registry answers by key index (MAC digits blanked)


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
    chunks = _split(body, WORKERS) if len(body) >= PARALLEL_MIN_CHARS and _can_fork() else [body]
    del body
    with progress.progress(f"fleet: {path.name}", total=len(chunks), show=show) as bar:
        scans = _scan_all(chunks, layout, attributor, bar)
    _collect(scans, layout, attributor, report, tally)
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


def _split(body: str, parts: int) -> list[str]:
    out: list[str] = []
    start = 0
    for k in range(1, parts):
        cut = _record_end(body, max(start, len(body) * k // parts))
        # the cut must be outside quotes counted from the start of the body, not from the guess
        while body.count('"', 0, cut) % 2:
            cut = _record_end(body, cut)
        out.append(body[start:cut])
        start = cut
    out.append(body[start:])
    return [c for c in out if c]


def _can_fork() -> bool:
    return (os.cpu_count() or 1) >= 2 and "fork" in multiprocessing.get_all_start_methods()


_SHARED: tuple[list[str], Layout, Attributor] | None = None  # set before forking; read by the workers


def _scan_shared(k: int) -> Scan:
    assert _SHARED is not None
    chunks, layout, attributor = _SHARED
    gc.disable()
    return _scan(chunks[k], layout, attributor)


def _scan_all(chunks: list[str], layout: Layout, attributor: Attributor, bar: progress.Progress) -> list[Scan]:
    """Scan the first chunk here and the others in forked workers at the same time."""
    global _SHARED
    if len(chunks) == 1:
        scans = [_scan(chunks[0], layout, attributor)]
        bar.advance()
        return scans
    _SHARED = (chunks, layout, attributor)
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(len(chunks) - 1) as pool:
            others = pool.map_async(_scan_shared, range(1, len(chunks)))
            scans = [_scan(chunks[0], layout, attributor)]
            bar.advance()
            scans.extend(others.get())
            bar.advance(len(chunks) - 1)
            return scans
    finally:
        _SHARED = None


def _scan(text: str, layout: Layout, attributor: Attributor) -> Scan:
    """The hot loop: one CSV split, a MAC check, a prefix-cache probe and a dict probe per row."""
    out = Scan()
    reader = csv.reader(io.StringIO(text), delimiter=layout.delimiter)
    mac_i, ip_i, width = layout.mac_i, layout.ip_i, layout.width
    get_values = _getter([i for _, i, _ in layout.fact_cols])
    registry = attributor.registry
    subdivided = _subdivided(registry)
    prefixes: dict[str, object] = {}
    hit_ids: dict[tuple[str, ...], int] = {}
    hits = out.hits
    slots: dict[tuple[object, tuple[str, ...]], list[int]] = {}  # key -> [rows, listed?]
    listed = out.listed
    first_row: dict[str, int] = {}
    canon = _CANON_MAC.fullmatch
    where = Location(layout.name, field=layout.mac_col)  # errors are placed by row in _collect
    row_no = 0
    while True:
        try:
            for row in reader:
                row_no += 1
                if len(row) < width:
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
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
                        if first_row.setdefault(mac, row_no) != row_no:
                            out.duplicates.append((row_no, mac))
                            continue
                        pkey = prefixes.get(mac[:8])
                        if pkey is None:
                            pkey = prefixes[mac[:8]] = _prefix_key(registry, mac, subdivided, hit_ids, hits)
                        if pkey is _SLOW:
                            pkey = _hit_key(registry.lookup(mac), hit_ids, hits)
                key = (pkey, get_values(row))
                slot = slots.get(key)
                if slot is None:
                    entry = _entry(attributor, pkey, hits, layout.fact_cols, key[1], layout.mac_col)
                    slot = slots[key] = [0, entry.template is not None]
                    if isinstance(pkey, str):  # the first row of each kind of unattributable address, as examples
                        out.unattributable.append((row_no, mac))
                slot[0] += 1
                if slot[1]:
                    listed.append((row_no, mac, row[ip_i] if ip_i >= 0 else "", key))
            break
        except csv.Error as exc:  # one bad record; the reader goes on with the next line
            row_no += 1
            out.errors.append((row_no, None, f"bad CSV row: {exc}"))
    out.counts = {key: slot[0] for key, slot in slots.items()}
    out.rows = row_no
    return out


def _collect(scans: list[Scan], layout: Layout, attributor: Attributor, report: Report, tally: Tally) -> None:
    name = layout.name
    entries: dict[tuple[object, tuple[str, ...]], Entry] = {}
    offset = 0
    by_mac: dict[str, Finding] = {}
    by_ip: dict[str, Finding] = {}
    findings = report.findings
    for scan in scans:
        local: dict[tuple[object, tuple[str, ...]], Entry] = {}
        for key, n in scan.counts.items():
            pkey, values = key
            shared = (mac_key(scan.hits[pkey]) if isinstance(pkey, int) else pkey, values)
            entry = entries.get(shared)
            if entry is None:
                entry = entries[shared] = _entry(attributor, pkey, scan.hits, layout.fact_cols, values, layout.mac_col)
            entry.count += n
            local[key] = entry
        for row_no, column, message in scan.errors:
            report.errors.append(InputError(Location(name, row=offset + row_no, field=column), message))
        for row_no, mac, ip, key in scan.listed:
            entry = local[key]
            ip = ip.strip()
            same = by_mac.get(mac) if mac is not None else by_ip.get(ip) if ip else None
            if same is not None:  # the same device in another chunk, or a MAC-less row of a known address
                _duplicate(same, name, offset + row_no, layout.mac_col if mac else layout.ip_col, mac or ip)
                entry.count -= 1
                continue
            finding = _finding(name, offset + row_no, mac, ip, entry)
            findings.append(finding)
            if mac is not None:
                by_mac[mac] = finding
            if ip:
                by_ip.setdefault(ip, finding)
        for row_no, mac in scan.duplicates:
            if mac in by_mac:
                _duplicate(by_mac[mac], name, offset + row_no, layout.mac_col, mac)
        for row_no, mac in scan.unattributable:
            if len(tally.unattributable_ids) < 20:
                tally.unattributable_ids.append(mac or f"{name} row {offset + row_no}")
        offset += scan.rows
    for entry in entries.values():
        tally.count(entry.decision, [SOURCE], entry.count)
        if entry.unattributable and not entry.decision.attributable:
            tally.unattributable += entry.count


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
    registry: MacRegistry, mac: str, subdivided: frozenset[int], ids: dict[tuple[str, ...], int], hits: list[MacHit]
) -> object:
    try:
        p24 = int(mac[:8].replace(":", ""), 16)
    except ValueError:
        return _SLOW
    if p24 >> 16 & 0x03 or p24 in subdivided:  # multicast, local (CID or random) or subdivided
        return _SLOW
    return _hit_key(registry.lookup(mac), ids, hits)


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
