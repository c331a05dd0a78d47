"""Single-file HTML report: inline CSS and SVG charts, no scripts, no external resources.

Every value from the inputs is escaped (`html.escape` with quotes, after `visible` shows control and bidi
characters as escapes); element ids are generated, never taken from the data. A Content-Security-Policy meta tag
allows nothing but the one inline style block (by its hash), so even a missed escape could not load or run
anything. Charts count subjects (a subject counts once per bar, at its worst status there) and are built from
what the report holds: subject attributes such as vendor/group/list/country, policy verdicts, evidence source
files, rules and tags — whichever are present, so fleet, firmware and parties reports all get useful charts.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from html import escape

from bansweep import __version__
from bansweep.findings import Finding, Level, Report, Status, Subject
from bansweep.reports.json import SCHEMA, by_subject, plain, status_counts, visible, worst_first

PREFERRED_KEYS = ("vendor", "maker", "manufacturer", "brand", "group", "list", "country", "image")
PLACE_KEYS = ("file", "path", "row", "line")  # already charted by source file
MAX_ATTRIBUTE_CHARTS = 3
MAX_BARS = 12
STATUS_ORDER = sorted(Status, key=lambda s: s.order, reverse=True)  # worst first

CSS = """
:root{--critical:#7b1fa2;--hit:#c62828;--review:#f9a825;--low:#1565c0;--pass:#2e7d32;
--ink:#1b1f24;--muted:#5f6b7a;--line:#d8dee4;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",
"Microsoft YaHei","PingFang SC",sans-serif;color:var(--ink);margin:0 auto;
max-width:1200px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 10px;border-bottom:1px solid var(--line);
padding-bottom:4px}h3{font-size:15px;margin:0 0 8px}h4{font-size:14px;margin:14px 0 4px}
.meta,.small{color:var(--muted);font-size:12.5px}
nav a{margin-right:14px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px;background:var(--bg)}
.card b{display:block;font-size:22px}
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
details{border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:6px 12px}
summary{cursor:pointer;font-weight:600}
summary .small{font-weight:400}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}dt{color:var(--muted)}dd{margin:0}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.errors td:first-child,.nw{white-space:nowrap}
footer{margin-top:32px;color:var(--muted);font-size:12.5px}
@media print{details{break-inside:avoid}nav{display:none}.charts{grid-template-columns:1fr 1fr}}
"""


def esc(value: object) -> str:
    return escape(visible(value), quote=True)


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
    style_hash = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'sha256-{style_hash}'; base-uri 'none'; form-action 'none'"
    title = f"bansweep {esc(report.job)} report"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{title}</h1>{_run_line(report)}</header>",
        _cards(report),
        '<nav><a href="#overview">Overview</a><a href="#findings">Findings</a><a href="#evidence">Evidence</a>'
        '<a href="#errors">Input errors</a><a href="#data">Data versions</a></nav>',
        _overview(report),
        _findings(report),
        _evidence(report),
        _errors(report),
        _footer(report),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _run_line(report: Report) -> str:
    times = f" · started {esc(report.started)} · finished {esc(report.finished)}" if report.started else ""
    return f'<p class="meta">bansweep {esc(__version__)}{times} · {len(report.inputs)} input(s)</p>'


def _cards(report: Report) -> str:
    counts = status_counts(report)
    cards = [("Subjects examined", report.subjects), ("Findings", len(report.findings))]
    cards += [(badge(status), n) for status, n in counts.items()]
    cards.append(("Input errors", len(report.errors)))
    body = "".join(f'<div class="card"><b>{n}</b>{label}</div>' for label, n in cards)
    return f'<section class="cards">{body}</section>'


# --- charts -------------------------------------------------------------------------------------------------------


def _overview(report: Report) -> str:
    charts = [_chart(title, bars, paths) for title, bars, paths in _chart_data(report.findings) if bars]
    used = {f.status for f in report.findings} | {v.status for f in report.findings for v in f.verdicts}
    body = f'<div class="charts">{"".join(charts)}</div>' if charts else "<p>No findings to chart.</p>"
    return f'<section id="overview"><h2>Overview</h2>{legend(used)}{body}</section>'


Bars = list[tuple[str, Counter[Status]]]


def _chart_data(findings: list[Finding]) -> list[tuple[str, Bars, bool]]:
    """(title, bars, labels are paths) for each chart the findings support."""
    out: list[tuple[str, Bars, bool]] = []
    kinds = {f.subject.kind for f in findings}
    if len(kinds) > 1:
        out.append(("Subjects by kind", _count(findings, lambda f: [f.subject.kind]), False))
    for key in _attribute_keys([f.subject for f in findings]):
        out.append((f"Subjects by {key}", _count(findings, _attribute(key)), False))
    out.append(("Subjects by policy (verdict status)", _by_policy(findings), False))
    out.append(("Subjects by source file", _count(findings, lambda f: [e.location.file for e in f.evidence]), True))
    out.append(("Subjects by rule", _count(findings, lambda f: [f.rule]), False))
    out.append(("Subjects by tag", _count(findings, lambda f: f.tags), False))
    return out


def _attribute(key: str) -> Callable[[Finding], list[str]]:
    def labels(f: Finding) -> list[str]:
        value = f.subject.attributes.get(key)
        return [value] if value is not None else []

    return labels


def _attribute_keys(subjects: list[Subject]) -> list[str]:
    """Attribute keys worth a chart: the usual grouping keys first, then keys whose values repeat (not ids)."""
    unique = {(s.kind, s.id): s for s in subjects}.values()
    present: Counter[str] = Counter(k for s in unique for k in s.attributes if k not in PLACE_KEYS)
    values: dict[str, set[str]] = {}
    for s in unique:
        for k, v in s.attributes.items():
            if k in present:
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


def _chart(title: str, bars: Bars, paths: bool) -> str:
    label_w, bar_w, count_w, row_h = 170, 300, 50, 24
    width = label_w + bar_w + count_w
    height = row_h * len(bars) + 6
    top = max(sum(c.values()) for _, c in bars)
    rows = []
    for i, (label, counts) in enumerate(bars):
        y = 3 + i * row_h
        total = sum(counts.values())
        short = visible(label)
        if len(short) > 24:  # a path keeps its end (the file name), anything else its start
            short = "…" + short[-23:] if paths else short[:23] + "…"
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


# --- tables -------------------------------------------------------------------------------------------------------


def _findings(report: Report) -> str:
    if not report.findings:
        return '<section id="findings"><h2>Findings</h2><p>No findings.</p></section>'
    anchors = {(s.kind, s.id): f"s{i}" for i, (s, _) in enumerate(by_subject(report.findings), 1)}
    rows = []
    for n, f in enumerate(worst_first(report.findings), 1):
        s = f.subject
        first = f.evidence[0] if f.evidence else None
        where = f'{esc(first.value)}<br><span class="small mono">{esc(first.location)}</span>' if first else ""
        more = f' <span class="small">+{len(f.evidence) - 1} more</span>' if len(f.evidence) > 1 else ""
        verdicts = "<br>".join(f"{esc(v.policy)} {badge(v.status)}" for v in f.verdicts)
        rows.append(
            f'<tr><td class="nw">{n}</td><td>{badge(f.status)}</td><td class="nw">{f.severity}</td>'
            f'<td><a href="#{anchors[(s.kind, s.id)]}">{esc(s.label)}</a><br>'
            f'<span class="small">{esc(s.kind)} · {esc(s.id)}</span></td>'
            f'<td>{esc(f.title)}<br><span class="small mono">{esc(f.rule)}</span></td>'
            f"<td>{verdicts}</td><td>{where}{more}</td></tr>"
        )
    head = "<tr><th>#</th><th>Status</th><th>Severity</th><th>Subject</th><th>Finding</th><th>Verdicts</th>"
    head += "<th>Key evidence</th></tr>"
    return f'<section id="findings"><h2>Findings</h2><table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></section>'


def _evidence(report: Report) -> str:
    blocks = []
    for i, (subject, findings) in enumerate(by_subject(report.findings), 1):
        worst = findings[0].status
        is_open = "" if worst.level is Level.PASS else " open"  # open, so a printed report shows the evidence
        attrs = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in sorted(subject.attributes.items()))
        body = [f"<dl>{attrs}</dl>" if attrs else ""]
        body += [_finding_block(f) for f in findings]
        blocks.append(
            f'<details id="s{i}"{is_open}><summary>{badge(worst)} {esc(subject.label)} '
            f'<span class="small">{esc(subject.kind)} · {esc(subject.id)} · {len(findings)} finding(s)</span>'
            f"</summary>{''.join(body)}</details>"
        )
    content = "".join(blocks) or "<p>No findings.</p>"
    return f'<section id="evidence"><h2>Evidence per subject</h2>{content}</section>'


def _finding_block(f: Finding) -> str:
    out = [
        f"<h4>{badge(f.status)} {esc(f.title)}</h4>",
        f'<p class="small"><span class="mono">{esc(f.rule)}</span> · severity {f.severity} · '
        f"confidence {f.confidence:.2f}" + (f" · tags: {esc(', '.join(f.tags))}" if f.tags else "") + "</p>",
    ]
    if f.explanation:
        out.append(f"<p>{esc(f.explanation)}</p>")
    if f.evidence:
        rows = "".join(
            f'<tr><td class="mono">{esc(e.rule)}</td><td>{esc(e.value)}</td><td class="mono">{esc(e.location)}</td>'
            f"<td>{esc(e.data_date or '')}</td><td>{esc(e.detail)}</td></tr>"
            for e in f.evidence
        )
        out.append(
            "<table><thead><tr><th>Evidence rule</th><th>Observed value</th><th>Where</th><th>Data</th>"
            f"<th>Detail</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    if f.verdicts:
        rows = "".join(
            f'<tr><td class="nw">{esc(v.policy)}</td><td>{badge(v.status)}</td><td>{esc(v.citation)}</td>'
            f'<td class="nw">{esc(v.date)}</td>'
            f"<td>{esc(v.reason)}</td></tr>"
            for v in f.verdicts
        )
        out.append(
            "<table><thead><tr><th>Policy</th><th>Verdict</th><th>Citation</th><th>Date</th><th>Reason</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
        )
    if f.extra:
        items = "".join(
            f'<dt>{esc(k)}</dt><dd class="mono">{esc(json.dumps(plain(v), ensure_ascii=False))}</dd>'
            for k, v in sorted(f.extra.items(), key=lambda kv: visible(kv[0]))
        )
        out.append(f"<dl>{items}</dl>")
    return "".join(out)


def _errors(report: Report) -> str:
    if not report.errors:
        return '<section id="errors"><h2>Input errors</h2><p>Every input was read.</p></section>'
    rows = "".join(f'<tr><td class="mono">{esc(e.location)}</td><td>{esc(e.message)}</td></tr>' for e in report.errors)
    return (
        f'<section id="errors"><h2>Input errors ({len(report.errors)})</h2>'
        '<p class="small">These inputs, or the parts named, were not read; nothing in them was screened.</p>'
        f'<table class="errors"><thead><tr><th>Where</th><th>Problem</th></tr></thead><tbody>{rows}</tbody>'
        "</table></section>"
    )


def _footer(report: Report) -> str:
    data = "".join(
        f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>"
        for k, v in sorted(report.data_versions.items(), key=lambda kv: visible(kv[0]))
    )
    inputs = "".join(f'<li class="mono">{esc(p)}</li>' for p in report.inputs)
    return (
        '<section id="data"><h2>Data versions</h2>'
        + (
            f"<table><thead><tr><th>Reference data</th><th>Version</th></tr></thead><tbody>{data}</tbody></table>"
            if data
            else "<p>No reference data recorded.</p>"
        )
        + f"<h3>Inputs</h3><ul>{inputs}</ul>{_summary(report)}</section>"
        + f"<footer>bansweep {esc(__version__)} · report schema {esc(SCHEMA)}"
        + (f" · run {esc(report.started)} – {esc(report.finished)}" if report.started else "")
        + "</footer>"
    )


def _summary(report: Report) -> str:
    if not report.summary:
        return ""
    items = "".join(
        f'<dt>{esc(k)}</dt><dd class="mono">{esc(json.dumps(v, ensure_ascii=False))}</dd>'
        for k, v in plain(report.summary).items()
    )
    return f"<h3>Run summary</h3><dl>{items}</dl>"
