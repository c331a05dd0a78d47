"""Run analysis in worker processes with a memory cap (RLIMIT_AS) and a wall-clock cap per input.

A worker that goes over either is killed (or ends itself on MemoryError) and its input becomes an InputError
"worker exceeded N MB" / "worker exceeded N s"; the batch goes on with a fresh worker. Workers come from a
"forkserver" context, so they do not inherit the parent's memory, open files or threads.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from bansweep.findings import InputError, Location
from bansweep.firmware.limits import FormatError, InternalError, Limits

T = TypeVar("T")
_CONTEXT = multiprocessing.get_context("forkserver")


class WorkerError(FormatError):
    """The worker went over its memory or time limit, or died."""


def memory_message(limits: Limits) -> str:
    return f"worker exceeded {limits.max_rss_bytes // 2**20} MB"


def time_message(limits: Limits) -> str:
    return f"worker exceeded {limits.max_seconds:g} s"


def _cap_memory(nbytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (nbytes, nbytes))


def _call(func: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        return "ok", func(*args)
    except MemoryError:
        return "memory", None
    except Exception as exc:  # reported to the parent with the input it belongs to; the worker goes on
        return "error", str(InternalError("the analysis", exc))


def _one_shot(conn: Connection, func: Callable[..., Any], args: tuple[Any, ...], max_rss: int) -> None:
    _cap_memory(max_rss)
    conn.send(_call(func, args))


def _failure(status: str, value: Any, exitcode: int | None, limits: Limits) -> str:
    if status == "memory":
        return memory_message(limits)
    if status == "error":
        return str(value)
    # Killed by the kernel or a signal: under RLIMIT_AS that is almost always a failed allocation.
    return f"{memory_message(limits)} or died (exit code {exitcode})"


def run_isolated(func: Callable[..., T], *args: Any, limits: Limits) -> T:
    """func(*args) in a fresh worker process; raises WorkerError when it goes over limits or fails.

    func and args must be picklable (module-level functions; pass paths or bounded bytes, not open files).
    """
    parent, child = _CONTEXT.Pipe(duplex=False)
    proc = _CONTEXT.Process(target=_one_shot, args=(child, func, args, limits.max_rss_bytes), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(limits.max_seconds):
            raise WorkerError(time_message(limits))
        try:
            status, value = parent.recv()
        except (EOFError, OSError):  # the worker died before answering
            status, value = "died", None
        if status != "ok":
            proc.join(1)
            raise WorkerError(_failure(status, value, proc.exitcode, limits))
        return value  # type: ignore[no-any-return]
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()


def _serve(conn: Connection, func: Callable[..., Any], max_rss: int) -> None:
    _cap_memory(max_rss)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        status, value = _call(func, (task,))
        conn.send((status, value))
        if status == "memory":
            return  # a fresh worker replaces this one, with no fragmented heap


class _Worker:
    def __init__(self, func: Callable[..., Any], limits: Limits):
        self.conn, theirs = _CONTEXT.Pipe()
        self.proc = _CONTEXT.Process(target=_serve, args=(theirs, func, limits.max_rss_bytes), daemon=True)
        self.proc.start()
        theirs.close()
        self.location: Location | None = None
        self.started = 0.0

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()


def map_isolated(
    func: Callable[[Any], T], jobs: Iterable[tuple[Location, Any]], limits: Limits, workers: int = 2
) -> Iterator[tuple[Location, T | InputError]]:
    """(location, func(arg) or InputError) for every (location, arg) job, in completion order.

    Jobs are taken from the iterable only as workers free up, so at most `workers` args are held at once; each
    worker lives across jobs under RLIMIT_AS = limits.max_rss_bytes, and each job gets limits.max_seconds.
    Peak memory is therefore bounded by workers x max_rss_bytes plus the parent, whatever the number of jobs.
    """
    pool = Pool(func, limits, workers)
    try:
        yield from pool.map(jobs)
    finally:
        pool.close()


class Pool:
    """Bounded worker processes that live across maps (a Dask worker keeps one for all its batches)."""

    def __init__(self, func: Callable[[Any], Any], limits: Limits, workers: int = 2) -> None:
        # The fork server imports func's module once (if it is not running yet); each worker forks with it imported.
        _CONTEXT.set_forkserver_preload(["__main__", func.__module__])
        self.func, self.limits = func, limits
        self.pool = [_Worker(func, limits) for _ in range(max(1, workers))]

    def close(self) -> None:
        for worker in self.pool:
            worker.stop()

    def map(self, jobs: Iterable[tuple[Location, Any]]) -> Iterator[tuple[Location, Any]]:
        """As map_isolated, on this pool's workers."""
        func, limits, pool = self.func, self.limits, self.pool
        for i, worker in enumerate(pool):  # a map left unfinished leaves a worker busy: replace it
            if worker.location is not None or not worker.proc.is_alive():
                worker.stop()
                pool[i] = _Worker(func, limits)
        pending = iter(jobs)
        exhausted = False
        while True:
            for i, worker in enumerate(pool):
                if worker.location is None and not exhausted:
                    job = next(pending, None)
                    if job is None:
                        exhausted = True
                        break
                    if not worker.proc.is_alive():
                        worker.stop()
                        worker = pool[i] = _Worker(func, limits)
                    worker.location, worker.started = job[0], time.monotonic()
                    worker.conn.send(job[1])
            busy = [w for w in pool if w.location is not None]
            if not busy:
                return
            now = time.monotonic()
            timeout = max(0.0, min(w.started + limits.max_seconds - now for w in busy))
            ready = wait([w.conn for w in busy], timeout)
            for i, worker in enumerate(pool):
                where = worker.location
                if where is None:
                    continue
                if worker.conn in ready:
                    try:
                        status, value = worker.conn.recv()
                    except (EOFError, OSError):  # the worker died before answering
                        status, value = "died", None
                    if status == "ok":
                        worker.location = None
                        yield where, value
                        continue
                    restart = status != "error"  # an exception leaves the worker usable
                    if restart:
                        worker.proc.join(1)
                    message = _failure(status, value, worker.proc.exitcode, limits)
                elif time.monotonic() - worker.started >= limits.max_seconds:
                    restart, message = True, time_message(limits)
                else:
                    continue
                worker.location = None
                if restart:
                    worker.stop()
                    pool[i] = _Worker(func, limits)
                yield where, InputError(where, message)
