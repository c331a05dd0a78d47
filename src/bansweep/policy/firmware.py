"""Firmware policy: the rules' facts become statuses in firmware's own words, and each subject gets a risk score.

A finding's status is its severity word (critical / high / medium / low / info); a subject, or part of one, that
could not be analysed (rule firmware.not-screened) is not-screened. Never a fleet or parties word: a risk in a
phone is not "covered" by a law.
"""

from __future__ import annotations

from collections.abc import Iterable

from bansweep.findings import Finding, Severity, Status, severity_status
from bansweep.firmware.rules.context import NOT_SCREENED_RULE

# The risk score of a subject (an app or a firmware image), 0 to 10: points for its worst severity, plus a small
# bonus for each further finding at medium or above (bounded, so many medium findings never outrank a high one).
POINTS = {Severity.INFO: 0.0, Severity.LOW: 2.0, Severity.MEDIUM: 4.0, Severity.HIGH: 7.0, Severity.CRITICAL: 9.0}
BONUS = 0.5  # per further finding at medium or above
MAX_BONUS = 1.0


def status(finding: Finding) -> Status:
    """A firmware finding's status: not-screened for what could not be analysed, else its severity word."""
    return Status.NOT_SCREENED if finding.rule == NOT_SCREENED_RULE else severity_status(finding.severity)


def risk_score(severities: Iterable[Severity]) -> float:
    """One subject's risk from the severities of its (distinct) findings; the one place to change the scoring."""
    ordered = sorted(severities, reverse=True)
    if not ordered:
        return 0.0
    risky = sum(s >= Severity.MEDIUM for s in ordered[1:])
    return POINTS[ordered[0]] + min(MAX_BONUS, BONUS * risky)


def judge(findings: list[Finding]) -> None:
    """Set each finding's status, and on every judged finding its subject's risk score (Finding.risk).

    Subjects are told apart by kind and identity (or id), as Finding.key does. A not-screened finding carries no
    risk: what was not analysed has no known risk, and does not lower or raise the subject's score.
    """
    judged: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        f.status = status(f)
        if f.status is not Status.NOT_SCREENED:
            judged.setdefault((f.subject.kind, f.subject.identity or f.subject.id), []).append(f)
        else:
            f.risk = None
    for group in judged.values():
        score = risk_score(f.severity for f in group)
        for f in group:
            f.risk = score
