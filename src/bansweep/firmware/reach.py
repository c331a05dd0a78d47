"""Which class of an app refers to what: a walk over the bytecode of every method, recording per defined class the
methods it invokes, the fields it reads or writes, the types it names and the strings it loads.

The rules use it to tell whether the code that reads personal data sits in the same class or call chain as the code
that sends data out, and in which package (the app's own code or a bundled SDK). Pure and bounded: a dex whose
bytecode does not decode (or is over the budget) yields no index, and reachability is then "unknown".
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from bansweep.firmware.formats.dex import Dex

MAX_UNITS = 40_000_000  # 16-bit code units walked per app (about 80 MB of bytecode)
MAX_ULEB = 5

# Width in 16-bit code units of each opcode (Dalvik formats; 0xe3-0xf2 are ART's quickened forms in vdex).
WIDTH = [1] * 256
for _op, _w in (
    (0x02, 2), (0x03, 3), (0x05, 2), (0x06, 3), (0x08, 2), (0x09, 3), (0x13, 2), (0x14, 3), (0x15, 2), (0x16, 2),
    (0x17, 3), (0x18, 5), (0x19, 2), (0x1a, 2), (0x1b, 3), (0x1c, 2), (0x1f, 2), (0x20, 2), (0x22, 2), (0x23, 2),
    (0x24, 3), (0x25, 3), (0x26, 3), (0x29, 2), (0x2a, 3), (0x2b, 3), (0x2c, 3),
):  # fmt: skip
    WIDTH[_op] = _w
for _lo, _hi, _w in (
    (0x2D, 0x3D, 2), (0x44, 0x6D, 2), (0x6E, 0x72, 3), (0x74, 0x78, 3), (0x90, 0xAF, 2), (0xD0, 0xE2, 2),
    (0xE3, 0xF2, 2), (0xE9, 0xEA, 3), (0xFA, 0xFB, 4), (0xFC, 0xFD, 3), (0xFE, 0xFF, 2),
):  # fmt: skip
    for _op in range(_lo, _hi + 1):
        WIDTH[_op] = _w
# What the 16-bit index in the second code unit of an instruction names: 1 method, 2 field, 3 string, 4 type;
# 5 = const-string/jumbo (32-bit string index), 6 = nop or a payload pseudo-instruction; 0 = nothing.
KIND = [0] * 256
for _ops, _k in (
    (range(0x6E, 0x73), 1), (range(0x74, 0x79), 1), ((0xFA, 0xFB), 1), (range(0x52, 0x6E), 2), ((0x1A,), 3),
    ((0x1C, 0x1F, 0x20, 0x22, 0x23, 0x24, 0x25), 4), ((0x1B,), 5), ((0x00,), 6),
):  # fmt: skip
    for _op in _ops:
        KIND[_op] = _k
STEP = [2 * w for w in WIDTH]  # instruction sizes in bytes


class BadCode(Exception):
    """Bytecode that does not decode; the index is dropped."""


@dataclass(slots=True)
class ClassRefs:
    methods: set[tuple[str, str]] = field(default_factory=set)
    fields: set[tuple[str, str]] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    strings: set[str] = field(default_factory=set)


@dataclass(slots=True)
class CodeIndex:
    """Per defined class (outer class: inner and anonymous classes fold into it), what its code refers to."""

    classes: dict[str, ClassRefs] = field(default_factory=dict)
    units: int = 0
    complete: bool = True  # False when a dex could not be walked or the budget ran out

    def users(self, kind: str, value: object) -> set[str]:
        """Classes whose code refers to value (kind: method | field | class | string)."""
        if kind == "method":
            return {c for c, r in self.classes.items() if value in r.methods}
        if kind == "field":
            return {c for c, r in self.classes.items() if value in r.fields}
        if kind == "class":
            return {
                c
                for c, r in self.classes.items()
                if value in r.types or any(m[0] == value for m in r.methods) or any(f[0] == value for f in r.fields)
            }
        return {c for c, r in self.classes.items() if value in r.strings}

    def callers(self) -> dict[str, set[str]]:
        """Reverse call graph between the app's own classes: class -> classes that invoke its methods."""
        out: dict[str, set[str]] = {}
        for name, refs in self.classes.items():
            for target in {outer(cls) for cls, _ in refs.methods}:
                if target != name and target in self.classes:
                    out.setdefault(target, set()).add(name)
        return out


def outer(descriptor: str) -> str:
    """Lcom/foo/Bar$1; -> Lcom/foo/Bar;"""
    cut = descriptor.find("$")
    return descriptor[:cut] + ";" if cut > 0 else descriptor


def _uleb(d: bytes, p: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(MAX_ULEB):
        b = d[p + i]
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, p + i + 1
        shift += 7
    raise BadCode("ULEB128 over 5 bytes")


def _methods(d: bytes, off: int) -> Iterable[int]:
    """Code offsets of the methods in one class_data_item."""
    sf, p = _uleb(d, off)
    inf, p = _uleb(d, p)
    dm, p = _uleb(d, p)
    vm, p = _uleb(d, p)
    for _ in range(sf + inf):
        _, p = _uleb(d, p)
        _, p = _uleb(d, p)
    for _ in range(dm + vm):
        _, p = _uleb(d, p)
        _, p = _uleb(d, p)
        code, p = _uleb(d, p)
        if code:
            yield code


def index_dex(data: bytes, dex: Dex, into: CodeIndex) -> None:
    """Add one dex's classes to the index; on bytecode that does not decode the index is marked incomplete."""
    try:
        _index(data, dex, into)
    except (BadCode, IndexError, struct.error):
        into.complete = False


def _index(d: bytes, dex: Dex, into: CodeIndex) -> None:
    (n_cls, o_cls) = struct.unpack_from("<II", d, 0x60)
    m_cls, m_name, f_cls, f_name, types = (
        dex.method_classes,
        dex.method_names,
        dex.field_classes,
        dex.field_names,
        dex.types,
    )
    strings = dex.strings
    end = len(d)
    for i in range(n_cls):
        cls_idx, _, _, _, _, _, data_off, _ = struct.unpack_from("<8I", d, o_cls + 32 * i)
        if not data_off:
            continue
        name = outer(types[cls_idx])
        refs = into.classes.setdefault(name, ClassRefs())
        m_ids: set[int] = set()
        f_ids: set[int] = set()
        t_ids: set[int] = set()
        s_ids: set[int] = set()
        for code in _methods(d, data_off):
            if code + 16 > end:
                raise BadCode("code_item outside the dex")
            (size,) = struct.unpack_from("<I", d, code + 12)
            into.units += size
            if into.units > MAX_UNITS:
                into.complete = False
                return
            start = code + 16
            stop = start + 2 * size
            if stop > end:
                raise BadCode("instructions run past the end of the dex")
            _walk(d, start, stop, m_ids, f_ids, t_ids, s_ids)
        refs.methods.update(zip(map(m_cls.__getitem__, m_ids), map(m_name.__getitem__, m_ids), strict=True))
        refs.fields.update(zip(map(f_cls.__getitem__, f_ids), map(f_name.__getitem__, f_ids), strict=True))
        refs.types.update(map(types.__getitem__, t_ids))
        refs.strings.update(map(strings.__getitem__, s_ids))


def _walk(d: bytes, p: int, stop: int, m_ids: set[int], f_ids: set[int], t_ids: set[int], s_ids: set[int]) -> None:
    kind, step = KIND, STEP
    while p < stop:
        op = d[p]
        k = kind[op]
        if k:
            if k == 1:
                m_ids.add(d[p + 2] | d[p + 3] << 8)
            elif k == 2:
                f_ids.add(d[p + 2] | d[p + 3] << 8)
            elif k == 3:
                s_ids.add(d[p + 2] | d[p + 3] << 8)
            elif k == 4:
                t_ids.add(d[p + 2] | d[p + 3] << 8)
            elif k == 5:
                s_ids.add(struct.unpack_from("<I", d, p + 2)[0])
            elif d[p + 1]:  # a payload pseudo-instruction (switch tables, array data)
                p += _payload(d, p)
                continue
        p += step[op]


def _payload(d: bytes, p: int) -> int:
    """Size in bytes of the payload pseudo-instruction at p."""
    kind = d[p + 1]
    (count,) = struct.unpack_from("<H", d, p + 2)
    if kind == 1:
        return 2 * (4 + 2 * count)
    if kind == 2:
        return 2 * (2 + 4 * count)
    if kind == 3:
        (elem, size) = struct.unpack_from("<HI", d, p + 2)
        return 2 * (4 + (elem * size + 1) // 2)
    raise BadCode(f"unknown payload 0x{kind:02x}00")


def linked(index: CodeIndex, sources: set[str], sinks: set[str], depth: int = 2) -> str:
    """How code reading data (sources) and code sending it (sinks) are tied: "same-class", "call-chain" (one
    calls towards the other, or a common caller, within `depth` calls), or "apart"."""
    if sources & sinks:
        return "same-class"
    callers = index.callers()

    def up(start: set[str]) -> set[str]:
        seen = set(start)
        frontier = deque((c, 0) for c in start)
        while frontier:
            cls, hops = frontier.popleft()
            if hops == depth:
                continue
            for caller in callers.get(cls, ()):
                if caller not in seen:
                    seen.add(caller)
                    frontier.append((caller, hops + 1))
        return seen

    above_sources, above_sinks = up(sources), up(sinks)
    if above_sources & sinks or above_sinks & sources or above_sources & above_sinks:
        return "call-chain"
    return "apart"
