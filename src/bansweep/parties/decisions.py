"""Reviewer decisions on screening matches, re-applied on later runs while the list entry is unchanged.

The file is the store's baseline format (`bansweep triage export` writes it, `triage import` and `--baseline` read
it), so one file carries the decisions of every job::

    decisions:
      - key: "k1-3a9c…"                  # Finding.key of the finding decided on
        decision: false-positive         # not the listed party (the party is cleared) | confirmed
        by: "j.doe"
        why: "different company; Lagos address, registration no. …"
        at: "2026-11-20T10:00:00Z"
        evidence: "record:3f0c…"         # content hash of the list entry when decided (or a triage evidence hash)
        job: parties
        label: "acme trading ltd|cn (csl 99ed1b05…)"
        rule: parties.list.csl

A decision is found by the finding's key, so it follows the party when its row or file changes. A decision whose
list entry (or evidence) changed is not applied: the party is raised again with a note. Files of the older parties
form (decision clear/confirm, `hash`, `reason`, and before keys existed party/list/record) are still read, and an
entry `bansweep parties decide` updates is rewritten in the baseline form.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem, read_text
from bansweep.parties.model import DecisionExtra, match_key
from bansweep.store.decisions import RECORD, decision_from
from bansweep.tables import json_rows

CHOICES = ("clear", "confirm")
WORDS = {"false-positive": "clear", "confirmed": "confirm"}  # the baseline's words for the screening's
OLD_KEY_FIELDS = ("party", "list", "record")  # how an entry was named before Finding.key
OLD_FIELDS = ("hash", "reason", *OLD_KEY_FIELDS)
MAX_DECISIONS_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    key: str  # Finding.key
    hash: str  # content hash of the list entry decided on
    decision: str
    by: str
    at: str
    reason: str
    where: str
    evidence: str = ""  # a triage evidence hash, when the decision came from `triage export` (no list entry hash)

    def to_extra(self) -> DecisionExtra:
        return {"decision": self.decision, "by": self.by, "at": self.at, "reason": self.reason, "where": self.where}


def entry_key(item: dict[str, Any]) -> str:
    """The Finding.key an entry decides on: its `key`, or for an entry in the older form, computed from
    (party, list, record); "" when it names neither."""
    key = str(item.get("key") or "").strip()
    if key:
        return key
    party, list_name, record = (str(item.get(k) or "").strip() for k in OLD_KEY_FIELDS)
    return match_key(party, list_name, record) if party and list_name and record else ""


def _read(path: Path) -> tuple[Any, list[Any]]:
    """The parsed document and its decisions list (empty when the file does not exist yet)."""
    if not path.exists():
        return None, []
    text = read_text(path, MAX_DECISIONS_BYTES)
    try:
        doc = (
            json_rows.load(path, text, MAX_DECISIONS_BYTES) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputProblem(Location(str(path), line=line), f"malformed YAML: {getattr(exc, 'problem', exc)}") from None
    items = doc.get("decisions") if isinstance(doc, dict) else doc
    if items is None:
        return doc, []
    if not isinstance(items, list):
        raise InputProblem(Location(str(path)), "expected a 'decisions' list")
    return doc, items


def load(path: Path) -> tuple[dict[str, ReviewDecision], list[InputError]]:
    """Decisions by Finding.key; bad entries are reported and skipped."""
    _, items = _read(path)
    out: dict[str, ReviewDecision] = {}
    errors: list[InputError] = []
    for i, item in enumerate(items):
        loc = Location(str(path), entry=f"decisions[{i}]")
        if not isinstance(item, dict):
            errors.append(InputError(loc, "not a mapping; decision ignored"))
            continue
        if str(item.get("decision") or "").strip().lower() not in CHOICES:  # the baseline form
            try:
                made = decision_from(item)
            except ValueError as exc:
                errors.append(InputError(loc, f"{exc}; decision ignored"))
                continue
            if made.decision not in WORDS:
                errors.append(InputError(loc, f"{made.decision} is not a screening decision; ignored (use --baseline)"))
                continue
            record_hash = made.evidence[len(RECORD) :] if made.evidence.startswith(RECORD) else ""
            evidence = "" if record_hash else made.evidence
            out[made.key] = ReviewDecision(
                made.key, record_hash, WORDS[made.decision], made.by, made.at, made.why, str(loc), evidence
            )
            continue
        missing = [k for k in ("hash", "decision", "by", "at") if not str(item.get(k) or "").strip()]
        key = entry_key(item)
        if not key:
            missing.insert(0, "key (or party, list and record)")
        if missing:
            errors.append(InputError(loc, f"missing {', '.join(missing)}; decision ignored"))
            continue
        choice = str(item["decision"]).strip().lower()
        if choice not in CHOICES:
            errors.append(
                InputError(loc, f"decision must be one of {', '.join(CHOICES)}, got {item['decision']!r}; ignored")
            )
            continue
        out[key] = ReviewDecision(
            key,
            str(item["hash"]),
            choice,
            str(item["by"]),
            str(item["at"]),
            str(item.get("reason") or ""),
            str(loc),
        )
    return out, errors


def record(path: Path, entries: list[dict[str, str]]) -> tuple[int, int]:
    """Add or update decision entries (matched on their key; an older entry's key is computed from party, list
    and record); returns (added, updated).

    Every other entry and top-level key is kept as it was, even ones `load` ignores. The file is written to a
    temporary file beside it and renamed over it, so a crash leaves the old file whole. YAML comments are not kept.
    """
    doc, items = _read(path)
    items = list(items)
    where = {entry_key(item): i for i, item in enumerate(items) if isinstance(item, dict)}
    where.pop("", None)
    added = updated = 0
    for entry in entries:
        key = entry["key"]
        if key in where:
            kept = {k: v for k, v in items[where[key]].items() if k not in OLD_FIELDS and k != "decision"}
            items[where[key]] = {**kept, **entry}
            updated += 1
        else:
            where[key] = len(items)
            items.append(entry)
            added += 1
    out = {**doc, "decisions": items} if isinstance(doc, dict) else {"decisions": items}
    if path.suffix.lower() == ".json":
        text = json.dumps(out, ensure_ascii=False, indent=2) + "\n"
    else:
        text = yaml.safe_dump(out, allow_unicode=True, sort_keys=False, width=120)
    _write_atomic(path, text)
    return added, updated


def _write_atomic(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
