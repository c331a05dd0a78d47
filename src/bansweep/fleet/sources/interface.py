"""What a fleet input source is: one file format, recognised by content, read into Observations."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from bansweep.findings import InputError
from bansweep.fleet.model import Observation


@runtime_checkable
class InputSource(Protocol):
    @property
    def name(self) -> str:
        """The format name (Observation.source, the report's "formats")."""

    def sniff(self, head: bytes, text: str | None, path: Path, knowledge: Sequence[Path] = ()) -> bool:
        """Whether the file is in this format, judged by its first bytes (text: them decoded, None if binary)."""

    def parse(
        self,
        path: Path,
        mapping: dict[str, str] | None = None,
        knowledge: Sequence[Path] = (),
        date_order: str = "auto",
    ) -> Iterator[Observation | InputError]:
        """The file's Observations, and an InputError for each place that could not be read (date_order: how
        inventories read numeric dates, fleet/dates.py)."""
