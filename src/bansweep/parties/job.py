"""parties: suppliers, counterparties and purchase lines against restriction lists and covered vendors' affiliates."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bansweep import progress
from bansweep.executors import Session, executor
from bansweep.findings import JOB_STATUSES, Finding, InputError, Location, Report, Status
from bansweep.inputs import InputFile, InputProblem, walk
from bansweep.parties import decisions
from bansweep.parties.inputs import looks_like_parties, read_parties
from bansweep.parties.lists.csl import is_csl_header
from bansweep.parties.model import Party
from bansweep.parties.screen import ALGORITHM, MAX_LIST_AGE, Screener, load_lists
from bansweep.policy.parties import PartiesPolicy
from bansweep.tables import delimited, json_rows, xlsx


@dataclass(slots=True)
class Options:
    lists: list[Path] = field(default_factory=list)
    knowledge: list[Path] = field(default_factory=list)
    decisions: Path | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    show_progress: bool | None = None
    max_list_age: int | None = MAX_LIST_AGE  # days; an older imported list screens no party clean (None: no limit)
    only_lists: list[str] = field(default_factory=list)  # --lists: screen against these lists only, on purpose
    executor: str = "local"  # where the parties are screened: local | dask
    scheduler: str | None = None  # the Dask scheduler's address (None: $DASK_SCHEDULER_ADDRESS, else a local cluster)
    workers: int = 0  # 0 = one per CPU (at most 8 locally)


def sniff(item: InputFile) -> str | None:
    """A table with a party-name column and no device columns (those are fleet inventories)."""
    head = item.head
    suffix = item.path.suffix.lower()
    if xlsx.is_workbook(head, item.path):
        return "parties-xlsx" if looks_like_parties(_xlsx_header(item.path)) else None
    text = delimited.head_text(head)
    if not text or not text.strip():
        return None
    if text.lstrip().startswith(("[", "{")):
        return "parties-json" if suffix == ".json" and _json_keys_look_like_parties(item.path) else None
    header = _header(text)
    if not header or is_csl_header(header):
        return None
    delim = delimited.sniff_delimiter(text.lstrip("\ufeff").split("\n", 1)[0])
    if suffix not in (".csv", ".tsv", ".txt", "") and delim == ",":
        return None
    return f"parties-{'tsv' if delim == chr(9) else 'csv'}" if looks_like_parties(header) else None


def not_an_input(item: InputFile) -> str | None:
    """A restriction list given where parties were expected: say how to use it."""
    text = delimited.head_text(item.head)
    if text and is_csl_header(_header(text)):
        return (
            "a Consolidated Screening List file, not a list of parties: import it with "
            "`bansweep data import-csl FILE` or pass it with `bansweep parties --list FILE`"
        )
    return None


def _header(text: str) -> list[str]:
    try:
        return delimited.find_header(text)[1]
    except InputProblem:
        return []


def _xlsx_header(path: Path) -> list[str]:
    try:
        for table in xlsx.read(path, first_only=True):
            return table.header
    except InputProblem:
        pass
    return []


def _json_keys_look_like_parties(path: Path) -> bool:
    try:
        table = json_rows.read(path)
    except (InputProblem, OSError):
        return False
    return looks_like_parties(table.header)


def sniff_dir(path: Path) -> bool:
    return False


PARALLEL_FROM = 5000  # parties; fewer are screened in this process
WORST = {status: i for i, status in enumerate(JOB_STATUSES["parties"])}  # best to worst


@dataclass(slots=True)
class Stages:
    """Screening (facts) then the parties policy (statuses), for one party at a time."""

    screener: Screener
    policy: PartiesPolicy

    def __call__(self, party: Party) -> list[Finding]:
        return self.policy.findings(self.screener.screen(party))


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a run builds its list index and screens: millions of small acyclic
    objects that each collection would scan again (a third of the build time on a 1M-name list, and a full scan of
    the index now and then while the parties are read and the findings come back from the workers)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def screen_all(
    stages: Stages,
    parties: list[Party],
    label: str = "",
    show: bool | None = None,
    session: Session | None = None,
    workers: int = 0,
    errors: list[InputError] | None = None,
) -> list[list[Finding]]:
    """Each party's findings, in the parties' order. Many parties (any number on a cluster) go to the executor's
    workers in chunks, the stages (the list index) sent to every worker once; few are screened in this process.
    A chunk that fails on a cluster: its parties are not screened, and an input error says so (into `errors`)."""
    workers = workers or min(os.cpu_count() or 1, 8)
    if session is None or (len(parties) < PARALLEL_FROM and session.name == "local"):
        out = []
        gc.freeze()  # the collector would scan the index again and again
        try:
            with progress.progress(label, len(parties), show) as bar:
                for party in parties:
                    out.append(stages(party))
                    bar.advance()
        finally:
            gc.unfreeze()
        return out
    chunk = max(CHUNK_MIN, min(CHUNK_MAX, len(parties) // (workers * 8) or 1))
    chunks = [parties[i : i + chunk] for i in range(0, len(parties), chunk)]
    parts: list[list[list[Finding]] | None] = [None] * len(chunks)
    results = session.map_shared(_screen_chunk, stages, chunks, workers)  # local workers are forked here
    with progress.progress(label, len(parties), show) as bar:
        for i, part in results:
            if isinstance(part, Exception):  # the chunk failed on the cluster: its parties are not screened
                first, last = chunks[i][0].location, chunks[i][-1].location
                if errors is not None:
                    errors.append(InputError(first, f"parties up to {last} not screened: {part}"))
                part = [[_failed(stages, p, str(part))] for p in chunks[i]]
            parts[i] = part
            bar.advance(len(chunks[i]))
    return [findings for part in parts for findings in part or []]


CHUNK_MIN, CHUNK_MAX = 500, 20_000  # parties per chunk


def _screen_chunk(stages: Stages, parties: list[Party]) -> list[list[Finding]]:
    return [stages(party) for party in parties]


def _failed(stages: Stages, party: Party, why: str) -> Finding:
    return stages.policy.unreadable(stages.screener.unreadable(party.location, party.name, f"not screened: {why}"))


LARGE = 10_000  # parties; from this many the report's objects are moved out of the collector's sight at the end


def run(paths: list[Path], options: Options) -> Report:
    with collector_paused():
        report = _run(paths, options)
        if report.subjects >= LARGE:
            gc.freeze()  # the report lives on: its objects would cost a full scan right after the collector resumes
    return report


def _run(paths: list[Path], options: Options) -> Report:
    report = Report(job="parties", inputs=[str(p) for p in paths])
    clock = time.perf_counter()
    timing: dict[str, float] = {}
    try:
        lists, list_errors = load_lists(options.lists, options.knowledge, options.max_list_age, options.only_lists)
    except InputProblem as exc:  # an unknown --lists name: screening against fewer lists than meant is no answer
        report.errors.append(exc.to_error())
        report.summary["headline"] = f"NOT SCREENED: {exc.message}"
        return report
    timing["lists_s"] = time.perf_counter() - clock
    report.errors.extend(list_errors)
    decided: dict[str, decisions.ReviewDecision] = {}
    if options.decisions is not None:
        try:
            decided, errs = decisions.load(options.decisions)
            report.errors.extend(errs)
        except InputProblem as exc:
            report.errors.append(exc.to_error())
    screener = Screener(lists, options.knowledge)
    policy = PartiesPolicy(decided)
    stages = Stages(screener, policy)
    timing["index_s"] = time.perf_counter() - clock - timing["lists_s"]
    report.started = screener.started
    report.data_versions.update(screener.versions())
    per_party: list[list[Finding]] = []
    mappings: dict[str, dict[str, str]] = {}
    with executor(options.executor).open(options.scheduler, options.workers) as session:
        _screen_files(paths, options, stages, session, report, per_party, mappings, timing)
        ran = session.describe()
    timing["total_s"] = time.perf_counter() - clock
    report.subjects = len(per_party)
    counts: dict[str, int] = {}
    decided_count = {"applied": 0, "stale": 0}
    for findings in per_party:
        worst = max((f.status for f in findings), key=WORST.__getitem__, default=Status.NO_MATCH)
        counts[worst.value] = counts.get(worst.value, 0) + 1
        for finding in findings:
            note = finding.extra.get("decision")
            if note is not None:
                decided_count["stale" if note.get("stale") else "applied"] += 1
        report.findings.extend(findings)
    report.summary.update(
        {
            "headline": headline(lists.missing, options.only_lists, report.subjects),
            "decisions": {"file": str(options.decisions) if options.decisions else "", **decided_count},
            "screened_at": screener.started,
            "tool": f"{screener.tool}; {ALGORITHM}",
            "lists": lists.versions,
            "lists_missing": lists.missing,
            "lists_narrowed": list(options.only_lists),
            "list_sources": lists.sources,
            "list_records": len(lists.records),
            "mapping": mappings,
            "outcomes": counts,
            "timing": {k: round(v, 2) for k, v in timing.items()},
            "executor": ran,
        }
    )
    return report


def _screen_files(
    paths: list[Path],
    options: Options,
    stages: Stages,
    session: Session,
    report: Report,
    per_party: list[list[Finding]],
    mappings: dict[str, dict[str, str]],
    timing: dict[str, float],
) -> None:
    screener, policy = stages.screener, stages.policy
    for item in walk(paths):
        if isinstance(item, InputError):
            report.errors.append(item)
            continue
        started = time.perf_counter()
        try:
            parsed = read_parties(item.path, options.mapping, options.knowledge)
        except InputProblem as exc:
            report.errors.append(exc.to_error())
            per_party.append(
                [policy.unreadable(screener.unreadable(exc.location, "", f"file not read: {exc.message}"))]
            )
            continue
        except OSError as exc:
            report.errors.append(InputError(Location(str(item.path)), f"cannot read: {exc.strerror or exc}"))
            continue
        mappings[parsed.file] = parsed.mapping
        report.errors.extend(parsed.errors)
        timing["read_s"] = timing.get("read_s", 0.0) + time.perf_counter() - started
        started = time.perf_counter()
        label = f"parties: screening {item.path.name}"
        per_party.extend(
            screen_all(stages, parsed.parties, label, options.show_progress, session, options.workers, report.errors)
        )
        timing["screen_s"] = timing.get("screen_s", 0.0) + time.perf_counter() - started
        for location, text, why in parsed.unscreened:
            per_party.append([policy.unreadable(screener.unreadable(location, text, why))])


def headline(missing: dict[str, str], only: list[str], parties: int) -> str:
    """The summary's first line: whether every party was screened against every list the run relies on."""
    if missing:
        return (
            f"NOT SCREENED against {', '.join(missing)}: no party is reported clean against "
            f"{'that list' if len(missing) == 1 else 'those lists'} ({'; '.join(f'{k}: {v}' for k, v in missing.items())})"
        )
    narrowed = f" (narrowed on purpose to {', '.join(only)} by --lists)" if only else ""
    return f"{parties} parties screened against every list the run relies on{narrowed}"
