"""Executors: the same inputs give the same report on this machine's workers and on a real Dask cluster (a
LocalCluster of worker processes, and `dask scheduler` + `dask worker` processes started here), and failures on the
cluster are reported per input while the run goes on."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bansweep import executors
from bansweep.cli import main
from bansweep.executors import dask as dask_executor
from bansweep.executors.interface import Executor
from bansweep.findings import InputError, Location, Report
from bansweep.firmware import job as firmware
from bansweep.firmware.limits import Limits
from bansweep.parties import job as parties
from bansweep.reports import json as json_report
from parties_fixtures import SAMPLE

distributed = pytest.importorskip("distributed")  # the `dask` extra; the test extra installs it

ROOT = Path(__file__).resolve().parents[1]
APKS = ROOT / "tests" / "data" / "cache" / "fdroidserver"
needs_apks = pytest.mark.skipif(not APKS.is_dir(), reason="run scripts/fetch-test-data first")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A LocalCluster of 2 worker processes on loopback, allowed to start bounded processes (as the executor's own)."""
    import dask

    config = {"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": 1}
    with (
        dask.config.set(config),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as local,
    ):
        yield local.scheduler_address


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANSWEEP_HOME", str(tmp_path / "home"))


def comparable(report: Report) -> dict[str, Any]:
    """The JSON report without what differs by design: the executor's record and the run's times."""
    out = json_report.as_dict(report)
    executor = out["summary"].pop("executor")
    assert executor["name"] in executors.NAMES
    for key in ("started", "finished"):
        out.pop(key)
    out["summary"].pop("timing", None)
    return _without_run_times(out)


def _without_run_times(value: Any) -> Any:
    """Two runs start at different seconds: the parties' audit record says when each party was screened."""
    if isinstance(value, dict):
        return {k: _without_run_times(v) for k, v in value.items() if not k.endswith("screened_at")}
    if isinstance(value, list):
        return [_without_run_times(v) for v in value]
    return value


def test_the_registry_keeps_its_contract() -> None:
    assert [e.name for e in executors.EXECUTORS] == ["local", "dask"]
    assert all(isinstance(e, Executor) for e in executors.EXECUTORS)
    with pytest.raises(executors.ExecutorError, match="unknown executor 'ray'"):
        executors.executor("ray")


@needs_apks
def test_firmware_on_a_local_cluster_equals_the_local_executor(cluster: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dask_executor, "BATCH_TASKS", 4)  # 43 APKs: 11 batches over 2 workers
    local = firmware.run([APKS], firmware.Options(workers=2))
    remote = firmware.run([APKS], firmware.Options(executor="dask", scheduler=cluster))
    assert comparable(local) == comparable(remote)
    assert len(remote.findings) > 10 and remote.summary[str(APKS)]["apps"] > 30
    assert remote.errors == local.errors  # the same errors in the same order, whichever worker finished first
    ran = remote.summary["executor"]
    assert ran["name"] == "dask" and ran["scheduler"] == cluster
    assert 1 <= ran["workers"] <= 2 and ran["tasks"] == 43 and ran["batches"] == 11
    assert local.summary["executor"] == {"name": "local", "scheduler": None, "workers": 2, "tasks": 43}


@needs_apks
def test_inputs_the_workers_cannot_read_are_sent_as_bytes_up_to_a_cap(
    cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    apks = sorted(APKS.glob("*.apk"), key=lambda p: p.stat().st_size)
    small, large = apks[0], apks[-1]
    monkeypatch.setattr(dask_executor.DaskSession, "sees", lambda self, path: False)
    monkeypatch.setattr(dask_executor.DaskSession, "max_send_bytes", small.stat().st_size)
    remote = firmware.run([small, large], firmware.Options(executor="dask", scheduler=cluster))
    local = firmware.run([small], firmware.Options(workers=1))
    assert [f.key for f in remote.findings if str(small) in f.subject.id or f.subject.label != large.name] != []
    assert remote.summary[str(small)] == local.summary[str(small)]  # sent as bytes, analysed the same
    (error,) = remote.errors
    assert error.location.file == str(large) and "limit for sending an input to the workers" in error.message


def test_the_workers_see_this_machines_files(cluster: str, tmp_path: Path) -> None:
    with executors.executor("dask").open(cluster) as session:
        assert session.sees(str(tmp_path))
        assert not session.sees(str(tmp_path / "missing"))


def _parties_file(path: Path, n: int) -> Path:
    rows = list(csv.reader((ROOT / "examples" / "suppliers.csv").open(encoding="utf-8")))
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(rows[0])
        for i in range(n):
            row = list(rows[1 + i % (len(rows) - 1)])
            if i >= len(rows) - 1:
                row[0] = f"{row[0]} {i}"  # variants: distinct parties, the same names matched
            out.writerow(row)
    return path


def test_parties_on_a_local_cluster_equal_the_local_executor(cluster: str, tmp_path: Path) -> None:
    path = _parties_file(tmp_path / "parties.csv", 1200)  # 3 chunks
    options: dict[str, Any] = {"lists": [SAMPLE]}
    local = parties.run([path], parties.Options(**options))
    remote = parties.run([path], parties.Options(executor="dask", scheduler=cluster, **options))
    assert comparable(local) == comparable(remote)
    # 1200 suppliers and the manufacturers named on their purchase lines, in chunks of 500
    assert remote.subjects > 1200 and any(f.status.value == "match" for f in remote.findings)
    ran = remote.summary["executor"]
    assert ran["name"] == "dask" and ran["tasks"] == -(-remote.subjects // 500) and 1 <= ran["workers"] <= 2


def _ok(arg: int) -> int:
    return arg * 2


def _raises(arg: int) -> int:
    if arg == 3:
        raise ValueError("bad input three")
    return arg * 2


def _kills_its_worker(arg: int) -> int:
    if arg == 3:
        os._exit(1)  # the whole worker process dies, every time
    return arg * 2


def _tasks(n: int) -> list[tuple[Location, int]]:
    return [(Location(f"input-{i}"), i) for i in range(n)]


def test_a_task_that_raises_is_an_input_error_and_the_rest_go_on(cluster: str) -> None:
    with executors.executor("dask").open(cluster) as session:
        out = dict(session.map_isolated(_raises, _tasks(6), Limits(max_seconds=30), 0))
    assert {k.file: v for k, v in out.items() if not isinstance(v, InputError)} == {
        f"input-{i}": i * 2 for i in (0, 1, 2, 4, 5)
    }
    error = out[Location("input-3")]
    assert isinstance(error, InputError) and "ValueError" in error.message and "bad input three" in error.message


def test_a_task_that_kills_its_bounded_process_is_an_input_error(cluster: str) -> None:
    with executors.executor("dask").open(cluster) as session:
        out = dict(session.map_isolated(_kills_its_worker, _tasks(5), Limits(max_seconds=30), 0))
    assert isinstance(out[Location("input-3")], InputError) and "died" in out[Location("input-3")].message
    assert [out[Location(f"input-{i}")] for i in (0, 1, 2, 4)] == [0, 2, 4, 8]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cli_cluster() -> Iterator[str]:
    """`dask scheduler` and two `dask worker` processes on loopback, stopped at the end."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]),
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
    }
    dask_cli = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    worker_cli = [sys.executable, "-m", "distributed.cli.dask_worker"]
    procs = [
        subprocess.Popen(
            [*dask_cli, "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0", "--no-dashboard"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [*worker_cli, address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_an_input_that_kills_workers_every_time_is_reported_and_the_run_goes_on(cli_cluster: str) -> None:
    """`dask worker` processes are daemons: the task runs in the worker itself, which dies; the scheduler retries
    it elsewhere, gives up (KilledWorker), and the batch is split so that only the culprit is reported."""
    with executors.executor("dask").open(cli_cluster) as session:
        started = time.monotonic()
        out = dict(session.map_isolated(_kills_its_worker, _tasks(6), Limits(max_seconds=30), 0))
        assert time.monotonic() - started < 120
    error = out[Location("input-3")]
    assert (
        isinstance(error, InputError) and "KilledWorker" in error.message and "killed the Dask workers" in error.message
    )
    assert [out[Location(f"input-{i}")] for i in (0, 1, 2, 4, 5)] == [0, 2, 4, 8, 10]


@needs_apks
def test_cli_firmware_against_dask_processes_started_here(cli_cluster: str, tmp_path: Path) -> None:
    apks = tmp_path / "apks"
    apks.mkdir()
    for apk in sorted((APKS / "repo").glob("*.apk"))[:6]:
        (apks / apk.name).write_bytes(apk.read_bytes())
    args = ["firmware", str(apks), "--format", "json", "--no-store", "--fail-on", "never"]
    out = tmp_path / "dask.json"
    env = {"DASK_SCHEDULER_ADDRESS": cli_cluster}
    result = CliRunner().invoke(main, [*args, "--executor", "dask", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    local = tmp_path / "local.json"
    assert CliRunner().invoke(main, [*args, "-o", str(local)]).exit_code == 0
    import json

    remote_doc, local_doc = json.loads(out.read_text()), json.loads(local.read_text())
    ran = remote_doc["summary"].pop("executor")
    assert ran["name"] == "dask" and ran["scheduler"] == cli_cluster and ran["tasks"] == 6
    assert local_doc["summary"].pop("executor")["name"] == "local"
    for doc in (remote_doc, local_doc):
        doc.pop("started"), doc.pop("finished")
    assert remote_doc == local_doc and len(remote_doc["findings"]) > 0


def test_cli_names_an_unreachable_scheduler(tmp_path: Path) -> None:
    import dask

    port = _free_port()
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        result = CliRunner().invoke(
            main,
            ["parties", str(ROOT / "examples" / "suppliers.csv"), "--no-store", "--executor", "dask"],
            env={"DASK_SCHEDULER_ADDRESS": f"tcp://127.0.0.1:{port}"},
        )
    assert result.exit_code == 3
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in result.output


def _corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("janus.apk", "urzip.apk"):
        (folder / name).write_bytes((APKS / name).read_bytes())
    tree = folder / "tree"
    tree.mkdir()
    for apk in sorted((APKS / "repo").glob("com.politedroid_*.apk")):
        (tree / apk.name).write_bytes(apk.read_bytes())
    (folder / "notes.txt").write_text("not firmware\n")
    return folder


def _rows(dataset: Path) -> list[dict[str, Any]]:
    import pyarrow.dataset as pads

    table = pads.dataset(dataset, partitioning="hive").to_table()
    rows = [{k: v for k, v in row.items() if k != "scanned_at"} for row in table.to_pylist()]
    return sorted(rows, key=lambda r: (r["firmware_path"], r["app_path"]))


@needs_apks
def test_corpus_writes_one_row_per_app_and_resumes(tmp_path: Path) -> None:
    from bansweep.firmware import corpus

    folder, out = _corpus(tmp_path), tmp_path / "dataset"
    options = corpus.Options(parquet=out, firmware=firmware.Options(workers=2))
    first = corpus.run([folder], options)
    tally = first.summary["corpus"]
    assert tally["inputs"] == 4 and tally["analysed"] == 4 and tally["skipped_already_done"] == 0
    assert tally["apps"] == tally["rows_written"] == 6  # janus, urzip and the 4 politedroid builds
    assert [e.location.file for e in first.errors] == [str(folder / "notes.txt")]  # never a silent clean
    rows = _rows(out)
    assert len(rows) == 6 and {r["firmware"] for r in rows} == {r["firmware_sha256"][:16] for r in rows}
    janus = next(r for r in rows if r["app_path"] == "janus.apk")
    assert janus["package"] == "com.example" and janus["status"] == "high" and "firmware.risk" in janus["rules"]
    assert len({r["firmware_sha256"] for r in rows if r["firmware_path"] == str(folder / "tree")}) == 1

    again = corpus.run([folder], options)
    assert again.summary["corpus"]["skipped_already_done"] == 4 and again.summary["corpus"]["analysed"] == 0
    assert again.summary["corpus"]["errors_in_skipped_inputs"] == 1 and _rows(out) == rows
    assert again.errors == first.errors  # reported again, every run: a resumed run is no cleaner

    (folder / "urzip.apk").write_bytes((APKS / "urzip-release.apk").read_bytes())  # new content: a new input
    changed = corpus.run([folder], options)
    assert changed.summary["corpus"]["analysed"] == 1 and changed.summary["corpus"]["skipped_already_done"] == 3
    assert len(_rows(out)) == 7  # the old build's rows stay in their own partition


@needs_apks
def test_corpus_on_a_cluster_writes_the_same_rows_from_a_manifest(cluster: str, tmp_path: Path) -> None:
    from bansweep.firmware import corpus

    folder = _corpus(tmp_path)
    manifest = tmp_path / "manifest.txt"
    manifest.write_text(
        "# firmware corpus\ncorpus/janus.apk\ncorpus/tree\n\ncorpus/missing.img\n"
        f"{folder / 'urzip.apk'}\ncorpus/janus.apk\n"
    )
    local = corpus.run([manifest], corpus.Options(parquet=tmp_path / "local", firmware=firmware.Options(workers=2)))
    fw = firmware.Options(executor="dask", scheduler=cluster)
    remote = corpus.run([manifest], corpus.Options(parquet=tmp_path / "remote", firmware=fw))
    assert _rows(tmp_path / "local") == _rows(tmp_path / "remote") and len(_rows(tmp_path / "remote")) == 6
    (missing,) = remote.errors
    assert missing.location.line == 5 and "corpus/missing.img: no such file" in missing.message
    tally = remote.summary["corpus"]
    assert tally["duplicates"] == [{"input": str(folder / "janus.apk"), "same_as": str(folder / "janus.apk")}]
    ran = remote.summary["executor"]
    assert ran["name"] == "dask" and ran["tasks"] == 3 and ran["batches"] == 3  # one task per firmware
    assert local.summary["corpus"]["apps"] == tally["apps"] == 6


@needs_apks
def test_cli_corpus_records_each_firmware_in_the_history_store(tmp_path: Path) -> None:
    folder = _corpus(tmp_path)
    (folder / "notes.txt").unlink()
    store = f"sqlite:///{tmp_path / 'history.db'}"
    args = ["firmware", "corpus", str(folder), "--history", "--store", store, "--format", "json"]
    result = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "summary.json")])
    assert result.exit_code == 0, result.output
    import json

    summary = json.loads((tmp_path / "summary.json").read_text())["summary"]["corpus"]
    assert summary["runs_recorded"] == 3 and summary["state"].endswith("corpus-done")
    result = CliRunner().invoke(main, ["history", "list", "--store", store])
    assert result.exit_code == 0 and result.output.count("firmware") >= 3, result.output
    usage = CliRunner().invoke(main, ["firmware", "corpus", str(folder)])
    assert usage.exit_code == 2 and "--parquet DIR and/or --history" in usage.output


def _add_unless_two(shared: int, chunk: int) -> int:
    if chunk == 2:
        os._exit(1)  # kills the worker holding this chunk, every time
    return shared + chunk


def test_shared_work_reaches_every_chunk_and_a_chunk_that_kills_workers_is_reported(cli_cluster: str) -> None:
    with executors.executor("dask").open(cli_cluster) as session:
        out = dict(session.map_shared(_add_unless_two, 100, [1, 2, 3], 0))
    assert out[0] == 101 and out[2] == 103
    assert isinstance(out[1], dask_executor.TaskFailed) and "killed the Dask workers" in str(out[1])


@needs_apks
def test_cli_sweep_on_a_cluster_equals_the_local_sweep(cluster: str, tmp_path: Path) -> None:
    import json

    inputs = [str(APKS / "janus.apk"), str(APKS / "urzip.apk"), str(_parties_file(tmp_path / "parties.csv", 40))]
    args = ["sweep", *inputs, "--list", str(SAMPLE), "--format", "json", "--no-store", "--fail-on", "never"]
    docs = []
    for extra in ([], ["--executor", "dask", "--scheduler", cluster]):
        out = tmp_path / f"sweep{len(extra)}.json"
        result = CliRunner().invoke(main, [*args, *extra, "-o", str(out)])
        assert result.exit_code == 0, result.output
        docs.append(json.loads(out.read_text()))
    ran = [{job: doc["summary"].pop(f"{job}.executor")["name"] for job in ("firmware", "parties")} for doc in docs]
    assert ran == [{"firmware": "local", "parties": "local"}, {"firmware": "dask", "parties": "dask"}]
    local, remote = (_without_run_times({k: v for k, v in d.items() if k not in ("started", "finished")}) for d in docs)
    for doc in (local, remote):
        doc["summary"].pop("parties.timing")
    assert local == remote and local["counts"]["findings"] > 40
