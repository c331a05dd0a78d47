"""Policy verdicts: is a device made by `entity` covered under each selected policy, as of a date?

Attribution says who made a device; this module only judges, from knowledge/data/policies.yaml. Each verdict
carries the provision and date that decide it.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bansweep.findings import Status, Verdict
from bansweep.knowledge import KnowledgeError, load
from bansweep.knowledge.vendors import (
    CONFIDENCES,
    RELATIONS,
    Entity,
    VendorKB,
    entry_location,
    ownership_window,
)

if TYPE_CHECKING:
    from bansweep.fleet.attribute import Decision

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STATUSES = {s.value: s for s in (Status.COVERED, Status.LIMITED, Status.REVIEW, Status.NOT_COVERED)}


@dataclass(frozen=True, slots=True)
class Rule:
    groups: tuple[str, ...]
    entities: tuple[str, ...]  # empty: every member of the groups
    others: Status  # for group members outside `entities`
    status: Status
    effective: str | None
    citation: str
    reason: str


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    title: str
    citation: str
    date: str
    rules: tuple[Rule, ...]
    review_relations: frozenset[str]
    review_entities: frozenset[str]
    review_confidence: frozenset[str]
    outside_ownership: Status
    source: str

    def rules_for(self, entity: Entity) -> tuple[Rule | None, bool]:
        """The rule reaching `entity` and whether it names the entity (False: only its group)."""
        fallback = None
        for rule in self.rules:
            if entity.group not in rule.groups:
                continue
            if not rule.entities or entity.id in rule.entities:
                return rule, True
            fallback = fallback or rule
        return fallback, False


def policy_ids(overlays: Sequence[Path] = ()) -> list[str]:
    return list(_policies(tuple(Path(p) for p in overlays)))


def judge(
    entity: Entity | None,
    policies: Sequence[str],
    as_of: str,
    *,
    conflicting: bool = False,
    overlays: Sequence[Path] = (),
    owned_at: tuple[str, str] | None = None,
) -> list[Verdict]:
    """One verdict per policy for a device attributed to `entity` (None: no maker found), as of `as_of`.

    `as_of` is an ISO date (the report date) at which rules are in effect; `owned_at` (date, what it is, e.g.
    ("2017-03-01", "the purchase date")) is the date that judges the entity's ownership window when the device's
    own date is known, else as_of does.
    """
    if not _DAY.match(as_of):
        raise ValueError(f"as_of must be an ISO date YYYY-MM-DD, got {as_of!r}")
    table = _policies(tuple(Path(p) for p in overlays))
    unknown = [p for p in policies if p not in table]
    if unknown:
        raise ValueError(f"unknown policy {', '.join(map(repr, unknown))}; available: {', '.join(table)}")
    return [_judge(table[p], entity, as_of, conflicting, owned_at) for p in policies]


def _judge(
    policy: Policy, entity: Entity | None, as_of: str, conflicting: bool, owned_at: tuple[str, str] | None = None
) -> Verdict:
    def verdict(status: Status, reason: str, citation: str | None = None, date: str | None = None) -> Verdict:
        return Verdict(policy.id, status, citation or policy.citation, date or policy.date, reason)

    if entity is None or entity.group is None:
        who = "no maker could be attributed" if entity is None else f"{entity.name} is not part of a covered group"
        if conflicting:
            return verdict(Status.REVIEW, f"{who}, but the evidence conflicts; check the device by hand")
        return verdict(Status.NOT_COVERED, who)
    rule, named = policy.rules_for(entity)
    if rule is None:
        reason = f"{policy.title} does not reach the {entity.group} group ({entity.name})"
        return verdict(Status.REVIEW if conflicting else Status.NOT_COVERED, reason)
    citation = f"{policy.citation}; {rule.citation}"
    date = rule.effective or policy.date
    if rule.effective and as_of < rule.effective:
        return verdict(
            Status.NOT_COVERED, f"{rule.citation} took effect on {rule.effective}, after {as_of}", citation, date
        )
    status = rule.status if named else rule.others
    doubts: list[str] = []
    if not named:
        doubts.append(f"{entity.name} belongs to the {entity.group} group but is not named by {rule.citation}")
    if entity.id in policy.review_entities:
        doubts.append(f"{entity.name} is a {entity.relation} of unclear status; whether it counts is a policy choice")
    elif entity.relation in policy.review_relations:
        doubts.append(
            f"{entity.name} is a {entity.relation} of the {entity.group} group; affiliates are a policy choice"
        )
    start, end = ownership_window(entity)
    when, what = owned_at or (as_of, "")
    outside = not start <= when <= end
    if outside:
        if entity.owned_from and entity.owned_to:
            span = f"from {entity.owned_from} to {entity.owned_to}"
        else:
            span = f"until {entity.owned_to}" if entity.owned_to else f"since {entity.owned_from}"
        doubts.append(
            f"{entity.name} was part of the {entity.group} group {span}; {what + ' ' if what else ''}{when} is "
            "outside that period, so only equipment made within it is covered"
        )
    if entity.confidence in policy.review_confidence:
        doubts.append(f"the link of {entity.name} to the {entity.group} group is low-confidence ({entity.confidence})")
    if conflicting:
        doubts.append("the evidence for the maker conflicts")
    if outside and policy.outside_ownership is Status.NOT_COVERED and len(doubts) == 1:
        return verdict(Status.NOT_COVERED, doubts[0], citation, date)
    if doubts:
        would = f"if confirmed: {rule.status.value} ({rule.reason})"
        return verdict(Status.REVIEW if named else status, "; ".join(doubts) + f"; {would}", citation, date)
    return verdict(status, f"{entity.name} ({entity.relation}, {entity.group} group): {rule.reason}", citation, date)


def _status(where: str, value: Any) -> Status:
    if value not in _STATUSES:
        raise ValueError(f"{where}status must be one of {', '.join(_STATUSES)}; got {value!r}")
    return _STATUSES[value]


def _strings(where: str, value: Any, key: str, allowed: Sequence[str] | set[str] | None = None) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}'{key}' must be a list of strings")
    if allowed is not None:
        bad = [v for v in value if v not in allowed]
        if bad:
            raise ValueError(f"{where}'{key}' names unknown {', '.join(map(repr, bad))}")
    return tuple(value)


def _rule(at: str, raw: Any, entity_ids: set[str], groups: tuple[str, ...]) -> Rule:
    if not isinstance(raw, dict):
        raise ValueError(f"{at}expected a mapping")
    for key in ("groups", "status", "citation", "reason"):
        if not raw.get(key):
            raise ValueError(f"{at}missing '{key}'")
    effective = raw.get("effective")
    if effective is not None and not _DAY.match(str(effective)):
        raise ValueError(f"{at}'effective' must be YYYY-MM-DD; got {effective!r}")
    return Rule(
        groups=_strings(at, raw["groups"], "groups", groups),
        entities=_strings(at, raw.get("entities"), "entities", entity_ids),
        others=_status(at, raw.get("others", "review")),
        status=_status(at, raw["status"]),
        effective=str(effective) if effective else None,
        citation=str(raw["citation"]),
        reason=str(raw["reason"]),
    )


def _policy(entry: dict[str, Any], entity_ids: set[str], groups: tuple[str, ...]) -> Policy:
    """One policies.yaml entry; ValueError says what is wrong (the caller adds file and entry)."""
    if not isinstance(entry["rules"], list) or not entry["rules"]:
        raise ValueError("'rules' must be a non-empty list")
    return Policy(
        id=entry["id"],
        title=str(entry["title"]),
        citation=str(entry["citation"]),
        date=str(entry["date"]),
        rules=tuple(_rule(f"rule {n}: ", raw, entity_ids, groups) for n, raw in enumerate(entry["rules"], 1)),
        review_relations=frozenset(_strings("", entry.get("review_relations"), "review_relations", RELATIONS)),
        review_entities=frozenset(_strings("", entry.get("review_entities"), "review_entities", entity_ids)),
        review_confidence=frozenset(
            _strings("", entry.get("review_confidence", ["L"]), "review_confidence", CONFIDENCES)
        ),
        outside_ownership=_status("", entry.get("outside_ownership", "review")),
        source=str(entry["source"]),
    )


@lru_cache(maxsize=16)
def _policies(overlays: tuple[Path, ...]) -> dict[str, Policy]:
    ds = load("policies", ("title", "citation", "rules"), overlays)
    kb = VendorKB.load(overlays)
    entity_ids = {e.id for e in kb.all_entities()}
    out: dict[str, Policy] = {}
    for entry in ds.entries:
        try:
            out[entry["id"]] = _policy(entry, entity_ids, kb.groups)
        except ValueError as exc:
            raise KnowledgeError(f"{entry_location(ds, entry)}: {exc}") from None
    return out


# --- the stage: an attribution (facts) judged under the selected policies, as of a date ---------------------
# Decisions with the same entity, conflict flag and component question get the same verdicts: each such combination
# is judged once, so a million devices cost as many judgements as there are distinct ones.


@dataclass(frozen=True, slots=True)
class Judged:
    verdicts: tuple[Verdict, ...]
    status: Status  # the most severe verdict's
    # the verdicts as a value (Verdict is not hashable), made once: devices are grouped by it
    key: Hashable = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        verdicts = ((v.policy, v.status, v.citation, v.date, v.reason) for v in self.verdicts)
        object.__setattr__(self, "key", (self.status, *verdicts))


class PolicyStage:
    def __init__(self, policies: Sequence[str], as_of: str, overlays: Sequence[Path] = ()) -> None:
        self.policies = list(policies)
        self.as_of = as_of
        self.overlays = list(overlays)
        self._cache: dict[tuple[str | None, bool, str | None, tuple[str, str] | None], Judged] = {}

    def __call__(self, decision: Decision, owned_at: tuple[str, str] | None = None) -> Judged:
        """owned_at: (date, what it is) judging the entity's ownership window instead of as_of (a purchase date)."""
        entity = decision.entity
        if owned_at is not None and not (entity and (entity.owned_from or entity.owned_to)):
            owned_at = None  # the same verdicts as without it: judged once
        key = (entity.id if entity else None, decision.conflicting, decision.component, owned_at)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = policy_stage(decision, self.policies, self.as_of, self.overlays, owned_at)
        return hit


def policy_stage(
    decision: Decision,
    policies: Sequence[str],
    as_of: str,
    overlays: Sequence[Path] = (),
    owned_at: tuple[str, str] | None = None,
) -> Judged:
    """Verdicts for one decision. Evidence naming only a chip/component vendor turns covered verdicts into review
    (the device maker is unknown)."""
    verdicts = judge(
        decision.entity, policies, as_of, conflicting=decision.conflicting, overlays=overlays, owned_at=owned_at
    )
    if decision.component is not None:
        verdicts = [_to_review(v, decision.component) for v in verdicts]
    status = max((v.status for v in verdicts), key=lambda s: s.order, default=Status.NOT_COVERED)
    return Judged(tuple(verdicts), status)


def _to_review(v: Verdict, reason: str) -> Verdict:
    if v.status in (Status.COVERED, Status.LIMITED):
        return Verdict(v.policy, Status.REVIEW, v.citation, v.date, reason)
    return v
