"""Android dynamic-partition images (super.img, "LP" metadata): each logical partition (system_a, vendor_a ...)
is copied out of its extents into the temp dir and opened as an image.

A small reader of our own: the format is a checksummed geometry block and one metadata header with four tables
(AOSP fs_mgr/liblp/include/liblp/metadata_format.h), and Debian ships no lpunpack.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from bansweep.findings import InputError
from bansweep.firmware.containers.item import CHUNK, ContainerContext, Item, Where, image_prefix
from bansweep.firmware.limits import FormatError

GEOMETRY_MAGIC = 0x616C4467
HEADER_MAGIC = 0x414C5030
RESERVED = 4096  # bytes before the first geometry block
GEOMETRY_SIZE = 4096
SECTOR = 512
GEOMETRY = struct.Struct("<II32sIII")
HEADER = struct.Struct("<IHHI32sI32s12I")
PARTITION = struct.Struct("<36sIIII")
EXTENT = struct.Struct("<QIQI")
TARGET_LINEAR, TARGET_ZERO = 0, 1
MAX_TABLE_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    extents: tuple[tuple[int, int, int], ...]  # (type, sectors, first sector on the device)


def _read(fh: BinaryIO, size: int, offset: int, length: int) -> bytes:
    if offset + length > size:
        raise FormatError("metadata lies past the end of the image (truncated?)", offset)
    fh.seek(offset)
    return fh.read(length)


def _geometry(fh: BinaryIO, size: int) -> tuple[int, int]:
    """(metadata_max_size, slot count) from the primary geometry block, or the backup if it is damaged."""
    for offset in (RESERVED, RESERVED + GEOMETRY_SIZE):
        raw = _read(fh, size, offset, GEOMETRY.size)
        magic, struct_size, checksum, max_size, slots, _block = GEOMETRY.unpack(raw)
        if magic != GEOMETRY_MAGIC or struct_size != GEOMETRY.size:
            continue
        if hashlib.sha256(raw[:8] + bytes(32) + raw[40:]).digest() != checksum:
            continue
        if not max_size or max_size % SECTOR or not 1 <= slots <= 8:
            raise FormatError(f"bad geometry (metadata size {max_size}, {slots} slots)", offset)
        return max_size, slots
    raise FormatError("no valid super-partition geometry (bad magic or checksum)", RESERVED)


def read_partitions(fh: BinaryIO, size: int) -> list[Partition]:
    """The logical partitions described by metadata slot 0 of a super image."""
    max_size, _slots = _geometry(fh, size)
    start = RESERVED + 2 * GEOMETRY_SIZE
    raw = _read(fh, size, start, HEADER.size)
    magic, major, _minor, header_size, header_sum, tables_size, tables_sum, *tables = HEADER.unpack(raw)
    if magic != HEADER_MAGIC or major != 10:
        raise FormatError(f"not LP metadata (magic 0x{magic:08x}, version {major})", start)
    if not HEADER.size <= header_size <= 1024 or header_size + tables_size > max_size:
        raise FormatError(f"bad metadata sizes (header {header_size}, tables {tables_size})", start)
    header = _read(fh, size, start, header_size)
    if hashlib.sha256(header[:12] + bytes(32) + header[44:]).digest() != header_sum:
        raise FormatError("metadata header checksum mismatch", start)
    body = _read(fh, size, start + header_size, tables_size)
    if hashlib.sha256(body).digest() != tables_sum:
        raise FormatError("metadata tables checksum mismatch", start + header_size)

    def table(index: int, layout: struct.Struct) -> list[tuple[Any, ...]]:
        offset, count, entry_size = tables[3 * index : 3 * index + 3]
        if entry_size < layout.size or count > MAX_TABLE_ENTRIES or offset + count * entry_size > tables_size:
            raise FormatError(f"metadata table {index} does not fit the tables area", start + header_size + offset)
        return [layout.unpack_from(body, offset + i * entry_size) for i in range(count)]

    extents = table(1, EXTENT)
    out = []
    for name_raw, _attrs, first, count, _group in table(0, PARTITION):
        name = name_raw.split(b"\0", 1)[0].decode("ascii", "replace")
        if first + count > len(extents):
            raise FormatError(f"partition {name!r} points past the extent table", start + header_size)
        parts = []
        for sectors, kind, target, source in extents[first : first + count]:
            if source != 0:
                raise FormatError(f"partition {name!r} spans another block device (retrofit); not supported")
            if kind not in (TARGET_LINEAR, TARGET_ZERO):
                raise FormatError(f"partition {name!r} has an extent of unknown type {kind}")
            parts.append((kind, sectors, target))
        out.append(Partition(name, tuple(parts)))
    return out


def open_super(path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        partitions = read_partitions(fh, size)
        for part in partitions:
            if not part.extents:
                continue  # an empty slot (e.g. the _b copies of a factory image) has nothing to read
            tmp = ctx.temp_path(".lp")
            try:
                _copy(fh, size, part, tmp, ctx)
            except FormatError as exc:
                yield InputError(where.location(part.name, exc.offset), f"super: {exc.message}")
                continue
            found = False
            for result in ctx.expand(tmp, where.child(part.name, image_prefix(part.name)), ctx, None):
                found = True
                yield result
            if not found:
                yield InputError(where.location(part.name), "logical partition holds no ext4 or EROFS file system")


def _copy(fh: BinaryIO, size: int, part: Partition, dst: Path, ctx: ContainerContext) -> None:
    with dst.open("wb") as out:
        for kind, sectors, target in part.extents:
            length = sectors * SECTOR
            if kind == TARGET_ZERO:
                out.seek(length, os.SEEK_CUR)
                continue
            if (target + sectors) * SECTOR > size:
                raise FormatError(f"extent of {part.name!r} lies past the end of the image", target * SECTOR)
            fh.seek(target * SECTOR)
            while length:
                block = fh.read(min(CHUNK, length))
                ctx.charge(len(block))
                out.write(block)
                length -= len(block)
        out.truncate()
