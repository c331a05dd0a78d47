"""Android `getprop` dumps (`[ro.product.manufacturer]: [HUAWEI]` per line): one Observation per file.

Every property becomes a prop.<key> fact; the build properties that name the maker, brand, model, serial, OS
release and build also fill manufacturer, brand, model, serial, os and firmware.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import Observation
from bansweep.fleet.sources.common import MAX_RECORDS, clip, fast_mac, first_lines, lines, too_long

FORMAT = "getprop"
PROP = re.compile(r"^\[(?P<key>[\w.\-:@]+)\]:\s*\[(?P<value>.*)$")
# first property present wins
FACTS = {
    "manufacturer": ("ro.product.manufacturer", "ro.product.vendor.manufacturer", "ro.product.system.manufacturer"),
    "brand": ("ro.product.brand", "ro.product.vendor.brand", "ro.product.system.brand"),
    "model": ("ro.product.model", "ro.product.vendor.model", "ro.product.system.model"),
    "firmware": ("ro.build.display.id", "ro.build.fingerprint", "ro.build.version.incremental"),
    "os": ("ro.build.version.release",),
}
SERIAL = ("ro.serialno", "ro.boot.serialno")
HOSTNAME = ("net.hostname",)
MAC = ("ro.boot.wifimacaddr", "persist.sys.wifi.mac", "ro.boot.btmacaddr")


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None:
        return False
    top = first_lines(text)
    hits = sum(1 for line in top if PROP.match(line))
    return hits >= 2 and hits >= len(top) * 0.8


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    props: dict[str, str] = {}
    first = 0
    key = ""
    open_value: list[str] | None = None  # a value spanning lines until its closing "]"
    open_line = 0
    for number, line in lines(path):
        error = too_long(path, number, line)
        if error:
            yield error
            continue
        if open_value is not None:
            if line.endswith("]"):
                open_value.append(line[:-1])
                props[key] = clip("\n".join(open_value))
                open_value = None
            else:
                open_value.append(line)
            continue
        text = line.strip()
        if not text:
            continue
        m = PROP.match(text)
        if not m:
            yield InputError(Location(file, line=number), f"not a getprop line: {text[:80]!r}")
            continue
        first = first or number
        key, value = m.group("key"), m.group("value")
        if value.endswith("]"):
            props[key] = clip(value[:-1])
        else:
            open_value, open_line = [value], number
        if len(props) > MAX_RECORDS:
            break
    if open_value is not None:
        yield InputError(Location(file, line=open_line), f"value of [{key}] is not closed with ']' (truncated file?)")
    if not props:
        yield InputError(Location(file), "no properties found")
        return
    facts: dict[str, str] = {}
    fields: dict[str, str] = {}
    for fact, keys in FACTS.items():
        found = next((k for k in keys if props.get(k)), None)
        if found:
            facts[fact] = props[found] if fact != "os" else f"Android {props[found]}"
            fields[fact] = f"[{found}]"
    for k, v in props.items():
        if v:
            facts[f"prop.{k}"] = v
            fields[f"prop.{k}"] = f"[{k}]"
    serial = next((props[k] for k in SERIAL if props.get(k)), None)
    host = next((props[k] for k in HOSTNAME if props.get(k)), None)
    mac = next((m for m in (fast_mac(props.get(k, "")) for k in MAC) if m), None)
    yield Observation(FORMAT, Location(file, line=first), mac, None, host, serial, facts, fields)
