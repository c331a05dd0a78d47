"""The Dask executor: the same tasks on a Dask cluster (`--executor dask --scheduler tcp://HOST:8786`), same results.

- Firmware tasks (one per APK/JAR) go in batches (BATCH_TASKS tasks or BATCH_BYTES bytes), so small APKs do not
  drown the scheduler; inputs the workers can read go as paths, others as bytes inside their batch's task (a
  lost worker then loses no data), up to MAX_SEND_BYTES each.
  On a worker that may start processes (`distributed.worker.daemon: false`, as the cluster this executor starts
  itself) each task runs in a bounded process with the local executor's memory and time caps; elsewhere in the
  worker, under its own memory limit.
- Shared work (the parties' list index) is scattered once to every worker (broadcast); each chunk's task refers
  to it.
- Failures: a task that raises is an InputError on its input (the batch catches it); a task lost with its worker
  is run again by the scheduler (up to `distributed.scheduler.allowed-failures` times), a batch that fails as a
  whole once more (RETRIES). The tasks of a batch that gave up (KilledWorker: every worker that ran it died, and
  whatever else those workers held) run again one at a time at the end, so that only the input that kills its
  worker every time is reported as such; the run goes on.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

from bansweep.executors.local import run_inline
from bansweep.findings import InputError, Location
from bansweep.firmware.limits import Limits
from bansweep.firmware.workers import Pool

NAME = "dask"
BATCH_TASKS = 64  # tasks per batch
BATCH_BYTES = 8 * 2**20  # bytes sent per batch (they travel in the task, through the scheduler)
MAX_SEND_BYTES = 256 * 2**20  # one input sent as bytes; larger ones must be where the workers can read them
IN_FLIGHT_PER_WORKER = 3  # batches submitted ahead per worker: memory stays bounded, workers stay busy
RETRIES = 1


class ExecutorError(Exception):
    """The executor could not start: dask missing, the scheduler unreachable."""


class TaskFailed(Exception):
    """A chunk of shared work that failed on the cluster (the message says how)."""


def killed_message(exc: BaseException) -> str:
    return f"killed the Dask workers that ran it, every time it was retried ({type(exc).__name__}: {exc}); not analysed"


def _worker_address() -> str:
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:  # not on a worker (tests call this directly)
        return ""


def run_batch(
    func: Callable[[Any], Any], batch: list[tuple[Location, Any]], limits: Limits
) -> tuple[str, list[tuple[Location, Any]]]:
    """On a worker: func over a batch, each task in a bounded process when this worker may start one."""
    if not multiprocessing.current_process().daemon:
        key = (func, limits, threading.get_ident())
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = Pool(func, limits, workers=1)
        return _worker_address(), list(pool.map(batch))
    return _worker_address(), list(run_inline(func, batch))


# a Dask worker's bounded processes, kept from batch to batch (they load the knowledge once); one per worker thread
_POOLS: dict[tuple[Callable[[Any], Any], Limits, int], Pool] = {}


def run_shared(func: Callable[[Any, Any], Any], shared: Any, chunk: Any) -> tuple[str, Any]:
    return _worker_address(), func(shared, chunk)


def _result(future: Any, wait: bool = False) -> tuple[str, Any] | None:
    """A finished future's (worker, result); None when it failed (or its result was lost with its worker)."""
    if wait:
        from distributed import wait as wait_for

        try:
            wait_for([future])
        except Exception:  # cancelled: its status says so
            return None
    if future.status != "finished":
        return None
    try:
        return future.result()  # type: ignore[no-any-return]
    except Exception:
        return None


def _failure(future: Any) -> BaseException:
    """Why a future did not finish: its exception, or its state (cancelled, lost) in words."""
    try:
        exc = future.exception()
    except BaseException as cancelled:  # a cancelled future raises instead of returning it
        return RuntimeError(f"task {future.status} ({type(cancelled).__name__}: {cancelled})")
    return exc if exc is not None else RuntimeError(f"task {future.status}")


def _killed(exc: BaseException) -> bool:
    from distributed.scheduler import KilledWorker

    return isinstance(exc, KilledWorker) or "cancelled" in str(exc)  # cancelled: its data went with a worker


def _why(exc: BaseException, alone: bool = False) -> str:
    """alone: the task ran with no other on the cluster, so the workers lost under it were lost by it."""
    from distributed.scheduler import KilledWorker

    if isinstance(exc, KilledWorker) or (alone and _killed(exc)):
        return killed_message(exc)
    return f"failed on the Dask cluster: {exc!r}"


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _sent_bytes(arg: Any) -> int:
    """Bytes a task carries (its content and its siblings'), without counting paths."""
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return len(arg)
    if isinstance(arg, (tuple, list)):
        return sum(_sent_bytes(a) for a in arg)
    return 0


def batches(
    tasks: Iterable[tuple[Location, Any]], most: int = 0, nbytes: int = 0
) -> Iterator[list[tuple[Location, Any]]]:
    """Tasks in batches of `most` tasks (BATCH_TASKS) or `nbytes` bytes (BATCH_BYTES), whichever comes first."""
    most, nbytes = most or BATCH_TASKS, nbytes or BATCH_BYTES
    batch: list[tuple[Location, Any]] = []
    size = 0
    for task in tasks:
        batch.append(task)
        size += _sent_bytes(task[1])
        if len(batch) >= most or size >= nbytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class DaskSession:
    name = NAME
    max_send_bytes = MAX_SEND_BYTES

    def __init__(self, client: Any) -> None:
        self.client = client
        self.address = str(client.scheduler.address)
        self.who: set[str] = set()
        self.tasks = 0
        self.batches = 0  # what the scheduler saw: batches of tasks, chunks of shared work
        self._seen: dict[str, bool] = {}

    def _workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def _submit(self, func: Callable[[Any], Any], batch: list[tuple[Location, Any]], limits: Limits) -> Any:
        # the batch travels inside its task (not scattered ahead): a worker lost with it loses nothing, the
        # scheduler runs the task again elsewhere
        return self.client.submit(run_batch, func, batch, limits, pure=False, retries=RETRIES)

    def map_isolated(
        self,
        func: Callable[[Any], Any],
        tasks: Iterable[tuple[Location, Any]],
        limits: Limits,
        workers: int,
        batch: int = 0,
    ) -> Iterator[tuple[Location, Any]]:
        from distributed import as_completed

        pending = batches(tasks, batch)
        ahead = IN_FLIGHT_PER_WORKER * self._workers()
        running: dict[Any, list[tuple[Location, Any]]] = {}
        suspects: list[tuple[Location, Any]] = []  # tasks of batches that were on workers that died
        for some in islice(pending, ahead):
            running[self._submit(func, some, limits)] = some
        done = as_completed(list(running))
        for future in done:
            some = running.pop(future)
            got = _result(future)
            if got is not None:
                yield from self._took(got)
            elif _killed(exc := _failure(future)):
                suspects.extend(some)
            else:
                yield from ((where, InputError(where, _why(exc))) for where, _ in some)
            future.release()
            for some in islice(pending, max(0, ahead - len(running))):
                nxt = self._submit(func, some, limits)
                running[nxt] = some
                done.add(nxt)
        # A dying worker takes every task it holds down with it: each suspect runs again alone, so that only the
        # input that kills its workers every time is reported as such.
        for one in suspects:
            future = self._submit(func, [one], limits)
            got = _result(future, wait=True)
            if got is not None:
                yield from self._took(got)
            else:
                yield one[0], InputError(one[0], _why(_failure(future), alone=True))
            future.release()

    def _took(self, got: tuple[str, list[tuple[Location, Any]]]) -> list[tuple[Location, Any]]:
        who, results = got
        self.who.add(who)
        self.tasks += len(results)
        self.batches += 1
        return results

    def map_shared(
        self, func: Callable[[Any, Any], Any], shared: Any, chunks: Sequence[Any], workers: int
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        on_workers = self.client.scatter(shared, broadcast=True, hash=False)

        def send(i: int) -> Any:
            return self.client.submit(run_shared, func, on_workers, chunks[i], pure=False, retries=RETRIES)

        futures = {send(i): i for i in range(len(chunks))}  # each chunk inside its task: a lost worker loses none
        suspects: list[int] = []
        for future in as_completed(list(futures)):
            i = futures.pop(future)
            got = _result(future)
            if got is not None:
                yield i, self._got_chunk(got)
            elif _killed(exc := _failure(future)) or on_workers.status != "finished":  # lost, or its data was
                suspects.append(i)
            else:
                yield i, TaskFailed(_why(exc))
            future.release()
        for i in suspects:  # alone, the shared data sent again if every worker holding it was lost
            for attempt in range(2):
                if attempt or on_workers.status != "finished":
                    on_workers = self.client.scatter(shared, broadcast=True, hash=False)
                future = send(i)
                got = _result(future, wait=True)
                lost = None if got is not None else _failure(future)
                future.release()
                if lost is None or "cancelled" not in str(lost):
                    break
            yield i, self._got_chunk(got) if got is not None else TaskFailed(_why(lost or RuntimeError(), alone=True))

    def _got_chunk(self, got: tuple[str, Any]) -> Any:
        self.who.add(got[0])
        self.tasks += 1
        self.batches += 1
        return got[1]

    def sees(self, path: str) -> bool:
        """Every worker finds the file with the same size and modification time as this process does."""
        if path not in self._seen:
            here = _stat(path)
            there = self.client.run(_stat, path) if here is not None else {}
            self._seen[path] = here is not None and bool(there) and all(v == here for v in there.values())
        return self._seen[path]

    def describe(self) -> dict[str, Any]:
        return {
            "name": NAME,
            "scheduler": self.address,
            "workers": len(self.who - {""}),
            "tasks": self.tasks,
            "batches": self.batches,
        }


class DaskExecutor:
    name = NAME

    @contextmanager
    def open(self, address: str | None = None, workers: int = 0) -> Iterator[DaskSession]:
        """A session on the scheduler at `address` (else $DASK_SCHEDULER_ADDRESS), or on a LocalCluster of worker
        processes started here (workers: how many, 0 = one per CPU) and stopped at the end."""
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ExecutorError(f"--executor dask needs dask: pip install 'bansweep[dask]' ({exc})") from exc
        address = address or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
        cluster = None
        try:
            if address is None:
                with dask.config.set({"distributed.worker.daemon": False}):  # workers may start bounded processes
                    cluster = LocalCluster(
                        n_workers=workers or os.cpu_count() or 1,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                    )
                client = Client(cluster)
            else:
                client = Client(address)  # waits distributed.comm.timeouts.connect (30 s)
        except (OSError, TimeoutError, ValueError) as exc:
            if cluster is not None:
                cluster.close()
            raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        try:
            yield DaskSession(client)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
