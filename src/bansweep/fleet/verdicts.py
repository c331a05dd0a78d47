"""The policy stage of fleet: an attribution (facts) judged under the selected policies, as of a date.

Decisions with the same entity, conflict flag and component question get the same verdicts: the stage judges
each such combination once, so a million devices cost as many judgements as there are distinct ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bansweep.findings import Status, Verdict
from bansweep.fleet.attribute import Decision
from bansweep.policy import judge


@dataclass(frozen=True, slots=True)
class Judged:
    verdicts: tuple[Verdict, ...]
    status: Status  # the most severe verdict's


class PolicyStage:
    def __init__(self, policies: Sequence[str], as_of: str, overlays: Sequence[Path] = ()) -> None:
        self.policies = list(policies)
        self.as_of = as_of
        self.overlays = list(overlays)
        self._cache: dict[tuple[str | None, bool, str | None], Judged] = {}

    def __call__(self, decision: Decision) -> Judged:
        entity = decision.entity
        key = (entity.id if entity else None, decision.conflicting, decision.component)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = policy_stage(decision, self.policies, self.as_of, self.overlays)
        return hit


def policy_stage(decision: Decision, policies: Sequence[str], as_of: str, overlays: Sequence[Path] = ()) -> Judged:
    """Verdicts for one decision. Evidence naming only a chip/component vendor turns covered verdicts into review
    (the device maker is unknown)."""
    verdicts = judge(decision.entity, policies, as_of, conflicting=decision.conflicting, overlays=overlays)
    if decision.component is not None:
        verdicts = [_to_review(v, decision.component) for v in verdicts]
    status = max((v.status for v in verdicts), key=lambda s: s.rank, default=Status.NOT_COVERED)
    return Judged(tuple(verdicts), status)


def _to_review(v: Verdict, reason: str) -> Verdict:
    if v.status in (Status.COVERED, Status.LIMITED):
        return Verdict(v.policy, Status.REVIEW, v.citation, v.date, reason)
    return v
