"""Compiled resource table (resources.arsc): resolve a manifest reference such as android:networkSecurityConfig
("@0x7f0b0000") to its values, e.g. the file "res/xml/network_security_config.xml" or a label string.

Only simple (non-bag) entries are read; every chunk, count and offset is checked against its chunk.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from bansweep.firmware.formats.axml import StringPool, Value, typed_value
from bansweep.firmware.limits import FormatError, total

TABLE, STRING_POOL, PACKAGE, TYPE = 0x0002, 0x0001, 0x0200, 0x0201
FLAG_SPARSE, FLAG_OFFSET16 = 0x01, 0x02
ENTRY_COMPLEX, ENTRY_COMPACT = 0x0001, 0x0008
NO_ENTRY = 0xFFFFFFFF
MAX_REFERENCE_DEPTH = 8
MAX_CHUNKS = 100_000


@dataclass(slots=True)
class _Type:
    data: bytes
    pos: int
    entries_start: int
    count: int
    flags: int
    offsets_at: int


@dataclass(slots=True)
class Resources:
    strings: StringPool | None
    types: dict[tuple[int, int], list[_Type]] = field(default_factory=dict)  # (package id, type id) -> configs
    issues: list[str] = field(default_factory=list)

    def values(self, res_id: int) -> list[Value]:
        """The values of one resource in every configuration (references followed), without duplicates."""
        out: list[Value] = []
        self._collect(res_id, out, 0, set())
        return list(dict.fromkeys(out))

    def resolve(self, ref: Value) -> list[str]:
        """Text values of a manifest reference ("@0x7f0b0000"); anything else is returned as it is."""
        if isinstance(ref, str) and ref.startswith("@0x"):
            try:
                res_id = int(ref[1:], 16)
            except ValueError:
                return [ref]
            return [str(v) for v in self.values(res_id) if v is not None]
        return [] if ref is None else [str(ref)]

    def _collect(self, res_id: int, out: list[Value], depth: int, seen: set[int]) -> None:
        if res_id in seen:
            return  # each resource is read once: reference loops and fan-out stay bounded
        seen.add(res_id)
        if depth > MAX_REFERENCE_DEPTH:
            self.issues.append(f"reference chain from 0x{res_id:08x} deeper than {MAX_REFERENCE_DEPTH}")
            return
        for t in self.types.get((res_id >> 24, (res_id >> 16) & 0xFF), []):
            found = _entry(t, res_id & 0xFFFF)
            if found is None:
                continue
            dtype, data = found
            if dtype == 0x01:
                self._collect(data, out, depth + 1, seen)
            elif self.strings is not None:
                out.append(typed_value(self.strings, NO_ENTRY, dtype, data))


def _entry(t: _Type, index: int) -> tuple[int, int] | None:
    d = t.data
    if t.flags & FLAG_SPARSE:
        for i in range(t.count):  # sorted (index, offset/4) pairs
            at = t.offsets_at + 4 * i
            idx, off4 = struct.unpack_from("<HH", d, at)
            if idx == index:
                offset = off4 * 4
                break
        else:
            return None
    else:
        if index >= t.count:
            return None
        if t.flags & FLAG_OFFSET16:
            (off16,) = struct.unpack_from("<H", d, t.offsets_at + 2 * index)
            if off16 == 0xFFFF:
                return None
            offset = off16 * 4
        else:
            (offset,) = struct.unpack_from("<I", d, t.offsets_at + 4 * index)
            if offset == NO_ENTRY:
                return None
    at = t.pos + t.entries_start + offset
    if at + 8 > len(d):
        return None
    size, flags = struct.unpack_from("<HH", d, at)
    if flags & ENTRY_COMPACT:
        (data,) = struct.unpack_from("<I", d, at + 4)
        return flags >> 8, data
    if flags & ENTRY_COMPLEX or at + size + 8 > len(d):
        return None
    _vsize, _res0, dtype, data = struct.unpack_from("<HBBI", d, at + size)
    return dtype, data


@total
def parse_arsc(data: bytes) -> Resources:
    d = bytes(data)
    if len(d) < 12:
        raise FormatError("resource table shorter than its header", 0)
    ctype, hsize, size = struct.unpack_from("<HHI", d, 0)
    if ctype != TABLE or hsize < 12:
        raise FormatError(f"not a resource table (chunk type 0x{ctype:04x})", 0)
    res = Resources(strings=None)
    end = min(size, len(d))
    pos = hsize
    chunks = 0
    while pos + 8 <= end:
        ctype, hsize, size = struct.unpack_from("<HHI", d, pos)
        if size < 8 or hsize < 8 or hsize > size or pos + size > end:
            raise FormatError(f"resource table: bad chunk (type 0x{ctype:04x}, size {size})", pos)
        if ctype == STRING_POOL and res.strings is None:
            if hsize < 28:
                raise FormatError("resource table: string pool header too small", pos)
            res.strings = StringPool(d, pos, hsize, size, res.issues)
        elif ctype == PACKAGE:
            _package(d, pos, hsize, size, res)
        chunks += 1
        if chunks > MAX_CHUNKS:
            raise FormatError(f"resource table: more than {MAX_CHUNKS} chunks", pos)
        pos += size
    return res


def _package(d: bytes, start: int, hsize: int, size: int, res: Resources) -> None:
    if hsize < 12:
        raise FormatError("resource package header too small", start)
    (pkg_id,) = struct.unpack_from("<I", d, start + 8)
    pos, end = start + hsize, start + size
    while pos + 8 <= end:
        ctype, chsize, csize = struct.unpack_from("<HHI", d, pos)
        if csize < 8 or chsize < 8 or chsize > csize or pos + csize > end:
            raise FormatError(f"resource package: bad chunk (type 0x{ctype:04x}, size {csize})", pos)
        if ctype == TYPE:
            if chsize < 20:
                raise FormatError("resource type chunk header too small", pos)
            type_id, flags, _, count, entries_start = struct.unpack_from("<BBHII", d, pos + 8)
            width = 2 if flags & FLAG_OFFSET16 and not flags & FLAG_SPARSE else 4
            if pos + chsize + count * width > pos + csize or entries_start > csize:
                raise FormatError(f"resource type {type_id}: {count} entries do not fit", pos)
            res.types.setdefault((pkg_id & 0xFF, type_id), []).append(
                _Type(d, pos, entries_start, count, flags, pos + chsize)
            )
        pos += csize
