"""Terminal report: a rich table rendered to a string, colour only when writing to a terminal.

Layout: a header (job, inputs, subjects examined, findings by status); findings grouped by subject, worst first,
each with what was found, its key evidence with location and the policy verdicts with citation; the input errors
with their location; a footer with data versions and the tool version. Fits 80 columns (cells wrap).
Every value from the inputs goes through `visible` (control and bidi characters escaped) and rich `Text`
(never markup), so a hostile device name cannot restyle or drive the terminal.
"""

from __future__ import annotations

import os
import shutil
import sys
from io import StringIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bansweep import __version__
from bansweep.findings import Finding, Level, Report, Status, Subject
from bansweep.reports.json import by_subject, status_counts, visible

MAX_ROWS = 500  # findings listed (worst first); a terminal shows no more usefully, and rich takes ~3 ms a row
MAX_EVIDENCE = 5  # evidence items shown per finding; the rest are counted (all are in json/html/csv)
MAX_ATTRIBUTES = 6
# one colour per level of the shared ordering: each job's own words, coloured by how bad they are
LEVEL_STYLE = {
    Level.PASS: "green",
    Level.LOW: "blue",
    Level.REVIEW: "yellow",
    Level.HIT: "bold red",
    Level.CRITICAL: "bold red reverse",
}
STYLE = {s: LEVEL_STYLE[s.level] for s in Status}


def render(report: Report, *, width: int | None = None, color: bool | None = None) -> str:
    tty = sys.stdout.isatty()
    if color is None:
        color = tty and "NO_COLOR" not in os.environ
    if width is None:
        width = shutil.get_terminal_size((120, 24)).columns if tty else 120
    out = StringIO()
    console = Console(
        file=out,
        width=max(width, 40),
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        markup=False,
    )
    console.print(_header(report))
    console.print()
    if report.findings:
        console.print(_findings(report))
    else:
        console.print(Text("No findings.", style="bold"))
    if report.errors:
        console.print()
        console.print(_errors(report))
    console.print()
    console.print(_footer(report))
    return out.getvalue()


def _header(report: Report) -> Text:
    head = Text(f"bansweep {visible(report.job)}", style="bold")
    shown = ", ".join(visible(p) for p in report.inputs[:5])
    more = f" (+{len(report.inputs) - 5} more)" if len(report.inputs) > 5 else ""
    head.append(f"\nInputs: {len(report.inputs)}" + (f" — {shown}{more}" if shown else ""))
    head.append(f"\nSubjects examined: {report.subjects}")
    head.append(f"\nFindings: {len(report.findings)}")
    counts = status_counts(report)
    for i, (status, n) in enumerate(counts.items()):
        head.append(" (" if i == 0 else ", ")
        head.append(f"{n} {status}", style=STYLE[Status(status)])
    if counts:
        head.append(")")
    head.append(f"\nInput errors: {len(report.errors)}", style="bold red" if report.errors else "")
    return head


def _findings(report: Report) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_lines=False, expand=True, title="Findings", title_justify="left")
    table.add_column("Status", no_wrap=True, min_width=8)
    table.add_column("Subject", ratio=1, overflow="fold")
    table.add_column("Finding, evidence and verdicts", ratio=2, overflow="fold")
    rows = [(subject, i, finding) for subject, group in by_subject(report.findings) for i, finding in enumerate(group)]
    shown = rows[:MAX_ROWS]
    for n, (subject, i, finding) in enumerate(shown):
        last_of_subject = n + 1 == len(shown) or shown[n + 1][1] == 0
        status = Text(finding.status.value, style=STYLE[finding.status])
        cell = _subject(subject) if i == 0 else Text(f"({visible(subject.label)})", style="dim")
        table.add_row(status, cell, _finding(finding), end_section=last_of_subject and n + 1 < len(shown))
    if len(rows) > len(shown):
        rest = rows[len(shown) :]
        subjects = len({(s.kind, s.id) for s, _, _ in rest})
        table.caption = (
            f"… {len(rest)} more finding(s) on {subjects} subject(s), none worse than those above, are not listed "
            "here: --format csv, json, html or sarif lists every finding."
        )
        table.caption_justify = "left"
    return table


def _subject(subject: Subject) -> Text:
    out = Text(visible(subject.label), style="bold")
    out.append(f"\n{visible(subject.kind)} {visible(subject.id)}", style="dim")
    for key, value in sorted(subject.attributes.items())[:MAX_ATTRIBUTES]:
        out.append(f"\n{visible(key)}: {visible(value)}")
    if len(subject.attributes) > MAX_ATTRIBUTES:
        out.append(f"\n… {len(subject.attributes) - MAX_ATTRIBUTES} more attributes", style="dim")
    return out


def _finding(finding: Finding) -> Text:
    out = Text(visible(finding.title), style="bold")
    out.append(f"\n{visible(finding.rule)} · {finding.severity} · confidence {finding.confidence:.2f}", style="dim")
    if finding.explanation:
        out.append(f"\n{visible(finding.explanation)}")
    if finding.evidence:
        out.append("\nEvidence:", style="underline")
        for ev in finding.evidence[:MAX_EVIDENCE]:
            out.append(f"\n • {visible(ev.rule)}: ")
            out.append(visible(ev.value), style="bold")
            out.append(f" — {visible(ev.location)}")
            if ev.data_date:
                out.append(f" (data {visible(ev.data_date)})", style="dim")
            if ev.detail:
                out.append(f"; {visible(ev.detail)}", style="dim")
        if len(finding.evidence) > MAX_EVIDENCE:
            out.append(f"\n … {len(finding.evidence) - MAX_EVIDENCE} more evidence items", style="dim")
    if finding.verdicts:
        out.append("\nVerdicts:", style="underline")
        for v in finding.verdicts:
            out.append(f"\n • {visible(v.policy)}: ")
            out.append(v.status.value, style=STYLE[v.status])
            out.append(f" — {visible(v.citation)} ({visible(v.date)})")
            if v.reason:
                out.append(f": {visible(v.reason)}")
    if finding.tags:
        out.append("\nTags: " + ", ".join(visible(t) for t in finding.tags), style="dim")
    return out


def _errors(report: Report) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=True, title=f"Input errors ({len(report.errors)})", title_justify="left")
    table.add_column("Where", ratio=1, overflow="fold")
    table.add_column("Problem", ratio=2, overflow="fold")
    for error in report.errors[:MAX_ROWS]:
        table.add_row(Text(visible(error.location)), Text(visible(error.message)))
    if len(report.errors) > MAX_ROWS:
        table.caption = (
            f"… {len(report.errors) - MAX_ROWS} more input error(s): --format csv, json, html or sarif lists all."
        )
        table.caption_justify = "left"
    return table


def _footer(report: Report) -> Text:
    out = Text("Data: ", style="dim")
    data = ", ".join(f"{visible(k)} {visible(v)}" for k, v in sorted(report.data_versions.items()))
    out.append(data or "no reference data recorded", style="dim")
    out.append(f"\nbansweep {__version__}", style="dim")
    if report.started or report.finished:
        out.append(f" · started {visible(report.started)} · finished {visible(report.finished)}", style="dim")
    return out
