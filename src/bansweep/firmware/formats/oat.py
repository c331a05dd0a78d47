"""Dex files carved out of pre-optimised code: ART OAT (.odex ELF), VDEX, and Dalvik ODEX.

Odexed firmware ships APKs without classes.dex; the original dex bytes sit inside these files. Rather than follow
each OAT/VDEX layout version, the carver finds every standard dex header, checks that its declared size fits and
its header is sane, and slices it out. A wrong Adler-32 (e.g. dex "quickened" in Android 8-9 VDEX files, whose
tables are intact) is kept with an issue. CompactDex ("cdex", Android 9-13 VDEX) is sliced out with its shared data
section (formats/cdex.py); one that cannot be is reported.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field

from bansweep.firmware.formats import cdex
from bansweep.firmware.limits import FormatError, total

DEX_MAGIC = re.compile(rb"dex\n0(?:3[5-9]|4[01])\x00")
CDEX_MAGIC = re.compile(rb"cdex0\d\d\x00")
DEY_MAGIC = b"dey\n036\x00"
HEADER_SIZE = 0x70
ENDIAN_TAG = 0x12345678
MAX_DEX = 256


@dataclass(slots=True)
class CarveResult:
    dex: list[tuple[int, bytes]] = field(default_factory=list)  # (offset in the input, dex bytes)
    compact: list[int] = field(default_factory=list)  # offsets of CompactDex headers that could not be read
    issues: list[str] = field(default_factory=list)


@total
def carve(data: bytes | bytearray | memoryview) -> CarveResult:
    buf = data if isinstance(data, bytes) else bytes(data)
    out = CarveResult()
    if buf.startswith(DEY_MAGIC):
        if len(buf) < 16:
            raise FormatError("Dalvik ODEX header truncated", 0)
        off, length = struct.unpack_from("<II", buf, 8)
        if off + length > len(buf) or buf[off : off + 4] != b"dex\n":
            raise FormatError(f"Dalvik ODEX: dex at 0x{off:x} (+{length}) is not in the file", 8)
    covered_until = 0
    for m in DEX_MAGIC.finditer(buf):
        start = m.start()
        if start < covered_until:
            continue  # the magic inside an already carved dex (e.g. as a string)
        if len(buf) - start < HEADER_SIZE:
            out.issues.append(f"dex header at 0x{start:x} truncated")
            continue
        (checksum,) = struct.unpack_from("<I", buf, start + 8)
        size, header_size, endian = struct.unpack_from("<III", buf, start + 0x20)
        if endian != ENDIAN_TAG or header_size < HEADER_SIZE or size < HEADER_SIZE:
            continue  # the bytes merely look like a magic
        if start + size > len(buf):
            out.issues.append(f"dex at 0x{start:x} declares {size} bytes, only {len(buf) - start} left")
            continue
        if zlib.adler32(memoryview(buf)[start + 12 : start + size]) != checksum:
            out.issues.append(f"dex at 0x{start:x}: Adler-32 mismatch (quickened or corrupt)")
        out.dex.append((start, buf[start : start + size]))
        covered_until = start + size
        if len(out.dex) >= MAX_DEX:
            out.issues.append(f"more than {MAX_DEX} dex files; the rest not carved")
            break
    for m in CDEX_MAGIC.finditer(buf):
        if len(out.dex) >= MAX_DEX:
            out.issues.append(f"more than {MAX_DEX} dex files; the rest not carved")
            break
        try:
            out.dex.append((m.start(), cdex.extract(buf, m.start())))
        except FormatError as exc:
            out.compact.append(m.start())
            out.issues.append(f"CompactDex at 0x{m.start():x} not read: {exc.message}")
    return out


@total
def carve_dex(data: bytes | bytearray | memoryview) -> list[tuple[int, bytes]]:
    return carve(data).dex
