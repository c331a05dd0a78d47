"""HTML for the history: `history … --format html` pages, and `report_section`, the part of a job's HTML report
that shows what changed since the last run and the trend chart (from `report.summary["history"]`).

Every value is escaped after `visible`; the pages allow nothing but their one inline style block (by hash). The
chart is inline SVG drawn with presentation attributes and the report's status classes, no script.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Any

from bansweep import __version__
from bansweep.findings import Finding, Report
from bansweep.reports.json import visible

CSS = """
:root{--covered:#c62828;--review:#f9a825;--ink:#1b1f24;--muted:#5f6b7a;--line:#d8dee4;--bg:#f6f8fa}
body{font:14px/1.45 system-ui,sans-serif;color:var(--ink);margin:0 auto;max-width:1200px;padding:24px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:28px}
.small{color:var(--muted);font-size:12.5px}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;
vertical-align:top;overflow-wrap:anywhere}th{background:var(--bg)}
svg{width:100%;height:auto;display:block}svg text{font:12px system-ui,sans-serif;fill:var(--ink)}
.s-covered{fill:var(--covered)}.s-review{fill:var(--review)}
"""
MAX_ROWS = 500  # rows per table in a report section (the full lists are in `bansweep history diff`)


def esc(value: object) -> str:
    return escape(visible("" if value is None else value), quote=True)


def page(title: str, body: str) -> str:
    digest = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}"><meta name="referrer" content="no-referrer">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><h1>{esc(title)}</h1>{body}"
        f'<footer class="small">bansweep {esc(__version__)}</footer></body></html>\n'
    )


def table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def trend_chart(points: list[dict[str, Any]]) -> str:
    """Grouped bars per run: findings at hit level (covered, match, high, critical) and at review level."""
    if not points:
        return "<p>No runs yet.</p>"
    width, height, left, bottom, top = 760, 240, 48, 40, 16
    top_value = max(max(p["covered"], p["review"]) for p in points) or 1
    slot = (width - left - 10) / len(points)
    bar = max(2.0, min(28.0, slot / 2 - 4))
    scale = (height - bottom - top) / top_value
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="covered and review findings per run">']
    for frac in (0, 0.5, 1):
        y = height - bottom - frac * top_value * scale
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d8dee4"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{round(frac * top_value)}</text>')
    for i, p in enumerate(points):
        x = left + i * slot + slot / 2
        for offset, name in ((-bar - 1, "covered"), (1, "review")):
            h = p[name] * scale
            parts.append(
                f'<rect class="s-{name}" x="{x + offset:.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}"><title>run {esc(p["run"])}: {esc(p[name])} {name}</title></rect>'
            )
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 15}" text-anchor="middle">#{esc(p["run"])}</text>')
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 30}" text-anchor="middle" fill="#5f6b7a">'
            f"{esc(str(p.get('finished') or '')[:10])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts) + (
        '<p class="small">Per run: red, findings at hit level (covered, covered-limited, match, high, critical); '
        "amber, findings to review (review, possible-match, medium, not-screened).</p>"
    )


def report_section(report: Report) -> str:
    """'Changed since the last run' and the trend, for a job's HTML report ('' when the run was not recorded)."""
    history = report.summary.get("history")
    if not isinstance(history, dict):
        return ""
    out = ['<section id="history"><h2>Changed since the last run</h2>']
    previous = history.get("previous")
    if previous is None:
        out.append(f"<p>Run {esc(history.get('run'))} is the first recorded over these inputs; nothing to compare.</p>")
    else:
        out.append(
            f"<p>Run {esc(history.get('run'))} against run {esc(previous)}: {esc(history.get('new'))} new, "
            f"{esc(history.get('resolved'))} resolved, {esc(history.get('changed'))} changed, "
            f"{esc(history.get('unchanged'))} unchanged findings.</p>"
        )
        marked = [f for f in report.findings if isinstance(f.extra.get("since_last_run"), dict)]
        out.append("<h3>New and changed</h3>" + table(["Change", "Status", "Subject", "Finding", "Key"], _rows(marked)))
        resolved = history.get("resolved_findings") or []
        rows = [[f.get("status"), f.get("label"), f.get("title"), f.get("key")] for f in resolved[:MAX_ROWS]]
        more = len(resolved) < (history.get("resolved") or 0)
        out.append(
            "<h3>Resolved (no longer found)</h3>"
            + table(["Status before", "Subject", "Finding", "Key"], rows)
            + ('<p class="small">More in <code>bansweep history diff</code>.</p>' if more else "")
        )
    out.append("<h3>Trend</h3>" + trend_chart(list(history.get("trend") or [])))
    out.append(f'<p class="small">History store: {esc(history.get("store"))}</p></section>')
    return "".join(out)


def _rows(findings: list[Finding]) -> list[list[Any]]:
    rows = []
    for f in findings[:MAX_ROWS]:
        mark = f.extra["since_last_run"]
        change = mark.get("change")
        if change == "changed":
            change = f"changed (was {mark.get('status_before')})"
        rows.append([change, f.status.value, f.subject.label, f.title, f.key])
    return rows
