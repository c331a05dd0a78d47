"""What a report format is: a Report written as text of one kind."""

from __future__ import annotations

from typing import IO, Protocol, runtime_checkable

from bansweep.findings import Report


@runtime_checkable
class ReportFormat(Protocol):
    @property
    def name(self) -> str:
        """The --format name."""

    def render(self, report: Report) -> str:
        """The whole report as text."""

    def write(self, report: Report, fh: IO[str]) -> None:
        """The same text written to fh (in pieces, when the format can; colours only where fh is a terminal)."""
