"""What an executor is: where the jobs' tasks run (this machine's processes, or a Dask cluster), same results."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from bansweep.findings import Location
from bansweep.firmware.limits import Limits


class Session(Protocol):
    """An open executor: tasks go in, results come back, each with the key it was given."""

    name: str  # the executor's name
    max_send_bytes: int  # largest input sent to a worker as bytes (a path the workers can read is sent as a path)

    def map_isolated(
        self,
        func: Callable[[Any], Any],
        tasks: Iterable[tuple[Location, Any]],
        limits: Limits,
        workers: int,
        batch: int = 0,
    ) -> Iterator[tuple[Location, Any]]:
        """(location, func(arg) or InputError) per task, in completion order; a task that fails, goes over its
        limits or kills its worker is an InputError on its location, and the others go on. batch: tasks sent to
        a remote worker at once (0: the executor's default; 1 for large inputs such as firmware images)."""

    def map_shared(
        self, func: Callable[[Any, Any], Any], shared: Any, chunks: Sequence[Any], workers: int
    ) -> Iterator[tuple[int, Any]]:
        """(i, func(shared, chunks[i])) per chunk, in completion order; `shared` reaches each worker once."""

    def sees(self, path: str) -> bool:
        """Whether the workers read this file as this process does (a path can then be sent instead of bytes)."""

    def describe(self) -> dict[str, Any]:
        """For the report: the executor's name, the scheduler's address, the workers that ran tasks, the tasks."""


@runtime_checkable
class Executor(Protocol):
    @property
    def name(self) -> str:
        """The --executor name."""

    def open(self, address: str | None = None, workers: int = 0) -> AbstractContextManager[Session]:
        """A session; address: the scheduler (dask), workers: how many to start when there is none (0: per CPU)."""
