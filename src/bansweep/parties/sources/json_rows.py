"""JSON: an array of objects, or an object holding one (under "parties", "suppliers", ... or its first list)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bansweep.findings import InputError, Location
from bansweep.inputs import InputProblem
from bansweep.parties.sources import MAX_ROWS, Table

MAX_JSON_DEPTH = 32
_LIST_KEYS = ("parties", "suppliers", "vendors", "counterparties", "results", "records", "items", "data", "rows")


def parse(path: Path, text: str) -> Any:
    """The JSON document in text; InputProblem (with the line) when it is malformed or nested too deeply."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputProblem(
            Location(str(path), line=exc.lineno), f"malformed JSON: {exc.msg} (column {exc.colno})"
        ) from None
    except RecursionError:
        raise InputProblem(Location(str(path)), "JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise InputProblem(Location(str(path)), f"malformed JSON: {exc}") from None


def read(path: Path, text: str) -> Table:
    doc = parse(path, text)
    items = doc
    if isinstance(doc, dict):
        items = next((doc[k] for k in _LIST_KEYS if isinstance(doc.get(k), list)), None)
        if items is None:
            items = next((v for v in doc.values() if isinstance(v, list)), None)
    if not isinstance(items, list):
        raise InputProblem(Location(str(path)), "expected a JSON array of objects (or an object holding one)")
    table = Table(str(path), "json", [])
    keys: dict[str, None] = {}
    objects: list[tuple[int, dict[str, str] | None]] = []
    for number, item in enumerate(items[:MAX_ROWS], 1):
        if not isinstance(item, dict):
            table.errors.append(InputError(Location(str(path), entry=f"[{number - 1}]", row=number), "not an object"))
            objects.append((number, None))
            continue
        flat = {str(k): _flat(v, 0) for k, v in item.items()}
        keys.update(dict.fromkeys(flat))
        objects.append((number, flat))
    table.header = list(keys)
    for number, obj in objects:
        if obj is not None:
            table.rows.append((number, [obj.get(k, "") for k in table.header]))
    return table


def _flat(value: Any, depth: int) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and depth < MAX_JSON_DEPTH:
        return "; ".join(s for s in (_flat(v, depth + 1) for v in value) if s)
    if isinstance(value, dict) and depth < MAX_JSON_DEPTH:
        return ", ".join(s for s in (_flat(v, depth + 1) for v in value.values()) if s)
    return str(value)
