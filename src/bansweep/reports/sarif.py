"""SARIF 2.1.0 report (OASIS Static Analysis Results Interchange Format), one run, made to read well in
code-scanning views (GitHub's among them) and to stay within GitHub's upload limits.

Mapping:
- tool.driver.rules: one reportingDescriptor per rule id (a kind of finding), sorted: a name (an identifier), a
  short and a full description, help with what to do (reports/rules.py), the level of its worst result, tags
  ("security", the job, the findings' tags; at most 10, the number GitHub shows) and "security-severity" (the
  numeric scale GitHub reads) from the worst severity.
- results: one per finding, worst first (at most 25,000, GitHub's limit; the rest are counted in a notification
  and in run.properties). level from the shared Level of the finding's status: "error" at hit or critical
  (covered, covered-limited, match, high, critical), "warning" at review (review, possible-match, medium,
  not-screened: never reported as clean), "note" below (low, not-covered, no-match, cleared, info).
  message: the subject, the status word and the finding in one line, each said once.
  partialFingerprints["bansweepFindingKey/v1"] is the finding's stable key (Finding.key, the same key the JSON
  report, diff and reviewer decisions use), so a viewer tracks a result across runs.
  properties: job, status, severity, confidence, risk, subject, verdicts (with citation), evidence, tags, extra.
- locations: the distinct places in the inputs the evidence was seen (at most 100, the number GitHub shows), each
  with a region.startLine: a text line as is; a table row N (header excluded) as line N + 1, the line it is on when
  the header is line 1 (fleet's rows are already spreadsheet rows, header = row 1: line N) (the row and column stay in properties, since quoted cells may span lines and XLSX has no
  lines); an entry inside an archive or image names the entry in logicalLocations (kind "resource") and points at
  line 1 of the archive; a byte offset or a whole file also points at line 1 (the offset stays in properties).
  A relative file is a URI reference against "%SRCROOT%" (the working directory, in run.originalUriBaseIds), as is
  an absolute one under it; other absolute files are file: URIs. A location's message is the evidence seen there.
- relatedLocations: the bundled knowledge files that judged the evidence, relative to "BANSWEEP_KNOWLEDGE"
  (with the record's id as a logical location), not the path they are installed at.
- input errors: invocations[0].toolExecutionNotifications, level "error", descriptor "input-error", with the
  location as above. The run counts as executed successfully: unreadable inputs are reported, not fatal.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from bansweep import __version__
from bansweep.findings import Finding, Level, Location, Report, Severity
from bansweep.knowledge import DATA_DIR
from bansweep.reports.json import KNOWLEDGE, finding_job, one_line, plain, reason, text, visible, where, worst_first
from bansweep.reports.rules import RULES, describe

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://bansweep.dev"
ROOT = "%SRCROOT%"
KNOWLEDGE_ROOT = "BANSWEEP_KNOWLEDGE"
MAX_RESULTS = 25_000  # GitHub rejects a run with more
MAX_LOCATIONS = 100  # GitHub shows no more per result
MAX_TAGS = 10  # GitHub shows no more per rule
_WORDS = re.compile(r"[^0-9A-Za-z]+")
SECURITY_SEVERITY = {
    Severity.INFO: "0.0",
    Severity.LOW: "3.0",
    Severity.MEDIUM: "5.5",
    Severity.HIGH: "8.0",
    Severity.CRITICAL: "9.5",
}
FINGERPRINT = "bansweepFindingKey/v1"
LEVEL_RANK = {"note": 0, "warning": 1, "error": 2}
SHEET_ROWS = {"fleet"}  # jobs whose table rows are spreadsheet rows (header = row 1), not data rows


def level(finding: Finding) -> str:
    if finding.status.level >= Level.HIT:
        return "error"
    if finding.status.level >= Level.REVIEW:
        return "warning"
    return "note"


def render(report: Report) -> str:
    return _dumps(as_dict(report)) + "\n"


_RESULTS = "\0results\0"  # where the results go in the document's text (a string no value encodes to)
_RESULT_INDENT = " " * 8  # a result's depth: {"runs": [{"results": [ ...


def write_stream(report: Report, fh: IO[str]) -> None:
    """render's text, written result by result (a large run's results are never all held)."""
    doc, results = _document(report)
    first = next(results, None)
    doc["runs"][0]["results"] = [_RESULTS] if first is not None else []
    whole = _dumps(doc)
    marker = json.dumps(_RESULTS)
    if first is None or whole.count(marker) != 1:  # no results, or a value that reads like the marker
        doc["runs"][0]["results"] = [first, *results] if first is not None else []
        fh.write(_dumps(doc) + "\n")
        return
    head, tail = whole.split(marker)
    fh.write(head)
    for n, result in enumerate(itertools.chain([first], results)):
        if n:
            fh.write(",\n" + _RESULT_INDENT)
        fh.write(_dumps(result).replace("\n", "\n" + _RESULT_INDENT))
    fh.write(tail + "\n")


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False, default=text)


def as_dict(report: Report) -> dict[str, Any]:
    doc, results = _document(report)
    doc["runs"][0]["results"] = list(results)
    return doc


def _document(report: Report) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The document without its results, and the results, made one by one as they are read."""
    everything = worst_first(report.findings)
    findings = everything[:MAX_RESULTS]
    rules = _rules(findings)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    cwd = Path.cwd()
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
        "invocations": [_invocation(report, len(everything) - len(findings))],
        "originalUriBaseIds": {
            ROOT: {"uri": cwd.as_uri().rstrip("/") + "/", "description": {"text": "The working directory"}},
            KNOWLEDGE_ROOT: {
                "uri": DATA_DIR.as_uri().rstrip("/") + "/",
                "description": {"text": "bansweep's bundled knowledge files"},
            },
        },
        "columnKind": "unicodeCodePoints",
        "results": [],
        "properties": {
            "job": text(report.job),
            "inputs": [text(p) for p in report.inputs],
            "subjects": report.subjects,
            "dataVersions": plain(report.data_versions),
            "summary": plain(report.summary),
            "resultsOmitted": len(everything) - len(findings),
        },
    }
    results = (_result(f, index[text(f.rule)], report) for f in findings)
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, results


def _rules(findings: list[Finding]) -> list[dict[str, Any]]:
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault(text(finding.rule), []).append(finding)
    rules = []
    for rule_id in sorted(by_rule):
        group = by_rule[rule_id]
        about = describe(rule_id)
        kind = _kind(rule_id)
        worst = max(group, key=lambda f: LEVEL_RANK[level(f)])
        job = finding_job(group[0])
        tags = ["security", job, *sorted({text(t) for f in group for t in f.tags} - {"security", job})]
        help_text = f"{about.help} Each result lists its evidence (what was seen, where, and the date of the data "
        help_text += "that judged it) and the policies' verdicts with their citation."
        rules.append(
            {
                "id": rule_id,
                "name": about.name + "".join(p[:1].upper() + p[1:] for p in _WORDS.split(kind) if p),
                "shortDescription": {"text": about.short + (f" ({kind})" if kind else "")},
                "fullDescription": {"text": about.full},
                "help": {"text": help_text, "markdown": f"**What to do.** {help_text}"},
                "defaultConfiguration": {"level": level(worst)},
                "properties": {
                    "tags": tags[:MAX_TAGS],
                    "security-severity": SECURITY_SEVERITY[max(f.severity for f in group)],
                },
            }
        )
    return rules


def _kind(rule_id: str) -> str:
    """What the rule id adds to its described prefix: `parties.list.csl` -> `csl`."""
    parts = rule_id.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in RULES:
            return ".".join(parts[n:])
    return rule_id


def _result(finding: Finding, rule_index: int, report: Report) -> dict[str, Any]:
    s = finding.subject
    message = f"{visible(s.label)} — {finding.status.value}: {reason(finding)}"
    seen: dict[Location, list[str]] = {}
    knowledge: dict[Location, list[str]] = {}
    for ev in finding.evidence:
        into = knowledge if where(ev.location).startswith("knowledge ") else seen
        into.setdefault(ev.location, []).append(f"{text(ev.rule)}: {_short(ev.value)}")
    if not seen and report.inputs:  # a finding on a whole input: point at the input
        seen[Location(s.attributes.get("file") or report.inputs[0])] = [reason(finding)]
    locations = [
        _location(loc, finding_job(finding) in SHEET_ROWS)
        | {"id": i, "message": {"text": "; ".join(dict.fromkeys(values))}}
        for i, (loc, values) in enumerate(list(seen.items())[:MAX_LOCATIONS])
    ]
    related = [
        _knowledge(loc) | {"id": len(locations) + i, "message": {"text": "; ".join(dict.fromkeys(values))}}
        for i, (loc, values) in enumerate(list(knowledge.items())[:MAX_LOCATIONS])
    ]
    dict_ = finding.to_dict()
    properties: dict[str, Any] = {
        "job": finding_job(finding),
        "status": finding.status.value,
        "severity": str(finding.severity),
        "confidence": plain(finding.confidence),
        "subject": plain(dict_["subject"]),
        "verdicts": plain(dict_["verdicts"]),
        "evidence": plain(dict_["evidence"]),
        "explanation": text(finding.explanation),
        "tags": sorted({text(t) for t in finding.tags}),
        "extra": plain(finding.extra),
    }
    if finding.risk is not None:
        properties["risk"] = plain(round(finding.risk, 2))
    if len(seen) > MAX_LOCATIONS:
        properties["locationsOmitted"] = len(seen) - MAX_LOCATIONS
    out: dict[str, Any] = {
        "ruleId": text(finding.rule),
        "ruleIndex": rule_index,
        "level": level(finding),
        "message": {"text": message},
        "locations": locations,
    }
    if related:
        out["relatedLocations"] = related
    out["partialFingerprints"] = {FINGERPRINT: finding.key}
    out["properties"] = properties
    return out


def _short(value: str, limit: int = 120) -> str:
    line = one_line(visible(value))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _location(loc: Location, sheet_rows: bool = False) -> dict[str, Any]:
    """sheet_rows: the job numbers table rows as a spreadsheet shows them (header = row 1)."""
    physical: dict[str, Any] = {"artifactLocation": _artifact(loc.file)}
    out: dict[str, Any] = {"physicalLocation": physical}
    props = {k: plain(v) for k, v in loc.to_dict().items() if k in ("line", "row", "entry", "offset", "field")}
    line = 1
    if loc.entry:
        out["logicalLocations"] = [{"fullyQualifiedName": text(loc.entry), "kind": "resource"}]
    elif loc.line is not None and loc.line >= 1:
        line = loc.line
    elif loc.row is not None and loc.row >= 1:
        line = loc.row if sheet_rows else loc.row + 1  # the line it is on when the header is line 1
    physical["region"] = {"startLine": line}
    if props:
        out["properties"] = props
    return out


def _knowledge(loc: Location) -> dict[str, Any]:
    name = loc.file[len(KNOWLEDGE) :]
    physical: dict[str, Any] = {"artifactLocation": {"uri": quote(name, safe="/"), "uriBaseId": KNOWLEDGE_ROOT}}
    if loc.line is not None and loc.line >= 1:
        physical["region"] = {"startLine": loc.line}
    out: dict[str, Any] = {"physicalLocation": physical}
    if loc.entry:
        out["logicalLocations"] = [{"fullyQualifiedName": text(loc.entry), "kind": "object"}]
    return out


def _artifact(path: str) -> dict[str, Any]:
    try:
        raw = path.encode("utf-8", "surrogateescape")  # the file name's own bytes, even when not UTF-8
    except UnicodeEncodeError:
        raw = text(path).encode("utf-8")
    if path.startswith("/"):
        cwd = str(Path.cwd()).rstrip("/") + "/"
        if path.startswith(cwd):
            return {"uri": quote(raw[len(cwd.encode("utf-8", "surrogateescape")) :], safe="/"), "uriBaseId": ROOT}
        return {"uri": "file://" + quote(raw, safe="/")}
    return {"uri": quote(raw, safe="/"), "uriBaseId": ROOT}


def _invocation(report: Report, omitted: int) -> dict[str, Any]:
    out: dict[str, Any] = {"executionSuccessful": True}
    for key, value in (("startTimeUtc", report.started), ("endTimeUtc", report.finished)):
        when = _utc(value)
        if when:
            out[key] = when
    notes = [
        {
            "level": "error",
            "descriptor": {"id": "input-error"},
            "message": {"text": f"{text(error.location)}: {text(error.message)}"},
            "locations": [_location(error.location, report.job in SHEET_ROWS)],
        }
        for error in report.errors
    ]
    if omitted:
        notes.append(
            {
                "level": "warning",
                "descriptor": {"id": "results-omitted"},
                "message": {
                    "text": f"{omitted} finding(s), none worse than those listed, are left out to keep within "
                    f"{MAX_RESULTS} results per run: --format json or csv lists every finding."
                },
            }
        )
    out["toolExecutionNotifications"] = notes
    return out


def _utc(value: str) -> str | None:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if when.tzinfo is None:
            return None  # a time without a zone cannot be stated in UTC
        return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError):
        return None
