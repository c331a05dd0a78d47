"""`bansweep firmware corpus`: many firmware images, one row per app in a Parquet dataset and/or the history store.

Inputs: the entries of a folder (each file or sub-folder one firmware) or the paths of a manifest file (one per
line, `#` comments, relative to the manifest's folder). Each input is one task (on the cluster with --executor
dask: the workers read it where it is); its apps are analysed as `bansweep firmware` does.

Resumable: an input is known by its sha256 (a folder: of its file list with sizes and modification times); once
its rows are written (and its run recorded), a done-marker `<state>/<sha256>.json` is written, and a later run
skips it. The Parquet dataset is partitioned by firmware (`firmware=<sha256 prefix>/part-0.parquet`, written
whole, then renamed), so an input analysed again replaces its rows rather than adding to them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bansweep import __version__, progress
from bansweep.executors import executor
from bansweep.findings import Finding, InputError, Location, Report, Severity, Status
from bansweep.firmware import job as firmware
from bansweep.firmware.limits import InternalError, Limits
from bansweep.firmware.rules.context import NOT_SCREENED_RULE
from bansweep.inputs import InputProblem

MAX_MANIFEST_BYTES = 64 * 2**20
MAX_MANIFEST_LINE = 4096
# per input (the whole firmware image): time and address-space caps of the task that analyses it
INPUT_LIMITS = Limits(max_seconds=6 * 3600.0, max_rss_bytes=2**40)
PARTITION = "firmware"
KEY_CHARS = 16  # of the sha256, naming the input's partition


@dataclass(slots=True)
class Options:
    parquet: Path | None = None  # the dataset's folder
    history: bool = False  # record each input's report in the history store
    store_url: str | None = None
    state: Path | None = None  # done-markers; default <parquet>/_done, else the data home's corpus-done
    firmware: firmware.Options = field(default_factory=firmware.Options)


def inputs(source: Path) -> tuple[list[Path], list[InputError]]:
    """The firmware inputs a folder or manifest names, and the manifest lines that name nothing readable."""
    if source.is_dir():
        return sorted(p for p in source.iterdir() if not p.name.startswith(".")), []
    try:
        size = source.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise InputProblem(Location(str(source)), f"manifest of {size} bytes is over {MAX_MANIFEST_BYTES}")
        text = source.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [InputError(Location(str(source)), f"manifest is not UTF-8 text (byte {exc.start})")]
    except OSError as exc:
        return [], [InputError(Location(str(source)), f"cannot read: {exc.strerror or exc}")]
    except InputProblem as exc:
        return [], [exc.to_error()]
    out: list[Path] = []
    errors: list[InputError] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = Location(str(source), line=n)
        if len(line) > MAX_MANIFEST_LINE or "\x00" in line:
            errors.append(InputError(where, "not a path (too long, or a NUL byte)"))
            continue
        path = Path(line) if os.path.isabs(line) else source.parent / line
        if not path.exists():
            errors.append(InputError(where, f"{line}: no such file or folder"))
            continue
        out.append(path)
    return out, errors


def input_key(path: Path) -> str:
    """sha256 of a file's bytes; of a folder's sorted (path, size, modification time) list."""
    digest = hashlib.sha256()
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                rel = os.path.relpath(full, path)
                digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()
    with path.open("rb") as fh:
        while chunk := fh.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def analyse_input(task: tuple[str, firmware.Options]) -> Report:
    """Runs as one task (on a worker): the firmware report of one input, its apps analysed in this process tree."""
    path, options = task
    started = _now()
    report = firmware.run([Path(path)], options)
    report.started, report.finished = started, _now()
    return report


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


COLUMNS: tuple[tuple[str, str], ...] = (
    ("firmware_path", "string"),
    ("firmware_sha256", "string"),
    ("model", "string"),
    ("fingerprint", "string"),
    ("app_path", "string"),
    ("package", "string"),
    ("app_partition", "string"),
    ("app_sha256", "string"),
    ("status", "string"),  # the worst status of its findings (null: nothing found)
    ("severity", "string"),
    ("risk", "float64"),
    ("not_screened", "bool"),
    ("findings", "int64"),
    ("rules", "list<string>"),
    ("titles", "list<string>"),
    ("keys", "list<string>"),
    ("capabilities", "list<string>"),
    ("bansweep_version", "string"),
    ("scanned_at", "string"),
)


def app_rows(report: Report, path: str, key: str) -> list[dict[str, Any]]:
    """One row per app of one input's report: every app analysed, and every APK/JAR that could not be."""
    summary = report.summary.get(path, {})
    by_path: dict[str, list[Finding]] = {p: [] for p in summary.get("app_paths", {})}
    for f in report.findings:
        if f.subject.kind == "app":
            by_path.setdefault(f.subject.attributes.get("path", f.subject.id), []).append(f)
    packages = summary.get("app_paths", {})
    capabilities = summary.get("app_capabilities", {})
    rows = []
    for app_path in sorted(by_path):
        found = by_path[app_path]
        judged = [f for f in found if f.status is not Status.NOT_SCREENED]
        package = packages.get(app_path) or next((f.subject.id for f in judged), None)
        attrs = found[0].subject.attributes if found else {}
        worst = max(found, key=lambda f: f.status.order, default=None)
        rows.append(
            {
                "firmware_path": path,
                "firmware_sha256": key,
                "model": summary.get("model"),
                "fingerprint": summary.get("fingerprint"),
                "app_path": app_path,
                "package": package,
                "app_partition": attrs.get("partition"),
                "app_sha256": attrs.get("sha256"),
                "status": worst.status.value if worst else None,
                "severity": str(max((f.severity for f in judged), default=Severity.INFO)) if judged else None,
                "risk": max((f.risk or 0.0 for f in judged), default=0.0),
                "not_screened": any(f.rule == NOT_SCREENED_RULE for f in found),
                "findings": len(found),
                "rules": sorted({f.rule for f in found}),
                "titles": sorted({f.title for f in found}),
                "keys": sorted(f.key for f in found),
                "capabilities": list(capabilities.get(package, [])) if package else [],
                "bansweep_version": __version__,
                "scanned_at": report.finished,
            }
        )
    return rows


def write_partition(root: Path, key: str, rows: list[dict[str, Any]]) -> Path:
    """The input's rows as `root/firmware=<key prefix>/part-0.parquet`, written whole then renamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {
        "string": pa.string(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "int64": pa.int64(),
        "list<string>": pa.list_(pa.string()),
    }
    schema = pa.schema([(name, types[kind]) for name, kind in COLUMNS])
    table = pa.Table.from_pylist(rows, schema=schema)
    folder = root / f"{PARTITION}={key[:KEY_CHARS]}"
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, folder / "part-0.parquet")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return folder / "part-0.parquet"


def _state_dir(options: Options) -> Path:
    if options.state is not None:
        return options.state
    if options.parquet is not None:
        return options.parquet / "_done"
    from bansweep.store import data_home

    return data_home() / "corpus-done"


def _marker(state: Path, key: str) -> Path:
    return state / f"{key}.json"


@dataclass(slots=True)
class Tally:
    inputs: int = 0
    skipped: int = 0
    analysed: int = 0
    failed: int = 0
    apps: int = 0
    apps_not_screened: int = 0
    rows: int = 0
    runs_recorded: int = 0
    errors_in_skipped: int = 0
    duplicates: list[dict[str, str]] = field(default_factory=list)
    findings: dict[str, int] = field(default_factory=dict)


def run(sources: list[Path], options: Options, record: Callable[[Report], Any] | None = None) -> Report:
    """Analyse every input not done yet; write its rows (and record its run); a summary report of the corpus.

    record: records one input's report in the history store (with --history)."""
    report = Report(job="firmware-corpus", inputs=[str(s) for s in sources], started=_now())
    state = _state_dir(options)
    state.mkdir(parents=True, exist_ok=True)
    tally = Tally()
    todo: dict[str, tuple[Path, str]] = {}  # location file -> (input, key)
    first: dict[str, str] = {}  # key -> the input first seen with it
    for source in sources:
        paths, errors = inputs(source)
        report.errors.extend(errors)
        for path in paths:
            tally.inputs += 1
            try:
                key = input_key(path)
            except OSError as exc:
                report.errors.append(InputError(Location(str(path)), f"cannot read: {exc.strerror or exc}"))
                tally.failed += 1
                continue
            if key in first:  # the same image twice: analysed once
                tally.duplicates.append({"input": str(path), "same_as": first[key]})
                continue
            first[key] = str(path)
            done = _read_marker(_marker(state, key))
            if done is not None:  # its input errors are reported again: a resumed run is no cleaner
                tally.skipped += 1
                earlier = _errors(done)
                tally.errors_in_skipped += len(earlier)
                report.errors.extend(earlier)
                continue
            todo[str(path)] = (path, key)
    fw = replace(options.firmware, show_progress=False)
    used = ran_tasks = 0
    with executor(fw.executor).open(fw.scheduler, fw.workers) as session:
        # on a cluster each worker analyses its input's apps itself; here the apps of one input go to the workers
        remote = session.name != "local"
        task_options = replace(fw, executor="local", scheduler=None, workers=1) if remote else fw
        tasks = _tasks(todo, task_options, session, report)
        with progress.progress("firmware corpus", total=len(todo), show=options.firmware.show_progress) as bar:
            results: Iterator[tuple[Location, Any]] = (
                session.map_isolated(analyse_input, tasks, INPUT_LIMITS, fw.workers, batch=1)
                if remote
                else ((where, _here(where, task)) for where, task in tasks)
            )
            for where, result in results:
                path, key = todo[where.file]
                bar.advance()
                if isinstance(result, InputError):
                    report.errors.append(result)
                    tally.failed += 1
                    continue
                _finish_input(result, path, key, options, state, report, tally, record)
                if not remote:  # each input ran on its own local workers
                    ran = result.summary.get("executor", {})
                    used = max(used, ran.get("workers", 0))
                    ran_tasks += ran.get("tasks", 0)
        report.summary["executor"] = session.describe()
        if not remote:
            report.summary["executor"].update(workers=used, tasks=ran_tasks)
    sinks = ["the dataset"] * (options.parquet is not None) + ["the history store"] * options.history
    report.summary["headline"] = (
        f"{tally.inputs} firmware input(s): {tally.analysed} analysed, {tally.skipped} skipped as done before, "
        f"{tally.failed} failed; {tally.apps} app(s) this run, {tally.rows} row(s) written"
        + (f" to {options.parquet}" if options.parquet else "")
        + (f", {tally.runs_recorded} run(s) recorded" if options.history else "")
        + f"; the findings are in {' and '.join(sinks)}, not in this summary"
    )
    report.summary["corpus"] = {
        "inputs": tally.inputs,
        "skipped_already_done": tally.skipped,
        "errors_in_skipped_inputs": tally.errors_in_skipped,
        "duplicates": tally.duplicates,
        "analysed": tally.analysed,
        "failed": tally.failed,
        "apps": tally.apps,
        "apps_not_screened": tally.apps_not_screened,
        "rows_written": tally.rows,
        "runs_recorded": tally.runs_recorded,
        "findings_by_status": dict(sorted(tally.findings.items())),
        "parquet": str(options.parquet) if options.parquet else None,
        "state": str(state),
    }
    report.subjects = tally.apps
    report.finished = _now()
    return report


def _here(where: Location, task: tuple[str, firmware.Options]) -> Report | InputError:
    """One input analysed in this process (its apps on the local workers); a failure is that input's error."""
    try:
        return analyse_input(task)
    except Exception as exc:
        return InputError(where, str(InternalError("the firmware job", exc)))


def _tasks(
    todo: dict[str, tuple[Path, str]], options: firmware.Options, session: Any, report: Report
) -> Iterator[tuple[Location, tuple[str, firmware.Options]]]:
    for name, (path, _) in list(todo.items()):
        if session.name != "local" and not session.sees(str(path)):
            report.errors.append(
                InputError(Location(name), "the Dask workers cannot read this input; put the corpus where they can")
            )
            continue
        yield Location(name), (name, options)


def _finish_input(
    result: Report,
    path: Path,
    key: str,
    options: Options,
    state: Path,
    report: Report,
    tally: Tally,
    record: Callable[[Report], Any] | None,
) -> None:
    name = str(path)
    report.errors.extend(result.errors)
    rows = app_rows(result, name, key)
    if options.parquet is not None:
        write_partition(options.parquet, key, rows)
        tally.rows += len(rows)
    if options.history and record is not None:
        record(result)
        tally.runs_recorded += 1
    tally.analysed += 1
    tally.apps += len(rows)
    tally.apps_not_screened += sum(r["not_screened"] for r in rows)
    for f in result.findings:
        tally.findings[f.status.value] = tally.findings.get(f.status.value, 0) + 1
    marker = {
        "input": name,
        "sha256": key,
        "apps": len(rows),
        "errors": [e.to_dict() for e in result.errors],
        "at": result.finished,
    }
    tmp = _marker(state, key).with_suffix(".tmp")
    tmp.write_text(json.dumps(marker, sort_keys=True), encoding="utf-8")
    os.replace(tmp, _marker(state, key))


def _errors(marker: dict[str, Any]) -> list[InputError]:
    out = []
    for e in marker.get("errors", []):
        try:
            out.append(InputError(Location(**e["location"]), str(e["message"])))
        except (KeyError, TypeError):
            continue
    return out


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
