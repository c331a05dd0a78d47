"""fleet: covered-vendor devices in scans and inventories, with evidence and legal basis.

One pipeline for every input: files are routed to their source parser (large CSV inventories to a fast reader
that gives the same records in columns), the records of all inputs merged into devices (identity), each device
attributed (attribute: facts), judged under the selected policies (verdicts) and listed (build).
"""

from __future__ import annotations

import bisect
import gc
import itertools
import operator
import re
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bansweep import heap, progress
from bansweep.findings import Evidence, Finding, InputError, Location, Report
from bansweep.fleet import context, dates, sources
from bansweep.fleet.attribute import Attributed, Attributor, Decision, Sighting, attribute, owned, sightings
from bansweep.fleet.build import (
    NONE,
    Placed,
    TableRow,
    Tally,
    Template,
    build,
    device_finding,
    device_ids,
    place,
    placed,
    shared_template,
    template,
)
from bansweep.fleet.context import Context
from bansweep.fleet.fingerprints import Recog
from bansweep.fleet.identity import Device, Merged, Records, merge_records, single
from bansweep.fleet.model import Observation, ObservationBatch
from bansweep.fleet.sources import inventory_csv_fast
from bansweep.inputs import InputFile, walk
from bansweep.knowledge.vendors import VendorKB
from bansweep.policy import policy_ids
from bansweep.policy.fleet import Judged, PolicyStage
from bansweep.registry.mac import LOCAL, MULTICAST, MacRegistry

FAST_MIN_BYTES = 2 * 1024 * 1024  # CSV inventories this large are read by the fast reader (same records)
LARGE = 100_000  # devices in a report whose objects are kept out of the cyclic collector's view
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(slots=True)
class Options:
    policies: list[str] = field(default_factory=lambda: ["us-889", "fcc"])
    knowledge: list[Path] = field(default_factory=list)
    fingerprints: list[Path] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    as_of: str | None = None
    show_progress: bool | None = None
    fast_csv: bool | None = None  # the fast CSV reader: None = for CSV inventories of FAST_MIN_BYTES and more
    count_retired: bool = False  # count devices recorded as retired, disposed of or stolen as in use
    date_order: str = "auto"  # day/month order of inventories' numeric dates: auto, month-first, day-first


def sniff(item: InputFile) -> str | None:
    return sources.sniff(item)


def sniff_dir(path: Path) -> bool:
    return False


def check_options(options: Options) -> str:
    """Validate --as-of, --policy and --date-order before reading anything; returns the as-of date (default today).

    Raised as click.BadParameter so the command line reports a usage error (exit 2); callers from Python get an
    exception with the same message.
    """
    import click

    unknown = [p for p in options.policies if p not in policy_ids(options.knowledge)]
    if unknown or not options.policies:
        known = ", ".join(policy_ids(options.knowledge))
        raise click.BadParameter(
            f"unknown policy {', '.join(unknown) or '(none)'}; available: {known}", param_hint="--policy"
        )
    if options.date_order not in dates.ORDERS:
        raise click.BadParameter(
            f"expected one of {', '.join(dates.ORDERS)}, got {options.date_order!r}", param_hint="--date-order"
        )
    if options.as_of is None:
        return date.today().isoformat()
    try:
        if not _DATE.match(options.as_of):
            raise ValueError
        date.fromisoformat(options.as_of)
    except ValueError:
        raise click.BadParameter(f"expected a date YYYY-MM-DD, got {options.as_of!r}", param_hint="--as-of") from None
    return options.as_of


def run(paths: list[Path], options: Options, formats: Mapping[str, str] | None = None) -> Report:
    """formats: each path's format when routing decided it already (else the file is sniffed here)."""
    # Large inputs make millions of small acyclic objects: the cyclic collector would rescan them over and over.
    enabled = gc.isenabled()
    gc.disable()
    heap.return_large_blocks()
    report = None
    try:
        report = _run(paths, options, formats or {})
        return report
    finally:
        if enabled:
            if report is not None and report.subjects >= LARGE:
                gc.freeze()  # the report lives on: its objects would cost a full scan right after enabling
            gc.enable()


def _run(paths: list[Path], options: Options, routed: Mapping[str, str]) -> Report:
    report = Report(job="fleet", inputs=[str(p) for p in paths])
    as_of = check_options(options)
    kb = VendorKB.load(options.knowledge)
    registry = MacRegistry.load()
    recog = Recog.load(options.fingerprints) if options.fingerprints else None
    attributor = Attributor(kb, registry, as_of, recog, options.knowledge)
    stage = PolicyStage(options.policies, as_of, options.knowledge)
    report.data_versions.update(
        {"mac_registry": f"{registry.source} ({registry.date})", "knowledge": kb.version, "as_of": as_of}
    )
    if recog is not None:
        report.errors.extend(recog.errors)
        names = ", ".join(str(p) for p in options.fingerprints)
        report.data_versions["recog"] = f"{recog.summary} ({names})"

    files: list[tuple[Path, str]] = []
    for item in walk(paths):
        if isinstance(item, InputError):
            report.errors.append(item)
            continue
        fmt = routed.get(str(item.path)) or sources.sniff(item, knowledge=options.knowledge)
        if fmt is None:
            problem = "not a fleet input (format not recognised)" if item.head else "empty file"
            report.errors.append(InputError(Location(str(item.path)), problem))
        else:
            files.append((item.path, fmt))

    formats: dict[str, str] = {}
    mappings: dict[str, dict[str, str]] = {}
    items: list[Observation | ObservationBatch] = []
    show = options.show_progress
    with progress.progress("fleet: reading inputs", total=len(files), show=show) as bar:
        for path, fmt in files:
            bar.note(f"fleet: {path.name}")
            formats[str(path)] = fmt
            mapping = _describe(path, fmt, options.mapping, options.knowledge, report)
            if mapping is not None:
                mappings[str(path)] = mapping
            read = None
            if mapping and fmt == "inventory-csv" and _fast(path, options.fast_csv):
                read = inventory_csv_fast.read(
                    path, options.mapping or None, mapping, options.knowledge, options.date_order
                )
            if read is not None:
                batch, errors = read
                report.errors.extend(errors)
                if len(batch):
                    items.append(batch)
            else:
                for parsed in sources.parse(fmt, path, options.mapping or None, options.knowledge, options.date_order):
                    if isinstance(parsed, InputError):
                        report.errors.append(parsed)
                    else:
                        items.append(parsed)
            bar.advance()

    date_orders = dates.shown(items)
    tally = Tally(count_retired=options.count_retired)
    merged = merge_records(items)
    items.clear()  # the records are the merged devices' from here, each freed once judged
    words = context.status_words(tuple(options.knowledge))
    report.findings = assess(merged, attributor, stage, tally, show, words)
    del merged
    report.subjects = tally.devices
    # most severe and surest first, then by subject id; stable sorts keep device order on ties
    report.findings.sort(key=operator.attrgetter("device_id"))
    report.findings.sort(key=operator.attrgetter("severity", "confidence"), reverse=True)
    report.summary.update(tally.to_summary())
    report.summary["findings"] = len(report.findings)
    report.summary["input_errors"] = len(report.errors)
    report.summary["formats"] = formats
    report.summary["mappings"] = mappings
    report.summary["date_orders"] = date_orders
    report.summary["policies"] = list(options.policies)
    return report


def _describe(
    path: Path, fmt: str, mapping: dict[str, str], knowledge: Sequence[Path], report: Report
) -> dict[str, str] | None:
    try:
        return sources.describe_mapping(path, mapping or None, knowledge, fmt)
    except Exception as exc:  # a mapping problem is reported by the parser with its row; keep the run going
        report.errors.append(InputError(Location(str(path)), f"cannot map columns: {exc}"))
        return None


def _fast(path: Path, wanted: bool | None) -> bool:
    if wanted is not None:
        return wanted
    try:
        return path.stat().st_size >= FAST_MIN_BYTES
    except OSError:
        return False


@dataclass(slots=True)
class Unit:
    """Devices judged and counted together: one device, or every single-record device of a batch with the same
    MAC block and values (position: the first one's record). What the summary counts, not the device itself."""

    position: int
    decision: Decision
    judged: Judged
    sources: list[str]
    unattributable: bool  # no maker can be told and some MAC could not be attributed
    count: int = 1
    in_use: bool = True  # False: recorded as retired, disposed of or stolen (and seen by no scan)


def _unit(
    position: int, att: Attributed, judged: Judged, count: int = 1, in_use: bool = True, srcs: list[str] | None = None
) -> Unit:
    odd = not att.decision.attributable and bool(att.unattributable)
    return Unit(position, att.decision, judged, att.device.sources if srcs is None else srcs, odd, count, in_use)


def assess(
    merged: Merged,
    attributor: Attributor,
    stage: PolicyStage,
    tally: Tally,
    show: bool | None,
    words: context.StatusWords | None = None,
) -> list[Finding]:
    """Attribute, judge, count and list every device; findings in device order.

    A device of one batch record that shares no key with another record is attributed the same way as any other
    device, once for all the records with the same MAC block and values (its result has only the row and MAC of
    the first): the others get it with their own row and MAC. Every other device is attributed on its own."""
    records = merged.records
    words = words or context.status_words()
    retired = tally.count_retired
    units: list[Unit] = []
    listed: list[tuple[int, Finding]] = []
    examples: list[tuple[int, str]] = []  # (position, device id) of unattributable devices
    singles = merged.singles
    loose: list[int] = []  # single-record devices attributed one by one (made when their turn comes)
    total = len(singles) + len(merged.devices)  # a loose record's device is counted as a device
    with progress.progress("fleet: attributing devices", total=total, show=show) as bar:
        # the single-record devices of a batch (but an LLDP table's) are judged by batch; the others are loose
        done = 0  # singles before this are judged or loose
        for p, part in enumerate(records.parts):
            if not isinstance(part, ObservationBatch) or "lldp.chassis_mac" in part.facts:
                continue
            start = records.starts[p]
            lo = bisect.bisect_left(singles, start, done)
            loose.extend(singles[done:lo])
            done = bisect.bisect_left(singles, start + len(part), lo)
            positions = singles[lo:done]
            if positions:
                _batch(part, start, positions, attributor, stage, units, listed, examples, words, retired)
            bar.advance(len(positions))
        loose.extend(singles[done:])
        made: dict[Hashable, Any] = {}
        loose = _loose(records, loose, attributor, stage, units, listed, made, bar)
        outcomes = Outcomes(attributor, made)
        # what is counted alike is counted together (the first position kept: counts come out in the same order)
        alike: dict[Hashable, Unit] = {}
        for dev in itertools.chain(merged.devices, (single(records.take(r), r) for r in loose)):
            unit, finding = judge_device(dev, attributor, stage, words, retired, made, outcomes)
            key = (unit.decision, unit.judged.key, unit.unattributable, unit.in_use, *unit.sources)
            same = alike.get(key)
            if same is None:
                alike[key] = unit
            else:
                same.count += unit.count
                same.position = min(same.position, unit.position)
            if unit.unattributable:
                examples.append((dev.first, dev.id))
            listed.append((dev.first, finding))
            bar.advance()
    units.extend(alike.values())
    units.sort(key=operator.attrgetter("position"))
    for unit in units:
        tally.count(unit.decision, unit.judged, unit.sources, unit.count, unit.in_use)
        if unit.unattributable:
            tally.unattributable += unit.count
    examples.sort()
    tally.unattributable_ids.extend(device_id for _, device_id in examples[:20])
    listed.sort(key=operator.itemgetter(0))
    return [finding for _, finding in listed]


def judge_device(
    dev: Device,
    attributor: Attributor,
    stage: PolicyStage,
    words: context.StatusWords,
    count_retired: bool,
    made: dict[Hashable, Any] | None = None,
    outcomes: Outcomes | None = None,
) -> tuple[Unit, Finding]:
    """Attribute and judge one device with its inventory context: an ownership window is judged at the device's
    purchase (else install) date when the inventory gives one, and the evidence says so. outcomes: what devices
    with the same evidence values were judged to (needs made)."""
    ctx = context.of_observations(dev.observations, words)
    dated = ctx.dated() if ctx.values else None
    seen = sightings(attributor, dev)
    srcs = dev.sources
    key = known = None
    odd = seen[1]  # MACs that cannot be attributed
    if outcomes is not None and len(odd) <= 1:  # such a MAC is named in the explanation: one is swapped
        key = outcomes.key(dev, seen, srcs)
        known = outcomes.kept.get(key, _NEW)
        if isinstance(known, Outcome) and not (dated is not None and known.windowed):
            return known.judge(dev, ctx, count_retired, odd[0][0] if odd else None)
    att = attribute(attributor, dev, seen)
    if dated is not None and attributor.windowed(att.decision):
        day, name, where = dated
        decision = attributor.at_date(att.decision, day, context.basis(name, day, where, ctx.how_dated))
        detail = f"the {context.WORDS[name]} judges the ownership window (not --as-of {attributor.as_of})"
        evidence = [*att.evidence, Evidence(f"inventory.{name}", day, where, None, detail)]
        att = Attributed(dev, decision, evidence, att.unattributable)
        judged = stage(decision, (day, f"the {context.WORDS[name]}"))
    else:
        judged = stage(att.decision)
        if outcomes is not None and known is _NEW:
            outcomes.keep(key, att, judged, seen[0], srcs, odd[0][0] if odd else None)
    unit = _unit(dev.first, att, judged, in_use=ctx.in_use, srcs=srcs)
    return unit, device_finding(att, judged, made, ctx, count_retired, srcs)


@dataclass(slots=True)
class Outcome:
    """What judging a device gives apart from its own places, identifiers, notes and context (Outcomes)."""

    decision: Decision
    judged: Judged
    template: Template
    shape: tuple[_Shape, ...]  # its evidence apart from places and MAC, as a Placed keeps it
    recipe: tuple[tuple[int, str], ...]  # each evidence item's (record index in the device, fact), in order
    sources: list[str]
    windowed: bool  # a date of the device's own judges its ownership window (judged apart when it has one)
    mac: str | None  # the MAC that cannot be attributed of the device it was kept from (the template names it)
    unattributable: bool  # no maker can be told and a MAC could not be attributed

    def judge(self, dev: Device, ctx: Context, count_retired: bool, mac: str | None) -> tuple[Unit, Finding]:
        """mac: the device's MAC that cannot be attributed, if any (named instead of the kept one's)."""
        observations = dev.observations
        first = dev.macs[0] if dev.macs else None
        places = tuple([place(observations[i], fact) for i, fact in self.recipe])
        evidence: Placed | list[Evidence] = Placed(self.shape, first, places) if self.shape else []
        unit = Unit(dev.first, self.decision, self.judged, self.sources, self.unattributable, 1, ctx.in_use)
        ids, notes, swap = device_ids(dev), tuple(dev.notes), (self.mac, mac) if self.mac and mac else None
        return unit, build(self.template, dev.id, dev.address, ids, evidence, notes, ctx, count_retired, swap)


_NEW = object()  # a key not seen yet


class Outcomes:
    """Devices of a fleet share model and vendor evidence: what judging a device gives is kept by everything that
    decides it (key), so each distinct evidence is attributed and judged once; each device still gets its own
    evidence places, identifiers, notes and inventory context. At most LIMIT kept (emptied when full)."""

    LIMIT = 20_000

    def __init__(self, attributor: Attributor, made: dict[Hashable, Any]) -> None:
        self.attributor = attributor
        self.made = made
        self.kept: dict[Hashable, Outcome | None] = {}  # None: judged one by one (a claim seen twice)

    def key(self, dev: Device, seen: tuple[list[Sighting], list[tuple[str, str]]], srcs: list[str]) -> Hashable:
        """The device's sources, the model and device type its own records give, the place among its MACs of each
        MAC that cannot be attributed and why, and per value that names makers (in order): its claims, record
        index, fact, column, and value (what follows the device's first MAC, for a value that begins with it)."""
        sighted, odd = seen
        observations = dev.observations
        first = dev.macs[0] if dev.macs else None
        items: list[Hashable] = [*srcs, "", owned(observations), *((dev.macs.index(m), why) for m, why in odd)]
        for claims, i, fact, value in sighted:
            col = observations[i].fields.get(fact)
            if first is not None and value.startswith(first):
                items.append((claims, i, fact, col, "", value[len(first) :]))
            else:
                items.append((claims, i, fact, col, value, None))
        return tuple(items)

    def keep(
        self, key: Hashable, att: Attributed, judged: Judged, sighted: list[Sighting], srcs: list[str], mac: str | None
    ) -> None:
        """What a device with this key was judged to (att, judged: without a date of its own; mac: its MAC that
        cannot be attributed)."""
        if len(self.kept) >= self.LIMIT:
            self.kept.clear()
        claims = [c for found, _, _, _ in sighted for c in found]
        if len(set(claims)) < len(claims):  # evidence items merge when at the same place: judged one by one
            self.kept[key] = None
            return
        at = [(i, fact) for found, i, fact, _ in sighted for _ in found]
        rank = {c: n for n, c in enumerate(att.decision.claims)}  # the evidence order attribute gives
        order = sorted(range(len(claims)), key=lambda n: rank.get(claims[n], len(rank)))
        shape = placed(att.evidence, att.device, self.made).shape if att.evidence else ()
        t = shared_template(att, judged, self.made, srcs)
        windowed = self.attributor.windowed(att.decision)
        odd = not att.decision.attributable and bool(att.unattributable)
        recipe = tuple(at[n] for n in order)
        self.kept[key] = Outcome(att.decision, judged, t, shape, recipe, srcs, windowed, mac, odd)


_block = operator.itemgetter(slice(0, 8))  # "AA:BB:CC" of a MAC


def _loose(
    records: Records,
    positions: list[int],
    attributor: Attributor,
    stage: PolicyStage,
    units: list[Unit],
    listed: list[tuple[int, Finding]],
    made: dict[Hashable, Any],
    bar: progress.Progress,
) -> list[int]:
    """The single-record devices of loose records (a scan's hosts, a lease file's leases) attributed like a batch's:
    once for all the records of one source with the same MAC block, values and value origins, the others given
    the first one's result with their own place and MAC. Returns the positions left to attribute one by one
    (records whose facts carry their own lines, an inventory context, an LLDP neighbour, a MAC that cannot be
    attributed)."""
    own_way: list[int] = []
    blocks = _blocks([records.observation(r).mac for r in positions], attributor)
    plans: dict[Hashable, tuple[Template, list[_Shape], Unit] | None] = {}
    for r, block in zip(positions, blocks, strict=True):
        obs = records.observation(r)
        if obs.lines or obs.context or "lldp.chassis_mac" in obs.facts:
            own_way.append(r)
            continue
        key = (block, obs.source, *obs.facts.items(), "", *obs.fields.items())
        if key in plans:
            plan = plans[key]
        else:
            att = attribute(attributor, single(obs, r))
            judged = stage(att.decision)
            if att.unattributable:  # the explanation names the MAC: each is built on its own
                plan = plans[key] = None
            else:
                unit = _unit(r, att, judged, 0)
                units.append(unit)
                t = shared_template(att, judged, made)
                plan = plans[key] = (t, _shape(att, obs.fields.get("mac")), unit)
        if plan is None:
            own_way.append(r)
            continue
        t, shape, unit = plan
        unit.count += 1
        loc, ids = obs.location, (obs.mac, obs.ip, obs.hostname, obs.serial)
        evidence = TableRow(shape, loc.file, 0, obs.mac, NONE, NONE, 0, loc)  # made when read
        listed.append((r, build(t, *_names(ids, loc), ids, evidence)))
        records.take(r)  # freed: its finding keeps only its place and identifiers
        bar.advance()
    return own_way


def _batch(
    batch: ObservationBatch,
    start: int,
    positions: list[int],
    attributor: Attributor,
    stage: PolicyStage,
    units: list[Unit],
    listed: list[tuple[int, Finding]],
    examples: list[tuple[int, str]],
    words: context.StatusWords,
    count_retired: bool = False,
) -> None:
    """The single-record devices of one batch (record positions in the run, ascending). Devices recorded as not in
    use are judged apart from the others (counted apart); those whose ownership window a date of their own judges
    are judged one by one (judge_device)."""
    whole = len(positions) == len(batch)
    ks: Sequence[int] = range(len(batch)) if whole else [r - start for r in positions]

    def column(values: list[str | None]) -> Sequence[str | None]:
        return values if whole else [values[k] for k in ks]

    macs = column(batch.macs)
    status = batch.context.get("install_status")
    retired = _retired(column(status), batch.fields["install_status"], words) if status else None
    more = [retired] if retired else []
    keys: list[Hashable] = list(zip(_blocks(macs, attributor), *map(column, batch.facts.values()), *more, strict=True))
    firsts: dict[Hashable, int] = {}  # key -> its first device
    counts = Counter(map(firsts.setdefault, keys, itertools.count()))
    entries: dict[Hashable, tuple[Attributed, Unit]] = {}
    for key, i in firsts.items():
        att = attribute(attributor, single(batch.observation(ks[i]), positions[i]))
        in_use = retired is None or retired[i] is None
        entries[key] = (att, _unit(positions[i], att, stage(att.decision), counts[i], in_use))
    has_dates = any(name in batch.context for name in context.DATES)
    dated = {key for key, (att, _) in entries.items() if has_dates and attributor.windowed(att.decision)}
    units.extend(unit for key, (_, unit) in entries.items() if key not in dated)
    odd = {key for key, (_, unit) in entries.items() if unit.unattributable}
    if odd:  # the first of these devices (their ids are their MACs)
        for i in itertools.islice(itertools.compress(range(len(keys)), map(odd.__contains__, keys)), 20):
            examples.append((positions[i], str(macs[i])))
    templates: dict[Hashable, Template] = {}
    for key, (att, unit) in entries.items():
        templates[key] = template(att.decision, unit.judged, att.unattributable, [batch.source])
    file, rows, mac_field, columns = batch.file, batch.rows, batch.fields.get("mac"), batch.fields
    kept = batch.context.items()
    context_columns = batch.context
    macs_, ips, hosts, serials = batch.macs, batch.ips, batch.hostnames, batch.serials
    plans = {key: (t, _shape(entries[key][0], mac_field), entries[key]) for key, t in templates.items()}
    for i in range(len(keys)):
        k = ks[i]
        if dated and keys[i] in dated:  # judged at its own date
            own, finding = judge_device(
                single(batch.observation(k), positions[i]), attributor, stage, words, count_retired
            )
            units.append(own)
            listed.append((positions[i], finding))
            continue
        t, shape, (first, unit) = plans[keys[i]]
        row = rows[k]
        ctx = None  # made here only for a row not in use (its notes and tags); else when read (TableRow)
        if kept and retired and retired[i] is not None:
            values = {name: value for name, col in kept if (value := col[k])}
            if values:
                ctx = Context(values, retired=retired[i], record=(_at(file, row, None), columns))
        mac = macs_[k] or None
        # the explanation of a MAC that cannot be attributed names it: the first one's, shown with this one's
        swap = (first.device.macs[0], mac) if first.unattributable and first.device.macs and mac else None
        ip = ips[k] or None
        host = hosts[k] or None
        serial = serials[k] or None
        lazy = TableRow(shape, file, row, mac, NONE if ctx is not None else context_columns, columns, k)
        ids = (mac, ip, host, serial)
        finding = build(t, *_names(ids, file, row), ids, lazy, (), ctx, count_retired, swap)
        listed.append((positions[i], finding))


def _names(ids: tuple[str | None, ...], where: Location | str, row: int | None = None) -> tuple[str, str]:
    """(id, address) of a one-record device from its (MAC, IP, host name, serial), as Device gives them; its place
    when it has none of these."""
    mac, ip, host, serial = ids
    device_id = mac or serial or ip or host or str(where if isinstance(where, Location) else Location(where, row=row))
    return device_id, ip or host or mac or serial or device_id


def _retired(values: Sequence[str | None], column: str, words: context.StatusWords) -> list[str | None]:
    """Per record, the install status when it means not in use (else None)."""
    table = {v: words.not_in_use(v, column) if v else None for v in dict.fromkeys(values)}
    return list(map(table.__getitem__, values))


_Shape = tuple[str, str, str | None, str | None, str, str | None]


def _shape(att: Attributed, mac_field: str | None) -> list[_Shape]:
    """A device's evidence apart from its row and MAC: (rule, value, column, data date, detail, what follows the
    MAC in the value of the MAC's evidence, else None)."""
    first = att.device.macs[0] if att.device.macs else None
    out = []
    for e in att.evidence:
        col = e.location.field
        mac_value = first is not None and col == mac_field and e.value.startswith(first)
        suffix = e.value[len(first) :] if mac_value and first is not None else None
        out.append((e.rule, e.value, col, e.data_date, e.detail, suffix))
    return out


# Location's generated __init__ costs about 1 µs; a finding per covered row of a large inventory builds several,
# so _at sets the slots directly (equal and hashable like any Location).
_new = object.__new__
_slots = {name: Location.__dict__[name].__set__ for name in Location.__slots__}


def _at(file: str, row: int, column: str | None) -> Location:
    loc = _new(Location)
    _slots["file"](loc, file)
    _slots["line"](loc, None)
    _slots["row"](loc, row)
    _slots["entry"](loc, None)
    _slots["offset"](loc, None)
    _slots["field"](loc, column)
    return loc


def _blocks(macs: Sequence[str | None], attributor: Attributor) -> list[str | None]:
    """What decides a MAC's registry answer: its 24-bit block ("AA:BB:CC"), the MAC itself in a block divided into
    smaller ones (MA-M, MA-S, IAB), or the reason no maker can be told (a multicast or randomised address);
    None for no MAC."""
    texts: Sequence[str] = [m or "" for m in macs] if None in macs else macs  # type: ignore[assignment]
    prefixes: list[str] = list(map(_block, texts))
    tables = attributor.registry.tables
    divided = {p >> 4 for p in tables.get("MA-M", {})}
    divided.update(p >> 12 for p in tables.get("MA-S", {}))
    divided.update(p >> 12 for p in tables.get("IAB", {}))
    cid = tables.get("CID", {})
    table: dict[str, str | None] = {}
    whole: set[str] = set()
    for prefix in dict.fromkeys(prefixes):
        if not prefix:
            table[prefix] = None
            continue
        p24 = int(prefix.replace(":", ""), 16)
        if p24 in divided:
            whole.add(prefix)
        table[prefix] = MULTICAST if p24 & 0x010000 else LOCAL if p24 & 0x020000 and p24 not in cid else prefix
    out = list(map(table.__getitem__, prefixes))
    if whole:
        for i in itertools.compress(range(len(out)), map(whole.__contains__, prefixes)):
            out[i] = macs[i]
    return out
