"""Benchmark: the Dask executor against the local one, same inputs, same machine.

1. firmware: N APKs (default 2,000: copies of the real test APKs in tests/data/cache/fdroidserver under distinct
   names, in a temporary folder) with the local executor (2 worker processes) and on a 2-worker LocalCluster
   (worker processes on loopback, started before the clock starts: its start-up is printed apart). Target: the
   cluster within 15 % of local. Both reports must be equal apart from the executor's record.
2. parties: N parties (default 1,000,000; --parties for a quick run) against a CSL-size generated list (26,000
   records, bench/parties_bench.py's generator) on the same cluster, and with the local executor.
For each: wall time, tasks/s (APKs or parties per second), and the scheduler's overhead: the run's wall time beyond
the workers' own compute time (from the scheduler's task stream) shared over the workers.

Usage: python3 bench/dask_bench.py [--apks N] [--parties N] [--records N] [--skip-parties] [--skip-firmware]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APKS = ROOT / "tests" / "data" / "cache" / "fdroidserver"
WORKERS = 2


def comparable(report: Any) -> dict[str, Any]:
    from bansweep.reports import json as json_report

    out = json_report.as_dict(report)
    for key in ("started", "finished"):
        out.pop(key)
    out["summary"].pop("executor")
    out["summary"].pop("timing", None)
    out["summary"].pop("screened_at", None)
    for f in out["findings"]:
        f["extra"].pop("screened_at", None)
    return out


def compute_seconds(stream: list[dict[str, Any]]) -> float:
    """The workers' compute time in the task stream (each task's compute start to stop)."""
    total = 0.0
    for task in stream:
        for part in task.get("startstops", ()):
            if part.get("action") == "compute":
                total += part["stop"] - part["start"]
    return total


def timed(run: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = run()
    return out, time.perf_counter() - start


def make_apks(folder: Path, n: int) -> int:
    sources = sorted(p for p in APKS.rglob("*.apk") if p.is_file())
    if not sources:
        raise SystemExit("no test APKs: run scripts/fetch-test-data first")
    for i in range(n):
        src = sources[i % len(sources)]
        shutil.copyfile(src, folder / f"{i:05d}-{src.name}")
    return len(sources)


def firmware_bench(client: Any, address: str, n: int) -> None:
    from distributed import get_task_stream

    from bansweep.firmware import job as firmware

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "apks"
        folder.mkdir()
        distinct = make_apks(folder, n)
        print(f"firmware: {n} APKs ({distinct} distinct test APKs, copied under distinct names)")
        local, local_s = timed(lambda: firmware.run([folder], firmware.Options(workers=WORKERS)))
        with get_task_stream(client=client) as ts:
            remote, remote_s = timed(
                lambda: firmware.run([folder], firmware.Options(executor="dask", scheduler=address))
            )
        same = comparable(local) == comparable(remote)
        ran = remote.summary["executor"]
        busy = compute_seconds(ts.data)
        overhead = remote_s - busy / WORKERS
        print(f"  local executor ({WORKERS} workers): {local_s:8.2f} s  {n / local_s:8.1f} APKs/s")
        print(
            f"  dask LocalCluster ({WORKERS} workers): {remote_s:8.2f} s  {n / remote_s:8.1f} APKs/s  "
            f"({ran['batches']} batches, {ran['batches'] / remote_s:.1f} tasks/s, {ran['workers']} workers ran tasks)"
        )
        print(f"  dask vs local: {100 * (remote_s / local_s - 1):+.1f} % (target <= +15 %)")
        print(
            f"  scheduler overhead: {overhead:.2f} s of {remote_s:.2f} s wall beyond the workers' "
            f"{busy:.2f} s of compute / {WORKERS} ({100 * overhead / remote_s:.1f} %)"
        )
        print(f"  reports equal (apart from the executor's record): {same}")
        if not same:
            raise SystemExit("the dask report differs from the local one")


def parties_bench(client: Any, address: str, n: int, records: int) -> None:
    from distributed import get_task_stream

    sys.path.insert(0, str(ROOT / "bench"))
    from bansweep.parties import job as parties
    from parties_bench import generate

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["BANSWEEP_HOME"] = str(home)
        start = time.perf_counter()
        list_path, parties_path, names, _ = generate(Path(tmp), records, n)
        print(f"parties: {n} parties against {records} list records ({names} names); generated in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        options = {"lists": [list_path], "workers": WORKERS}
        with get_task_stream(client=client) as ts:
            remote, remote_s = timed(
                lambda: parties.run([parties_path], parties.Options(executor="dask", scheduler=address, **options))
            )
        ran = remote.summary["executor"]
        busy = compute_seconds(ts.data)
        timing = remote.summary["timing"]
        overhead = timing["screen_s"] - busy / WORKERS  # the screening's wall time beyond the workers' compute
        print(
            f"  dask LocalCluster ({WORKERS} workers): {remote_s:8.2f} s  {n / remote_s:10.0f} parties/s  "
            f"({ran['tasks']} chunks, {ran['tasks'] / remote_s:.2f} tasks/s; screening {timing.get('screen_s')} s, "
            f"list + index {timing['lists_s'] + timing['index_s']:.1f} s)"
        )
        print(
            f"  scheduler overhead: {overhead:.2f} s of the screening's {timing['screen_s']} s beyond the "
            f"workers' {busy:.2f} s of compute / {WORKERS} ({100 * overhead / timing['screen_s']:.1f} %)"
        )
        del remote
        local, local_s = timed(lambda: parties.run([parties_path], parties.Options(**options)))
        print(f"  local executor ({WORKERS} workers):    {local_s:8.2f} s  {n / local_s:10.0f} parties/s")
        print(f"  dask vs local: {100 * (remote_s / local_s - 1):+.1f} %")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--apks", type=int, default=2000)
    ap.add_argument("--parties", type=int, default=1_000_000)
    ap.add_argument("--records", type=int, default=26_000)
    ap.add_argument("--skip-firmware", action="store_true")
    ap.add_argument("--skip-parties", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    import dask
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with (
        dask.config.set({"distributed.worker.daemon": False}),
        LocalCluster(
            n_workers=WORKERS, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"LocalCluster of {WORKERS} worker processes started in {time.perf_counter() - start:.1f} s")
        if not args.skip_firmware:
            firmware_bench(client, cluster.scheduler_address, args.apks)
        if not args.skip_parties:
            parties_bench(client, cluster.scheduler_address, args.parties, args.records)


if __name__ == "__main__":
    main()
