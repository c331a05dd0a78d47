"""Party lists and purchase lines (CSV, TSV, XLSX, JSON) with columns mapped automatically or by --map."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem
from bansweep.parties.model import Party
from bansweep.tables import headers
from bansweep.tables.headers import Headers, fold
from bansweep.tables.read import read_table
from bansweep.tables.table import Table

FIELDS = ("name", "alias", "country", "address", "city", "identifier", "manufacturer", "item")  # in claim order
MAX_ALIASES = 50  # alternate names screened per party
_WORD = re.compile(r"[^\W_]")  # a letter or digit in any script


def known(knowledge: Sequence[Path] = ()) -> Headers:
    """The header names of party files (knowledge/data/headers.yaml, job parties), with overlays."""
    return headers.load("parties", FIELDS, knowledge)


def auto_mapping(header: list[str], knowledge: Sequence[Path] = ()) -> dict[str, str]:
    """field -> column for the columns recognised in a header: exact spellings first, then whole words inside."""
    return {f: header[i] for f, i in known(knowledge).match(header, whole_words=True).items()}


def looks_like_parties(header: list[str], knowledge: Sequence[Path] = ()) -> bool:
    """A party-name (or manufacturer) column and no device column (those are fleet inventories)."""
    kb = known(knowledge)
    if any(kb.is_device_column(h) for h in header):
        return False
    mapping = auto_mapping(header, knowledge)
    return "name" in mapping or "manufacturer" in mapping


@dataclass(slots=True)
class PartyFile:
    file: str
    format: str
    mapping: dict[str, str]
    parties: list[Party] = field(default_factory=list)
    unscreened: list[tuple[Location, str, str]] = field(default_factory=list)  # (where, text as given, why)
    errors: list[InputError] = field(default_factory=list)


def read_parties(path: Path, override: dict[str, str] | None = None, knowledge: Sequence[Path] = ()) -> PartyFile:
    """Read one party file; raises InputProblem when the file as a whole cannot be used."""
    table = read_table(path)
    mapping = auto_mapping(table.header, knowledge)
    for fieldname, column in (override or {}).items():
        fieldname = {"aka": "alias", "alternate": "alias", "id": "identifier", "vendor": "manufacturer"}.get(
            fieldname, fieldname
        )
        if fieldname not in FIELDS:
            raise InputProblem(
                Location(str(path)), f"--map: unknown field {fieldname!r}; fields are {', '.join(FIELDS)}"
            )
        match = next((h for h in table.header if h == column), None) or next(
            (h for h in table.header if fold(h) == fold(column)), None
        )
        if match is None:
            raise InputProblem(
                Location(str(path), line=1),
                f"--map {fieldname}={column}: no such column; columns are {', '.join(table.header)[:1000]}",
            )
        mapping = {k: v for k, v in mapping.items() if v != match}
        mapping[fieldname] = match
    if "name" not in mapping and "manufacturer" not in mapping:
        raise InputProblem(
            Location(str(path), line=1),
            "no party name column found (looked for name, company, supplier, vendor name, counterparty, legal name, "
            f"manufacturer …); columns are: {', '.join(table.header)[:1000]}; use --map name=COLUMN",
        )
    out = PartyFile(str(path), table.format, mapping)
    _rows(table, mapping, out)
    return out


def _rows(table: Table, mapping: dict[str, str], out: PartyFile) -> None:
    index = {h: i for i, h in reversed(list(enumerate(table.header)))}
    cols = {f: index[c] for f, c in mapping.items()}
    used = set(mapping.values())
    not_read: set[int] = set()  # rows the reader reported (a row it could not read, a mapped cell it cut)
    blank_rows = table.format != "json"  # a blank line or sheet row is no party; an empty JSON object is one
    for item in table.rows:
        if isinstance(item, InputError):
            out.errors.append(item)
            where = item.location
            if where.field is not None and where.field not in used:
                continue  # an oversized cell in a column not used: the row is still screened
            if where.row is not None:
                not_read.add(where.row)
            loc = Location(where.file, where.line, where.row, where.entry)
            out.unscreened.append((loc, "", item.message))
            continue
        number, cells = item
        if number in not_read or (blank_rows and not any(c.strip() for c in cells)):
            continue  # reported above, or a blank row
        loc = Location(table.file, row=number)
        values = {f: cells[i].strip() for f, i in cols.items()}
        name = values.get("name", "")
        maker = values.get("manufacturer", "")
        if not _has_word(name) and not _has_word(maker):
            why = "empty party name" if not name else f"party name {name!r} has no letters or digits"
            out.errors.append(
                InputError(
                    Location(table.file, row=number, field=mapping.get("name")),
                    why + "; row not screened",
                )
            )
            out.unscreened.append((loc, name, why))
            continue
        common = {
            "country": values.get("country", ""),
            "address": values.get("address", ""),
            "city": values.get("city", ""),
            "identifier": values.get("identifier", ""),
        }
        goods = values.get("item", "")
        line = {"supplier": name, "item": goods, "manufacturer": maker} if maker or goods else {}
        if _has_word(name):
            alias_text = values.get("alias", "")
            aliases = [a.strip() for a in re.split(r"[;|\n]", alias_text) if _has_word(a)] if alias_text else []
            if len(aliases) > MAX_ALIASES:
                out.errors.append(
                    InputError(
                        Location(table.file, row=number, field=mapping["alias"]),
                        f"{len(aliases)} alternate names; the first {MAX_ALIASES} were screened, the rest were not",
                    )
                )
                aliases = aliases[:MAX_ALIASES]
            out.parties.append(Party(name, loc, aliases, **common, purchase=line))
        if _has_word(maker) and fold(maker) != fold(name):
            where = Location(table.file, row=number, field=mapping["manufacturer"])
            out.parties.append(Party(maker, where, role="manufacturer", purchase=line))


def _has_word(text: str) -> bool:
    return bool(_WORD.search(text))
