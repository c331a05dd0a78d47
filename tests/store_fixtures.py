"""A throwaway PostgreSQL cluster for the store tests, and reports to record.

The cluster runs in a temporary directory as an unprivileged user (`nobody` when the tests run as root), listens on
a Unix socket only (listen_addresses=''), and is stopped and removed at the end of the session. When PostgreSQL is
not installed or does not start, the PostgreSQL tests skip with the reason (scripts/test-setup installs it).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import Evidence, Finding, Location, Report, Severity, Status, Subject

PG_USER = "bansweep"


def pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bansweep-pg-"))
        self.bindir = pg_bindir()
        self.as_user: list[str] = []
        self.started = False
        self.databases = 0

    def start(self) -> str | None:
        """Start the cluster; returns why it could not, or None."""
        if self.bindir is None:
            return "PostgreSQL is not installed (initdb not found; scripts/test-setup installs it)"
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as nobody
            shutil.chown(self.root, "nobody")
            self.as_user = ["runuser", "-u", "nobody", "--"]
        data = self.root / "data"
        steps = [
            [str(self.bindir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-sync"],
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.root / "log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-c listen_addresses='' -k {self.root} -c fsync=off -c max_connections=40",
                "start",
            ],
        ]
        for step in steps:
            done = subprocess.run([*self.as_user, *step], capture_output=True, text=True, cwd=self.root)
            if done.returncode != 0:
                log = (self.root / "log").read_text(errors="replace") if (self.root / "log").exists() else ""
                return f"{Path(step[0]).name} failed: {(done.stderr + log).strip()[-500:]}"
            self.started = step is steps[-1]
        return None

    def url(self, database: str) -> str:
        return f"postgresql://{PG_USER}@/{database}?host={self.root}"

    def new_database(self) -> str:
        """A fresh database for one test; returns its store URL."""
        import psycopg

        self.databases += 1
        name = f"t{self.databases}"
        with psycopg.connect(host=str(self.root), user=PG_USER, dbname="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self.started and self.bindir is not None:
            subprocess.run(
                [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop"],
                capture_output=True,
                cwd=self.root,
            )
        shutil.rmtree(self.root, ignore_errors=True)


def cluster() -> Iterator[tuple[Cluster, str | None]]:
    c = Cluster()
    try:
        yield c, c.start()
    finally:
        c.stop()


def device_report(
    n: int,
    inputs: list[str],
    *,
    start: int = 0,
    status: Status = Status.COVERED,
    job: str = "fleet",
    overrides: dict[int, Status] | None = None,
) -> Report:
    """A fleet-like report: devices start … start+n-1, each with one finding (MAC evidence from a file row)."""
    report = Report(job=job, inputs=list(inputs), subjects=n * 10, started="2026-12-01T10:00:00+00:00")
    report.finished = "2026-12-01T10:05:00+00:00"
    report.data_versions = {"ieee-oui": "2026-11-30"}
    for i in range(start, start + n):
        mac = f"44:19:b6:{i >> 16 & 0xFF:02x}:{i >> 8 & 0xFF:02x}:{i & 0xFF:02x}"
        word = (overrides or {}).get(i, status)
        report.findings.append(
            Finding(
                subject=Subject(
                    "device", mac, f"Camera at 10.{i >> 16 & 0xFF}.{i >> 8 & 0xFF}.{i & 0xFF}", {"mac": mac}
                ),
                rule="fleet.covered-device",
                title=f"camera {i}: {word.value}",
                severity=Severity.HIGH if word is Status.COVERED else Severity.MEDIUM,
                confidence=0.9,
                evidence=[Evidence("fleet.oui", f"{mac} (Example Vision Co.)", Location("inventory.csv", row=i + 1))],
                status=word,
                tags=["camera"],
                extra={"sources": ["inventory"]},
            )
        )
    return report
