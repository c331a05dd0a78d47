"""EROFS images: content extracted with Debian's erofs-utils (`fsck.erofs --extract`) into the private temp dir,
owners and modes read from the image's own inodes.

fsck.erofs writes wherever the image's names say, so it is never handed an image we have not read first: a small
reader of our own walks the inodes and directories (uncompressed metadata: superblock, compact/extended inodes,
flat directory blocks), refuses names that are empty, hold '/' or NUL, repeat in one folder, and directories reached
twice (loops), and gives uid, gid and mode of every file (extraction keeps permissions but not owners: a chown after
chmod would clear setuid bits). fsck.erofs then runs under a timeout and prlimit, in a jail where only its output
folder is writable (where the system allows one, see jail.py), after the image's total original file size
(`dump.erofs -S`) was checked against the size cap; every path it created is checked against our listing.
File content is never decompressed by our reader.
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
from bansweep.firmware.containers.jail import confined
from bansweep.firmware.limits import FormatError

MAGIC = 0xE0F5E1E2
SUPERBLOCK = 1024
FLAT_PLAIN, FLAT_INLINE = 0, 2
DIRENT = struct.Struct("<QHBB")
MAX_DIR_BYTES = 64 * 2**20
MAX_DEPTH = 64
MAX_ENTRIES = 1_000_000
MAX_NAME = 255
MAX_REPORTED = 20  # paths named one by one when the extraction and the listing disagree


@dataclass(frozen=True, slots=True)
class Owner:
    mode: int
    uid: int
    gid: int


class UnsafeImage(FormatError):
    """The image holds something an extractor would write outside its folder (or forever); `entry` names it."""

    def __init__(self, message: str, entry: str):
        super().__init__(message)
        self.entry = entry


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

    def listdir(self, nid: int, folder: str = "") -> list[tuple[str, int]]:
        """(name, nid) of a directory's entries but '.' and '..'; UnsafeImage for a name no extractor may use.

        Names are read as erofs-utils reads them: an entry's name runs to the next entry's name, the last one in a
        block to its first NUL.
        """
        data = self._flat(nid)
        bs = 1 << self.blkszbits
        out = []
        names: set[bytes] = set()
        for base in range(0, len(data), bs):
            block = data[base : base + bs]
            if len(block) < DIRENT.size:
                raise FormatError(f"directory inode {nid}: block {base // bs} too short")
            count = DIRENT.unpack_from(block, 0)[1] // DIRENT.size
            if not 1 <= count <= len(block) // DIRENT.size:
                raise FormatError(f"directory inode {nid}: bad entry count in block {base // bs}")
            entries = [DIRENT.unpack_from(block, i * DIRENT.size) for i in range(count)]
            for i, (child, start, _type, _res) in enumerate(entries):
                last = i + 1 == count
                end = len(block) if last else entries[i + 1][1]
                if not count * DIRENT.size <= start <= end <= len(block):
                    raise FormatError(f"directory inode {nid}: name {i} out of its block")
                raw = block[start:end].split(b"\0", 1)[0] if last else block[start:end]
                if raw in (b".", b".."):
                    continue
                name = raw.decode("utf-8", "backslashreplace")
                problem = _name_problem(raw, names)
                if problem:
                    raise UnsafeImage(f"entry {name!r} in /{folder}: {problem}; image not extracted", folder + name)
                names.add(raw)
                out.append((name, child))
        return out

    def owners(self) -> dict[str, Owner]:
        """Owner and mode of everything below the root, by path (folders end without '/').

        UnsafeImage when a directory is reached twice (a hard-linked directory or a loop) or lies too deep: an
        extractor would write it again and again.
        """
        found: dict[str, Owner] = {}
        seen = {self.root_nid}
        stack = [("", self.root_nid, 0)]
        while stack:
            folder, nid, depth = stack.pop()
            for name, child in self.listdir(nid, folder):
                owner = self.inode(child)[0]
                path = folder + name
                found[path] = owner
                if stat.S_ISDIR(owner.mode):
                    if child in seen:
                        raise UnsafeImage(f"directory /{path} reached twice (loop); image not extracted", path)
                    if depth >= MAX_DEPTH:
                        raise UnsafeImage(f"/{path}: nesting deeper than {MAX_DEPTH}; image not extracted", path)
                    seen.add(child)
                    stack.append((path + "/", child, depth + 1))
                if len(found) > MAX_ENTRIES:
                    raise FormatError(f"more than {MAX_ENTRIES} entries")
        return found


def _name_problem(raw: bytes, siblings: set[bytes]) -> str | None:
    if not raw:
        return "empty name"
    if b"/" in raw:
        return "name holds '/' (path traversal)"
    if b"\0" in raw:
        return "name holds a NUL byte"
    if len(raw) > MAX_NAME:
        return f"name longer than {MAX_NAME} bytes"
    if raw in siblings:
        return "name listed twice in one folder"
    return None


TOTAL_RE = re.compile(r"total original file size:\s*(\d+)")


def _run(args: list[str], ctx: ContainerContext, jail: Path | None = None) -> str:
    tool = shutil.which(args[0])
    if tool is None:
        raise FormatError(f"{args[0]} not found (install Debian package erofs-utils)")
    argv = bounded([tool, *args[1:]], ctx.limits)
    if jail is not None:
        argv = confined(argv, jail) or argv  # without user namespaces, our listing and the check after guard it
    left = ctx.limits.max_seconds - (time.monotonic() - ctx.started)
    try:
        done = subprocess.run(
            argv,
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
    try:
        with path.open("rb") as fh:
            owners = ErofsMeta(fh, os.fstat(fh.fileno()).st_size).owners()
    except UnsafeImage as exc:
        yield InputError(where.location(exc.entry), f"erofs: {exc.message}")
        return
    except FormatError as exc:  # a listing we cannot read is a listing we cannot check
        yield InputError(where.location(offset=exc.offset), f"erofs: {exc.message}; image not extracted")
        return
    stats = _run(["dump.erofs", "-S", str(path)], ctx)
    total = TOTAL_RE.search(stats)
    if total is None:
        raise FormatError("dump.erofs gave no file size statistics")
    ctx.charge(int(total.group(1)))
    out = ctx.temp_path(".erofs.d")
    out.mkdir()
    _run(["fsck.erofs", f"--extract={out}", "--preserve-perms", "--no-preserve-owner", str(path)], ctx, jail=out)
    strays = _check_extraction(out, owners)
    if strays:
        shutil.rmtree(out, ignore_errors=True)
        for rel in strays[:MAX_REPORTED]:
            yield InputError(where.location(rel), "erofs: fsck.erofs created a path the image does not list")
        raise FormatError(f"fsck.erofs created {len(strays)} path(s) the image does not list; image not read")
    root_dirs = {p.name for p in out.iterdir() if p.is_dir() and not p.is_symlink()}
    prefix = system_as_root(where.prefix, root_dirs)
    for result in walk_tree(out, prefix, lambda rel, full: where.location(rel), where, ctx, owners=False):
        if isinstance(result, Item):
            owner = owners.get(result.path[len(prefix) :])
            if owner is not None:
                result.mode, result.uid, result.gid = owner.mode, owner.uid, owner.gid
        yield result


def _check_extraction(out: Path, listed: dict[str, Owner]) -> list[str]:
    """Every path below out that the image's listing does not hold (or holds as another type); never follows links."""
    strays = []
    for folder, dirs, files in os.walk(out):
        rel_dir = os.path.relpath(folder, out)
        for name in dirs + files:
            rel = os.fsencode(name if rel_dir == "." else os.path.join(rel_dir, name)).decode(
                "utf-8", "backslashreplace"
            )
            owner = listed.get(rel)
            mode = os.lstat(os.path.join(folder, name)).st_mode
            if owner is None or stat.S_IFMT(owner.mode) != stat.S_IFMT(mode):
                strays.append(rel)
    return sorted(strays)
