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
``remove: true`` drops it, a new id is added. Everything is validated on load, against the dataset's entry type
in schema.py. ``load(name)`` gives the entries as mappings; ``facts(EntryType)`` gives them typed.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from bansweep.knowledge.schema import SCHEMAS, Entry

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


def _check(
    path: Path, index: int, entry: Any, required: Iterable[str], overlay: bool, kind: type[Entry] | None
) -> None:
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
    if kind is not None:
        _check_type(where, entry, kind)


def _check_type(where: str, entry: dict[str, Any], kind: type[Entry]) -> None:
    spec = _spec(kind.DATASET)
    for key, value in entry.items():
        if key not in spec:
            raise KnowledgeError(f"{where}: unknown field {key!r}; {kind.DATASET} entries have {', '.join(spec)}")
        try:
            _convert(value, spec[key][0])
        except TypeError as exc:
            raise KnowledgeError(f"{where}: {key!r} must be {exc}, got {value!r}") from None
    missing = [key for key, (_, needed) in spec.items() if needed and key not in entry]
    if missing:
        raise KnowledgeError(f"{where}: missing {', '.join(repr(k) for k in missing)}")


@cache
def _spec(dataset: str) -> dict[str, tuple[Any, bool]]:
    """field -> (its type, whether an entry must give it) of the dataset's entry type."""
    kind = SCHEMAS[dataset]
    hints = get_type_hints(kind)
    return {
        f.name: (hints[f.name], f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        for f in dataclasses.fields(kind)
    }


def _convert(value: Any, hint: Any) -> Any:
    """value as the type hint says (a number or date where text is expected becomes text); TypeError names the
    type expected."""
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        for option in get_args(hint):
            try:
                return _convert(value, option)
            except TypeError:
                continue
    elif hint is type(None):
        if value is None:
            return None
    elif origin is list:
        if isinstance(value, list):
            return [_convert(v, get_args(hint)[0]) for v in value]
    elif origin is dict:
        key, item = get_args(hint)
        if isinstance(value, dict):
            return {_convert(k, key): _convert(v, item) for k, v in value.items()}
    elif isinstance(value, bool):  # a bool is an int to Python, not to a reader of the file
        if hint is bool:
            return value
    elif hint is str and isinstance(value, (str, int, float, datetime.date)):
        return str(value)
    elif hint is float and isinstance(value, (int, float)):
        return float(value)
    elif hint is int and isinstance(value, int):
        return value
    raise TypeError(str(hint).replace("typing.", "") if origin else getattr(hint, "__name__", str(hint)))


def load(name: str, required: Sequence[str] = (), overlays: Sequence[Path] = ()) -> Dataset:
    """Load dataset `name` (file knowledge/data/<name>.yaml) with user overlays applied."""
    return _load(name, tuple(required), tuple(Path(p) for p in overlays))


@lru_cache(maxsize=64)
def _load(name: str, required: tuple[str, ...], overlays: tuple[Path, ...]) -> Dataset:
    base = DATA_DIR / f"{name}.yaml"
    kind = SCHEMAS.get(name)
    doc = _read(base)
    entries: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(doc["entries"]):
        _check(base, i, entry, required, overlay=False, kind=kind)
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
            _check(path, i, entry, required, overlay=True, kind=kind)
            if entry.get("remove") is True:
                entries.pop(entry["id"], None)
            else:
                entries[entry["id"]] = entry
        files.append(str(path))
        version = f"{version}+{over.get('version', 'overlay')}"
    return Dataset(name, version, list(entries.values()), files)


E = TypeVar("E", bound=Entry)


@dataclass(frozen=True, slots=True)
class Facts(Generic[E]):
    """A dataset's entries as instances of its entry type (schema.py)."""

    name: str
    version: str
    entries: tuple[E, ...]
    files: tuple[str, ...]


def facts(kind: type[E], overlays: Sequence[Path] = ()) -> Facts[E]:
    """The dataset of entry type `kind` (e.g. schema.Component) with user overlays applied, typed."""
    data = _load(kind.DATASET, (), tuple(Path(p) for p in overlays))
    spec = _spec(kind.DATASET)
    entries = tuple(kind(**{k: _convert(v, spec[k][0]) for k, v in e.items()}) for e in data.entries)
    return Facts(data.name, data.version, entries, tuple(data.files))
