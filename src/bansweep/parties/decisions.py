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

Every finding carries its ``decision_key`` (party, list, record, hash) to copy from. A decision whose hash no
longer matches the record is not applied: the party is raised again with a note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem, read_text

CHOICES = ("clear", "confirm")
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


def load(path: Path) -> tuple[dict[tuple[str, str, str], Decision], list[InputError]]:
    """Decisions keyed on (party identity, list, record id); bad entries are reported and skipped."""
    if not path.exists():
        return {}, []  # no decisions yet
    text = read_text(path, MAX_DECISIONS_BYTES)
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputProblem(Location(str(path), line=exc.lineno), f"malformed JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputProblem(Location(str(path), line=line), f"malformed YAML: {getattr(exc, 'problem', exc)}") from None
    items = doc.get("decisions") if isinstance(doc, dict) else doc
    if items is None:
        return {}, []
    if not isinstance(items, list):
        raise InputProblem(Location(str(path)), "expected a 'decisions' list")
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
