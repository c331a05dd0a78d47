"""Android sparse images (libsparse format) turned back into raw images, streaming and bounded.

A small reader of our own: the format is four chunk types behind a 28-byte header, and reading it here lets us
refuse a bad image with the exact offset instead of running simg2img on untrusted input.

DONT_CARE and zero FILL chunks become holes (no disk, no time); the raw size is capped by max_total_bytes. A FILL
chunk with another pattern must be written out, so the bytes it writes are capped at max_ratio times the sparse
file's size (at least FILL_FLOOR): a 44-byte image must not write gigabytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bansweep.findings import InputError
from bansweep.firmware.containers.item import CHUNK, ContainerContext, Item, Where
from bansweep.firmware.limits import FormatError, Limits

MAGIC = 0xED26FF3A
HEADER = struct.Struct("<IHHHHIIII")
CHUNK_HEADER = struct.Struct("<HHII")
RAW, FILL, DONT_CARE, CRC32 = 0xCAC1, 0xCAC2, 0xCAC3, 0xCAC4
FILL_FLOOR = 16 * 2**20


@dataclass(frozen=True, slots=True)
class SparseHeader:
    block_size: int
    total_blocks: int
    total_chunks: int
    header_size: int
    chunk_header_size: int


@dataclass(frozen=True, slots=True)
class Chunk:
    kind: int
    blocks: int  # output blocks covered
    offset: int  # offset of the chunk's data in the sparse file
    data_size: int
    fill: bytes = b""  # FILL pattern (4 bytes)


def read_header(fh: BinaryIO) -> SparseHeader:
    raw = fh.read(HEADER.size)
    if len(raw) < HEADER.size:
        raise FormatError("sparse header truncated", 0)
    magic, major, _minor, hdr_sz, chunk_hdr_sz, blk_sz, total_blks, total_chunks, _crc = HEADER.unpack(raw)
    if magic != MAGIC:
        raise FormatError("not an Android sparse image (bad magic)", 0)
    if major != 1:
        raise FormatError(f"unsupported sparse major version {major}", 4)
    if hdr_sz < HEADER.size or chunk_hdr_sz < CHUNK_HEADER.size:
        raise FormatError(f"bad sparse header sizes ({hdr_sz}, {chunk_hdr_sz})", 8)
    if blk_sz == 0 or blk_sz % 4:
        raise FormatError(f"bad sparse block size {blk_sz}", 12)
    fh.seek(hdr_sz)
    return SparseHeader(blk_sz, total_blks, total_chunks, hdr_sz, chunk_hdr_sz)


def iter_chunks(fh: BinaryIO, header: SparseHeader, file_size: int) -> Iterator[Chunk]:
    """The chunks of a sparse image (fh positioned after the header), each checked against the file and header."""
    blocks = 0
    pos = header.header_size
    if pos > file_size:
        raise FormatError(f"sparse header size {pos} runs past the end of the file", 8)
    for index in range(header.total_chunks):
        raw = fh.read(CHUNK_HEADER.size)
        if len(raw) < CHUNK_HEADER.size:
            raise FormatError(f"chunk {index} header truncated", pos)
        kind, _reserved, chunk_blocks, total_sz = CHUNK_HEADER.unpack(raw)
        data_off = pos + header.chunk_header_size
        data_size = total_sz - header.chunk_header_size
        expected = {RAW: chunk_blocks * header.block_size, FILL: 4, DONT_CARE: 0, CRC32: 4}.get(kind)
        if expected is None:
            raise FormatError(f"chunk {index} has unknown type 0x{kind:04x}", pos)
        if data_size != expected:
            raise FormatError(f"chunk {index} size {total_sz} does not match its type and {chunk_blocks} blocks", pos)
        if data_off + data_size > file_size:
            raise FormatError(f"chunk {index} runs past the end of the file (truncated image)", pos)
        if kind != CRC32:
            blocks += chunk_blocks
            if blocks > header.total_blocks:
                raise FormatError(f"chunk {index} goes past the {header.total_blocks} blocks the header declares", pos)
        fh.seek(data_off)
        fill = fh.read(4) if kind == FILL else b""
        yield Chunk(kind, chunk_blocks if kind != CRC32 else 0, data_off, data_size, fill)
        pos = data_off + data_size
        fh.seek(pos)
    if blocks != header.total_blocks:
        raise FormatError(f"chunks cover {blocks} blocks, header declares {header.total_blocks}", pos)


def unsparse(
    src: BinaryIO, dst: BinaryIO, file_size: int, limits: Limits, charge: Callable[[int], None] | None = None
) -> int:
    """Write the raw image of sparse src to dst (holes for DONT_CARE and zero FILL); returns its size."""
    header = read_header(src)
    size = header.total_blocks * header.block_size
    if size > limits.max_total_bytes:
        raise FormatError(f"sparse image expands to {size} bytes, over the {limits.max_total_bytes}-byte cap", 16)
    out = 0
    fill_cap = max(file_size * limits.max_ratio, FILL_FLOOR)
    filled = 0
    for chunk in iter_chunks(src, header, file_size):
        length = chunk.blocks * header.block_size
        if chunk.kind == RAW:
            here = src.tell()
            src.seek(chunk.offset)
            dst.seek(out)
            left = length
            while left:
                block = src.read(min(CHUNK, left))
                if not block:
                    raise FormatError("raw chunk truncated", chunk.offset)
                if charge:
                    charge(len(block))
                dst.write(block)
                left -= len(block)
            src.seek(here)
        elif chunk.kind == FILL and chunk.fill != b"\0\0\0\0":
            filled += length
            if filled > fill_cap:
                raise FormatError(
                    f"FILL chunks expand past {fill_cap} bytes, over {limits.max_ratio} times the image's size "
                    "(sparse bomb?)",
                    chunk.offset - header.chunk_header_size,
                )
            dst.seek(out)
            pattern = chunk.fill * (CHUNK // 4)
            left = length
            while left:
                part = pattern[: min(len(pattern), left)]
                if charge:
                    charge(len(part))
                dst.write(part)
                left -= len(part)
        out += length
    dst.truncate(size)
    if size and dst.seek(0, 2) < size:  # BytesIO does not grow on truncate
        dst.seek(size - 1)
        dst.write(b"\0")
    return size


def open_sparse(path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    raw = ctx.temp_path(".raw")
    with path.open("rb") as src, raw.open("wb") as dst:
        unsparse(src, dst, path.stat().st_size, ctx.limits, ctx.charge)
    with raw.open("rb") as fh:
        if fh.read(4) == struct.pack("<I", MAGIC):
            raise FormatError("sparse image inside a sparse image")
    found = False
    for result in ctx.expand(raw, where, ctx, None):
        found = True
        yield result
    if not found:
        yield InputError(where.location(), "sparse image holds no ext4 or EROFS file system")
