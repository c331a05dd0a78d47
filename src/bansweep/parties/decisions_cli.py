"""`bansweep parties decide`: record reviewer decisions from a JSON screening report into the decisions file."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

import click

from bansweep.inputs import InputProblem, read_text
from bansweep.parties import decisions
from bansweep.reports.json import visible
from bansweep.store.decisions import OLD_WORDS, RECORD
from bansweep.tables import json_rows

MAX_REPORT_BYTES = 1024 * 1024 * 1024
# what an entry of the decisions file takes from a finding: its key, the list entry's content hash, and for the
# reader the party identity, list and record id (from the finding's extra)
ENTRY_FIELDS = {"key": "key", "hash": "record_hash", "party": "identity", "list": "list", "record": "record_id"}


class DecideError(click.ClickException):
    """A refusal: nothing is written."""

    exit_code = 2


def _findings(path: Path) -> list[dict[str, Any]]:
    try:
        text = read_text(path, MAX_REPORT_BYTES)
    except InputProblem as exc:
        raise DecideError(str(exc)) from None
    except OSError as exc:
        raise DecideError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = json_rows.load(path, text, MAX_REPORT_BYTES)
    except InputProblem as exc:
        raise DecideError(
            f"{exc.location}: not a JSON report ({exc.message}); use `bansweep parties --format json`"
        ) from None
    if not isinstance(doc, dict) or doc.get("job") != "parties" or not isinstance(doc.get("findings"), list):
        job = doc.get("job") if isinstance(doc, dict) else None
        got = f"a {job!r} report" if job else "no report"
        raise DecideError(f"{path}: not a parties report ({got}); use `bansweep parties --format json`") from None
    return doc["findings"]


def _entry(finding: Any) -> dict[str, str] | None:
    """The decisions-file entry naming this finding, or None for a finding with no list entry to decide on."""
    if not isinstance(finding, dict) or not isinstance(finding.get("extra"), dict):
        return None
    source = {**finding["extra"], "key": finding.get("key")}
    entry = {name: source.get(field) for name, field in ENTRY_FIELDS.items()}
    if not all(isinstance(v, str) and v for v in entry.values()):
        return None
    return cast(dict[str, str], entry)


def _label(finding: dict[str, Any]) -> str:
    subject = finding.get("subject") or {}
    return visible(subject.get("label") or subject.get("id") or "?")


def _identity(finding: dict[str, Any]) -> str:
    entry = _entry(finding)
    return entry["party"] if entry else ""


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _select(
    path: Path, findings: list[dict[str, Any]], party: tuple[str, ...], numbers: tuple[int, ...], all_review: bool
) -> list[dict[str, Any]]:
    if sum((bool(party), bool(numbers), all_review)) != 1:
        raise DecideError("choose the findings with one of --party, --finding or --all-possible")
    if numbers:
        chosen = []
        for n in numbers:
            if not 1 <= n <= len(findings):
                raise DecideError(f"{path}: no finding {n}; the report has {len(findings)} (numbered from 1)")
            if _entry(findings[n - 1]) is None:
                raise DecideError(f"{path}: finding {n} ({_label(findings[n - 1])}) names no list entry to decide on")
            chosen.append(findings[n - 1])
        return chosen
    decidable = [f for f in findings if _entry(f) is not None]
    if all_review:
        chosen = [f for f in decidable if f.get("status") == "possible-match"]
        what = "no possible match"
    else:
        wanted = {_fold(p) for p in party}
        chosen = [f for f in decidable if wanted & {_fold(_label(f)), _fold(_identity(f))}]
        what = f"no finding for party {', '.join(repr(p) for p in party)} (name as in the report, or party|country)"
    if not chosen:
        raise DecideError(f"{path}: {what}; nothing recorded")
    return chosen


@click.command("decide")
@click.option(
    "--report",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON report from `bansweep parties --format json`.",
)
@click.option(
    "--decisions",
    "decisions_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Decisions file (YAML, or JSON by .json suffix); created if missing.",
)
@click.option("--clear", "choice", flag_value="clear", help="Not the listed party: clear the match.")
@click.option("--confirm", "choice", flag_value="confirm", help="The listed party: confirm the match.")
@click.option("--by", required=True, help="Who decides.")
@click.option("--why", required=True, help="The reason, kept with the decision.")
@click.option("--party", multiple=True, help="Findings for this party (name as in the report, or party|country).")
@click.option("--finding", "numbers", multiple=True, type=int, help="The Nth finding of the report (from 1).")
@click.option("--all-possible", "--all-review", "all_review", is_flag=True, help="Every possible match.")
def decide_cmd(
    report: Path,
    decisions_file: Path,
    choice: str | None,
    by: str,
    why: str,
    party: tuple[str, ...],
    numbers: tuple[int, ...],
    all_review: bool,
) -> None:
    """Clear or confirm findings of a parties report; later runs with --decisions apply them."""
    if choice is None:
        raise DecideError("give --clear or --confirm")
    if not by.strip():
        raise DecideError("--by is empty: name who decides")
    if not why.strip():
        raise DecideError("--why is empty: give the reason for the decision")
    chosen = _select(report, _findings(report), party, numbers, all_review)
    at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries: dict[str, dict[str, str]] = {}
    for finding in chosen:
        entry = _entry(finding)
        assert entry is not None  # _select keeps decidable findings only
        entries[entry["key"]] = {
            "key": entry["key"],
            "decision": OLD_WORDS[choice],
            "by": by.strip(),
            "why": why.strip(),
            "at": at,
            "evidence": RECORD + entry["hash"],
            "job": "parties",
            "label": f"{entry['party']} ({entry['list']} {entry['record']})",
            "rule": str(finding.get("rule") or ""),
        }
        click.echo(f"{choice}: {_label(finding)} — {visible(entry['list'])} record {visible(entry['record'])}")
    try:
        added, updated = decisions.record(decisions_file, list(entries.values()))
    except InputProblem as exc:
        raise DecideError(f"{exc}; nothing written") from None
    except OSError as exc:
        raise DecideError(f"{decisions_file}: cannot write: {exc.strerror or exc}") from None
    click.echo(f"{decisions_file}: {added} added, {updated} updated")


COMMANDS = [decide_cmd]
