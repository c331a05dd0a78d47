"""The shared findings model: every job produces a Report of Findings and InputErrors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import Enum, IntEnum
from operator import attrgetter
from typing import Any, TypeVar

_T = TypeVar("_T")


def pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickled as (class, field values): the default of a slots dataclass looks its fields up again for every
    object, which made pickling the bulk of sending 100,000 parties' findings back from the worker processes."""
    get: Callable[[Any], tuple[Any, ...]] = attrgetter(*(f.name for f in fields(cls)))  # type: ignore[arg-type]

    def reduce(self: Any) -> tuple[type[_T], tuple[Any, ...]]:
        return cls, get(self)

    setattr(cls, "__reduce__", reduce)  # noqa: B010 (a method set on the class the decorator made)
    return cls


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()


class Level(IntEnum):
    """The one ordering shared by every job's outcome words; `--fail-on` compares against it."""

    PASS = 0  # not-covered, no-match, cleared, info
    LOW = 1  # low
    REVIEW = 2  # review, possible-match, medium, not-screened
    HIT = 3  # covered, covered-limited, match, high
    CRITICAL = 4  # critical

    def __str__(self) -> str:
        return self.name.lower()


class Status(str, Enum):
    """A finding's outcome in its job's own words; each word sits on the shared Level ordering.

    fleet: a policy verdict on a device; firmware: the severity of a risk; parties: a list match.
    not-screened, in every job: a subject that could not be judged (never reported as clean).
    """

    # fleet
    COVERED = "covered"
    LIMITED = "covered-limited"  # covered only for the purposes the law lists
    REVIEW = "review"
    NOT_COVERED = "not-covered"
    # firmware
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"
    # parties
    MATCH = "match"
    POSSIBLE_MATCH = "possible-match"
    NO_MATCH = "no-match"
    CLEARED = "cleared"  # a reviewer cleared the match
    # every job
    NOT_SCREENED = "not-screened"

    def __str__(self) -> str:
        return self.value

    @property
    def level(self) -> Level:
        return _LEVEL[self]

    @property
    def order(self) -> tuple[int, int]:
        """Sort key: level first, then the word's place within its job (worst last)."""
        return (_LEVEL[self], _WITHIN[self])


_LEVEL = {
    Status.NOT_COVERED: Level.PASS,
    Status.NO_MATCH: Level.PASS,
    Status.CLEARED: Level.PASS,
    Status.INFO: Level.PASS,
    Status.LOW: Level.LOW,
    Status.REVIEW: Level.REVIEW,
    Status.POSSIBLE_MATCH: Level.REVIEW,
    Status.MEDIUM: Level.REVIEW,
    Status.NOT_SCREENED: Level.REVIEW,
    Status.LIMITED: Level.HIT,
    Status.COVERED: Level.HIT,
    Status.MATCH: Level.HIT,
    Status.HIGH: Level.HIT,
    Status.CRITICAL: Level.CRITICAL,
}
_WITHIN = {s: 1 if s is Status.COVERED else 0 for s in Status}  # covered above covered-limited

# The words each job reports in (best to worst), shared by the JSON schema, --fail-on and the reports.
JOB_STATUSES: dict[str, tuple[Status, ...]] = {
    "fleet": (Status.NOT_COVERED, Status.REVIEW, Status.NOT_SCREENED, Status.LIMITED, Status.COVERED),
    "firmware": (Status.INFO, Status.LOW, Status.MEDIUM, Status.NOT_SCREENED, Status.HIGH, Status.CRITICAL),
    "parties": (Status.NO_MATCH, Status.CLEARED, Status.POSSIBLE_MATCH, Status.NOT_SCREENED, Status.MATCH),
}


def severity_status(severity: Severity) -> Status:
    """A firmware finding's status is its severity."""
    return Status(str(severity))


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Location:
    """Where something was seen. Only the fields that apply are set."""

    file: str
    line: int | None = None  # 1-based line of a text file
    row: int | None = None  # 1-based data row of a table (header excluded)
    entry: str | None = None  # path inside an archive or image
    offset: int | None = None  # byte offset
    field: str | None = None  # column, attribute or key

    def __str__(self) -> str:
        out = self.file
        if self.entry:
            out += f"!{self.entry}"
        if self.line is not None:
            out += f":{self.line}"
        if self.row is not None:
            out += f" row {self.row}"
        if self.offset is not None:
            out += f" @0x{self.offset:x}"
        if self.field:
            out += f" [{self.field}]"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


@pickled_by_fields
@dataclass(slots=True)
class Evidence:
    """One observed fact that supports a finding, with the rule that judged it."""

    rule: str
    value: str
    location: Location
    data_date: str | None = None  # date/version of the reference data that judged it
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "value": self.value,
            "location": self.location.to_dict(),
        }
        if self.data_date:
            out["data_date"] = self.data_date
        if self.detail:
            out["detail"] = self.detail
        return out


@pickled_by_fields
@dataclass(slots=True)
class Subject:
    """What a finding is about: a device, an app, a firmware image or a party."""

    kind: str  # "device" | "app" | "firmware" | "party"
    id: str
    label: str
    attributes: dict[str, str] = field(default_factory=dict)
    identity: str = ""  # what names the subject run after run when `id` does not (e.g. a party's name, not its row)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "label": self.label, "attributes": self.attributes}


@pickled_by_fields
@dataclass(slots=True)
class Verdict:
    """A policy's judgement on a subject, with the legal basis."""

    policy: str
    status: Status
    citation: str
    date: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "status": self.status.value,
            "citation": self.citation,
            "date": self.date,
            "reason": self.reason,
        }


@pickled_by_fields
@dataclass(slots=True)
class Finding:
    subject: Subject
    rule: str
    title: str
    severity: Severity
    confidence: float
    evidence: list[Evidence]
    status: Status = Status.NOT_SCREENED  # until the policy stage judges it
    explanation: str = ""
    verdicts: list[Verdict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    variant: str = ""  # tells apart findings of one rule on one subject (a list entry, an indicator, a capability)
    risk: float | None = None  # firmware: the app's risk score

    @property
    def key(self) -> str:
        """Stable identity: the same subject and the same kind of finding give the same key, run after run.

        Used by firmware diff, SARIF fingerprints, reviewer decisions and the history store.
        """
        return finding_key(self.subject.kind, self.subject.identity or self.subject.id, self.rule, self.variant)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "subject": self.subject.to_dict(),
            "rule": self.rule,
            "title": self.title,
            "severity": str(self.severity),
            "confidence": round(self.confidence, 3),
            "status": self.status.value,
            "explanation": self.explanation,
            "evidence": [e.to_dict() for e in self.evidence],
            "verdicts": [v.to_dict() for v in self.verdicts],
            "tags": self.tags,
            "extra": self.extra,
        }
        if self.risk is not None:
            out["risk"] = round(self.risk, 2)
        return out


def finding_key(kind: str, identity: str, rule: str, variant: str = "") -> str:
    text = "\0".join((kind, identity, rule, variant))
    return "k1-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


@pickled_by_fields
@dataclass(slots=True)
class InputError:
    """An input (or part of one) that could not be read. Never silently dropped."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location.to_dict(), "where": str(self.location), "message": self.message}


@dataclass(slots=True)
class Report:
    job: str
    inputs: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    subjects: int = 0  # subjects examined, clean ones included
    data_versions: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    started: str = ""
    finished: str = ""

    def merge(self, other: Report) -> None:
        self.inputs.extend(other.inputs)
        self.findings.extend(other.findings)
        self.errors.extend(other.errors)
        self.subjects += other.subjects
        self.data_versions.update(other.data_versions)
        for key, value in other.summary.items():
            self.summary[f"{other.job}.{key}" if self.job != other.job else key] = value
