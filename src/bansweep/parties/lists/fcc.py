"""The FCC Covered List, kept as data (knowledge/data/fcc-covered-list.yaml)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bansweep.knowledge import load as load_dataset
from bansweep.parties.model import ListRecord, ListSet

NAME = "fcc-covered-list"
SOURCE = "FCC Covered List (47 U.S.C. §1601)"


def load(knowledge: Sequence[Path] = ()) -> ListSet:
    data = load_dataset(NAME, ("names", "scope", "added", "citation"), overlays=knowledge)
    out = ListSet()
    for entry in data.entries:
        names = [str(n) for n in entry["names"]]
        if not names:
            continue  # a class of products, not a party
        out.records.append(
            ListRecord(
                list_name=NAME,
                record_id=str(entry["id"]),
                source=SOURCE,
                name=names[0],
                aliases=names[1:],
                type="Entity",
                citations=[str(entry["citation"])],
                start_date=str(entry["added"]),
                license_policy="equipment not eligible for FCC authorization; removal duties for funded carriers",
                url=str(entry["source"]),
                remarks=str(entry["scope"]),
                limited=bool(entry.get("conditional")),
                group=str(entry.get("group", "")),
                where={"file": data.files[-1], "entry": str(entry["id"])},
            )
        )
    out.versions[NAME] = f"{data.version} ({Path(data.files[0]).name})"
    return out
