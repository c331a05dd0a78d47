"""Progress display: a rich progress bar on a terminal, nothing in a pipe."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    def advance(self, n: int = 1) -> None: ...
    def note(self, text: str) -> None: ...


class _Quiet:
    def advance(self, n: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass


class _Bar:
    def __init__(self, bar: object, task: object) -> None:
        self._bar = bar
        self._task = task

    def advance(self, n: int = 1) -> None:
        self._bar.advance(self._task, n)  # type: ignore[attr-defined]

    def note(self, text: str) -> None:
        self._bar.update(self._task, description=text)  # type: ignore[attr-defined]


def enabled() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress(label: str, total: int | None = None, show: bool | None = None) -> Iterator[Progress]:
    """Yield a progress handle; a live bar only when stderr is a terminal (or show=True)."""
    if not (enabled() if show is None else show):
        yield _Quiet()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    ) as bar:
        task = bar.add_task(label, total=total)
        yield _Bar(bar, task)
