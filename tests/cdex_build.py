"""A CompactDex crafted from a real dex after ART's layout (compact_dex_file.h, compact_dex_writer.cc), since no
tool on Debian writes one (dexlayout is not packaged): the id tables move behind the 0x88-byte cdex header, the
data section follows the main section, and every offset into data becomes relative to it. Class data is dropped
(class_data_off 0): cdex code items have their own layout, and bansweep reads method and field references from the
id tables, not code."""

from __future__ import annotations

import struct

from bansweep.firmware.formats import cdex

SHIFT = cdex.HEADER_SIZE - cdex.DEX_HEADER


def to_cdex(dex: bytes) -> bytes:
    """The cdex (magic cdex001) holding the same tables as `dex`."""
    u32 = lambda off: struct.unpack_from("<I", dex, off)[0]  # noqa: E731
    data_size, data_off = u32(0x68), u32(0x6C)
    main = bytearray(cdex.HEADER_SIZE) + bytearray(dex[cdex.DEX_HEADER : data_off])
    main[: cdex.DEX_HEADER] = dex[: cdex.DEX_HEADER]
    data = dex[data_off : data_off + data_size]

    def rebase(at: int) -> None:
        value = struct.unpack_from("<I", main, at)[0]
        if value:
            struct.pack_into("<I", main, at, value - data_off)

    string_count, string_off = u32(0x38), u32(0x3C)
    for i in range(string_count):
        rebase(string_off + SHIFT + 4 * i)
    proto_count, proto_off = u32(0x48), u32(0x4C)
    for i in range(proto_count):
        rebase(proto_off + SHIFT + 12 * i + 8)
    class_count, class_off = u32(0x60), u32(0x64)
    for i in range(class_count):
        at = class_off + SHIFT + 32 * i
        for field in (12, 20, 28):
            rebase(at + field)
        struct.pack_into("<I", main, at + 24, 0)  # no class data (cdex code items differ)
    for at in range(0x3C, 0x68, 8):  # the id table offsets move behind the larger header
        if struct.unpack_from("<I", main, at)[0]:
            struct.pack_into("<I", main, at, struct.unpack_from("<I", main, at)[0] + SHIFT)
    rebase(0x34)  # map_off
    main[0:8] = b"cdex001\x00"
    struct.pack_into("<III", main, 0x20, len(main), cdex.HEADER_SIZE, 0x12345678)
    struct.pack_into("<II", main, 0x68, data_size, len(main))
    struct.pack_into("<6I", main, 0x70, 0, 0, 0, 0, 0, data_size)
    struct.pack_into("<I", main, 8, cdex.checksum(main, data))
    return bytes(main) + data
