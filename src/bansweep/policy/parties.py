"""Parties policy: the screener's facts become findings in the parties' own words.

match           a list entry the party's name matches strongly (score >= MATCH_AT), or a named member of a covered
                vendor group with an ownership relation known with high confidence; tagged "limited-scope" when the
                listing reaches the party only for the purposes it names
possible-match  a weaker name match, or a group link to confirm (the group's brand word in the name, a knowledge-base
                pattern, an ownership relation of low confidence), or a decision whose list entry changed since
no-match        the party's names reached no entry of any list (the evidence names each list and its version), or
                the party left the group before today
cleared         a reviewer cleared the match (decisions file, by Finding.key, while the entry's content is unchanged)
not-screened    a row or file that could not be read as a party, or a party with no match while a list the run
                relies on was not loaded (it was not compared with that list: never reported clean)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from bansweep.findings import Finding, Severity, Status, Verdict
from bansweep.parties.decisions import ReviewDecision
from bansweep.parties.match import MATCH_AT, POSSIBLE_AT
from bansweep.parties.model import AFFILIATES, ScreenedExtra
from bansweep.parties.screen import GroupLink, ListMatch, Screening, Unreadable
from bansweep.store.decisions import evidence_hash

LIMITED_SCOPE = "limited-scope"  # tag of a match whose listing covers some purposes only
SEVERITY = {Status.MATCH: Severity.HIGH, Status.POSSIBLE_MATCH: Severity.MEDIUM, Status.NO_MATCH: Severity.INFO}
ACTION = {"clear": "Cleared", "confirm": "Confirmed"}


class PartiesPolicy:
    def __init__(self, decisions: Mapping[str, ReviewDecision] | None = None) -> None:
        self.decisions = decisions or {}

    def findings(self, screening: Screening) -> list[Finding]:
        """The findings about one screened party: each list match and group link judged, and when none is raised,
        the party itself as no-match (or not-screened when a list the run relies on is missing)."""
        out = [self._list_match(screening, fact) for fact in screening.matches]
        out.extend(self._group_link(screening, fact) for fact in screening.links)
        if screening.missing:  # whatever it matched, the party was not compared with these lists
            out.extend(self._not_screened(screening, name, why) for name, why in screening.missing.items())
        elif not out:
            out.append(self._no_match(screening))
        return out

    def unreadable(self, fact: Unreadable) -> Finding:
        return Finding(
            fact.subject,
            "parties.not-screened",
            f"Party at {fact.evidence.location} could not be screened: {fact.why}",
            Severity.MEDIUM,
            1.0,
            [fact.evidence],
            status=Status.NOT_SCREENED,
            explanation="This party was not compared with any list; it is not clean. Fix the row and screen again.",
            extra=cast(dict[str, Any], fact.extra),
        )

    def _list_match(self, screening: Screening, fact: ListMatch) -> Finding:
        record, score = fact.hit.record, fact.hit.candidate.score
        status = Status.MATCH if score >= MATCH_AT else Status.POSSIBLE_MATCH
        strength = "matches" if status is Status.MATCH else "may match"
        own = f"'{record.name}'" + (f" (affiliated with/part of {record.parent})" if record.parent else "")
        if record.datasets:
            own += f" (datasets: {', '.join(record.datasets)})"
        reason = record.license_policy or record.remarks
        explanation = fact.explanation
        tags = [record.list_name, *([record.group] if record.group else [])]
        if record.limited:
            scope = f"listed for limited purposes only: {record.remarks}" if record.remarks else "limited scope"
            reason = f"{scope}; {record.license_policy}" if record.license_policy else scope
            explanation = f"{explanation}. {scope[0].upper()}{scope[1:]}"
            tags.append(LIMITED_SCOPE)
        finding = Finding(
            screening.subject,
            fact.rule,
            f"{fact.hit.query} {strength} {record.source} entry {own}",
            SEVERITY[status],
            score,
            fact.evidence,
            status=status,
            explanation=explanation,
            verdicts=[Verdict(record.list_name, status, "; ".join(record.citations), record.start_date, reason)],
            tags=tags,
            extra=cast(dict[str, Any], fact.extra),
            variant=fact.variant,
        )
        self._apply_decision(finding)
        return finding

    def _group_link(self, screening: Screening, fact: GroupLink) -> Finding:
        if fact.ended:
            status = Status.NO_MATCH
        elif fact.certain:
            status = Status.MATCH
        else:
            status = Status.POSSIBLE_MATCH
        explanation = f"{fact.how}. Regimes that reach subsidiaries and affiliates: {fact.basis}."
        if status is Status.POSSIBLE_MATCH:
            explanation += " Ownership is not verified by a name; confirm it and record the decision."
        reason = fact.how
        tags = [AFFILIATES, fact.group]
        if fact.limited and status is not Status.NO_MATCH:
            scope = "the group is listed for limited purposes only (those its listing names)"
            reason = f"{reason}; {scope}"
            explanation += f" {scope[0].upper()}{scope[1:]}."
            tags.append(LIMITED_SCOPE)
        finding = Finding(
            screening.subject,
            fact.rule,
            f"{fact.query}: {fact.how} ({fact.entity})",
            SEVERITY[status],
            fact.confidence,
            fact.evidence,
            status=status,
            explanation=explanation,
            verdicts=[Verdict(AFFILIATES, status, fact.basis, fact.basis_date, reason)],
            tags=tags,
            extra=cast(dict[str, Any], fact.extra),
            variant=fact.variant,
        )
        self._apply_decision(finding)
        return finding

    def _no_match(self, screening: Screening) -> Finding:
        """The party itself, screened against every list with no match: listed as no-match, the evidence naming
        each list and its version (the texts are the same for every clean party of a run)."""
        extra: ScreenedExtra = {"identity": screening.party.identity, "normalised": screening.normalised}
        title, explanation = _no_match_text(screening)
        return Finding(
            screening.subject,
            "parties.screened",
            title,
            Severity.INFO,
            1.0,
            list(screening.lists),
            status=Status.NO_MATCH,
            explanation=explanation,
            extra=cast(dict[str, Any], extra),
        )

    def _not_screened(self, screening: Screening, name: str, why: str) -> Finding:
        """The party against a list the run relies on that was not loaded, or is out of date: never clean."""
        extra: ScreenedExtra = {
            "identity": screening.party.identity,
            "normalised": screening.normalised,
            "lists_missing": {name: why},
        }
        lists = ", ".join(e.value for e in screening.lists)
        found = "its findings above are" if screening.matches or screening.links else "no match was found"
        return Finding(
            screening.subject,
            "parties.screened",
            f"Not screened against {name}",
            Severity.MEDIUM,
            1.0,
            list(screening.lists),
            status=Status.NOT_SCREENED,
            explanation=(
                f"{name}: {why}. On the lists that were screened ({lists}) {found}; the party is not clean until it "
                f"is screened against {name}."
            ),
            extra=cast(dict[str, Any], extra),
            variant=name,
        )

    def _apply_decision(self, finding: Finding) -> None:
        decision = self.decisions.get(finding.key)
        if decision is None:
            return
        note = decision.to_extra()
        finding.extra["decision"] = note
        changed = decision.hash != finding.extra["record_hash"] if decision.hash else False
        if decision.evidence and decision.evidence != evidence_hash(finding):
            changed = True
        if changed:
            note["stale"] = True
            finding.explanation = (
                f"The list entry changed since {decision.by} decided '{decision.decision}' on {decision.at} "
                f"(record content differs); raised again for review. {finding.explanation}"
            )
            if finding.status is Status.NO_MATCH:
                finding.status = Status.POSSIBLE_MATCH
            finding.tags.append("decision-stale")
        else:
            finding.explanation = f"{ACTION[decision.decision]} by {decision.by} on {decision.at}: {decision.reason}. {finding.explanation}"
            finding.tags.append(f"decision-{decision.decision}")
            finding.status = Status.CLEARED if decision.decision == "clear" else Status.MATCH
        for verdict in finding.verdicts:
            verdict.status = finding.status


def _no_match_text(screening: Screening) -> tuple[str, str]:
    """Title and explanation of a party with no match (the same for every such party of a run)."""
    lists = ", ".join(e.value for e in screening.lists)
    return "No match on any list", f"No name of this party came near any entry of {lists} (threshold {POSSIBLE_AT})."
