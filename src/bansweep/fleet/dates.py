"""Dates in inventory columns, read into YYYY-MM-DD; the day/month order of numeric dates told, never guessed in silence.

Forms read: ISO (2017-03-01, 2017/03/01, with a time after it), numeric dates with slashes, dashes or dots
(03/01/2017, 03-01-2017, 1.3.2017), month names (1-Mar-2017, Mar 1, 2017) and, in a workbook, Excel day numbers.

Only numeric dates have an order to tell: 03/01/2017 is 3 January read day-first, 1 March read month-first. The
order is decided per column of one table, from the whole column (`Dates`):
- a value that is a date in one order only (25/12/2017) proves that order, and its column is read in it; a column
  with proof of both orders is inconsistent: its values that fit both are input errors;
- a column without proof takes the order the table's other date columns prove (when they agree), else month-first,
  and every judgement made with such a date says that the order was assumed;
- `--date-order day-first|month-first` sets the order of slash and dash dates: a value that fits only the other
  order is an input error;
- dotted dates (1.3.2017) are day-first unless their column proves otherwise.
Values whose two numbers are equal (5/5/2017) read the same either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import attrgetter
from typing import Any

AUTO, MONTH_FIRST, DAY_FIRST = "auto", "month-first", "day-first"
ORDERS = (AUTO, MONTH_FIRST, DAY_FIRST)  # --date-order
DEFAULT = MONTH_FIRST  # slash and dash dates of a file that proves no order (said to be assumed)
ASSUMED = f"day/month order not provable from the file; read {DEFAULT}: use --date-order"
FIRST_YEAR, LAST_YEAR = 1900, 2200
DATE_FORMS = "2017-03-01, 03/01/2017, 1.3.2017 or 1-Mar-2017"
CACHED = 200_000  # distinct values whose reading is kept

_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ][\d:.+\-Z ]*)?")
_NUMERIC = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T][\d:.APMapm ]*)?")
_DAY_MONTH = re.compile(r"(\d{1,2})[-\s]([A-Za-z]{3,9})\.?[-\s,]+(\d{4})")
_MONTH_DAY = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})")
_YMD = re.compile(r"\d{4}-\d{2}-\d{2}")
_SERIAL = re.compile(r"\d{1,7}(?:\.\d+)?")
_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        1,
    )
    for name in names
}


def parse_date(text: str, serial: bool = False, order: str | None = None) -> str | None:
    """A date as YYYY-MM-DD, or None. A numeric date is read in `order` (day-first or month-first); without one,
    only when the value tells its order itself (25/12/2017, 5/5/2017; a dotted date is day-first). serial: an Excel
    day number is a date too (XLSX cells without a date format)."""
    text = text.strip()
    if m := _ISO.fullmatch(text):
        return _day(int(m[1]), int(m[2]), int(m[3]))
    numeric = day_month(text)
    if numeric is not None:
        day_first, month_first, dotted = numeric
        if order is None:
            if dotted and day_first:
                return day_first
            return day_first if month_first is None or month_first == day_first else None if day_first else month_first
        return day_first if order == DAY_FIRST else month_first
    if m := _DAY_MONTH.fullmatch(text):
        named = _MONTHS.get(m[2].lower())
        return _day(int(m[3]), named, int(m[1])) if named else None
    if m := _MONTH_DAY.fullmatch(text):
        named = _MONTHS.get(m[1].lower())
        return _day(int(m[3]), named, int(m[2])) if named else None
    if serial and _SERIAL.fullmatch(text):
        return excel_day(float(text))
    return None


Kind = tuple[str | None, str | None, bool]  # a numeric date read day-first, read month-first, whether dotted


def day_month(text: str) -> Kind | None:
    """A numeric date (03/01/2017, 03-01-2017, 3.1.2017) as (read day-first, read month-first, dotted), each
    reading YYYY-MM-DD or None when it is no date; None for other forms."""
    m = _NUMERIC.fullmatch(text)
    if m is None:
        return None
    first, second, year = int(m[1]), int(m[3]), int(m[4])
    return _day(year, second, first), _day(year, first, second), m[2] == "."


def is_day(value: str) -> bool:
    """Whether a value as the readers keep it is a date read (YYYY-MM-DD), not one kept as written."""
    return _YMD.fullmatch(value) is not None


def excel_day(number: float) -> str | None:
    """An Excel 1900-system serial day (1 = 1900-01-01; Excel's 1900-02-29, day 60, does not exist)."""
    days = int(number)
    if days < 1 or days == 60:
        return None
    start = date(1899, 12, 31) if days < 60 else date(1899, 12, 30)
    try:
        day = start + timedelta(days=days)
    except OverflowError:
        return None
    return day.isoformat() if FIRST_YEAR <= day.year <= LAST_YEAR else None


def _day(year: int, month: int, day: int) -> str | None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def bad_date(value: str) -> str:
    return f"not a date: {_shown(value)} (expected a date such as {DATE_FORMS}); the device is judged without it"


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


# --- the order of one table's date columns ------------------------------------------------------------------------

Proof = tuple[int, str]  # (row, value) of the first value that fits one order only


@dataclass(slots=True)
class _Seen:
    """What one column's values prove: per order, the first value of the column that fits it alone (dotted and
    other numeric dates apart)."""

    day_first: Proof | None = None
    month_first: Proof | None = None
    dotted_day_first: Proof | None = None
    dotted_month_first: Proof | None = None
    slashed: bool = False  # holds slash or dash dates whose order matters
    dotted: bool = False  # holds dotted dates whose order matters

    def proofs(self, dotted: bool | None = None) -> dict[str, Proof]:
        """order -> its first proof (of dotted dates only, of the others only, or, None, of both)."""
        out = {}
        for order, plain, dots in (
            (DAY_FIRST, self.day_first, self.dotted_day_first),
            (MONTH_FIRST, self.month_first, self.dotted_month_first),
        ):
            found = [p for p in ((plain,) if dotted is False else (dots,) if dotted else (plain, dots)) if p]
            if found:
                out[order] = min(found)
        return out


@dataclass(slots=True)
class _Order:
    """How one kind of numeric date (dotted, or slash and dash) of one column is read."""

    order: str | None  # None: the column proves both orders (inconsistent)
    note: str  # said with each date read this way
    why: str  # shown in the summary


@dataclass(slots=True)
class TableDates:
    """How one table's numeric dates were read, shared by its records: shown in the report's summary (orders) and
    with a judgement made at such a date (notes)."""

    file: str
    orders: dict[str, str]  # column (sheet!column in a workbook) -> the order used and why
    notes: dict[str, dict[str, str]] = field(default_factory=dict)  # context field -> {YYYY-MM-DD: how it was read}

    def note(self, name: str, day: str) -> str | None:
        """How the date `day` of field `name` was read, when it was a numeric date whose order mattered (a date
        written both ways in one column gets the note of the first)."""
        notes = self.notes.get(name)
        return notes.get(day) if notes else None


class Dates:
    """The date columns of one table: every value seen (`see`) in row order, then, once the columns are complete,
    decided (`decide`) and read (`read`)."""

    def __init__(
        self, file: str, columns: dict[str, str], order: str = AUTO, serial: bool = False, sheet: str | None = None
    ) -> None:
        if order not in ORDERS:
            raise ValueError(f"unknown date order {order!r}; orders are: {', '.join(ORDERS)}")
        self.file, self.columns, self.forced, self.serial, self.sheet = file, columns, order, serial, sheet
        self._seen = {name: _Seen() for name in columns}
        self._kinds: dict[str, Kind | None] = {}  # value -> day_month(value)
        self._seen_values: dict[str, dict[str, str]] = {name: {} for name in columns}  # field -> values seen
        self._orders: dict[str, tuple[_Order, _Order]] = {}  # field -> (slash and dash dates, dotted dates)
        self._read: dict[str, dict[str, tuple[str, str | None]]] = {name: {} for name in columns}
        self.table: TableDates | None = None

    def _kind(self, value: str) -> Kind | None:
        kinds = self._kinds
        if value in kinds:
            return kinds[value]
        kind = day_month(value)
        if len(kinds) < CACHED:
            kinds[value] = kind
        return kind

    def see(self, name: str, row: int, value: str) -> str:
        """Note one value of a column (rows ascending); returns it, as the string first seen in the column (values
        are kept until the column is read: one string per distinct value)."""
        values = self._seen_values[name]
        first = values.get(value)
        if first is not None:
            return first
        if len(values) < CACHED:
            values[value] = value
        kind = self._kind(value)
        if kind is not None and kind[0] != kind[1]:
            seen = self._seen[name]
            slot = _slot(seen, kind)
            if slot:
                setattr(seen, slot, (row, value))
        return value

    def see_column(self, name: str, values: list[str], rows: list[int], distinct: Iterable[str] = ()) -> None:
        """See a whole column at once (values[k] at rows[k]): each distinct value once, at its first row.
        distinct: the column's distinct values in the order they first appear, when the caller has them."""
        seen = self._seen[name]
        for value in distinct or dict.fromkeys(values):
            kind = self._kind(value)
            if kind is not None and kind[0] != kind[1]:
                slot = _slot(seen, kind)
                if slot:
                    setattr(seen, slot, (rows[values.index(value)], value))

    def decide(self) -> TableDates | None:
        """Decide each column's order (every value seen); the table's TableDates, None when no date's order
        mattered."""
        orders: dict[str, str] = {}
        for name, seen in self._seen.items():
            slashed, dotted = self._orders[name] = self._slashed(name, seen), self._dotted(seen)
            why = [slashed.why] if seen.slashed else []
            if seen.dotted and not (seen.slashed and dotted.why == slashed.why):
                why.append(f"dotted dates {dotted.why}" if seen.slashed else dotted.why)
            if why:
                column = self.columns[name]
                orders[f"{self.sheet}!{column}" if self.sheet else column] = "; ".join(why)
        self.table = TableDates(self.file, orders) if orders else None
        return self.table

    def _slashed(self, name: str, seen: _Seen) -> _Order:
        forced = self.forced
        if forced != AUTO:
            return _Order(forced, f"read {forced} (--date-order)", f"{forced} (--date-order)")
        proofs = seen.proofs()
        if proofs:
            return _proven(proofs)
        others = {n: p for n, s in self._seen.items() if n != name and (p := s.proofs())}
        told = {order for p in others.values() for order in p}
        if len(told) == 1 and all(len(p) == 1 for p in others.values()):
            (order,) = told
            other, proof = next((n, p[order]) for n, p in others.items())
            how = f"as column {self.columns[other]} proves by {_proof(proof)}"
            return _Order(order, f"read {order}, {how}", f"{order}, {how}")
        return _Order(
            DEFAULT, ASSUMED, f"{DEFAULT}, assumed: day/month order not provable from the file (--date-order)"
        )

    def _dotted(self, seen: _Seen) -> _Order:
        proofs = seen.proofs(dotted=True if self.forced != AUTO else None)
        if proofs:
            return _proven(proofs)
        return _Order(DAY_FIRST, "read day-first, as dotted dates are", "day-first, as dotted dates are")

    def read(self, name: str, value: str) -> tuple[str, str | None]:
        """(the value to keep: YYYY-MM-DD, else as written; the problem with it, else None). Call decide first."""
        done = self._read[name]
        got = done.get(value)
        if got is None:
            got = self._read_one(name, value)
            if len(done) < CACHED:
                done[value] = got
        return got

    def _read_one(self, name: str, value: str) -> tuple[str, str | None]:
        kind = self._kind(value)
        if kind is None or kind[0] == kind[1]:
            day = parse_date(value, self.serial)
            return (day, None) if day else (value, bad_date(value))
        day_first, month_first, dotted = kind
        how = self._orders[name][dotted]
        column = self.columns[name]
        if how.order is None:  # the column proves both orders: only a value that fits one is read
            if day_first and month_first:
                seen = self._seen[name].proofs(None if self.forced == AUTO else True)
                hint = " (--date-order sets the order)" if self.forced == AUTO else ""
                return value, (
                    f"{_shown(value)} may be day-first or month-first, and column {column} has dates of both "
                    f"(day-first {_proof(seen[DAY_FIRST])}, month-first {_proof(seen[MONTH_FIRST])}); "
                    f"the device is judged without it{hint}"
                )
            order = DAY_FIRST if day_first else MONTH_FIRST
            day = day_first or month_first
            note = f"read {order}, the only order {value} fits (column {column} has dates of both orders)"
        else:
            day = day_first if how.order == DAY_FIRST else month_first
            note = how.note
        if day is None:
            if self.forced != AUTO and not dotted:
                problem = f"not a {self.forced} date: {_shown(value)} (--date-order {self.forced})"
                return value, f"{problem}; the device is judged without it"
            return value, bad_date(value)
        if self.table is not None:
            self.table.notes.setdefault(name, {}).setdefault(day, note)
        return day, None


def _slot(seen: _Seen, kind: Kind) -> str | None:
    """The proof a numeric date whose order matters is, when it is its column's first of its kind (else None);
    marks the column as holding such dates."""
    day_first, month_first, dotted = kind
    if dotted:
        seen.dotted = True
    else:
        seen.slashed = True
    if month_first is None:
        slot = "dotted_day_first" if dotted else "day_first"
    elif day_first is None:
        slot = "dotted_month_first" if dotted else "month_first"
    else:
        return None
    return slot if getattr(seen, slot) is None else None


def _proof(proof: Proof) -> str:
    return f"row {proof[0]}: {proof[1]}"


def _proven(proofs: dict[str, Proof]) -> _Order:
    if len(proofs) == 2:
        why = (
            f"inconsistent: day-first by {_proof(proofs[DAY_FIRST])}, month-first by {_proof(proofs[MONTH_FIRST])}; "
            "dates that fit both orders are input errors"
        )
        return _Order(None, "", why)
    ((order, proof),) = proofs.items()
    return _Order(order, f"read {order}, proven by {_proof(proof)}", f"{order}, proven by {_proof(proof)}")


def shown(items: Iterable[Any]) -> dict[str, dict[str, str]]:
    """file -> {column: the day/month order its numeric dates were read in, and why}, from records (Observations
    and ObservationBatches) whose tables held such dates."""
    tables = {id(table): table for table in filter(None, map(attrgetter("dates"), items))}
    out: dict[str, dict[str, str]] = {}
    for table in tables.values():
        out.setdefault(table.file, {}).update(table.orders)
    return out
