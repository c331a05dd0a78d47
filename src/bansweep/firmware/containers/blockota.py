"""Block-based OTAs (Android 5-10 non-A/B): X.transfer.list + X.new.dat(.br) rebuilt into the raw image X.img.

The transfer list (AOSP build/make/tools/releasetools/blockimgdiff.py; versions 1-4) is text: the version, the
number of blocks written, for version >= 2 two stash-size lines, then one command per line. A full OTA uses
`new RANGES` (the next blocks of X.new.dat go there, in order), `zero RANGES` and `erase RANGES` (both read as
zeros here). A range set is "COUNT,a1,b1,a2,b2..." of half-open 4096-byte block ranges. Commands that patch the
previous build (move, bsdiff, imgdiff, stash, free) make an incremental OTA: reported as unsupported input.

X.new.dat is plain, brotli (.br, Android 8+) or lzma/xz (.lzma); its decompressed size must be exactly the blocks
the `new` commands name (so a bomb stops there). The image is written to the private temp dir and opened with the
usual readers (ext4, EROFS).
"""

from __future__ import annotations

import lzma
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import brotli

from bansweep.findings import InputError
from bansweep.firmware.containers.item import (
    CHUNK,
    ContainerContext,
    Item,
    Where,
    file_reader,
    image_prefix,
    safe_name,
)
from bansweep.firmware.containers.payload import ExtentWriter, zero_written
from bansweep.firmware.limits import FormatError

NAME = "block-ota"
BLOCK = 4096
LIST_SUFFIX = ".transfer.list"
DATA_SUFFIXES = (".new.dat.br", ".new.dat.lzma", ".new.dat.xz", ".new.dat")
MEMBER = re.compile(r"\.(transfer\.list|new\.dat(\.br|\.lzma|\.xz)?|patch\.dat)$")
MAX_LIST_BYTES = 64 * 2**20
MAX_COMMANDS = 1_000_000
MAX_RANGES = 4_000_000  # numbers in all range sets
FULL_COMMANDS = ("new", "zero", "erase")
INCREMENTAL_COMMANDS = ("move", "bsdiff", "imgdiff", "stash", "free")


@dataclass(slots=True)
class TransferList:
    version: int
    commands: list[tuple[str, list[tuple[int, int]]]] = field(default_factory=list)  # (command, block ranges)

    @property
    def blocks(self) -> int:
        """Blocks in the rebuilt image: up to the end of the last range any command names."""
        return max((end for _, ranges in self.commands for _, end in ranges), default=0)

    @property
    def new_blocks(self) -> int:
        return sum(end - start for cmd, ranges in self.commands if cmd == "new" for start, end in ranges)


def matches(path: Path, head: bytes) -> bool:
    return path.name.endswith(LIST_SUFFIX) and head[:1].isdigit()


def parse_ranges(text: str, max_block: int, line: int) -> list[tuple[int, int]]:
    try:
        numbers = [int(n) for n in text.split(",")]
    except ValueError:
        raise FormatError(f"line {line}: range set {text[:60]!r} is not numbers") from None
    count, values = numbers[0], numbers[1:]
    if count != len(values) or count % 2 or not count:
        raise FormatError(f"line {line}: range set declares {count} numbers, has {len(values)}")
    ranges = list(zip(values[0::2], values[1::2], strict=True))
    for start, end in ranges:
        if not 0 <= start < end <= max_block:
            raise FormatError(f"line {line}: block range {start}-{end} is empty, reversed or past {max_block} blocks")
    return ranges


def parse_transfer_list(data: bytes, max_blocks: int) -> TransferList:
    """The commands of a full-OTA transfer list; FormatError (with the line) for anything else."""
    if len(data) > MAX_LIST_BYTES:
        raise FormatError(f"transfer list of {len(data)} bytes is over the {MAX_LIST_BYTES}-byte cap")
    lines = data.decode("ascii", "replace").splitlines()
    if not lines or not lines[0].strip().isdigit():
        raise FormatError("transfer list: first line is not a version number")
    version = int(lines[0])
    if not 1 <= version <= 4:
        raise FormatError(f"transfer list version {version} not supported (1-4)")
    header = 2 if version == 1 else 4
    if len(lines) < header or not all(lines[i].strip().isdigit() for i in range(1, header)):
        raise FormatError(f"transfer list: version {version} header needs {header} numeric lines")
    out = TransferList(version)
    numbers = 0
    for number, raw in enumerate(lines[header:], start=header + 1):
        words = raw.split()
        if not words:
            continue
        cmd = words[0]
        if cmd in INCREMENTAL_COMMANDS:
            raise FormatError(
                f"line {number}: incremental block OTA ('{cmd}' patches the previous build); only full OTAs "
                "can be audited"
            )
        if cmd not in FULL_COMMANDS or len(words) != 2:
            raise FormatError(f"line {number}: unknown transfer list command {raw[:60]!r}")
        ranges = parse_ranges(words[1], max_blocks, number)
        numbers += 2 * len(ranges)
        if numbers > MAX_RANGES or len(out.commands) >= MAX_COMMANDS:
            raise FormatError(f"line {number}: transfer list has too many ranges or commands (cap)")
        out.commands.append((cmd, ranges))
    return out


def _chunks(fh: BinaryIO, kind: str) -> Iterator[bytes]:
    """Decompressed X.new.dat in chunks of about CHUNK bytes at most."""
    if kind == ".new.dat":
        while chunk := fh.read(CHUNK):
            yield chunk
        return
    if kind == ".new.dat.br":
        dec = brotli.Decompressor()
        try:
            while not dec.is_finished():
                data = fh.read(CHUNK) if dec.can_accept_more_data() else b""
                if not data and dec.can_accept_more_data():
                    raise FormatError("brotli data truncated")
                out = dec.process(data, output_buffer_limit=CHUNK)
                if out:
                    yield out
        except brotli.error as exc:
            raise FormatError(f"corrupt brotli data ({exc})") from None
        if fh.read(1):
            raise FormatError("data after the end of the brotli stream")
        return
    lz: Any = lzma.LZMADecompressor(lzma.FORMAT_AUTO)
    try:
        while not lz.eof:
            data = fh.read(CHUNK) if lz.needs_input else b""
            if lz.needs_input and not data:
                raise FormatError("lzma data truncated")
            out = lz.decompress(data, CHUNK)
            if out:
                yield out
    except lzma.LZMAError as exc:
        raise FormatError(f"corrupt lzma/xz data ({exc})") from None


def rebuild(
    listing: TransferList, data: BinaryIO, kind: str, out: BinaryIO, charge: Callable[[int], None] | None = None
) -> int:
    """Write the image the transfer list describes to `out` (holes for zero/erase); returns its size in bytes."""
    size = listing.blocks * BLOCK
    out.truncate(size)
    written = bytearray(listing.blocks)
    new = [
        (start * BLOCK, (end - start) * BLOCK)
        for cmd, ranges in listing.commands
        if cmd == "new"
        for start, end in ranges
    ]
    tick = charge or (lambda n: None)
    writer = ExtentWriter(out, new, tick)
    stream = _chunks(data, kind)
    pending = memoryview(b"")
    for cmd, ranges in listing.commands:
        if cmd == "new":
            need = sum(end - start for start, end in ranges) * BLOCK
            while need:
                if not pending:
                    pending = memoryview(next(stream, b""))
                    if not pending:
                        raise FormatError(f"new data ends after {writer.total} bytes; the transfer list needs more")
                part, pending = pending[:need], pending[need:]
                writer.write(part)
                need -= len(part)
            for start, end in ranges:
                written[start:end] = b"\x01" * (end - start)
        else:  # zero, erase: holes, unless a `new` wrote there before
            for start, end in ranges:
                tick(0)  # time cap
                zero_written(out, written, start, end, BLOCK, size)
    if len(pending) or next(stream, b""):
        raise FormatError(f"new data is longer than the {listing.new_blocks} blocks the transfer list writes")
    return size


def data_beside(listing: Path) -> tuple[Path, str] | None:
    """X.new.dat(.br|...) next to X.transfer.list, with its suffix, or None."""
    stem = listing.name[: -len(LIST_SUFFIX)]
    for suffix in DATA_SUFFIXES:
        candidate = listing.with_name(stem + suffix)
        if candidate.is_file() and not candidate.is_symlink():
            return candidate, suffix
    return None


def open_pair(
    listing: Path, data: Path, kind: str, stem: str, where: Where, ctx: ContainerContext
) -> Iterator[Item | InputError]:
    """Rebuild X.img from a transfer list and its data file, then open it."""
    with listing.open("rb") as fh:
        text = fh.read(MAX_LIST_BYTES + 1)
    parsed = parse_transfer_list(text, ctx.limits.max_total_bytes // BLOCK)
    name = f"{stem}.img"
    raw = ctx.temp_path(".img")
    with data.open("rb") as src, raw.open("wb") as out:
        size = rebuild(parsed, src, kind, out, ctx.charge)
    item = Item(
        where.prefix + name, where.location(name), size, reader=file_reader(raw), max_bytes=ctx.limits.max_entry_bytes
    )
    yield from ctx.expand(raw, where.child(name, image_prefix(name)), ctx, item)


def open_container(path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    """X.transfer.list on disk (a folder or the input itself), with X.new.dat(.br) beside it."""
    found = data_beside(path)
    stem = path.name[: -len(LIST_SUFFIX)]
    if found is None:
        yield InputError(
            where.location(), f"block-based OTA: no {stem}.new.dat or {stem}.new.dat.br beside {path.name}"
        )
        return
    data, kind = found
    yield from open_pair(path, data, kind, stem, Where(where.file, where.chain, "", where.depth), ctx)


def is_member(name: str) -> bool:
    """An archive entry that belongs to a block-based OTA (transfer list, new data, patch data)."""
    return bool(MEMBER.search(name))


def open_member(
    name: str, names: set[str], extract: Callable[[str, Path], None], where: Where, ctx: ContainerContext
) -> Iterator[Item | InputError]:
    """One block-OTA entry of an archive: a transfer list is rebuilt with its data entry (extracted by `extract`);
    a data entry with a transfer list is its list's business; one without is reported, as is patch data."""
    clean = safe_name(name)
    if not clean:
        yield InputError(where.location(name), "unsafe entry name (absolute or with '..'); not extracted")
        return
    if clean.endswith(LIST_SUFFIX):
        base = name[: -len(LIST_SUFFIX)]
        data = next(((base + s, s) for s in DATA_SUFFIXES if base + s in names), None)
        stem = posixpath.basename(clean)[: -len(LIST_SUFFIX)]
        if data is None:
            yield InputError(where.location(clean), f"block-based OTA: no {stem}.new.dat(.br) for this transfer list")
            return
        folder = ctx.temp_path(".blockota")
        folder.mkdir()
        listing, content = folder / "part.transfer.list", folder / ("part" + data[1])
        try:
            extract(name, listing)
            extract(data[0], content)
            yield from open_pair(listing, content, data[1], stem, where.child(clean, ""), ctx)
        except FormatError as exc:
            yield InputError(where.location(clean, exc.offset), f"block-based OTA: {exc.message}")
        return
    base = MEMBER.sub("", name)
    if base + LIST_SUFFIX not in names:
        yield InputError(where.location(clean), "block-based OTA data without its .transfer.list; not read")
