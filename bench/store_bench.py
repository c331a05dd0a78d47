"""Benchmark: recording a 1,000,000-device fleet run in the history store (SQLite), and `history diff` of two.

Target (issue "History and triage"): recording adds <= 30% to the run's time; `history diff` of two such runs
<= 20 s.

    python3 bench/store_bench.py [--rows 1000000] [--input CSV] [--synthetic 1000000] [--store URL]

Part 1, a real fleet run: two months of a 1,000,000-row inventory (fleet_bench's generator: real MAC prefixes,
manufacturer spellings, relabels); month 2 drops every 20th row (devices replaced) and adds 20,000 new rows. Each
month runs the fleet job in-process and writes its JSON report (the baseline: the fleet run's own time, job +
report), then `record()` (decisions applied, inputs hashed, the run written in one transaction, the changes since
the last run noted). Then `history diff --format json` of the two runs.

Part 2, worst case: every one of --synthetic devices is a finding (a fleet-like report built in memory, keys and
evidence like the fleet job's); baseline: writing that report as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bansweep import reports  # noqa: E402
from bansweep.findings import Evidence, Finding, Location, Report, Severity, Status, Subject  # noqa: E402
from bansweep.jobs import FLEET, run_job  # noqa: E402
from bansweep.store import record  # noqa: E402
from fleet_bench import generate  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process and its finished children (the JSON report writer forks one)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(what: str, func, *args):  # type: ignore[no-untyped-def]
    """Run func; print and return (result, wall seconds, CPU seconds). The machine may be shared: CPU time is the
    steadier figure."""
    gc.collect()
    start, start_cpu = time.perf_counter(), cpu()
    out = func(*args)
    took, took_cpu = time.perf_counter() - start, cpu() - start_cpu
    print(f"  {what}: {took:.2f} s wall, {took_cpu:.2f} s CPU")
    return out, took, took_cpu


def json_report(report: Report, path: Path) -> None:
    reports.write(report, "json", path)


def month_two(first: Path, second: Path, extra_rows: int) -> None:
    """Month 1 minus every 20th row, plus `extra_rows` new rows (another seed)."""
    fresh = second.with_suffix(".new.csv")
    generate(fresh, extra_rows, seed=2)
    with first.open() as src, second.open("w") as out:
        out.write(src.readline())
        for n, line in enumerate(src):
            if n % 20 != 19:
                out.write(line)
        with fresh.open() as add:
            add.readline()
            out.writelines(add)
    fresh.unlink()


def real_runs(rows: int, given: Path | None, url: str, work: Path) -> None:
    print(f"== part 1: fleet runs over {rows:,} inventory rows, store {url}")
    first = work / "inventory-1.csv"  # dated exports of one inventory: the two runs share a scope
    if given is None:
        timed("generate month 1", generate, first, rows)
    else:
        first.symlink_to(given.resolve())
    second = work / "inventory-2.csv"
    timed("make month 2 (every 20th row removed, 20,000 added)", month_two, first, second, 20_000)
    run_ids = []
    for label, path in (("month 1", first), ("month 2", second)):
        print(f" {label}:")
        report, job, job_cpu = timed("fleet job", run_job, FLEET, [path])
        _, write, write_cpu = timed("JSON report", json_report, report, work / "report.json")
        n = len(report.findings)
        run_id, took, took_cpu = timed(f"record ({n:,} findings, {report.subjects:,} devices)", record, report, {}, url)
        run_ids.append(run_id)
        h = report.summary["history"]
        print(
            f"  -> recording adds {100 * took / (job + write):.0f}% wall, {100 * took_cpu / (job_cpu + write_cpu):.0f}% "
            f"CPU to the fleet run (job + JSON report: {job + write:.2f} s wall, {job_cpu + write_cpu:.2f} s CPU); "
            f"changes noted: {h.get('new')} new, {h.get('resolved')} resolved, {h.get('changed')} changed"
        )
    diff_cli(url, run_ids[0], run_ids[1], work)


def diff_cli(url: str, a: int, b: int, work: Path) -> None:
    """`bansweep history diff A B --format json -o FILE` in a process of its own (start-up included)."""
    out = work / "diff.json"
    code = (
        "import sys; from bansweep.store.cli import history; "
        "history(['diff', sys.argv[1], sys.argv[2], '--store', sys.argv[3], '--format', 'json', '-o', sys.argv[4]])"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(a), str(b), url, str(out)], check=False, env=env)
    took = time.perf_counter() - start
    diff = json.loads(out.read_text())
    print(
        f" history diff {a} {b} --format json: {took:.2f} s wall ({len(diff['new']):,} new, "
        f"{len(diff['resolved']):,} resolved, {len(diff['changed']):,} changed, {diff['unchanged']:,} unchanged; "
        f"{out.stat().st_size / 1e6:.1f} MB) (target <= 20 s)"
    )


def synthetic(n: int, seed: int, drop: float) -> Report:
    """n devices, every one a finding, as the fleet job builds them (shared template lists, per-device evidence)."""
    gc.disable()  # a million small objects: the cyclic collector would rescan them over and over
    try:
        return _synthetic(n, seed, drop)
    finally:
        gc.enable()


def _synthetic(n: int, seed: int, drop: float) -> Report:
    rng = random.Random(seed)
    report = Report(job="fleet", inputs=["synthetic-inventory.csv"], subjects=n)
    verdicts: list = []
    for i in range(n):
        if rng.random() < drop:
            continue
        mac = f"{0x4419B6000000 + i:012x}"
        mac = ":".join(mac[j : j + 2] for j in range(0, 12, 2))
        status = Status.COVERED if i % 3 else Status.REVIEW
        if rng.random() < drop / 2:
            status = Status.LIMITED
        label = f"Camera DS-2CD2042WD at 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        report.findings.append(
            Finding(
                Subject("device", mac, label, {"mac": mac, "maker": "Example Vision", "model": "DS-2CD2042WD"}),
                "fleet.covered-device",
                f"{label}: {status.value}",
                Severity.HIGH,
                0.9,
                [
                    Evidence("fleet.oui", f"{mac} (Example Vision Co.; MA-L)", Location("inv.csv", row=i + 2)),
                    Evidence("fleet.model", "DS-2CD2042WD", Location("inv.csv", row=i + 2, field="Model")),
                ],
                status,
                "The MAC prefix and the model name both name a covered maker.",
                verdicts,
                ["camera", "inventory"],
                {"macs": [mac], "notes": []},
            )
        )
    return report


def worst_case(n: int, url: str, work: Path) -> None:
    print(f"== part 2: {n:,} devices, every one a finding, store {url}")
    run_ids = []
    for month, drop in ((1, 0.0), (2, 0.05)):
        report, _, _ = timed(f"month {month}: build the report in memory", synthetic, n, month, drop)
        _, write, write_cpu = timed("JSON report", json_report, report, work / "synthetic.json")
        run_id, took, took_cpu = timed(f"record ({len(report.findings):,} findings)", record, report, {}, url)
        run_ids.append(run_id)
        print(
            f"  -> recording takes {100 * took / write:.0f}% (wall), {100 * took_cpu / write_cpu:.0f}% (CPU) of "
            "writing the JSON report"
        )
        del report
    diff_cli(url, run_ids[0], run_ids[1], work)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--input", type=Path, help="month-1 CSV (from `fleet_bench.py --keep DIR`) instead of generating")
    ap.add_argument("--synthetic", type=int, default=1_000_000, help="devices in part 2 (0 skips it)")
    ap.add_argument("--store", help="store URL (default: a new SQLite file in a temporary directory)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bansweep-store-bench-") as tmp:
        work = Path(tmp)
        url = args.store or f"sqlite:///{work / 'history.sqlite'}"
        real_runs(args.rows, args.input, url, work)
        if args.synthetic:
            worst_case(args.synthetic, args.store or f"sqlite:///{work / 'synthetic.sqlite'}", work)
        db = work / "history.sqlite"
        if db.exists():
            print(f"SQLite store after part 1: {db.stat().st_size / 1e6:.0f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
