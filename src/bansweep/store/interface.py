"""The history store's interface: what a backend keeps (runs, their inputs and findings, triage decisions) and the
questions it answers (list, show, diff, trend, prune). `sql.SqlStore` implements it for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class StoreError(Exception):
    """The store cannot be opened or used (bad URL, unreachable server, unknown run, newer schema)."""


@dataclass(slots=True)
class InputRecord:
    """One input of a run as it was when the run read it."""

    path: str
    kind: str  # file | dir | missing | other (e.g. adb:SERIAL)
    size: int | None = None  # bytes (a directory: all its files)
    sha256: str | None = None  # a directory: hash of its sorted (path, size, sha256) manifest

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "size": self.size, "sha256": self.sha256}


@dataclass(slots=True)
class Run:
    id: int  # 0 until recorded
    job: str
    scope: str  # hash of the run's input paths: runs over the same inputs compare by default
    started: str
    finished: str
    recorded: str
    tool_version: str
    subjects: int
    findings: int
    counts: dict[str, int]  # findings per status, plus "triaged" (findings triaged out of --fail-on)
    options: dict[str, Any] = field(default_factory=dict)
    data_versions: dict[str, str] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)  # {"where", "message"}
    inputs: list[InputRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job": self.job,
            "scope": self.scope,
            "started": self.started,
            "finished": self.finished,
            "recorded": self.recorded,
            "tool_version": self.tool_version,
            "subjects": self.subjects,
            "findings": self.findings,
            "counts": self.counts,
            "options": self.options,
            "data_versions": self.data_versions,
            "errors": self.errors,
            "inputs": [i.to_dict() for i in self.inputs],
        }


@dataclass(slots=True)
class StoredFinding:
    """A finding as recorded: the columns diff and trend compare, and its evidence."""

    key: str
    kind: str
    subject: str
    label: str
    rule: str
    status: str
    severity: str
    title: str
    evidence: str  # evidence hash (see decisions.evidence_hash)
    triage: str | None = None  # the decision in force when the run was recorded
    body: Any = None  # the evidence, [[rule, value], …] (see recorder.body; `findings` loads it)

    COLUMNS = ("key", "kind", "subject", "label", "rule", "status", "severity", "title", "evidence", "triage")

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.COLUMNS}


@dataclass(slots=True)
class Change:
    before: StoredFinding
    after: StoredFinding

    def to_dict(self) -> dict[str, Any]:
        out = self.after.to_dict()
        out["before"] = {k: getattr(self.before, k) for k in ("status", "severity", "evidence", "title", "triage")}
        return out


@dataclass(slots=True)
class Diff:
    a: Run
    b: Run
    new: list[StoredFinding]
    resolved: list[StoredFinding]
    changed: list[Change]
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": _brief(self.a),
            "b": _brief(self.b),
            "new": [f.to_dict() for f in self.new],
            "resolved": [f.to_dict() for f in self.resolved],
            "changed": [c.to_dict() for c in self.changed],
            "unchanged": self.unchanged,
        }


def _brief(run: Run) -> dict[str, Any]:
    return {"id": run.id, "job": run.job, "finished": run.finished, "findings": run.findings}


@dataclass(frozen=True, slots=True)
class Decision:
    """A reviewer's triage decision on one finding key."""

    key: str
    decision: str  # false-positive | accepted-risk | confirmed
    by: str
    why: str
    at: str  # ISO time the decision was made
    evidence: str  # evidence hash of the finding when decided; a different hash raises the finding again
    until: str | None = None  # YYYY-MM-DD, last day the decision holds
    job: str = ""  # what the finding was, for people reading an export
    label: str = ""
    rule: str = ""

    FIELDS = ("key", "decision", "by", "why", "at", "until", "evidence", "job", "label", "rule")

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}


class Store(Protocol):
    url: str  # with any password masked

    def record(self, run: Run, findings: Iterable[StoredFinding]) -> int:
        """Write the run, its inputs and findings (in key order, read once as they come) in one transaction; return
        the new run id."""
        ...

    def runs(self, job: str | None = None, scope: str | None = None, limit: int | None = None) -> list[Run]:
        """Runs, newest first (without inputs)."""
        ...

    def run(self, run_id: int) -> Run:
        """One run with its inputs; StoreError when there is none."""
        ...

    def findings(self, run_id: int, bodies: bool = True, keys: Iterable[str] | None = None) -> list[StoredFinding]:
        """A run's findings (only those with `keys` if given), by key, with their JSON bodies unless `bodies` is
        False."""
        ...

    def states(self, run_id: int) -> Iterator[tuple[str, str, str, str]]:
        """A run's findings as (key, status, severity, evidence hash), what `diff` compares; in no set order."""
        ...

    def previous(self, run: Run) -> Run | None:
        """The latest run of the same job and scope recorded before `run`."""
        ...

    def diff(self, a: int, b: int) -> Diff: ...

    def latest(self, keys: Iterable[str]) -> dict[str, tuple[Run, StoredFinding]]:
        """For each key, its finding in the newest run that has it."""
        ...

    def prune(self, keep: int) -> list[int]:
        """Delete all but the newest `keep` runs of each job and scope; return the deleted run ids."""
        ...

    def decide(self, decisions: Sequence[Decision]) -> int:
        """Add decisions (the newest per key is in force); exact repeats are skipped. Returns how many were added."""
        ...

    def decisions(self, history: bool = False) -> list[Decision]:
        """The decision in force per key (or every decision ever made, oldest first)."""
        ...

    def close(self) -> None: ...
