"""ELF facts for native binaries and libraries: needed libraries, imported/exported symbols, interpreter, strings.

Section headers are optional to the loader (packers strip them); DT_NEEDED is then read the way the dynamic
linker does, from the PT_DYNAMIC segment and PT_LOAD address mapping.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from bansweep.firmware.limits import FormatError, total

MAX_SECTIONS = 4096
MAX_SEGMENTS = 512
MAX_SYMBOLS = 200_000
MAX_DYNAMIC = 8192
MAX_STRINGS = 100_000
MAX_STRING_BYTES = 64 * 2**20
MIN_STRING = 6
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
SHT_DYNAMIC, SHT_DYNSYM = 6, 11
DT_NULL, DT_NEEDED, DT_STRTAB, DT_SYMTAB, DT_STRSZ = 0, 1, 5, 6, 10
ELF_TYPES = {1: "rel", 2: "exec", 3: "dyn", 4: "core"}
MACHINES = {3: "x86", 8: "mips", 40: "arm", 62: "x86_64", 183: "aarch64", 243: "riscv"}
_PRINTABLE = re.compile(rb"[\x20-\x7e\t]{%d,}" % MIN_STRING)


@dataclass(slots=True)
class Elf:
    bits: int
    machine: str
    elf_type: str
    interpreter: str | None
    needed: list[str]
    imported: list[str]
    exported: list[str]
    strings: list[str] = field(repr=False)  # printable runs of >= 6 characters from .rodata (or the whole file)
    issues: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Section:
    name: int
    type: int
    offset: int
    size: int
    link: int
    entsize: int


def _cstr(buf: bytes, off: int, limit: int) -> str:
    if off < 0 or off >= limit:
        return ""
    end = buf.find(b"\x00", off, limit)
    return buf[off : end if end >= 0 else limit].decode("utf-8", "replace")


@total
def parse_elf(data: bytes | bytearray | memoryview) -> Elf:
    buf = data if isinstance(data, bytes) else bytes(data)
    n = len(buf)
    if n < 52 or buf[:4] != b"\x7fELF":
        raise FormatError("not an ELF file", 0)
    cls, enc = buf[4], buf[5]
    if cls not in (1, 2) or enc not in (1, 2):
        raise FormatError(f"ELF class {cls} / data encoding {enc} not valid", 4)
    e = "<" if enc == 1 else ">"
    bits = 32 if cls == 1 else 64
    if bits == 32:
        etype, machine, _, _, phoff, shoff, _, _, phsz, phnum, shsz, shnum, shstrndx = struct.unpack_from(
            e + "HHIIIIIHHHHHH", buf, 16
        )
    else:
        if n < 64:
            raise FormatError("ELF64 header truncated", 0)
        etype, machine, _, _, phoff, shoff, _, _, phsz, phnum, shsz, shnum, shstrndx = struct.unpack_from(
            e + "HHIQQQIHHHHHH", buf, 16
        )
    issues: list[str] = []
    segments = _segments(buf, e, bits, phoff, phsz, phnum, issues)
    sections = _sections(buf, e, bits, shoff, shsz, shnum, issues)
    interp = next((_cstr(buf, off, min(n, off + size)) for t, off, _, size in segments if t == PT_INTERP), None)
    shstr = sections[shstrndx] if shstrndx < len(sections) else None

    def sec_name(s: _Section) -> str:
        return _cstr(buf, shstr.offset + s.name, min(n, shstr.offset + shstr.size)) if shstr else ""

    needed: list[str] = []
    imported: list[str] = []
    exported: list[str] = []
    dynsyms = sections
    dyn = next((s for s in sections if s.type == SHT_DYNAMIC), None)
    if dyn is not None and dyn.link < len(sections):
        strtab = sections[dyn.link]
        for tag, val in _dynamic(buf, e, bits, dyn.offset, dyn.size):
            if tag == DT_NEEDED:
                needed.append(_cstr(buf, strtab.offset + val, min(n, strtab.offset + strtab.size)))
    else:
        needed, dynsyms = _from_segments(buf, e, bits, segments, issues)
    for sym in (s for s in dynsyms if s.type == SHT_DYNSYM and s.link < len(dynsyms)):
        strtab = dynsyms[sym.link]
        for name_off, info, shndx in _symbols(buf, e, bits, sym, issues):
            name = _cstr(buf, strtab.offset + name_off, min(n, strtab.offset + strtab.size))
            if not name:
                continue
            if shndx == 0:
                imported.append(name)
            elif info >> 4 in (1, 2):  # global or weak binding
                exported.append(name)
    rodata = next((s for s in sections if sec_name(s) == ".rodata"), None)
    if rodata is not None:
        region = buf[rodata.offset : min(n, rodata.offset + rodata.size, rodata.offset + MAX_STRING_BYTES)]
    else:
        region = buf[:MAX_STRING_BYTES]
    strings = []
    for m in _PRINTABLE.finditer(region):
        strings.append(m.group().decode("ascii"))
        if len(strings) >= MAX_STRINGS:
            issues.append(f"more than {MAX_STRINGS} strings; the rest not listed")
            break
    return Elf(
        bits=bits,
        machine=MACHINES.get(machine, str(machine)),
        elf_type=ELF_TYPES.get(etype, str(etype)),
        interpreter=interp,
        needed=needed,
        imported=imported,
        exported=exported,
        strings=strings,
        issues=issues,
    )


def _segments(
    buf: bytes, e: str, bits: int, off: int, size: int, num: int, issues: list[str]
) -> list[tuple[int, int, int, int]]:
    """(type, file offset, virtual address, file size) of each program header."""
    if not num:
        return []
    want = 32 if bits == 32 else 56
    if size < want or num > MAX_SEGMENTS or off + size * num > len(buf):
        issues.append(f"program headers ({num} x {size} at 0x{off:x}) do not fit; ignored")
        return []
    out = []
    for i in range(num):
        p = off + i * size
        if bits == 32:
            t, o, va, _, fsz = struct.unpack_from(e + "IIIII", buf, p)
        else:
            t, _, o, va, _, fsz = struct.unpack_from(e + "IIQQQQ", buf, p)
        out.append((t, o, va, fsz))
    return out


def _sections(buf: bytes, e: str, bits: int, off: int, size: int, num: int, issues: list[str]) -> list[_Section]:
    if not num or not off:
        return []
    want = 40 if bits == 32 else 64
    if size < want or num > MAX_SECTIONS or off + size * num > len(buf):
        issues.append(f"section headers ({num} x {size} at 0x{off:x}) do not fit; ignored")
        return []
    out = []
    for i in range(num):
        p = off + i * size
        if bits == 32:
            name, t, _, _, o, sz, link, _, _, ent = struct.unpack_from(e + "10I", buf, p)
        else:
            name, t, _, _, o, sz, link, _, _, ent = struct.unpack_from(e + "IIQQQQIIQQ", buf, p)
        if t != 8 and o + sz > len(buf):  # SHT_NOBITS takes no file space
            issues.append(f"section {i} (0x{o:x} + {sz}) runs past the end of the file; ignored")
            o, sz = 0, 0
        out.append(_Section(name, t, o, sz, link, ent))
    return out


def _dynamic(buf: bytes, e: str, bits: int, off: int, size: int) -> list[tuple[int, int]]:
    ent = 8 if bits == 32 else 16
    fmt = e + ("iI" if bits == 32 else "qQ")
    out = []
    for i in range(min(size // ent, MAX_DYNAMIC)):
        if off + (i + 1) * ent > len(buf):
            break
        tag, val = struct.unpack_from(fmt, buf, off + i * ent)
        if tag == DT_NULL:
            break
        out.append((tag, val))
    return out


def _from_segments(
    buf: bytes, e: str, bits: int, segments: list[tuple[int, int, int, int]], issues: list[str]
) -> tuple[list[str], list[_Section]]:
    """DT_NEEDED names and (dynstr, dynsym) as the dynamic linker finds them, for files without section headers.

    The symbol count is not recorded in the dynamic section; like other tools, take the table to end where the
    string table starts when it follows the symbol table.
    """
    dyn = next((s for s in segments if s[0] == PT_DYNAMIC), None)
    if dyn is None:
        return [], []
    entries = _dynamic(buf, e, bits, dyn[1], dyn[3])
    tags = dict(reversed(entries))
    strtab, symtab, strsz = tags.get(DT_STRTAB), tags.get(DT_SYMTAB), tags.get(DT_STRSZ, 0)

    def file_offset(addr: int) -> int | None:
        return next((o + addr - va for t, o, va, fsz in segments if t == PT_LOAD and va <= addr < va + fsz), None)

    str_off = file_offset(strtab) if strtab is not None else None
    if str_off is None:
        issues.append("DT_STRTAB address is in no loaded segment")
        return [], []
    limit = min(len(buf), str_off + strsz) if strsz else len(buf)
    needed = [_cstr(buf, str_off + v, limit) for t, v in entries if t == DT_NEEDED]
    synthetic = [_Section(0, 3, str_off, limit - str_off, 0, 0)]
    sym_off = file_offset(symtab) if symtab is not None else None
    if symtab is not None and sym_off is not None and strtab is not None and strtab > symtab:
        size = min(strtab - symtab, len(buf) - sym_off)
        synthetic.append(_Section(0, SHT_DYNSYM, sym_off, size, 0, 0))
    return needed, synthetic


def _symbols(buf: bytes, e: str, bits: int, s: _Section, issues: list[str]) -> list[tuple[int, int, int]]:
    ent = 16 if bits == 32 else 24
    count = s.size // ent
    if count > MAX_SYMBOLS:
        issues.append(f"{count} dynamic symbols; only the first {MAX_SYMBOLS} read")
        count = MAX_SYMBOLS
    out = []
    for i in range(count):
        p = s.offset + i * ent
        if bits == 32:
            name, _, _, info, _, shndx = struct.unpack_from(e + "IIIBBH", buf, p)
        else:
            name, info, _, shndx, _, _ = struct.unpack_from(e + "IBBHQQ", buf, p)
        out.append((name, info, shndx))
    return out
