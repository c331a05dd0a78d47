"""What changed between two builds of the same device: findings and risky capabilities that appeared or went away.

Findings are matched by (package or path, rule); firmware-wide findings by (rule, title). A finding only in the new
build keeps its status; one only in the old build is reported with status not-covered and the tag "removed"; one in
both whose severity changed is reported with its new status and the tag "changed".
"""

from __future__ import annotations

import copy
from typing import Any

from bansweep.findings import Evidence, Finding, Location, Report, Severity, Status, Subject
from bansweep.firmware.rules.context import status_for

RULE = "firmware.diff.capability"
RISKY = (
    "sms",
    "call-log",
    "contacts",
    "identifiers",
    "location",
    "app-usage",
    "accounts",
    "sms-send",
    "install",
    "uninstall",
    "shell-install",
    "exec",
    "reboot",
    "trust-all-tls",
    "weak-crypto",
)


def _key(f: Finding) -> tuple[str, str, str]:
    if f.subject.kind == "firmware":
        return ("firmware", f.rule, f.title)
    return (f.subject.id, f.rule, "")


def _tagged(f: Finding, tag: str, status: Status | None = None, prefix: str = "") -> Finding:
    out = copy.copy(f)
    out.tags = [*f.tags, tag]
    out.title = f"{prefix}{f.title}"
    if status is not None:
        out.status = status
    return out


def _capabilities(report: Report) -> dict[str, set[str]]:
    caps: dict[str, set[str]] = {}
    for summary in report.summary.values():
        if isinstance(summary, dict):
            for package, names in summary.get("app_capabilities", {}).items():
                caps.setdefault(package, set()).update(names)
    return caps


def _capability_finding(package: str, cap: str, added: bool, where: str) -> Finding:
    severity = Severity.MEDIUM if added else Severity.INFO
    verb = "gained" if added else "lost"
    return Finding(
        subject=Subject("app", package, package),
        rule=RULE,
        title=f"{package} {verb} capability {cap}",
        severity=severity,
        confidence=0.8,
        evidence=[Evidence(RULE, cap, Location(where), detail=f"capability {verb} in the new build")],
        status=status_for(severity) if added else Status.NOT_COVERED,
        explanation=f"In the new build {package} {'can now' if added else 'no longer can'} do: {cap}.",
        tags=["diff", "added" if added else "removed"],
    )


def compare(old: Report, new: Report, old_name: str, new_name: str) -> Report:
    out = Report(job="firmware-diff", inputs=[old_name, new_name])
    out.errors = old.errors + new.errors
    out.subjects = new.subjects
    out.data_versions = {**old.data_versions, **new.data_versions}
    before = {_key(f): f for f in old.findings}
    after = {_key(f): f for f in new.findings}
    for key, f in after.items():
        prior = before.get(key)
        if prior is None:
            out.findings.append(_tagged(f, "added", prefix="New: "))
        elif prior.severity != f.severity:
            out.findings.append(_tagged(f, "changed", prefix=f"Changed from {prior.severity}: "))
    for key, f in before.items():
        if key not in after:
            out.findings.append(_tagged(f, "removed", Status.NOT_COVERED, prefix="Removed: "))
    old_caps, new_caps = _capabilities(old), _capabilities(new)
    changes: dict[str, Any] = {
        "apps_added": sorted(set(new_caps) - set(old_caps)),
        "apps_removed": sorted(set(old_caps) - set(new_caps)),
        "capabilities": {},
    }
    for package in sorted(set(old_caps) & set(new_caps)):
        gained = sorted((new_caps[package] - old_caps[package]) & set(RISKY))
        lost = sorted((old_caps[package] - new_caps[package]) & set(RISKY))
        for cap in gained:
            out.findings.append(_capability_finding(package, cap, True, new_name))
        for cap in lost:
            out.findings.append(_capability_finding(package, cap, False, new_name))
        if gained or lost:
            changes["capabilities"][package] = {"gained": gained, "lost": lost}
    out.summary = {
        "old": old_name,
        "new": new_name,
        "findings_added": sum("added" in f.tags and f.rule != RULE for f in out.findings),
        "findings_removed": sum("removed" in f.tags and f.rule != RULE for f in out.findings),
        "findings_changed": sum("changed" in f.tags for f in out.findings),
        **changes,
    }
    return out
