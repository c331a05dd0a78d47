"""A fast reader for large CSV/TSV inventories: the same records the inventory-csv source yields, in columns.

`read(path, mapping)` gives an ObservationBatch whose record k is, fact for fact, location for location, the k-th
Observation the inventory-csv source yields for the file, and the same InputErrors (bad MACs and dates, in row
order). Date columns are read once the whole file is: their day/month order is decided from the whole column
(fleet/dates.py), each distinct value read once.
Rows are read with the csv module in chunks and each column is then handled at once: MACs checked and upper-cased
for the whole chunk, other values stripped once per distinct value. The columns are the ones the inventory source
chooses (sources.describe_mapping).

Where it could not be sure to give exactly what the source gives, it gives None and the caller reads the file
with the source instead: a header it does not find, a row the csv module rejects, an overlong cell, more rows than the
source reads, a user mapping whose columns collide, or a row with an empty MAC cell when the file has another
column that may hold MACs.
"""

from __future__ import annotations

import csv
import itertools
import multiprocessing
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet import context, dates, sources
from bansweep.fleet.model import ObservationBatch
from bansweep.fleet.sources.common import MAX_RECORDS, fast_mac, sheet_row
from bansweep.inputs import InputProblem, read_text

FORMAT = "inventory-csv"
DELIMITERS = ",;\t|"  # the inventory source's, most frequent in the header line wins, ties to the first
HEADER_LINES = 10  # the source looks for the header in the first lines after a "sep=" line
CHUNK = 65_536  # rows handled per column pass
PARALLEL_MIN_LINES = 200_000  # from this many lines, a forked worker reads the second part of the rows
PARENT_SHARE = 0.52  # of the lines, read by the parent (the worker also packs its records to send them)
LONGEST = 4096  # a mapped cell longer than this: read by the source (it reports overlong cells)
FACT_NAMES = {"banner": "service.banner"}
ATTRIBUTES = ("mac", "ip", "hostname", "serial")
KEPT_APART = (*ATTRIBUTES, *context.FIELDS)  # no facts: identifiers, and context kept in batch.context
_CANON = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
_ADDRESS_WORDS = ("addr", "adress", "hw", "physical")  # with "mac": header words of columns that may hold MACs


def read(
    path: Path,
    mapping: dict[str, str] | None = None,
    described: dict[str, str] | None = None,
    knowledge: Sequence[Path] = (),
    date_order: str = dates.AUTO,
) -> tuple[ObservationBatch, list[InputError]] | None:
    """The file's records and input errors, or None when the inventory source must read it. `described`: the
    source's columns (sources.describe_mapping) when the caller has them already; date_order: --date-order."""
    mapping = mapping or None
    try:
        described = described or sources.describe_mapping(path, mapping, knowledge)
        if not described:
            return None
        text = read_text(path)
    except (InputProblem, OSError, UnicodeError, ValueError):
        return None
    layout = _layout(path, text, described, mapping, knowledge)
    if layout is None:
        return None
    read = _read(str(path), text, layout)
    if read is None:
        return None
    # rows as a spreadsheet shows them: the header is row skip + 1, the first data row the next
    batch, errors = read
    shift = layout.skip + 1
    batch.rows[:] = [row + shift for row in batch.rows]
    errors = [sheet_row(e, shift) for e in errors]
    date_cols = {f: layout.headers[i] for f, i in layout.chosen if f in context.DATES}
    if date_cols:
        errors = _read_dates(batch, errors, date_cols, date_order)
    return batch, errors


def _read_dates(
    batch: ObservationBatch, errors: list[InputError], columns: dict[str, str], order: str
) -> list[InputError]:
    """Read the batch's date columns (values as written) into YYYY-MM-DD, each distinct value once; returns the
    errors with one for each row of a value that is no date (which stays as written), in row order."""
    reading = dates.Dates(batch.file, columns, order)
    distinct = {name: dict.fromkeys(batch.context[name]) for name in columns}
    distinct = {name: values for name, values in distinct.items() if values.keys() - {""}}
    for name, values in distinct.items():
        reading.see_column(name, batch.context[name], batch.rows, values)  # type: ignore[arg-type]
    batch.dates = reading.decide()
    problems: list[InputError] = []
    for name, values in distinct.items():
        read = {value: reading.read(name, value) if value else ("", None) for value in values}  # type: ignore[arg-type]
        col = batch.context[name]
        batch.context[name] = list(map({value: day for value, (day, _) in read.items()}.__getitem__, col))
        bad = {value for value, (_, problem) in read.items() if problem}
        if bad:
            for k in itertools.compress(range(len(col)), map(bad.__contains__, col)):
                where = Location(batch.file, None, batch.rows[k], None, None, columns[name])
                problems.append(InputError(where, read[col[k]][1]))  # type: ignore[index,arg-type]
    if not problems:
        return errors
    return sorted(errors + problems, key=_row)  # in row order, as the source reports them (a MAC's first)


class _Layout:
    def __init__(self, delimiter: str, skip: int, headers: list[str], chosen: list[tuple[str, int]]) -> None:
        self.delimiter = delimiter
        self.skip = skip  # lines before the header
        self.headers = headers
        self.chosen = chosen  # (field, column index) in the source's order


def _layout(
    path: Path, text: str, described: dict[str, str], mapping: dict[str, str] | None, knowledge: Sequence[Path]
) -> _Layout | None:
    """Where the header is (the first of the first lines that holds every described column, as the source looks
    for it below an Excel "sep=" line and report titles), its delimiter and the columns of the fields."""
    head = text[: 256 * 1024].split("\n", HEADER_LINES + 1)[: HEADER_LINES + 1]
    first = head[0].strip()
    start, sep = 0, ""
    if first.lower().startswith("sep=") and len(first) == 5:
        start, sep = 1, first[4]
    for at in range(start, len(head)):
        line = head[at].rstrip("\r")
        delimiter = sep or max(DELIMITERS, key=line.count)
        try:
            headers = [h.strip() for h in next(csv.reader([line], delimiter=delimiter))]
        except (csv.Error, StopIteration):
            continue
        if all(headers.count(column) == 1 for column in described.values()):
            break
    else:
        return None  # no such line, or a column named twice
    order = _field_order(path, described, mapping, knowledge)
    if order is None:
        return None
    return _Layout(delimiter, at, headers, [(f, headers.index(described[f])) for f in order])


def _field_order(
    path: Path, described: dict[str, str], mapping: dict[str, str] | None, knowledge: Sequence[Path] = ()
) -> list[str] | None:
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
    auto = sources.describe_mapping(path, {absent[0]: ""}, knowledge) or {}
    mapped = {described[f] for f in mapping if f in described}
    if any(column in mapped and described.get(field) != column for field, column in auto.items()):
        return None  # a mapped column taken from another field
    kept = [f for f in sources.FIELDS if f in auto and f in described]
    return kept + [f for f in mapping if f in described and f not in kept]


@dataclass(slots=True)
class _Table:
    """What reading any part of a file's rows needs."""

    file: str
    delimiter: str
    width: int
    chosen: dict[str, int]
    text_cols: list[tuple[str, int]]
    fields: dict[str, str]
    mac_column: str
    other_macs: bool
    context_cols: list[tuple[str, int]]  # (context field, column)


class _Cut(Exception):
    """A part's lines end inside a record: the file is read in one part."""


@dataclass(slots=True)
class _Part:
    batch: ObservationBatch
    errors: list[InputError]
    done: int  # rows read (blank ones included): the next part's rows are numbered after them


_END = "\0bansweep-end\0"  # a row after a part's last line: read as a row of its own only outside quotes


def _read(file: str, text: str, layout: _Layout) -> tuple[ObservationBatch, list[InputError]] | None:
    headers, chosen = layout.headers, dict(layout.chosen)
    mac_i = chosen.get("mac", -1)
    table = _Table(
        file,
        layout.delimiter,
        max(chosen.values()) + 1,
        chosen,
        [(FACT_NAMES.get(f, f), i) for f, i in layout.chosen if f not in KEPT_APART],
        {FACT_NAMES.get(f, f): headers[i] for f, i in layout.chosen},
        headers[mac_i] if mac_i >= 0 else "",
        mac_i >= 0 and any(_may_hold_macs(h) for i, h in enumerate(headers) if i != mac_i),
        [(f, i) for f, i in layout.chosen if f in context.FIELDS],
    )
    lines = text.split("\n")
    if lines[layout.skip].count('"') % 2:
        return None  # a header over several lines
    body = lines[layout.skip + 1 :]
    del lines
    part: _Part | None
    try:
        if len(body) >= PARALLEL_MIN_LINES and "fork" in multiprocessing.get_all_start_methods():
            part = _two_parts(table, body)
        else:
            part = _part(table, body, last=True)
    except _Cut:
        part = _part(table, body, last=True)
    return (part.batch, part.errors) if part is not None else None


_SHARED: tuple[_Table, list[str]] | None = None  # set before forking, read by the worker


_Packed = tuple[list[InputError], int, "range | list[int]", list["str | list[str | None]"]]


def _worker(start: int) -> _Packed | None:
    assert _SHARED is not None
    table, body = _SHARED
    part = _part(table, body[start:], last=True)
    if part is None:
        return None
    b = part.batch
    rows: range | list[int] = (
        range(b.rows[0], b.rows[-1] + 1) if b.rows and b.rows[-1] - b.rows[0] + 1 == len(b.rows) else b.rows
    )
    columns = [b.macs, b.ips, b.hostnames, b.serials, *b.facts.values(), *b.context.values()]
    return part.errors, part.done, rows, [_pack(c) for c in columns]  # in forms that pickle fast


def _pack(column: list[str | None]) -> str | list[str | None]:
    """A column as one string when its values are strings without line ends (one string pickles fast)."""
    if not column or None in column:
        return column
    joined = "\n".join(column)  # type: ignore[arg-type]
    return joined if joined.count("\n") == len(column) - 1 else column


def _unpack(packed: str | list[str | None]) -> list[str | None]:
    return packed.split("\n") if isinstance(packed, str) else packed  # type: ignore[return-value]


def _two_parts(table: _Table, body: list[str]) -> _Part | None:
    """Read the first part of the rows here while a forked worker reads the rest."""
    global _SHARED
    cut = int(len(body) * PARENT_SHARE)
    _SHARED = (table, body)
    try:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            theirs = pool.apply_async(_worker, (cut,))
            mine = _part(table, body[:cut], last=False)
            other = theirs.get()
    finally:
        _SHARED = None
    if mine is None or other is None:
        return None
    their_errors, their_done, rows, columns = other
    batch, done = mine.batch, mine.done
    if done + their_done > MAX_RECORDS:
        return None
    if isinstance(rows, range):
        batch.rows.extend(range(rows.start + done, rows.stop + done))
    else:
        batch.rows.extend(row + done for row in rows)
    mine_columns = [
        batch.macs,
        batch.ips,
        batch.hostnames,
        batch.serials,
        *batch.facts.values(),
        *batch.context.values(),
    ]
    for column, packed in zip(mine_columns, columns, strict=True):
        column.extend(_unpack(packed))
    for e in their_errors:
        loc = e.location
        where = Location(loc.file, None, (loc.row or 0) + done, None, None, loc.field)
        mine.errors.append(InputError(where, e.message))
    mine.done += their_done
    return mine


def _part(table: _Table, lines: list[str], last: bool) -> _Part | None:
    """The records of some lines of rows, numbered from 1; None when the source must read the file. Raises _Cut
    when the lines end inside a record (a part that is not the last one)."""
    feed = map(operator.add, lines, itertools.repeat("\n"))
    reader = csv.reader(feed if last else itertools.chain(feed, [_END + "\n"]), delimiter=table.delimiter)
    batch = ObservationBatch(
        FORMAT,
        table.file,
        table.fields,
        [],
        [],
        [],
        [],
        [],
        {fact: [] for fact, _ in table.text_cols},
        {name: [] for name, _ in table.context_cols},
    )
    errors: list[InputError] = []
    stripped: dict[str, str] = {}  # value -> stripped value, shared by all text columns
    width = table.width
    ended = last
    try:
        done = 0
        while chunk := list(itertools.islice(reader, CHUNK)):
            if not last and chunk[-1] == [_END]:
                chunk.pop()
                ended = True
                if not chunk:
                    break
            numbers = range(done + 1, done + len(chunk) + 1)
            done += len(chunk)
            if done > MAX_RECORDS:
                return None  # the source reads up to its limit and says so
            if min(map(len, chunk)) < width:  # short or blank rows: blank ones are skipped, short ones padded
                kept = [(n, _pad(row, width)) for n, row in zip(numbers, chunk, strict=True) if any(row)]
                numbers, chunk = [n for n, _ in kept], [row for _, row in kept]  # type: ignore[assignment]
                if not chunk:
                    continue
            if not _chunk(batch, errors, table, chunk, list(numbers), stripped):
                return None
    except csv.Error:
        if last:
            return None
        raise _Cut from None
    if not ended:
        raise _Cut
    return _Part(batch, errors, done)


def _pad(row: list[str], width: int) -> list[str]:
    return row if len(row) >= width else row + [""] * (width - len(row))


def _chunk(
    batch: ObservationBatch,
    errors: list[InputError],
    table_: _Table,
    chunk: list[list[str]],
    numbers: list[int],
    stripped: dict[str, str],
) -> bool:
    """Add one chunk of rows (all at least as wide as the mapped columns); False when the source must read it."""
    n = len(chunk)
    file, text_cols, chosen = table_.file, table_.text_cols, table_.chosen
    mac_column, other_macs = table_.mac_column, table_.other_macs
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
    kept: list[Sequence[str]] = []  # context values as written (dates are read when the whole file is)
    for _, i in table_.context_cols:
        col = _few(table[i], stripped)
        if col is None:
            return False
        kept.append(col)
    # a record is a row with some value; rows with none (say only a bad MAC) are no record
    if "" in macs:
        others = [attrs["ip"], attrs["hostname"], attrs["serial"], *facts, *kept]
        empty = itertools.compress(range(n), map(operator.not_, macs))
        drop = {k for k in empty if not any(col[k] for col in others)}
        if drop:
            keep = [k for k in range(n) if k not in drop]
            numbers, macs = [numbers[k] for k in keep], [macs[k] for k in keep]
            attrs = {f: [col[k] for k in keep] for f, col in attrs.items()}
            facts = [[col[k] for k in keep] for col in facts]
            kept = [[col[k] for k in keep] for col in kept]
    batch.rows.extend(numbers)
    batch.macs.extend(macs)
    batch.ips.extend(attrs["ip"])
    batch.hostnames.extend(attrs["hostname"])
    batch.serials.extend(attrs["serial"])
    for (fact, _), col in zip(text_cols, facts, strict=True):
        batch.facts[fact].extend(col)
    for (name, _), col in zip(table_.context_cols, kept, strict=True):
        batch.context[name].extend(col)
    return True


def _row(error: InputError) -> int:
    return error.location.row or 0


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
