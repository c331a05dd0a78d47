"""One entry type per knowledge dataset: the fields its entries may have, and their types.

Every entry of a dataset named in SCHEMAS is checked on load against its type (no unknown key, every field without
a default present, each value of its type), in the bundled files and in overlays alike; knowledge.facts(Type)
gives the entries as instances of it. A new dataset: its file in data/, a class here, and one line in SCHEMAS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    DATASET: ClassVar[str] = ""
    id: str
    source: str
    date: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Vendor(Entry):
    """A covered entity or a company tied to one (vendors.py compiles them)."""

    DATASET: ClassVar[str] = "vendors"
    name: str
    group: str | None
    relation: str
    confidence: str
    org: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    priority: int = 0
    owned_from: str | None = None
    owned_to: str | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Model(Entry):
    """A product-name grammar."""

    DATASET: ClassVar[str] = "models"
    entity: str
    pattern: str
    examples: list[str] = field(default_factory=list)
    product: str | None = None
    device_type: str | None = None
    weight: float | None = None  # None: the default weight of model evidence
    notes: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Banner(Entry):
    """A pattern over banner fields (HTTP server, SSH banner, SNMP sysDescr, …)."""

    DATASET: ClassVar[str] = "banners"
    entity: str
    fields: list[str]
    pattern: str
    examples: list[str] = field(default_factory=list)
    weight: float | None = None  # None: the default weight of banner evidence
    ignore_case: bool = True
    product: str | None = None
    device_type: str | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pen(Entry):
    """An SNMP private enterprise number tree."""

    DATASET: ClassVar[str] = "pens"
    oid: str
    entity: str
    registrant: str = ""
    weight: float | None = None  # None: the default weight of enterprise-number evidence
    product: str | None = None
    device_type: str | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Component(Entry):
    """A chip or module vendor: its evidence names a component, not the device maker."""

    DATASET: ClassVar[str] = "components"
    entity: str
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy(Entry):
    """A law or rule set that fleet verdicts are judged under (policy/fleet.py reads the rules)."""

    DATASET: ClassVar[str] = "policies"
    title: str
    citation: str
    rules: list[dict[str, Any]]
    review_relations: list[str] = field(default_factory=list)
    review_entities: list[str] = field(default_factory=list)
    review_confidence: list[str] = field(default_factory=lambda: ["L"])
    outside_ownership: str = "review"  # the status of a group member outside its ownership dates
    notes: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Indicator(Entry):
    """A spyware or backdoor indicator (package, file, string, certificate …) of a known family."""

    DATASET: ClassVar[str] = "spyware"
    family: str
    kind: str
    value: str
    severity: str
    explanation: str
    cves: list[str] = field(default_factory=list)
    match: str = "exact"
    within: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CapabilityEntry(Entry):
    """A capability (kind "capability": its category, label and explanation) or a signal of one (a permission,
    method, field or string)."""

    DATASET: ClassVar[str] = "capabilities"
    kind: str
    capability: str
    category: str | None = None
    label: str | None = None
    explanation: str | None = None
    value: str | None = None
    match: str | None = None
    needles: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformCert(Entry):
    """A publicly known test or platform signing certificate."""

    DATASET: ClassVar[str] = "platform-certs"
    sha256: str
    name: str
    role: str = ""
    subject: str = ""
    serial: str = ""
    not_before: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceholderNames(Entry):
    """Host names or serials that name no one device (system and vendor defaults, redaction placeholders)."""

    DATASET: ClassVar[str] = "placeholder-names"
    kind: str  # host | serial
    names: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)  # regular expressions matched against the whole value


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallStatus(Entry):
    """Inventory status values that mean a device is no longer in use (retired, disposed of, lost or stolen)."""

    DATASET: ClassVar[str] = "install-status"
    names: list[str]
    label: str
    codes: list[str] = field(default_factory=list)  # numeric choice values, read only in code_columns
    code_columns: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class AvbKey(Entry):
    """A publicly known Android Verified Boot signing key, by the SHA-1 of its AVB public key blob."""

    DATASET: ClassVar[str] = "avb-keys"
    sha1: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StockPackage(Entry):
    """Stock Android: a package with its roles, uid and signing per API range, a privileged permission, or a
    priv-app allowlist (firmware/baseline.py checks which fields each kind has)."""

    DATASET: ClassVar[str] = "android-baseline"
    kind: str
    package: str | None = None
    roles: list[str] = field(default_factory=list)
    api: list[int] = field(default_factory=list)
    uid: str | None = None
    signature: str | None = None
    priv_app: bool = False
    origin: str | None = None
    privapp: list[str] = field(default_factory=list)
    permission: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AppRole(Entry):
    """A role an app can have (what personal data it may read), or how a manifest declares it."""

    DATASET: ClassVar[str] = "android-roles"
    kind: str
    role: str
    label: str | None = None
    may: list[str] = field(default_factory=list)
    match: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StockSetuid(Entry):
    """A setuid file that stock Android ships (until an API level)."""

    DATASET: ClassVar[str] = "stock-setuid"
    path: str
    until: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FccEntry(Entry):
    """An entry of the FCC Covered List."""

    DATASET: ClassVar[str] = "fcc-covered-list"
    names: list[str]
    scope: str
    added: str
    citation: str
    group: str = ""
    conditional: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Dod1260hEntry(Entry):
    """An entry of the DoD §1260H list."""

    DATASET: ClassVar[str] = "dod-1260h"
    names: list[str]
    editions: list[str]
    citation: str
    group: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PartyBrand(Entry):
    """A trade name, Han-script brand, affiliate or known false friend of a covered group."""

    DATASET: ClassVar[str] = "party-brands"
    kind: str
    group: str | None = None
    name: str | None = None
    relation: str | None = None
    token: str | None = None
    han: str | list[str] | None = None
    english: str | None = None
    entity: str | None = None
    basis: str | None = None
    aliases: list[str] = field(default_factory=list)
    limited: bool = False
    listed: str | None = None
    citation: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LegalForm(Entry):
    """Legal-form words of one country or script (GmbH, 有限公司, …)."""

    DATASET: ClassVar[str] = "party-legal-forms"
    forms: list[str]
    script: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PartyWords(Entry):
    """A class of words in party names (stop, generic, place) or a map (abbreviations, countries)."""

    DATASET: ClassVar[str] = "party-words"
    kind: str
    words: list[str] = field(default_factory=list)
    map: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Header(Entry):
    """Table column names that stand for a field of a job (tables/headers.py reads them)."""

    DATASET: ClassVar[str] = "headers"
    kind: str  # field | device-columns | other-words
    job: str
    names: list[str]
    field: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Download(Entry):
    """Where `bansweep data update` fetches a reference file, and how large it may be."""

    DATASET: ClassVar[str] = "downloads"
    kind: str  # csl | ieee
    url: str
    file: str
    max_bytes: int


SCHEMAS: dict[str, type[Entry]] = {
    kind.DATASET: kind
    for kind in (
        Vendor,
        Model,
        Banner,
        Pen,
        Component,
        Policy,
        Indicator,
        CapabilityEntry,
        PlatformCert,
        AvbKey,
        PlaceholderNames,
        InstallStatus,
        StockPackage,
        AppRole,
        StockSetuid,
        FccEntry,
        Dod1260hEntry,
        PartyBrand,
        LegalForm,
        PartyWords,
        Header,
        Download,
    )
}
