"""Single-file HTML report: inline CSS and SVG charts, no scripts, no external resources.

Layout: a summary (findings by job and status, inputs by kind, reference data with its age, warnings); charts;
the findings, one collapsed block per subject and status (its one-line reasons in the heading; evidence, verdicts
and details inside; when more than MAX_PASS_BLOCKS subjects passed, each passed one is a table row), with a filter by job and status that works without scripts (checkboxes and CSS :has());
input errors; reference data, inputs and the run's figures as tables.
Status words are each job's own, coloured by their level on the shared ordering; legends and filters list only
the words the report uses.

Every value from the inputs is escaped (`html.escape` with quotes, after `visible` shows control and bidi
characters as escapes); element ids and classes are generated, never taken from the data. http(s) URLs in the
text become links whose text is the URL itself (rel noopener noreferrer nofollow); nothing else is a link out.
A Content-Security-Policy meta tag allows nothing but the one inline style block (by its hash), so even a missed
escape could not load or run anything. Charts count subjects (a subject counts once per bar, at its worst status
there); a chart is drawn only when it has two bars or more.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from html import escape
from typing import IO, Any

from bansweep import __version__
from bansweep.findings import JOB_STATUSES, Finding, Level, Report, Status, Subject
from bansweep.reports.json import (
    CONTEXT,
    OTHER,
    SCHEMA,
    data_ages,
    evidence_base,
    finding_job,
    input_kinds,
    job_counts,
    plain,
    reason,
    visible,
    where,
    worst_first,
    worst_status_first,
)
from bansweep.store.html import report_section

PREFERRED_KEYS = ("vendor", "maker", "manufacturer", "brand", "group", "list", "country", "image")
PLACE_KEYS = ("file", "path", "row", "line")  # already charted by source file
MAX_ATTRIBUTE_CHARTS = 3
MAX_BARS = 12
MAX_ROWS = 200  # rows of a table in the run's figures
MAX_PASS_BLOCKS = 5_000  # passed subjects shown as blocks; beyond, every passed subject is a table row
MAX_DEPTH = 4  # nesting shown of extras and figures; deeper values as text
LABEL_CELLS = 30  # chart label width, in character cells (a CJK character is two)
STATUS_ORDER = sorted(Status, key=lambda s: s.order, reverse=True)  # worst first
_URL = re.compile(r"https?://[^\s<>\"'`]+")

CSS = """
:root{--critical:#7b1fa2;--hit:#c62828;--review:#f9a825;--low:#1565c0;--pass:#2e7d32;
--ink:#1b1f24;--muted:#5f6b7a;--line:#d8dee4;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",
"Microsoft YaHei","PingFang SC",sans-serif;color:var(--ink);margin:0 auto;
max-width:1200px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;border-bottom:1px solid var(--line);
padding-bottom:4px}h3{font-size:15px;margin:0 0 8px}h4{font-size:14px;margin:12px 0 4px}
.meta,.small{color:var(--muted);font-size:12.5px}
nav a{margin-right:14px}
.summary th{width:130px;background:none;font-weight:600;color:var(--muted)}
.warn{color:#8a5a00}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:16px}
.chart{border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.chart svg{width:100%;height:auto;display:block}
svg text{font:12px system-ui,sans-serif;fill:var(--ink)}
svg .n{fill:var(--muted)}
.legend span{display:inline-block;margin-right:14px;font-size:12.5px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;margin:6px 0 10px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{background:var(--bg);font-weight:600;overflow-wrap:normal}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;color:#fff;
white-space:nowrap}
.l-critical{background:var(--critical);fill:var(--critical)}
.l-hit{background:var(--hit);fill:var(--hit)}
.l-review{background:var(--review);fill:var(--review);color:#1b1f24}
.l-low{background:var(--low);fill:var(--low)}
.l-pass{background:var(--pass);fill:var(--pass)}
.filters{margin:6px 0 12px;font-size:13px}.filters label{margin-right:12px;white-space:nowrap}
.filters b{margin-right:8px}
details.subject{border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:4px 12px}
details.subject>summary{cursor:pointer;list-style-position:outside}
summary .why{display:block;color:var(--ink);font-weight:400;margin-left:2px}
summary .label{font-weight:600}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}dt{color:var(--muted)}dd{margin:0}
dl dl{margin:0}
ul.plain{margin:0;padding-left:18px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.errors td:first-child,.nw{white-space:nowrap}
footer{margin-top:32px;color:var(--muted);font-size:12.5px}
@media print{nav,.filters{display:none}.charts{grid-template-columns:1fr 1fr}
details.subject::details-content{content-visibility:visible;display:block}}
"""


def esc(value: object) -> str:
    return escape(visible(value), quote=True)


def linked(value: object) -> str:
    """`esc`, with each http(s) URL a link whose text is the URL itself."""
    shown = visible(value)
    out: list[str] = []
    at = 0
    for match in _URL.finditer(shown):
        url = match.group().rstrip(".,;:)]}")
        out.append(escape(shown[at : match.start()], quote=True))
        link = escape(url, quote=True)
        out.append(f'<a href="{link}" rel="noopener noreferrer nofollow">{link}</a>')
        at = match.start() + len(url)
    out.append(escape(shown[at:], quote=True))
    return "".join(out)


def badge(status: Status | str) -> str:
    """The status in its job's own word, coloured by its level on the shared ordering."""
    status = Status(status)
    return f'<span class="badge l-{status.level}" title="level {status.level}">{status.value}</span>'


def legend(statuses: Iterable[Status]) -> str:
    """A swatch per level used, naming the status words used at that level (worst first)."""
    used = sorted(set(statuses), key=lambda s: s.order, reverse=True)
    levels: dict[Level, list[str]] = {}
    for status in used:
        levels.setdefault(status.level, []).append(status.value)
    items = (f'<span><i class="l-{level}"></i>{", ".join(words)}</span>' for level, words in levels.items())
    return f'<p class="legend">{"".join(items)}</p>' if levels else ""


def render(report: Report) -> str:
    out = io.StringIO()
    write_stream(report, out)
    return out.getvalue()


def write_stream(report: Report, fh: IO[str]) -> None:
    """The report, written subject by subject (a large run's blocks are never all held)."""
    jobs = list(job_counts(report))
    used = {f.status for f in report.findings}
    statuses = [s for s in STATUS_ORDER if s in used]
    css = CSS + _filter_css(jobs, statuses)
    style_hash = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'sha256-{style_hash}'; base-uri 'none'; form-action 'none'"
    title = f"bansweep {esc(report.job)} report"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{css}</style></head><body>",
        f"<header><h1>{title}</h1>{_run_line(report)}</header>",
        _summary(report),
        '<nav><a href="#overview">Overview</a>'
        + ('<a href="#history">History</a>' if "history" in report.summary else "")
        + '<a href="#findings">Findings</a><a href="#errors">Input errors</a><a href="#data">Data and inputs</a></nav>',
        _overview(report),
        report_section(report),
    ]
    fh.write("\n".join(parts) + "\n")
    _findings(report, jobs, statuses, fh)
    fh.write("\n" + "\n".join([_errors(report), _footer(report), "</body></html>"]) + "\n")


def _run_line(report: Report) -> str:
    times = f" · started {esc(report.started)} · finished {esc(report.finished)}" if report.started else ""
    return f'<p class="meta">bansweep {esc(__version__)}{times} · {len(report.inputs)} input(s)</p>'


# --- summary --------------------------------------------------------------------------------------------------------


def _summary(report: Report) -> str:
    rows = [f"<tr><th>Examined</th><td>{report.subjects} subject(s) · {len(report.findings)} finding(s)</td></tr>"]
    for job, counts in job_counts(report).items():
        words = " ".join(f"{n} {badge(status)}" for status, n in counts.items())
        rows.append(f"<tr><th>{esc(job)}</th><td>{sum(counts.values())} finding(s): {words}</td></tr>")
    kinds = input_kinds(report)
    if kinds:
        inputs = f"{sum(kinds.values())} file(s): " + ", ".join(f"{esc(k)} {n}" for k, n in kinds.items())
    else:
        inputs = f"{len(report.inputs)}"
    rows.append(f"<tr><th>Inputs</th><td>{inputs}</td></tr>")
    for key, part in report.summary.items():  # fleet: devices recorded as no longer in use
        if (key == "not_in_use" or key.endswith(".not_in_use")) and isinstance(part, dict) and part.get("devices"):
            how = "counted as asked (--count-retired)" if part.get("counted") else "not counted as in use"
            rows.append(
                f"<tr><th>Not in use</th><td>{esc(str(part['devices']))} device(s) recorded as retired, disposed "
                f"of, lost or stolen: {how}</td></tr>"
            )
    ages = data_ages(report)
    dated = [f"{esc(name)} {day.isoformat()}" + (f" ({age} days)" if age else "") for name, _, day, age in ages if day]
    if dated:
        rows.append(f"<tr><th>Reference data</th><td>{' · '.join(dated)}</td></tr>")
    warnings = [f"{esc(name)}: {linked(value)}" for name, value, day, _ in ages if day is None]
    if report.errors:
        warnings.append(
            f'<a href="#errors">{len(report.errors)} input(s) or parts could not be read</a>; nothing in them was '
            "screened"
        )
    for i, warning in enumerate(warnings):
        rows.append(f'<tr class="warn"><th>{"Warnings" if i == 0 else ""}</th><td>{warning}</td></tr>')
    return f'<section id="summary"><table class="summary"><tbody>{"".join(rows)}</tbody></table></section>'


# --- charts -------------------------------------------------------------------------------------------------------


def _overview(report: Report) -> str:
    charts = [
        _chart(title, bars, paths)
        for title, bars, paths in _chart_data(report.findings, evidence_base(report))
        if len(bars) > 1
    ]
    used = {f.status for f in report.findings} | {v.status for f in report.findings for v in f.verdicts}
    body = f'<div class="charts">{"".join(charts)}</div>' if charts else "<p>Nothing to chart.</p>"
    return f'<section id="overview"><h2>Overview</h2>{legend(used)}{body}</section>'


Bars = list[tuple[str, Counter[Status]]]


def _chart_data(findings: list[Finding], base: str = "") -> list[tuple[str, Bars, bool]]:
    """(title, bars, labels are paths) for each chart the findings support."""
    out: list[tuple[str, Bars, bool]] = []
    out.append(("Subjects by kind", _count(findings, lambda f: [f.subject.kind]), False))
    for key in _attribute_keys(findings):
        out.append((f"Subjects by {key}", _count(findings, _attribute(key)), False))
    out.append(("Subjects by policy (verdict status)", _by_policy(findings), False))
    files = _count(findings, lambda f: [p.removeprefix(base) for p in _input_files(f)])
    out.append(("Subjects by input file", files, True))  # relative to the folder they share
    out.append(("Subjects by rule", _count(findings, lambda f: [f.rule]), False))
    return out


def _input_files(f: Finding) -> list[str]:
    return [e.location.file for e in f.evidence if not where(e.location).startswith("knowledge ")]


def _attribute(key: str) -> Callable[[Finding], list[str]]:
    def labels(f: Finding) -> list[str]:
        value = f.subject.attributes.get(key)
        if value is None:
            return []
        return [_country(value) if key == "country" else value]

    return labels


def _country(value: str) -> str:
    """A country as its ISO 3166 code when the bundled country names know it ("China" and "CN" are one bar)."""
    name = " ".join(str(value).replace(".", " ").split()).casefold()
    if len(name) == 2 and name.isalpha():
        return name.upper()
    return _countries().get(name, str(value))


@cache
def _countries() -> dict[str, str]:
    from bansweep.knowledge import KnowledgeError, load

    try:
        words = load("party-words")
    except (KnowledgeError, OSError):
        return {}
    out: dict[str, str] = {}
    for entry in words.entries:
        if entry.get("kind") == "country":
            out.update({str(k).casefold(): str(v).upper() for k, v in (entry.get("map") or {}).items()})
    return out


def _attribute_keys(findings: list[Finding]) -> list[str]:
    """Attribute keys worth a chart: the usual grouping keys first, then keys whose values repeat (not ids). Each
    subject counts once, as its last finding has it (subjects are made one at a time: a large run's are not held)."""
    last = {(s.kind, s.id): n for n, s in enumerate(f.subject for f in findings)}
    present: Counter[str] = Counter()
    values: dict[str, set[str]] = {}
    for s in (f.subject for n, f in enumerate(findings) if last[f.subject.kind, f.subject.id] == n):
        for k, v in s.attributes.items():
            if k not in PLACE_KEYS:
                present[k] += 1
                values.setdefault(k, set()).add(v)
    preferred = [k for k in PREFERRED_KEYS if k in present]
    others = sorted(
        (k for k in present if k not in preferred and len(values[k]) < present[k]), key=lambda k: (-present[k], k)
    )
    return (preferred + others)[:MAX_ATTRIBUTE_CHARTS]


def _count(findings: Iterable[Finding], labels: Callable[[Finding], Iterable[str]]) -> Bars:
    worst: dict[tuple[str, str, str], Status] = {}
    for f in findings:
        for label in set(labels(f)):
            key = (label, f.subject.kind, f.subject.id)
            if key not in worst or f.status.order > worst[key].order:
                worst[key] = f.status
    return _bars((label, status) for (label, _, _), status in worst.items())


def _by_policy(findings: Iterable[Finding]) -> Bars:
    worst: dict[tuple[str, str, str], Status] = {}
    for f in findings:
        for v in f.verdicts:
            key = (v.policy, f.subject.kind, f.subject.id)
            if key not in worst or v.status.order > worst[key].order:
                worst[key] = v.status
    return _bars((policy, status) for (policy, _, _), status in worst.items())


def _bars(pairs: Iterable[tuple[str, Status]]) -> Bars:
    per: dict[str, Counter[Status]] = {}
    for label, status in pairs:
        per.setdefault(label, Counter())[status] += 1
    ranked = sorted(per.items(), key=lambda kv: (-sum(kv[1].values()), -_weight(kv[1]), kv[0]))
    if len(ranked) > MAX_BARS:
        rest: Counter[Status] = Counter()
        for _, counts in ranked[MAX_BARS - 1 :]:
            rest.update(counts)
        ranked = ranked[: MAX_BARS - 1] + [(f"other ({len(ranked) - MAX_BARS + 1})", rest)]
    return ranked


def _weight(counts: Counter[Status]) -> int:
    return sum(n * (s.level + 1) for s, n in counts.items())


def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _clip(text: str, cells: int, keep_end: bool) -> str:
    """At most `cells` character cells: a path keeps its end (the file name), anything else its start."""
    if _cells(text) <= cells:
        return text
    out = ""
    for c in reversed(text) if keep_end else text:
        if _cells(out) + _cells(c) > cells - 1:
            break
        out = c + out if keep_end else out + c
    return "…" + out if keep_end else out + "…"


def _chart(title: str, bars: Bars, paths: bool) -> str:
    label_w, bar_w, count_w, row_h = 220, 280, 50, 24  # the label column holds LABEL_CELLS cells of 12px text
    width = label_w + bar_w + count_w
    height = row_h * len(bars) + 6
    top = max(sum(c.values()) for _, c in bars)
    rows = []
    for i, (label, counts) in enumerate(bars):
        y = 3 + i * row_h
        total = sum(counts.values())
        short = _clip(visible(label), LABEL_CELLS, paths)
        row = [f"<g><title>{esc(label)}: {total} subject(s)</title>"]
        row.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(short)}</text>')
        x = float(label_w)
        for status in STATUS_ORDER:
            n = counts.get(status, 0)
            if n:
                w = bar_w * n / top
                row.append(
                    f'<rect class="l-{status.level}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}">'
                )
                row.append(f"<title>{esc(label)}: {n} {status.value}</title></rect>")
                x += w
        row.append(f'<text class="n" x="{x + 6:.1f}" y="{y + 16}">{total}</text></g>')
        rows.append("".join(row))
    svg = f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">{"".join(rows)}</svg>'
    return f'<div class="chart"><h3>{esc(title)}</h3>{svg}</div>'


# --- findings -------------------------------------------------------------------------------------------------------


def _filter_css(jobs: list[str], statuses: list[Status]) -> str:
    """Unticking a job or a status hides its findings (CSS :has(); no script). Ids and classes are generated."""
    rules = [f"body:has(#show-job-{i}:not(:checked)) .job-{i}{{display:none}}" for i in range(len(jobs))]
    rules += [f"body:has(#show-{s.name.lower()}:not(:checked)) .st-{s.name.lower()}{{display:none}}" for s in statuses]
    return "\n".join(rules) + "\n" if rules else ""


def _findings(report: Report, jobs: list[str], statuses: list[Status], fh: IO[str]) -> None:
    if not report.findings:
        fh.write('<section id="findings"><h2>Findings</h2><p>No findings.</p></section>')
        return
    boxes = ["<b>Show</b>"]
    boxes += [f'<label><input type="checkbox" id="show-job-{i}" checked> {esc(j)}</label>' for i, j in enumerate(jobs)]
    boxes += [f'<label><input type="checkbox" id="show-{s.name.lower()}" checked> {badge(s)}</label>' for s in statuses]
    fh.write(
        '<section id="findings"><h2>Findings</h2>'
        '<p class="small">One block per subject and status, worst first; open a block for its evidence, verdicts '
        f'and details.</p><p class="filters">{"".join(boxes)}</p>'
    )
    groups = _groups(report.findings)
    clean = sum(1 for _, status, _ in groups if status.level == Level.PASS)
    rows = clean > MAX_PASS_BLOCKS  # many passed subjects: one table row each, their evidence in JSON and CSV
    table = False
    for n, (job, status, findings) in enumerate(groups, 1):
        subject = findings[0].subject
        if rows and status.level == Level.PASS:
            if not table:
                fh.write(
                    f'<h3>Passed ({clean})</h3><p class="small">One row per subject (too many for a block each); '
                    'the JSON and CSV reports list each one\'s evidence.</p><table class="passed"><thead><tr>'
                    "<th>Status</th><th>Subject</th><th>Id</th><th>Sources</th><th>Why</th></tr></thead><tbody>"
                )
                table = True
            sources = findings[0].extra.get("sources")
            fh.write(
                f'<tr class="job-{jobs.index(job)} st-{status.name.lower()}" id="f{n}"><td>{badge(status)}</td>'
                f'<td>{esc(subject.label)}</td><td class="mono">{esc(subject.id)}</td>'
                f"<td>{esc(', '.join(map(str, sources)) if isinstance(sources, list) else '')}</td>"
                f"<td>{'; '.join(linked(reason(f)) for f in findings)}</td></tr>"
            )
            continue
        if table:
            fh.write("</tbody></table>")
            table = False
        reasons = "".join(f'<span class="why">{linked(reason(f))}</span>' for f in findings)
        recorded = " · ".join(
            f"{intro}{esc(subject.attributes[key])}" for key, intro in CONTEXT if subject.attributes.get(key)
        )
        if recorded:
            reasons += f'<span class="why small">{recorded}</span>'
        body = [_attributes(subject)] + [_finding_block(f) for f in findings]
        fh.write(
            f'<details class="subject job-{jobs.index(job)} st-{status.name.lower()}" id="f{n}">'
            f'<summary>{badge(status)} <span class="label">{esc(subject.label)}</span> '
            f'<span class="small">{esc(job)} · {esc(subject.kind)} · {esc(subject.id)}</span>{reasons}</summary>'
            f"{''.join(body)}</details>"
        )
    fh.write("</tbody></table></section>" if table else "</section>")


def _groups(findings: Iterable[Finding]) -> list[tuple[str, Status, list[Finding]]]:
    """(job, status, findings) of each subject: worst status first, by job within a status, then worst subject
    first."""
    jobs = [*JOB_STATUSES, OTHER]
    groups: dict[tuple[str, Status, str, str], tuple[str, Status, list[Finding]]] = {}
    for f in worst_first(findings):
        job = finding_job(f)
        key = (job, f.status, f.subject.kind, f.subject.id)
        groups.setdefault(key, (job, f.status, []))[2].append(f)
    return sorted(groups.values(), key=lambda g: (worst_status_first(g[0], g[1]), jobs.index(g[0])))


def _attributes(subject: Subject) -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{linked(v)}</dd>" for k, v in sorted(subject.attributes.items()))
    return f"<dl>{items}</dl>" if items else ""


def _finding_block(f: Finding) -> str:
    meta = f'<span class="mono">{esc(f.rule)}</span> · severity {f.severity} · confidence {f.confidence:.2f}'
    if f.risk is not None:
        meta += f" · risk {f.risk:.1f}"
    if f.tags:
        meta += f" · tags: {esc(', '.join(f.tags))}"
    meta += f' · key <span class="mono">{esc(f.key)}</span>'
    out = [f"<h4>{badge(f.status)} {esc(f.title)}</h4>", f'<p class="small">{meta}</p>']
    if f.explanation:
        out.append(f"<p>{linked(f.explanation)}</p>")
    if f.evidence:
        rows = "".join(
            f'<tr><td class="mono">{esc(e.rule)}</td><td>{linked(e.value)}</td><td class="mono">{esc(where(e.location))}'
            f"</td><td>{esc(e.data_date or '')}</td><td>{linked(e.detail)}</td></tr>"
            for e in f.evidence
        )
        out.append(
            "<table><thead><tr><th>Evidence rule</th><th>Observed value</th><th>Where</th><th>Data</th>"
            f"<th>Detail</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    if f.verdicts:
        rows = "".join(
            f'<tr><td class="nw">{esc(v.policy)}</td><td>{badge(v.status)}</td><td>{linked(v.citation)}</td>'
            f'<td class="nw">{esc(v.date)}</td><td>{linked(v.reason)}</td></tr>'
            for v in f.verdicts
        )
        out.append(
            "<table><thead><tr><th>Policy</th><th>Verdict</th><th>Citation</th><th>Date</th><th>Reason</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
        )
    details = _new_details(f)
    if details:
        out.append(f"<h4>Details</h4>{readable(details)}")
    return "".join(out)


def _new_details(f: Finding) -> dict[str, Any]:
    """The finding's extras, without empty values and without what the subject's attributes already say."""
    said = set(f.subject.attributes.values())
    out: dict[str, Any] = {}
    for key, value in plain(f.extra).items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
            if ", ".join(str(v) for v in value) in said:
                continue
        elif isinstance(value, str) and value in said:
            continue
        out[key] = value
    return out


def readable(value: Any, depth: int = 0) -> str:
    """A JSON-like value as HTML a person reads: maps as definition lists, lists of scalars joined, lists of maps
    and {"columns", "rows"} tables as tables."""
    if isinstance(value, dict):
        if not value:
            return '<span class="small">none</span>'
        if depth >= MAX_DEPTH:
            return esc(value)
        if set(value) == {"columns", "rows"} and isinstance(value["rows"], list):
            return _table([str(c) for c in value["columns"] or []], value["rows"], depth)
        items = "".join(f"<dt>{esc(k)}</dt><dd>{readable(v, depth + 1)}</dd>" for k, v in value.items())
        return f"<dl>{items}</dl>"
    if isinstance(value, list):
        if not value:
            return '<span class="small">none</span>'
        if depth >= MAX_DEPTH:
            return esc(value)
        if all(isinstance(v, dict) for v in value):
            columns = list(dict.fromkeys(k for v in value for k in v))
            return _table(columns, [[v.get(c, "") for c in columns] for v in value], depth)
        if all(not isinstance(v, (dict, list)) for v in value):
            return ", ".join(linked(v) for v in value)
        return '<ul class="plain">' + "".join(f"<li>{readable(v, depth + 1)}</li>" for v in value) + "</ul>"
    if value is None:
        return '<span class="small">—</span>'
    return linked(value)


def _table(columns: list[str], rows: list[Any], depth: int) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = []
    for row in rows[:MAX_ROWS]:
        cells = row if isinstance(row, list) else [row]
        body.append("<tr>" + "".join(f"<td>{readable(c, depth + 1)}</td>" for c in cells) + "</tr>")
    more = (
        f'<p class="small">… {len(rows) - MAX_ROWS} more rows (all in --format json)</p>'
        if len(rows) > MAX_ROWS
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


# --- errors, data, footer -------------------------------------------------------------------------------------------


def _errors(report: Report) -> str:
    if not report.errors:
        return '<section id="errors"><h2>Input errors</h2><p>Every input was read.</p></section>'
    rows = "".join(
        f'<tr><td class="mono">{esc(where(e.location))}</td><td>{linked(e.message)}</td></tr>' for e in report.errors
    )
    return (
        f'<section id="errors"><h2>Input errors ({len(report.errors)})</h2>'
        '<p class="small">These inputs, or the parts named, were not read; nothing in them was screened.</p>'
        f'<table class="errors"><thead><tr><th>Where</th><th>Problem</th></tr></thead><tbody>{rows}</tbody>'
        "</table></section>"
    )


def _footer(report: Report) -> str:
    data = "".join(
        f"<tr><td>{esc(name)}</td><td>{linked(value)}</td>"
        f"<td>{'' if day is None else f'{age} days' if age else 'today'}</td></tr>"
        for name, value, day, age in data_ages(report)
    )
    inputs = "".join(f'<li class="mono">{esc(p)}</li>' for p in report.inputs)
    return (
        '<section id="data"><h2>Reference data</h2>'
        + (
            "<table><thead><tr><th>Reference data</th><th>Version</th><th>Age</th></tr></thead>"
            f"<tbody>{data}</tbody></table>"
            if data
            else "<p>No reference data recorded.</p>"
        )
        + f"<h3>Inputs</h3><ul>{inputs}</ul>{_run_summary(report)}</section>"
        + f"<footer>bansweep {esc(__version__)} · report schema {esc(SCHEMA)}"
        + (f" · run {esc(report.started)} – {esc(report.finished)}" if report.started else "")
        + "</footer>"
    )


def _run_summary(report: Report) -> str:
    if not report.summary:
        return ""
    return f"<h3>Run figures</h3>{readable(plain(report.summary))}"
