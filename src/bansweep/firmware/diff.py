"""What changed between two builds of the same device: findings and risky capabilities that appeared or went away.

Findings are matched by Finding.key: the same subject (an app by its package, the firmware by its brand and model)
and the same kind of finding, so a finding whose wording changed is still the same finding.
- Only in the new build: reported as it is, tagged "added"; its status is its severity.
- In both, with another severity or other evidence: the new finding, tagged "changed", what changed in its
  explanation. The same finding with the same severity and evidence is not reported.
- Only in the old build: tagged "removed", with status info. A finding that went away is no risk of the new build,
  and info is firmware's word for "nothing to act on": keeping its old word (say critical) would fail
  `--fail-on high` for an improvement, and a fleet word ("not-covered") means nothing for firmware. The old status
  is kept in the explanation and in extra["previous_status"]; the severity stays as it was (the old fact).
Risky capabilities an app gained (medium) or lost (info) come from the two runs' summaries, and so does the device
risk score of each build: its change is in the summary, and a finding when it rose (medium) or fell (info).
"""

from __future__ import annotations

import copy
from typing import Any

from bansweep.findings import Evidence, Finding, Location, Report, Severity, Status, Subject
from bansweep.policy.firmware import status

RULE = "firmware.diff.capability"
DEVICE_RULE = "firmware.diff.device-risk"
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
MAX_SHOWN = 5  # evidence values named per change


def _tagged(f: Finding, tag: str, prefix: str) -> Finding:
    out = copy.copy(f)
    out.tags = [*f.tags, tag]
    out.title = f"{prefix}{f.title}"
    out.extra = dict(f.extra)
    return out


def _listed(values: set[str]) -> str:
    shown = sorted(values)[:MAX_SHOWN]
    return ", ".join(shown) + (f" and {len(values) - len(shown)} more" if len(values) > len(shown) else "")


def _changes(prior: Finding, f: Finding) -> list[str]:
    out = []
    if prior.severity != f.severity:
        out.append(f"severity was {prior.severity}, now {f.severity}")
    before, after = {e.value for e in prior.evidence}, {e.value for e in f.evidence}
    if after - before:
        out.append(f"new evidence: {_listed(after - before)}")
    if before - after:
        out.append(f"evidence gone: {_listed(before - after)}")
    return out


def _removed(f: Finding, new_name: str) -> Finding:
    out = _tagged(f, "removed", "Removed: ")
    out.status = Status.INFO
    out.risk = None
    out.extra["previous_status"] = f.status.value
    out.explanation = f"Not found in {new_name}; it was {f.status} in the old build. {f.explanation}"
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
    out = Finding(
        subject=Subject("app", package, package),
        rule=RULE,
        title=f"{package} {verb} capability {cap}",
        severity=severity,
        confidence=0.8,
        evidence=[Evidence(RULE, cap, Location(where), detail=f"capability {verb} in the new build")],
        explanation=f"In the new build {package} {'can now' if added else 'no longer can'} do: {cap}.",
        tags=["diff", "added" if added else "removed"],
        variant=f"{verb}:{cap}",
    )
    out.status = status(out)
    return out


def _device_score(report: Report) -> float | None:
    scores = [s["device_risk"]["score"] for s in report.summary.values() if isinstance(s, dict) and "device_risk" in s]
    return max(scores) if scores else None


def _device_change(old: Report, new: Report) -> dict[str, float | None]:
    """The device risk score of each build and its change (new minus old)."""
    before, after = _device_score(old), _device_score(new)
    change = round(after - before, 2) if before is not None and after is not None else None
    return {"old": before, "new": after, "change": change}


def _device_finding(device: dict[str, float | None], old_name: str, new_name: str) -> Finding:
    """The device risk score rose (medium) or fell (info) from one build to the other."""
    up = (device["change"] or 0.0) > 0
    out = Finding(
        subject=Subject("firmware", new_name, new_name, identity="device risk"),
        rule=DEVICE_RULE,
        title=f"Device risk {'rose' if up else 'fell'} from {device['old']} to {device['new']}",
        severity=Severity.MEDIUM if up else Severity.INFO,
        confidence=0.8,
        evidence=[
            Evidence(DEVICE_RULE, f"{device['old']}", Location(old_name), detail="device risk score of the old build"),
            Evidence(DEVICE_RULE, f"{device['new']}", Location(new_name), detail="device risk score of the new build"),
        ],
        explanation=f"The device risk score (the riskiest app or firmware finding, plus a bounded share for every "
        f"further app at medium or high) went from {device['old']} in {old_name} to {device['new']} in {new_name}.",
        tags=["diff", "device-risk"],
    )
    out.status = status(out)
    return out


def compare(old: Report, new: Report, old_name: str, new_name: str) -> Report:
    out = Report(job="firmware-diff", inputs=[old_name, new_name])
    out.errors = old.errors + new.errors
    out.subjects = new.subjects
    out.data_versions = {**old.data_versions, **new.data_versions}
    before = {f.key: f for f in old.findings}
    after = {f.key: f for f in new.findings}
    for key, f in after.items():
        prior = before.get(key)
        if prior is None:
            out.findings.append(_tagged(f, "added", "New: "))
        elif what := _changes(prior, f):
            prefix = f"Changed from {prior.severity}: " if prior.severity != f.severity else "Changed: "
            changed = _tagged(f, "changed", prefix)
            changed.explanation = f"Since {old_name}: {'; '.join(what)}. {f.explanation}"
            out.findings.append(changed)
    for key, f in before.items():
        if key not in after:
            out.findings.append(_removed(f, new_name))
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
    device = _device_change(old, new)
    if device["change"]:
        out.findings.append(_device_finding(device, old_name, new_name))
    out.summary = {
        "old": old_name,
        "new": new_name,
        "device_risk": device,
        "findings_added": sum("added" in f.tags and f.rule != RULE for f in out.findings),
        "findings_removed": sum("removed" in f.tags and f.rule != RULE for f in out.findings),
        "findings_changed": sum("changed" in f.tags for f in out.findings),
        **changes,
    }
    return out
