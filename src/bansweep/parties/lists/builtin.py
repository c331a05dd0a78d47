"""What the lists kept as knowledge data (FCC Covered List, DoD 1260H) share: one ListRecord per entry."""

from __future__ import annotations

from typing import Any

from bansweep.knowledge import Dataset
from bansweep.parties.model import ListRecord


def entry_record(data: Dataset, entry: dict[str, Any], source: str, **fields: Any) -> ListRecord:
    """The entry as a listed entity: first name, the rest as aliases, citation, source address, covered-vendor
    group and the place it was read from; fields are the list's own columns (dates, policy, remarks)."""
    names = [str(n) for n in entry["names"]]
    return ListRecord(
        list_name=data.name,
        record_id=str(entry["id"]),
        source=source,
        name=names[0],
        aliases=names[1:],
        type="Entity",
        citations=[str(entry["citation"])],
        url=str(entry["source"]),
        group=str(entry.get("group", "")),
        where={"file": data.files[-1], "entry": str(entry["id"])},
        **fields,
    )
