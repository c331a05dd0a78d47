"""The store on SQL, with SQLAlchemy Core: SQLite (the default, one file) and PostgreSQL (psycopg 3, for teams).

The schema below is what the Alembic migrations in `migrations/` build; the store migrates itself on open (under a
write lock, so two processes opening a new store at once do not race). A run is written in one transaction: a run
killed half-way leaves no trace. SQLite runs in WAL mode with a long busy timeout, so two runs at once both succeed
(the second write waits for the first) and readers never wait for a writer.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bansweep.store.interface import Change, Decision, Diff, InputRecord, Run, StoredFinding, StoreError

VERSION_TABLE = "bansweep_schema"
HEAD = "0001"  # the newest migration in migrations/versions (a test checks)
MIGRATIONS = Path(__file__).parent / "migrations"
BODY_CHUNK = 2000
BUSY_TIMEOUT_S = 600  # SQLite: how long a write waits for another run's write to finish
MIGRATION_LOCK = 0x62616E73  # PostgreSQL advisory lock taken while migrating

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(40), nullable=False),
    Column("scope", String(64), nullable=False),
    Column("started", String(40), nullable=False),
    Column("finished", String(40), nullable=False),
    Column("recorded", String(40), nullable=False),
    Column("tool_version", String(40), nullable=False),
    Column("subjects", BigInteger, nullable=False),
    Column("findings", BigInteger, nullable=False),
    Column("counts", Text, nullable=False),  # JSON
    Column("options", Text, nullable=False),  # JSON
    Column("data_versions", Text, nullable=False),  # JSON
    Column("errors", Text, nullable=False),  # JSON
    Index("ix_runs_job_scope", "job", "scope", "id"),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("path", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("size", BigInteger),
    Column("sha256", String(64)),
    PrimaryKeyConstraint("run_id", "position"),
)

findings = Table(
    "findings",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("subject", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("evidence", String(64), nullable=False),
    Column("triage", String(32)),
    Index("ix_findings_run_key", "run_id", "key"),
)

# The findings' bodies (recorder.body), BODY_CHUNK findings in key order per row: JSON, zlib-compressed. Far fewer
# bytes to write than one JSON text per finding, and what they hold is only read by `history show`.
bodies = Table(
    "bodies",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("chunk", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    PrimaryKeyConstraint("run_id", "chunk"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False),
    Column("decision", String(32), nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("why", Text, nullable=False),
    Column("decided_at", String(40), nullable=False),
    Column("until", String(10)),
    Column("evidence", String(64), nullable=False),
    Column("job", String(40), nullable=False),
    Column("label", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Index("ix_decisions_key", "key", "id"),
)

_COLUMNS = [findings.c[name] for name in StoredFinding.COLUMNS]


def engine_url(url: str) -> URL:
    """Parse a store URL; `postgresql://` (libpq style, host/port possibly in the query) uses psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a store URL: {url!r} (expected sqlite:///PATH or postgresql://…)") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername != "sqlite":
            raise StoreError(f"unsupported SQLite driver in {url!r}; use sqlite:///PATH")
        return parsed
    if backend in ("postgresql", "postgres"):
        if parsed.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise StoreError(f"unsupported PostgreSQL driver in {url!r}; use postgresql://…")
        query = dict(parsed.query)
        host = query.pop("host", None)
        port = query.pop("port", None)
        if isinstance(host, tuple) or isinstance(port, tuple):
            raise StoreError(f"give one host and one port in {url!r}")
        try:
            port_number = int(port) if port else parsed.port
        except ValueError:
            raise StoreError(f"port must be a number in {url!r}") from None
        return parsed.set(drivername="postgresql+psycopg", host=host or parsed.host, port=port_number, query=query)
    raise StoreError(f"unsupported store {backend!r} in {url!r}; use sqlite:///PATH or postgresql://…")


class SqlStore:
    """The Store on SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        target = engine_url(url)
        self.url = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)  # as the user wrote it, password masked
        self.sqlite = target.get_backend_name() == "sqlite"
        try:
            if self.sqlite:
                self.engine = create_engine(target, connect_args={"timeout": BUSY_TIMEOUT_S})
                _sqlite_setup(self.engine, target.database)
            else:
                self.engine = create_engine(target, pool_pre_ping=True)
            self._migrate()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the store {self.url}: {_reason(exc)}") from exc

    # --- connections ----------------------------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.url}: {_reason(exc)}") from exc

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE), waiting for other writers."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(bansweep_write=True)
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self.url}: {_reason(exc)}") from exc

    def _migrate(self) -> None:
        """Bring the schema to HEAD; Alembic is only loaded when there is something to do."""
        if self._revision() == HEAD:
            return
        from alembic import command
        from alembic.config import Config
        from alembic.util import CommandError

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.connect() as conn:
                conn.execution_options(bansweep_write=True)
                with conn.begin():
                    if not self.sqlite:
                        conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": MIGRATION_LOCK})
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
        except CommandError as exc:
            raise StoreError(
                f"the store {self.url} has schema {self._revision()!r}, which this bansweep does not know (newer?): "
                f"{exc}"
            ) from exc

    def _revision(self) -> str | None:
        with self.engine.connect() as conn:
            if not inspect(conn).has_table(VERSION_TABLE):
                return None
            found = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        return found[0] if len(found) == 1 else None

    def close(self) -> None:
        self.engine.dispose()

    # --- runs -----------------------------------------------------------------------------------------------------

    def record(self, run: Run, rows: Iterable[StoredFinding]) -> int:
        head = {
            "job": run.job,
            "scope": run.scope,
            "started": run.started,
            "finished": run.finished,
            "recorded": run.recorded or _now(),
            "tool_version": run.tool_version,
            "subjects": run.subjects,
            "findings": run.findings,
            "counts": _json(run.counts),
            "options": _json(run.options),
            "data_versions": _json(run.data_versions),
            "errors": _json(run.errors),
        }
        with self._write() as conn:
            run_id = int(conn.execute(insert(runs).returning(runs.c.id), head).scalar_one())
            if run.inputs:
                conn.execute(
                    insert(run_inputs),
                    [
                        {
                            "run_id": run_id,
                            "position": n,
                            "path": i.path,
                            "kind": i.kind,
                            "size": i.size,
                            "sha256": i.sha256,
                        }
                        for n, i in enumerate(run.inputs)
                    ],
                )
            packed = _bulk_findings(conn, run_id, rows)
            if packed:
                conn.execute(insert(bodies), [{"run_id": run_id, "chunk": n, "data": d} for n, d in enumerate(packed)])
        return run_id

    def runs(self, job: str | None = None, scope: str | None = None, limit: int | None = None) -> list[Run]:
        query = select(runs).order_by(runs.c.id.desc())
        if job:
            query = query.where(runs.c.job == job)
        if scope:
            query = query.where(runs.c.scope == scope)
        if limit:
            query = query.limit(limit)
        with self._read() as conn:
            return [_run(row) for row in conn.execute(query).mappings()]

    def run(self, run_id: int) -> Run:
        with self._read() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
            if row is None:
                raise StoreError(f"no run {run_id} in {self.url}")
            out = _run(row)
            query = select(run_inputs).where(run_inputs.c.run_id == run_id).order_by(run_inputs.c.position)
            out.inputs = [InputRecord(r.path, r.kind, r.size, r.sha256) for r in conn.execute(query)]
        return out

    def findings(self, run_id: int, bodies: bool = True, keys: Iterable[str] | None = None) -> list[StoredFinding]:
        query = select(*_COLUMNS).where(findings.c.run_id == run_id)
        with self._read() as conn:
            if keys is None:
                out = [StoredFinding(*row) for row in conn.execute(query.order_by(findings.c.key))]
            else:
                out = []
                for chunk in _chunks(sorted(set(keys)), 500):
                    out += [StoredFinding(*row) for row in conn.execute(query.where(findings.c.key.in_(chunk)))]
                out.sort(key=lambda f: f.key)
            if bodies and out:
                docs: dict[str, Any] = {}
                packed = select(_bodies.c.data).where(_bodies.c.run_id == run_id).order_by(_bodies.c.chunk)
                for (data,) in conn.execute(packed):
                    docs.update(json.loads(zlib.decompress(data).decode("utf-8", "surrogatepass")))
                for f in out:
                    f.body = docs.get(f.key)
        return out

    def states(self, run_id: int) -> Iterator[tuple[str, str, str, str]]:
        query = select(findings.c.key, findings.c.status, findings.c.severity, findings.c.evidence).where(
            findings.c.run_id == run_id
        )
        with self._read() as conn:  # straight from the driver's cursor: a large run has a million rows
            cursor: Any = conn.execute(query).cursor
            yield from cursor

    def previous(self, run: Run) -> Run | None:
        query = (
            select(runs)
            .where(runs.c.job == run.job, runs.c.scope == run.scope, runs.c.id < run.id)
            .order_by(runs.c.id.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        return _run(row) if row is not None else None

    def diff(self, a: int, b: int) -> Diff:
        run_a, run_b = self.run(a), self.run(b)
        fa, fb = findings.alias("fa"), findings.alias("fb")
        same_key = and_(fb.c.key == fa.c.key, fb.c.run_id == b)
        differs = or_(fa.c.status != fb.c.status, fa.c.evidence != fb.c.evidence, fa.c.severity != fb.c.severity)
        columns_a = [fa.c[name] for name in StoredFinding.COLUMNS]
        columns_b = [fb.c[name] for name in StoredFinding.COLUMNS]
        with self._read() as conn:
            new = conn.execute(
                select(*columns_b)
                .where(fb.c.run_id == b, ~exists().where(fa.c.run_id == a, fa.c.key == fb.c.key))
                .order_by(fb.c.key)
            )
            added = [StoredFinding(*row) for row in new]
            gone = conn.execute(
                select(*columns_a).where(fa.c.run_id == a, ~exists().where(same_key)).order_by(fa.c.key)
            )
            resolved = [StoredFinding(*row) for row in gone]
            pairs = conn.execute(
                select(*columns_a, *columns_b)
                .join_from(fa, fb, same_key)
                .where(fa.c.run_id == a, differs)
                .order_by(fa.c.key)
            )
            n = len(StoredFinding.COLUMNS)
            changed = [Change(StoredFinding(*row[:n]), StoredFinding(*row[n:])) for row in pairs]
            unchanged = conn.execute(
                select(func.count()).select_from(fa).join(fb, same_key).where(fa.c.run_id == a, ~differs)
            ).scalar_one()
        return Diff(run_a, run_b, added, resolved, changed, int(unchanged))

    def latest(self, keys: Iterable[str]) -> dict[str, tuple[Run, StoredFinding]]:
        wanted = set(keys)
        out: dict[str, tuple[Run, StoredFinding]] = {}
        for run in self.runs():  # newest first; a run's keys are found through (run_id, key)
            if not wanted:
                break
            for found in self.findings(run.id, bodies=False, keys=wanted):
                out[found.key] = (run, found)
            wanted -= out.keys()
        return out

    def prune(self, keep: int) -> list[int]:
        if keep < 0:
            raise StoreError("--keep must be 0 or more")
        with self._write() as conn:
            kept: dict[tuple[str, str], int] = {}
            doomed: list[int] = []
            for row in conn.execute(select(runs.c.id, runs.c.job, runs.c.scope).order_by(runs.c.id.desc())):
                seen = kept.get((row.job, row.scope), 0)
                if seen < keep:
                    kept[(row.job, row.scope)] = seen + 1
                else:
                    doomed.append(int(row.id))
            for chunk in _chunks(doomed, 500):
                conn.execute(delete(findings).where(findings.c.run_id.in_(chunk)))
                conn.execute(delete(bodies).where(bodies.c.run_id.in_(chunk)))
                conn.execute(delete(run_inputs).where(run_inputs.c.run_id.in_(chunk)))
                conn.execute(delete(runs).where(runs.c.id.in_(chunk)))
        return sorted(doomed)

    # --- decisions ------------------------------------------------------------------------------------------------

    def decide(self, items: Sequence[Decision]) -> int:
        with self._write() as conn:
            have = {
                (r.key, r.decision, r.decided_by, r.decided_at, r.why, r.until, r.evidence)
                for r in conn.execute(
                    select(
                        decisions.c.key,
                        decisions.c.decision,
                        decisions.c.decided_by,
                        decisions.c.decided_at,
                        decisions.c.why,
                        decisions.c.until,
                        decisions.c.evidence,
                    )
                )
            }
            fresh = []
            for d in items:
                ident = (d.key, d.decision, d.by, d.at, d.why, d.until, d.evidence)
                if ident not in have:
                    have.add(ident)
                    fresh.append(d)
            if fresh:
                conn.execute(
                    insert(decisions),
                    [
                        {
                            "key": d.key,
                            "decision": d.decision,
                            "decided_by": d.by,
                            "why": d.why,
                            "decided_at": d.at,
                            "until": d.until,
                            "evidence": d.evidence,
                            "job": d.job,
                            "label": d.label,
                            "rule": d.rule,
                        }
                        for d in fresh
                    ],
                )
        return len(fresh)

    def decisions(self, history: bool = False) -> list[Decision]:
        with self._read() as conn:
            rows = conn.execute(select(decisions).order_by(decisions.c.id)).mappings().all()
        made = [
            Decision(
                key=r["key"],
                decision=r["decision"],
                by=r["decided_by"],
                why=r["why"],
                at=r["decided_at"],
                evidence=r["evidence"],
                until=r["until"],
                job=r["job"],
                label=r["label"],
                rule=r["rule"],
            )
            for r in rows
        ]
        if history:
            return made
        return list({d.key: d for d in made}.values())  # the newest per key wins


FINDING_COLUMNS = ("run_id", *StoredFinding.COLUMNS)
_bodies = bodies  # the table (a method argument is named `bodies`)
_BODY_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":"), default=str)


class _Packer:
    """The bodies, BODY_CHUNK rows at a time as the rows pass: JSON made here, compressed on two threads meanwhile
    (zlib releases the GIL); a few chunks in flight at most."""

    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.chunk: list[list[Any]] = []
        self.pending: deque[Future[bytes]] = deque()
        self.pool = ThreadPoolExecutor(max_workers=2)

    def add(self, row: StoredFinding) -> None:
        self.chunk.append([row.key, row.body])
        if len(self.chunk) >= BODY_CHUNK:
            self._flush()

    def _flush(self) -> None:
        text = _BODY_JSON.encode(self.chunk)
        self.chunk = []
        data = text.encode("utf-8", "surrogatepass")  # lone surrogates (undecodable file names) kept
        self.pending.append(self.pool.submit(zlib.compress, data, 1))
        while len(self.pending) > 4:
            self.out.append(self.pending.popleft().result())

    def finish(self) -> list[bytes]:
        if self.chunk:
            self._flush()
        self.out += [f.result() for f in self.pending]
        self.pending.clear()
        return self.out


def _bulk_findings(conn: Connection, run_id: int, rows: Iterable[StoredFinding]) -> list[bytes]:
    """The run's findings through the driver's fastest path, in the caller's transaction: COPY on PostgreSQL, one
    prepared INSERT run over the rows (executemany) on SQLite. The rows are read once, as they come (a large run's
    are never all held); returns their bodies, packed on the way."""
    raw: Any = conn.connection.dbapi_connection
    packer = _Packer()

    def values() -> Iterator[tuple[Any, ...]]:
        for f in rows:
            packer.add(f)
            yield run_id, f.key, f.kind, f.subject, f.label, f.rule, f.status, f.severity, f.title, f.evidence, f.triage

    names = ", ".join(FINDING_COLUMNS)
    cursor = raw.cursor()
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy(f"COPY findings ({names}) FROM STDIN") as copy:
                for value in values():
                    copy.write_row(value)
        else:
            marks = ", ".join("?" for _ in FINDING_COLUMNS)
            cursor.executemany(f"INSERT INTO findings ({names}) VALUES ({marks})", values())
        return packer.finish()
    finally:
        cursor.close()
        packer.pool.shutdown(cancel_futures=True)


def _sqlite_setup(engine: Any, database: str | None) -> None:
    """WAL, a busy timeout, and transactions bansweep begins itself (BEGIN IMMEDIATE for writes)."""
    if database and database != ":memory:":
        path = Path(database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # the history holds findings: readable by its owner only
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let bansweep, not the driver, begin transactions
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA cache_size = -65536")  # 64 MiB: a large run is written with fewer spills
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("bansweep_write") else "BEGIN")


def _run(row: Any) -> Run:
    return Run(
        id=int(row["id"]),
        job=row["job"],
        scope=row["scope"],
        started=row["started"],
        finished=row["finished"],
        recorded=row["recorded"],
        tool_version=row["tool_version"],
        subjects=int(row["subjects"]),
        findings=int(row["findings"]),
        counts=json.loads(row["counts"]),
        options=json.loads(row["options"]),
        data_versions=json.loads(row["data_versions"]),
        errors=json.loads(row["errors"]),
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0] if str(orig or exc).strip() else type(exc).__name__
