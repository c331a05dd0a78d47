"""ISC dhcpd lease files (dhcpd.leases): one Observation per `lease ADDRESS { … }` block.

Read: hardware ethernet, client-hostname, the option 60 vendor class (`set vendor-class-identifier = "…";` or
`option vendor-class-identifier "…";`) and the uid (client identifier; its MAC is used when hardware ethernet is
missing). Other statements and blocks (failover, server-duid, lease6/ia-na) are passed over.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.model import NO_CONTEXT, NO_LINES, Observation
from bansweep.fleet.sources.common import (
    MAX_LINE,
    all_lines,
    clip,
    fast_mac,
    first_lines,
    line_location,
    mac_or_error,
    too_many_lines,
)

FORMAT = "dhcp-isc"
LEASE = re.compile(r"^lease\s+(?P<ip>[0-9.]+)\s*\{\s*$")
HARDWARE = re.compile(r"^hardware\s+(?P<type>[\w-]+)\s+(?P<mac>[^;\s]+)\s*;")
STRING_STATEMENT = re.compile(
    r'^(?:set\s+(?P<var>[\w.-]+)\s*=|option\s+(?P<opt>[\w.-]+)|(?P<kw>client-hostname|uid))\s*(?P<value>"(?:[^"\\]|\\.)*"|[^;]*);'
)
READ = ("hardware", "set", "option", "client-hostname", "uid")  # the statements _statement reads; others skipped
VENDOR_KEYS = {"vendor-class-identifier", "vendor-class", "vendor_class_identifier", "vendor-class-id", "vci"}
_OCTAL = re.compile(r"\\(?:([0-7]{1,3})|(.))")


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    if text is None:
        return False
    top = first_lines(text, 40)
    return any(LEASE.match(line) for line in top) or (
        any(line.startswith("# The format of this file is documented in the dhcpd.leases") for line in top)
    )


def unquote(value: str) -> str:
    """An ISC string literal ("…" with \\ooo octal and \\x escapes) as text; bare values are returned as is."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        body = value[1:-1]
        if "\\" not in body:
            return body
        return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)) if m.group(1) else m.group(2), body)
    return value


def uid_mac(value: str) -> str | None:
    """The MAC inside a client identifier of type 1 (Ethernet): '\\001L\\275…' or '01:4c:bd:…'."""
    text = unquote(value)
    if value.strip().startswith('"'):
        data = text.encode("latin-1", errors="replace")
    else:
        try:
            data = bytes(int(p, 16) for p in text.split(":"))
        except ValueError:
            return None
    if len(data) == 7 and data[0] == 1:
        return ":".join(f"{b:02X}" for b in data[1:])
    return None


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    file = str(path)
    block: dict[str, str] | None = None
    start = 0
    depth = 0
    every, more = all_lines(path)
    for number, line in enumerate(every, 1):  # one loop, no call per line: lease files run to millions of lines
        if len(line) > MAX_LINE:
            yield InputError(Location(file, line=number), f"line is {len(line)} characters long (limit {MAX_LINE})")
            continue
        text = line.strip()
        if not text or text[0] == "#":
            continue
        if block is None:
            m = LEASE.match(text)
            if m:
                block, start, depth = {"ip": m.group("ip")}, number, 1
            elif text[-1] == "{":
                depth += 1  # another block (failover peer, lease6, …): skipped as a whole
            elif text == "}":
                depth = max(0, depth - 1)
            elif depth == 0 and not _known_top(text):
                yield InputError(Location(file, line=number), f"not a dhcpd.leases statement: {text[:80]!r}")
            continue
        last = text[-1]
        if last == ";":  # most lines: statements, most of them not read
            if depth == 1 and text.startswith(READ):
                _statement(text, block)
        elif last == "{":
            depth += 1
        elif text == "}":
            depth -= 1
            if depth == 0:
                yield from _lease(block, file, start)
                block = None
        elif depth == 1:
            yield InputError(Location(file, line=number), f"not a lease statement (no ';'): {text[:80]!r}")
    if more:
        raise too_many_lines(path)
    if block is not None:
        yield InputError(Location(file, line=start), "lease block is not closed (truncated file?)")


def _known_top(text: str) -> bool:
    return text.endswith(";") or text.startswith(("server-duid", "authoring-byte-order", "db-time-format"))


def _statement(text: str, block: dict[str, str]) -> None:
    m = HARDWARE.match(text)
    if m:
        block["hardware"] = m.group("mac")
        return
    m = STRING_STATEMENT.match(text)
    if not m:
        return
    value = m.group("value")
    key = m.group("kw") or m.group("var") or m.group("opt") or ""
    if key == "client-hostname":
        block["hostname"] = clip(unquote(value))
    elif key == "uid":
        block["uid"] = value
    elif key.lower() in VENDOR_KEYS:
        block["vendor"] = clip(unquote(value))


def _lease(block: dict[str, str], file: str, start: int) -> Iterator[Observation | InputError]:
    where = line_location(file, start)
    mac = None
    fields = {}
    if "hardware" in block:
        hardware = block["hardware"]
        mac = fast_mac(hardware)
        if mac is None:  # its place made only for the error
            _, error = mac_or_error(hardware, Location(file, line=start, field="hardware ethernet"))
            if error:
                yield error
        fields["mac"] = "hardware ethernet"
    if mac is None and "uid" in block:
        mac = fast_mac(uid_mac(block["uid"]) or "")
        fields["mac"] = "uid"
    facts = {}
    if block.get("vendor"):
        facts["dhcp.vendor_class"] = block["vendor"]
        fields["dhcp.vendor_class"] = "vendor-class-identifier"
    if block.get("hostname"):
        facts["dhcp.hostname"] = block["hostname"]
        fields["dhcp.hostname"] = "client-hostname"
    yield Observation(
        FORMAT, where, mac, block["ip"], block.get("hostname") or None, None, facts, fields, NO_LINES, NO_CONTEXT
    )
