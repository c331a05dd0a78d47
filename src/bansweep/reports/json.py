"""JSON report: a stable, versioned schema (SCHEMA, described by report.schema.json beside this file).

JSON is the canonical form of a report; the helpers here (ordering, text cleaning) are shared by the other formats.
Model objects keep their field order; free-form maps (attributes, extra, summary, data versions) have sorted keys;
findings are sorted worst first, then by subject and rule, so two runs over the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import json
import math
import operator
import os
import re
import shutil
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from enum import Enum
from importlib import resources
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import IO, Any

from bansweep import __version__
from bansweep.findings import JOB_STATUSES, Evidence, Finding, Location, Report, Status, Subject, Verdict
from bansweep.knowledge import DATA_DIR

SCHEMA = "https://bansweep.dev/schema/report/2"

# C0/C1 control characters (tab and newline kept) and the bidi controls that can reorder what a reader sees.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def text(value: object) -> str:
    """Any value as a str that encodes to UTF-8 (lone surrogates from undecodable file names are escaped)."""
    s = value if isinstance(value, str) else str(value)
    if s.isascii():
        return s
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def visible(value: object) -> str:
    """`text`, with control and bidi characters shown as escapes, so hostile values cannot steer a terminal."""
    s = text(value)
    if s.isprintable():
        return s
    return _HIDDEN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s)


KNOWLEDGE = str(DATA_DIR) + os.sep  # the bundled knowledge files, wherever bansweep is installed


def evidence_base(report: Report) -> str:
    """The folder every evidence file is in (e.g. `examples/`), said once in the summary instead of on each line."""
    files = {
        e.location.file for f in report.findings for e in f.evidence if not where(e.location).startswith("knowledge ")
    }
    folders = {os.path.dirname(f) for f in files}
    if not folders or any(os.path.isabs(f) != os.path.isabs(next(iter(folders))) for f in folders):
        return ""
    common = os.path.commonpath(list(folders)) if all(folders) else ""
    return common + "/" if common and common != "/" else ""


def where(location: Location) -> str:
    """A location as a reader wants it: a bundled knowledge file as `knowledge vendors.yaml#zte`, not by the path
    it is installed at; anything else as Location gives it. Shown with `visible`."""
    if not location.file.startswith(KNOWLEDGE):
        return visible(location)
    out = f"knowledge {location.file[len(KNOWLEDGE) :]}"
    if location.entry:
        out += f"#{location.entry}"
    if location.line is not None:
        out += f":{location.line}"
    return visible(out)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def reason(finding: Finding) -> str:
    """The finding in one line: its title without the subject's name in front, else (when that leaves only the
    status word) the first sentence of its explanation. Shown with `visible`."""
    title = visible(finding.title)
    label = visible(finding.subject.label)
    if label and title.startswith(label):
        title = title[len(label) :].lstrip(" :—-")
    if title and title != finding.status.value:
        return one_line(title)
    if finding.explanation:
        return one_line(_SENTENCE_END.split(visible(finding.explanation), 1)[0])
    return one_line(visible(finding.title))


def one_line(value: str) -> str:
    return " ".join(value.split())


def input_kinds(report: Report) -> dict[str, int]:
    """Input files per detected kind (from the jobs' `formats` figures), most first; empty when not recorded."""
    kinds: dict[str, str] = {}
    for key, value in report.summary.items():
        if (key == "formats" or str(key).endswith(".formats")) and isinstance(value, dict):
            kinds.update({text(path): text(kind) for path, kind in value.items()})
    return dict(Counter(kinds.values()).most_common())


_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def data_ages(report: Report) -> list[tuple[str, str, date | None, int]]:
    """(name, version text, oldest date in it, age in days at the end of the run) per reference data set, by
    name; the date is None when the text has none (e.g. a list that was not imported)."""
    today = _day(report.finished) or date.today()
    out: list[tuple[str, str, date | None, int]] = []
    for name, value in sorted(report.data_versions.items(), key=lambda kv: text(kv[0])):
        days = [d for d in (_day(m.group()) for m in _DATE.finditer(text(value))) if d]
        oldest = min(days) if days else None
        out.append((text(name), text(value), oldest, max((today - oldest).days, 0) if oldest else 0))
    return out


def _day(value: str) -> date | None:
    match = _DATE.search(value or "")
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def sort_key(finding: Finding) -> tuple[Any, ...]:
    """Worst first (Status.order, then severity and confidence), then by subject and rule; the key breaks ties."""
    s = finding.subject
    level, within = finding.status.order
    confidence = finding.confidence if math.isfinite(finding.confidence) else 0.0
    return (
        -level,
        -within,
        -int(finding.severity),
        -confidence,
        s.kind,
        s.label,
        s.id,
        finding.rule,
        finding.title,
        finding.key,
    )


def worst_first(findings: Iterable[Finding]) -> list[Finding]:
    """The findings in sort_key order. A large report is sorted field by field, from the last to the first (stable
    sorts give the same order): its findings' labels, titles and keys are made when read, and only one of them per
    finding is held at a time."""
    out = list(findings)
    if len(out) < MANY_FINDINGS:
        out.sort(key=sort_key)
        return out
    for field in reversed(_SORT_FIELDS):
        out.sort(key=field)
    return out


MANY_FINDINGS = 20_000
_SORT_FIELDS: tuple[Callable[[Finding], Any], ...] = (
    lambda f: -f.status.order[0],
    lambda f: -f.status.order[1],
    lambda f: -int(f.severity),
    lambda f: -f.confidence if math.isfinite(f.confidence) else -0.0,
    lambda f: f.subject.kind,
    lambda f: f.subject.label,
    lambda f: f.subject.id,
    operator.attrgetter("rule"),
    operator.attrgetter("title"),
    operator.attrgetter("key"),
)


def by_subject(findings: Iterable[Finding]) -> list[tuple[Subject, list[Finding]]]:
    """Findings grouped by subject (kind, id), worst subject first; each group worst first."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in worst_first(findings):
        groups.setdefault((finding.subject.kind, finding.subject.id), []).append(finding)
    return [(group[0].subject, group) for group in groups.values()]


# a device's inventory context (fleet/context.py) as the terminal and HTML show it beside the device:
# (attribute, how it is introduced)
CONTEXT = (("in_use", "in use: "), ("location", ""), ("owner", ""), ("asset_tag", "tag "))

# A finding's job, when its rule does not name it (rule ids start with the job: fleet., firmware., parties.)
KIND_JOB = {"device": "fleet", "app": "firmware", "firmware": "firmware", "party": "parties"}
OTHER = "other"


def finding_job(finding: Finding) -> str:
    """The job whose words the finding's status is in: its rule's prefix, else its subject kind's job."""
    prefix = finding.rule.split(".", 1)[0]
    if prefix in JOB_STATUSES:
        return prefix
    return KIND_JOB.get(finding.subject.kind, OTHER)


def report_jobs(report: Report) -> list[str]:
    """The jobs a report covers: its own job, its findings' jobs and, in a sweep, every job that ran."""
    jobs = {finding_job(f) for f in report.findings}
    jobs.add(report.job.split("-", 1)[0])  # firmware-diff speaks firmware's words
    jobs.update(str(k).split(".", 1)[0] for k in report.summary if "." in str(k))  # a sweep's per-job figures
    return [job for job in JOB_STATUSES if job in jobs]


def job_statuses(report: Report) -> dict[str, dict[str, str]]:
    """Each covered job's status words, best to worst, with their level."""
    return {job: {s.value: str(s.level) for s in JOB_STATUSES[job]} for job in report_jobs(report)}


def status_counts(report: Report) -> dict[str, int]:
    """Findings per status, worst status first; only statuses that occur."""
    counts = Counter(f.status for f in report.findings)
    return {s.value: counts[s] for s in sorted(counts, key=_worst_first)}


def level_counts(report: Report) -> dict[str, int]:
    """Findings per level, worst first; only levels that occur."""
    counts = Counter(f.status.level for f in report.findings)
    return {str(level): counts[level] for level in sorted(counts, reverse=True)}


def job_counts(report: Report) -> dict[str, dict[str, int]]:
    """Findings per job (in the order of JOB_STATUSES, then `other`), then per status, worst first."""
    counts = Counter((finding_job(f), f.status) for f in report.findings)
    jobs = [*JOB_STATUSES, OTHER]
    out: dict[str, dict[str, int]] = {}
    for (job, status), n in sorted(counts.items(), key=lambda kv: (jobs.index(kv[0][0]), worst_status_first(*kv[0]))):
        out.setdefault(job, {})[status.value] = n
    return out


def _worst_first(status: Status) -> tuple[int, int, str]:
    level, within = status.order
    return (-level, -within, status.value)


def worst_status_first(job: str, status: Status) -> tuple[int, int, int, str]:
    """Sort key of a job's status words, worst first: Status.order, then the job's own order (JOB_STATUSES)."""
    words = JOB_STATUSES.get(job, ())
    place = words.index(status) if status in words else -1
    level, within = status.order
    return (-level, -within, -place, status.value)


def plain(value: Any) -> Any:
    """A JSON-safe copy: str keys sorted, tuples/sets as lists, non-finite floats and unknown objects as text."""
    if isinstance(value, dict):
        return {text(k): plain(v) for k, v in sorted(value.items(), key=lambda kv: text(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=_set_order)
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return value.hex()
    return text(value)


def _set_order(value: Any) -> tuple[bool, Any]:
    """Numbers in numeric order first, then anything else by its JSON text."""
    number = isinstance(value, (int, float))
    return (not number, value if number else json.dumps(value, sort_keys=True))


def finding_dict(finding: Finding) -> dict[str, Any]:
    out = finding.to_dict()
    out["subject"]["attributes"] = plain(finding.subject.attributes)
    out["extra"] = plain(finding.extra)
    for item in out["evidence"]:
        item["value"] = text(item["value"])
    return out


def as_dict(report: Report) -> dict[str, Any]:
    out = _head(report)
    out["findings"] = [finding_dict(f) for f in worst_first(report.findings)]
    out["errors"] = [e.to_dict() for e in report.errors]
    # Model strings may carry lone surrogates (undecodable file names): clean every string, keep the shape.
    cleaned: dict[str, Any] = _clean(out)
    return cleaned


def _head(report: Report) -> dict[str, Any]:
    """Everything but the findings and errors, in document order."""
    return {
        "schema": SCHEMA,
        "tool": {"name": "bansweep", "version": __version__},
        "job": report.job,
        "started": report.started,
        "finished": report.finished,
        "inputs": [text(p) for p in report.inputs],
        "data_versions": {
            text(k): text(v) for k, v in sorted(report.data_versions.items(), key=lambda kv: text(kv[0]))
        },
        "subjects": report.subjects,
        "statuses": job_statuses(report),
        "counts": {
            "findings": len(report.findings),
            "errors": len(report.errors),
            "by_level": level_counts(report),
            "by_job": job_counts(report),
        },
        "summary": plain(report.summary),
    }


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {text(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that every JSON report validates against."""
    loaded: dict[str, Any] = json.loads(resources.files(__package__).joinpath("report.schema.json").read_text("utf-8"))
    return loaded


def render(report: Report) -> str:
    out = io.StringIO()
    write_stream(report, out)
    return out.getvalue()


PARALLEL_FINDINGS = 20_000  # from this many findings a forked process encodes the second half (by encoding work)


def write_stream(report: Report, fh: IO[str]) -> None:
    """Write the report to `fh` finding by finding: the same text as json.dumps(as_dict(report), indent=2,
    ensure_ascii=False) plus a newline, without building the whole document first.

    json.dumps with an indent runs the pure-Python encoder, several seconds per 100,000 findings; the Encoder
    below writes the same text using the C string encoder, for the value types a report holds. With many
    findings a forked process encodes the second half into a temporary file while this one writes the first.
    """
    enc = Encoder()
    items = [f"  {_string(k)}: {enc.encode(v, '  ')}" for k, v in _head(report).items()]
    fh.write("{\n" + ",\n".join(items) + ',\n  "findings": [')
    findings = worst_first(report.findings)
    if len(findings) < PARALLEL_FINDINGS or not _can_fork():
        _write_findings(enc, findings, fh, True)
    else:
        half = _halfway(findings)
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as rest:
            pid = os.fork()
            if pid == 0:  # the child writes only to `rest` and leaves without flushing anything else
                code = 1
                try:
                    _write_findings(Encoder(), findings[half:], rest, False)
                    rest.flush()
                    code = 0
                except BaseException:
                    traceback.print_exc()
                finally:
                    os._exit(code)
            _write_findings(enc, findings[:half], fh, True)
            _, status = os.waitpid(pid, 0)
            if status == 0:
                rest.seek(0)
                shutil.copyfileobj(rest, fh, 1 << 20)
            else:  # the child failed (its traceback is on stderr): write the rest here
                _write_findings(enc, findings[half:], fh, False)
    fh.write("\n  ]" if report.findings else "]")
    fh.write(f',\n  "errors": {enc.encode([e.to_dict() for e in report.errors], "  ")}\n}}\n')


def _halfway(findings: list[Finding]) -> int:
    """Where the findings split into two parts of about the same encoding work: a finding costs about as much as
    ten of its `extra` keys (worst-first order puts the findings with large extras at the start)."""
    costs = [10 + len(f.extra) for f in findings]
    target = sum(costs) / 2
    done = 0
    for i, cost in enumerate(costs):
        done += cost
        if done >= target:
            return i + 1
    return len(findings)


def _write_findings(enc: Encoder, findings: list[Finding], fh: IO[str], first: bool) -> None:
    batch: list[str] = []
    for n, finding in enumerate(findings):
        batch.append(("\n    " if first and n == 0 else ",\n    ") + enc.finding(finding, "    "))
        if len(batch) >= 1000:
            fh.write("".join(batch))
            batch.clear()
    fh.write("".join(batch))


def _can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) >= 2


_string = encode_basestring
_CACHED_STRINGS = 200_000


class Encoder:
    """Indented JSON text of report values, as json.dumps(_clean(value), indent=2, ensure_ascii=False,
    allow_nan=False, default=text) writes it; encoded strings are cached (reports repeat most of their text)."""

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.verdicts: dict[tuple[int, str], str] = {}

    def string(self, value: str) -> str:
        out = self.strings.get(value)
        if out is None:
            out = _string(value if value.isascii() else text(value))
            if len(self.strings) < _CACHED_STRINGS:
                self.strings[value] = out
        return out

    def encode(self, value: Any, indent: str) -> str:
        kind = type(value)
        if kind is str:
            return self.string(value)
        if kind is dict:
            if not value:
                return "{}"
            inner = indent + "  "
            string, encode = self.string, self.encode
            body = [string(k if type(k) is str else text(k)) + ": " + encode(v, inner) for k, v in value.items()]
            return "{\n" + inner + (",\n" + inner).join(body) + "\n" + indent + "}"
        if kind is list:
            return self._list(value, indent)
        if kind is int:
            return int.__repr__(value)
        if value is None:
            return "null"
        if value is True:
            return "true"
        if value is False:
            return "false"
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, dict):
            return self.encode(dict(value), indent)
        if isinstance(value, (list, tuple)):
            return self._list(value, indent)
        if isinstance(value, int):
            return int.__repr__(value)
        if isinstance(value, float):
            return float.__repr__(value) if math.isfinite(value) else self.string(str(value))
        return self.string(text(value))

    def finding(self, finding: Finding, indent: str) -> str:
        """encode(finding_dict(finding)), field by field; verdicts (shared by many findings) are encoded once."""
        i1 = indent + "  "
        i2 = i1 + "  "
        enc, s = self.encode, self.subject
        lines = [
            f'"key": {enc(finding.key, i1)}',
            f'"subject": {s(finding.subject, i1)}',
            f'"rule": {enc(finding.rule, i1)}',
            f'"title": {enc(finding.title, i1)}',
            f'"severity": {enc(str(finding.severity), i1)}',
            f'"confidence": {enc(round(finding.confidence, 3), i1)}',
            f'"status": {enc(finding.status.value, i1)}',
            f'"explanation": {enc(finding.explanation, i1)}',
            f'"evidence": {self._items([self.evidence(e, i2) for e in finding.evidence], i1)}',
            f'"verdicts": {self._items([self.verdict(v, i2) for v in finding.verdicts], i1)}',
            f'"tags": {enc(finding.tags, i1)}',
            f'"extra": {self.plain(finding.extra, i1)}',
        ]
        if finding.risk is not None:
            lines.append(f'"risk": {enc(round(finding.risk, 2), i1)}')
        return _object(lines, i1, indent)

    def subject(self, subject: Subject, indent: str) -> str:
        i1 = indent + "  "
        enc = self.encode
        lines = [
            f'"kind": {enc(subject.kind, i1)}',
            f'"id": {enc(subject.id, i1)}',
            f'"label": {enc(subject.label, i1)}',
            f'"attributes": {self.plain(subject.attributes, i1)}',
        ]
        return _object(lines, i1, indent)

    def evidence(self, evidence: Evidence, indent: str) -> str:
        i1 = indent + "  "
        enc = self.encode
        lines = [
            f'"rule": {enc(evidence.rule, i1)}',
            f'"value": {enc(text(evidence.value), i1)}',
            f'"location": {enc(evidence.location.to_dict(), i1)}',
        ]
        if evidence.data_date:
            lines.append(f'"data_date": {enc(evidence.data_date, i1)}')
        if evidence.detail:
            lines.append(f'"detail": {enc(evidence.detail, i1)}')
        return _object(lines, i1, indent)

    def verdict(self, verdict: Verdict, indent: str) -> str:
        key = (id(verdict), indent)  # the report keeps every verdict alive while it is written
        out = self.verdicts.get(key)
        if out is None:
            out = self.verdicts[key] = self.encode(verdict.to_dict(), indent)
        return out

    def _items(self, items: list[str], indent: str) -> str:
        if not items:
            return "[]"
        inner = indent + "  "
        return "[\n" + inner + (",\n" + inner).join(items) + "\n" + indent + "]"

    def _list(self, value: list[Any] | tuple[Any, ...], indent: str) -> str:
        if not value:
            return "[]"
        inner = indent + "  "
        encode = self.encode
        return "[\n" + inner + (",\n" + inner).join([encode(v, inner) for v in value]) + "\n" + indent + "]"

    def plain(self, value: Any, indent: str) -> str:
        """encode(plain(value)) without building the copy."""
        kind = type(value)
        if kind is str:
            return self.string(value)
        if isinstance(value, dict):
            if not value:
                return "{}"
            inner = indent + "  "
            string, nested = self.string, self.plain
            if all(type(k) is str for k in value) and "".join(value).isascii():  # text(key) is the key itself
                body = [string(k) + ": " + nested(v, inner) for k, v in sorted(value.items())]
            else:
                items = sorted(value.items(), key=lambda kv: text(kv[0]))
                body = [string(text(k)) + ": " + nested(v, inner) for k, v in items]
            return "{\n" + inner + (",\n" + inner).join(body) + "\n" + indent + "}"
        if isinstance(value, (list, tuple)):
            if not value:
                return "[]"
            inner = indent + "  "
            nested = self.plain
            return "[\n" + inner + (",\n" + inner).join([nested(v, inner) for v in value]) + "\n" + indent + "]"
        if isinstance(value, Enum):
            return self.plain(value.value, indent)
        if isinstance(value, (set, frozenset, float, bytes)) or not isinstance(value, (int, type(None))):
            return self.encode(plain(value), indent)
        return self.encode(value, indent)


def _object(lines: list[str], inner: str, indent: str) -> str:
    """Members already encoded as '"key": value', laid out as json.dumps(indent=2) does."""
    return "{\n" + inner + (",\n" + inner).join(lines) + "\n" + indent + "}"
