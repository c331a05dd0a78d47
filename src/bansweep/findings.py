"""The shared findings model: every job produces a Report of Findings and InputErrors."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()


class Status(str, Enum):
    """Outcome level of a finding, shared by all jobs and used by --fail-on.

    fleet: a policy verdict; firmware: severity high/critical -> HIT, medium -> REVIEW;
    parties: a confirmed/strong match -> HIT, a potential match -> REVIEW.
    """

    COVERED = "covered"  # covered device / confirmed list hit / high-risk firmware finding
    LIMITED = "covered-limited"  # covered only for the purposes the law lists
    REVIEW = "review"
    NOT_COVERED = "not-covered"
    ERROR = "not-screened"  # a subject that could not be judged (never reported as clean)

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        return _STATUS_RANK[self]


_STATUS_RANK = {
    Status.NOT_COVERED: 0,
    Status.REVIEW: 1,
    Status.ERROR: 1,
    Status.LIMITED: 2,
    Status.COVERED: 3,
}


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


@dataclass(slots=True)
class Subject:
    """What a finding is about: a device, an app, a firmware image or a party."""

    kind: str  # "device" | "app" | "firmware" | "party"
    id: str
    label: str
    attributes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "label": self.label, "attributes": self.attributes}


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


@dataclass(slots=True)
class Finding:
    subject: Subject
    rule: str
    title: str
    severity: Severity
    confidence: float
    evidence: list[Evidence]
    status: Status = Status.REVIEW
    explanation: str = ""
    verdicts: list[Verdict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
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
