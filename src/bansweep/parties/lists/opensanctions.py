"""OpenSanctions exports: FollowTheMoney entity files (one JSON entity per line: `entities.ftm.json`,
`targets.nested.json`) and the simple CSV export (`targets.simple.csv`).

Each target entity with a name (companies, organisations, people, vessels …) becomes one ListRecord keeping its
datasets, schema, countries, identifiers, `first_seen` and `last_change`; `weakAlias` names are kept apart
(the lists mark them weak: OFAC "weak AKA"). Entities are checked against the FollowTheMoney model (the
`followthemoney` package): an unknown schema or property is reported with its line, not guessed at.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem
from bansweep.parties.lists import stored
from bansweep.parties.model import ListRecord, ListSet
from bansweep.tables import delimited

NAME = "opensanctions"
HOW_TO_IMPORT = "run `bansweep data import-opensanctions FILE`"
MAX_LINE = 16 * 1024 * 1024  # bytes of one entity (the largest OpenSanctions entities are well under 1 MB)
MAX_ERRORS = 1000  # errors reported one by one; more are counted
MAX_NAMES = 200  # names kept per entity
SIMPLE_COLUMNS = ["id", "schema", "name", "aliases", "birth_date", "countries", "addresses", "identifiers"]
NAME_SCHEMATA = ("LegalEntity", "Vessel", "Airplane")  # what a party can be (not Sanction, Address, Ownership …)


def recognise(path: Path) -> bool:
    """An FtM entity file (a JSON object with "schema" on the first line) or the simple CSV export."""
    with path.open("rb") as fh:
        head = fh.read(65536).lstrip(b"\xef\xbb\xbf \r\n\t")
    first = head.split(b"\n", 1)[0]
    if first.startswith(b"{"):
        return b'"schema"' in first and b'"results"' not in first
    return [c.strip().lower() for c in first.decode("utf-8", "replace").split(",")[:8]] == SIMPLE_COLUMNS


def read(path: Path) -> tuple[ListSet, list[InputError]]:
    """Parse an OpenSanctions export; raises InputProblem when the file as a whole is unusable."""
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \r\n\t")
    if head.startswith(b"{"):
        return _read_entities(path)
    return _read_simple(path)


def _model(path: Path) -> Any:
    try:
        from followthemoney import model
    except ImportError:  # an optional extra: it builds PyICU, which needs ICU's headers and a compiler
        raise InputProblem(
            Location(str(path)),
            "reading OpenSanctions exports needs the opensanctions extra: pip install 'bansweep[opensanctions]'",
        ) from None
    return model


def _read_entities(path: Path) -> tuple[ListSet, list[InputError]]:
    model = _model(path)
    records: list[ListRecord] = []
    errors: list[InputError] = []
    skipped = 0
    with path.open("rb") as fh:
        number = 0
        while True:
            line = fh.readline(MAX_LINE + 1)
            if not line:
                break
            number += 1
            loc = Location(str(path), line=number)
            if len(line) > MAX_LINE and not line.endswith(b"\n"):
                _error(errors, loc, f"entity longer than {MAX_LINE} bytes; not read")
                while line and not line.endswith(b"\n"):  # skip the rest of the line
                    line = fh.readline(MAX_LINE)
                continue
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except (ValueError, RecursionError) as exc:
                _error(errors, loc, f"not a JSON entity ({exc}); not read")
                continue
            if not isinstance(data, dict) or not isinstance(data.get("schema"), str):
                _error(errors, loc, "not a FollowTheMoney entity (no schema); not read")
                continue
            schema = model.get(data["schema"])
            if schema is None:
                _error(errors, loc, f"unknown FollowTheMoney schema {data['schema']!r}; not read")
                continue
            if not any(schema.is_a(s) for s in NAME_SCHEMATA) or data.get("target") is False:
                skipped += 1  # a sanction, address, ownership … or an entity that is not itself listed
                continue
            record = _entity_record(model, schema, data, loc)
            if record is None:
                _error(errors, loc, "entity without a name; not read")
                continue
            records.append(record)
    if not records and number and not errors:
        raise InputProblem(Location(str(path)), "no listed entity with a name in this FollowTheMoney file")
    return _list_set(path, records, f"{skipped} other entities (sanctions, addresses, relations) not screened"), errors


def _entity_record(model: Any, schema: Any, data: dict[str, Any], loc: Location) -> ListRecord | None:
    # nested exports carry related entities (sanctions, addresses) as objects: keep the schema's own string values
    props: dict[str, list[str]] = {}
    raw = data.get("properties")
    if isinstance(raw, dict):
        for prop, values in raw.items():
            if prop in schema.properties and isinstance(values, list):
                texts = [v for v in values if isinstance(v, str)][:MAX_NAMES]
                if texts:
                    props[prop] = texts
    proxy = model.get_proxy({"id": str(data.get("id") or ""), "schema": schema.name, "properties": props})
    names = [*proxy.get("name"), *proxy.get("alias"), *proxy.get("previousName")]
    names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    weak = [n for n in dict.fromkeys(proxy.get("weakAlias")) if n.strip() and n not in names]
    if not names and not weak:
        return None
    if not names:
        names, weak = weak[:1], weak[1:]
    identifiers = [
        f"{prop.name}:{value}"
        for prop in schema.properties.values()
        if prop.type.name == "identifier"
        for value in proxy.get(prop.name)
    ]
    datasets = [str(d) for d in data.get("datasets") or [] if isinstance(d, str)]
    return ListRecord(
        list_name=NAME,
        record_id=str(data.get("id") or ""),
        source=f"OpenSanctions: {', '.join(datasets) or 'dataset not given'}",
        name=names[0],
        aliases=names[1:],
        type=schema.name,
        programs=list(proxy.get("program")) if "program" in schema.properties else [],
        addresses=list(proxy.get("address")) if "address" in schema.properties else [],
        countries=sorted({c.upper() for c in proxy.countries if len(c) == 2}),
        start_date=str(data.get("first_seen") or ""),
        url=f"https://www.opensanctions.org/entities/{data.get('id')}/",
        remarks="; ".join(proxy.get("notes"))[:2000] if "notes" in schema.properties else "",
        where=loc.to_dict(),
        weak_aliases=weak,
        identifiers=identifiers,
        datasets=datasets,
        schema=schema.name,
        last_change=str(data.get("last_change") or ""),
    )


def _read_simple(path: Path) -> tuple[ListSet, list[InputError]]:
    model = _model(path)
    table = delimited.read(path, strict=True)
    header = [h.strip().lower() for h in table.header]
    if header[: len(SIMPLE_COLUMNS)] != SIMPLE_COLUMNS or "dataset" not in header:
        raise InputProblem(
            Location(str(path), line=1),
            f"not the OpenSanctions simple CSV layout: expected {', '.join(SIMPLE_COLUMNS)} … dataset, "
            f"first_seen, last_change; found {', '.join(table.header)[:1000]}",
        )
    records: list[ListRecord] = []
    errors: list[InputError] = []
    skipped = 0
    for item in table.rows:
        if isinstance(item, InputError):
            _error(errors, item.location, item.message)
            continue
        number, cells = item
        row = dict(zip(header, cells, strict=False))
        loc = Location(str(path), row=number)
        schema = model.get(row["schema"].strip())
        if schema is None:
            _error(errors, loc, f"unknown FollowTheMoney schema {row['schema']!r}; not read")
            continue
        if not any(schema.is_a(s) for s in NAME_SCHEMATA):
            skipped += 1
            continue
        names = [row["name"].strip(), *_split(row["aliases"])]
        names = [n for n in dict.fromkeys(names) if n][:MAX_NAMES]
        if not names:
            _error(errors, loc, "entity without a name; not read")
            continue
        datasets = _split(row.get("dataset", ""))
        records.append(
            ListRecord(
                list_name=NAME,
                record_id=row["id"].strip(),
                source=f"OpenSanctions: {', '.join(datasets) or 'dataset not given'}",
                name=names[0],
                aliases=names[1:],
                type=schema.name,
                programs=_split(row.get("program_ids", "")),
                addresses=_split(row["addresses"]),
                countries=sorted({c.upper() for c in _split(row["countries"]) if len(c) == 2}),
                start_date=row.get("first_seen", ""),
                url=f"https://www.opensanctions.org/entities/{row['id'].strip()}/",
                where=loc.to_dict(),
                identifiers=[f"id:{v}" for v in _split(row["identifiers"])],
                datasets=datasets,
                schema=schema.name,
                last_change=row.get("last_change", ""),
            )
        )
    return _list_set(path, records, f"{skipped} rows of other schemata not screened"), errors


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(";") if p.strip()]


def _error(errors: list[InputError], loc: Location, message: str) -> None:
    if len(errors) < MAX_ERRORS:
        errors.append(InputError(loc, message))
    elif len(errors) == MAX_ERRORS:
        errors.append(InputError(Location(loc.file), f"more than {MAX_ERRORS} errors; the rest are not listed"))


def _list_set(path: Path, records: list[ListRecord], note: str) -> ListSet:
    out = ListSet(records)
    changes = sorted(r.last_change for r in records if r.last_change)
    stamp = changes[-1] if changes else ""
    if not stamp:
        stamp = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    datasets = sorted({d for r in records for d in r.datasets})
    out.versions[NAME] = (
        f"{path.name}: {len(records)} entities from {len(datasets)} datasets, last change {stamp}; {note}"
    )
    out.dates[NAME] = stamp
    for dataset in datasets:
        out.sources[f"OpenSanctions: {dataset}"] = stamp
    return out


def store_path() -> Path:
    return stored.path(NAME)


def save(lists: ListSet, origin: Path, errors: int) -> Path:
    return stored.save(NAME, lists, str(origin), errors, lists.dates.get(NAME, ""))


def load_stored() -> ListSet | None:
    """The imported OpenSanctions export, or None when none was imported."""
    return stored.load(NAME, HOW_TO_IMPORT)
