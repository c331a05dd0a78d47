"""A fast reader for large CSV/TSV inventories: the same records the inventory-csv source yields, in columns.

`read(path, mapping)` gives an ObservationBatch whose record k is, fact for fact, location for location, the k-th
Observation the inventory-csv source yields for the file, and the same InputErrors (bad MACs, in row order).
Rows are read with the csv module in chunks and each column is then handled at once: MACs checked and upper-cased
for the whole chunk, other values stripped once per distinct value. The columns are the ones the inventory source
chooses (sources.describe_mapping).

Where it could not be sure to give exactly what the source gives, it gives None and the caller reads the file
with the source instead: a header below line one, a row the csv module rejects, an overlong cell, more rows than the
source reads, a user mapping whose columns collide, or a row with an empty MAC cell when the file has another
column that may hold MACs.
"""

from __future__ import annotations

import csv
import itertools
import operator
import re
from collections.abc import Sequence
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet import sources
from bansweep.fleet.model import ObservationBatch
from bansweep.fleet.sources.common import MAX_RECORDS, fast_mac
from bansweep.inputs import InputProblem, read_text

FORMAT = "inventory-csv"
DELIMITERS = ",;\t|"  # the inventory source's, most frequent in the header line wins, ties to the first
CHUNK = 65_536  # rows handled per column pass
LONGEST = 4096  # a mapped cell longer than this: read by the source (it reports overlong cells)
FACT_NAMES = {"banner": "service.banner"}
ATTRIBUTES = ("mac", "ip", "hostname", "serial")
_CANON = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
_ADDRESS_WORDS = ("addr", "adress", "hw", "physical")  # with "mac": header words of columns that may hold MACs


def read(
    path: Path, mapping: dict[str, str] | None = None, described: dict[str, str] | None = None
) -> tuple[ObservationBatch, list[InputError]] | None:
    """The file's records and input errors, or None when the inventory source must read it. `described`: the
    source's columns (sources.describe_mapping) when the caller has them already."""
    mapping = mapping or None
    try:
        described = described or sources.describe_mapping(path, mapping)
        if not described:
            return None
        text = read_text(path)
    except (InputProblem, OSError, UnicodeError, ValueError):
        return None
    layout = _layout(path, text, described, mapping)
    if layout is None:
        return None
    return _read(str(path), text, layout)


class _Layout:
    def __init__(self, delimiter: str, skip: int, headers: list[str], chosen: list[tuple[str, int]]) -> None:
        self.delimiter = delimiter
        self.skip = skip  # lines before the header
        self.headers = headers
        self.chosen = chosen  # (field, column index) in the source's order


def _layout(path: Path, text: str, described: dict[str, str], mapping: dict[str, str] | None) -> _Layout | None:
    head = text[: 256 * 1024].split("\n", 2)
    first = head[0].strip()
    skip, delimiter = 0, ""
    if first.lower().startswith("sep=") and len(first) == 5:
        skip, delimiter = 1, first[4]
    if len(head) <= skip:
        return None
    line = head[skip].rstrip("\r")
    delimiter = delimiter or max(DELIMITERS, key=line.count)
    try:
        headers = [h.strip() for h in next(csv.reader([line], delimiter=delimiter))]
    except (csv.Error, StopIteration):
        return None
    index: dict[str, int] = {}
    for field, column in described.items():
        if headers.count(column) != 1:
            return None  # not this line's column (the header is further down), or named twice
        index[field] = headers.index(column)
    order = _field_order(path, described, mapping)
    if order is None:
        return None
    return _Layout(delimiter, skip, headers, [(f, index[f]) for f in order])


def _field_order(path: Path, described: dict[str, str], mapping: dict[str, str] | None) -> list[str] | None:
    """The fields in the order the inventory source reads them: its field order for automatically chosen
    columns, then the fields the mapping adds."""
    if not mapping:
        return [f for f in sources.FIELDS if f in described]
    if any(column and field not in described for field, column in mapping.items()):
        return None  # a mapped column not in the header: the source reports it
    # the columns chosen without the mapping (a field switched off makes the table readable as an inventory)
    absent = [f for f in sources.FIELDS if f not in described]
    if not absent:
        return None
    auto = sources.describe_mapping(path, {absent[0]: ""}) or {}
    mapped = {described[f] for f in mapping if f in described}
    if any(column in mapped and described.get(field) != column for field, column in auto.items()):
        return None  # a mapped column taken from another field
    kept = [f for f in sources.FIELDS if f in auto and f in described]
    return kept + [f for f in mapping if f in described and f not in kept]


def _read(file: str, text: str, layout: _Layout) -> tuple[ObservationBatch, list[InputError]] | None:
    headers, chosen = layout.headers, dict(layout.chosen)
    width = max(chosen.values()) + 1
    mac_i = chosen.get("mac", -1)
    mac_column = headers[mac_i] if mac_i >= 0 else ""
    other_macs = mac_i >= 0 and any(_may_hold_macs(h) for i, h in enumerate(headers) if i != mac_i)
    text_cols = [(FACT_NAMES.get(f, f), i) for f, i in layout.chosen if f not in ATTRIBUTES]
    lines = text.split("\n")
    reader = csv.reader(
        map(operator.add, itertools.islice(lines, layout.skip, None), itertools.repeat("\n")),
        delimiter=layout.delimiter,
    )
    batch = ObservationBatch(
        FORMAT,
        file,
        {FACT_NAMES.get(f, f): headers[i] for f, i in layout.chosen},
        [],
        [],
        [],
        [],
        [],
        {fact: [] for fact, _ in text_cols},
    )
    errors: list[InputError] = []
    stripped: dict[str, str] = {}  # value -> stripped value, shared by all text columns
    try:
        next(reader)
        done = 0
        while chunk := list(itertools.islice(reader, CHUNK)):
            numbers = range(done + 1, done + len(chunk) + 1)
            done += len(chunk)
            if done > MAX_RECORDS:
                return None  # the source reads up to its limit and says so
            if min(map(len, chunk)) < width:  # short or blank rows: blank ones are skipped, short ones padded
                kept = [(n, _pad(row, width)) for n, row in zip(numbers, chunk, strict=True) if any(row)]
                numbers, chunk = [n for n, _ in kept], [row for _, row in kept]  # type: ignore[assignment]
                if not chunk:
                    continue
            if not _chunk(
                batch, errors, file, chunk, list(numbers), text_cols, chosen, mac_column, other_macs, stripped
            ):
                return None
    except csv.Error:
        return None
    return batch, errors


def _pad(row: list[str], width: int) -> list[str]:
    return row if len(row) >= width else row + [""] * (width - len(row))


def _chunk(
    batch: ObservationBatch,
    errors: list[InputError],
    file: str,
    chunk: list[list[str]],
    numbers: list[int],
    text_cols: list[tuple[str, int]],
    chosen: dict[str, int],
    mac_column: str,
    other_macs: bool,
    stripped: dict[str, str],
) -> bool:
    """Add one chunk of rows (all at least as wide as the mapped columns); False when the source must read it."""
    n = len(chunk)
    table = list(zip(*chunk, strict=False))  # columns (every row is wide enough)
    facts: list[Sequence[str]] = []
    for _, i in text_cols:
        col = _few(table[i], stripped)
        if col is None:
            return False
        facts.append(col)
    attrs: dict[str, Sequence[str]] = {}
    for field in ("ip", "hostname", "serial"):
        i = chosen.get(field, -1)
        got = ("",) * n if i < 0 else _many(table[i]) if field == "ip" else _few(table[i], stripped)
        if got is None:
            return False
        attrs[field] = got
    macs: list[str] = [""] * n
    if "mac" in chosen:
        raw = table[chosen["mac"]]
        macs = _upper(raw)
        for k in _odd(raw):
            value = raw[k]
            if len(value) > LONGEST:
                return False
            if not value.strip():
                if other_macs:
                    return False  # the source would look in the other MAC column
                macs[k] = ""
                continue
            mac = fast_mac(value.strip())
            if mac is None:
                shown = value if len(value) <= 40 else value[:40] + "…"
                where = Location(file, None, numbers[k], None, None, mac_column)
                errors.append(InputError(where, f"not a MAC address: {shown!r}"))
            macs[k] = mac or ""
    # a record is a row with some value; rows with none (say only a bad MAC) are no record
    if "" in macs:
        others = [attrs["ip"], attrs["hostname"], attrs["serial"], *facts]
        empty = itertools.compress(range(n), map(operator.not_, macs))
        drop = {k for k in empty if not any(col[k] for col in others)}
        if drop:
            keep = [k for k in range(n) if k not in drop]
            numbers, macs = [numbers[k] for k in keep], [macs[k] for k in keep]
            attrs = {f: [col[k] for k in keep] for f, col in attrs.items()}
            facts = [[col[k] for k in keep] for col in facts]
    batch.rows.extend(numbers)
    batch.macs.extend(macs)
    batch.ips.extend(attrs["ip"])
    batch.hostnames.extend(attrs["hostname"])
    batch.serials.extend(attrs["serial"])
    for (fact, _), col in zip(text_cols, facts, strict=True):
        batch.facts[fact].extend(col)
    return True


_SPACE = re.compile(r"\s")


def _few(col: Sequence[str], stripped: dict[str, str]) -> Sequence[str] | None:
    """A column of few distinct values, each stripped (checked once per distinct value); None when one is longer
    than LONGEST."""
    distinct = dict.fromkeys(col)
    if max(map(len, distinct)) > LONGEST:
        return None
    if all(map(operator.eq, distinct, map(str.strip, distinct))):
        return col
    for value in distinct:
        if value not in stripped:
            stripped[value] = value.strip()
    return list(map(stripped.__getitem__, col))


def _many(col: Sequence[str]) -> Sequence[str] | None:
    """A column of mostly distinct values, each stripped; None when one is longer than LONGEST."""
    if max(map(len, col)) > LONGEST:
        return None
    return list(map(str.strip, col)) if _SPACE.search("\0".join(col)) else col


def _upper(raw: Sequence[str]) -> list[str]:
    return "\n".join(raw).upper().split("\n") if "\n" not in "".join(raw) else [v.upper() for v in raw]


def _odd(raw: Sequence[str]) -> list[int]:
    """Indexes of values that are not a MAC in canonical form (AA:BB:CC:DD:EE:FF, any case)."""
    n = len(raw)
    joined = "\n".join(raw)
    uniform = len(joined) == 18 * n - 1 and joined.count(":") == 5 * n and joined.count("\n") == n - 1
    if uniform and all(joined[k::18].count(":") == n for k in (2, 5, 8, 11, 14)):
        digits = joined.replace(":", "").replace("\n", "")
        if digits.isascii() and digits.isalnum():
            try:
                if len(bytes.fromhex(digits)) == 6 * n:
                    return []
            except ValueError:
                pass
    canon = _CANON.fullmatch
    return [k for k, value in enumerate(raw) if not canon(value)]


def _may_hold_macs(header: str) -> bool:
    """Whether the inventory source may take MACs from this column when the MAC column is empty: a superset of
    its further MAC column names (an IP address column is not one)."""
    name = "".join(c for c in header.lower() if c.isalnum())
    if "mac" in name:
        return True
    ip = name.startswith("ip") or name.endswith("ip") or "ipv" in name
    return not ip and any(w in name for w in _ADDRESS_WORDS)
