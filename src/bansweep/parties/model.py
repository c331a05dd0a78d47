"""Parties to screen and restriction-list records, as plain data."""

# no `from __future__ import annotations`: the TypedDicts below tell their optional keys apart at run time
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, NotRequired, TypedDict

from bansweep.findings import Location, finding_key

AFFILIATES = "covered-vendor affiliates"  # the "list" of a covered group's named members and brands


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
    purchase: dict[str, str] = field(default_factory=dict)  # a purchase line's supplier, item and manufacturer

    @property
    def identity(self) -> str:
        """Who the party is, run after run (not its row): the name and country as given, case and spacing folded."""
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
    weak_aliases: list[str] = field(default_factory=list)  # names the list marks as weak (OFAC "weak AKA")
    identifiers: list[str] = field(default_factory=list)  # "<scheme>:<value>", e.g. "lei:5299...", "ofac:12345"
    datasets: list[str] = field(default_factory=list)  # OpenSanctions datasets naming the entity
    schema: str = ""  # FollowTheMoney schema (Company, Person, Vessel ...)
    last_change: str = ""

    def location(self) -> Location:
        return Location(**self.where) if self.where.get("file") else Location(self.list_name)

    def names(self) -> list[str]:
        return [self.name, *self.aliases]

    def content_hash(self) -> str:
        """Hash of what the record says (not where it was read): a reviewer decision is tied to it. Fields added
        later count only when set, so the hash of a record that does not use them is unchanged; identifiers
        (read from the CSL's `ids` column since) do not count, so decisions taken before stay valid."""
        body: list[Any] = [getattr(self, name) for name in _CONTENT_FIELDS if name not in _LATER_FIELDS]
        body.extend([name, getattr(self, name)] for name in _LATER_FIELDS if getattr(self, name))
        return hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ListRecord":
        return cls(**{k: data[k] for k in cls.__slots__ if k in data})  # type: ignore[attr-defined]


@dataclass(slots=True)
class ListSet:
    """The lists a run screens against, with their versions."""

    records: list[ListRecord] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # list name -> version/date
    sources: dict[str, str] = field(default_factory=dict)  # designating source -> last update
    missing: dict[str, str] = field(default_factory=dict)  # a list the run relies on but could not load -> why
    dates: dict[str, str] = field(default_factory=dict)  # list name -> when its data was published (ISO date)

    def add(self, other: "ListSet") -> None:
        self.records.extend(other.records)
        self.versions.update(other.versions)
        self.sources.update(other.sources)
        self.missing.update(other.missing)
        self.dates.update(other.dates)


_CONTENT_FIELDS = [f.name for f in fields(ListRecord) if f.name not in ("where", "identifiers")]
_LATER_FIELDS = ("weak_aliases", "datasets", "schema", "last_change")


# What names a finding, run after run (Finding.key): the party's identity, the rule and the list entry matched.
def match_rule(list_name: str, record_id: str) -> str:
    if list_name != AFFILIATES:
        return f"parties.list.{list_name}"
    return "parties.affiliate.brand" if record_id.startswith("brand:") else "parties.affiliate.known"


def match_variant(list_name: str, record_id: str) -> str:
    return f"{list_name}:{record_id}"


def match_key(identity: str, list_name: str, record_id: str) -> str:
    """Finding.key of the finding that ties the party `identity` to the entry `record_id` of `list_name`."""
    return finding_key("party", identity, match_rule(list_name, record_id), match_variant(list_name, record_id))


# Finding.extra of the parties findings, declared (the JSON report schema lists the same keys).
class TokenMatchExtra(TypedDict):
    query: str
    list: str
    how: str  # exact | fuzzy | prefix | joined
    similarity: float
    edits: NotRequired[int]


class CandidateExtra(TypedDict):
    score: float
    name: str
    list: str
    record_id: str


class DecisionExtra(TypedDict):
    decision: str  # clear | confirm
    by: str
    at: str
    reason: str
    where: str  # the decisions file entry
    stale: NotRequired[bool]  # the list entry changed since: not applied, raised again


class MatchExtra(TypedDict):
    """A party's name matched a list entry (parties.list.*) or ties it to a covered group (parties.affiliate.*)."""

    identity: str  # Party.identity: folded name|country
    query: str  # the name (or alias) of the party that matched
    normalised: str
    list: str  # list name; "covered-vendor affiliates" for group members and brands
    record_id: str  # list entry id; "brand:<group>" for a brand presumption
    record_hash: str  # content hash of the entry: a reviewer decision lapses when it changes
    citations: list[str]
    tool: str
    algorithm: str
    screened_at: str
    decision: NotRequired[DecisionExtra]
    # name matching (list matches; group members found by name)
    matched_alias: NotRequired[str]
    score: NotRequired[float]
    token_matches: NotRequired[list[TokenMatchExtra]]
    # list matches
    legal_forms_removed: NotRequired[list[str]]
    list_version: NotRequired[str]
    list_source: NotRequired[str]
    list_source_updated: NotRequired[str]
    listed_name: NotRequired[str]
    listed_parent: NotRequired[str]
    alias_coverage: NotRequired[float]
    query_coverage: NotRequired[float]
    unmatched_query_tokens: NotRequired[list[str]]
    unmatched_list_tokens: NotRequired[list[str]]
    notes: NotRequired[list[str]]
    start_date: NotRequired[str]
    end_date: NotRequired[str]
    license_requirement: NotRequired[str]
    license_policy: NotRequired[str]
    programs: NotRequired[list[str]]
    addresses: NotRequired[list[str]]
    remarks: NotRequired[str]
    candidates: NotRequired[list[CandidateExtra]]  # the best list names the party's names reached
    weak_alias: NotRequired[bool]  # the matched name is one the list marks as weak
    identifier: NotRequired[str]  # the identifier both sides carry (an exact match)
    identifiers: NotRequired[list[str]]
    datasets: NotRequired[list[str]]  # OpenSanctions datasets naming the entity
    schema: NotRequired[str]
    last_change: NotRequired[str]
    brand: NotRequired[str]  # the covered brand an affiliate-style name carries
    # group links (parties.affiliate.*)
    group: NotRequired[str]
    entity: NotRequired[str]
    legal_basis: NotRequired[str]
    relation: NotRequired[str]
    owned_from: NotRequired[str]
    owned_to: NotRequired[str]


class ScreenedExtra(TypedDict):
    """A party whose names reached no list entry (parties.screened: no-match, or not-screened for a missing list)."""

    identity: str
    normalised: str  # the party's name as compared
    lists_missing: NotRequired[dict[str, str]]  # list -> why it was not loaded


class NotScreenedExtra(TypedDict):
    """A row or file that could not be read as a party (parties.not-screened)."""

    tool: str
    screened_at: str
