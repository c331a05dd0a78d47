"""Findings of fleet devices: one per examined device (the report is an inventory of record), with its outcome
(covered, covered-limited, review, not-covered, unattributable, not-screened) and the sources that saw it.

What depends only on a device's decision and verdicts (its name, explanation, tags, attributes) is a Template,
shared by every device with the same decision; `build` adds the device's own identifiers, notes and evidence.
Tally counts every device (listed or not) for the report summary.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bansweep.findings import Evidence, Finding, Location, Severity, Status, Subject, Verdict, finding_key
from bansweep.fleet.attribute import Attributed, Decision, describe_kinds
from bansweep.fleet.context import NOT_COUNTED, NOT_IN_USE, Context
from bansweep.fleet.identity import Device
from bansweep.fleet.model import Observation
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
    notes: tuple[str, ...] = ()  # the decision's notes (in the explanation already)


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
        notes=tuple(d.notes),
    )


_PLURAL = {"mac": "macs", "ip": "ips", "hostname": "hostnames", "serial": "serials"}
_IDS = tuple(_PLURAL)
_slot = {name: (Finding.__dict__[name].__get__, Finding.__dict__[name].__set__) for name in Finding.__slots__}


class DeviceFinding(Finding):
    """A device's finding kept as its template, identifiers and notes: the subject, title, explanation and extra
    (and a table row's evidence and context) are made each time they are read. A run lists every device and most
    share a few templates, so hundreds of thousands of devices cost their identifiers, not a copy of every dict.
    They are read-only views: assign the attribute to change one (the value assigned is kept)."""

    __slots__ = ("_t", "_id", "_address", "_ids", "_notes", "_context", "_row", "_swap")
    _t: Template
    _id: str
    _address: str
    _ids: tuple[Any, ...]  # MACs, IPs, host names, serials: each a tuple, one value, or None
    _notes: tuple[str, ...]  # the device's own notes
    _context: Context | None
    _row: TableRow | Placed | None  # a table row's or a device's evidence (and a row's context), made when read
    _swap: tuple[str, str] | None  # (the template's MAC, this device's) in a template that names a MAC

    def _lists(self) -> tuple[tuple[str, ...], ...]:
        return tuple(v if isinstance(v, tuple) else (v,) if v else () for v in self._ids)

    def _ctx(self) -> Context | None:
        row = self._row
        return self._context if self._context is not None or row is None else row.context()

    @property  # type: ignore[override]
    def evidence(self) -> list[Evidence]:
        kept = self._get("evidence")
        if kept is not None or self._row is None:
            return kept  # type: ignore[no-any-return]
        return self._row.evidence()

    @evidence.setter
    def evidence(self, value: list[Evidence]) -> None:
        _slot["evidence"][1](self, value)

    @property
    def device_id(self) -> str:
        """The subject's id, without making the subject."""
        kept = self._get("subject")
        return kept.id if kept is not None else self._id

    def _label(self) -> str:
        return f"{self._t.name} at {self._address}"

    def _get(self, name: str) -> Any:
        try:
            return _slot[name][0](self, DeviceFinding)
        except AttributeError:
            return None

    @property  # type: ignore[override]
    def subject(self) -> Subject:
        kept = self._get("subject")
        if kept is not None:
            return kept  # type: ignore[no-any-return]
        last = _last_subject
        if last and last[0] is self:  # a report writer reads one finding's subject several times in a row
            return last[1]
        attributes = self._t.attributes.copy()
        for key, values in zip(_IDS, self._lists(), strict=True):
            if values:
                attributes[key] = ", ".join(values)
        context = self._ctx()
        if context is not None:
            attributes.update(context.values)
            if context.retired is not None:
                attributes["in_use"] = context.in_use_text()
        made = Subject("device", self._id, self._label(), attributes)
        _last_subject[:] = (self, made)
        return made

    @subject.setter
    def subject(self, value: Subject) -> None:
        _slot["subject"][1](self, value)

    @property
    def key(self) -> str:
        kept = self._get("subject")
        return finding_key("device", kept.identity or kept.id if kept is not None else self._id, RULE)

    @property  # type: ignore[override]
    def title(self) -> str:
        kept = self._get("title")
        return kept if kept is not None else f"{self._label()}: {self._t.status.value}"

    @title.setter
    def title(self, value: str) -> None:
        _slot["title"][1](self, value)

    @property  # type: ignore[override]
    def explanation(self) -> str:
        kept = self._get("explanation")
        if kept is not None:
            return kept  # type: ignore[no-any-return]
        explanation = self._t.explanation
        if self._swap:
            explanation = explanation.replace(*self._swap)
        if self._notes:
            explanation += ("" if explanation.endswith(".") or not explanation else ".") + " " + " ".join(self._notes)
        return explanation

    @explanation.setter
    def explanation(self, value: str) -> None:
        _slot["explanation"][1](self, value)

    @property  # type: ignore[override]
    def extra(self) -> dict[str, Any]:
        kept = self._get("extra")
        if kept is not None:
            return kept  # type: ignore[no-any-return]
        extra = self._t.extra.copy()
        for key, values in zip(_IDS, self._lists(), strict=True):
            extra[_PLURAL[key]] = list(values)
        extra["notes"] = [*self._t.notes, *self._notes]
        if self._swap:
            extra["unattributable_macs"] = [text.replace(*self._swap) for text in extra["unattributable_macs"]]
        context = self._ctx()
        if context is not None:
            extra["context"] = context.places
            if context.retired is not None and not context.in_use:
                extra["in_use"] = False
        return extra

    @extra.setter
    def extra(self, value: dict[str, Any]) -> None:
        _slot["extra"][1](self, value)


_new = object.__new__
_last_subject: list[Any] = []  # [finding, its subject]: the one made last


_Item = tuple[str, str, str | None, str | None, str, str | None]
NONE: dict[Any, Any] = {}  # one empty dict for the rows without context (never changed)


@dataclass(slots=True)
class TableRow:
    """A table row's (or a lone scan record's) evidence and context, made when read: the evidence shape of its
    template (rule, value, column, data date, detail, what follows the MAC in the value or None), the row's place
    and MAC, and its context values (columns of the table and the row's index in them)."""

    shape: list[tuple[str, str, str | None, str | None, str, str | None]]
    file: str
    row: int
    mac: str | None
    columns: dict[str, list[str | None]]  # context field -> column (empty: no context; never changed)
    fields: dict[str, str]  # field -> table column name (never changed)
    k: int
    location: Location | None = None  # a record that is not a table row (a scan's host): its place

    def evidence(self) -> list[Evidence]:
        at = self.location or Location(self.file, row=self.row)
        return _evidence(self.shape, self.mac, itertools.repeat(at))

    def context(self) -> Context | None:
        values = {name: value for name, column in self.columns.items() if (value := column[self.k])}
        return Context(values, record=(Location(self.file, row=self.row), self.fields)) if values else None


def _evidence(shape: Iterable[_Item], mac: str | None, places: Iterable[Location]) -> list[Evidence]:
    """Evidence from a shape (rule, value, column, data date, detail, MAC suffix), a MAC and each item's place."""
    return [
        Evidence(
            rule,
            value if suffix is None or not mac else mac + suffix,
            at if col is None else Location(at.file, at.line, at.row, at.entry, at.offset, col),
            date,
            detail,
        )
        for (rule, value, col, date, detail, suffix), at in zip(shape, places, strict=False)  # a row repeats one place
    ]


@dataclass(slots=True)
class Placed:
    """A device's evidence, made when read: its shape (rule, value, column, data date, detail, what follows the
    MAC in a value that names the device's first MAC, else None), shared by the devices whose evidence differs only
    in places and MAC, and each item's place without its column."""

    shape: tuple[_Item, ...]
    mac: str | None
    places: tuple[Location, ...]

    def evidence(self) -> list[Evidence]:
        return _evidence(self.shape, self.mac, self.places)

    def context(self) -> Context | None:
        return None


def placed(evidence: list[Evidence], dev: Device, shapes: dict[Hashable, Any]) -> Placed:
    """A device's evidence as a Placed (shapes: those made so far, shared)."""
    first = dev.macs[0] if dev.macs else None
    bases = {_base(o.location): o.location for o in dev.observations}
    shape, places = [], []
    for e in evidence:
        at, col, value = e.location, e.location.field, e.value
        suffix = value[len(first) :] if first is not None and value.startswith(first) else None
        shape.append((e.rule, value if suffix is None else "", col, e.data_date, e.detail, suffix))
        key = _base(at)
        places.append(at if col is None else bases.get(key) or Location(*key))
    got = tuple(shape)
    return Placed(shapes.setdefault(("shape", got), got), first, tuple(places))


def place(obs: Observation, fact: str) -> Location:
    """Where a record gave a fact, without the column (as a Placed keeps it): the record's place, or its own line
    for the fact when it has one."""
    loc = obs.location
    line = obs.lines.get(fact)
    return loc if not line else Location(loc.file, line, loc.row, loc.entry, loc.offset)


def _base(at: Location) -> tuple[str, int | None, int | None, str | None, int | None]:
    return at.file, at.line, at.row, at.entry, at.offset


def build(
    t: Template,
    device_id: str,
    address: str,
    ids: tuple[Any, ...],
    evidence: list[Evidence] | TableRow | Placed,
    notes: tuple[str, ...] = (),
    context: Context | None = None,
    count_retired: bool = False,
    swap: tuple[str, str] | None = None,
) -> Finding:
    """ids: the device's MACs, IPs, host names and serials (a tuple of each, or one value or None each);
    swap: (MAC, this device's MAC) when the template names another device's MAC (one that cannot be attributed);
    evidence: its evidence, or the table row it is made from when read; context: what the inventory records about
    it (location, owner, status, dates, tag)."""
    f = _new(DeviceFinding)
    tags = t.tags  # shared by the devices of one template: replaced, never changed in place
    if context is not None and not context.values:
        context = None
    if context is not None and context.retired is not None:
        notes = (*notes, *context.notes(count_retired))
        if not context.in_use:
            tags = [*tags, NOT_IN_USE, *([] if count_retired else [NOT_COUNTED])]
    row = evidence if isinstance(evidence, TableRow | Placed) else None
    f._t, f._id, f._address, f._ids, f._notes, f._context, f._row = t, device_id, address, ids, notes, context, row
    f._swap = swap if swap and swap[0] != swap[1] else None
    if row is None:
        _set_evidence(f, evidence)
    _set_rule(f, RULE)
    _set_severity(f, t.severity)
    _set_confidence(f, t.confidence)
    _set_status(f, t.status)
    _set_verdicts(f, t.verdicts)
    _set_tags(f, tags)
    _set_variant(f, "")
    _set_risk(f, None)
    return f


# the slots build sets, each setter looked up once
(
    _set_evidence,
    _set_rule,
    _set_severity,
    _set_confidence,
    _set_status,
    _set_verdicts,
    _set_tags,
    _set_variant,
    _set_risk,
) = (
    _slot[name][1]
    for name in ("evidence", "rule", "severity", "confidence", "status", "verdicts", "tags", "variant", "risk")
)


def shared_template(
    att: Attributed, judged: Judged, made: dict[Hashable, Any], srcs: list[str] | None = None
) -> Template:
    """The template of a device's finding, made once per run for the devices with the same decision and verdicts
    (made: what the run's findings share so far, templates and evidence shapes, by what they depend on; srcs: the
    device's sources, when known)."""
    srcs = att.device.sources if srcs is None else srcs
    key = (att.decision, judged.key, *att.unattributable, "", *srcs)
    got = made.get(key)
    if got is None:
        got = made[key] = template(att.decision, judged, att.unattributable, srcs)
    return got


def device_finding(
    att: Attributed,
    judged: Judged,
    made: dict[Hashable, Any] | None = None,
    context: Context | None = None,
    count_retired: bool = False,
    srcs: list[str] | None = None,
) -> Finding:
    """srcs: the device's sources, when known."""
    dev = att.device
    srcs = dev.sources if srcs is None else srcs
    t = (
        template(att.decision, judged, att.unattributable, srcs)
        if made is None
        else shared_template(att, judged, made, srcs)
    )
    evidence = placed(att.evidence, dev, made) if made is not None and att.evidence else att.evidence
    return build(t, dev.id, dev.address, device_ids(dev), evidence, tuple(dev.notes), context, count_retired)


def device_ids(dev: Device) -> tuple[str | tuple[str, ...] | None, ...]:
    """A device's MACs, IPs, host names and serials as a finding keeps them (_one_or_all)."""
    return tuple(map(_one_or_all, (dev.macs, dev.ips, dev.hostnames, dev.serials)))


def _one_or_all(values: list[str]) -> str | tuple[str, ...] | None:
    """A device's identifiers of one kind as a finding keeps them: the one value itself (most devices), else all."""
    return values[0] if len(values) == 1 else tuple(values) if values else None


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
