"""Android boot, recovery and vendor_boot images: the ramdisk (gzip, LZ4 or plain cpio "newc") is unpacked into the
temp dir and its files (init.rc and the *.rc it imports, sbin/ binaries) become Items with their cpio modes and owners.

Header layouts per AOSP system/tools/mkbootimg/include/bootimg/bootimg.h (boot v0-v4, vendor_boot v3-v4). LZ4 ramdisks
go through Debian's `lz4` tool with a timeout and an output cap; gzip is read here, streaming and bounded.
"""

from __future__ import annotations

import posixpath
import shutil
import stat
import struct
import subprocess
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from bansweep.findings import InputError
from bansweep.firmware.containers.item import CHUNK, ContainerContext, Item, Where, bounded, link_problem, safe_name
from bansweep.firmware.limits import FormatError

BOOT_MAGIC, VENDOR_MAGIC = b"ANDROID!", b"VNDRBOOT"
GZIP_MAGIC, LZ4_LEGACY_MAGIC = b"\x1f\x8b", b"\x02\x21\x4c\x18"
CPIO_MAGICS = (b"070701", b"070702")
CPIO_HEADER = 110
PAGE_SIZES = (2048, 4096, 8192, 16384)
MAX_CPIO_ENTRIES = 100_000


def ramdisk_span(head: bytes, size: int) -> tuple[int, int]:
    """(offset, length) of the ramdisk inside a boot or vendor_boot image of `size` bytes."""
    if len(head) < 2112:
        raise FormatError("boot image header truncated", 0)
    if head[:8] == VENDOR_MAGIC:
        _version, page, _k, _r, length = struct.unpack_from("<5I", head, 8)
        (header_size,) = struct.unpack_from("<I", head, 2096)
        offset = -(-header_size // page) * page if page in PAGE_SIZES else -1
    else:
        (kernel,) = struct.unpack_from("<I", head, 8)
        (version,) = struct.unpack_from("<I", head, 40)
        if version >= 3:
            page, (length,) = 4096, struct.unpack_from("<I", head, 12)
        else:
            (length,), (page,) = struct.unpack_from("<I", head, 16), struct.unpack_from("<I", head, 36)
        offset = page * (1 + -(-kernel // page)) if page in PAGE_SIZES else -1
    if offset < 0:
        raise FormatError(f"bad page size {page}", 36)
    if offset + length > size:
        raise FormatError(f"ramdisk of {length} bytes at 0x{offset:x} runs past the end (truncated image)", offset)
    return offset, length


def _gunzip(src: BinaryIO, length: int, out: BinaryIO, cap: int, ctx: ContainerContext) -> None:
    left, written = length, 0
    inflater = zlib.decompressobj(31)
    while left:
        block = src.read(min(CHUNK, left))
        if not block:
            raise FormatError("ramdisk truncated")
        left -= len(block)
        while block:
            try:
                part = inflater.decompress(block, CHUNK)
            except zlib.error as exc:
                raise FormatError(f"corrupt gzip ramdisk ({exc})") from None
            block = inflater.unconsumed_tail
            if inflater.eof:  # another gzip member may follow (concatenated ramdisk fragments)
                block, inflater = inflater.unused_data + block, zlib.decompressobj(31)
                if not block.startswith(GZIP_MAGIC):
                    block, left = b"", 0
            written += len(part)
            if written > cap:
                raise FormatError(f"ramdisk decompresses past {cap} bytes (ratio/size cap)")
            ctx.charge(len(part))
            out.write(part)


def _unlz4(src_path: Path, out_path: Path, cap: int, ctx: ContainerContext) -> None:
    tool = shutil.which("lz4")
    if tool is None:
        raise FormatError("LZ4 ramdisk needs the lz4 tool (Debian package lz4)")
    written = 0
    proc = subprocess.Popen(
        bounded([tool, "-d", "-c", str(src_path)], ctx.limits),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        with out_path.open("wb") as out:
            while block := proc.stdout.read(CHUNK):
                written += len(block)
                if written > cap:
                    raise FormatError(f"ramdisk decompresses past {cap} bytes (ratio/size cap)")
                ctx.charge(len(block))
                out.write(block)
        left = ctx.limits.max_seconds - (time.monotonic() - ctx.started)
        if proc.wait(timeout=max(left, 1.0)) != 0:
            detail = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
            raise FormatError(f"LZ4 ramdisk: {detail[-1] if detail else 'lz4 failed'}")
    except subprocess.TimeoutExpired:
        raise FormatError(f"lz4 took longer than {ctx.limits.max_seconds:g} s (time cap)") from None
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def open_boot(path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    size = path.stat().st_size
    with path.open("rb") as fh:
        offset, length = ramdisk_span(fh.read(4096), size)
        if length == 0:
            return  # a boot image without ramdisk (e.g. GKI boot.img whose ramdisk is in init_boot)
        fh.seek(offset)
        magic = fh.read(6)
        fh.seek(offset)
        cap = min(ctx.limits.max_entry_bytes, max(length * ctx.limits.max_ratio, 1 << 20))
        cpio = ctx.temp_path(".cpio")
        if magic[:2] == GZIP_MAGIC:
            with cpio.open("wb") as out:
                _gunzip(fh, length, out, cap, ctx)
        elif magic[:4] == LZ4_LEGACY_MAGIC or magic[:4] == b"\x04\x22\x4d\x18":
            packed = ctx.temp_path(".lz4")
            with packed.open("wb") as out:
                out.write(fh.read(length))
            _unlz4(packed, cpio, cap, ctx)
            packed.unlink()
        elif magic in CPIO_MAGICS:
            with cpio.open("wb") as out:
                out.write(fh.read(length))
        else:
            raise FormatError(f"ramdisk in an unknown format (starts {magic[:4].hex()})", offset)
    yield from _cpio_items(cpio, where, ramdisk_prefix(where), ctx)


def ramdisk_prefix(where: Where) -> str:
    """A recovery image's ramdisk is the recovery's root; a boot image's is the device's."""
    stem = posixpath.basename(where.chain[-1] if where.chain else where.file).split(".")[0]
    return where.prefix if where.prefix else ("recovery/" if stem.startswith("recovery") else "")


def _cpio_items(cpio: Path, where: Where, prefix: str, ctx: ContainerContext) -> Iterator[Item | InputError]:
    size = cpio.stat().st_size
    links: dict[str, str] = {}
    with cpio.open("rb") as fh:
        pos = 0
        for _ in range(MAX_CPIO_ENTRIES):
            fh.seek(pos)
            header = fh.read(CPIO_HEADER)
            if len(header) < CPIO_HEADER or header.strip(b"\0") == b"":
                return
            if header[:6] not in CPIO_MAGICS:
                yield InputError(where.location("ramdisk", pos), "ramdisk: not a cpio newc header")
                return
            try:
                fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
            except ValueError:
                yield InputError(where.location("ramdisk", pos), "ramdisk: cpio header with non-hex fields")
                return
            mode, uid, gid, filesize, namesize = fields[1], fields[2], fields[3], fields[6], fields[11]
            name = fh.read(namesize).rstrip(b"\0").decode("utf-8", "backslashreplace")
            start = (pos + CPIO_HEADER + namesize + 3) & ~3
            pos = (start + filesize + 3) & ~3
            if start + filesize > size:
                yield InputError(where.location(f"ramdisk/{name}", start), "ramdisk: entry runs past the end")
                return
            if name == "TRAILER!!!":
                while True:  # another cpio archive may follow after zero padding
                    fh.seek(pos)
                    block = fh.read(512)
                    skip = len(block) - len(block.lstrip(b"\0"))
                    if skip < len(block) or not block:
                        pos += skip
                        break
                    pos += skip
                continue
            clean = safe_name(name)
            if clean is None:
                yield InputError(where.location(f"ramdisk/{name}"), "unsafe entry name (absolute or with '..')")
                continue
            if not clean or stat.S_ISDIR(mode):
                continue
            ctx.count()
            item = Item(
                prefix + clean, where.location(clean), filesize, mode, uid, gid, max_bytes=ctx.limits.max_entry_bytes
            )
            if stat.S_ISLNK(mode):
                fh.seek(start)
                item.link, item.size = fh.read(min(filesize, 4096)).decode("utf-8", "backslashreplace"), 0
                links[clean] = item.link
                problem = link_problem(clean, item.link, links.get)
                if problem:
                    yield InputError(where.location(clean), problem)
            elif stat.S_ISREG(mode):
                item.reader = _slice_reader(cpio, start, filesize)
            yield item


def _slice_reader(path: Path, start: int, length: int) -> Callable[[int], bytes]:
    def read(cap: int) -> bytes:
        if length > cap:
            raise FormatError(f"{length} bytes is over the {cap}-byte read limit")
        with path.open("rb") as fh:
            fh.seek(start)
            return fh.read(length)

    return read
