"""`bansweep history` (list, show, diff, trend, prune), `bansweep triage` (set, list, export, import) and
`bansweep show KEY` (one finding in full, from a JSON report or the store).

Registered by bansweep.cli from COMMANDS. Every command takes --store URL (default: $BANSWEEP_STORE, else SQLite in
bansweep's data home). Exit codes: 0 done, 2 usage error (unknown run or key, bad option), 3 the store cannot be
used, 4 a baseline file had entries that were not imported.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from bansweep.findings import InputError
from bansweep.inputs import InputProblem, read_text
from bansweep.reports.json import text, visible
from bansweep.store import html as pages
from bansweep.store import open_store
from bansweep.store.decisions import CHOICES, check_date, export_file, load_file
from bansweep.store.interface import Decision, Diff, Run, Store, StoreError
from bansweep.store.recorder import expand, trend_point

EXIT_USAGE = 2
EXIT_FAILED = 3
EXIT_INPUT_ERRORS = 4

STORE = click.option(
    "--store",
    "store_url",
    metavar="URL",
    help="History store: sqlite:///PATH or postgresql://USER@HOST/DB (libpq style; ?host=/socket/dir&port=N). "
    "Default: $BANSWEEP_STORE, else SQLite in bansweep's data home.",
)
FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]), default="table", show_default=True
)
OUTPUT = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")

# A view: what a command shows, in every format.
Rows = list[list[Any]]


class View:
    def __init__(self, title: str, data: Any) -> None:
        self.title = title
        self.data = data  # for --format json
        self.sections: list[tuple[str, list[str], Rows]] = []  # (heading, headers, rows)
        self.notes: list[str] = []
        self.html_extra = ""

    def add(self, heading: str, headers: list[str], rows: Rows) -> View:
        self.sections.append((heading, headers, rows))
        return self

    def render(self, fmt: str) -> str:
        if fmt == "json":
            return text(json.dumps(self.data, ensure_ascii=False, indent=2)) + "\n"
        if fmt == "csv":
            return _csv(self.sections)
        if fmt == "html":
            body = "".join(f"<p>{pages.esc(n)}</p>" for n in self.notes) + self.html_extra
            body += "".join(f"<h2>{pages.esc(h)}</h2>{pages.table(cols, rows)}" for h, cols, rows in self.sections)
            return pages.page(self.title, body)
        out = [self.title, *self.notes]
        for heading, headers, rows in self.sections:
            out += ["", f"{heading} ({len(rows)})", _table(headers, rows)]
        return "\n".join(out) + "\n"


def _table(headers: list[str], rows: Rows) -> str:
    if not rows:
        return "  none"
    cells = [[_cell(c) for c in r] for r in rows]
    widths = [min(64, max(len(h), *(len(r[i]) for r in cells))) for i, h in enumerate(headers)]
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for r in cells:
        lines.append("  " + "  ".join(c[:w].ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "" if value is None else visible(value)


def _csv(sections: list[tuple[str, list[str], Rows]]) -> str:
    """One table: a leading `section` column when there are several sections (diff: new / resolved / changed)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    several = len(sections) > 1
    headers = sections[0][1] if sections else []
    writer.writerow((["section"] if several else []) + headers)
    for heading, _cols, rows in sections:
        for r in rows:
            writer.writerow(([heading] if several else []) + [_safe(c) for c in r])
    return buf.getvalue()


def _safe(value: Any) -> Any:
    """No spreadsheet formulas from data."""
    if isinstance(value, str):
        value = text(value)
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
    return "" if value is None else value


def _emit(view: View, fmt: str, output: Path | None) -> None:
    text = view.render(fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@contextmanager
def _opened(store_url: str | None) -> Iterator[Store]:
    """The store, closed after use; its errors become a message and exit code 3."""
    try:
        store = open_store(store_url)
    except StoreError as exc:
        click.echo(f"bansweep: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    try:
        yield store
    except StoreError as exc:
        click.echo(f"bansweep: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    finally:
        store.close()


def _with_store(func: Callable[..., None]) -> Callable[..., None]:
    """Open the store for the command (_opened)."""

    def command(store_url: str | None, **kwargs: Any) -> None:
        with _opened(store_url) as store:
            func(store, **kwargs)

    command.__name__ = func.__name__
    command.__doc__ = func.__doc__
    return command


def _run_id(store: Store, ref: str) -> int:
    if ref in ("last", "latest"):
        latest = store.runs(limit=1)
        if not latest:
            raise click.UsageError(f"no runs in {store.url}")
        return latest[0].id
    try:
        return int(ref)
    except ValueError:
        raise click.BadParameter(f"a run id (see `bansweep history list`) or 'last', got {ref!r}") from None


# --- history ------------------------------------------------------------------------------------------------------


@click.group("history", short_help="Past runs: list, show, diff, trend, prune.")
def history() -> None:
    """Past runs: list them, show one, compare two, follow the trend, prune old ones."""


RUN_HEADERS = ["run", "job", "finished", "subjects", "findings", "covered", "review", "triaged", "errors", "scope"]


def _run_row(run: Run) -> list[Any]:
    point = trend_point(run)
    return [run.id, run.job, run.finished, run.subjects, run.findings, point["covered"], point["review"]] + [
        point["triaged"],
        len(run.errors),
        run.scope,
    ]


@history.command("list")
@STORE
@FORMAT
@OUTPUT
@click.option("--job", help="Only this job's runs (fleet, firmware, parties, sweep).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@_with_store
def history_list(store: Store, fmt: str, output: Path | None, job: str | None, limit: int) -> None:
    """Recorded runs, newest first ("covered" counts every hit-level finding: covered, match, high, critical)."""
    found = store.runs(job=job, limit=limit)
    view = View(f"bansweep history: {store.url}", {"runs": [r.to_dict() for r in found]})
    _emit(view.add("Runs", RUN_HEADERS, [_run_row(r) for r in found]), fmt, output)


FINDING_HEADERS = ["key", "status", "severity", "triage", "kind", "subject", "label", "rule", "title"]


def _finding_row(f: Any) -> list[Any]:
    return [f.key, f.status, f.severity, f.triage, f.kind, f.subject, f.label, f.rule, f.title]


@history.command("show")
@STORE
@FORMAT
@OUTPUT
@click.argument("run_ref", metavar="RUN")
@_with_store
def history_show(store: Store, fmt: str, output: Path | None, run_ref: str) -> None:
    """One run: its job, options, tool and data versions, inputs (size, sha256) and every finding with its key."""
    run = store.run(_run_id(store, run_ref))
    stored = store.findings(run.id)
    data = run.to_dict()
    data["findings"] = [{**f.to_dict(), **expand(f.body)} for f in stored]
    view = View(f"bansweep run {run.id} ({run.job})", data)
    view.notes += [
        f"finished {run.finished} (started {run.started}), bansweep {run.tool_version}, {run.subjects} subjects, "
        f"{run.findings} findings, {len(run.errors)} input errors",
        "options: " + json.dumps(run.options, sort_keys=True),
        "data: " + ", ".join(f"{k} {v}" for k, v in sorted(run.data_versions.items())),
    ]
    view.add("Inputs", ["path", "kind", "size", "sha256"], [[i.path, i.kind, i.size, i.sha256] for i in run.inputs])
    view.add("Input errors", ["where", "message"], [[e.get("where"), e.get("message")] for e in run.errors])
    if fmt == "csv":
        view.sections = []
    view.add("Findings", FINDING_HEADERS, [_finding_row(f) for f in stored])
    _emit(view, fmt, output)


@history.command("diff")
@STORE
@FORMAT
@OUTPUT
@click.option("--job", help="Without RUN_A RUN_B: compare this job's last two runs.")
@click.argument("refs", nargs=-1, metavar="[RUN_A RUN_B]")
@_with_store
def history_diff(store: Store, fmt: str, output: Path | None, job: str | None, refs: tuple[str, ...]) -> None:
    """What is new, resolved and changed (status, severity or evidence) from RUN_A to RUN_B.

    Without runs: the latest run (of --job) against the run before it of the same job over the same inputs."""
    if len(refs) == 2:
        a, b = (_run_id(store, r) for r in refs)
    elif not refs:
        latest = store.runs(job=job, limit=1)
        if not latest:
            raise click.UsageError(f"no runs{f' of {job}' if job else ''} in {store.url}")
        before = store.previous(latest[0])
        if before is None:
            raise click.UsageError(
                f"run {latest[0].id} is the only {latest[0].job} run over its inputs; give RUN_A RUN_B"
            )
        a, b = before.id, latest[0].id
    else:
        raise click.UsageError("give two runs, or none")
    _emit(_diff_view(store.diff(a, b)), fmt, output)


def _diff_view(diff: Diff) -> View:
    view = View(f"bansweep history diff: run {diff.a.id} -> run {diff.b.id}", diff.to_dict())
    view.notes.append(
        f"{len(diff.new)} new, {len(diff.resolved)} resolved, {len(diff.changed)} changed, {diff.unchanged} unchanged"
        f" ({diff.a.job} {diff.a.finished} -> {diff.b.job} {diff.b.finished})"
    )
    headers = [*FINDING_HEADERS, "before"]
    view.add("New", headers, [[*_finding_row(f), ""] for f in diff.new])
    view.add("Resolved", headers, [[*_finding_row(f), ""] for f in diff.resolved])
    changed = []
    for c in diff.changed:
        was = [f"status {c.before.status}"] if c.before.status != c.after.status else []
        was += [f"severity {c.before.severity}"] if c.before.severity != c.after.severity else []
        was += ["other evidence"] if c.before.evidence != c.after.evidence else []
        changed.append([*_finding_row(c.after), "; ".join(was)])
    view.add("Changed", headers, changed)
    return view


@history.command("trend")
@STORE
@FORMAT
@OUTPUT
@click.option("--job", help="The latest run of this job sets the inputs followed.")
@click.option("--run", "run_ref", metavar="RUN", help="Follow the runs over this run's inputs.")
@click.option("--limit", type=click.IntRange(min=1), default=24, show_default=True)
@_with_store
def history_trend(
    store: Store, fmt: str, output: Path | None, job: str | None, run_ref: str | None, limit: int
) -> None:
    """Covered and review counts per run of one job over the same inputs (rip-and-replace progress)."""
    if run_ref:
        anchor = store.run(_run_id(store, run_ref))
    else:
        latest = store.runs(job=job, limit=1)
        if not latest:
            raise click.UsageError(f"no runs{f' of {job}' if job else ''} in {store.url}")
        anchor = latest[0]
    points = [trend_point(r) for r in reversed(store.runs(job=anchor.job, scope=anchor.scope, limit=limit))]
    view = View(f"bansweep trend: {anchor.job} over the inputs of run {anchor.id}", {"job": anchor.job, "runs": points})
    view.html_extra = pages.trend_chart(points)
    rows = [[p["run"], p["finished"], p["covered"], p["review"], p["triaged"], p["findings"]] for p in points]
    _emit(view.add("Runs", ["run", "finished", "covered", "review", "triaged", "findings"], rows), fmt, output)


@history.command("prune")
@STORE
@click.option("--keep", type=click.IntRange(min=0), required=True, help="Runs to keep per job and inputs.")
@_with_store
def history_prune(store: Store, keep: int) -> None:
    """Delete all but the newest KEEP runs of each job over each set of inputs (decisions are kept)."""
    gone = store.prune(keep)
    click.echo(f"pruned {len(gone)} run(s)" + (f": {', '.join(map(str, gone))}" if gone else ""))


# --- triage -------------------------------------------------------------------------------------------------------


class _DefaultGroup(click.Group):
    """`bansweep triage KEY…` runs `triage set KEY…`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["set", *args]
        return super().parse_args(ctx, args)


@click.group("triage", cls=_DefaultGroup, short_help="Review decisions on findings, by key.")
def triage() -> None:
    """Review decisions on findings, by key (`bansweep triage KEY… --false-positive --by NAME --why TEXT`).

    Decisions live in the history store, show in every report on their finding, are re-applied by key on every later
    run, and are raised again when they expire (--until) or when the evidence behind the finding changes. --fail-on
    passes over findings triaged false positive or accepted risk. `export` / `import` move them to and from a
    baseline file a CI job can commit."""


@triage.command("set")
@STORE
@click.option("--false-positive", "false_positive", is_flag=True, help="Not what the finding says.")
@click.option("--accepted-risk", "accepted_risk", is_flag=True, help="True, and accepted (see --until).")
@click.option("--confirmed", is_flag=True, help="True; stays in --fail-on.")
@click.option("--until", help="Last day the decision holds (YYYY-MM-DD); the finding is raised again after it.")
@click.option("--by", "by", required=True, help="Who decides.")
@click.option("--why", required=True, help="Why (kept with the decision and shown in reports).")
@click.argument("keys", nargs=-1, required=True)
@_with_store
def triage_set(
    store: Store,
    false_positive: bool,
    accepted_risk: bool,
    confirmed: bool,
    until: str | None,
    by: str,
    why: str,
    keys: tuple[str, ...],
) -> None:
    """Record a decision on the findings with these keys (as recorded by an earlier run)."""
    chosen = [c for c, on in zip(CHOICES, (false_positive, accepted_risk, confirmed), strict=True) if on]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --false-positive, --accepted-risk, --confirmed")
    if not by.strip() or not why.strip():
        raise click.UsageError("--by and --why must not be empty")
    if until is not None:
        try:
            until = check_date(until)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--until") from None
        if until < datetime.now(timezone.utc).date().isoformat():
            raise click.BadParameter(f"{until} is already past", param_hint="--until")
    found = store.latest(keys)
    missing = [k for k in keys if k not in found]
    if missing:
        raise click.UsageError(f"not in the history of {store.url}: {', '.join(missing)} (nothing recorded)")
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    made = [
        Decision(
            key=key,
            decision=chosen[0],
            by=by.strip(),
            why=why.strip(),
            at=at,
            evidence=finding.evidence,
            until=until,
            job=run.job,
            label=finding.label,
            rule=finding.rule,
        )
        for key, (run, finding) in ((k, found[k]) for k in dict.fromkeys(keys))
    ]
    store.decide(made)
    for d in made:
        click.echo(f"{d.key}: {d.decision} ({d.label}; {d.rule})")


DECISION_HEADERS = ["key", "decision", "by", "at", "until", "why", "job", "label", "rule", "evidence"]


@triage.command("list")
@STORE
@FORMAT
@OUTPUT
@click.option("--all", "everything", is_flag=True, help="Every decision ever made, not only those in force.")
@_with_store
def triage_list(store: Store, fmt: str, output: Path | None, everything: bool) -> None:
    """Decisions in the store (the newest per key is in force)."""
    made = store.decisions(history=everything)
    view = View(f"bansweep triage decisions: {store.url}", {"decisions": [d.to_dict() for d in made]})
    rows = [[getattr(d, h) for h in DECISION_HEADERS] for d in made]
    _emit(view.add("Decisions", DECISION_HEADERS, rows), fmt, output)


@triage.command("export")
@STORE
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@_with_store
def triage_export(store: Store, file: Path) -> None:
    """Write the decisions in force to FILE (YAML, or JSON for .json; - for stdout): a baseline to commit."""
    made = store.decisions()
    if str(file) == "-":
        sys.stdout.write(export_file(made, None))
        return
    export_file(made, file)
    click.echo(f"exported {len(made)} decision(s) to {file}")


@triage.command("import")
@STORE
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_with_store
def triage_import(store: Store, file: Path) -> None:
    """Add the decisions in FILE (a baseline from `export`) to the store; ones already there are skipped."""
    errors: list[InputError]
    try:
        made, errors = load_file(file)
    except InputProblem as exc:
        click.echo(f"bansweep: {exc}", err=True)
        sys.exit(EXIT_INPUT_ERRORS)
    added = store.decide(made)
    click.echo(f"imported {added} decision(s) from {file} ({len(made) - added} already in the store)")
    for error in errors:
        click.echo(f"bansweep: {error}", err=True)
    if errors:
        sys.exit(EXIT_INPUT_ERRORS)


MAX_REPORT_BYTES = 512 * 1024 * 1024


@click.command("show", short_help="One finding in full, by its key.")
@STORE
@click.option(
    "--report",
    "report_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON report (`--format json -o FILE`); without it, the latest stored run that has the key.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the finding(s) as JSON.")
@click.argument("key")
def show(store_url: str | None, report_file: Path | None, as_json: bool, key: str) -> None:
    """One finding in full (evidence, verdicts, triage) by its key; a key prefix of 6+ characters is enough in a
    report."""
    if report_file is not None:
        try:
            doc = json.loads(read_text(report_file, MAX_REPORT_BYTES))
        except (InputProblem, json.JSONDecodeError) as exc:
            raise click.UsageError(f"{report_file}: not a bansweep JSON report ({exc})") from None
        items = doc.get("findings") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise click.UsageError(f"{report_file}: not a bansweep JSON report (no findings list)")
        exact = [f for f in items if isinstance(f, dict) and f.get("key") == key]
        found = exact or ([f for f in items if str(f.get("key", "")).startswith(key)] if len(key) >= 6 else [])
        where = str(report_file)
    else:
        with _opened(store_url) as store:
            hit = store.latest([key]).get(key)
            found = []
            if hit is not None:
                run, _ = hit
                [stored] = store.findings(run.id, keys=[key])
                found = [{**stored.to_dict(), **expand(stored.body), "run": run.id, "finished": run.finished}]
            where = store.url
    if not found:
        click.echo(f"bansweep: no finding with key {key!r} in {where}", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        click.echo(json.dumps(found if len(found) > 1 else found[0], indent=2, ensure_ascii=False))
        return
    click.echo("\n\n".join(_finding_text(f) for f in found))


def _finding_text(f: dict[str, Any]) -> str:
    """A finding dict (a report's or a stored one) as plain text, every field shown once."""
    subject = f.get("subject")
    label = subject.get("label") if isinstance(subject, dict) else f.get("label")
    lines = [f"{visible(str(f.get('status', '')))}  {visible(str(label or f.get('subject', '')))}"]
    lines.append(visible(str(f.get("title", ""))))
    facts = [f"key {f.get('key')}", f"rule {f.get('rule')}", f"severity {f.get('severity')}"]
    facts += [f"{k} {f[k]}" for k in ("confidence", "risk", "run", "finished") if f.get(k) is not None]
    lines.append(" · ".join(visible(str(x)) for x in facts))
    if f.get("explanation"):
        lines += ["", visible(str(f["explanation"]))]
    evidence = f.get("evidence")
    if isinstance(evidence, list) and evidence:
        lines += ["", "Evidence:"]
        for ev in evidence:
            if isinstance(ev, dict):
                loc = ev.get("location") or {}
                place = ":".join(str(loc[k]) for k in ("file", "line") if loc.get(k) is not None)
                place += "".join(f" {k} {loc[k]}" for k in ("row", "field", "entry") if loc.get(k) not in (None, ""))
                lines.append(f" • {visible(str(ev.get('rule')))}: {visible(str(ev.get('value')))} — {visible(place)}")
                if ev.get("detail"):
                    lines.append(f"   {visible(str(ev['detail']))}")
            elif isinstance(ev, list | tuple) and len(ev) >= 2:
                lines.append(f" • {visible(str(ev[0]))}: {visible(str(ev[1]))}")
    verdicts = f.get("verdicts")
    if isinstance(verdicts, list) and verdicts:
        lines += ["", "Verdicts:"]
        for v in verdicts:
            if isinstance(v, dict):
                reason = f": {v['reason']}" if v.get("reason") else ""
                lines.append(
                    visible(f" • {v.get('policy')}: {v.get('status')} — {v.get('citation')} ({v.get('date')}){reason}")
                )
    triage = (f.get("extra") or {}).get("triage") if isinstance(f.get("extra"), dict) else f.get("triage")
    if triage:
        lines += ["", "Triage: " + visible(json.dumps(triage, ensure_ascii=False, sort_keys=True))]
    if f.get("tags"):
        lines.append("Tags: " + ", ".join(visible(str(t)) for t in f["tags"]))
    return "\n".join(lines)


COMMANDS = [history, triage, show]
