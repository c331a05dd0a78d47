"""SARIF 2.1.0 report (OASIS Static Analysis Results Interchange Format), one run.

Mapping:
- tool.driver.rules: one reportingDescriptor per finding rule id (sorted), with shortDescription (the findings'
  title when they share one), help, defaultConfiguration.level and properties.tags / "security-severity"
  (the numeric scale GitHub code scanning reads).
- results: one per finding, worst first. level: "error" when covered, covered-limited, or severity high or
  critical; "warning" for review and not-screened (never reported as clean); "note" for not-covered.
  partialFingerprints["bansweepFindingKey/v1"] is the finding's stable key (Finding.key, the same key the JSON
  report, diff and reviewer decisions use), so a viewer tracks a result across runs. properties: status, severity, confidence, subject, verdicts (with citation), evidence, tags, extra.
- locations: one per distinct evidence location. A relative file is a URI reference against "%SRCROOT%" (the
  working directory, in run.originalUriBaseIds); an absolute one a file: URI. A line becomes region.startLine, a
  byte offset region.byteOffset. A table row is not a text line (XLSX has none; quoted CSV cells may span lines),
  so no region is claimed for it: the row and column are in the location's properties ("row", "field") and in
  its message ("cmdb.csv row 14 [MAC]"). An entry inside an archive or image points at the archive file, names
  the entry in logicalLocations (kind "resource") and keeps its line or offset in properties only, since a region
  would wrongly refer to the archive's own bytes.
- input errors: invocations[0].toolExecutionNotifications, level "error", descriptor "input-error", with the
  location as above. The run counts as executed successfully: unreadable inputs are reported, not fatal.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bansweep import __version__
from bansweep.findings import Finding, Level, Location, Report, Severity
from bansweep.reports.json import plain, text, worst_first

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://bansweep.dev"
ROOT = "%SRCROOT%"
SECURITY_SEVERITY = {
    Severity.INFO: "0.0",
    Severity.LOW: "3.0",
    Severity.MEDIUM: "5.5",
    Severity.HIGH: "8.0",
    Severity.CRITICAL: "9.5",
}
FINGERPRINT = "bansweepFindingKey/v1"
LEVEL_RANK = {"note": 0, "warning": 1, "error": 2}


def level(finding: Finding) -> str:
    if finding.status.level >= Level.HIT:
        return "error"
    if finding.status.level >= Level.REVIEW:
        return "warning"
    return "note"


def render(report: Report) -> str:
    return json.dumps(as_dict(report), indent=2, ensure_ascii=False, allow_nan=False, default=text) + "\n"


def as_dict(report: Report) -> dict[str, Any]:
    findings = worst_first(report.findings)
    rules = _rules(findings)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "bansweep",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "invocations": [_invocation(report)],
        "originalUriBaseIds": {ROOT: {"uri": Path.cwd().as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[text(f.rule)]) for f in findings],
        "properties": {
            "job": text(report.job),
            "inputs": [text(p) for p in report.inputs],
            "subjects": report.subjects,
            "dataVersions": plain(report.data_versions),
            "summary": plain(report.summary),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _rules(findings: list[Finding]) -> list[dict[str, Any]]:
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault(text(finding.rule), []).append(finding)
    rules = []
    for rule_id in sorted(by_rule):
        group = by_rule[rule_id]
        titles = sorted({text(f.title) for f in group})
        short = titles[0] if len(titles) == 1 else f"{rule_id} ({len(titles)} kinds of finding)"
        policies = sorted({text(v.policy) for f in group for v in f.verdicts})
        worst = max(group, key=lambda f: LEVEL_RANK[level(f)])
        help_text = (
            f"bansweep rule {rule_id}: {short}. Each result lists its evidence (what was observed, where, and the "
            "date of the reference data that judged it)"
            + (
                f" and the verdicts of the policies {', '.join(policies)} with their legal citation."
                if policies
                else "."
            )
        )
        rules.append(
            {
                "id": rule_id,
                "name": rule_id,
                "shortDescription": {"text": short},
                "fullDescription": {"text": "; ".join(titles)},
                "help": {"text": help_text},
                "defaultConfiguration": {"level": level(worst)},
                "properties": {
                    "tags": sorted({text(t) for f in group for t in f.tags}),
                    "security-severity": SECURITY_SEVERITY[max(f.severity for f in group)],
                },
            }
        )
    return rules


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    s = finding.subject
    verdicts = "; ".join(f"{text(v.policy)}: {v.status.value} ({text(v.citation)})" for v in finding.verdicts)
    message = f"{text(s.label)}: {text(finding.title)} [{finding.status.value}]" + (
        f" — {verdicts}" if verdicts else ""
    )
    rules_at: dict[Location, set[str]] = {}
    for ev in finding.evidence:
        rules_at.setdefault(ev.location, set()).add(text(ev.rule))
    locations = [
        _location(loc) | {"id": i, "message": {"text": f"{text(loc)} ({', '.join(sorted(rules))})"}}
        for i, (loc, rules) in enumerate(rules_at.items())
    ]
    dict_ = finding.to_dict()
    return {
        "ruleId": text(finding.rule),
        "ruleIndex": rule_index,
        "level": level(finding),
        "message": {"text": message},
        "locations": locations,
        "partialFingerprints": {FINGERPRINT: finding.key},
        "properties": {
            "status": finding.status.value,
            "severity": str(finding.severity),
            "confidence": plain(finding.confidence),
            "subject": plain(dict_["subject"]),
            "verdicts": plain(dict_["verdicts"]),
            "evidence": plain(dict_["evidence"]),
            "explanation": text(finding.explanation),
            "tags": sorted({text(t) for t in finding.tags}),
            "extra": plain(finding.extra),
        },
    }


def _location(loc: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(loc.file)}
    out: dict[str, Any] = {"physicalLocation": physical}
    props = {k: plain(v) for k, v in loc.to_dict().items() if k in ("line", "row", "entry", "offset", "field")}
    if loc.entry:
        out["logicalLocations"] = [{"fullyQualifiedName": text(loc.entry), "kind": "resource"}]
    else:
        region: dict[str, int] = {}
        if loc.line is not None and loc.line >= 1:
            region["startLine"] = loc.line
        if loc.offset is not None and loc.offset >= 0:
            region["byteOffset"] = loc.offset
        if region:
            physical["region"] = region
    if props:
        out["properties"] = props
    return out


def _artifact(path: str) -> dict[str, Any]:
    try:
        raw = path.encode("utf-8", "surrogateescape")  # the file name's own bytes, even when not UTF-8
    except UnicodeEncodeError:
        raw = text(path).encode("utf-8")
    if path.startswith("/"):
        return {"uri": "file://" + quote(raw, safe="/")}
    return {"uri": quote(raw, safe="/"), "uriBaseId": ROOT}


def _invocation(report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {"executionSuccessful": True}
    for key, value in (("startTimeUtc", report.started), ("endTimeUtc", report.finished)):
        when = _utc(value)
        if when:
            out[key] = when
    out["toolExecutionNotifications"] = [
        {
            "level": "error",
            "descriptor": {"id": "input-error"},
            "message": {"text": f"{text(error.location)}: {text(error.message)}"},
            "locations": [_location(error.location)],
        }
        for error in report.errors
    ]
    return out


def _utc(value: str) -> str | None:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if when.tzinfo is None:
            return None  # a time without a zone cannot be stated in UTC
        return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError):
        return None
