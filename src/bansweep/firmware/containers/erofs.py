"""EROFS images: content extracted with Debian's erofs-utils (`fsck.erofs --extract`) into the private temp dir,
owners and modes read from the image's own inodes.

fsck.erofs runs under a timeout and prlimit and is handed only the image; the image's total original file size
(`dump.erofs -S`) is checked against the size cap first. Extraction keeps permissions but not owners (a chown after
chmod would clear setuid bits), so a small reader of our own walks the inodes and directories (uncompressed
metadata: superblock, compact/extended inodes, flat directory blocks) for uid, gid and mode of every file; file
content is never decompressed here.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bansweep.findings import InputError
from bansweep.firmware.containers.directory import walk_tree
from bansweep.firmware.containers.item import ContainerContext, Item, Where, bounded, system_as_root
from bansweep.firmware.limits import FormatError

MAGIC = 0xE0F5E1E2
SUPERBLOCK = 1024
FLAT_PLAIN, FLAT_INLINE = 0, 2
DIRENT = struct.Struct("<QHBB")
MAX_DIR_BYTES = 64 * 2**20
MAX_DEPTH = 64
MAX_ENTRIES = 1_000_000


@dataclass(frozen=True, slots=True)
class Owner:
    mode: int
    uid: int
    gid: int


class ErofsMeta:
    """Inodes and directories of an EROFS image in a seekable file of `size` bytes."""

    def __init__(self, fh: BinaryIO, size: int):
        self.fh, self.size = fh, size
        sb = self._read(SUPERBLOCK, 128)
        if struct.unpack_from("<I", sb, 0)[0] != MAGIC:
            raise FormatError("not an EROFS image (bad magic)", SUPERBLOCK)
        self.blkszbits = sb[12]
        if not 9 <= self.blkszbits <= 16:
            raise FormatError(f"bad block size 2^{self.blkszbits}", SUPERBLOCK + 12)
        (self.root_nid,) = struct.unpack_from("<H", sb, 14)
        (self.meta_blkaddr,) = struct.unpack_from("<I", sb, 40)

    def _read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset + length > self.size:
            raise FormatError(f"structure of {length} bytes lies outside the image (truncated?)", offset)
        self.fh.seek(offset)
        return self.fh.read(length)

    def inode(self, nid: int) -> tuple[Owner, int, int, int, int]:
        """(owner, size, layout, raw block address, offset of inline data) of inode `nid`."""
        at = (self.meta_blkaddr << self.blkszbits) + (nid << 5)
        raw = self._read(at, 32)
        fmt, xattr_count, mode = struct.unpack_from("<HHH", raw, 0)
        if fmt & 1:
            raw = self._read(at, 64)
            size, blkaddr, _ino, uid, gid = struct.unpack_from("<QIIII", raw, 8)
            inode_size = 64
        else:
            size, _res, blkaddr, _ino, uid, gid = struct.unpack_from("<IIIIHH", raw, 8)
            inode_size = 32
        xattr_size = 12 + (xattr_count - 1) * 4 if xattr_count else 0
        return Owner(mode, uid, gid), size, (fmt >> 1) & 7, blkaddr, at + inode_size + xattr_size

    def _flat(self, nid: int) -> bytes:
        _owner, size, layout, blkaddr, inline = self.inode(nid)
        if layout not in (FLAT_PLAIN, FLAT_INLINE):
            raise FormatError(f"directory inode {nid} has layout {layout} (compressed or chunked), not read")
        if size > MAX_DIR_BYTES:
            raise FormatError(f"directory inode {nid} claims {size} bytes")
        bs = 1 << self.blkszbits
        if layout == FLAT_PLAIN:
            return self._read(blkaddr << self.blkszbits, size)
        full = (size // bs) * bs  # whole blocks at blkaddr (none: blkaddr is the null address), the tail inline
        head = self._read(blkaddr << self.blkszbits, full) if full else b""
        return head + self._read(inline, size - full)

    def listdir(self, nid: int) -> list[tuple[str, int]]:
        data = self._flat(nid)
        bs = 1 << self.blkszbits
        out = []
        for base in range(0, len(data), bs):
            block = data[base : base + bs]
            if len(block) < DIRENT.size:
                raise FormatError(f"directory inode {nid}: block {base // bs} too short")
            count = DIRENT.unpack_from(block, 0)[1] // DIRENT.size
            if not 1 <= count <= len(block) // DIRENT.size:
                raise FormatError(f"directory inode {nid}: bad entry count in block {base // bs}")
            entries = [DIRENT.unpack_from(block, i * DIRENT.size) for i in range(count)]
            for i, (child, start, _type, _res) in enumerate(entries):
                end = entries[i + 1][1] if i + 1 < count else len(block)
                if not count * DIRENT.size <= start <= end <= len(block):
                    raise FormatError(f"directory inode {nid}: name {i} out of its block")
                name = block[start:end].split(b"\0", 1)[0].decode("utf-8", "backslashreplace")
                if name not in (".", ".."):
                    out.append((name, child))
        return out

    def owners(self) -> dict[str, Owner]:
        """Owner and mode of everything below the root, by path; directories seen twice are not walked again."""
        found: dict[str, Owner] = {}
        seen = {self.root_nid}
        stack = [("", self.root_nid, 0)]
        while stack:
            folder, nid, depth = stack.pop()
            for name, child in self.listdir(nid):
                owner = self.inode(child)[0]
                found[folder + name] = owner
                if stat.S_ISDIR(owner.mode) and child not in seen and depth < MAX_DEPTH:
                    seen.add(child)
                    stack.append((folder + name + "/", child, depth + 1))
                if len(found) > MAX_ENTRIES:
                    raise FormatError(f"more than {MAX_ENTRIES} entries")
        return found


TOTAL_RE = re.compile(r"total original file size:\s*(\d+)")


def _run(args: list[str], ctx: ContainerContext) -> str:
    tool = shutil.which(args[0])
    if tool is None:
        raise FormatError(f"{args[0]} not found (install Debian package erofs-utils)")
    left = ctx.limits.max_seconds - (time.monotonic() - ctx.started)
    try:
        done = subprocess.run(
            bounded([tool, *args[1:]], ctx.limits),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=max(left, 1.0),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise FormatError(f"{args[0]} took longer than {ctx.limits.max_seconds:g} s (time cap)") from exc
    if done.returncode < 0:
        raise FormatError(f"{args[0]} killed by signal {-done.returncode} (memory or file-size cap?)")
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise FormatError(f"{args[0]} failed: {detail[-1] if detail else 'exit ' + str(done.returncode)}")
    return done.stdout


def open_erofs(path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    stats = _run(["dump.erofs", "-S", str(path)], ctx)
    total = TOTAL_RE.search(stats)
    if total is None:
        raise FormatError("dump.erofs gave no file size statistics")
    ctx.charge(int(total.group(1)))
    out = ctx.temp_path(".erofs.d")
    _run(["fsck.erofs", f"--extract={out}", "--preserve-perms", "--no-preserve-owner", str(path)], ctx)
    try:
        with path.open("rb") as fh:
            owners = ErofsMeta(fh, os.fstat(fh.fileno()).st_size).owners()
    except FormatError as exc:
        owners = {}
        yield InputError(where.location(offset=exc.offset), f"erofs: owners unknown: {exc.message}")
    root_dirs = {p.name for p in out.iterdir() if p.is_dir() and not p.is_symlink()}
    prefix = system_as_root(where.prefix, root_dirs)
    for result in walk_tree(out, prefix, lambda rel, full: where.location(rel), where, ctx, owners=False):
        if isinstance(result, Item):
            owner = owners.get(result.path[len(prefix) :])
            if owner is not None:
                result.mode, result.uid, result.gid = owner.mode, owner.uid, owner.gid
        yield result
