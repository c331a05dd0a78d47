"""Recording a finished run: triage decisions applied, the run written, what changed since the last one noted.

`record(report, options, url)` is what the CLI calls before writing the report; it leaves in the report:
- on each finding with a decision: the triage tag, note and `extra["triage"]` (see decisions.py);
- on each finding new or changed since the last run of the same job over the same inputs:
  `extra["since_last_run"]` ("new", or "changed" with the status before);
- `summary["history"]`: the store, this run's id, the previous run's id, counts of new / resolved / changed /
  unchanged findings, the resolved ones (up to MAX_LISTED) and the trend of the last TREND_RUNS runs.
"""

from __future__ import annotations

import bisect
import dataclasses
import gc
import hashlib
import itertools
import operator
import os
import re
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bansweep import __version__
from bansweep.findings import Finding, InputError, Level, Location, Report, Severity, Status
from bansweep.inputs import InputProblem
from bansweep.store import open_store
from bansweep.store.decisions import apply_decisions, evidence_hash, load_file, triage_word, triaged_out
from bansweep.store.interface import Decision, InputRecord, Run, Store, StoredFinding

MAX_LISTED = 200  # resolved findings listed in the report's summary (all are in `bansweep history diff`)
TREND_RUNS = 12
CHUNK = 1024 * 1024  # bytes read at a time when hashing an input
HASH_BYTES = 8  # an evidence hash (decisions.evidence_hash: 16 hex digits) as bytes


def record(report: Report, options: Any, url: str | None = None, baseline: Path | None = None) -> int:
    """Open the store, apply its decisions to `report`, record the run, note the changes; returns the run id.

    `baseline`: a decisions file (from `bansweep triage export`) added to the store's decisions first; its bad
    entries become input errors of the report. Raises StoreError when the store cannot be used."""
    store = open_store(url)
    collecting = gc.isenabled()
    gc.disable()  # a large run is millions of small acyclic objects: the cyclic collector would rescan them
    try:
        if baseline is not None:
            store.decide(read_baseline(report, baseline))
        apply_decisions(report, store)
        found = report.findings
        keys = [f.key for f in found]
        hashes = bytearray(HASH_BYTES * len(found))  # each finding's evidence hash, in the report's order

        def rows() -> Iterator[StoredFinding]:
            """The rows in key order (the (run, key) index grows at its end), each made as the store takes it."""
            for i in sorted(range(len(keys)), key=keys.__getitem__):
                made = row(found[i])
                hashes[HASH_BYTES * i : HASH_BYTES * (i + 1)] = bytes.fromhex(made.evidence)
                yield made

        run_id = store.record(run_of(report, options), rows())
        note_changes(report, keys, hashes, store, run_id)
        return run_id
    finally:
        if collecting:
            gc.enable()
        store.close()


def read_baseline(report: Report, path: Path) -> list[Decision]:
    """The decisions in a baseline file; what cannot be read is added to the report's input errors."""
    try:
        made, errors = load_file(path)
    except InputProblem as exc:
        report.errors.append(exc.to_error())
        return []
    except OSError as exc:
        report.errors.append(InputError(Location(str(path)), f"cannot read the decisions file: {exc.strerror}"))
        return []
    report.errors.extend(errors)
    return made


def run_of(report: Report, options: Any) -> Run:
    counts = Counter(f.status.value for f in report.findings)
    counts["triaged"] = sum(1 for f in report.findings if triaged_out(f))
    return Run(
        id=0,
        job=report.job,
        scope=scope(report.inputs),
        started=report.started,
        finished=report.finished,
        recorded="",
        tool_version=__version__,
        subjects=report.subjects,
        findings=len(report.findings),
        counts=dict(counts),
        options=plain_options(options),
        data_versions=dict(report.data_versions),
        errors=[{"where": str(e.location), "message": e.message} for e in report.errors],
        inputs=[describe(p) for p in report.inputs],
    )


def row(f: Finding) -> StoredFinding:
    s = f.subject
    kind, subject, label, rule, title = s.kind, s.id, s.label, f.rule, f.title
    text = kind + subject + label + rule + title
    if not text.isascii() or "\x00" in text:  # rare: clean each
        kind, subject, label, rule, title = map(_clean, (kind, subject, label, rule, title))
    return StoredFinding(
        f.key,
        kind,
        subject,
        label,
        rule,
        f.status.value,
        SEVERITY[f.severity],
        title,
        evidence_hash(f),
        triage_word(f) if f.tags else None,
        body(f),
    )


SEVERITY = {s: str(s) for s in Severity}


def body(f: Finding) -> list[list[str]]:
    """What the store keeps of a finding beyond its columns: its evidence, each item's rule and observed value.
    Where each was seen, the subject's derived attributes, explanations and citations stay in the run's report."""
    return [[e.rule, e.value] for e in f.evidence]


def expand(doc: Any) -> dict[str, Any]:
    return {"evidence": [{"rule": r, "value": v} for r, v in doc or []]}


def _clean(value: str) -> str:
    """Text any database stores: lone surrogates (undecodable file names) and NUL shown as escapes."""
    if value.isascii() and "\x00" not in value:
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def scope(inputs: list[str]) -> str:
    """Runs over the same inputs share a scope; `history diff` and the trend compare within one. Digits in file
    names do not count, so this month's `inventory-2026-12.csv` follows last month's `inventory-2026-11.csv`."""
    paths = []
    for path in inputs:
        if _is_device(path):
            paths.append(path)
            continue
        head, name = os.path.split(os.path.abspath(path))
        paths.append(os.path.join(head, re.sub(r"[0-9]+", "#", name)))
    return hashlib.sha256("\n".join(sorted(paths)).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _is_device(path: str) -> bool:
    return ":" in path.split("/", 1)[0] and not os.path.exists(path)


def describe(path: str) -> InputRecord:
    """An input's size and sha256 (a directory: all its files; symlinks are hashed as their target text)."""
    name = _clean(path)
    if _is_device(path):
        return InputRecord(name, "other")
    try:
        info = os.lstat(path)
    except OSError:
        return InputRecord(name, "missing")
    try:
        if stat.S_ISDIR(info.st_mode):
            manifest = hashlib.sha256()
            total = 0
            for rel, size, digest in _tree(Path(path)):
                total += size
                manifest.update(f"{rel}\0{size}\0{digest}\n".encode("utf-8", "surrogateescape"))
            return InputRecord(name, "dir", total, manifest.hexdigest())
        size, digest = _hash(Path(path), info)
        return InputRecord(name, "file", size, digest)
    except OSError:
        return InputRecord(name, "other", info.st_size)


def _tree(root: Path) -> Iterator[tuple[str, int, str]]:
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(base, name)
            try:
                info = os.lstat(path)
                size, digest = _hash(path, info)
            except OSError:
                continue  # unreadable: the job reports it as an input error
            yield os.path.relpath(path, root), size, digest


def _hash(path: Path, info: os.stat_result) -> tuple[int, str]:
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path).encode("utf-8", "surrogateescape")
        return len(target), hashlib.sha256(target).hexdigest()
    if not stat.S_ISREG(info.st_mode):
        return 0, ""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def plain_options(value: Any) -> Any:
    """Options (dicts, dataclasses, paths) as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain_options(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain_options(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain_options(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def note_changes(report: Report, keys: list[str], hashes: bytearray, store: Store, run_id: int) -> None:
    """Mark what changed since the previous run of the same job and scope (as `Store.diff` counts it: same key,
    other status, severity or evidence); put the counts, the resolved findings and the trend in the summary.

    `keys` and `hashes` are the report's findings' keys and evidence hashes (HASH_BYTES each), in the report's
    order; the previous run's are read as they come, not held."""
    run = store.run(run_id)
    previous = store.previous(run)
    history: dict[str, Any] = {"store": store.url, "run": run_id, "previous": previous.id if previous else None}
    trend_runs = store.runs(job=run.job, scope=run.scope, limit=TREND_RUNS)
    history["trend"] = [trend_point(r) for r in reversed(trend_runs)]
    report.summary["history"] = history
    if previous is None:
        return
    first: dict[str, int] = {}
    more: dict[str, list[int]] = {}  # a key that several findings share (rare)
    for i, key in enumerate(keys):
        if first.setdefault(key, i) != i:
            more.setdefault(key, []).append(i)
    found = report.findings
    seen = bytearray(len(found))
    counts: Counter[str] = Counter()
    resolved: list[str] = []  # the first MAX_LISTED in key order
    for key, *old in store.states(previous.id):
        at = first.get(key)
        if at is None:
            counts["resolved"] += 1
            if len(resolved) < MAX_LISTED or key < resolved[-1]:
                bisect.insort(resolved, key)
                del resolved[MAX_LISTED:]
            continue
        for j in (at, *more.get(key, ())):
            if seen[j]:
                continue
            seen[j] = 1
            finding = found[j]
            evidence = hashes[HASH_BYTES * j : HASH_BYTES * (j + 1)].hex()
            if old == [finding.status.value, SEVERITY[finding.severity], evidence]:
                counts["unchanged"] += 1
                continue
            mark: dict[str, Any] = {"change": "changed", "previous_run": previous.id, "status_before": old[0]}
            if old[2] != evidence:
                mark["evidence_changed"] = True
            counts["changed"] += 1
            finding.extra = {**finding.extra, "since_last_run": mark}
    for j in itertools.compress(range(len(found)), map(operator.not_, seen)):
        counts["new"] += 1
        found[j].extra = {**found[j].extra, "since_last_run": {"change": "new", "previous_run": previous.id}}
    history.update(
        new=counts["new"], resolved=counts["resolved"], changed=counts["changed"], unchanged=counts["unchanged"]
    )
    listed = store.findings(previous.id, bodies=False, keys=resolved)
    history["resolved_findings"] = [f.to_dict() for f in listed]


def trend_point(run: Run) -> dict[str, Any]:
    """A run's counts for the trend: findings at hit level (covered, match, high, critical) and at review level."""
    hit = review = 0
    for word, n in run.counts.items():
        try:
            level = Status(word).level
        except ValueError:
            continue
        if level >= Level.HIT:
            hit += n
        elif level == Level.REVIEW:
            review += n
    return {
        "run": run.id,
        "finished": run.finished,
        "covered": hit,
        "review": review,
        "triaged": run.counts.get("triaged", 0),
        "findings": run.findings,
        "counts": {k: v for k, v in run.counts.items() if k != "triaged"},
    }
