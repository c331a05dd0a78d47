"""The FCC Covered List, kept as data (knowledge/data/fcc-covered-list.yaml)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bansweep.knowledge import load as load_dataset
from bansweep.parties.lists.builtin import entry_record
from bansweep.parties.model import ListSet

NAME = "fcc-covered-list"
SOURCE = "FCC Covered List (47 U.S.C. §1601)"


def load(knowledge: Sequence[Path] = ()) -> ListSet:
    data = load_dataset(NAME, ("names", "scope", "added", "citation"), overlays=knowledge)
    out = ListSet()
    for entry in data.entries:
        if not entry["names"]:
            continue  # a class of products, not a party
        out.records.append(
            entry_record(
                data,
                entry,
                SOURCE,
                start_date=str(entry["added"]),
                license_policy="equipment not eligible for FCC authorization; removal duties for funded carriers",
                remarks=str(entry["scope"]),
                limited=bool(entry.get("conditional")),
            )
        )
    out.versions[NAME] = f"{data.version} ({Path(data.files[0]).name})"
    return out
