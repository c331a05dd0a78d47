"""JSON rows: an array of objects, or an object holding one under a known key (ServiceNow "result", Microsoft
Graph "value", "devices", "suppliers", ...) or as its only list of objects. Also the one bounded JSON loader.

Keys become the header (in order of first appearance). Values become cells: ServiceNow {"display_value": ...}
and {"name"|"value": ...} are unwrapped; lists give their first non-empty item (lists="first": an IP address
list) or all items joined by "; " (lists="all": alternate names). Row n is the n-th item; an item that is not an
object is reported with its place (entry "[n-1]" or "key[n-1]").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem, decode_text
from bansweep.tables import limits
from bansweep.tables.shape import check_header, fitted
from bansweep.tables.table import Row, Table

# keys holding the rows, tried in this order
LIST_KEYS = (
    "devices", "assets", "hosts", "inventory", "parties", "suppliers", "vendors", "counterparties",
    "result", "results", "value", "items", "records", "rows", "data",
)  # fmt: skip
Lists = Literal["first", "all"]  # a list value as its first item or all items joined
UNWRAP = ("display_value", "name", "value")  # a value given as an object: the key holding its text
_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def load(path: Path, text: str | None = None, limit: int | None = None) -> Any:
    """A JSON document within size (limit, default MAX_JSON_BYTES) and depth bounds; InputProblem (with the line)
    when it cannot be used."""
    file = str(path)
    limit = limits.MAX_JSON_BYTES if limit is None else limit
    if text is None:
        size = path.stat().st_size
        if size > limit:
            raise InputProblem(Location(file), f"file is {size} bytes; the limit for JSON is {limit}")
        text = decode_text(path.read_bytes(), file)
    elif len(text) > limit:
        raise InputProblem(Location(file), f"file is over {limit} characters; the limit for JSON is {limit}")
    if not text.strip():
        raise InputProblem(Location(file), "empty file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputProblem(Location(file, line=exc.lineno), f"malformed JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise InputProblem(Location(file), f"JSON nested deeper than {limits.MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise InputProblem(Location(file), f"malformed JSON: {exc}") from None
    if depth(data) > limits.MAX_JSON_DEPTH:
        raise InputProblem(Location(file), f"JSON nested deeper than {limits.MAX_JSON_DEPTH} levels")
    return data


def depth(data: Any) -> int:
    """Nesting depth of parsed JSON (computed without recursion, stopping past the limit)."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, level = stack.pop()
        deepest = max(deepest, level)
        if level > limits.MAX_JSON_DEPTH:
            break
        if isinstance(value, dict):
            stack.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, level + 1) for v in value)
    return deepest


def items(data: Any, file: str) -> tuple[str, list[Any]]:
    """(key holding the rows or "", the rows) of a document; InputProblem when it holds no list of rows."""
    if isinstance(data, list):
        return "", data
    if isinstance(data, dict):
        for key in LIST_KEYS:
            if isinstance(data.get(key), list):
                return key, data[key]
        lists = [(str(k), v) for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
    raise InputProblem(
        Location(file),
        "no list of rows: expected a JSON array of objects (or an object holding one under a key such as "
        "'devices', 'suppliers' or 'results')",
    )


def keys(records: list[Any], file: str) -> list[str]:
    """The header: object keys in order of first appearance, within MAX_COLUMNS."""
    seen: dict[str, None] = {}
    for record in records:
        if isinstance(record, dict):
            seen.update(dict.fromkeys(map(str, record)))
            if len(seen) > limits.MAX_COLUMNS:
                raise InputProblem(Location(file), f"objects have more than {limits.MAX_COLUMNS} distinct keys")
    return list(seen)


def cell(value: Any, lists: Lists = "all") -> str:
    """A value as cell text (see the module doc)."""
    if value is None:
        return ""
    if isinstance(value, list):
        texts = (cell(v, lists) for v in value)
        if lists == "first":
            return next((t for t in texts if t), "")
        return "; ".join(t for t in texts if t)
    if isinstance(value, dict):
        for key in UNWRAP:
            if key in value:
                return cell(value[key], lists)
        texts = (cell(v, lists) for v in value.values())
        if lists == "first":
            return next((t for t in texts if t), "")
        return ", ".join(t for t in texts if t)
    return str(value)


def read(path: Path, lists: Lists = "all", text: str | None = None) -> Table:
    """The rows of a JSON file as a Table (format "json"). Raises InputProblem when it holds no rows."""
    file = str(path)
    key, records = items(load(path, text), file)
    header = keys(records, file)
    check_header(header, Location(file))
    return Table(file, "json", header, _rows(file, key, records, header, lists))


def _rows(file: str, key: str, records: list[Any], header: list[str], lists: Lists) -> Iterator[Row | InputError]:
    def numbered() -> Iterator[tuple[int, list[str]] | InputError]:
        for number, record in enumerate(records, 1):
            if isinstance(record, dict):
                yield number, [cell(record.get(h), lists) for h in header]
            else:
                what = _TYPES.get(type(record), "null")
                yield InputError(
                    Location(file, row=number, entry=f"{key}[{number - 1}]"), f"entry is a JSON {what}, not an object"
                )

    errors: list[InputError] = []
    for item in fitted(file, None, _split(numbered(), errors), header):
        yield from errors
        errors.clear()
        yield item
    yield from errors


def _split(
    items: Iterator[tuple[int, list[str]] | InputError], errors: list[InputError]
) -> Iterator[tuple[int, list[str]]]:
    """Rows for fitted(); InputErrors put aside in order, to be yielded before the next row."""
    for item in items:
        if isinstance(item, InputError):
            errors.append(item)
        else:
            yield item
