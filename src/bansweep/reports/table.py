"""Terminal report: a short summary, then a few lines per finding, then what to do next.

Layout (tidy at 80 columns, colour only on a terminal):
- summary: findings by job and status word, subjects examined, inputs by detected kind, reference data with its
  date and age, warnings (reference data that is missing, unreadable inputs);
- findings grouped by job, worst status first (Status.order); a subject's findings of one status together:
  status and subject on the first line, one line of reason per finding, then its key evidence in the inputs as
  `file:line` / `file row N` (several places in one file as `file:3,7`). At most 3 lines per finding.
- input errors, one per place;
- the next step.
With details=True each finding shows its full explanation, every evidence item (knowledge files named as
`knowledge vendors.yaml#zte`, not by their installed path), its verdicts with citation and date, and its key.

Every value from the inputs goes through `visible` (control and bidi characters escaped) and rich `Text` (never
markup), so a hostile device name cannot restyle or drive the terminal.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterable
from io import StringIO

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from bansweep import __version__
from bansweep.findings import JOB_STATUSES, Finding, Level, Location, Report, Status, Subject
from bansweep.reports.json import (
    CONTEXT,
    OTHER,
    data_ages,
    evidence_base,
    finding_job,
    input_kinds,
    job_counts,
    one_line,
    reason,
    visible,
    where,
    worst_first,
    worst_status_first,
)

MAX_ROWS = 500  # subject lines listed (worst first); the rest are counted (every format but this lists all)
MAX_ERRORS = 200
MAX_EVIDENCE = 12  # evidence items shown per finding with details; the rest are counted
MAX_KINDS = 6  # input kinds named in the summary
# one colour per level of the shared ordering: each job's own words, coloured by how bad they are
LEVEL_STYLE = {
    Level.PASS: "green",
    Level.LOW: "blue",
    Level.REVIEW: "yellow",
    Level.HIT: "bold red",
    Level.CRITICAL: "bold red reverse",
}
STYLE = {s: LEVEL_STYLE[s.level] for s in Status}
LABEL = 10  # width of the summary's labels


def render(report: Report, *, width: int | None = None, color: bool | None = None, details: bool = False) -> str:
    tty = sys.stdout.isatty()
    if color is None:
        color = tty and "NO_COLOR" not in os.environ
    if width is None:
        width = shutil.get_terminal_size((80, 24)).columns if tty else 80
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
        soft_wrap=False,
    )
    base = evidence_base(report)
    console.print(_summary(report, base))
    shown = _findings(report, console, details, base)
    _errors(report, console)
    console.print()
    console.print(_next_step(report, shown, details))
    text = out.getvalue()
    if not color:
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    return text


# --- summary --------------------------------------------------------------------------------------------------------


def _summary(report: Report, base: str) -> Table:
    head = Text(f"bansweep {visible(report.job)}", style="bold")
    head.append(f" · {len(report.findings)} finding(s) · {report.subjects} subject(s) examined", style="bold")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=LABEL, no_wrap=True)
    grid.add_column(overflow="fold")
    headlines = [v for k, v in report.summary.items() if (k == "headline" or k.endswith(".headline")) and v]
    for headline in headlines:  # e.g. parties: not screened against a missing or stale list
        grid.add_row(Text("Screening", style="bold"), Text(visible(str(headline)), style="bold yellow"))
    counts = job_counts(report)
    for i, (job, statuses) in enumerate(counts.items()):
        line = Text(f"{visible(job)} {sum(statuses.values())}: ")
        for n, (status, count) in enumerate(statuses.items()):
            line.append(" · " if n else "")
            line.append(f"{count} {status}", style=STYLE[Status(status)])
        grid.add_row("Findings" if i == 0 else "", line)
    if not counts:
        grid.add_row("Findings", Text("none", style=LEVEL_STYLE[Level.PASS]))
    inside = "; places below are inside it" if report.inputs == [base.rstrip("/")] else f"; places below are in {base}"
    grid.add_row("Inputs", Text(_inputs(report) + (visible(inside) if base else "")))
    for job, part in report.summary.items():  # fleet: devices recorded as no longer in use
        if (job == "not_in_use" or job.endswith(".not_in_use")) and isinstance(part, dict) and part.get("devices"):
            how = "counted as asked (--count-retired)" if part.get("counted") else "not counted as in use"
            grid.add_row(
                "Not in use",
                Text(f"{part['devices']} device(s) recorded as retired, disposed of, lost or stolen: {how}"),
            )
    for job, part in report.summary.items():  # firmware: the build's device-level risk
        if isinstance(part, dict) and isinstance(part.get("device_risk"), dict):
            risk = part["device_risk"]
            grid.add_row(
                "Risk", Text(f"{visible(job)} device {risk.get('score')} ({visible(str(risk.get('severity')))})")
            )
    versions, missing = _data(report)
    if versions:
        grid.add_row("Data", Text(versions))
    # a list the headline already names as not screened against is not warned about twice
    warnings = [f"{name}: {text}" for name, text in missing if not any(f" {name}:" in str(h) for h in headlines)]
    if report.errors:
        warnings.append(f"{len(report.errors)} input(s) or parts could not be read; nothing in them was screened")
    for i, warning in enumerate(warnings):
        grid.add_row(Text("Warnings" if i == 0 else "", style="bold yellow"), Text(warning, style="yellow"))
    return _stack(head, grid)


def _stack(*items: RenderableType) -> Table:
    table = Table.grid()
    for item in items:
        table.add_row(item)
    return table


def _inputs(report: Report) -> str:
    """Inputs by detected kind, else the inputs as given."""
    kinds = input_kinds(report)
    if not kinds:
        shown = ", ".join(visible(p) for p in report.inputs[:3])
        more = f" (+{len(report.inputs) - 3} more)" if len(report.inputs) > 3 else ""
        return f"{len(report.inputs)}" + (f": {shown}{more}" if shown else "")
    by_kind = list(kinds.items())
    text = " · ".join(f"{visible(kind)} {n}" for kind, n in by_kind[:MAX_KINDS])
    if len(by_kind) > MAX_KINDS:
        text += f" · {len(by_kind) - MAX_KINDS} more kinds"
    return f"{sum(kinds.values())} file(s): {text}"


def _data(report: Report) -> tuple[str, list[tuple[str, str]]]:
    """Each reference data set with its oldest date and age; those without a date are warnings."""
    parts: list[str] = []
    missing: list[tuple[str, str]] = []
    for name, value, day, age in data_ages(report):
        if day is None:
            missing.append((visible(name), visible(value)))
        else:
            parts.append(f"{visible(name)} {day.isoformat()}" + (f" ({age} days)" if age else ""))
    return " · ".join(parts), missing


# --- findings -------------------------------------------------------------------------------------------------------


Group_ = tuple[str, Status, Subject, list[Finding]]


def _groups(findings: Iterable[Finding]) -> list[Group_]:
    """(job, status, subject, findings): by job (JOB_STATUSES order), worst status first, then worst subject first."""
    jobs = [*JOB_STATUSES, OTHER]
    groups: dict[tuple[str, Status, str, str], Group_] = {}
    for f in worst_first(findings):
        job = finding_job(f)
        key = (job, f.status, f.subject.kind, f.subject.id)
        if key not in groups:
            groups[key] = (job, f.status, f.subject, [])
        groups[key][3].append(f)
    return sorted(groups.values(), key=lambda g: (jobs.index(g[0]), worst_status_first(g[0], g[1])))


def _findings(report: Report, console: Console, details: bool, base: str) -> int:
    """Print the findings; returns how many subject groups were shown. Devices judged not covered (fleet lists every
    examined device) are one count line here; the other formats list each."""
    clean = [f for f in report.findings if f.status is Status.NOT_COVERED]
    groups = _groups(f for f in report.findings if f.status is not Status.NOT_COVERED)
    worst = sorted(range(len(groups)), key=lambda i: (-groups[i][1].order[0], -groups[i][1].order[1], i))
    keep = set(worst[:MAX_ROWS])  # the worst subjects of any job, listed by job
    shown = [g for i, g in enumerate(groups) if i in keep]
    job = None
    for g in shown:
        if g[0] != job:
            job = g[0]
            n = sum(len(x[3]) for x in groups if x[0] == job)
            console.print()
            console.print(Text(f"{visible(job)} — {n} finding(s)", style="bold underline"))
            pad = max(len(s.value) for s in {x[1] for x in groups if x[0] == job}) + 2
        _group(console, g, pad, details, base)
    if clean:
        console.print()
        console.print(
            Text(
                f"{len(clean)} device(s) examined and judged not covered (not listed here): --format csv, json or "
                "html lists each with its sources.",
                style="dim",
            )
        )
    if len(groups) > len(shown):
        rest = [g for i, g in enumerate(groups) if i not in keep]
        console.print(
            Text(
                f"… {sum(len(g[3]) for g in rest)} more finding(s) on {len(rest)} subject(s), none worse than those "
                "above: --format csv, json, html or sarif lists every finding.",
                style="dim",
            )
        )
    return len(shown)


def _group(console: Console, group: Group_, pad: int, details: bool, base: str) -> None:
    _, status, subject, findings = group
    first = Text("  ")
    first.append(status.value, style=STYLE[status])
    first.append(" " * (pad - 1 - len(status.value)))
    first.append(visible(subject.label), style="bold")
    if details:
        first.append(f"  {visible(subject.kind)} {visible(subject.id)}", style="dim")
    console.print(first, no_wrap=True, overflow="ellipsis")
    indent = pad + 1
    if details:
        body: list[RenderableType] = []
        attrs = "; ".join(f"{visible(k)}: {visible(v)}" for k, v in sorted(subject.attributes.items()))
        if attrs:
            body.append(Text(attrs, style="dim"))
        body += [_detail(f) for f in findings]
        console.print(Padding(Group(*body), (0, 0, 0, 4)))  # room for the full text
        return
    for f in findings:
        console.print(Text(" " * indent + reason(f)), no_wrap=True, overflow="ellipsis")
    places = _places((e.location for f in findings for e in f.evidence), base)
    recorded = _context(subject)
    if places or recorded:
        shown = " · ".join(p for p in (places, recorded) if p)
        console.print(Text(" " * indent + shown, style="dim"), no_wrap=True, overflow="ellipsis")


def _context(subject: Subject) -> str:
    """'in use: no (Retired) · HQ Building 1 · Jane Smith · tag P1000123'."""
    values = subject.attributes
    return " · ".join(f"{intro}{visible(values[key])}" for key, intro in CONTEXT if values.get(key))


def _places(locations: Iterable[Location], base: str) -> str:
    """Key evidence in the inputs, each file once: `a.xml:3,7 · b.csv row 4 · c.zip!system/x.apk`."""
    per_file: dict[str, list[str]] = {}
    knowledge: list[str] = []
    for loc in locations:
        shown = where(loc)
        if shown.startswith("knowledge "):
            if shown not in knowledge:
                knowledge.append(shown)
            continue
        file = loc.file[len(base) :] if base and loc.file.startswith(base) else loc.file
        parts = per_file.setdefault(visible(file), [])
        if loc.entry:
            place = f"!{visible(loc.entry)}" + (f":{loc.line}" if loc.line is not None else "")
        elif loc.line is not None:
            place = f":{loc.line}"
        elif loc.row is not None:
            place = f" row {loc.row}"
        else:
            place = ""
        if place not in parts:
            parts.append(place)
    items = []
    for file, places in per_file.items():
        lines = sorted((p[1:] for p in places if p.startswith(":")), key=_number)
        rows = sorted((p[5:] for p in places if p.startswith(" row ")), key=_number)
        entries = [p for p in places if p.startswith("!")]
        if lines:
            items.append(f"{file}:{','.join(lines)}")
        if rows:
            items.append(f"{file} row{'s' if len(rows) > 1 else ''} {','.join(rows)}")
        items += [f"{file}{e}" for e in entries]
        if not (lines or rows or entries):
            items.append(file)
    return " · ".join(items or knowledge)


def _number(value: str) -> tuple[int, str]:
    return (int(value), "") if value.lstrip("-").isdigit() else (0, value)


def _detail(f: Finding) -> Group:
    parts: list[RenderableType] = []
    head = Text(reason(f), style="bold")
    head.append(f"\n{visible(f.rule)} · {f.severity} · confidence {f.confidence:.2f}", style="dim")
    if f.risk is not None:
        head.append(f" · risk {f.risk:.1f}", style="dim")
    head.append(f" · key {f.key}", style="dim")
    parts.append(head)
    if f.explanation and one_line(visible(f.explanation)) != reason(f):
        parts.append(Text(visible(f.explanation)))
    if f.evidence:
        lines = Text("Evidence:", style="underline")
        for ev in f.evidence[:MAX_EVIDENCE]:
            lines.append(f"\n • {visible(ev.rule)}: ")
            lines.append(one_line(visible(ev.value)), style="bold")
            lines.append(f" — {where(ev.location)}")
            if ev.data_date:
                lines.append(f" (data {visible(ev.data_date)})", style="dim")
            if ev.detail and ev.detail != f.explanation:
                lines.append(f"\n   {one_line(visible(ev.detail))}", style="dim")
        if len(f.evidence) > MAX_EVIDENCE:
            lines.append(f"\n … {len(f.evidence) - MAX_EVIDENCE} more evidence items (all in json/html/csv)")
        parts.append(lines)
    if f.verdicts:
        lines = Text("Verdicts:", style="underline")
        for v in f.verdicts:
            lines.append(f"\n • {visible(v.policy)}: ")
            lines.append(v.status.value, style=STYLE[v.status])
            lines.append(f" — {visible(v.citation)} ({visible(v.date)})")
            if v.reason:
                lines.append(f": {visible(v.reason)}")
        parts.append(lines)
    if f.tags:
        parts.append(Text("Tags: " + ", ".join(visible(t) for t in f.tags), style="dim"))
    return Group(*parts)


# --- errors and next step -------------------------------------------------------------------------------------------


def _errors(report: Report, console: Console) -> None:
    if not report.errors:
        return
    console.print()
    console.print(Text(f"Input errors — {len(report.errors)}, not screened", style="bold red underline"))
    for error in report.errors[:MAX_ERRORS]:
        line = Text(f"  {where(error.location)}: ", style="bold")
        line.append(visible(error.message))
        console.print(Padding(line, (0, 0, 0, 0)))
    if len(report.errors) > MAX_ERRORS:
        console.print(Text(f"… {len(report.errors) - MAX_ERRORS} more: --format csv, json, html or sarif lists all."))


def _next_step(report: Report, shown: int, details: bool) -> Text:
    levels = Counter(f.status.level for f in report.findings)
    hits = levels[Level.CRITICAL] + levels[Level.HIT]
    review = levels[Level.REVIEW]
    steps: list[str] = []
    if report.errors:
        steps.append(f"fix the {len(report.errors)} unreadable input(s) above and run again")
    if hits:
        steps.append(f"act on the {hits} hit(s): remove or replace, or record why they stay")
    if review:
        steps.append(f"decide the {review} finding(s) to review")
    if not steps:
        steps.append("nothing to act on; keep this report with the data versions above as the record")
    more = " `--details` shows every evidence item and verdict;" if not details and report.findings else ""
    out = Text("Next: ", style="bold")
    out.append("; ".join(steps) + "." + more + " `--format html -o report.html` makes a report to share.")
    out.append(f"\nbansweep {__version__}", style="dim")
    if report.started:
        out.append(f" · {visible(report.started)} – {visible(report.finished)}", style="dim")
    return out
