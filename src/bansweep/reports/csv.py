"""CSV report for spreadsheets: one row per finding x evidence item, then one row per input error.

Layout (chosen so that an Excel auto-filter on any column gives a useful view):
- `finding` numbers the findings (worst first); `key` is the finding's stable key (the same run after run, as in
  the JSON and SARIF reports), `job` the job whose status words `status` is in; every evidence item of a finding is its own row and repeats the
  finding's columns, so filtering on an evidence rule, value or file never hides which subject and status it
  belongs to. A finding without evidence still gets one row. Input errors are rows with status `input-error`,
  `finding` E1, E2, ..., the place in `file`/`line`/`row`/`entry`/`offset`/`field` and the text in `message`.
- `subject.<key>` columns hold the subjects' attributes (vendor, model, country ...), `verdict.<policy>` columns
  hold each policy's status; both are the keys present in the report, sorted. `verdicts` has the full text with
  citation and date. Lists are joined with "; ".

Safety (OWASP CSV injection guidance): a text cell that starts with = + - @ TAB or CR (or a Unicode look-alike
of = + - @ such as the fullwidth U+FF1D), also after leading whitespace, gets a single quote in front, so Excel and LibreOffice show it as text instead of running it.
A cell that is a plain decimal number ("-5", "+3.5", "1e3") is left alone: a number cannot carry a formula, and
numbers stay numbers in the spreadsheet. Control and bidi characters are shown as escapes (\\x1b, \\u202e);
tabs and line breaks inside a cell are kept (the cell is quoted).
The text starts with a UTF-8 byte order mark so Excel detects the encoding; lines end with CRLF (RFC 4180).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from typing import IO, Any

from bansweep.findings import Evidence, Finding, Location, Report
from bansweep.reports.json import finding_job, visible, where, worst_first

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
JOIN = "; "

FINDING_COLUMNS = ["finding", "key", "job", "status", "severity", "confidence", "subject_kind", "subject_id", "subject"]
TAIL_COLUMNS = [
    "rule",
    "title",
    "verdicts",
    "tags",
    "explanation",
    "evidence",
    "evidence_rule",
    "value",
    "where",
    "file",
    "line",
    "row",
    "entry",
    "offset",
    "field",
    "data_date",
    "detail",
    "message",
]


def safe(value: object) -> str:
    """A cell that no spreadsheet runs as a formula; look-alikes of = + - @ (fullwidth, small, super- and
    subscript forms, the minus sign) count as those characters, as some spreadsheets and locales read them so."""
    cell = visible(value)
    first = unicodedata.normalize("NFKC", cell.lstrip()[:1])[:1]
    starts = cell.startswith(FORMULA_START) or first in FORMULA_START or first == "\u2212"
    if starts and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def render(report: Report) -> str:
    out = io.StringIO()
    write_stream(report, out)
    return out.getvalue()


def write_stream(report: Report, fh: IO[str]) -> None:
    """Write the report to `fh` row by row (the same text as render)."""
    findings = worst_first(report.findings)
    attributes = sorted({k for f in findings for k in f.subject.attributes}, key=visible)
    policies = sorted({v.policy for f in findings for v in f.verdicts}, key=visible)
    header = FINDING_COLUMNS + [f"subject.{k}" for k in attributes] + [f"verdict.{p}" for p in policies] + TAIL_COLUMNS
    fh.write(BOM)
    writer = csv.writer(fh, lineterminator="\r\n")
    writer.writerow([safe(h) for h in header])
    done: dict[str, str] = {}  # most cells repeat (rules, verdicts, explanations): each text made safe once

    def cell(value: object) -> str:
        if type(value) is not str:
            return safe(value)
        out = done.get(value)
        if out is None:
            out = safe(value)
            if len(done) < 200_000:
                done[value] = out
        return out

    column = {h: i for i, h in enumerate(header)}
    for n, finding in enumerate(findings, 1):
        base = _finding_cells(n, finding, attributes, policies)
        base_row = [cell(base.get(h, "")) for h in header]  # the finding's columns, the same on each evidence row
        for i, ev in enumerate(finding.evidence or [None], 1):
            row = base_row.copy()
            for key, value in _evidence_cells(i, len(finding.evidence), ev).items():
                at = column.get(key)
                if at is not None:
                    row[at] = cell(value)
            writer.writerow(row)
    for n, error in enumerate(report.errors, 1):
        cells = {"finding": f"E{n}", "status": "input-error", "message": error.message} | _where(error.location)
        writer.writerow([safe(cells.get(h, "")) for h in header])


def _finding_cells(n: int, finding: Finding, attributes: list[str], policies: list[str]) -> dict[str, Any]:
    s = finding.subject
    verdicts: dict[str, list[str]] = {}
    for v in finding.verdicts:
        verdicts.setdefault(f"verdict.{v.policy}", []).append(v.status.value)
    cells: dict[str, Any] = {
        "finding": n,
        "key": finding.key,
        "job": finding_job(finding),
        "status": finding.status.value,
        "severity": str(finding.severity),
        "confidence": f"{finding.confidence:.2f}",
        "subject_kind": s.kind,
        "subject_id": s.id,
        "subject": s.label,
        "rule": finding.rule,
        "title": finding.title,
        "verdicts": JOIN.join(
            f"{v.policy}: {v.status.value} — {v.citation} ({v.date})" + (f": {v.reason}" if v.reason else "")
            for v in finding.verdicts
        ),
        "tags": JOIN.join(finding.tags),
        "explanation": finding.explanation,
    }
    cells |= {f"subject.{k}": s.attributes[k] for k in attributes if k in s.attributes}
    cells |= {k: JOIN.join(v) for k, v in verdicts.items()}
    return cells


def _evidence_cells(i: int, total: int, ev: Evidence | None) -> dict[str, Any]:
    if ev is None:
        return {}
    return {
        "evidence": f"{i}/{total}",
        "evidence_rule": ev.rule,
        "value": ev.value,
        "data_date": ev.data_date or "",
        "detail": ev.detail,
    } | _where(ev.location)


def _where(loc: Location) -> dict[str, Any]:
    cells: dict[str, Any] = {"where": where(loc)} | loc.to_dict()  # a bundled knowledge file by its name
    return cells
