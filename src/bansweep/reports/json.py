"""JSON report: a stable, versioned schema (SCHEMA, described by report.schema.json beside this file).

JSON is the canonical form of a report; the helpers here (ordering, text cleaning) are shared by the other formats.
Model objects keep their field order; free-form maps (attributes, extra, summary, data versions) have sorted keys;
findings are sorted worst first, then by subject and rule, so two runs over the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from enum import Enum
from importlib import resources
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import IO, Any

from bansweep import __version__
from bansweep.findings import Finding, Report, Subject

SCHEMA = "https://bansweep.dev/schema/report/1"

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


def finding_key(finding: Finding) -> tuple[Any, ...]:
    s = finding.subject
    confidence = finding.confidence if math.isfinite(finding.confidence) else 0.0
    return (
        -finding.status.rank,
        -int(finding.severity),
        -confidence,
        s.kind,
        s.label,
        s.id,
        finding.rule,
        finding.title,
    )


def worst_first(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=finding_key)


def by_subject(findings: Iterable[Finding]) -> list[tuple[Subject, list[Finding]]]:
    """Findings grouped by subject (kind, id), worst subject first; each group worst first."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in worst_first(findings):
        groups.setdefault((finding.subject.kind, finding.subject.id), []).append(finding)
    return [(group[0].subject, group) for group in groups.values()]


def status_counts(report: Report) -> dict[str, int]:
    """Findings per status, worst status first; only statuses that occur."""
    counts = Counter(f.status for f in report.findings)
    order = sorted(counts, key=lambda s: (-s.rank, s.value))
    return {s.value: counts[s] for s in order}


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
        "counts": {"findings": len(report.findings), "errors": len(report.errors), **status_counts(report)},
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


def write_stream(report: Report, fh: IO[str]) -> None:
    """Write the report to `fh` finding by finding: the same text as json.dumps(as_dict(report), indent=2,
    ensure_ascii=False) plus a newline, without building the whole document first.

    json.dumps with an indent runs the pure-Python encoder, several seconds per 100,000 findings; `_encode`
    below writes the same text using the C string encoder and only the value types a report holds.
    """
    items = [f"  {_string(k)}: {_encode(v, '  ')}" for k, v in _head(report).items()]
    fh.write("{\n" + ",\n".join(items) + ',\n  "findings": [')
    batch: list[str] = []
    for n, finding in enumerate(worst_first(report.findings)):
        batch.append(("\n    " if n == 0 else ",\n    ") + _encode(finding_dict(finding), "    "))
        if len(batch) >= 1000:
            fh.write("".join(batch))
            batch.clear()
    fh.write("".join(batch) + ("\n  ]" if report.findings else "]"))
    fh.write(f',\n  "errors": {_encode([e.to_dict() for e in report.errors], "  ")}\n}}\n')


_string = encode_basestring


def _encode(value: Any, indent: str) -> str:
    """`value` as json.dumps(_clean(value), indent=2, ensure_ascii=False, allow_nan=False, default=text) writes
    it when nested at `indent`."""
    if isinstance(value, str):
        return _string(value if value.isascii() else text(value))
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = indent + "  "
        sep = ",\n" + inner
        body = sep.join([_string(text(k)) + ": " + _encode(v, inner) for k, v in value.items()])
        return "{\n" + inner + body + "\n" + indent + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        inner = indent + "  "
        return "[\n" + inner + (",\n" + inner).join([_encode(v, inner) for v in value]) + "\n" + indent + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value) if math.isfinite(value) else _string(str(value))
    return _string(text(value))
