"""Containers: everything firmware can arrive in, opened into a stream of Items (files with firmware paths).

open_input() is the entry point: a single APK, a folder of APKs, an extracted firmware tree, an OTA or factory zip
(archives and images inside it too, up to Limits.max_depth), a tar factory image, an Android sparse image, a raw
ext4 or EROFS image, or a device over adb ("adb:" / "adb:SERIAL"). Nothing from an input is executed; extracted
files live in a private temp dir that is removed once the generator and every Item it gave are gone (or at exit).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
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
from bansweep.firmware.containers.item import ContainerContext, Item, Scratch, Where, file_reader, image_prefix
from bansweep.firmware.limits import FormatError, Limits
from bansweep.inputs import InputFile, read_head

__all__ = ["Item", "sniff", "sniff_dir", "open_input", "detect"]

IMAGE_KINDS = {
    "sparse": sparse.open_sparse,
    "ext4": ext4.open_ext4,
    "erofs": erofs.open_erofs,
    "super": superimage.open_super,
    "bootimg": bootimg.open_boot,
}
ARCHIVE_KINDS = {"zip": archive.open_zip_file, "ota-zip": archive.open_zip_file, "tar": archive.open_tar}
# Containers that are one module each (NAME, matches(path, head), open_container(path, where, ctx)): one line here.
MODULES = (
    payload,
    blockota,
    apex,
)
IMAGE_KINDS.update({m.NAME: m.open_container for m in MODULES})
TREE_MARKERS = ("system", "build.prop")
FIRMWARE_FILE_SUFFIXES = (".apk", ".apks", ".odex", ".vdex", ".jar", ".apex", ".capex")
DEFAULT_LIMITS = Limits()


def detect(path: Path, head: bytes) -> str | None:
    """The container kind of a file from its first bytes (and, for zips, its entry names), or None."""
    for module in MODULES:
        if module.matches(path, head):
            return module.NAME
    if head[:4] == struct.pack("<I", sparse.MAGIC):
        return "sparse"
    if head[1080:1082] == b"\x53\xef":
        return "ext4"
    if head[1024:1028] == struct.pack("<I", erofs.MAGIC):
        return "erofs"
    if head[4096:4100] == struct.pack("<I", superimage.GEOMETRY_MAGIC):
        return "super"
    if head[:8] in (bootimg.BOOT_MAGIC, bootimg.VENDOR_MAGIC):
        return "bootimg"
    if head[257:262] == b"ustar" or (head[:2] == b"\x1f\x8b" and path.name.lower().endswith((".tar.gz", ".tgz"))):
        return "tar"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06") or path.suffix.lower() in archive.ZIP_SUFFIXES:
        return archive.zip_kind(path)
    return None


def sniff(item: InputFile) -> str | None:
    """The kind of a firmware input ("apk", "ota-zip", "zip", "tar", "sparse", "ext4", "erofs", "super", "bootimg"),
    or None."""
    return detect(item.path, item.head)


def sniff_dir(path: Path) -> bool:
    """A firmware tree (system/ or build.prop, or app/ and priv-app/), or a folder holding nothing but APKs, odex/vdex
    files and partition images. A mixed folder is not one input: its files are routed one by one."""
    if any((path / marker).exists() for marker in TREE_MARKERS):
        return True
    if (path / "app").is_dir() and (path / "priv-app").is_dir():
        return True
    try:
        files = [p.name for p in path.iterdir() if p.is_file() and not p.is_symlink()]
        others = [p for p in path.iterdir() if not p.is_file() or p.is_symlink()]
    except OSError:
        return False
    return bool(files) and not others and all(_firmware_file(n) for n in files)


def _firmware_file(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(FIRMWARE_FILE_SUFFIXES) or (lower.endswith(".img") and bool(image_prefix(name)))


def open_input(path: Path | str, limits: Limits = DEFAULT_LIMITS) -> Iterator[Item | InputError]:
    """Yield the files of one input as Items, and whatever could not be read as InputErrors (never silently)."""
    ctx = ContainerContext(limits=limits, scratch=Scratch(), expand=_expand)
    for result in _open(str(path), ctx):
        if isinstance(result, Item):
            result.keep = ctx.scratch
        paused = time.monotonic()
        yield result
        ctx.started += time.monotonic() - paused  # the time cap counts our work, not the consumer's


def _open(name: str, ctx: ContainerContext) -> Iterator[Item | InputError]:
    if name.startswith("adb:"):
        yield from adb.open_device(name.removeprefix("adb:"), ctx)
        return
    root = Path(name)
    if root.is_dir():  # the path the user named is followed; links inside it are not
        yield from directory.open_tree(root, Where(name), ctx)
    elif not root.is_file():
        yield InputError(Location(name), "no such file or not a regular file")
    else:
        st = root.stat()
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
        yield from _expand(root, Where(name, prefix=image_prefix(root.name)), ctx, single)


def _expand(path: Path, where: Where, ctx: ContainerContext, fallback: Item | None) -> Iterator[Item | InputError]:
    """Open the container at path (a real file or one of our temp files); anything else yields `fallback`."""
    try:
        kind = detect(path, read_head(path))
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
    opener = IMAGE_KINDS.get(kind) or ARCHIVE_KINDS[kind]
    try:
        yield from opener(path, where, ctx)
    except FormatError as exc:
        yield InputError(where.location(offset=exc.offset), f"{kind}: {exc.message}")
    except OSError as exc:  # e.g. the temp dir's disk is full
        yield InputError(where.location(), f"{kind}: {exc}")
    except Exception as exc:  # a hostile input must not end the batch; the message asks for a bug report
        yield InputError(
            where.location(), f"{kind}: unexpected {type(exc).__name__} while reading ({exc}); please report"
        )
