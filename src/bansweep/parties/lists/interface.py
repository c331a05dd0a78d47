"""What a restriction list is to the screener: its records and version, from data kept or imported."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from bansweep.parties.model import ListSet


@runtime_checkable
class ListSource(Protocol):
    @property
    def name(self) -> str:
        """The list's name (ListRecord.list_name, the key of ListSet.versions)."""

    @property
    def missing(self) -> str:
        """What the report says for the list's version when load gives None."""

    def load(self, knowledge: Sequence[Path]) -> ListSet | None:
        """The list's records and version, None when it is not available (e.g. never imported); raises
        InputProblem when its data cannot be read."""
