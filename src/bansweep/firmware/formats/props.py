"""Android system properties: build.prop / default.prop ("key=value") and `getprop` output ("[key]: [value]")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bansweep.firmware.limits import total

MAX_KEY = 256
MAX_VALUE = 8192
_GETPROP = re.compile(r"^\[([^\]]*)\]:\s*\[(.*)\]\s*$")


@dataclass(frozen=True, slots=True)
class Prop:
    key: str
    value: str
    line: int  # 1-based


class PropList(list[Prop]):
    """The properties in file order (a key set twice appears twice; Android keeps the last), with issues."""

    def __init__(self) -> None:
        super().__init__()
        self.issues: list[str] = []

    def as_dict(self) -> dict[str, str]:
        return {p.key: p.value for p in self}


@total
def parse_props(text: str) -> PropList:
    out = PropList()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := _GETPROP.match(line):
            key, value = m.group(1).strip(), m.group(2)
        elif "=" in line:
            key, _, value = line.partition("=")
            key, value = key.strip(), value.strip()
        elif line.startswith("import "):
            continue  # build.prop include directive, resolved by the caller's tree
        else:
            out.issues.append(f"line {number}: not a property: {line[:80]!r}")
            continue
        if not key or len(key) > MAX_KEY or any(c.isspace() for c in key):
            out.issues.append(f"line {number}: invalid property name {key[:80]!r}")
            continue
        if len(value) > MAX_VALUE:
            out.issues.append(f"line {number}: value of {key} longer than {MAX_VALUE} characters, cut")
            value = value[:MAX_VALUE]
        out.append(Prop(key, value, number))
    return out
