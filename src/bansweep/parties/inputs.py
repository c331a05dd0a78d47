"""Party lists and purchase lines (CSV, TSV, XLSX, JSON) with columns mapped automatically or by --map."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem
from bansweep.parties.model import Party
from bansweep.parties.sources import MAX_CELL, Table, read_table

# header spellings per field, best first; compared after folding case and punctuation
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "name", "legal name", "company name", "company", "supplier name", "supplier", "vendor name", "vendor",
        "counterparty name", "counterparty", "party name", "party", "entity name", "entity", "organisation",
        "organization", "business name", "customer name", "customer", "consignee", "end user", "beneficiary",
        "seller", "payee", "registered name",
    ),
    "alias": (
        "alternate name", "alternate names", "alternative name", "alt name", "alt names", "aka", "a k a", "dba",
        "d b a", "doing business as", "trade name", "trading name", "other names", "aliases", "alias",
    ),
    "country": ("country", "country code", "country iso", "ctry", "nation", "country of incorporation"),
    "address": ("address", "street address", "full address", "address line 1", "address 1", "street"),
    "city": ("city", "town", "locality"),
    "identifier": (
        "identifier", "duns", "duns number", "lei", "uei", "sam uei", "tax id", "taxid", "vat", "vat number",
        "ein", "tin", "registration number", "company number", "id number",
    ),
    "manufacturer": (
        "manufacturer", "manufacturer name", "mfr", "mfg", "make", "maker", "oem", "brand", "product manufacturer",
    ),
}  # fmt: skip
FIELDS = tuple(SYNONYMS)
MAX_ALIASES = 50  # alternate names screened per party
DEVICE_COLUMNS = frozenset(
    {"mac", "mac address", "macaddress", "bssid", "ip", "ip address", "hostname", "model", "model number",
     "serial", "serial number", "firmware", "firmware version", "oui", "sysdescr", "sys object id"}
)  # fmt: skip
_OTHER_WORDS = frozenset(
    {"id", "code", "number", "no", "country", "address", "city", "date", "amount", "price", "qty", "quantity",
     "email", "phone", "contact", "type", "status", "category", "currency", "total"}
)  # fmt: skip
_WORD = re.compile(r"[^\W_]")  # a letter or digit in any script
_FOLD = re.compile(r"[^a-z0-9]+")


def fold(header: str) -> str:
    return " ".join(_FOLD.sub(" ", header.casefold()).split())


def auto_mapping(header: list[str]) -> dict[str, str]:
    """field -> column for the columns recognised in a header: exact spellings first, then whole words inside."""
    folded = {fold(h): h for h in reversed(header) if h.strip()}
    out: dict[str, str] = {}
    for fieldname, spellings in SYNONYMS.items():
        column = next((folded[s] for s in spellings if s in folded and folded[s] not in out.values()), None)
        if column is not None:
            out[fieldname] = column
    for fieldname, spellings in SYNONYMS.items():
        if fieldname in out:
            continue
        for spelling in spellings:
            column = next(
                (
                    h
                    for f, h in folded.items()
                    if len(spelling) > 3
                    and h not in out.values()
                    and f" {spelling} " in f" {f} "
                    and not (set(f.split()) - set(spelling.split())) & _OTHER_WORDS
                ),
                None,
            )
            if column is not None:
                out[fieldname] = column
                break
    return out


def looks_like_parties(header: list[str]) -> bool:
    folded = {fold(h) for h in header}
    if folded & DEVICE_COLUMNS:
        return False
    mapping = auto_mapping(header)
    return "name" in mapping or "manufacturer" in mapping


@dataclass(slots=True)
class PartyFile:
    file: str
    format: str
    mapping: dict[str, str]
    parties: list[Party] = field(default_factory=list)
    unscreened: list[tuple[Location, str, str]] = field(default_factory=list)  # (where, text as given, why)
    errors: list[InputError] = field(default_factory=list)


def read_parties(path: Path, override: dict[str, str] | None = None) -> PartyFile:
    """Read one party file; raises InputProblem when the file as a whole cannot be used."""
    table = read_table(path)
    mapping = auto_mapping(table.header)
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
    out = PartyFile(str(path), table.format, mapping, errors=list(table.errors))
    out.unscreened.extend((e.location, "", e.message) for e in table.errors)
    _rows(table, mapping, out)
    return out


def _rows(table: Table, mapping: dict[str, str], out: PartyFile) -> None:
    index = {h: i for i, h in reversed(list(enumerate(table.header)))}
    cols = {f: index[c] for f, c in mapping.items()}
    for number, cells in table.rows:
        loc = Location(table.file, row=number)
        values = {f: (cells[i].strip() if i < len(cells) else "") for f, i in cols.items()}
        big = (
            next((f for f, v in values.items() if len(v) > MAX_CELL), None)
            if sum(map(len, values.values())) > MAX_CELL
            else None
        )
        label = (values.get("name") or values.get("manufacturer") or "")[:200]
        if big:
            why = f"cell [{mapping[big]}] is longer than {MAX_CELL} characters"
            out.errors.append(
                InputError(Location(table.file, row=number, field=mapping[big]), why + "; row not screened")
            )
            out.unscreened.append((loc, label[:80] + "…", why))
            continue
        if len(cells) > len(table.header) and any(c.strip() for c in cells[len(table.header) :]):
            why = f"{len(cells)} cells where the header has {len(table.header)} (unquoted delimiter?)"
            out.errors.append(InputError(loc, why + "; row not screened"))
            out.unscreened.append((loc, label, why))
            continue
        name = values.get("name", "")
        maker = values.get("manufacturer", "")
        if not _has_word(name) and not _has_word(maker):
            why = "empty party name" if not name else f"party name {name!r} has no letters or digits"
            out.errors.append(
                InputError(Location(table.file, row=number, field=mapping.get("name")), why + "; row not screened")
            )
            out.unscreened.append((loc, name, why))
            continue
        common = {
            "country": values.get("country", ""),
            "address": values.get("address", ""),
            "city": values.get("city", ""),
            "identifier": values.get("identifier", ""),
        }
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
            out.parties.append(Party(name, loc, aliases, **common))
        if _has_word(maker) and fold(maker) != fold(name):
            out.parties.append(
                Party(maker, Location(table.file, row=number, field=mapping["manufacturer"]), role="manufacturer")
            )


def _has_word(text: str) -> bool:
    return bool(_WORD.search(text))
