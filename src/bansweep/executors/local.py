"""The local executor: this machine's worker processes (the default).

Firmware tasks run in bounded worker processes (memory and time caps, firmware/workers.py); shared work (the
parties' list index) is inherited by forked workers rather than pickled to them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.firmware.limits import InternalError, Limits
from bansweep.firmware.workers import map_isolated

NAME = "local"
MAX_SEND_BYTES = 2**62  # nothing is sent: workers read what this process reads

_SHARED: tuple[Callable[[Any, Any], Any], Any, Sequence[Any]] | None = None  # what forked workers inherit


class LocalSession:
    name = NAME
    max_send_bytes = MAX_SEND_BYTES

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.used = 0  # the most worker processes one map ran on
        self.tasks = 0

    def map_isolated(
        self,
        func: Callable[[Any], Any],
        tasks: Iterable[tuple[Location, Any]],
        limits: Limits,
        workers: int,
        batch: int = 0,
    ) -> Iterator[tuple[Location, Any]]:
        n = workers or self.workers or os.cpu_count() or 1
        if multiprocessing.current_process().daemon:  # e.g. in a Dask worker: no child processes, tasks run here
            n, results = 1, run_inline(func, tasks)
        else:
            results = map_isolated(func, tasks, limits, n)
        for out in results:
            self.tasks += 1
            self.used = max(self.used, min(n, self.tasks))
            yield out

    def map_shared(
        self, func: Callable[[Any, Any], Any], shared: Any, chunks: Sequence[Any], workers: int
    ) -> Iterator[tuple[int, Any]]:
        """The workers are forked here, before the caller starts a progress bar (and its drawing thread)."""
        n = min(workers or self.workers or os.cpu_count() or 1, len(chunks))
        self.tasks += len(chunks)
        self.used = max(self.used, 1 if n < 2 else n)
        if n < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return ((i, func(shared, chunk)) for i, chunk in enumerate(chunks))
        global _SHARED
        _SHARED = (func, shared, chunks)
        gc.freeze()  # shared stays shared with the forked workers: the collector would touch (and copy) its pages
        try:
            pool = multiprocessing.get_context("fork").Pool(n)
        except BaseException:
            _release()
            raise
        return _drain(pool, len(chunks))

    def sees(self, path: str) -> bool:
        return True

    def describe(self) -> dict[str, Any]:
        return {"name": NAME, "scheduler": None, "workers": self.used, "tasks": self.tasks}


def run_inline(func: Callable[[Any], Any], tasks: Iterable[tuple[Location, Any]]) -> Iterator[tuple[Location, Any]]:
    """func over the tasks in this process (where no worker process may be started): a task that raises is an
    InputError on its location, with the message the worker processes give."""
    for where, arg in tasks:
        try:
            yield where, func(arg)
        except MemoryError:
            yield where, InputError(where, "worker ran out of memory")
        except Exception as exc:
            yield where, InputError(where, str(InternalError("the analysis", exc)))


def _drain(pool: Any, n: int) -> Iterator[tuple[int, Any]]:
    try:
        with pool:
            yield from enumerate(pool.imap(_run_chunk, range(n)))
    finally:
        _release()


def _release() -> None:
    global _SHARED
    _SHARED = None
    gc.unfreeze()


def _run_chunk(i: int) -> Any:
    assert _SHARED is not None
    func, shared, chunks = _SHARED
    return func(shared, chunks[i])


class LocalExecutor:
    name = NAME

    @contextmanager
    def open(self, address: str | None = None, workers: int = 0) -> Iterator[LocalSession]:
        yield LocalSession(workers)
