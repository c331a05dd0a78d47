"""Imported lists kept in the data home (gzipped JSON, one file per list), with the date their data was published.

Each import or update replaces the copy atomically; the copy it replaces is kept beside it (`<name>.previous.json.gz`)
for the audit trail: a screening can be traced to the list version it used, and the one before.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bansweep.findings import Location
from bansweep.inputs import InputProblem
from bansweep.parties.model import ListRecord, ListSet

FORMAT = 2


def path(name: str) -> Path:
    from bansweep.store import data_path

    return data_path("parties", f"{name}.json.gz")


def previous_path(name: str) -> Path:
    return path(name).with_name(f"{name}.previous.json.gz")


def save(
    name: str, lists: ListSet, origin: str, errors: int, published: str, extra: dict[str, Any] | None = None
) -> Path:
    """Store `lists` as the imported copy of list `name`; `published` is the date its data was published (ISO)."""
    target = path(name)
    doc = {
        "format": FORMAT,
        "file": origin,
        "imported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "published": published,
        "version": lists.versions.get(name, ""),
        "sources": lists.sources,
        "errors": errors,
        **(extra or {}),
        "records": [r.to_dict() for r in lists.records],
    }
    tmp = target.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
    keep_previous(target, previous_path(name))
    tmp.replace(target)  # atomic: a reader sees the old copy or the new one, never a part
    return target


def keep_previous(target: Path, previous: Path) -> None:
    """Keep the current copy of `target` as `previous` (a hard link where possible), leaving `target` in place."""
    if not target.exists():
        return
    previous.unlink(missing_ok=True)
    try:
        os.link(target, previous)
    except OSError:
        shutil.copy2(target, previous)


def remove(name: str) -> bool:
    target = path(name)
    existed = target.exists()
    target.unlink(missing_ok=True)
    return existed


def load(name: str, how_to_import: str) -> ListSet | None:
    """The imported copy of list `name`, or None when none was imported."""
    target = path(name)
    if not target.exists():
        return None
    try:
        with gzip.open(target, "rt", encoding="utf-8") as fh:
            doc = json.load(fh)
        if doc.get("format") != FORMAT:
            raise ValueError(f"stored by another bansweep version (format {doc.get('format')})")
        records = [ListRecord.from_dict(r) for r in doc["records"]]
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise InputProblem(Location(str(target)), f"stored {name} unreadable ({exc}); {how_to_import}") from None
    out = ListSet(records)
    out.versions[name] = f"{doc.get('version', '')}; imported {doc.get('imported', '')}"
    out.sources.update(doc.get("sources") or {})
    out.dates[name] = str(doc.get("published") or doc.get("imported") or "")
    return out
