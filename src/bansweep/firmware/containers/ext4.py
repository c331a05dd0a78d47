"""ext4 (and ext2/3) images read in pure Python, without mounting, root or extracting the whole image.

Why not debugfs: it has no recursive listing with modes and owners (one `stat` per file would mean thousands of
commands), and `rdump` writes every file to disk and keeps owners only as root. Reading superblock, group
descriptors, inodes, extent trees (or block maps) and directory blocks directly gives modes incl. setuid, uid and
gid for every file and lets each file be read on demand with a byte cap. Every structure is bounds-checked against
the image, so a corrupt image is a FormatError with its offset, never a crash or an unbounded read.
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bansweep.findings import InputError
from bansweep.firmware.containers.item import (
    ContainerContext,
    Item,
    Where,
    is_container_name,
    link_problem,
    open_nested,
    system_as_root,
)
from bansweep.firmware.limits import FormatError

SUPERBLOCK = 1024
MAGIC = 0xEF53
ROOT_INODE = 2
INCOMPAT_COMPRESSION, INCOMPAT_64BIT, INCOMPAT_META_BG = 0x1, 0x80, 0x10
EXTENTS_FL, INLINE_DATA_FL, ENCRYPT_FL = 0x80000, 0x10000000, 0x800
EXTENT_MAGIC = 0xF30A
XATTR_MAGIC = struct.pack("<I", 0xEA020000)
XATTR_SYSTEM = 7
MAX_EXTENT_DEPTH = 5
MAX_EXTENTS = 1_000_000
MAX_EXTENT_NODES = 65_536  # index blocks read for one file (a corrupt tree may point back at itself)
MAX_DIR_BYTES = 64 * 2**20
MAX_TREE_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Inode:
    number: int
    mode: int
    uid: int
    gid: int
    size: int
    flags: int
    block: bytes  # the 60-byte i_block area
    extra: bytes = b""  # the inode beyond 128 bytes (in-inode extended attributes live there)


class Ext4:
    """An ext2/3/4 file system in a seekable file of `size` bytes."""

    def __init__(self, fh: BinaryIO, size: int):
        self.fh, self.image_size = fh, size
        sb = self._read(SUPERBLOCK, 1024)
        (magic,) = struct.unpack_from("<H", sb, 0x38)
        if magic != MAGIC:
            raise FormatError("not an ext2/3/4 file system (bad superblock magic)", SUPERBLOCK + 0x38)
        inodes_count, blocks_lo, _, _, _, self.first_data_block, log_bs = struct.unpack_from("<7I", sb, 0)
        self.blocks_per_group, _, self.inodes_per_group = struct.unpack_from("<3I", sb, 0x20)
        (rev,) = struct.unpack_from("<I", sb, 0x4C)
        self.inode_size = struct.unpack_from("<H", sb, 0x58)[0] if rev >= 1 else 128
        self.incompat = struct.unpack_from("<I", sb, 0x60)[0]
        if log_bs > 6:
            raise FormatError(f"bad block size exponent {log_bs}", SUPERBLOCK + 0x18)
        self.block_size = 1024 << log_bs
        desc_size = struct.unpack_from("<H", sb, 0xFE)[0] if self.incompat & INCOMPAT_64BIT else 32
        self.desc_size = desc_size
        if self.incompat & (INCOMPAT_COMPRESSION | INCOMPAT_META_BG):
            raise FormatError(f"unsupported ext4 features (incompat 0x{self.incompat:x})", SUPERBLOCK + 0x60)
        if not self.blocks_per_group or not self.inodes_per_group or self.inode_size < 128 or desc_size < 32:
            raise FormatError("bad superblock geometry", SUPERBLOCK)
        if self.inode_size > self.block_size or self.inode_size & (self.inode_size - 1):
            raise FormatError(f"bad inode size {self.inode_size}", SUPERBLOCK + 0x58)
        self.inodes_count = inodes_count
        self.groups = -(-(blocks_lo - self.first_data_block) // self.blocks_per_group)
        self.desc_base = (self.first_data_block + 1) * self.block_size
        self._nodes = 0

    def _read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.image_size:
            raise FormatError(f"structure of {length} bytes lies outside the image (truncated?)", offset)
        self.fh.seek(offset)
        data = self.fh.read(length)
        if len(data) != length:
            raise FormatError("short read (truncated image)", offset)
        return data

    def inode(self, number: int) -> Inode:
        if not 1 <= number <= self.inodes_count:
            raise FormatError(f"inode number {number} out of range")
        group, index = divmod(number - 1, self.inodes_per_group)
        if group >= self.groups:
            raise FormatError(f"inode {number} is in group {group} beyond the {self.groups} groups")
        desc = self._read(self.desc_base + group * self.desc_size, self.desc_size)
        table = struct.unpack_from("<I", desc, 0x8)[0]
        if self.desc_size >= 64:
            table |= struct.unpack_from("<I", desc, 0x28)[0] << 32
        offset = table * self.block_size + index * self.inode_size
        raw = self._read(offset, self.inode_size)
        mode, uid_lo, size_lo = struct.unpack_from("<HHI", raw, 0)
        gid_lo = struct.unpack_from("<H", raw, 0x18)[0]
        flags = struct.unpack_from("<I", raw, 0x20)[0]
        size_hi = struct.unpack_from("<I", raw, 0x6C)[0]
        uid_hi, gid_hi = struct.unpack_from("<HH", raw, 0x78)
        uid, gid, size = uid_lo | uid_hi << 16, gid_lo | gid_hi << 16, size_lo | size_hi << 32
        return Inode(number, mode, uid, gid, size, flags, raw[0x28:0x64], raw[128:])

    def inline_data(self, inode: Inode) -> bytes:
        """Content of an inline-data inode: i_block, then the "system.data" in-inode attribute."""
        rest = b""
        extra = inode.extra
        if len(extra) >= 2:
            (extra_isize,) = struct.unpack_from("<H", extra, 0)
            base = extra_isize + 4  # entries start after the 4-byte attribute header
            if base <= len(extra) and extra[extra_isize:base] == XATTR_MAGIC:
                pos = base
                while pos + 16 <= len(extra) and extra[pos : pos + 4] != b"\0\0\0\0":
                    name_len, index, value_offs, _inum, value_size = struct.unpack_from("<BBHII", extra, pos)
                    name = extra[pos + 16 : pos + 16 + name_len]
                    if index == XATTR_SYSTEM and name == b"data":
                        start = base + value_offs
                        if start + value_size > len(extra):
                            raise FormatError(f"inline data attribute of inode {inode.number} out of bounds")
                        rest = extra[start : start + value_size]
                        break
                    pos += (16 + name_len + 3) & ~3
        data = inode.block + rest
        if inode.size > len(data):
            raise FormatError(f"inline data of inode {inode.number} shorter than its size")
        return data[: inode.size]

    def runs(self, inode: Inode) -> list[tuple[int, int, int]]:
        """(logical block, physical block or 0 for zeros, block count) runs of a file's data."""
        if inode.flags & INLINE_DATA_FL:
            raise FormatError("inline data has no blocks")
        if inode.flags & ENCRYPT_FL:
            raise FormatError("encrypted file")
        out: list[tuple[int, int, int]] = []
        if inode.flags & EXTENTS_FL:
            self._nodes = 0
            self._extents(inode.block, 0, out)
        else:
            self._blockmap(inode, out)
        return out

    def _extents(self, node: bytes, depth: int, out: list[tuple[int, int, int]]) -> None:
        magic, entries, _max, tree_depth = struct.unpack_from("<HHHH", node, 0)
        if magic != EXTENT_MAGIC or depth > MAX_EXTENT_DEPTH or 12 + entries * 12 > len(node):
            raise FormatError("corrupt extent tree")
        for i in range(entries):
            at = 12 + i * 12
            if tree_depth == 0:
                logical, length, start_hi, start_lo = struct.unpack_from("<IHHI", node, at)
                uninit = length > 32768
                length = length - 32768 if uninit else length
                out.append((logical, 0 if uninit else start_hi << 32 | start_lo, length))
                if len(out) > MAX_EXTENTS:
                    raise FormatError(f"more than {MAX_EXTENTS} extents")
            else:
                _logical, leaf_lo, leaf_hi = struct.unpack_from("<IIH", node, at)
                self._nodes += 1
                if self._nodes > MAX_EXTENT_NODES:
                    raise FormatError(f"extent tree has more than {MAX_EXTENT_NODES} index blocks")
                child = self._read((leaf_hi << 32 | leaf_lo) * self.block_size, self.block_size)
                self._extents(child, depth + 1, out)

    def _blockmap(self, inode: Inode, out: list[tuple[int, int, int]]) -> None:
        pointers = struct.unpack("<15I", inode.block)
        nblocks = -(-inode.size // self.block_size)
        per = self.block_size // 4
        logical = 0

        def walk(block: int, level: int) -> None:
            nonlocal logical
            span = per**level
            if logical >= nblocks:
                return
            if block == 0:
                logical += span
                return
            if level == 0:
                out.append((logical, block, 1))
                logical += 1
                if len(out) > MAX_EXTENTS:
                    raise FormatError(f"more than {MAX_EXTENTS} blocks")
                return
            for child in struct.unpack(f"<{per}I", self._read(block * self.block_size, self.block_size)):
                walk(child, level - 1)

        for block in pointers[:12]:
            walk(block, 0)
        for level, block in enumerate(pointers[12:], start=1):
            walk(block, level)

    def read(self, inode: Inode, cap: int) -> bytes:
        if inode.size > cap:
            raise FormatError(f"{inode.size} bytes is over the {cap}-byte read limit")
        if inode.flags & INLINE_DATA_FL:
            return self.inline_data(inode)
        bs = self.block_size
        runs = self.runs(inode)
        if len(runs) == 1 and runs[0][0] == 0 and runs[0][1] and runs[0][2] * bs >= inode.size:
            return self._read(runs[0][1] * bs, inode.size)  # one extent: no copy
        data = bytearray(inode.size)
        for logical, physical, count in runs:
            start = logical * bs
            if start >= inode.size or physical == 0:
                continue
            length = min(count * bs, inode.size - start)
            data[start : start + length] = self._read(physical * bs, length)
        return bytes(data)

    def symlink_target(self, inode: Inode) -> str:
        if inode.size < 60 and not inode.flags & (EXTENTS_FL | INLINE_DATA_FL):
            raw = inode.block[: inode.size]
        else:
            raw = self.read(inode, 4096)
        return raw.decode("utf-8", "backslashreplace")

    def listdir(self, inode: Inode) -> list[tuple[str, int]]:
        data = self.read(inode, MAX_DIR_BYTES)
        if inode.flags & INLINE_DATA_FL:
            # 4 bytes of parent inode, then entries in the rest of i_block and, separately, in system.data
            return self._entries(inode, data[4:60]) + self._entries(inode, data[60:])
        return self._entries(inode, data)

    def _entries(self, inode: Inode, data: bytes) -> list[tuple[str, int]]:
        out = []
        pos = 0
        while pos + 8 <= len(data):
            number, rec_len, name_len = struct.unpack_from("<IHB", data, pos)
            if rec_len < 8 or pos + rec_len > len(data) or 8 + name_len > rec_len:
                raise FormatError(f"corrupt directory entry at byte {pos} of directory inode {inode.number}")
            name = data[pos + 8 : pos + 8 + name_len].decode("utf-8", "backslashreplace")
            if number and name not in (".", ".."):
                out.append((name, number))
            pos += rec_len
        return out

    def walk(self) -> Iterator[tuple[str, Inode] | tuple[str, FormatError]]:
        """(path, inode) for every non-directory below the root; a directory that can't be read is (path, error)."""
        seen = {ROOT_INODE}
        stack: list[tuple[str, int, int]] = [("", ROOT_INODE, 0)]
        while stack:
            folder, number, depth = stack.pop()
            try:
                entries = sorted(self.listdir(self.inode(number)))
            except FormatError as exc:
                yield folder.rstrip("/") or "/", exc
                continue
            subdirs = []
            for name, child in entries:
                path = folder + name
                try:
                    node = self.inode(child)
                except FormatError as exc:
                    yield path, exc
                    continue
                if not stat.S_ISDIR(node.mode):
                    yield path, node
                elif child in seen:
                    yield path, FormatError(f"directory inode {child} appears twice (loop); not followed")
                elif depth >= MAX_TREE_DEPTH:
                    yield path, FormatError(f"directory nesting deeper than {MAX_TREE_DEPTH}; not read")
                else:
                    seen.add(child)
                    subdirs.append((path + "/", child, depth + 1))
            stack.extend(reversed(subdirs))


def open_ext4(path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    with path.open("rb") as fh:
        fs = Ext4(fh, os.fstat(fh.fileno()).st_size)
        root_dirs = {name for name, number in fs.listdir(fs.inode(ROOT_INODE)) if stat.S_ISDIR(fs.inode(number).mode)}
        prefix = system_as_root(where.prefix, root_dirs)
        links: dict[str, str] = {}
        for rel, node in fs.walk():
            if isinstance(node, FormatError):
                yield InputError(where.location(rel, node.offset), f"ext4: {node.message}")
                continue
            try:
                ctx.count()
            except FormatError as exc:
                yield InputError(where.location(), f"ext4: {exc.message}")
                return
            item = Item(
                prefix + rel,
                where.location(rel),
                node.size,
                node.mode,
                node.uid,
                node.gid,
                max_bytes=ctx.limits.max_entry_bytes,
            )
            if stat.S_ISLNK(node.mode):
                try:
                    item.link = links[rel] = fs.symlink_target(node)
                except FormatError as exc:
                    yield InputError(where.location(rel, exc.offset), f"ext4: symbolic link: {exc.message}")
                    continue
                item.size = 0
                problem = link_problem(rel, item.link, links.get)
                if problem:
                    yield InputError(where.location(rel), problem)
            elif stat.S_ISREG(node.mode):
                item.reader = _reader(path, node)
                if is_container_name(rel):
                    yield from open_nested(item, rel, where, ctx)
                    continue
            yield item


def _reader(image: Path, node: Inode) -> Callable[[int], bytes]:
    def read(cap: int) -> bytes:
        with image.open("rb") as fh:
            return Ext4(fh, os.fstat(fh.fileno()).st_size).read(node, cap)

    return read
