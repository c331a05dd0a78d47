"""Facts as data: YAML datasets under knowledge/data, each entry with a source and a date.

A dataset file looks like::

    dataset: vendors
    version: "2026-11-22"        # when the facts were last reviewed
    entries:
      - id: some-id               # unique within the dataset
        source: "https://..."     # where the fact comes from (required)
        date: "2021-03-12"        # date of the fact or of the source (required)
        ...                       # dataset-specific fields

A user overlay directory may hold files of the same name: an entry with an existing id replaces it,
``remove: true`` drops it, a new id is added. Everything is validated on load.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"
# libyaml's safe loader when PyYAML was built with it: same safety, ~8x faster on the bundled data files.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class KnowledgeError(Exception):
    """A knowledge file is malformed; the message names the file and entry."""


@dataclass(slots=True)
class Dataset:
    name: str
    version: str
    entries: list[dict[str, Any]]
    files: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {e["id"]: e for e in self.entries}


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path}: cannot read knowledge file: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), list):
        raise KnowledgeError(f"{path}: expected a mapping with an 'entries' list")
    return doc


def _check(path: Path, index: int, entry: Any, required: Iterable[str], overlay: bool) -> None:
    where = f"{path}: entry {index + 1}"
    if not isinstance(entry, dict):
        raise KnowledgeError(f"{where}: expected a mapping")
    if not isinstance(entry.get("id"), str) or not entry["id"]:
        raise KnowledgeError(f"{where}: missing 'id'")
    where = f"{path}: entry {index + 1} ({entry['id']})"
    if overlay and entry.get("remove") is True:
        return
    for key in ("source", "date"):
        if not entry.get(key):
            raise KnowledgeError(f"{where}: missing '{key}' (every fact needs a source and a date)")
    if not _DATE.match(str(entry["date"])):
        raise KnowledgeError(f"{where}: 'date' must be YYYY, YYYY-MM or YYYY-MM-DD, got {entry['date']!r}")
    for key in required:
        if key not in entry:
            raise KnowledgeError(f"{where}: missing '{key}'")


def load(name: str, required: Sequence[str] = (), overlays: Sequence[Path] = ()) -> Dataset:
    """Load dataset `name` (file knowledge/data/<name>.yaml) with user overlays applied."""
    return _load(name, tuple(required), tuple(Path(p) for p in overlays))


@lru_cache(maxsize=64)
def _load(name: str, required: tuple[str, ...], overlays: tuple[Path, ...]) -> Dataset:
    base = DATA_DIR / f"{name}.yaml"
    doc = _read(base)
    entries: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(doc["entries"]):
        _check(base, i, entry, required, overlay=False)
        if entry["id"] in entries:
            raise KnowledgeError(f"{base}: entry {i + 1}: duplicate id {entry['id']!r}")
        entries[entry["id"]] = entry
    files = [str(base)]
    version = str(doc.get("version", ""))
    for directory in overlays:
        path = directory / f"{name}.yaml"
        if not path.exists():
            continue
        over = _read(path)
        for i, entry in enumerate(over["entries"]):
            _check(path, i, entry, required, overlay=True)
            if entry.get("remove") is True:
                entries.pop(entry["id"], None)
            else:
                entries[entry["id"]] = entry
        files.append(str(path))
        version = f"{version}+{over.get('version', 'overlay')}"
    return Dataset(name, version, list(entries.values()), files)
