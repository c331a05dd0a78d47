"""Reviewer decisions: clear or confirm a party's match, re-applied on later runs while the list entry is unchanged.

The file is YAML or JSON::

    decisions:
      - party: "acme trading ltd|cn"     # Party.identity (name and country as given, folded)
        list: csl                        # list name
        record: "99ed1b05…"             # list record id (CSL _id; FCC/1260H entry id; brand rule id)
        hash: "3f0c…"                   # content hash of the record when the decision was made
        decision: clear                  # clear | confirm
        by: "j.doe"
        at: "2026-11-20T10:00:00Z"
        reason: "different company; Lagos address, registration no. …"

Every finding carries its ``decision_key`` (party, list, record, hash); ``bansweep parties decide`` writes entries
from a JSON report (`record`). A decision whose hash no longer matches the record is not applied: the party is raised
again with a note.
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
from bansweep.tables import json_rows

CHOICES = ("clear", "confirm")
KEY_FIELDS = ("party", "list", "record")
MAX_DECISIONS_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Decision:
    party: str
    list_name: str
    record: str
    hash: str
    decision: str
    by: str
    at: str
    reason: str
    where: str

    def to_dict(self) -> dict[str, str]:
        return {"decision": self.decision, "by": self.by, "at": self.at, "reason": self.reason, "where": self.where}


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


def load(path: Path) -> tuple[dict[tuple[str, str, str], Decision], list[InputError]]:
    """Decisions keyed on (party identity, list, record id); bad entries are reported and skipped."""
    _, items = _read(path)
    out: dict[tuple[str, str, str], Decision] = {}
    errors: list[InputError] = []
    for i, item in enumerate(items):
        loc = Location(str(path), entry=f"decisions[{i}]")
        if not isinstance(item, dict):
            errors.append(InputError(loc, "not a mapping; decision ignored"))
            continue
        missing = [
            k for k in ("party", "list", "record", "hash", "decision", "by", "at") if not str(item.get(k) or "").strip()
        ]
        if missing:
            errors.append(InputError(loc, f"missing {', '.join(missing)}; decision ignored"))
            continue
        choice = str(item["decision"]).strip().lower()
        if choice not in CHOICES:
            errors.append(
                InputError(loc, f"decision must be one of {', '.join(CHOICES)}, got {item['decision']!r}; ignored")
            )
            continue
        d = Decision(
            str(item["party"]),
            str(item["list"]),
            str(item["record"]),
            str(item["hash"]),
            choice,
            str(item["by"]),
            str(item["at"]),
            str(item.get("reason") or ""),
            str(loc),
        )
        out[(d.party, d.list_name, d.record)] = d
    return out, errors


def record(path: Path, entries: list[dict[str, str]]) -> tuple[int, int]:
    """Add or update decision entries (matched on party, list and record); returns (added, updated).

    Every other entry and top-level key is kept as it was, even ones `load` ignores. The file is written to a
    temporary file beside it and renamed over it, so a crash leaves the old file whole. YAML comments are not kept.
    """
    doc, items = _read(path)
    items = list(items)
    where = {
        tuple(str(item.get(k) or "") for k in KEY_FIELDS): i for i, item in enumerate(items) if isinstance(item, dict)
    }
    added = updated = 0
    for entry in entries:
        key = tuple(entry[k] for k in KEY_FIELDS)
        if key in where:
            items[where[key]] = {**items[where[key]], **entry}
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
