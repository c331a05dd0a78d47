"""fleet: covered-vendor devices in scans and inventories, with evidence and legal basis.

Files are routed to their source parser, observations merged into devices and attributed, devices judged under
the selected policies. Large CSV inventories take the bulk path (bansweep.fleet.bulk).
"""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bansweep import progress
from bansweep.findings import Evidence, Finding, InputError, Location, Report, Severity, Status, Subject, Verdict
from bansweep.fleet import sources
from bansweep.fleet.attribute import Attributed, Attributor, Decision, attribute, describe_kinds, merge
from bansweep.fleet.fingerprints import Recog
from bansweep.fleet.model import Observation
from bansweep.inputs import InputFile, walk
from bansweep.knowledge.vendors import VendorKB
from bansweep.policy import policy_ids
from bansweep.registry.mac import MacRegistry

RULE = "fleet.covered-vendor"
SEVERITY = {
    Status.COVERED: Severity.HIGH,
    Status.LIMITED: Severity.MEDIUM,
    Status.REVIEW: Severity.LOW,
    Status.NOT_SCREENED: Severity.LOW,
    Status.NOT_COVERED: Severity.INFO,
}
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


def sniff(item: InputFile) -> str | None:
    return sources.sniff(item)


def sniff_dir(path: Path) -> bool:
    return False


def check_options(options: Options) -> str:
    """Validate --as-of and --policy before reading anything; returns the as-of date (default today).

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
    if options.as_of is None:
        return date.today().isoformat()
    try:
        if not _DATE.match(options.as_of):
            raise ValueError
        date.fromisoformat(options.as_of)
    except ValueError:
        raise click.BadParameter(f"expected a date YYYY-MM-DD, got {options.as_of!r}", param_hint="--as-of") from None
    return options.as_of


@dataclass(slots=True)
class Tally:
    """Counts for the report summary, shared by the observation path and the bulk path."""

    devices: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    by_vendor: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    by_policy: dict[str, Counter[str]] = field(default_factory=dict)
    unattributable: int = 0
    unattributable_ids: list[str] = field(default_factory=list)

    def count(self, d: Decision, srcs: list[str], n: int = 1) -> None:
        self.devices += n
        self.statuses[d.status.value] += n
        if d.status is not Status.NOT_COVERED:
            self.by_vendor[d.entity.group if d.entity and d.entity.group else "unknown"] += n
            for s in srcs:
                self.by_source[s] += n
        for v in d.verdicts:
            if v.policy not in self.by_policy:
                self.by_policy[v.policy] = Counter()
            self.by_policy[v.policy][v.status.value] += n

    def to_summary(self) -> dict[str, Any]:
        return {
            "devices": self.devices,
            "by_status": dict(self.statuses),
            "by_vendor": dict(self.by_vendor.most_common()),
            "by_source": dict(self.by_source.most_common()),
            "by_policy": {p: dict(c) for p, c in self.by_policy.items()},
            "unattributable": self.unattributable,
            "unattributable_examples": self.unattributable_ids[:20],
        }


def run(paths: list[Path], options: Options, formats: Mapping[str, str] | None = None) -> Report:
    """formats: each path's format when routing decided it already (else the file is sniffed here)."""
    # Large inputs make millions of small acyclic objects: the cyclic collector would rescan them over and over.
    enabled = gc.isenabled()
    gc.disable()
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
    from bansweep.fleet import bulk

    report = Report(job="fleet", inputs=[str(p) for p in paths])
    as_of = check_options(options)
    kb = VendorKB.load(options.knowledge)
    registry = MacRegistry.load()
    recog = Recog.load(options.fingerprints) if options.fingerprints else None
    attributor = Attributor(kb, registry, options.policies, as_of, recog, options.knowledge)
    report.data_versions.update(
        {"mac_registry": f"{registry.source} ({registry.date})", "knowledge": kb.version, "as_of": as_of}
    )
    if recog is not None:
        report.errors.extend(recog.errors)
        names = ", ".join(str(p) for p in options.fingerprints)
        report.data_versions["recog"] = f"{recog.size} fingerprints in {len(recog.databases)} databases ({names})"

    files: list[tuple[Path, str]] = []
    for item in walk(paths):
        if isinstance(item, InputError):
            report.errors.append(item)
            continue
        fmt = routed.get(str(item.path)) or sources.sniff(item)
        if fmt is None:
            problem = "not a fleet input (format not recognised)" if item.head else "empty file"
            report.errors.append(InputError(Location(str(item.path)), problem))
        else:
            files.append((item.path, fmt))

    tally = Tally()
    formats: dict[str, str] = {}
    mappings: dict[str, dict[str, str]] = {}
    observations: list[Observation] = []
    show = options.show_progress
    with progress.progress("fleet: reading inputs", total=len(files), show=show) as bar:
        for path, fmt in files:
            bar.note(f"fleet: {path.name}")
            formats[str(path)] = fmt
            mapping = _describe(path, fmt, options.mapping, report)
            if mapping is not None:
                mappings[str(path)] = mapping
            done = bulk.wants(path, fmt, mapping) and bulk.run_file(
                path, mapping or {}, attributor, report, tally, show
            )
            if not done:
                for parsed in sources.parse(fmt, path, options.mapping or None):
                    if isinstance(parsed, InputError):
                        report.errors.append(parsed)
                    else:
                        observations.append(parsed)
            bar.advance()

    devices = merge(observations)
    with progress.progress("fleet: attributing devices", total=len(devices), show=show) as bar:
        for device in devices:
            att = attribute(attributor, device)
            tally.count(att.decision, device.sources)
            if not att.decision.attributable and att.unattributable:
                tally.unattributable += 1
                tally.unattributable_ids.append(device.id)
            finding = device_finding(att)
            if finding is not None:
                report.findings.append(finding)
            bar.advance()

    report.subjects = tally.devices
    report.findings.sort(key=lambda f: (-f.severity, -f.confidence, f.subject.id))  # severity follows status
    report.summary.update(tally.to_summary())
    report.summary["findings"] = len(report.findings)
    report.summary["input_errors"] = len(report.errors)
    report.summary["formats"] = formats
    report.summary["mappings"] = mappings
    report.summary["policies"] = list(options.policies)
    return report


def _describe(path: Path, fmt: str, mapping: dict[str, str], report: Report) -> dict[str, str] | None:
    try:
        return sources.describe_mapping(path, mapping or None, fmt)
    except Exception as exc:  # a mapping problem is reported by the parser with its row; keep the run going
        report.errors.append(InputError(Location(str(path)), f"cannot map columns: {exc}"))
        return None


@dataclass(slots=True)
class Template:
    """Everything of a finding that depends only on the decision (shared by every device with that decision)."""

    name: str  # "Hikvision DS-2CD2042WD camera"
    severity: Severity
    status: Status
    confidence: float
    explanation: str
    verdicts: list[Verdict]
    tags: list[str]
    attributes: dict[str, str]
    extra: dict[str, Any]


def template(d: Decision, unattributable: list[str], srcs: list[str]) -> Template | None:
    """None for a device that is only counted: judged not covered and naming no covered entity. A device that
    names one but is judged not covered (e.g. a brand sold before the date judged) is still listed."""
    if d.status is Status.NOT_COVERED and d.entity is None:
        return None
    attributes = {
        k: v
        for k, v in (
            ("maker", d.maker),
            ("brand", d.brand),
            ("model", d.model),
            ("device_type", d.device_type),
            ("group", d.entity.group if d.entity else None),
            ("entity", d.entity.id if d.entity else None),
            ("sources", ", ".join(srcs)),
        )
        if v
    }
    return Template(
        name=device_label(d.maker, d.brand, d.model, d.device_type),
        severity=SEVERITY[d.status],
        status=d.status,
        confidence=d.confidence,
        explanation=explain(d, unattributable),
        verdicts=list(d.verdicts),
        tags=_tags(d, srcs),
        attributes=attributes,
        extra={
            "maker": d.maker,
            "brand": d.brand,
            "model": d.model,
            "device_type": d.device_type,
            "sources": srcs,
            "conflicts": list(d.conflicts),
            "unattributable_macs": unattributable,
        },
    )


def build(
    t: Template,
    device_id: str,
    address: str,
    ids: dict[str, list[str]],
    evidence: list[Evidence],
    notes: list[str],
    decision_notes: tuple[str, ...],
) -> Finding:
    label = f"{t.name} at {address}"
    attributes = dict(t.attributes)
    for key, values in ids.items():
        if values:
            attributes[key] = ", ".join(values)
    extra = dict(t.extra)
    extra.update({f"{k}s" if not k.endswith("s") else k: v for k, v in ids.items()})
    extra["notes"] = list(decision_notes) + notes
    explanation = t.explanation + (" " + " ".join(notes) if notes else "")
    return Finding(
        subject=Subject("device", device_id, label, attributes),
        rule=RULE,
        title=f"{label}: {t.status.value}",
        severity=t.severity,
        confidence=t.confidence,
        evidence=evidence,
        status=t.status,
        explanation=explanation,
        verdicts=list(t.verdicts),
        tags=list(t.tags),
        extra=extra,
    )


def device_finding(att: Attributed) -> Finding | None:
    dev = att.device
    t = template(att.decision, att.unattributable, dev.sources)
    if t is None:
        return None
    ids = {"mac": dev.macs, "ip": dev.ips, "hostname": dev.hostnames, "serial": dev.serials}
    return build(t, dev.id, dev.address, ids, att.evidence, dev.notes, att.decision.notes)


def device_label(maker: str | None, brand: str | None, model: str | None, dtype: str | None) -> str:
    who = brand or maker
    name = _short(who) if who else "Unknown maker"
    parts = [name]
    if model and model.lower() not in name.lower():
        parts.append(model)
    if dtype and dtype.lower() not in " ".join(parts).lower():
        parts.append(dtype)
    return " ".join(parts)


_LEGAL = re.compile(
    r"[\s,]+(?:co\.?,?|ltd\.?|inc\.?|corp\.?|corporation|technolog(?:y|ies)|digital|limited|group)\b.*$", re.I
)


def _short(name: str) -> str:
    """'Hangzhou Hikvision Digital Technology Co., Ltd.' -> 'Hangzhou Hikvision'; short names unchanged."""
    short = _LEGAL.sub("", name).strip(" ,.")
    return short or name


def explain(d: Decision, unattributable: list[str]) -> str:
    parts: list[str] = []
    if d.entity is not None:
        who = d.maker or d.entity.name
        if d.brand:
            who += f" (as {d.brand})"
        kinds = describe_kinds(c for c in d.claims if c.covered or c.component)
        parts.append(f"Attributed to {who} from {kinds or 'the evidence'}, confidence {d.confidence:.2f}.")
    elif d.maker:
        parts.append(f"Maker {d.maker}, not a covered vendor.")
    if d.verdicts:
        parts.append("Verdicts: " + "; ".join(f"{v.policy} {v.status.value}" for v in d.verdicts) + ".")
    if d.conflicts:
        parts.append("Conflicting evidence: " + "; ".join(d.conflicts) + ".")
    parts.extend(d.notes)
    if unattributable:
        parts.append("Not attributable: " + "; ".join(unattributable) + ".")
    return " ".join(parts)


def _tags(d: Decision, srcs: list[str]) -> list[str]:
    tags: list[str] = []
    if d.entity is not None:
        tags += [f"group:{d.entity.group}", f"entity:{d.entity.id}", f"relation:{d.entity.relation}"]
    if d.device_type:
        tags.append(f"type:{d.device_type}")
    tags += [f"source:{s}" for s in srcs]
    if d.conflicts:
        tags.append("conflict")
    if any("relabelled/OEM" in c for c in d.conflicts):
        tags.append("relabel")
    if any("component" in n for n in d.notes):
        tags.append("component")
    if any("belonged to" in n for n in d.notes):
        tags.append("ownership")
    return tags
