"""Restriction lists screened by default, one module per list (a ListSource, see interface.py), listed in LISTS.

A new list: one module with load(knowledge) -> ListSet | None, and one line in LISTS. `--list FILE` replaces them
all with CSL-layout files (csl.read).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bansweep.findings import InputError
from bansweep.inputs import InputProblem
from bansweep.parties.lists import csl, dod1260h, fcc
from bansweep.parties.model import ListSet


@dataclass(frozen=True, slots=True)
class BuiltIn:
    """A list module's loader under the list's name."""

    name: str
    load: Callable[[Sequence[Path]], ListSet | None]
    missing: str = "not available"


def _stored_csl(knowledge: Sequence[Path]) -> ListSet | None:
    return csl.load_stored()


LISTS: tuple[BuiltIn, ...] = (
    BuiltIn(fcc.NAME, fcc.load),
    BuiltIn(dod1260h.NAME, dod1260h.load),
    BuiltIn(csl.NAME, _stored_csl, "not imported (run `bansweep data import-csl FILE` to screen against the CSL)"),
)


def load_builtin(knowledge: Sequence[Path]) -> tuple[ListSet, list[InputError]]:
    """Every list of LISTS; one that cannot be read is an InputError, one not available is named in versions. Both
    are missing lists (ListSet.missing): the parties they would have screened are not-screened, never clean."""
    out = ListSet()
    errors: list[InputError] = []
    for source in LISTS:
        try:
            lists = source.load(knowledge)
        except InputProblem as exc:
            errors.append(exc.to_error())
            out.missing[source.name] = f"{source.name} not readable: {exc.message}"
            continue
        if lists is None:
            out.versions[source.name] = source.missing
            out.missing.setdefault(source.name, source.missing)
        else:
            out.add(lists)
    return out, errors
