"""Executors: where the jobs' tasks run (an Executor each, see interface.py), listed in EXECUTORS.

`local` (the default) runs tasks in this machine's worker processes; `dask` on a Dask cluster. Both give the same
results. A new executor: one module and one line in EXECUTORS.
"""

from __future__ import annotations

from bansweep.executors.dask import DaskExecutor, ExecutorError
from bansweep.executors.interface import Executor, Session
from bansweep.executors.local import LocalExecutor

EXECUTORS: tuple[Executor, ...] = (LocalExecutor(), DaskExecutor())
BY_NAME = {e.name: e for e in EXECUTORS}
NAMES = tuple(BY_NAME)


def executor(name: str) -> Executor:
    if name not in BY_NAME:
        raise ExecutorError(f"unknown executor {name!r}; executors are {', '.join(NAMES)}")
    return BY_NAME[name]


__all__ = ["EXECUTORS", "NAMES", "Executor", "ExecutorError", "Session", "executor"]
