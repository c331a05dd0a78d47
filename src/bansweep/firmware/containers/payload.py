"""A/B OTA payloads (payload.bin): every partition of a full OTA rebuilt into the private temp dir, then opened.

Layout (AOSP system/update_engine): "CrAU", major version (u64 BE, 2), manifest size (u64 BE), metadata signature
size (u32 BE), the DeltaArchiveManifest (protobuf, see update_metadata.py), the metadata signature, then the data
blobs that operations point into. A full OTA writes each partition with REPLACE, REPLACE_BZ, REPLACE_XZ,
REPLACE_ZSTD and ZERO (DISCARD is read as zeros); an incremental one patches the previous build's blocks, which we
do not have, so such a partition is reported as unsupported input, never skipped silently.

Everything the manifest says is checked against the file and the partition: blob ranges inside the data area,
extents inside the partition size, decompressed output capped at the extents' length (bombs), each blob's and the
partition's SHA-256 when given, the input's byte and time caps. Rebuilt partitions go through the usual image
readers (ext4, EROFS, sparse, boot images); others (vbmeta ...) are Items of their own.
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import os
import re
import struct
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import zstandard

from bansweep.findings import InputError
from bansweep.firmware.containers.item import CHUNK, ContainerContext, Item, Where, file_reader, image_prefix
from bansweep.firmware.containers.update_metadata import OPERATION_NAMES, OPERATION_TYPES, DeltaArchiveManifest
from bansweep.firmware.limits import FormatError

NAME = "payload"
MAGIC = b"CrAU"
HEADER = struct.Struct(">4sQQ")  # magic, major version, manifest size
SIGNATURE_SIZE = struct.Struct(">I")  # metadata signature size (major version 2)
MAX_MANIFEST = 64 * 2**20
MAX_METADATA_SIGNATURE = 2**20
MAX_PARTITIONS = 256
MAX_OPERATIONS = 2_000_000  # over all partitions
MAX_EXTENTS = 4_000_000
THREADS = 2  # operations decoded ahead in threads
AHEAD = 4
MAX_AHEAD_BYTES = 16 * 2**20  # larger operations are decoded as they are written, in chunks
PARTITION_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
OP = OPERATION_TYPES
FULL_OPS = {OP["REPLACE"], OP["REPLACE_BZ"], OP["REPLACE_XZ"], OP["REPLACE_ZSTD"], OP["ZERO"], OP["DISCARD"]}


@dataclass(frozen=True, slots=True)
class Payload:
    version: int
    manifest: Any  # DeltaArchiveManifest
    data_start: int  # offset of the first data blob in the file
    size: int  # file size
    block_size: int


def matches(path: Path, head: bytes) -> bool:
    return head[:4] == MAGIC


def read_header(fh: BinaryIO, size: int, base: int = 0) -> Payload:
    """The header and manifest of the payload at `base` (bytes [base, size) of the file), checked against it."""
    fh.seek(base)
    raw = fh.read(HEADER.size + SIGNATURE_SIZE.size)
    if len(raw) < HEADER.size + SIGNATURE_SIZE.size:
        raise FormatError("header truncated", 0)
    magic, version, manifest_size = HEADER.unpack_from(raw)
    if magic != MAGIC:
        raise FormatError("not an A/B OTA payload (bad magic)", 0)
    if version != 2:
        raise FormatError(f"major version {version} not supported (2 is)", 4)
    (signature_size,) = SIGNATURE_SIZE.unpack_from(raw, HEADER.size)
    if manifest_size > MAX_MANIFEST:
        raise FormatError(f"manifest of {manifest_size} bytes is over the {MAX_MANIFEST}-byte cap", 12)
    if signature_size > MAX_METADATA_SIGNATURE:
        raise FormatError(f"metadata signature of {signature_size} bytes is over the cap", 20)
    start = base + len(raw)
    data_start = start + manifest_size + signature_size
    if data_start > size:
        raise FormatError(f"manifest and signature ({manifest_size} + {signature_size} bytes) run past the end", 12)
    blob = fh.read(manifest_size)
    manifest = DeltaArchiveManifest()
    try:
        manifest.ParseFromString(blob)
    except Exception as exc:  # protobuf's DecodeError (its module differs between implementations)
        raise FormatError(f"manifest is not a valid DeltaArchiveManifest ({exc})", start) from None
    if not manifest.IsInitialized():
        missing = ", ".join(manifest.FindInitializationErrors()[:5])
        raise FormatError(f"manifest lacks required fields ({missing})", start)
    block_size = manifest.block_size
    if block_size < 512 or block_size > 2**20 or block_size & (block_size - 1):
        raise FormatError(f"bad block size {block_size} in the manifest", start)
    if len(manifest.partitions) > MAX_PARTITIONS:
        raise FormatError(f"{len(manifest.partitions)} partitions, over the cap of {MAX_PARTITIONS}", start)
    operations = sum(len(p.operations) for p in manifest.partitions)
    if operations > MAX_OPERATIONS:
        raise FormatError(f"{operations} operations, over the cap of {MAX_OPERATIONS}", start)
    return Payload(version, manifest, data_start, size, block_size)


def partition_name(part: Any) -> str:
    """The partition's name; protobuf hands back bytes when the string is not valid UTF-8."""
    name = part.partition_name
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


def partition_problem(part: Any, payload: Payload, max_bytes: int) -> str | None:
    """Why a partition cannot be rebuilt from this payload alone (incremental, no size, over a cap), or None."""
    if not PARTITION_NAME.fullmatch(partition_name(part)):
        return f"partition name {partition_name(part)[:80]!r} is not a plain name; not extracted"
    incremental = sorted(
        {OPERATION_NAMES.get(op.type, str(op.type)) for op in part.operations if op.type not in FULL_OPS}
    )
    if incremental:
        return (
            f"incremental OTA: partition {part.partition_name} is patched from the previous build "
            f"({', '.join(incremental)}); only full OTAs can be audited, not extracted"
        )
    if not part.HasField("new_partition_info") or not part.new_partition_info.size:
        return f"partition {part.partition_name} has no size in the manifest; not extracted"
    if part.new_partition_info.size > max_bytes:
        return (
            f"partition {part.partition_name} of {part.new_partition_info.size} bytes is over the {max_bytes}-byte cap"
        )
    return None


class Blob:
    """One operation's data in the payload, read in chunks (pread: safe from several threads) and hashed."""

    def __init__(self, fd: int, start: int, length: int):
        self.fd, self.pos, self.left = fd, start, length
        self.digest = hashlib.sha256()

    def read(self, n: int = CHUNK) -> bytes:
        n = min(n, self.left)
        if n <= 0:
            return b""
        data = os.pread(self.fd, n, self.pos)
        if len(data) != n:
            raise FormatError("operation data truncated", self.pos)
        self.pos += n
        self.left -= n
        self.digest.update(data)
        return data


class ExtentWriter:
    """Writes a stream onto a list of (offset, length) byte ranges of the output, never past them."""

    def __init__(self, out: BinaryIO, ranges: list[tuple[int, int]], charge: Callable[[int], None]):
        self.out, self.ranges, self.charge = out, ranges, charge
        self.index, self.done = 0, 0  # current range, bytes written into it
        self.total = 0

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            if self.index >= len(self.ranges):
                raise FormatError("operation writes more data than its destination extents hold (bomb?)")
            offset, length = self.ranges[self.index]
            part = view[: length - self.done]
            self.charge(len(part))
            self.out.seek(offset + self.done)
            self.out.write(part)
            self.done += len(part)
            self.total += len(part)
            view = view[len(part) :]
            if self.done == length:
                self.index, self.done = self.index + 1, 0


def _decompressed(kind: int, blob: Blob) -> Iterator[bytes]:
    """The operation's output in chunks of at most CHUNK bytes (each decompressor asked for bounded output)."""
    if kind == OP["REPLACE"]:
        while chunk := blob.read():
            yield chunk
        return
    if kind == OP["REPLACE_ZSTD"]:
        reader = zstandard.ZstdDecompressor().stream_reader(cast(BinaryIO, blob), read_size=CHUNK)
        try:
            while chunk := reader.read(CHUNK):
                yield chunk
        except zstandard.ZstdError as exc:
            raise FormatError(f"corrupt zstd data ({exc})") from None
        return
    dec: Any = bz2.BZ2Decompressor() if kind == OP["REPLACE_BZ"] else lzma.LZMADecompressor(lzma.FORMAT_XZ)
    try:
        while not dec.eof:
            data = blob.read() if dec.needs_input else b""
            if dec.needs_input and not data:
                raise FormatError("compressed data truncated")
            out = dec.decompress(data, CHUNK)
            if out:
                yield out
    except (OSError, lzma.LZMAError, EOFError) as exc:
        raise FormatError(f"corrupt {OPERATION_NAMES[kind]} data ({exc})") from None


@dataclass(frozen=True, slots=True)
class Step:
    """One operation, checked: what it is, where its output goes, its data."""

    index: int
    op: Any
    ranges: list[tuple[int, int]]  # (byte offset, length) in the partition
    blob: Blob | None  # None for ZERO / DISCARD

    @property
    def where(self) -> str:
        return f"operation {self.index} ({OPERATION_NAMES.get(self.op.type, self.op.type)})"

    @property
    def length(self) -> int:
        return sum(length for _, length in self.ranges)


def _steps(fd: int, payload: Payload, part: Any) -> list[Step]:
    """Every operation checked against the partition and the file before anything is written."""
    bs, size = payload.block_size, part.new_partition_info.size
    blocks = -(-size // bs)
    steps, extents = [], 0
    for index, op in enumerate(part.operations):
        ranges = []
        for ext in op.dst_extents:
            extents += 1
            if extents > MAX_EXTENTS:
                raise FormatError(f"more than {MAX_EXTENTS} extents")
            if ext.start_block + ext.num_blocks > blocks:
                raise FormatError(
                    f"operation {index}: extent {ext.start_block}+{ext.num_blocks} lies outside the {blocks}-block "
                    "partition"
                )
            start = ext.start_block * bs
            ranges.append((start, min(ext.num_blocks * bs, size - start)))
        blob = None
        if op.type not in (OP["ZERO"], OP["DISCARD"]):
            if op.data_offset + op.data_length > payload.size - payload.data_start:
                raise FormatError(
                    f"operation {index}: data {op.data_offset}+{op.data_length} runs past the end of the payload"
                )
            blob = Blob(fd, payload.data_start + op.data_offset, op.data_length)
        steps.append(Step(index, op, ranges, blob))
    return steps


def _decode(step: Step) -> Iterator[bytes]:
    """The operation's output, checked: never more than its extents hold, all its data used, hash as declared."""
    assert step.blob is not None
    total = 0
    for chunk in _decompressed(step.op.type, step.blob):
        total += len(chunk)
        if total > step.length:
            raise FormatError(f"{step.where}: writes more data than its destination extents hold (bomb?)")
        yield chunk
    if step.blob.left:
        raise FormatError(f"{step.where}: {step.blob.left} bytes of data left after the end of the compressed stream")
    if step.op.data_sha256_hash and step.blob.digest.digest() != step.op.data_sha256_hash:
        raise FormatError(f"{step.where}: data SHA-256 does not match the manifest")


def _decode_all(step: Step) -> list[bytes]:
    return list(_decode(step))


def _ahead(steps: list[Step], pool: ThreadPoolExecutor) -> Iterator[tuple[Step, Iterable[bytes]]]:
    """Each step with its output, in order; small ones decoded ahead in the pool (the decompressors release the GIL),
    at most AHEAD at a time, so memory stays within AHEAD * MAX_AHEAD_BYTES."""
    pending: deque[tuple[Step, Future[list[bytes]] | None]] = deque()
    queue = iter(steps)
    while True:
        while len(pending) < AHEAD:
            step = next(queue, None)
            if step is None:
                break
            small = step.blob is not None and step.length <= MAX_AHEAD_BYTES
            pending.append((step, pool.submit(_decode_all, step) if small else None))
        if not pending:
            return
        step, future = pending.popleft()
        if step.blob is None:
            yield step, ()
        else:
            yield step, future.result() if future is not None else _decode(step)


def extract(fh: BinaryIO, payload: Payload, part: Any, out: BinaryIO, charge: Callable[[int], None]) -> bool | None:
    """Write the partition's image to `out` (holes where nothing is written). Returns whether its SHA-256 matches
    the manifest (None when the manifest gives none, or when the device computes part of the partition)."""
    bs = payload.block_size
    size = part.new_partition_info.size
    written = bytearray(-(-size // bs))  # blocks written so far: ZERO only needs to write where data already is
    steps = _steps(fh.fileno(), payload, part)
    out.truncate(size)
    digest = hashlib.sha256()  # the image's hash, while operations write it in order (up to byte `hashed`)
    hashed: int | None = 0
    with ThreadPoolExecutor(THREADS) as pool:
        for step, chunks in _ahead(steps, pool):
            in_order = hashed is not None and _contiguous(step.ranges, hashed)
            if step.blob is None:
                for ext in step.op.dst_extents:
                    charge(0)  # time cap
                    zero_written(out, written, ext.start_block, ext.start_block + ext.num_blocks, bs, size)
            else:
                writer = ExtentWriter(out, step.ranges, charge)
                for chunk in chunks:
                    writer.write(chunk)
                    if in_order:
                        digest.update(chunk)
                for ext in step.op.dst_extents:
                    written[ext.start_block : ext.start_block + ext.num_blocks] = b"\x01" * ext.num_blocks
                if in_order:
                    _hash_zeros(digest, step.length - writer.total)
            if in_order and step.blob is None:
                _hash_zeros(digest, step.length)
            hashed = hashed + step.length if in_order and hashed is not None else None
    expected = part.new_partition_info.hash
    if not expected or _device_computed(part):
        return None
    if hashed == size:
        return digest.digest() == expected
    out.flush()
    out.seek(0)
    digest = hashlib.sha256()  # operations out of order or overlapping: hash the written image
    while chunk := out.read(CHUNK):
        digest.update(chunk)
    return digest.digest() == expected


def _device_computed(part: Any) -> bool:
    """The partition's verity hash tree or FEC are left to the device to compute (update_engine does so when these
    extents are set): the payload does not carry them, so the whole-partition hash cannot be checked here; every
    operation's own data hash still is."""
    return any(part.HasField(name) and getattr(part, name).num_blocks for name in ("hash_tree_extent", "fec_extent"))


def zero_written(out: BinaryIO, written: bytearray, first: int, end: int, bs: int, size: int) -> None:
    """Zeros over the blocks in [first, end) that something wrote before (the others are holes, zero already)."""
    block = written.find(1, first, end)
    while block != -1:
        stop = written.find(0, block, end)
        stop = end if stop == -1 else stop
        out.seek(block * bs)
        left = min((stop - block) * bs, size - block * bs)
        while left > 0:
            left -= out.write(ZEROS[: min(left, CHUNK)])
        written[block:stop] = bytes(stop - block)
        block = written.find(1, stop, end)


def _contiguous(ranges: list[tuple[int, int]], at: int) -> bool:
    """The ranges follow each other from byte `at` on (the image is being written front to back)."""
    for start, length in ranges:
        if start != at:
            return False
        at += length
    return True


ZEROS = bytes(CHUNK)


def _hash_zeros(digest: Any, length: int) -> None:
    while length > 0:
        digest.update(ZEROS[: min(length, CHUNK)])
        length -= CHUNK


def open_container(path: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    yield from open_payload(path, 0, path.stat().st_size, where, ctx)


def open_payload(
    path: Path, base: int, length: int, where: Where, ctx: ContainerContext
) -> Iterator[Item | InputError]:
    """The payload at bytes [base, base + length) of the file at path: a payload.bin stored in an OTA zip is read in
    place, without a copy."""
    with path.open("rb") as fh:
        if base + length > os.fstat(fh.fileno()).st_size:
            raise FormatError(f"{length} bytes at {base} run past the end of the file", base)
        payload = read_header(fh, base + length, base)
        for part in payload.manifest.partitions:
            name = f"{partition_name(part)}.img"
            problem = partition_problem(part, payload, ctx.limits.max_total_bytes)
            if problem:
                plain = PARTITION_NAME.fullmatch(partition_name(part))
                yield InputError(where.location(name if plain else None), f"payload: {problem}")
                continue
            tmp = ctx.temp_path(".img")
            try:
                with tmp.open("w+b") as out:
                    hash_ok = extract(fh, payload, part, out, ctx.charge)
            except FormatError as exc:
                tmp.unlink(missing_ok=True)
                yield InputError(
                    where.location(name, exc.offset), f"payload: partition {part.partition_name}: {exc.message}"
                )
                if exc.message.endswith(("(size cap)", "(time cap)")):  # the input's caps: nothing more is read
                    return
                continue
            size = part.new_partition_info.size
            if hash_ok is False:
                yield InputError(
                    where.location(name),
                    f"payload: partition {part.partition_name}: SHA-256 does not match the manifest",
                )
            item = Item(
                where.prefix + name,
                where.location(name),
                size,
                reader=file_reader(tmp),
                max_bytes=ctx.limits.max_entry_bytes,
            )
            yield from ctx.expand(tmp, where.child(name, image_prefix(name)), ctx, item)
