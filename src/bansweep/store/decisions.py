"""Triage decisions: a reviewer's word on one finding key, re-applied on every later run.

A decision is false-positive, accepted-risk or confirmed, with who, when and why, and optionally the last day it
holds (`until`). It applies to the finding with the same `Finding.key` while the evidence behind the finding is the
same as when it was decided (`evidence_hash`: the finding's rule and status and its evidence rules and observed
values, not where they were seen, so a device that moved to another row stays triaged). An expired decision, or
one whose evidence changed, raises the finding again with a note.

An applied decision shows in every report format: a tag (`triage:false-positive`, `triage:accepted-risk`,
`triage:confirmed`, or `triage:expired` / `triage:evidence-changed` when raised again), a sentence added to the
explanation (who, when, why) and `extra["triage"]`. `triaged_out` tells `--fail-on` to pass over a finding.

Decisions export to and import from a baseline file (YAML, or JSON by suffix) a CI job can commit::

    decisions:
      - key: k1-3f0c…            # Finding.key
        decision: accepted-risk
        by: j.doe
        why: "camera scheduled for replacement in Q1"
        at: "2026-12-04T10:00:00+00:00"
        until: "2027-03-31"     # optional
        evidence: 9a1b…          # evidence hash when decided
        job: fleet               # for people reading the file
        label: "Hikvision DS-2CD2042WD camera at 10.0.0.7"
        rule: fleet.covered-device
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import yaml

from bansweep.findings import Finding, InputError, Location, Report
from bansweep.inputs import InputProblem, read_text
from bansweep.store.interface import Decision

CHOICES = ("false-positive", "accepted-risk", "confirmed")
OUT_OF_FAIL_ON = ("false-positive", "accepted-risk")
TAG = "triage:"
EXPIRED = "expired"
EVIDENCE_CHANGED = "evidence-changed"
IN_FORCE = "in-force"
MAX_FILE_BYTES = 64 * 1024 * 1024
REQUIRED = ("key", "decision", "by", "why", "at", "evidence")
RECORD = "record:"  # evidence of a screening decision: the content hash of the list entry decided on
OLD_WORDS = {"clear": "false-positive", "confirm": "confirmed"}  # an older parties decisions file's words


class HasDecisions(Protocol):
    def decisions(self, history: bool = False) -> list[Decision]: ...


def evidence_hash(finding: Finding) -> str:
    """What a decision was about: the finding's rule and status, and its evidence rules and values (not places)."""
    parts = [f"{e.rule}\x1f{e.value}" for e in finding.evidence]
    if len(parts) > 1:
        parts.sort()
    text = f"{finding.rule}\x1e{finding.status.value}\x1e" + "\x1e".join(parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def triaged_out(finding: Finding) -> bool:
    """True when a decision in force marks the finding false positive or accepted risk (`--fail-on` skips it)."""
    return any(tag in finding.tags for tag in (TAG + OUT_OF_FAIL_ON[0], TAG + OUT_OF_FAIL_ON[1]))


def state(decision: Decision, finding: Finding, today: date) -> str:
    if decision.until and today > date.fromisoformat(decision.until):
        return EXPIRED
    if decision.evidence.startswith(RECORD):
        if decision.evidence[len(RECORD) :] != str(finding.extra.get("record_hash", "")):
            return EVIDENCE_CHANGED
    elif decision.evidence != evidence_hash(finding):
        return EVIDENCE_CHANGED
    return IN_FORCE


def apply_decisions(report: Report, source: HasDecisions | Iterable[Decision], today: date | None = None) -> int:
    """Mark each finding that has a decision (by key); returns how many decisions are in force.

    `source` is a Store (its decisions in force) or decisions read from a baseline file.
    """
    made = source.decisions() if hasattr(source, "decisions") else source
    by_key = {d.key: d for d in made}  # the last one per key wins
    if not by_key:
        return 0
    day = today or datetime.now(timezone.utc).date()
    applied = 0
    for finding in report.findings:
        decision = by_key.get(finding.key)
        if decision is None:
            continue
        now = state(decision, finding, day)
        when = decision.at[:10]
        if now == IN_FORCE:
            applied += 1
            tag = TAG + decision.decision
            until = f", until {decision.until}" if decision.until else ""
            note = f"Triaged {decision.decision} by {decision.by} on {when}{until}: {decision.why}"
        else:
            tag = TAG + now
            why = f"it expired on {decision.until}" if now == EXPIRED else "the evidence changed since"
            note = f"Raised again: the {decision.decision} decision by {decision.by} on {when} no longer holds ({why})."
        finding.tags = [*(t for t in finding.tags if not t.startswith(TAG)), tag]
        finding.explanation = f"{finding.explanation} {note}".strip()
        finding.extra = {
            **finding.extra,
            "triage": {
                "decision": decision.decision,
                "state": now,
                "by": decision.by,
                "at": decision.at,
                "why": decision.why,
                "until": decision.until,
            },
        }
    return applied


def triage_word(finding: Finding) -> str | None:
    """The triage tag's word on a finding (a decision, or expired / evidence-changed), if any."""
    return next((t[len(TAG) :] for t in finding.tags if t.startswith(TAG)), None)


# --- baseline files -----------------------------------------------------------------------------------------------


def export_file(items: list[Decision], path: Path | None) -> str:
    """The decisions as a baseline document (YAML, or JSON when `path` ends in .json); written to `path` if given."""
    doc = {"decisions": [{k: v for k, v in d.to_dict().items() if v not in (None, "")} for d in items]}
    if path is not None and path.suffix.lower() == ".json":
        text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    else:
        text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120)
    if path is not None:
        _write_atomic(path, text)
    return text


def load_file(path: Path) -> tuple[list[Decision], list[InputError]]:
    """Decisions from a baseline file; bad entries are reported (with their place) and skipped."""
    text = read_text(path, MAX_FILE_BYTES)
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputProblem(Location(str(path), line=exc.lineno), f"malformed JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputProblem(Location(str(path), line=line), f"malformed YAML: {getattr(exc, 'problem', exc)}") from None
    items = doc.get("decisions") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise InputProblem(Location(str(path)), "expected a top-level 'decisions' list")
    out: list[Decision] = []
    errors: list[InputError] = []
    for i, item in enumerate(items):
        where = Location(str(path), entry=f"decisions[{i}]")
        try:
            out.append(decision_from(item))
        except ValueError as exc:
            errors.append(InputError(where, f"{exc}; decision ignored"))
    return out, errors


def decision_from(item: Any) -> Decision:
    """A decision from a baseline entry; an entry of an older parties decisions file (clear/confirm, the list
    entry's `hash`, `reason`) is read as the same decision."""
    if not isinstance(item, dict):
        raise ValueError("not a mapping")
    values = {k: str(item.get(k) or "").strip() for k in Decision.FIELDS}
    if values["decision"] in OLD_WORDS:
        if not values["key"]:
            raise ValueError("an older parties entry without 'key': record it again with `bansweep parties decide`")
        values["decision"] = OLD_WORDS[values["decision"]]
        values["why"] = values["why"] or str(item.get("reason") or "").strip()
        values["evidence"] = values["evidence"] or (
            RECORD + str(item.get("hash") or "").strip() if item.get("hash") else ""
        )
        values["job"] = values["job"] or "parties"
        values["label"] = values["label"] or str(item.get("party") or "").strip()
    missing = [k for k in REQUIRED if not values[k]]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if values["decision"] not in CHOICES:
        raise ValueError(f"decision must be one of {', '.join(CHOICES)}, got {values['decision']!r}")
    until = check_date(values["until"]) if values["until"] else None
    return Decision(
        key=values["key"],
        decision=values["decision"],
        by=values["by"],
        why=values["why"],
        at=values["at"],
        evidence=values["evidence"],
        until=until,
        job=values["job"],
        label=values["label"],
        rule=values["rule"],
    )


def check_date(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"until must be a date YYYY-MM-DD, got {value!r}") from None


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
