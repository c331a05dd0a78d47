"""Row shaping shared by the readers: oversized cells cut, short rows padded, long rows reported."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem
from bansweep.tables import limits
from bansweep.tables.table import Row


def check_header(header: list[str], where: Location) -> None:
    """Refuse a header wider than MAX_COLUMNS or with a cell longer than MAX_CELL (InputProblem at where)."""
    if len(header) > limits.MAX_COLUMNS:
        raise InputProblem(where, f"header has {len(header)} columns (limit {limits.MAX_COLUMNS})")
    longest = max(map(len, header), default=0)
    if longest > limits.MAX_CELL:
        raise InputProblem(where, f"a header cell is {longest} characters long (limit {limits.MAX_CELL})")


def fitted(
    file: str, sheet: str | None, rows: Iterable[tuple[int, list[str]]], header: list[str], strict: bool = False
) -> Iterator[Row | InputError]:
    """Rows shaped to the header: rows without cells dropped, short rows padded (reported in strict mode), long rows
    and oversized cells reported; stops after MAX_ROWS rows."""
    width = len(header)
    max_rows = limits.MAX_ROWS
    for number, cells in rows:
        if number > max_rows:
            yield InputError(
                Location(file, row=number, entry=sheet), f"more than {max_rows} rows; the rest was not read"
            )
            return
        yield from cut_cells(file, sheet, number, cells, header)
        count = len(cells)
        if count < width:
            if not any(cells):
                continue
            if strict:
                yield short_row(file, sheet, number, count, width)
                continue
            cells += [""] * (width - count)
        elif count > width:
            if any(c.strip() for c in cells[width:]):
                yield long_row(file, sheet, number, count, width)
                continue
            del cells[width:]
        yield number, cells


def cut_cells(file: str, sheet: str | None, number: int, cells: list[str], header: list[str]) -> Iterator[InputError]:
    """Replace each cell longer than MAX_CELL by "" and report it with its row and column."""
    limit = limits.MAX_CELL
    if sum(map(len, cells)) <= limit:
        return
    for i, cell in enumerate(cells):
        if len(cell) > limit:
            cells[i] = ""
            column = header[i] if i < len(header) and header[i] else f"column {i + 1}"
            yield InputError(
                Location(file, row=number, entry=sheet, field=column),
                f"cell is {len(cell)} characters long, longer than the limit of {limit}; not used",
            )


def long_row(file: str, sheet: str | None, number: int, count: int, width: int) -> InputError:
    return InputError(
        Location(file, row=number, entry=sheet),
        f"{count} cells where the header has {width} (unquoted delimiter or cells beyond the header?); row not read",
    )


def short_row(file: str, sheet: str | None, number: int, count: int, width: int) -> InputError:
    return InputError(
        Location(file, row=number, entry=sheet), f"{count} cells where the header has {width}; row not read"
    )
