"""Containers: everything firmware can arrive in, opened into a stream of Items (files with firmware paths).

open_input() is the entry point: a single APK, a folder of APKs, an extracted firmware tree, an OTA or factory zip
(archives and images inside it too, up to Limits.max_depth), a tar factory image, an Android sparse image, a raw
ext4 or EROFS image, or a device over adb ("adb:" / "adb:SERIAL"). Nothing from an input is executed; extracted
files live in a private temp dir that is removed once the generator and every Item it gave are gone (or at exit).
"""

from __future__ import annotations

import errno
import hashlib
import re
import stat
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.firmware.containers import (
    adb,
    apex,
    archive,
    blockota,
    bootimg,
    directory,
    erofs,
    ext4,
    payload,
    sparse,
    superimage,
)
from bansweep.firmware.containers.item import CHUNK, ContainerContext, Item, Scratch, Where, file_reader, image_prefix
from bansweep.firmware.limits import FormatError, InternalError, Limits
from bansweep.inputs import InputFile, read_head

__all__ = ["CONTAINERS", "Item", "sniff", "sniff_dir", "open_input", "detect"]

Opener = Callable[[Path, Where, ContainerContext], Iterator[Item | InputError]]


@dataclass(frozen=True, slots=True)
class Format:
    """A container module (a Container) under its name: a test of the first bytes and the function that opens it.
    kind, when given, names what a matching file is (a zip: "apk", "ota-zip", "zip", or None for an office file);
    kinds are the finer kinds it may name that open the same way."""

    name: str
    match: Callable[[Path, bytes], bool]
    open: Opener
    kind: Callable[[Path], str | None] | None = None
    kinds: tuple[str, ...] = ()

    def detect(self, path: Path, head: bytes) -> str | None:
        if not self.match(path, head):
            return None
        return self.kind(path) if self.kind else self.name


def _magic(offset: int, *magics: bytes) -> Callable[[Path, bytes], bool]:
    return lambda path, head: any(head[offset : offset + len(m)] == m for m in magics)


def _tar(path: Path, head: bytes) -> bool:
    return head[257:262] == b"ustar" or (head[:2] == b"\x1f\x8b" and path.name.lower().endswith((".tar.gz", ".tgz")))


def _zip(path: Path, head: bytes) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06") or path.suffix.lower() in archive.ZIP_SUFFIXES


# in detection order
CONTAINERS: tuple[Format, ...] = (
    Format(payload.NAME, payload.matches, payload.open_container),
    Format(blockota.NAME, blockota.matches, blockota.open_container),
    Format(apex.NAME, apex.matches, apex.open_container),
    Format("sparse", _magic(0, struct.pack("<I", sparse.MAGIC)), sparse.open_sparse),
    Format("ext4", _magic(1080, b"\x53\xef"), ext4.open_ext4),
    Format("erofs", _magic(1024, struct.pack("<I", erofs.MAGIC)), erofs.open_erofs),
    Format("super", _magic(4096, struct.pack("<I", superimage.GEOMETRY_MAGIC)), superimage.open_super),
    Format("bootimg", _magic(0, bootimg.BOOT_MAGIC, bootimg.VENDOR_MAGIC), bootimg.open_boot),
    Format("tar", _tar, archive.open_tar),
    Format("zip", _zip, archive.open_zip_file, kind=archive.zip_kind, kinds=("ota-zip",)),
)
TREE_MARKERS = ("system", "build.prop")
FIRMWARE_FILE_SUFFIXES = (".apk", ".apks", ".odex", ".vdex", ".jar", ".apex", ".capex")
DEFAULT_LIMITS = Limits()
FOLD_AFTER = 10  # errors of one kind given one by one, per input; the rest are counted in one
NUMBERS = re.compile(r"\d+")


def detect(path: Path, head: bytes) -> str | None:
    """The container kind of a file from its first bytes (and, for zips, its entry names), or None."""
    return next((kind for c in CONTAINERS if (kind := c.detect(path, head))), None)


def sniff(item: InputFile) -> str | None:
    """The kind of a firmware input ("apk", "ota-zip", "zip", "tar", "sparse", "ext4", "erofs", "super", "bootimg"),
    or None."""
    return detect(item.path, item.head)


def sniff_dir(path: Path) -> bool:
    """A firmware tree (system/ or build.prop, or app/ and priv-app/), or a folder holding nothing but APKs, odex/vdex
    files and partition images. A mixed folder is not one input: its files are routed one by one. A folder that
    cannot be looked into is not a tree (the walk over its files reports why)."""
    try:
        if any((path / marker).exists() for marker in TREE_MARKERS):
            return True
        if (path / "app").is_dir() and (path / "priv-app").is_dir():
            return True
        entries = list(path.iterdir())
        files = [p.name for p in entries if p.is_file() and not p.is_symlink()]
        others = [p for p in entries if not p.is_file() or p.is_symlink()]
    except OSError:
        return False
    return bool(files) and not others and all(_firmware_file(n) for n in files)


def _firmware_file(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(FIRMWARE_FILE_SUFFIXES) or (lower.endswith(".img") and bool(image_prefix(name)))


def open_input(
    path: Path | str, limits: Limits = DEFAULT_LIMITS, kind: str | None = None
) -> Iterator[Item | InputError]:
    """Yield the files of one input as Items, and whatever could not be read as InputErrors (never silently).
    kind: the input's kind when already detected (as sniff gave it), so it is not detected again.

    Nothing raises out of here: an unexpected exception ends this input with an InputError naming it and the
    internal error, and the caller goes on with the next input. Past FOLD_AFTER errors of one kind (the same
    message up to numbers), the rest are counted and given as one error at the end.
    """
    ctx = ContainerContext(limits=limits, scratch=Scratch(), expand=_expand)
    stream = _open(str(path), ctx, kind)
    folded: dict[str, tuple[InputError, int]] = {}
    while True:
        try:
            result = next(stream)
        except StopIteration:
            break
        except Exception as exc:
            result = InputError(Location(str(path)), str(InternalError("reading this input", exc)))
            stream = iter(())
        if isinstance(result, Item):
            result.keep = ctx.scratch
        else:
            shape = NUMBERS.sub("#", result.message)
            first, seen = folded.get(shape, (result, 0))
            folded[shape] = (first, seen + 1)
            if seen >= FOLD_AFTER:
                continue
        paused = time.monotonic()
        yield result
        ctx.started += time.monotonic() - paused  # the time cap counts our work, not the consumer's
    for first, seen in folded.values():
        if seen > FOLD_AFTER:
            more = seen - FOLD_AFTER
            yield InputError(
                Location(str(path)), f"{more} more error(s) like the one at {first.location}: {first.message}"
            )


def _open(name: str, ctx: ContainerContext, kind: str | None) -> Iterator[Item | InputError]:
    if name.startswith("adb:"):
        yield from adb.open_device(name.removeprefix("adb:"), ctx)
        return
    root = Path(name)
    try:
        st = root.stat()  # the path the user named is followed; links inside it are not
    except OSError as exc:
        missing = exc.errno == errno.ENOENT
        yield InputError(Location(name), "no such file or directory" if missing else f"cannot read: {exc.strerror}")
        return
    if stat.S_ISDIR(st.st_mode):
        yield from directory.open_tree(root, Where(name), ctx)
    elif not stat.S_ISREG(st.st_mode):
        yield InputError(Location(name), "not a regular file")
    else:
        single = Item(
            root.name,
            Location(name),
            st.st_size,
            st.st_mode,
            st.st_uid,
            st.st_gid,
            reader=file_reader(root),
            max_bytes=ctx.limits.max_entry_bytes,
        )
        yield from _expand(root, Where(name, prefix=image_prefix(root.name)), ctx, single, kind)


def _sha256(path: Path, ctx: ContainerContext) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
            ctx.charge(0)  # the time cap
    return digest.hexdigest()


def _expand(
    path: Path, where: Where, ctx: ContainerContext, fallback: Item | None, kind: str | None = None
) -> Iterator[Item | InputError]:
    """Open the container at path (a real file or one of our temp files); anything else yields `fallback`."""
    try:
        kind = kind or detect(path, read_head(path))
    except OSError as exc:
        yield InputError(where.location(), f"cannot read: {exc.strerror}")
        return
    if kind is None or kind == "apk":
        if fallback is not None:
            yield fallback
        return
    if where.depth > ctx.limits.max_depth:
        yield InputError(where.location(), f"{kind} nested deeper than {ctx.limits.max_depth} levels; not opened")
        return
    if where.depth > 0:  # the same archive or image again (42.zip-style nests, A/B copies) is opened once
        try:
            prefix = bootimg.ramdisk_prefix(where) if kind == "bootimg" else where.prefix
            key = (_sha256(path, ctx), prefix)
        except OSError as exc:
            yield InputError(where.location(), f"cannot read: {exc.strerror}")
            return
        except FormatError as exc:
            yield InputError(where.location(), f"{kind}: {exc.message}")
            return
        if key in ctx.opened:
            if fallback is not None:
                yield fallback
            return
        ctx.opened.add(key)
    opener = next(c.open for c in CONTAINERS if kind == c.name or kind in c.kinds)
    try:
        yield from opener(path, where, ctx)
    except FormatError as exc:
        yield InputError(where.location(offset=exc.offset), f"{kind}: {exc.message}")
    except OSError as exc:  # e.g. the temp dir's disk is full
        yield InputError(where.location(), f"{kind}: {exc}")
    except Exception as exc:  # a hostile input must not end the batch; the message asks for a bug report
        yield InputError(where.location(), f"{kind}: {InternalError('reading it', exc)}")
