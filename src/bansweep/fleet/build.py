"""Findings of fleet devices: one per examined device (the report is an inventory of record), with its outcome
(covered, covered-limited, review, not-covered, unattributable, not-screened) and the sources that saw it.

What depends only on a device's decision and verdicts (its name, explanation, tags, attributes) is a Template,
shared by every device with the same decision; `build` adds the device's own identifiers, notes and evidence.
Tally counts every device (listed or not) for the report summary.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bansweep.findings import Evidence, Finding, Severity, Status, Subject, Verdict
from bansweep.fleet.attribute import Attributed, Decision, describe_kinds
from bansweep.fleet.context import NOT_COUNTED, NOT_IN_USE, Context
from bansweep.policy.fleet import Judged

RULE = "fleet.covered-vendor"
SEVERITY = {
    Status.COVERED: Severity.HIGH,
    Status.LIMITED: Severity.MEDIUM,
    Status.REVIEW: Severity.LOW,
    Status.NOT_SCREENED: Severity.LOW,
    Status.NOT_COVERED: Severity.INFO,
}


@dataclass(slots=True)
class Tally:
    """Counts for the report summary. A device recorded as no longer in use (retired, disposed of, stolen) is
    counted under not_in_use, and in the other counts only with count_retired."""

    count_retired: bool = False
    devices: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    by_vendor: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    by_policy: dict[str, Counter[str]] = field(default_factory=dict)
    unattributable: int = 0
    unattributable_ids: list[str] = field(default_factory=list)
    not_in_use: int = 0
    not_in_use_statuses: Counter[str] = field(default_factory=Counter)

    def count(self, d: Decision, judged: Judged, srcs: list[str], n: int = 1, in_use: bool = True) -> None:
        """Count n devices with this decision, verdicts and sources."""
        self.devices += n
        if not in_use:
            self.not_in_use += n
            self.not_in_use_statuses[judged.status.value] += n
            if not self.count_retired:
                return
        self.statuses[judged.status.value] += n
        if judged.status is not Status.NOT_COVERED:
            self.by_vendor[d.entity.group if d.entity and d.entity.group else "unknown"] += n
            for s in srcs:
                self.by_source[s] += n
        for v in judged.verdicts:
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
            "not_in_use": {
                "devices": self.not_in_use,
                "by_status": dict(self.not_in_use_statuses),
                "counted": self.count_retired,
            },
        }


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


def outcome(d: Decision, judged: Judged, unattributable: list[str]) -> str:
    """A device's outcome in the inventory of record: its status word, or "unattributable" for a device whose
    maker nothing can tell (only randomised MACs) and that is not judged otherwise."""
    if judged.status is Status.NOT_COVERED and not d.attributable and unattributable:
        return "unattributable"
    return judged.status.value


def template(d: Decision, judged: Judged, unattributable: list[str], srcs: list[str]) -> Template:
    """Every examined device is listed: covered, limited, review, not covered, unattributable or not screened."""
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
            ("outcome", outcome(d, judged, unattributable)),
        )
        if v
    }
    return Template(
        name=device_label(d.maker, d.brand, d.model, d.device_type, d.chip),
        severity=SEVERITY[judged.status],
        status=judged.status,
        confidence=d.confidence,
        explanation=explain(d, judged, unattributable),
        verdicts=list(judged.verdicts),
        tags=_tags(d, srcs),
        attributes=attributes,
        extra={
            "maker": d.maker,
            "brand": d.brand,
            "model": d.model,
            "device_type": d.device_type,
            "sources": srcs,
            "outcome": outcome(d, judged, unattributable),
            "conflicts": list(d.conflicts),
            "unattributable_macs": unattributable,
            "in_use": True,
        },
    )


_PLURAL = {"mac": "macs", "ip": "ips", "hostname": "hostnames", "serial": "serials"}


def build(
    t: Template,
    device_id: str,
    address: str,
    ids: dict[str, list[str]],
    evidence: list[Evidence],
    notes: list[str],
    decision_notes: tuple[str, ...],
    context: Context | None = None,
    count_retired: bool = False,
) -> Finding:
    """A device's finding; context: what the inventory records about it (location, owner, status, dates, tag)."""
    label = f"{t.name} at {address}"
    attributes = t.attributes.copy()
    extra = t.extra.copy()
    tags = t.tags.copy()
    for key, values in ids.items():
        if values:
            attributes[key] = ", ".join(values)
        extra[_PLURAL.get(key) or (key if key.endswith("s") else f"{key}s")] = values
    if context is not None and context.values:
        attributes.update(context.values)
        extra["context"] = context.places
        if context.retired is not None:
            attributes["in_use"] = context.in_use_text()
            notes = [*notes, *context.notes(count_retired)]
            if not context.in_use:
                extra["in_use"] = False
                tags.append(NOT_IN_USE)
                if not count_retired:
                    tags.append(NOT_COUNTED)
    extra["notes"] = [*decision_notes, *notes]
    explanation = t.explanation
    if notes:
        explanation += ("" if explanation.endswith(".") or not explanation else ".") + " " + " ".join(notes)
    return Finding(
        Subject("device", device_id, label, attributes),
        RULE,
        f"{label}: {t.status.value}",
        t.severity,
        t.confidence,
        evidence,
        t.status,
        explanation,
        t.verdicts.copy(),
        tags,
        extra,
    )


def device_finding(
    att: Attributed, judged: Judged, context: Context | None = None, count_retired: bool = False
) -> Finding:
    dev = att.device
    t = template(att.decision, judged, att.unattributable, dev.sources)
    ids = {"mac": dev.macs, "ip": dev.ips, "hostname": dev.hostnames, "serial": dev.serials}
    return build(t, dev.id, dev.address, ids, att.evidence, dev.notes, att.decision.notes, context, count_retired)


def device_label(
    maker: str | None, brand: str | None, model: str | None, dtype: str | None, chip: str | None = None
) -> str:
    who = brand or maker
    name = _short(who) if who else ("Device of unknown maker" if chip else "Unknown maker")
    if chip:
        name += f" with a {_short(chip)} chip"
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


def explain(d: Decision, judged: Judged, unattributable: list[str]) -> str:
    parts: list[str] = []
    if d.chip:
        kinds = describe_kinds(c for c in d.claims if c.component)
        parts.append(f"{kinds[0].upper()}{kinds[1:]} names the chip vendor {d.chip}, confidence {d.confidence:.2f}.")
    elif d.entity is not None:
        who = d.maker or d.entity.name
        if d.brand:
            who += f" (as {d.brand})"
        kinds = describe_kinds(c for c in d.claims if c.covered or c.component)
        parts.append(f"Attributed to {who} from {kinds or 'the evidence'}, confidence {d.confidence:.2f}.")
    elif d.maker:
        parts.append(f"Maker {d.maker}, not a covered vendor.")
    if judged.verdicts:
        parts.append("Verdicts: " + "; ".join(f"{v.policy} {v.status.value}" for v in judged.verdicts) + ".")
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
