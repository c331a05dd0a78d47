"""The DoD §1260H list of Chinese military companies, kept as data (knowledge/data/dod-1260h.yaml, partial)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bansweep.knowledge import load as load_dataset
from bansweep.parties.lists.builtin import entry_record
from bansweep.parties.model import ListSet

NAME = "dod-1260h"
SOURCE = "DoD Chinese military companies list (FY2021 NDAA §1260H)"


def load(knowledge: Sequence[Path] = ()) -> ListSet:
    data = load_dataset(NAME, ("names", "editions", "citation"), overlays=knowledge)
    out = ListSet()
    for entry in data.entries:
        editions = [str(e) for e in entry["editions"]]
        out.records.append(
            entry_record(
                data,
                entry,
                SOURCE,
                start_date=editions[0] if editions else "",
                license_policy="listing only (no licence requirement attached to the list itself)",
                remarks=f"editions {', '.join(editions)}" + (f"; {entry['note']}" if entry.get("note") else ""),
            )
        )
    out.versions[NAME] = f"{data.version} (partial: covered-vendor entries only; {Path(data.files[0]).name})"
    return out
