"""CompactDex ("cdex", ART of Android 9-13): the tables the audit needs, read by the standard dex reader.

Layout (ART libdexfile/dex/compact_dex_file.h and dexlayout/compact_dex_writer.cc): the standard 0x70-byte dex
header with magic "cdex" + "001\\0", then six u32 (feature flags, debug info table position, its offset, debug info
base, owned data begin and end): 0x88 bytes. The id tables (string, type, proto, field, method ids, class defs)
follow the header and are addressed from the start of the file as in dex; every offset into data (string data,
class data, code, type lists ...) is relative to the data section at data_off (data_size bytes), which in a VDEX is
shared by all its dex files and lies after them. The checksum is ART's CalculateChecksum (Adler-32 of the header
with checksum, data_off and data_size zeroed, then of the rest of the main section, then of the data section,
combined as c = c * 31 ^ next).

Code items differ from dex (compact code items), but bansweep reads no code: parse_cdex rebases the string ids
onto a self-contained copy and hands it to formats/dex.py, so a cdex gives the same facts as its dex.
"""

from __future__ import annotations

import struct
import zlib

from bansweep.firmware.formats.dex import ENDIAN_TAG, Dex, parse_dex
from bansweep.firmware.limits import FormatError

MAGIC = b"cdex"
VERSIONS = (b"001\x00",)
HEADER_SIZE = 0x88
DEX_HEADER = 0x70
VIEW_MAGIC = b"dex\n039\x00"  # the standard view's magic (its version only selects the dex reader's checks)


def _u32(d: bytes | bytearray, off: int) -> int:
    return int(struct.unpack_from("<I", d, off)[0])


def check_header(d: bytes | bytearray, start: int = 0) -> tuple[int, int, int]:
    """(main section size, data offset, data size) of the cdex at `start`, checked against the buffer."""
    if len(d) - start < HEADER_SIZE:
        raise FormatError(f"CompactDex header truncated ({len(d) - start} bytes)", start)
    if d[start : start + 4] != MAGIC or bytes(d[start + 4 : start + 8]) not in VERSIONS:
        raise FormatError(f"not a supported CompactDex (magic {bytes(d[start : start + 8])!r})", start)
    file_size, header_size, endian = struct.unpack_from("<III", d, start + 0x20)
    data_size, data_off = struct.unpack_from("<II", d, start + 0x68)
    if endian != ENDIAN_TAG:
        raise FormatError(f"CompactDex endian tag 0x{endian:08x} not supported", start + 0x28)
    if header_size != HEADER_SIZE or file_size < HEADER_SIZE:
        raise FormatError(f"CompactDex header size {header_size} / file size {file_size} not valid", start + 0x20)
    if start + file_size > len(d):
        raise FormatError(f"CompactDex declares {file_size} bytes, only {len(d) - start} left", start + 0x20)
    if data_size and (data_off < file_size or start + data_off + data_size > len(d)):
        raise FormatError(f"CompactDex data section {data_off}+{data_size} lies outside the file", start + 0x68)
    return file_size, data_off, data_size


def checksum(main: bytes | bytearray, data: bytes | bytearray) -> int:
    """ART's CompactDexFile::CalculateChecksum over the main section and the data section."""
    header = bytearray(main[:HEADER_SIZE])
    header[8:12] = bytes(4)  # checksum
    header[0x68:0x70] = bytes(8)  # data_size, data_off
    value = zlib.adler32(header)
    value = ((value * 31) ^ zlib.adler32(main[HEADER_SIZE:])) & 0xFFFFFFFF
    return ((value * 31) ^ zlib.adler32(data)) & 0xFFFFFFFF


def extract(buf: bytes | bytearray | memoryview, start: int) -> bytes:
    """A self-contained cdex (main section, then its data section, data_off rewritten) from the cdex at `start` of a
    larger file (a VDEX, whose dex files share one data section after them)."""
    d = buf if isinstance(buf, bytes | bytearray) else bytes(buf)
    file_size, data_off, data_size = check_header(d, start)
    main = bytearray(d[start : start + file_size])
    main += bytes(-len(main) % 4)
    if data_size:
        struct.pack_into("<I", main, 0x6C, len(main))
    return bytes(main) + bytes(d[start + data_off : start + data_off + data_size])


def parse_cdex(d: bytes) -> Dex:
    """The tables of a self-contained cdex (as `extract` gives, or a standalone .cdex file)."""
    file_size, data_off, data_size = check_header(d)
    ok = _u32(d, 8) == checksum(d[:file_size], d[data_off : data_off + data_size])
    count, ids_off = _u32(d, 0x38), _u32(d, 0x3C)
    if count and (ids_off < HEADER_SIZE or ids_off + 4 * count > file_size):
        raise FormatError(f"string_ids: {count} items at 0x{ids_off:x} run past the main section", ids_off)
    view = bytearray(d[: max(file_size, data_off + data_size)])
    offsets = struct.unpack_from(f"<{count}I", view, ids_off)
    try:
        struct.pack_into(f"<{count}I", view, ids_off, *(data_off + o for o in offsets))
    except struct.error:
        raise FormatError("string_data offset beyond 4 GiB", ids_off) from None
    view[0:8] = VIEW_MAGIC
    struct.pack_into("<I", view, 0x20, len(view))
    struct.pack_into("<I", view, 8, zlib.adler32(memoryview(view)[12:]))
    dex = parse_dex(bytes(view))
    dex.version, dex.checksum_ok = 1, ok
    return dex


def parse_any(data: bytes | bytearray | memoryview) -> Dex:
    """A standard dex or a CompactDex, by its magic."""
    d = data if isinstance(data, bytes) else bytes(data)
    return parse_cdex(d) if d[:4] == b"cdex" else parse_dex(d)
