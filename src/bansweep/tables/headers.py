"""Header synonyms: which column of a table holds which field, from knowledge/data/headers.yaml (with overlays).

Headers and names are compared folded: case-folded, letters and digits only ("MAC-Adresse" = "mac_adresse").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bansweep.knowledge import KnowledgeError
from bansweep.knowledge import load as load_dataset

DATASET = "headers"
KINDS = ("field", "device-columns", "other-words")
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def fold(text: str) -> str:
    return "".join(_WORD.findall(text.casefold()))


@dataclass(frozen=True, slots=True)
class Headers:
    """One job's header knowledge."""

    job: str
    fields: tuple[str, ...]  # the job's fields, in the order they claim columns
    names: dict[str, tuple[str, ...]]  # field -> folded names, best first
    spelled: dict[str, tuple[str, ...]]  # field -> names as words joined by single spaces (for whole-word matches)
    device_columns: frozenset[str]  # folded
    other_words: frozenset[str]

    def match(self, header: Sequence[str], whole_words: bool = False) -> dict[str, int]:
        """field -> column index. Each field takes the column of its best-ranked name (leftmost on ties) not yet
        taken, fields in order. whole_words: a field still without a column then takes the first header holding
        one of its names (of more than 3 characters) as whole words, when the header's other words are none of
        other_words ("Supplier Legal Name" is a name; "Supplier ID" is not)."""
        index: dict[str, int] = {}
        for i, column in enumerate(header):
            index.setdefault(fold(column), i)
        index.pop("", None)
        out: dict[str, int] = {}
        used: set[int] = set()
        for field in self.fields:
            for name in self.names.get(field, ()):
                col = index.get(name)
                if col is not None and col not in used:
                    out[field] = col
                    used.add(col)
                    break
        if not whole_words:
            return out
        spaced = [" ".join(words(column)) for column in header]
        for field in self.fields:
            if field in out:
                continue
            for name in self.spelled.get(field, ()):
                if len(name) <= 3:
                    continue
                col = next(
                    (
                        i
                        for i, text in enumerate(spaced)
                        if i not in used
                        and f" {name} " in f" {text} "
                        and not (set(text.split()) - set(name.split())) & self.other_words
                    ),
                    None,
                )
                if col is not None:
                    out[field] = col
                    used.add(col)
                    break
        return out

    def is_device_column(self, column: str) -> bool:
        return fold(column) in self.device_columns


def load(job: str, fields: Sequence[str], knowledge: Sequence[Path] = ()) -> Headers:
    """The header knowledge of a job whose fields are `fields` (entries naming another field are refused)."""
    return _load(job, tuple(fields), tuple(Path(p) for p in knowledge))


@lru_cache(maxsize=16)
def _load(job: str, fields: tuple[str, ...], knowledge: tuple[Path, ...]) -> Headers:
    data = load_dataset(DATASET, ("kind", "job", "names"), overlays=knowledge)
    where = ", ".join(data.files)
    names: dict[str, list[str]] = {}
    spelled: dict[str, list[str]] = {}
    device: set[str] = set()
    other: set[str] = set()
    for entry in data.entries:
        what = f"{where}: entry {entry['id']}"
        kind, entry_names = entry["kind"], entry["names"]
        if kind not in KINDS:
            raise KnowledgeError(f"{what}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not isinstance(entry_names, list) or not all(isinstance(n, str) and fold(n) for n in entry_names):
            raise KnowledgeError(f"{what}: names must be a list of header names with letters or digits")
        if entry["job"] != job:
            continue
        if kind == "field":
            field = entry.get("field")
            if field not in fields:
                raise KnowledgeError(f"{what}: field {field!r} is not a {job} field ({', '.join(fields)})")
            names.setdefault(field, []).extend(fold(n) for n in entry_names)
            spelled.setdefault(field, []).extend(" ".join(words(n)) for n in entry_names)
        elif kind == "device-columns":
            device.update(fold(n) for n in entry_names)
        else:
            other.update(fold(n) for n in entry_names)
    return Headers(
        job,
        fields,
        {f: tuple(dict.fromkeys(n)) for f, n in names.items()},
        {f: tuple(dict.fromkeys(n)) for f, n in spelled.items()},
        frozenset(device),
        frozenset(other),
    )
