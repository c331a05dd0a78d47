"""OTA, factory and plain zips (via the tolerant reader in formats/zipfile.py) and tar factory images.

Entries are yielded as Items with their names as firmware paths; archives and images inside are streamed to the
private temp dir and opened in turn (depth-capped by the caller). Absolute names and names with '..' are refused
and reported, as are zip bombs (size and ratio caps); A/B payload.bin and block-based OTA images (X.transfer.list
with X.new.dat.br) are rebuilt and opened (payload.py, blockota.py); a stored payload.bin is read in place.
"""

from __future__ import annotations

import mmap
import posixpath
import re
import stat
import struct
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.firmware.containers import blockota, payload, updater_script
from bansweep.firmware.containers.item import (
    CHUNK,
    ContainerContext,
    Item,
    Where,
    archive_prefix,
    copy_bounded,
    file_reader,
    image_prefix,
    is_container_name,
    link_problem,
    safe_name,
)
from bansweep.firmware.formats.zipfile import DEFLATED, RATIO_FLOOR, STORED, ZipArchive, ZipEntry, open_zip
from bansweep.firmware.limits import FormatError

ZIP_SUFFIXES = (".zip", ".apk", ".jar", ".apex", ".capex", ".apks")
UPDATER_SCRIPT = "META-INF/com/google/android/updater-script"
OTA_MARKERS = ("META-INF/com/google/android/update-binary", "META-INF/com/android/metadata", "payload.bin")
MAX_SCRIPT_BYTES = 8 * 2**20
APEX_MARKERS = {"apex_payload.img", "apex_manifest.pb", "apex_manifest.json", "original_apex"}
BLOCK_OTA = re.compile(r"\.new\.dat(\.br|\.lzma)?$|\.patch\.dat$")
NAME_ISSUES = ("absolute path name", "path traversal", "NUL byte in name")  # reported per entry below


def _map(path: Path) -> mmap.mmap:
    with path.open("rb") as fh:
        if path.stat().st_size == 0:
            raise FormatError("empty file")
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


OFFICE_MARKERS = {"[Content_Types].xml", "mimetype"}


def zip_kind(path: Path) -> str | None:
    """'apk' for an APK or JAR (one Item), 'ota-zip' for an OTA/factory zip, 'zip' otherwise, None if no zip."""
    suffix = path.suffix.lower()
    try:
        names = {e.name for e in open_zip(_map(path)).entries}
    except (FormatError, OSError, ValueError, struct.error):
        # a damaged APK or zip is still ours, so the firmware job can say precisely what is wrong with it
        return "apk" if suffix in (".apk", ".jar") else ("zip" if suffix == ".zip" else None)
    if names & OFFICE_MARKERS and "AndroidManifest.xml" not in names:
        return None  # an office document (e.g. an XLSX inventory) is a zip too, but not firmware
    if suffix in (".apex", ".capex") or names & APEX_MARKERS:
        return "zip"  # an APEX has a manifest too, but its code is in the payload image
    if suffix == ".jar" or "AndroidManifest.xml" in names:
        return "apk"
    if any(m in names for m in OTA_MARKERS) or any(n.endswith(".img") for n in names):
        return "ota-zip"
    return "zip"


def member_name(name: str, where: Where) -> str | InputError:
    """An archive member's safe name, or the InputError saying why it is not extracted."""
    clean = safe_name(name)
    if not clean:
        return InputError(where.location(name), "unsafe entry name (absolute or with '..'); not extracted")
    base = posixpath.basename(clean)
    if BLOCK_OTA.search(base):
        return InputError(
            where.location(clean), f"block-based OTA image ({base}) not supported; convert it to a raw image first"
        )
    return clean


def open_zip_file(path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    z = open_zip(_map(path), ctx.limits)
    for issue in z.issues:
        if not any(marker in issue for marker in NAME_ISSUES):
            yield InputError(where.location(), f"zip: {issue}")
    limits = ctx.limits
    perms = updater_script.Perms([])
    script = z.find(UPDATER_SCRIPT)
    if script is not None:
        try:
            text = z.read(script, replace(limits, max_entry_bytes=MAX_SCRIPT_BYTES)).decode("utf-8", "replace")
            perms = updater_script.Perms(updater_script.parse(text))
        except FormatError as exc:
            yield InputError(where.location(UPDATER_SCRIPT, exc.offset), f"updater-script: {exc.message}")
        else:
            for link, target, line in updater_script.symlinks(text):
                here = Location(where.file, entry=where.location(UPDATER_SCRIPT).entry, line=line)
                link_path = safe_name(link)
                if link_path:
                    yield Item(where.prefix + link_path, here, 0, stat.S_IFLNK | 0o777, link=target)
                else:
                    yield InputError(here, f"symlink at unsafe path {link!r}; not listed")
    for entry in z.entries:
        if entry.name.endswith("/"):
            continue  # a folder entry has no content
        try:
            ctx.count()
        except FormatError as exc:
            yield InputError(where.location(), f"zip: {exc.message}")
            return
        if blockota.is_member(entry.name):  # X.transfer.list with X.new.dat(.br): rebuilt and opened as X.img
            extract = lambda name, dst: _extract(z, z.find(name), dst, ctx)  # type: ignore[arg-type]  # noqa: E731
            yield from blockota.open_member(entry.name, {e.name for e in z.entries}, extract, where, ctx)
            continue
        clean = member_name(entry.name, where)
        if isinstance(clean, InputError):
            yield clean
            continue
        if posixpath.basename(clean) == "payload.bin" and entry.method == STORED and entry.data_offset >= 0:
            yield from _stored_payload(path, entry, clean, where, ctx)  # A/B OTA: read in place, not copied
            continue
        container = is_container_name(clean)
        ratio = entry.size / max(entry.compressed_size, 1)
        if entry.size > RATIO_FLOOR and ratio > limits.max_ratio:
            yield InputError(
                where.location(clean),
                f"compression ratio {ratio:.0f}:1 over the {limits.max_ratio}:1 cap (zip bomb?); not extracted",
            )
            continue
        if not container and entry.size > limits.max_entry_bytes:
            yield InputError(
                where.location(clean),
                f"entry of {entry.size} bytes over the {limits.max_entry_bytes}-byte cap; not extracted",
            )
            continue
        item = Item(
            where.prefix + clean,
            where.location(clean),
            entry.size,
            max_bytes=limits.max_entry_bytes,
            reader=_zip_reader(z, entry, ctx),
        )
        perm = perms.lookup(clean)
        if perm is not None and perm.mode is not None:
            item.mode, item.uid, item.gid = stat.S_IFREG | (perm.mode & 0o7777), perm.uid, perm.gid
        if container:
            yield from _nested(lambda dst, e=entry: _extract(z, e, dst, ctx), item, clean, where, ctx)  # type: ignore[misc]
        else:
            yield item


def _stored_payload(
    path: Path, entry: ZipEntry, clean: str, where: Where, ctx: ContainerContext
) -> Iterator[Item | InputError]:
    try:
        yield from payload.open_payload(path, entry.data_offset, entry.size, where.child(clean, ""), ctx)
    except FormatError as exc:
        yield InputError(where.location(clean, exc.offset), f"payload: {exc.message}")


def _zip_reader(z: ZipArchive, entry: ZipEntry, ctx: ContainerContext) -> Callable[[int], bytes]:
    def read(cap: int) -> bytes:
        return z.read(entry, replace(ctx.limits, max_entry_bytes=cap))

    return read


def _extract(z: ZipArchive, entry: ZipEntry, dst: Path, ctx: ContainerContext) -> None:
    """Stream one entry to dst; ZipArchive.read would hold a multi-GB image in memory."""
    if entry.data_offset < 0:
        raise FormatError(f"{entry.name}: no local header", entry.local_offset)
    cap = max(entry.compressed_size * ctx.limits.max_ratio, RATIO_FLOOR)
    start = entry.data_offset
    stop = min(start + (entry.compressed_size if entry.method == DEFLATED else entry.size), len(z.data))
    inflater = zlib.decompressobj(-15) if entry.method == DEFLATED else None
    written = 0
    with dst.open("wb") as out:
        for pos in range(start, stop, CHUNK):
            block = bytes(z.data[pos : min(pos + CHUNK, stop)])
            while block:
                if inflater is None:
                    part, block = block, b""
                else:
                    try:
                        part = inflater.decompress(block, CHUNK)
                    except zlib.error as exc:
                        raise FormatError(f"corrupt deflate data ({exc})", start) from None
                    block = inflater.unconsumed_tail
                written += len(part)
                if written > cap:
                    raise FormatError(f"decompresses past {cap} bytes (ratio cap; zip bomb?)", start)
                ctx.charge(len(part))
                out.write(part)
    if written != entry.size:
        raise FormatError(f"{written} bytes of data but {entry.size} declared (truncated?)", start)


def _nested(
    extract: Callable[[Path], None], item: Item, rel: str, where: Where, ctx: ContainerContext
) -> Iterator[Item | InputError]:
    tmp = ctx.temp_path(posixpath.splitext(rel)[1])
    try:
        extract(tmp)
    except FormatError as exc:
        yield InputError(where.location(rel, exc.offset), exc.message)
        return
    item.reader = file_reader(tmp)
    child_prefix = image_prefix(item.path) if rel.lower().endswith(".img") else archive_prefix(item.path)
    yield from ctx.expand(tmp, where.child(rel, child_prefix), ctx, item)


TAR_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error)  # a truncated or corrupt member, compressed or not
TAR_TYPES = {
    tarfile.DIRTYPE: stat.S_IFDIR,
    tarfile.SYMTYPE: stat.S_IFLNK,
    tarfile.LNKTYPE: stat.S_IFREG,
    tarfile.CHRTYPE: stat.S_IFCHR,
    tarfile.BLKTYPE: stat.S_IFBLK,
    tarfile.FIFOTYPE: stat.S_IFIFO,
}


def open_tar(path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    try:
        tar = tarfile.open(path, "r:*")  # noqa: SIM115 - stays open for the Items' readers
    except TAR_ERRORS as exc:
        raise FormatError(f"unreadable tar: {exc}") from None
    links: dict[str, str] = {}
    while True:
        try:
            member = tar.next()
        except TAR_ERRORS as exc:
            yield InputError(where.location(offset=tar.offset), f"tar: {exc}")
            return
        if member is None:
            return
        if member.isdir():
            continue
        try:
            ctx.count()
        except FormatError as exc:
            yield InputError(where.location(), f"tar: {exc.message}")
            return
        clean = member_name(member.name, where)
        if isinstance(clean, InputError):
            yield clean
            continue
        mode = TAR_TYPES.get(member.type, stat.S_IFREG) | member.mode
        item = Item(
            where.prefix + clean,
            where.location(clean),
            member.size,
            mode,
            member.uid,
            member.gid,
            max_bytes=ctx.limits.max_entry_bytes,
        )
        if member.issym() or member.islnk():
            item.link, item.size = member.linkname, 0
            links[clean] = member.linkname
            target = member.linkname if member.issym() else "/" + member.linkname
            issue = link_problem(clean, target, links.get)
            if issue:
                yield InputError(where.location(clean), issue)
            yield item
        elif not member.isfile():
            yield item
        elif is_container_name(clean):
            yield from _nested(lambda dst, m=member: _tar_copy(tar, m, dst, ctx), item, clean, where, ctx)  # type: ignore[misc]
        else:
            item.reader = _tar_reader(tar, member)
            yield item


def _tar_copy(tar: tarfile.TarFile, member: tarfile.TarInfo, dst: Path, ctx: ContainerContext) -> None:
    try:
        src = tar.extractfile(member)
        if src is None:
            raise FormatError("tar member has no data")
        copy_bounded(src.read, dst, ctx.limits.max_total_bytes, ctx)
    except TAR_ERRORS as exc:
        raise FormatError(f"tar member unreadable (truncated?): {exc}", member.offset_data) from None


def _tar_reader(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Callable[[int], bytes]:
    def read(cap: int) -> bytes:
        try:
            src = tar.extractfile(member)
            data = src.read(cap + 1) if src else b""
        except TAR_ERRORS as exc:
            raise FormatError(f"tar member unreadable (truncated?): {exc}", member.offset_data) from None
        if len(data) > cap:
            raise FormatError(f"content is over the {cap}-byte read limit")
        return data

    return read
