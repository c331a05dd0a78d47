"""Tolerant zip/APK reader that follows Android's installer rather than the zip spec.

Why not the stdlib zipfile: it trusts the local headers in places Android does not, raises on the tricks malware
uses against analysis tools (mismatching local/central headers, unknown compression methods, bogus sizes,
"deflated" entries that are stored) and hides duplicate names. Android's libziparchive reads the central directory
and uses the local header only to find where the data starts; this reader does the same, records every
inconsistency as an issue, and bounds every decompression (size, ratio, total).
"""

from __future__ import annotations

import mmap
import struct
import zlib
from dataclasses import dataclass, field

from bansweep.firmware.limits import FormatError, Limits, total

EOCD_SIG = b"PK\x05\x06"
EOCD64_LOCATOR_SIG = b"PK\x06\x07"
EOCD64_SIG = b"PK\x06\x06"
CENTRAL_SIG = b"PK\x01\x02"
LOCAL_SIG = b"PK\x03\x04"
SIG_BLOCK_MAGIC = b"APK Sig Block 42"
EOCD_SIZE = 22
MAX_COMMENT = 0xFFFF
STORED, DEFLATED = 0, 8
FLAG_ENCRYPTED, FLAG_DESCRIPTOR, FLAG_UTF8 = 0x1, 0x8, 0x800
MAX_ISSUES = 1000
DEFAULT_LIMITS = Limits()
RATIO_FLOOR = 1 << 20  # small entries may compress better than the ratio cap (e.g. runs of zeros)

_CENTRAL = struct.Struct("<4s6H3L5H2L")  # 46 bytes
_LOCAL = struct.Struct("<4s5H3L2H")  # 30 bytes
_EOCD = struct.Struct("<4s4H2LH")  # 22 bytes
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # 56 bytes

Data = bytes | bytearray | memoryview | mmap.mmap


@dataclass(slots=True)
class ZipEntry:
    name: str
    method: int  # as declared in the central directory
    flags: int
    crc: int
    compressed_size: int
    size: int
    local_offset: int
    data_offset: int  # -1 when the local header is missing or unreadable


@dataclass(slots=True)
class ZipArchive:
    data: Data = field(repr=False)
    entries: list[ZipEntry]
    issues: list[str]
    cd_offset: int
    sig_block: bytes | None = None  # the whole APK Signing Block (size, pairs, size, magic)
    sig_block_offset: int | None = None
    total_read: int = 0
    _by_name: dict[str, ZipEntry] = field(default_factory=dict, repr=False)

    def find(self, name: str) -> ZipEntry | None:
        """The first central-directory entry with this exact name (duplicates are listed in issues)."""
        return self._by_name.get(name)

    def issue(self, text: str) -> None:
        if len(self.issues) < MAX_ISSUES and text not in self.issues:  # reading an entry twice adds nothing
            self.issues.append(text)

    @total
    def read(self, entry: ZipEntry, limits: Limits = DEFAULT_LIMITS) -> bytes:
        """Entry data per Android's rules: central-directory method and sizes, local header only for the offset.

        Unknown methods are read as stored (as Android does); a "deflated" entry that does not inflate but whose
        sizes match is read as stored, with an issue. Raises FormatError when the data is missing or over a limit.
        """
        if entry.data_offset < 0:
            raise FormatError(f"{entry.name}: no local header", entry.local_offset)
        end_of_data = len(self.data)
        start = entry.data_offset
        if entry.method == DEFLATED:
            stop = min(start + entry.compressed_size, end_of_data)
            if stop - start < entry.compressed_size:
                self.issue(f"{entry.name}: compressed data truncated by end of file")
            cap = min(limits.max_entry_bytes, max(entry.compressed_size * limits.max_ratio, RATIO_FLOOR))
            cap = min(cap, limits.max_total_bytes - self.total_read)
            try:
                out = _inflate(self.data, start, stop, cap, entry.name)
            except zlib.error as e:
                if entry.compressed_size == entry.size:
                    self.issue(f"{entry.name}: declared deflated but data is stored (bogus compression flag)")
                    out = self._stored(entry, entry.size, limits)
                else:
                    raise FormatError(f"{entry.name}: corrupt deflate data ({e})", start) from None
        else:
            out = self._stored(entry, entry.size, limits)
        if len(out) != entry.size:
            self.issue(f"{entry.name}: {len(out)} bytes of data but {entry.size} declared")
        if zlib.crc32(out) != entry.crc:
            self.issue(f"{entry.name}: CRC-32 mismatch")
        self.total_read += len(out)
        return out

    def _stored(self, entry: ZipEntry, size: int, limits: Limits) -> bytes:
        if entry.compressed_size != size:
            # Stored data with two different sizes (a trick against analysis tools): take the larger one that fits,
            # so the content is complete whichever size is true; AXML and dex ignore trailing bytes.
            self.issue(f"{entry.name}: stored entry with sizes {entry.compressed_size} and {size}")
            room = len(self.data) - entry.data_offset
            size = max(s for s in (size, entry.compressed_size, min(size, room)) if s <= room) if room > 0 else size
        if size > limits.max_entry_bytes or self.total_read + size > limits.max_total_bytes:
            raise FormatError(f"{entry.name}: entry of {size} bytes over the size limit", entry.local_offset)
        stop = entry.data_offset + size
        if stop > len(self.data):
            raise FormatError(f"{entry.name}: data runs past the end of the file", entry.data_offset)
        return bytes(self.data[entry.data_offset : stop])


def _inflate(data: Data, start: int, stop: int, cap: int, name: str) -> bytes:
    """Raw deflate data[start:stop], at most cap bytes out (one zlib call over a view: no copies of the input)."""
    d = zlib.decompressobj(-15)
    with memoryview(data) as view:
        out = d.decompress(view[start:stop], cap + 1)
    if len(out) > cap:
        raise FormatError(f"{name}: decompresses past the size/ratio limit ({cap} bytes)", start)
    if not d.eof:  # truncated stream: what zlib still holds
        out += d.flush()
    if len(out) > cap:
        raise FormatError(f"{name}: decompresses past the size/ratio limit ({cap} bytes)", start)
    if not d.eof and not out:
        raise zlib.error("incomplete or invalid deflate stream")
    return out


def _find_eocd(data: Data) -> int:
    n = len(data)
    if n < EOCD_SIZE:
        raise FormatError("not a zip: shorter than an end-of-central-directory record")
    lo = max(0, n - EOCD_SIZE - MAX_COMMENT)
    tail = bytes(data[lo:n])
    pos = tail.rfind(EOCD_SIG)
    while pos >= 0:
        if pos + EOCD_SIZE <= len(tail):
            (comment_len,) = struct.unpack_from("<H", tail, pos + 20)
            if pos + EOCD_SIZE + comment_len <= len(tail):
                return lo + pos
        pos = tail.rfind(EOCD_SIG, 0, pos)
    raise FormatError("not a zip: no end-of-central-directory record in the last 64 KiB")


def _zip64_values(extra: bytes, wanted: list[str], vals: dict[str, int]) -> bool:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if tag == 0x0001:
            for i, key in enumerate(wanted):
                if 8 * i + 8 > len(body):
                    return False
                vals[key] = struct.unpack_from("<Q", body, 8 * i)[0]
            return True
        pos += 4 + size
    return False


@total
def open_zip(data: Data, limits: Limits = DEFAULT_LIMITS) -> ZipArchive:
    """Read the central directory of a zip/APK. Raises FormatError only when no central directory can be read."""
    n = len(data)
    eocd = _find_eocd(data)
    _, disk, cd_disk, _, count, cd_size, cd_offset, comment_len = _EOCD.unpack_from(data, eocd)
    issues: list[str] = []
    if eocd + EOCD_SIZE + comment_len < n:
        issues.append(f"{n - eocd - EOCD_SIZE - comment_len} bytes after the end of the zip")
    if disk or cd_disk:
        issues.append("multi-disk archive markers (disk numbers not zero)")
    cd_end = eocd
    zip64 = count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF
    if zip64 and eocd >= 20 and bytes(data[eocd - 20 : eocd - 16]) == EOCD64_LOCATOR_SIG:
        (rec,) = struct.unpack_from("<Q", data, eocd - 12)
        if rec + _EOCD64.size <= n and bytes(data[rec : rec + 4]) == EOCD64_SIG:
            *_, count, cd_size, cd_offset = _EOCD64.unpack_from(data, rec)
            cd_end = rec
        else:
            issues.append("zip64 locator points to no zip64 end record")
    delta = 0
    if cd_offset + cd_size > cd_end or bytes(data[cd_offset : cd_offset + 4]) != CENTRAL_SIG:
        # Archive with a prefix and unadjusted offsets: the central directory ends where the end record starts.
        guess = cd_end - cd_size
        if count and 0 <= guess < n and bytes(data[guess : guess + 4]) == CENTRAL_SIG:
            delta = guess - cd_offset
            issues.append(f"offsets shifted by {delta} bytes (data prepended without fixing the zip)")
            cd_offset = guess
        elif count:
            raise FormatError("central directory offset points outside the file or to no entry", cd_offset)
    elif cd_offset + cd_size < cd_end:
        issues.append(f"{cd_end - cd_offset - cd_size} bytes between the central directory and its end record")
    if count > limits.max_entries or count * _CENTRAL.size > n:
        raise FormatError(f"central directory claims {count} entries, more than the file can hold", cd_offset)
    z = ZipArchive(data=data, entries=[], issues=issues, cd_offset=cd_offset)
    _read_central(z, count, cd_offset, cd_offset + cd_size, delta)
    _find_sig_block(z)
    lead = min((e.local_offset for e in z.entries), default=0)
    if lead > 0:
        kind = "a dex file (Janus-style)" if bytes(data[0:4]) == b"dex\n" else "unknown data"
        z.issue(f"{lead} bytes before the first zip entry: {kind}")
    return z


def _read_central(z: ZipArchive, count: int, pos: int, cd_stop: int, delta: int) -> None:
    data = z.data
    n = len(data)
    by_name, entries, cd_offset = z._by_name, z.entries, z.cd_offset
    unpack_central, unpack_local = _CENTRAL.unpack_from, _LOCAL.unpack_from
    central_sig, local_sig = CENTRAL_SIG, LOCAL_SIG
    for i in range(count):
        if pos + 46 > n or data[pos : pos + 4] != central_sig:
            z.issue(f"central directory entry {i} at offset {pos}: bad signature; {count - i} entries not read")
            break
        (_, _, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, _, local) = unpack_central(data, pos)
        raw_name = bytes(data[pos + 46 : pos + 46 + nlen])
        extra_at = pos + 46 + nlen
        pos += 46 + nlen + xlen + clen
        if pos > cd_stop:
            z.issue(f"central directory entry {i} runs past the declared directory size")
        if 0xFFFFFFFF in (usize, csize, local):
            vals = {"size": usize, "compressed_size": csize, "local": local}
            wanted = [k for k, v in vals.items() if v == 0xFFFFFFFF]
            if _zip64_values(bytes(data[extra_at : extra_at + xlen]), wanted, vals):
                usize, csize, local = vals["size"], vals["compressed_size"], vals["local"]
            else:
                z.issue(f"entry {i}: zip64 sizes announced but no zip64 extra field")
        try:
            name = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            name = raw_name.decode("utf-8", "replace")
            z.issue(f"entry {i}: name is not valid UTF-8: {name!r}")
        entry = ZipEntry(name, method, flags, crc, csize, usize, local + delta, -1)
        if name[:1] in ("/", "\\") or ".." in name or "\x00" in name or name[1:2] == ":":
            _check_name(z, entry)
        if name in by_name:
            z.issue(f"{name!r}: duplicate entry name")
        else:
            by_name[name] = entry
        if flags & FLAG_ENCRYPTED:
            z.issue(f"{name!r}: encrypted flag set (ignored, as Android does)")
        if method not in (STORED, DEFLATED):
            z.issue(f"{name!r}: unknown compression method {method} (read as stored, as Android does)")
        # The common case, checked inline: the local header repeats the central directory's method, name and (unless
        # a data descriptor carries them) CRC and sizes. Anything else goes through the field-by-field check that
        # names each inconsistency.
        off = entry.local_offset
        lh = unpack_local(data, off) if 0 <= off <= n - 30 else None
        if (
            lh is not None
            and lh[0] == local_sig
            and lh[3] == method
            and lh[9] == nlen
            and ((lh[2] | flags) & FLAG_DESCRIPTOR or lh[6:9] == (crc, csize, usize))
            and data[off + 30 : off + 30 + nlen] == raw_name
        ):
            entry.data_offset = off + 30 + nlen + lh[10]
            if entry.data_offset + csize > cd_offset and entry.data_offset <= cd_offset:
                z.issue(f"{name!r}: data overlaps the central directory")
        else:
            _check_local(z, entry, raw_name)
        entries.append(entry)


def _check_name(z: ZipArchive, e: ZipEntry) -> None:
    name = e.name
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        z.issue(f"{name!r}: absolute path name")
    if ".." in parts:
        z.issue(f"{name!r}: path traversal ('..') in name")
    if "\x00" in name:
        z.issue(f"{name!r}: NUL byte in name")


def _check_local(z: ZipArchive, e: ZipEntry, raw_name: bytes) -> None:
    data = z.data
    off = e.local_offset
    if off < 0 or off + _LOCAL.size > len(data) or bytes(data[off : off + 4]) != LOCAL_SIG:
        z.issue(f"{e.name!r}: no local header at offset {off}")
        return
    _, _, lflags, lmethod, _, _, lcrc, lcsize, lusize, lnlen, lxlen = _LOCAL.unpack_from(data, off)
    e.data_offset = off + _LOCAL.size + lnlen + lxlen
    if bytes(data[off + 30 : off + 30 + lnlen]) != raw_name:
        local = bytes(data[off + 30 : off + 30 + lnlen]).decode("utf-8", "replace")
        z.issue(f"{e.name!r}: local header names it {local!r}")
    if lmethod != e.method:
        z.issue(f"{e.name!r}: local header method {lmethod}, central directory {e.method}")
    if not (lflags & FLAG_DESCRIPTOR) and not (e.flags & FLAG_DESCRIPTOR):
        for what, lv, cv in (("CRC", lcrc, e.crc), ("compressed size", lcsize, e.compressed_size)):
            if lv != cv and lv != 0xFFFFFFFF:
                z.issue(f"{e.name!r}: local header {what} {lv}, central directory {cv}")
        if lusize != e.size and lusize != 0xFFFFFFFF:
            z.issue(f"{e.name!r}: local header size {lusize}, central directory {e.size}")
    if e.data_offset + e.compressed_size > z.cd_offset and e.data_offset <= z.cd_offset:
        z.issue(f"{e.name!r}: data overlaps the central directory")


def _find_sig_block(z: ZipArchive) -> None:
    data, cd = z.data, z.cd_offset
    if cd < 32 or bytes(data[cd - 16 : cd]) != SIG_BLOCK_MAGIC:
        return
    (size,) = struct.unpack_from("<Q", data, cd - 24)
    start = cd - size - 8
    if size < 24 or start < 0:
        z.issue(f"APK Signing Block: size {size} does not fit before the central directory")
        return
    (size_head,) = struct.unpack_from("<Q", data, start)
    if size_head != size:
        z.issue(f"APK Signing Block: leading size {size_head} differs from trailing size {size}")
        return
    z.sig_block = bytes(data[start:cd])
    z.sig_block_offset = start
