"""The trade.gov Consolidated Screening List bulk file (CSV, TSV or JSON), as published.

CSV/TSV: 29 columns in the order ITA's importer writes them; older exports lack ``_id``. Flattened cells are
split back: aliases and addresses on "; " (the last often led by "and "), Federal Register citations on
``\\d+ F.R.`` as OpenSanctions does, and Entity List compound names ("<parent> (<short>).  Affiliated Entity:
<affiliate>", "... Subordinate Institution - <unit>") into the affiliate's own name and its parent.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem
from bansweep.parties.lists import stored
from bansweep.parties.model import ListRecord, ListSet
from bansweep.tables import json_rows
from bansweep.tables.read import read_table

NAME = "csl"
COLUMNS = [
    "_id", "source", "entity_number", "type", "programs", "name", "title", "addresses",
    "federal_register_notice", "start_date", "end_date", "standard_order", "license_requirement",
    "license_policy", "call_sign", "vessel_type", "gross_tonnage", "gross_registered_tonnage", "vessel_flag",
    "vessel_owner", "remarks", "source_list_url", "alt_names", "citizenships", "dates_of_birth", "nationalities",
    "places_of_birth", "source_information_url", "ids",
]  # fmt: skip

_COMPOUND = re.compile(r"\s*\.?\s+(Affiliated Entity|Subordinate Institution)\s*[:\-\u2013]\s*", re.IGNORECASE)
_SUCCESSOR = re.compile(r";?\s*(?:and\s+)?any successor\b.*$", re.IGNORECASE)
_FR = re.compile(r"(\d+ F\.?R\.?)")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
# identifier types of the `ids` column matched exactly against a party's identifier (not personal documents)
_ORG_ID = re.compile(
    r"registration|tax|v\.?a\.?t|swift|bic|legal entity|\blei\b|\binn\b|ogrn|kpp|okpo|company number|d-?u-?n-?s|"
    r"unique entity|cage",
    re.IGNORECASE,
)


class CslLayoutError(InputProblem):
    """The file is not in the CSL layout this version reads."""


def is_csl_header(header: list[str]) -> bool:
    cols = [c.strip().lower() for c in header]
    return cols in (COLUMNS, COLUMNS[1:])


def read(path: Path) -> tuple[ListSet, list[InputError]]:
    """Parse a CSL bulk file; raises InputProblem when the file as a whole is unusable."""
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \r\n\t")
    if head.startswith(b"{"):
        return _read_json(path)
    return _read_table(path)


def _read_table(path: Path) -> tuple[ListSet, list[InputError]]:
    table = read_table(path, strict=True)
    header = [h.strip().lower() for h in table.header]
    if not is_csl_header(header):
        raise CslLayoutError(
            Location(str(path), line=1),
            f"not the CSL bulk layout: expected the {len(COLUMNS)} columns {', '.join(COLUMNS)} "
            f"(or the same without _id), found {len(header)}: {', '.join(table.header)[:2000]}",
        )
    errors: list[InputError] = []
    records: list[ListRecord] = []
    not_read: set[int] = set()  # rows the reader reported: short, long, unreadable or with a cell cut
    file = str(path)
    for item in table.rows:
        if isinstance(item, InputError):
            errors.append(item)
            if item.location.row is not None:
                not_read.add(item.location.row)
            continue
        number, cells = item
        if number in not_read or not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, cells, strict=False))
        if not row["name"].strip():
            errors.append(InputError(Location(file, row=number), "record without a name; not read"))
            continue
        where = {"file": file, "row": number}  # Location(file, row=number).to_dict(), 400,000 times
        record = _record(row, aliases=split_list(row["alt_names"]), addresses=split_list(row["addresses"]), where=where)
        record.identifiers = identifiers(row["ids"])
        records.append(record)
    meta = ListSet(records)
    mtime = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    meta.versions[NAME] = f"{path.name} of {mtime.isoformat(timespec='seconds')} (file time)"
    for source in sorted({r.source for r in records}):
        meta.sources[source] = "not given in the CSV/TSV export"
    return meta, errors


def _read_json(path: Path) -> tuple[ListSet, list[InputError]]:
    doc = json_rows.load(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise CslLayoutError(Location(str(path)), "not the CSL JSON layout: expected an object with a 'results' list")
    errors: list[InputError] = []
    records: list[ListRecord] = []
    for i, item in enumerate(doc["results"]):
        loc = Location(str(path), entry=f"results[{i}]")
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            errors.append(InputError(loc, "record without a name; not read"))
            continue
        row = {c: _text(item.get(c)) for c in COLUMNS}
        aliases = [a for a in _list(item.get("alt_names")) if isinstance(a, str)]
        addresses = [_address(a) for a in _list(item.get("addresses")) if isinstance(a, (dict, str))]
        record = _record(row, aliases=[a for a in aliases if a.strip()], addresses=addresses, where=loc.to_dict())
        record.identifiers = identifiers(_list(item.get("ids")))
        records.append(record)
    meta = ListSet(records)
    used = [s for s in _list(doc.get("sources_used")) if isinstance(s, dict)]
    for s in used:
        meta.sources[str(s.get("source", "?"))] = str(s.get("source_last_updated", ""))
    dates = sorted(v for v in meta.sources.values() if v)
    stamp = (
        dates[-1] if dates else datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    )
    meta.versions[NAME] = f"{path.name}, sources last updated {stamp}"
    return meta, errors


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if isinstance(value, str) and value.strip() else []


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(_text(v) for v in value.values() if v)
    return str(value)


def _address(value: dict[str, Any] | str) -> str:
    if isinstance(value, str):
        return value
    parts = [value.get(k) for k in ("address", "city", "state", "postal_code", "country")]
    return ", ".join(str(p) for p in parts if p)


def identifiers(ids: str | list[Any]) -> list[str]:
    """ "<type>:<number>" of the organisation identifiers in a CSL `ids` cell ("Type, Number, CC; …") or JSON list."""
    items: list[tuple[str, str]] = []
    if not ids:
        return []
    if isinstance(ids, list):
        items = [(str(i.get("type", "")), str(i.get("number", ""))) for i in ids if isinstance(i, dict)]
    else:
        for part in ids.split(";"):
            fields = [f.strip() for f in part.split(",")]
            if len(fields) >= 2:
                items.append((fields[0], fields[1]))
    return [f"{kind}:{number}" for kind, number in items if number and _ORG_ID.search(kind)]


def split_list(text: str) -> list[str]:
    """Split a "; "-joined CSL cell; a leading "and " on an item is the joiner's, not the item's."""
    if not text:
        return []
    out = []
    for part in text.split(";"):
        part = part.strip()
        if part[:4].lower() == "and ":  # as part.lower().startswith("and "), without lowering a whole address
            part = part[4:].strip()
        if part:
            out.append(part)
    return out


def split_citations(text: str) -> list[str]:
    """Federal Register citations: "83 FR 37423; 87 FR 77505" or "67 F.R. 56530 9/4/02 71 F.R. 38843 7/10/06"."""
    parts = _FR.split(text)
    if len(parts) < 3:
        return [text.strip()] if text.strip() else []
    out = [f"{parts[i]} {parts[i + 1].strip(' ;,')}".strip() for i in range(1, len(parts) - 1, 2)]
    return [c for c in out if c]


def split_name(name: str) -> tuple[str, str, str]:
    """(own name, parent, scope note) of a CSL name; parent is empty unless the name is a compound one."""
    scope = ""
    low = name.lower()  # the patterns are looked for only where their words are (most names have neither)
    m = _SUCCESSOR.search(name) if "ucce" in low else None
    if m and m.start() > 0:
        scope = m.group(0).strip(" ;")
        name = name[: m.start()]
    if "ated ent" not in low and "ubord" not in low:
        return name.strip(), "", scope
    parts = _COMPOUND.split(name, maxsplit=1)
    if len(parts) == 3 and parts[2].strip():
        return parts[2].strip(), parts[0].strip(), scope
    return name.strip(), "", scope


def _record(row: dict[str, str], aliases: list[str], addresses: list[str], where: dict[str, Any]) -> ListRecord:
    own, parent, scope = split_name(row["name"])
    countries = sorted(
        {a.rsplit(",", 1)[-1].strip() for a in addresses if _COUNTRY.match(a.rsplit(",", 1)[-1].strip())}
    )
    record_id = (
        row.get("_id")
        or "sha224:"
        + hashlib.sha224(
            (row["name"].lower() + row["federal_register_notice"].lower() + row["source"].lower()).encode()
        ).hexdigest()
    )
    remarks = "; ".join(x for x in (scope, row["remarks"]) if x)
    return ListRecord(
        list_name=NAME,
        record_id=record_id,
        source=row["source"],
        name=own,
        aliases=aliases,
        type=row["type"],
        programs=split_list(row["programs"]),
        addresses=addresses,
        countries=countries,
        citations=split_citations(row["federal_register_notice"]),
        start_date=row["start_date"],
        end_date=row["end_date"],
        license_requirement=row["license_requirement"],
        license_policy=row["license_policy"],
        url=row["source_list_url"] or row["source_information_url"],
        remarks=remarks,
        parent=parent,
        where=where,
    )


HOW_TO_IMPORT = "run `bansweep data update` or `bansweep data import-csl FILE`"


def published(lists: ListSet, path: Path) -> str:
    """When the data of a CSL file was published: its source lists' latest update (JSON), else the file's time."""
    dates = sorted(v for v in lists.sources.values() if v[:2] in ("19", "20"))
    if dates:
        return dates[-1]
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def store_path() -> Path:
    return stored.path(NAME)


def save(lists: ListSet, origin: Path, errors: int, when: str = "") -> Path:
    """Keep an imported CSL in the data home (gzipped JSON: loads in well under a second at full size)."""
    return stored.save(NAME, lists, str(origin), errors, when or published(lists, origin))


def load_stored() -> ListSet | None:
    """The imported CSL, or None when none was imported."""
    return stored.load(NAME, HOW_TO_IMPORT)
