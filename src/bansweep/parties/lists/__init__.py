"""Restriction lists, one module per list (a ListSource, see interface.py), listed in LISTS.

Lists kept as knowledge data (FCC Covered List, DoD 1260H) always load; stored lists (CSL, OpenSanctions) are
imported or downloaded into the data home and load as None until then. A new list: one module and one line in
LISTS. `--list FILE` replaces them all with files in a list layout (csl.read, opensanctions.read).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bansweep.parties.lists import csl, dod1260h, fcc, opensanctions
from bansweep.parties.model import ListSet


@dataclass(frozen=True, slots=True)
class ListModule:
    """A list module's loader under the list's name; `stored`: imported into the data home (how: `how_to_import`)."""

    name: str
    loader: Callable[[Sequence[Path]], ListSet | None]
    stored: bool = False
    how_to_import: str = ""

    @property
    def missing(self) -> str:
        return f"not imported ({self.how_to_import} to screen against it)" if self.stored else "not available"

    def load(self, knowledge: Sequence[Path]) -> ListSet | None:
        return self.loader(knowledge)


LISTS: tuple[ListModule, ...] = (
    ListModule(fcc.NAME, fcc.load),
    ListModule(dod1260h.NAME, dod1260h.load),
    ListModule(csl.NAME, lambda _k: csl.load_stored(), True, csl.HOW_TO_IMPORT),
    ListModule(opensanctions.NAME, lambda _k: opensanctions.load_stored(), True, opensanctions.HOW_TO_IMPORT),
)
BY_NAME = {m.name: m for m in LISTS}
