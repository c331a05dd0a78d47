"""Attribution: who made a device (maker, brand, model, the covered entity) and how sure we are, with evidence.

Facts only: what the policies make of them is the policy stage's (bansweep.policy.fleet). Two steps with two
caches, so a million inventory rows cost little more than their distinct values:
- `Attributor.claims(fact, text)` turns one observed value into claims (who made this?) — cached per value;
- `Attributor.decide(claims)` weighs a device's claims into a Decision — cached per claim set.
Evidence items (with each claim's location) are assembled per device from the decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bansweep.findings import Evidence, Location
from bansweep.fleet.fingerprints import VENDOR_PARAMS, Recog
from bansweep.fleet.identity import Device, observed_mac
from bansweep.fleet.model import Observation
from bansweep.knowledge import facts
from bansweep.knowledge.fuzzy import FuzzyMakers, NearMiss
from bansweep.knowledge.schema import Component
from bansweep.knowledge.vendors import Entity, Match, VendorKB, normalise_name
from bansweep.registry.mac import MacHit, MacRegistry, MacUnattributable

# observation facts by the kind of evidence they give
ORG_FACTS = {
    "manufacturer": "inventory.manufacturer",
    "brand": "inventory.brand",
    "nmap.vendor": "nmap.vendor",
    "prop.ro.product.manufacturer": "android.manufacturer",
    "prop.ro.product.brand": "android.brand",
    "snmp.entity_mfg": "snmp.entity.manufacturer",
}
MODEL_FACTS = ("model", "prop.ro.product.model", "prop.ro.product.device")
BANNER_FACTS = (
    "http.server",
    "http.realm",
    "http.title",
    "rtsp.server",
    "sip.banner",
    "ssh.banner",
    "telnet.banner",
    "ftp.banner",
    "upnp.server",
    "tls.subject",
    "service.banner",
    "snmp.sysdescr",
    "lldp.sysdesc",
    "dhcp.vendor_class",
    "cpe",
    "http.favicon",
    "snmp.entity_descr",
)
# facts read with another fact's banner patterns (ENTITY-MIB's entPhysicalDescr reads like a sysDescr)
BANNER_ALIASES = {"snmp.entity_descr": ("snmp.sysdescr",)}
FUZZY_WEIGHT = 0.8  # a maker name one slip away from a covered brand: strong, a little less than the exact name
OID_FACT = "snmp.sysobjectid"
TYPE_FACT = "device_type"
# the facts that can give a claim (Attributor._claims_for); any other (a DHCP host name, an OS) names no maker
CLAIMING = frozenset({*ORG_FACTS, *MODEL_FACTS, *BANNER_FACTS, OID_FACT})
OWNED = frozenset({*MODEL_FACTS, TYPE_FACT})  # the facts owned reads

MAC_WEIGHT = 0.85  # a MAC prefix names the maker of the network interface, usually but not always the device's
CID_WEIGHT = 0.4
STRONG = 0.9  # covered evidence this strong from two kinds outweighs one disagreeing claim
LOW = 0.5  # below this the evidence is too weak to judge without review


def component_entities(overlays: Sequence[Path] = ()) -> frozenset[str]:
    """Entity ids that are chip/module vendors (knowledge dataset `components`)."""
    return frozenset(c.entity for c in facts(Component, overlays).entries)


_KIND_ORDER = {"banner": 0, "recog": 0, "oid": 1, "model": 2, "org": 3, "mac": 4}
_RELATION_ORDER = {"parent": 1}  # more specific relations (brand, subsidiary, relabel) name the product better


class _Hashed:
    """A slot for the hash of a frozen dataclass: claims and decisions are dictionary keys many times per device,
    and hashing every field each time (entities and claims too) costs more than the rest of the lookups. Not a
    field: it is neither compared nor pickled (a string's hash differs between processes)."""

    __slots__ = ("_hash",)
    _hash: int


@dataclass(frozen=True, slots=True)
class Claim(_Hashed):
    """One observed value that names (or fails to name) a maker."""

    kind: str  # "mac" | "org" | "model" | "banner" | "recog" | "oid"
    rule: str  # evidence rule id
    fact: str  # observation fact it came from ("mac" for a MAC address)
    text: str  # the observed value (for a MAC: the registrant organisation)
    entity: Entity | None  # known entity, covered or not; None = a maker unknown to the knowledge base
    vendor: str  # maker name as the evidence gives it
    confidence: float
    data_date: str
    detail: str = ""
    product: str | None = None
    device_type: str | None = None
    component: bool = False  # names a chip/module vendor, not the device maker

    @property
    def covered(self) -> bool:
        return self.entity is not None and self.entity.group is not None and not self.component

    def __hash__(self) -> int:  # the fields that tell claims apart (the entity's would cost more), once
        try:
            return self._hash
        except AttributeError:
            h = hash((self.rule, self.fact, self.text, self.vendor, self.confidence))
            object.__setattr__(self, "_hash", h)
            return h


@dataclass(frozen=True, slots=True)
class Decision(_Hashed):
    """What the evidence says about a device's maker: facts for the policy stage to judge."""

    entity: Entity | None  # the entity to judge (most specific covered entity), else None
    maker: str | None
    brand: str | None
    model: str | None
    device_type: str | None
    confidence: float
    claims: tuple[Claim, ...]  # supporting claims first
    conflicts: tuple[str, ...]
    notes: tuple[str, ...]
    conflicting: bool  # the evidence disagrees (or is too weak) in a way that needs a person to look
    component: str | None  # a chip/component vendor's evidence only: why a covered verdict needs review
    attributable: bool  # False when nothing named a maker (e.g. only randomised MACs)
    chip: str | None = None  # a covered chip/component vendor seen in the device (not its maker)

    def __hash__(self) -> int:  # every field, as the generated hash would, once per decision
        try:
            return self._hash
        except AttributeError:
            h = hash(tuple(getattr(self, name) for name in self.__slots__))
            object.__setattr__(self, "_hash", h)
            return h


# --- attribution ----------------------------------------------------------------------------------------


class Attributor:
    def __init__(
        self,
        kb: VendorKB,
        registry: MacRegistry,
        as_of: str,
        recog: Recog | None = None,
        overlays: Sequence[Path] = (),
    ) -> None:
        self.kb = kb
        self.registry = registry
        self.recog = recog
        self.as_of = as_of  # ownership notes say whether this date is within an entity's time in its group
        self.components = component_entities(overlays)
        self._claims: dict[tuple[str, str], tuple[Claim, ...]] = {}
        self._mac: dict[tuple[str, ...], tuple[Claim, ...]] = {}
        self._decisions: dict[tuple[Claim, ...], Decision] = {}
        # per registry block not divided into smaller ones: its claims, what follows the MAC in the evidence value,
        # or the reason no maker can be told
        self._blocks: dict[int, tuple[tuple[Claim, ...], str, str | None]] = {}
        self._divided: set[int] | None = None
        self._observed: dict[tuple[int, str | None, str | None], tuple[Decision, Decision]] = {}
        self._orders: dict[int, tuple[Decision, list[int] | None]] = {}
        self._fuzzy: FuzzyMakers | None = None

    # claims from single values

    def claims(self, fact: str, text: str) -> tuple[Claim, ...]:
        key = (fact, text)
        hit = self._claims.get(key)
        if hit is None:
            best: dict[tuple[str, str], Claim] = {}  # one claim per rule and maker: the strongest
            for c in self._claims_for(fact, text.strip()):
                who = (c.rule, c.entity.id if c.entity else c.vendor)
                if who not in best or c.confidence > best[who].confidence:
                    best[who] = c
            hit = self._claims[key] = tuple(best.values())
        return hit

    def _claims_for(self, fact: str, text: str) -> Iterable[Claim]:
        if not text:
            return
        kb = self.kb
        if fact in ORG_FACTS:
            matches = kb.match_org(text)
            for m in matches:
                yield self._from_match("org", ORG_FACTS[fact], fact, text, m)
            if not matches:
                near = self.fuzzy().match(text)
                if near is not None:
                    yield self._near_miss(fact, text, near)
                else:  # an unknown maker still counts: it may disagree with covered evidence
                    yield Claim("org", ORG_FACTS[fact], fact, text, None, text, 0.6, kb.version, "maker not covered")
        elif fact in MODEL_FACTS:
            for m in kb.match_model(text):
                yield self._from_match("model", "model.grammar", fact, text, m)
        elif fact == OID_FACT:
            for m in kb.match_oid(text.lstrip(".")):
                yield self._from_match("oid", "snmp.sysobjectid", fact, text, m)
        elif fact in BANNER_FACTS:
            # a banner of unknown service (an inventory "banner" column) is tried as every kind of banner
            fields = BANNER_FACTS if fact == "service.banner" else BANNER_ALIASES.get(fact, (fact,))
            seen: set[str] = set()
            for f in fields:
                for m in kb.match_banner(f, text):
                    if m.pattern_id not in seen:
                        seen.add(m.pattern_id)
                        if m.kind == "model":  # a model name inside the banner
                            yield self._from_match("model", "model.grammar", fact, text, m)
                        else:
                            yield self._from_match("banner", f"banner.{fact}", fact, text, m)
            if self.recog is not None:
                rules: set[str] = set()
                for f in fields:
                    for c in self._recog(f, text):
                        if c.rule not in rules:
                            rules.add(c.rule)
                            yield c
        if self.recog is not None and fact == OID_FACT:
            yield from self._recog(fact, text)

    def fuzzy(self) -> FuzzyMakers:
        """Near-miss spellings of covered brands; real registrant names of other makers are never slips."""
        if self._fuzzy is None:
            bare = FuzzyMakers(self.kb)
            orgs: dict[str, list[str]] = {}  # first word -> registrants, of the words that could be read as a slip
            for org in self.registry.orgs:
                word = normalise_name(org).split(" ", 1)[0]
                if bare.may_slip(word):
                    orgs.setdefault(word, []).append(org)
            words = {w for w, names in orgs.items() if not all(map(self.kb.match_org, names))}
            self._fuzzy = FuzzyMakers(self.kb, words)
        return self._fuzzy

    def _near_miss(self, fact: str, text: str, near: NearMiss) -> Claim:
        entity = near.entity
        detail = (
            f"maker name '{near.written}' read as {near.target} ({near.edits} edit: {near.description}); "
            f"{near.target} is a brand of {entity.name} (knowledge dataset vendors, near-miss spelling)"
        )
        return Claim(
            "org",
            f"{ORG_FACTS[fact]}.near-miss",
            fact,
            text,
            entity,
            entity.name,
            FUZZY_WEIGHT,
            entity.date or self.kb.version,
            detail,
            component=entity.id in self.components,
        )

    def _from_match(self, kind: str, rule: str, fact: str, text: str, m: Match) -> Claim:
        component = m.entity.id in self.components
        detail = f"knowledge entry {m.pattern_id} ({m.kind}) names {m.entity.name}"
        if m.entity.group is None:
            detail += " (not a covered entity)"
        return Claim(
            kind,
            rule,
            fact,
            text,
            m.entity,
            m.entity.name,
            m.confidence,
            m.date or self.kb.version,
            detail + f"; source: {m.source}",
            m.product,
            None if component else m.device_type,
            component,
        )

    def _recog(self, fact: str, text: str) -> Iterable[Claim]:
        assert self.recog is not None
        for fp, params in self.recog.match(fact, text):
            for name, weight in VENDOR_PARAMS:
                vendor = params.get(name)
                if not vendor:
                    continue
                product = params.get("hw.product") or params.get("os.product") or params.get("service.product")
                dtype = (params.get("hw.device") or "").lower() or None
                detail = f"{fp.label} ({fp.description}) gives {name}={vendor}"
                matches = [m for m in self.kb.match_org(vendor) if m.entity.group] or self.kb.match_org(vendor)
                if not matches:
                    yield Claim(
                        "recog", fp.rule, fact, text, None, vendor, weight, fp.data_date, detail, product, dtype
                    )
                for m in matches[:1]:
                    component = m.entity.id in self.components
                    yield Claim(
                        "recog",
                        fp.rule,
                        fact,
                        text,
                        m.entity,
                        vendor,
                        weight * m.confidence,
                        fp.data_date,
                        detail + f"; {vendor} is {m.entity.name} (knowledge entry {m.pattern_id})",
                        product,
                        None if component else dtype,
                        component,
                    )
                break  # the most specific vendor parameter decides

    def mac_evidence(self, mac: str) -> tuple[tuple[Claim, ...], str, str | None]:
        """(claims, evidence value, None) of a MAC, or ((), "", reason) when no maker can be told from it. The same
        for every MAC of a registry block that is not divided into smaller ones: worked out once per block."""
        digits = mac.replace(":", "").replace("-", "")  # as the registry reads a MAC
        value = -1
        if len(digits) == 12 and digits.isascii() and digits.isalnum():
            try:
                value = int(digits, 16)
            except ValueError:
                value = -1
        block = value >> 24
        got = self._blocks.get(block) if value >= 0 else None
        if got is None:
            hit = self.registry.lookup(mac)
            if isinstance(hit, MacUnattributable):
                got = ((), "", hit.reason)
            else:
                got = (self.mac_claims(hit), mac_value(mac, hit)[len(mac) :], None)
            if value >= 0 and block not in self.divided():
                self._blocks[block] = got
        claims, rest, reason = got
        return claims, (mac + rest if reason is None else ""), reason

    def divided(self) -> set[int]:
        """The 24-bit blocks the registry divides into MA-M, MA-S or IAB blocks."""
        if self._divided is None:
            tables = self.registry.tables
            divided = {p >> 4 for p in tables.get("MA-M", {})}
            divided.update(p >> 12 for p in tables.get("MA-S", {}))
            divided.update(p >> 12 for p in tables.get("IAB", {}))
            self._divided = divided
        return self._divided

    def mac_claims(self, hit: MacHit) -> tuple[Claim, ...]:
        """Claims of a registry block; the same for every block of one registrant (the prefix is in the value)."""
        key = mac_key(hit)
        claims = self._mac.get(key)
        if claims is None:
            detail = f"{hit.block} block registered to {hit.org} ({hit.data_source})"
            weight = MAC_WEIGHT
            if hit.note:
                detail += f"; {hit.note}"
            if hit.block == "CID":  # a randomised MAC can collide with a CID: weak evidence
                weight *= CID_WEIGHT
            out: list[Claim] = []
            for m in self.kb.match_org(hit.org):
                c = self._from_match("mac", "mac.registry", "mac", hit.org, m)
                out.append(replace(c, confidence=c.confidence * weight, data_date=hit.data_date, detail=detail))
            if not out:
                out.append(
                    Claim("mac", "mac.registry", "mac", hit.org, None, hit.org, 0.8 * weight, hit.data_date, detail)
                )
            claims = self._mac[key] = tuple(out)
        return claims

    def order(self, decided: Decision, claims: tuple[Claim, ...]) -> list[int] | None:
        """The positions of `claims` (what `decided` was decided from) in the order of the decision's claims, as
        evidence_for sorts them; None when that is their order already. Once per decision."""
        got = self._orders.get(id(decided))  # the decision is kept with the result: its id is not reused
        if got is None:
            rank = {c: i for i, c in enumerate(decided.claims)}
            ranks = [rank.get(c, len(rank)) for c in claims]
            order = sorted(range(len(claims)), key=ranks.__getitem__)
            got = self._orders[id(decided)] = (decided, None if order == list(range(len(claims))) else order)
        return got[1]

    def observed(self, decision: Decision, observations: Sequence[Observation]) -> Decision:
        """The decision with the model and device type the owner's own records give (_with_observed); one
        object per decision and values."""
        model, dtype = owned(observations)
        if not ((model and model != decision.model) or (dtype and dtype != decision.device_type)):
            return decision
        key = (id(decision), model, dtype)  # the decision is kept with the result: its id is not reused
        got = self._observed.get(key)
        if got is None:
            made = replace(decision, model=model or decision.model, device_type=dtype or decision.device_type)
            if len(self._observed) >= 50_000:
                return made
            got = self._observed[key] = (decision, made)
        return got[1]

    # weighing

    def decide(self, claims: tuple[Claim, ...], unattributable: bool = False) -> Decision:
        key = claims if not unattributable else (*claims, _UNATTRIBUTABLE)
        hit = self._decisions.get(key)
        if hit is None:
            hit = self._decisions[key] = self._decide(claims, unattributable)
        return hit

    def _decide(self, claims: tuple[Claim, ...], unattributable: bool) -> Decision:
        covered = [c for c in claims if c.covered]
        components = [c for c in claims if c.component and c.entity is not None and c.entity.group]
        makers = [c for c in claims if not c.covered and not c.component and c.kind in ("mac", "org")]
        conflicts: list[str] = []
        notes: list[str] = []
        conflicting = False
        entity: Entity | None = None
        if covered:
            groups: dict[str, list[Claim]] = {}
            for c in covered:
                assert c.entity is not None and c.entity.group is not None
                groups.setdefault(c.entity.group, []).append(c)
            scores = {g: _combine(cs) for g, cs in groups.items()}
            group = max(scores, key=lambda g: (scores[g], -min(_KIND_ORDER[c.kind] for c in groups[g])))
            support = sorted(groups[group], key=_claim_rank)
            entity = _primary(support)
            confidence = scores[group]
            for other, cs in groups.items():
                if other != group:
                    conflicts.append(
                        f"{describe_kinds(cs)}: {self._group_name(other)}; {describe_kinds(support)}: {self._group_name(group)}"
                    )
                    conflicting = True
            disagree = [c for c in makers if not _same_maker(c, support)]
            if disagree:
                kinds = {c.kind for c in support}
                text = (
                    f"{describe_kinds(disagree)}: {', '.join(sorted({c.vendor for c in disagree}))}; "
                    f"{describe_kinds(support)}: {self._group_name(group)}"
                )
                if any(c.kind == "mac" for c in disagree) and "mac" not in kinds:
                    text += ": a relabelled/OEM device or a third-party network module"
                conflicts.append(text)
                if not (confidence >= STRONG and len(kinds - {"org"}) >= 2):
                    conflicting = True
            if confidence < LOW:
                notes.append(f"weak evidence (confidence {confidence:.2f}); needs review")
                conflicting = True
            notes.extend(self._ownership(support))
            ordered = tuple(support) + tuple(c for c in claims if c not in support)
        else:
            ordered = tuple(sorted(claims, key=_claim_rank))
            confidence = max((c.confidence for c in makers), default=0.0)
        chip = None
        if not covered and components:
            comp = components[0]
            assert comp.entity is not None
            entity = comp.entity
            chip = comp.entity.name
            conflicting = True
            confidence = _combine(components)
            maker_known = f"the evidence names {makers[0].vendor}" if makers else "the evidence names no maker"
            notes.append(
                f"{comp.entity.name} makes chips and modules (part of {self._group_name(comp.entity.group or '')}): "
                f"{comp.vendor} in the evidence shows one of its chips inside the device, not who made the device "
                f"({maker_known}); a covered-component question (§889 'essential component')"
            )
            ordered = tuple(components) + tuple(c for c in ordered if c not in components)
        component = notes[-1] if not covered and components else None
        if unattributable and not claims:
            notes.append("only locally administered (randomised or private) MAC addresses: maker not attributable")
        lead = ordered[0] if ordered else None
        maker = brand = None
        if entity is not None and entity.group and not (not covered and components):
            parent = self._group_entity(entity.group)
            maker = parent.name if parent else entity.name
            brand = entity.name if parent is None or entity.id != parent.id else None
        elif makers:
            maker = sorted(makers, key=lambda c: -c.confidence)[0].vendor
        product = next((c.product for c in ordered if c.product and c.kind in ("model", "recog", "banner")), None)
        dtype = next((c.device_type for c in ordered if c.device_type), None)
        return Decision(
            entity=entity,
            maker=maker,
            brand=brand,
            model=product,
            device_type=dtype,
            confidence=confidence if lead else 0.0,
            claims=ordered,
            conflicts=tuple(conflicts),
            notes=tuple(notes),
            conflicting=conflicting,
            component=component,
            attributable=bool(claims),
            chip=chip,
        )

    def _group_entity(self, group: str) -> Entity | None:
        try:
            return self.kb.entity(group)
        except KeyError:
            return None

    def _group_name(self, group: str) -> str:
        ent = self._group_entity(group)
        return ent.name if ent else group

    def _support(self, decision: Decision) -> list[Claim]:
        """The covered claims of the decision's group (its supporting claims)."""
        group = decision.entity.group if decision.entity else None
        return [c for c in decision.claims if group and c.covered and c.entity and c.entity.group == group]

    def windowed(self, decision: Decision) -> bool:
        """Whether a date judges the decision: an entity that belonged to its group only within a period."""
        return any(c.entity and (c.entity.owned_from or c.entity.owned_to) for c in self._support(decision))

    def at_date(self, decision: Decision, at: str, basis: str) -> Decision:
        """The decision with its ownership notes judged at `at` (a device's own date; basis: "purchase date
        2017-03-01 (file row 5, column X)") instead of as_of."""
        support = self._support(decision)
        dated = dict(zip(self._ownership(support), self._ownership(support, at, basis), strict=True))
        return replace(decision, notes=tuple(dated.get(n, n) for n in decision.notes))

    def _ownership(self, support: list[Claim], at: str | None = None, basis: str = "") -> list[str]:
        at = at or self.as_of
        judged = f"judged at {basis}" if basis else f"judged as of {at}"
        out: list[str] = []
        seen: set[str] = set()
        for c in support:
            ent = c.entity
            if ent is None or ent.id in seen or not (ent.owned_from or ent.owned_to):
                continue
            seen.add(ent.id)
            group = self._group_name(ent.group or "")
            span = f"from {ent.owned_from or 'its start'} to {ent.owned_to or 'today'}"
            inside = (ent.owned_from or "") <= at and (not ent.owned_to or at < ent.owned_to)
            state = "within" if inside else "outside"
            out.append(f"{ent.name} belonged to {group} {span}; {judged}, {state} that period")
        return out


def mac_key(hit: MacHit) -> tuple[str, ...]:
    """What makes two registry answers give the same claims: registrant, block kind, note, data."""
    return (hit.org, hit.block, hit.note, hit.data_source, hit.data_date)


def mac_value(mac: str, hit: MacHit) -> str:
    prefix = hit.prefix if "/" in hit.prefix else f"{hit.prefix}/{hit.bits}"
    return f"{mac} ({hit.org}; {hit.block} {prefix})"


_UNATTRIBUTABLE = Claim("mac", "mac.unattributable", "mac", "", None, "", 0.0, "")


def _combine(claims: Iterable[Claim]) -> float:
    """Independent kinds of evidence add up: 1 - prod(1 - best confidence per kind)."""
    best: dict[str, float] = {}
    for c in claims:
        kind = "banner" if c.kind == "recog" else c.kind
        best[kind] = max(best.get(kind, 0.0), c.confidence)
    miss = 1.0
    for value in best.values():
        miss *= 1.0 - min(max(value, 0.0), 1.0)
    return 1.0 - miss


def _claim_rank(c: Claim) -> tuple[float, int]:
    return (-c.confidence, _KIND_ORDER.get(c.kind, 9))


def _primary(support: list[Claim]) -> Entity:
    best = max(c.confidence for c in support)
    near = [c for c in support if c.confidence >= best - 0.1]
    chosen = min(near, key=lambda c: (_RELATION_ORDER.get(c.entity.relation, 0) if c.entity else 9, _claim_rank(c)))
    assert chosen.entity is not None
    return chosen.entity


def _same_maker(c: Claim, support: list[Claim]) -> bool:
    if c.entity is None:
        return False
    return any(s.entity is not None and s.entity.id == c.entity.id for s in support)


_KIND_WORDS = {
    "mac": "the MAC registry",
    "org": "a recorded maker name",
    "model": "the model name",
    "banner": "a service banner",
    "recog": "a published fingerprint (Recog or nmap)",
    "oid": "the SNMP sysObjectID",
}


def describe_kinds(claims: Iterable[Claim]) -> str:
    """'the MAC registry and a service banner': the kinds of evidence, in words."""
    kinds = sorted({_KIND_WORDS[c.kind] for c in claims})
    return ", ".join(kinds[:-1]) + " and " + kinds[-1] if len(kinds) > 1 else "".join(kinds)


# --- per device -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Attributed:
    device: Device
    decision: Decision
    evidence: list[Evidence]
    unattributable: list[str]  # MACs that could not be attributed, with the reason


# a value of a device that names makers: (its claims, the index of its record in the device, fact, value); a MAC's
# fact is "mac" ("lldp.chassis_mac" for the MAC an LLDP neighbour reports) and its value the registry's answer
Sighting = tuple[tuple[Claim, ...], int, str, str]


def sightings(attributor: Attributor, device: Device) -> tuple[list[Sighting], list[tuple[str, str]]]:
    """The values of a device that name makers, in the order attribution reads them (each MAC, then each claiming
    fact's first value), and the MACs that cannot be attributed, each with the reason."""
    out: list[Sighting] = []
    unattributable: list[tuple[str, str]] = []
    observations = device.observations
    for mac in device.macs:
        o = observations[0]
        i = 0 if o.mac == mac else next(k for k, o in enumerate(observations) if (o.mac or observed_mac(o)) == mac)
        claims, value, reason = attributor.mac_evidence(mac)
        if reason is not None:
            unattributable.append((mac, reason))
            continue
        out.append((claims, i, "mac" if observations[i].mac else "lldp.chassis_mac", value))
    seen: set[tuple[str, str]] = set()
    cached = attributor._claims
    for i, obs in enumerate(observations):
        for item in obs.facts.items():
            if item[0] not in CLAIMING or item in seen:
                continue
            seen.add(item)
            found = cached.get(item)
            if found is None:
                found = attributor.claims(*item)
            if found:  # a fact that names no maker needs no location
                out.append((found, i, *item))
    return out, unattributable


def attribute(
    attributor: Attributor, device: Device, seen: tuple[list[Sighting], list[tuple[str, str]]] | None = None
) -> Attributed:
    """seen: the device's sightings, when made already."""
    sighted, macs = sightings(attributor, device) if seen is None else seen
    unattributable = [f"{mac}: {reason}" for mac, reason in macs]
    observations = device.observations
    located = [(c, observations[i].where(fact), value) for found, i, fact, value in sighted for c in found]
    claims = tuple(dict.fromkeys([c for c, _, _ in located]))
    decided = attributor.decide(claims, unattributable=bool(unattributable))
    decision = attributor.observed(decided, observations)
    if len(claims) < len(located):  # a claim seen twice: the same claim at the same place is one item
        evidence = evidence_for(decision, list(dict.fromkeys(located)))
    else:  # one item per claim: in the order the decision gives its claims
        order = attributor.order(decided, claims)
        items = located if order is None else [located[i] for i in order]
        evidence = [Evidence(c.rule, value, where, c.data_date, c.detail) for c, where, value in items]
    return Attributed(device, decision, evidence, unattributable)


def owned(observations: Sequence[Observation]) -> tuple[str | None, str | None]:
    """The first model and device type the records give, inventory records first: the owner's own record names
    the product better than a pattern does."""
    model = dtype = None
    others: list[Observation] = []
    for records in (observations, others):
        for o in records:
            facts = o.facts
            if OWNED.isdisjoint(facts):
                continue
            if records is observations and not o.source.startswith("inventory"):
                others.append(o)  # read after the inventory records
                continue
            if model is None:
                model = next((facts[f] for f in MODEL_FACTS if facts.get(f)), None)
            if dtype is None and facts.get(TYPE_FACT):
                dtype = facts[TYPE_FACT]
            if model is not None and dtype is not None:
                return model, dtype
    return model, dtype


def evidence_for(decision: Decision, located: Iterable[tuple[Claim, Location, str]]) -> list[Evidence]:
    """Evidence items in the decision's claim order (supporting claims first), each with its location."""
    order = {c: i for i, c in enumerate(decision.claims)}
    items = sorted(located, key=lambda item: order.get(item[0], len(order)))
    out: list[Evidence] = []
    for claim, where, value in items:
        out.append(Evidence(claim.rule, value, where, claim.data_date, claim.detail))
    return out
