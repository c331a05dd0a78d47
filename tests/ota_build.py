"""Builders of A/B payload.bin and block-based OTA files for the tests and bench/ota_bench.py.

payload.bin is assembled here as update_engine lays it out, its manifest written with the same protobuf descriptors
bansweep reads it with (bansweep.firmware.containers.update_metadata); operation data is compressed by the real
tools (xz, bzip2, zstd command lines) or, for the benchmark's many chunks, by the same libraries from Python.
Block-based OTAs get a version-4 transfer list (new/zero/erase range sets) and X.new.dat compressed with the
brotli command line.
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from bansweep.firmware.containers.update_metadata import OPERATION_TYPES, DeltaArchiveManifest

BLOCK = 4096
CLI = {"REPLACE_XZ": ["xz", "-c", "-0"], "REPLACE_BZ": ["bzip2", "-c"], "REPLACE_ZSTD": ["zstd", "-c", "-q"]}


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (scripts/test-setup installs it)")


def compress_cli(kind: str, data: bytes) -> bytes:
    """Operation data compressed by the real command-line tool."""
    if kind == "REPLACE":
        return data
    return subprocess.run(CLI[kind], input=data, capture_output=True, check=True).stdout


def compress_lib(kind: str, data: bytes) -> bytes:
    """The same formats through the libraries (liblzma, libbz2, libzstd), for the benchmark's many chunks."""
    import zstandard

    if kind == "REPLACE_XZ":
        return lzma.compress(data, lzma.FORMAT_XZ, preset=0)
    if kind == "REPLACE_BZ":
        return bz2.compress(data)
    if kind == "REPLACE_ZSTD":
        return zstandard.ZstdCompressor(level=3).compress(data)
    return data


def payload_bin(
    partitions: dict[str, Path | bytes],
    out: Path,
    kinds: Iterable[str] = ("REPLACE_XZ",),
    chunk: int = 2 * 2**20,
    compress: Callable[[str, bytes], bytes] = compress_cli,
    extra_ops: dict[str, list[dict]] | None = None,
) -> Path:
    """A full-OTA payload.bin: each partition cut in `chunk`-byte operations, all-zero chunks as ZERO, the others
    with the next of `kinds` in turn. extra_ops appends raw operations (dicts of InstallOperation fields)."""
    kinds = list(kinds)
    manifest = DeltaArchiveManifest(block_size=BLOCK)
    blobs = out.with_suffix(".blobs")
    turn = 0
    with blobs.open("wb") as data_out:
        for name, image in partitions.items():
            part = manifest.partitions.add(partition_name=name)
            digest = hashlib.sha256()
            size = 0
            with image.open("rb") if isinstance(image, Path) else _BytesReader(image) as src:
                while block := src.read(chunk):
                    digest.update(block)
                    op = part.operations.add()
                    op.dst_extents.add(start_block=size // BLOCK, num_blocks=-(-len(block) // BLOCK))
                    size += len(block)
                    if not block.strip(b"\0"):
                        op.type = OPERATION_TYPES["ZERO"]
                        continue
                    kind = kinds[turn % len(kinds)]
                    turn += 1
                    blob = compress(kind, block)
                    op.type = OPERATION_TYPES[kind]
                    op.data_offset = data_out.tell()
                    op.data_length = len(blob)
                    op.data_sha256_hash = hashlib.sha256(blob).digest()
                    data_out.write(blob)
            part.new_partition_info.size = size
            part.new_partition_info.hash = digest.digest()
            for fields in (extra_ops or {}).get(name, []):
                op = part.operations.add()
                for key, value in fields.items():
                    if key == "dst_extents":
                        for start, count in value:
                            op.dst_extents.add(start_block=start, num_blocks=count)
                    else:
                        setattr(op, key, value)
    meta = manifest.SerializeToString()
    with out.open("wb") as fh:
        fh.write(b"CrAU" + struct.pack(">QQI", 2, len(meta), 0) + meta)
        with blobs.open("rb") as src:
            shutil.copyfileobj(src, fh, 2**20)
    blobs.unlink()
    return out


class _BytesReader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def read(self, n: int) -> bytes:
        part = self.data[self.pos : self.pos + n]
        self.pos += len(part)
        return part

    def __enter__(self) -> _BytesReader:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def ranges(blocks: list[int]) -> str:
    """A transfer-list range set for sorted block numbers: "COUNT,a1,b1,..." of half-open ranges."""
    pairs: list[list[int]] = []
    for b in blocks:
        if pairs and pairs[-1][1] == b:
            pairs[-1][1] = b + 1
        else:
            pairs.append([b, b + 1])
    flat = [str(n) for p in pairs for n in p]
    return f"{len(flat)}," + ",".join(flat)


def block_ota(image: bytes, folder: Path, stem: str = "system", erase_tail: int = 4) -> tuple[Path, Path]:
    """X.transfer.list (version 4) and X.new.dat.br (brotli CLI) for a raw image: `new` for data blocks, `zero` for
    zero blocks, `erase` for the last `erase_tail` zero blocks (the image must end in zeros)."""
    need("brotli")
    count = len(image) // BLOCK
    zero = [i for i in range(count) if not image[i * BLOCK : (i + 1) * BLOCK].strip(b"\0")]
    tail = [b for b in zero if b >= count - erase_tail]
    zero = [b for b in zero if b < count - erase_tail]
    data = sorted(set(range(count)) - set(zero) - set(tail))
    new_dat = b"".join(image[i * BLOCK : (i + 1) * BLOCK] for i in data)
    lines = ["4", str(len(data)), "0", "0"]
    if tail:
        lines.append(f"erase {ranges(tail)}")
    half = len(data) // 2  # two `new` commands: the data stream continues across them
    lines += [f"new {ranges(data[:half])}", f"new {ranges(data[half:])}", f"zero {ranges(zero)}"]
    listing = folder / f"{stem}.transfer.list"
    listing.write_text("\n".join(lines) + "\n")
    raw = folder / f"{stem}.new.dat"
    raw.write_bytes(new_dat)
    subprocess.run(["brotli", "-f", "-q", "6", "-o", str(folder / f"{stem}.new.dat.br"), str(raw)], check=True)
    raw.unlink()
    (folder / f"{stem}.patch.dat").write_bytes(b"")
    return listing, folder / f"{stem}.new.dat.br"
