"""Parties to screen and restriction-list records, as plain data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from bansweep.findings import Location


@dataclass(slots=True)
class Party:
    """One supplier, counterparty or purchase line, as read from the user's file."""

    name: str
    location: Location
    aliases: list[str] = field(default_factory=list)
    country: str = ""
    address: str = ""
    city: str = ""
    identifier: str = ""
    role: str = "party"  # "party", or "manufacturer" for the maker named on a purchase line

    @property
    def identity(self) -> str:
        """Stable key for reviewer decisions: the name and country as given, case and spacing folded."""
        return f"{' '.join(self.name.split()).casefold()}|{self.country.strip().casefold()}"


@dataclass(slots=True)
class ListRecord:
    """One entry of a restriction list, with every name it is known by."""

    list_name: str  # "csl", "fcc-covered-list", "dod-1260h"
    record_id: str
    source: str  # the designating list, e.g. "Entity List (EL) - Bureau of Industry and Security"
    name: str
    aliases: list[str] = field(default_factory=list)
    type: str = ""
    programs: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    start_date: str = ""
    end_date: str = ""
    license_requirement: str = ""
    license_policy: str = ""
    url: str = ""
    remarks: str = ""
    parent: str = ""  # the listed parent of an "Affiliated Entity" / "Subordinate Institution"
    group: str = ""  # covered-vendor group, for the built-in lists
    limited: bool = False  # covered only for the purposes the listing names (FCC items 3-5)
    where: dict[str, Any] = field(default_factory=dict)  # Location fields of the row/entry it was read from

    def location(self) -> Location:
        return Location(**self.where) if self.where.get("file") else Location(self.list_name)

    def names(self) -> list[str]:
        return [self.name, *self.aliases]

    def content_hash(self) -> str:
        """Hash of what the record says (not where it was read): a reviewer decision is tied to it."""
        body = [getattr(self, name) for name in _CONTENT_FIELDS]
        return hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ListRecord:
        return cls(**{k: data[k] for k in cls.__slots__ if k in data})  # type: ignore[attr-defined]


@dataclass(slots=True)
class ListSet:
    """The lists a run screens against, with their versions."""

    records: list[ListRecord] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # list name -> version/date
    sources: dict[str, str] = field(default_factory=dict)  # designating source -> last update

    def add(self, other: ListSet) -> None:
        self.records.extend(other.records)
        self.versions.update(other.versions)
        self.sources.update(other.sources)


_CONTENT_FIELDS = [f.name for f in fields(ListRecord) if f.name != "where"]
