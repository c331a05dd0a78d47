"""DEX (Dalvik executable) tables: strings, types, defined classes, method and field references.

Written here rather than using androguard's DEX because that parse costs seconds and hundreds of MB per app; the
tables needed for the audit are read with bulk unpacking (array slices; all strings with one split and one
decode, checked against every string offset), which parses a 10 MB dex in tens of milliseconds. Versions 035-041;
CompactDex through formats/cdex.py.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, islice
from typing import overload

from bansweep.firmware.limits import FormatError, total

HEADER_SIZE = 0x70
ENDIAN_TAG = 0x12345678
VERSIONS = range(35, 42)
MAX_ULEB = 5


@dataclass(slots=True)
class Dex:
    version: int
    strings: Strings  # list-like (len, index, slice, iterate); decoded lazily
    types: list[str]  # descriptors, e.g. "Lcom/foo/Bar;"
    defined_classes: list[str]  # descriptors of the classes this dex defines
    method_classes: list[str]  # per method_id: class descriptor
    method_names: list[str]  # per method_id: method name
    field_classes: list[str]
    field_names: list[str]
    methods: Members  # `(class descriptor, method name) in dex.methods`
    fields: Members
    superclasses: dict[str, str] = field(default_factory=dict)  # defined class -> superclass descriptor
    checksum_ok: bool = True
    size: int = 0

    @property
    def method_refs(self) -> list[tuple[str, str]]:
        """(class descriptor, method name) per method_id."""
        return list(zip(self.method_classes, self.method_names, strict=True))

    @property
    def field_refs(self) -> list[tuple[str, str]]:
        """(class descriptor, field name) per field_id."""
        return list(zip(self.field_classes, self.field_names, strict=True))


class Members:
    """(class descriptor, member name) lookups in method_ids or field_ids without building every pair.

    The format sorts the ids by class and lists each type once, so a class's members are one slice found by
    bisection; tables that are not like that (tampered) get the set of every pair instead.
    """

    __slots__ = ("_types", "_classes", "_names", "_pairs")

    def __init__(self, types: dict[str, int] | None, classes: array, class_names: list[str], names: list[str]):
        self._types, self._classes, self._names = types or {}, classes, names
        usual = types is not None and list(classes) == sorted(classes)
        self._pairs = None if usual else set(zip(class_names, names, strict=True))

    def __contains__(self, pair: object) -> bool:
        if self._pairs is not None:
            return pair in self._pairs
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        cls, name = pair
        t = self._types.get(cls)
        if t is None:
            return False
        lo = bisect_left(self._classes, t)
        return name in self._names[lo : bisect_right(self._classes, t, lo)]


def _type_index(types: list[str]) -> dict[str, int] | None:
    """Type descriptor -> type index, None when a descriptor is listed twice (not a valid dex)."""
    index = dict(zip(types, range(len(types)), strict=True))
    return index if len(index) == len(types) else None


def _u32(data: bytes, off: int, count: int) -> array:
    a = array("I")
    a.frombytes(data[off : off + 4 * count])
    if sys.byteorder == "big":
        a.byteswap()
    return a


def _u16(data: bytes, off: int, count: int) -> array:
    a = array("H")
    a.frombytes(data[off : off + 2 * count])
    if sys.byteorder == "big":
        a.byteswap()
    return a


def mutf8(raw: bytes) -> str:
    """Modified UTF-8: NUL as C0 80, supplementary characters as two encoded surrogates."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raw = raw.replace(b"\xc0\x80", b"\x00")
        try:
            text = raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:  # not even modified UTF-8: keep what is readable
            return raw.decode("utf-8", "replace")
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class Strings(Sequence[str]):
    """The string table: single strings decoded on access, tables of indices and the whole table in bulk."""

    def __init__(self, d: bytes, offsets: array, end: int):
        self._d, self._offsets, self._end = d, offsets, end
        self._cache: dict[int, str] = {}
        self._all: list[str] | None = None
        self._items = _layout(d, offsets, end)
        if self._items is not None:  # offsets checked: in order after the first (the empty string), inside the file
            ends = (offsets[0], offsets[-1]) if len(offsets) else (0, 0)
            self.low, self.high = min(ends), max(ends)
        else:
            self.low, self.high = min(offsets), max(offsets)
            if self.high >= end:
                raise FormatError(f"string_data offset 0x{self.high:x} outside the file", 0x3C)

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if self._all is not None or isinstance(i, slice):
            return self.all()[i]
        s = self._cache.get(i)
        if s is None:
            s = self._cache[i] = _string_at(self._d, self._offsets[i], self._end)
        return s

    def __iter__(self) -> Iterator[str]:
        return iter(self.all())

    def lookup(self, idx: array, what: str) -> list[str]:
        """Strings for a table of indices (decoding each distinct index once)."""
        try:
            if self._all is not None:
                return list(map(self._all.__getitem__, idx))
            items = self._items
            distinct = set(idx)
            if items is None:
                table = {i: self[i] for i in distinct}
            elif items and isinstance(items[0], str):
                table = {i: items[i][1:] for i in distinct}
            else:
                table = {i: _decode_item(items[i]) for i in distinct}  # type: ignore[arg-type]
        except IndexError:
            raise FormatError(f"{what}: string index {max(idx)} out of range ({len(self)} strings)") from None
        return list(map(table.__getitem__, idx))

    def all(self) -> list[str]:
        if self._all is None:
            items = self._items
            if items is None:
                self._all = [_string_at(self._d, off, self._end) for off in self._offsets]
            elif items and isinstance(items[0], str):
                self._all = [t[1:] for t in items]  # type: ignore[index]
            else:
                self._all = [_decode_item(t) for t in items]  # type: ignore[arg-type]
        return self._all


def _layout(d: bytes, offsets: array, end: int) -> list[str] | list[bytes] | None:
    """Every string item (length prefix and MUTF-8 bytes) split out of the string data with one split, when the
    items lie in order, back to back (what dx/d8/smali write): checked against every offset. All-ASCII string data
    comes back decoded. None when the layout is anything else (each string is then read at its own offset)."""
    offs = offsets
    empty = bool(len(offs)) and offs[0] < end and d[offs[0]] == 0  # the empty string, sorted first: two NULs
    if empty:
        if d[offs[0] + 1 : offs[0] + 2] != b"\x00":
            return None
        offs = offs[1:]
    if not len(offs):
        return ["\x00"] if empty else []
    first = offs[0]
    last = d.find(b"\x00", offs[-1], end)
    if last < 0:
        return None
    region = d[first:last]
    parts: list[str] | list[bytes]
    if region.isascii():
        parts = region.decode("ascii").split("\x00")
        blank: str | bytes = ""
    else:
        parts = region.split(b"\x00")
        blank = b""
    if len(parts) != len(offs) or blank in parts:  # an empty part: an item without its length prefix
        return None
    starts = array("I", islice(accumulate(map((1).__add__, map(len, parts)), initial=first), len(offs)))
    if starts != offs:
        return None
    if empty:
        parts.insert(0, "\x00" if blank == "" else b"\x00")  # type: ignore[arg-type]
    return parts


def _decode_item(t: bytes) -> str:
    return mutf8(t[1:] if t[0] < 0x80 else _skip_uleb(t))


def _skip_uleb(t: bytes) -> bytes:
    i = 0
    while i < len(t) - 1 and i < MAX_ULEB - 1 and t[i] & 0x80:
        i += 1
    return t[i + 1 :]


def _string_at(d: bytes, off: int, end: int) -> str:
    p = off
    while p < end and p - off < MAX_ULEB and d[p] & 0x80:
        p += 1
    p += 1
    if p > end:
        raise FormatError("string_data runs past the end of the file", off)
    stop = d.find(b"\x00", p, end)
    if stop < 0:
        raise FormatError("string_data without a terminator", off)
    return mutf8(d[p:stop])


def _table(d: bytes, hdr: tuple[int, ...], idx: int, item: int, end: int, what: str) -> tuple[int, int]:
    count, off = hdr[idx], hdr[idx + 1]
    if count and (off < HEADER_SIZE or off + count * item > end):
        raise FormatError(f"{what}: {count} items at 0x{off:x} run past the end of the dex ({end} bytes)", off)
    return count, off


def _lookup(table: list[str], idx: array | list[int], what: str) -> list[str]:
    try:
        return list(map(table.__getitem__, idx))
    except IndexError:
        raise FormatError(f"{what}: index {max(idx)} out of range ({len(table)} entries)") from None


@total
def parse_dex(data: bytes | bytearray | memoryview) -> Dex:
    """Parse one dex file (multidex: call once per classesN.dex)."""
    d = data if isinstance(data, bytes) else bytes(data)
    if len(d) < HEADER_SIZE:
        raise FormatError(f"dex: {len(d)} bytes, shorter than the 112-byte header", 0)
    magic = bytes(d[0:8])
    if magic[:4] != b"dex\n" or magic[7] != 0 or not magic[4:7].isdigit():
        raise FormatError(f"not a dex file (magic {magic!r})", 0)
    version = int(magic[4:7])
    if version not in VERSIONS:
        raise FormatError(f"dex version {version:03d} not supported (035-041)", 4)
    (checksum,) = struct.unpack_from("<I", d, 8)
    hdr = struct.unpack_from("<20I", d, 0x20)
    file_size, header_size, endian = hdr[0], hdr[1], hdr[2]
    if endian != ENDIAN_TAG:
        raise FormatError(f"dex endian tag 0x{endian:08x} not supported", 0x28)
    if header_size < HEADER_SIZE:
        raise FormatError(f"dex header_size {header_size} too small", 0x24)
    if file_size > len(d):
        raise FormatError(f"dex truncated: header says {file_size} bytes, have {len(d)}", 0x20)
    end = file_size if file_size >= HEADER_SIZE else len(d)
    ok = zlib.adler32(d[12:end]) == checksum
    n_str, o_str = _table(d, hdr, 6, 4, end, "string_ids")
    n_typ, o_typ = _table(d, hdr, 8, 4, end, "type_ids")
    _table(d, hdr, 10, 12, end, "proto_ids")
    n_fld, o_fld = _table(d, hdr, 12, 8, end, "field_ids")
    n_met, o_met = _table(d, hdr, 14, 8, end, "method_ids")
    n_cls, o_cls = _table(d, hdr, 16, 32, end, "class_defs")
    strings = Strings(d, _u32(d, o_str, n_str), end)
    types = strings.lookup(_u32(d, o_typ, n_typ), "type_ids")
    f_idx, m_idx = _u16(d, o_fld, 4 * n_fld)[0::4], _u16(d, o_met, 4 * n_met)[0::4]
    f_cls = _lookup(types, f_idx, "field_ids class")
    f_name = strings.lookup(_u32(d, o_fld, 2 * n_fld)[1::2], "field_ids name")
    m_cls = _lookup(types, m_idx, "method_ids class")
    m_name = strings.lookup(_u32(d, o_met, 2 * n_met)[1::2], "method_ids name")
    index = _type_index(types)
    cdefs = _u32(d, o_cls, 8 * n_cls)
    defined = _lookup(types, cdefs[0::8], "class_defs class")
    supers_idx = cdefs[2::8]
    supers = {c: types[s] for c, s in zip(defined, supers_idx, strict=True) if s < len(types)}
    return Dex(
        version=version,
        strings=strings,
        types=types,
        defined_classes=defined,
        method_classes=m_cls,
        method_names=m_name,
        field_classes=f_cls,
        field_names=f_name,
        methods=Members(index, m_idx, m_cls, m_name),
        fields=Members(index, f_idx, f_cls, f_name),
        superclasses=supers,
        checksum_ok=ok,
        size=end,
    )
