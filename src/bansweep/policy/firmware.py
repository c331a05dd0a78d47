"""Firmware policy: the rules' facts become statuses in firmware's own words, and each subject gets a risk score.

A finding's status is its severity word (critical / high / medium / low / info); a subject, or part of one, that
could not be analysed (rule firmware.not-screened) is not-screened. Never a fleet or parties word: a risk in a
phone is not "covered" by a law.

The risk score of an app (0 to 10) weighs what it does against its role and the stock baseline (the facts of its
firmware.risk finding, see firmware/rules/role.py), in the spirit of Uraniborg's preload-risk scoring and Gamba et
al. (IEEE S&P 2020): personal data outside its roles, weighted by kind; whether the code reading it reaches the
network or SMS (same class, call chain, apart); privilege beyond what stock Android gives that package; silent
installing outside an installer's role; being added by the vendor. Known indicators and the other findings' worst
severity set a floor. The firmware.risk finding's severity follows the score; a score of 7 or more (high) needs
out-of-role access with privilege or the means to send, a silent installer that reaches the network, or a known
indicator — anything else is capped below it. The device score (device_risk) sums a build's apps comparably.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bansweep.findings import Finding, Severity, Status, severity_status
from bansweep.firmware.rules.context import NOT_SCREENED_RULE

RISK_RULE = "firmware.risk"
# Floor from a subject's worst finding, plus a small bonus for each further finding at medium or above.
POINTS = {Severity.INFO: 0.0, Severity.LOW: 2.0, Severity.MEDIUM: 4.0, Severity.HIGH: 7.0, Severity.CRITICAL: 9.0}
BONUS = 0.5
MAX_BONUS = 1.0
# Out-of-role personal data, by kind (content weighs more than identifiers); at most DATA_MAX in all.
DATA_WEIGHT = {"sms": 2.0, "call-log": 2.0, "contacts": 1.5, "location": 1.5, "accounts": 1.0}
OTHER_DATA_WEIGHT = 0.75  # identifiers, app usage
DATA_MAX = 4.0
SEND = 3.0  # the means to send the data out, scaled by how the code reaches it
REACH = {"same-class": 1.0, "call-chain": 0.85, "unknown": 0.6, "apart": 0.35}
PRIVILEGE = {"system_uid": 2.5, "platform_signed": 1.5, "priv_app": 0.75}  # with out-of-role data
BEYOND = 1.5  # each kind of privilege beyond the baseline
BEYOND_MAX = 3.0
EXTRA_PRIVAPP = 0.25  # each privileged permission not on its allowlist
EXTRA_PRIVAPP_MAX = 1.0
SILENT_INSTALL = 3.0
SILENT_INSTALL_NETWORK = 3.5
VENDOR_ADDED = 0.5
HIGH = 7.0
BELOW_HIGH = 6.5
BANDS = ((9.0, Severity.CRITICAL), (7.0, Severity.HIGH), (4.0, Severity.MEDIUM), (1.5, Severity.LOW))
# Device score: the riskiest app, plus a bounded share for every further app at high or medium.
DEVICE_HIGH_BONUS = 0.5
DEVICE_MEDIUM_BONUS = 0.1
DEVICE_MAX_BONUS = 2.0


def status(finding: Finding) -> Status:
    """A firmware finding's status: not-screened for what could not be analysed, else its severity word."""
    return Status.NOT_SCREENED if finding.rule == NOT_SCREENED_RULE else severity_status(finding.severity)


def band(score: float) -> Severity:
    return next((s for floor, s in BANDS if score >= floor), Severity.INFO)


def risk_score(severities: Iterable[Severity], factors: Mapping[str, Any] | None = None) -> float:
    """One subject's risk, 0 to 10, from the severities of its other findings and its role facts (if any); the one
    place to change the scoring."""
    ordered = sorted(severities, reverse=True)
    floor = 0.0
    if ordered:
        floor = POINTS[ordered[0]] + min(MAX_BONUS, BONUS * sum(s >= Severity.MEDIUM for s in ordered[1:]))
    if not factors:
        return round(min(10.0, floor), 2)
    out_of_role = list(factors.get("out_of_role") or ())
    score = 0.0
    if out_of_role:
        data = min(DATA_MAX, sum(DATA_WEIGHT.get(c, OTHER_DATA_WEIGHT) for c in out_of_role))
        send = SEND * REACH.get(str(factors.get("reach")), 0.0) if factors.get("sends") else 0.0
        privilege = max((w for k, w in PRIVILEGE.items() if factors.get(k)), default=0.0)
        score = data + send + privilege
    if factors.get("silent_install"):
        score = max(score, SILENT_INSTALL + (SILENT_INSTALL_NETWORK if factors.get("network") else 0.0))
    score += min(BEYOND_MAX, BEYOND * len(factors.get("beyond_baseline") or ()))
    score += min(EXTRA_PRIVAPP_MAX, EXTRA_PRIVAPP * len(factors.get("extra_privapp") or ()))
    if not factors.get("stock") and factors.get("preinstalled") and score:
        score += VENDOR_ADDED
    gate = bool(factors.get("harmful")) or (
        bool(factors.get("silent_install")) and bool(factors.get("network")) and not factors.get("stock")
    )
    score = max(score, HIGH) if gate else min(score, BELOW_HIGH)
    return round(min(10.0, max(score, floor)), 2)


def judge(findings: list[Finding]) -> None:
    """Set each finding's status, each subject's risk score on its judged findings (Finding.risk), and the
    severity of each firmware.risk finding from that score.

    Subjects are told apart by kind and identity (or id), as Finding.key does. A not-screened finding carries no
    risk: what was not analysed has no known risk, and does not lower or raise the subject's score.
    """
    judged: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.rule == NOT_SCREENED_RULE:
            f.status = Status.NOT_SCREENED
            f.risk = None
        else:
            judged.setdefault((f.subject.kind, f.subject.identity or f.subject.id), []).append(f)
    for group in judged.values():
        role = next((f for f in group if f.rule == RISK_RULE), None)
        others = [f.severity for f in group if f is not role]
        score = risk_score(others, role.extra.get("risk_factors") if role else None)
        if role is not None:
            role.severity = band(score)
            role.extra["risk_score"] = score
        for f in group:
            f.status = status(f)
            f.risk = score


def device_risk(app_scores: Iterable[float], firmware_score: float = 0.0) -> dict[str, Any]:
    """A build's risk, comparable between builds of a device: its riskiest subject, plus a bounded share for each
    further app at high (0.5) or medium (0.1), at most 10."""
    scores = sorted(app_scores, reverse=True)
    top = max([firmware_score, *scores[:1]], default=0.0)
    rest = scores[1:] if scores and scores[0] >= firmware_score else scores
    high = sum(s >= HIGH for s in rest)
    medium = sum(4.0 <= s < HIGH for s in rest)
    bonus = min(DEVICE_MAX_BONUS, DEVICE_HIGH_BONUS * high + DEVICE_MEDIUM_BONUS * medium)
    return {
        "score": round(min(10.0, top + bonus), 2),
        "severity": str(band(min(10.0, top + bonus))),
        "apps_at_high_or_above": sum(s >= HIGH for s in scores),
        "apps_at_medium": sum(4.0 <= s < HIGH for s in scores),
        "firmware_score": firmware_score,
    }
