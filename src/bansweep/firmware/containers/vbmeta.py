"""Android Verified Boot (AVB 2.0) vbmeta images: the facts a firmware audit needs, read without avbtool.

Layout (AOSP external/avb/libavb/avb_vbmeta_image.h, big-endian): a 256-byte header ("AVB0", versions, the sizes of
the authentication and auxiliary blocks, the algorithm, offsets and sizes of hash, signature, public key, key
metadata and descriptors, rollback index, flags, release string), the authentication block (hash and signature) and
the auxiliary block (descriptors, public key). Flags: bit 0 HASHTREE_DISABLED, bit 1 VERIFICATION_DISABLED (what
`avbtool make_vbmeta_image --flags` or `fastboot --disable-verity/--disable-verification` set).

The public key blob (AvbRSAPublicKeyHeader: key bits, n0inv, modulus, r^2 mod n) is named by its SHA-1, as
`avbtool info_image` prints it ("Public key (sha1)"); the signature (PKCS#1 v1.5 over SHA-256/512 of header and
auxiliary block, exponent 65537) is checked here with plain integer arithmetic. Descriptors: chained partitions
(their own key digest), hash and hashtree partitions, properties, kernel command line. All sizes are checked
against the image; nothing is trusted.
"""

from __future__ import annotations

import hashlib
import posixpath
import struct
from dataclasses import dataclass, field

from bansweep.findings import Location
from bansweep.firmware.limits import FormatError

MAGIC = b"AVB0"
HEADER = struct.Struct(">4sIIQQIQQQQQQQQQQQII48s80x")
HASHTREE_DISABLED, VERIFICATION_DISABLED = 1, 2
MAX_IMAGE = 1 * 2**20  # vbmeta images are a few KiB (padded to 4-64 KiB)
MAX_DESCRIPTORS = 1024
MAX_PROPERTIES = 64
# algorithm number -> (name, hash, key bits)
ALGORITHMS = {
    0: ("NONE", "", 0),
    1: ("SHA256_RSA2048", "sha256", 2048),
    2: ("SHA256_RSA4096", "sha256", 4096),
    3: ("SHA256_RSA8192", "sha256", 8192),
    4: ("SHA512_RSA2048", "sha512", 2048),
    5: ("SHA512_RSA4096", "sha512", 4096),
    6: ("SHA512_RSA8192", "sha512", 8192),
}
DIGEST_INFO = {  # DER DigestInfo prefixes (RFC 8017 section 9.2)
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
PROPERTY, HASHTREE, HASH, KERNEL_CMDLINE, CHAIN_PARTITION = 0, 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class Chain:
    partition: str
    rollback_index_location: int
    key_sha1: str


@dataclass(slots=True)
class VbMeta:
    """What one vbmeta image says (pure facts; the rules judge them)."""

    path: str  # firmware path of the image, e.g. "vbmeta.img"
    location: Location
    algorithm: str
    flags: int
    rollback_index: int
    release: str
    key_sha1: str | None  # SHA-1 of the public key blob (avbtool's "Public key (sha1)"), None when unsigned
    key_bits: int = 0
    hash_ok: bool | None = None  # the stored hash matches header + auxiliary block (None: unsigned)
    signature_ok: bool | None = None  # the signature verifies with the embedded key (None: unsigned)
    chains: list[Chain] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)  # hash and hashtree descriptors, by partition
    properties: dict[str, str] = field(default_factory=dict)
    cmdlines: list[str] = field(default_factory=list)

    @property
    def verification_disabled(self) -> bool:
        return bool(self.flags & VERIFICATION_DISABLED)

    @property
    def hashtree_disabled(self) -> bool:
        return bool(self.flags & HASHTREE_DISABLED)


def is_vbmeta(path: str) -> bool:
    """A vbmeta partition image by its name: vbmeta.img, vbmeta_system.img, vbmeta_a.img ..."""
    name = posixpath.basename(path)
    return name.startswith("vbmeta") and name.endswith(".img")


def key_sha1(blob: bytes) -> str:
    return hashlib.sha1(blob).hexdigest()


def _slice(data: bytes, start: int, size: int, what: str, at: int) -> bytes:
    if start < 0 or size < 0 or start + size > len(data):
        raise FormatError(f"{what} ({size} bytes at {start}) lies outside the image", at)
    return data[start : start + size]


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def parse_key(blob: bytes) -> tuple[int, int]:
    """(key bits, modulus) of an AvbRSAPublicKeyHeader blob."""
    if len(blob) < 8:
        raise FormatError("public key blob shorter than its header")
    bits, _n0inv = struct.unpack_from(">II", blob, 0)
    if bits not in (2048, 4096, 8192) or len(blob) != 8 + 2 * (bits // 8):
        raise FormatError(f"public key blob of {len(blob)} bytes does not hold a {bits}-bit RSA key")
    return bits, int.from_bytes(blob[8 : 8 + bits // 8], "big")


def verify(signed: bytes, signature: bytes, modulus: int, bits: int, digest: str) -> bool:
    """PKCS#1 v1.5 signature check with exponent 65537 (what libavb does)."""
    size = bits // 8
    if len(signature) != size or modulus <= 0:
        return False
    value = int.from_bytes(signature, "big")
    if value >= modulus:
        return False
    decoded = pow(value, 65537, modulus).to_bytes(size, "big")
    suffix = DIGEST_INFO[digest] + hashlib.new(digest, signed).digest()
    return decoded == b"\x00\x01" + b"\xff" * (size - 3 - len(suffix)) + b"\x00" + suffix


def parse_vbmeta(data: bytes, path: str = "vbmeta.img", location: Location | None = None) -> VbMeta:
    if len(data) < HEADER.size:
        raise FormatError(f"vbmeta of {len(data)} bytes is shorter than its 256-byte header", 0)
    if len(data) > MAX_IMAGE:
        data = data[:MAX_IMAGE]
    (
        magic,
        _major,
        _minor,
        auth_size,
        aux_size,
        algorithm,
        hash_off,
        hash_size,
        sig_off,
        sig_size,
        key_off,
        key_size,
        _meta_off,
        _meta_size,
        desc_off,
        desc_size,
        rollback,
        flags,
        _rollback_location,
        release,
    ) = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FormatError("not a vbmeta image (no AVB0 magic)", 0)
    if algorithm not in ALGORITHMS:
        raise FormatError(f"unknown algorithm {algorithm}", 28)
    name, digest, bits = ALGORITHMS[algorithm]
    auth = _slice(data, HEADER.size, auth_size, "authentication block", 12)
    aux_start = HEADER.size + auth_size
    aux = _slice(data, aux_start, aux_size, "auxiliary block", 20)
    out = VbMeta(path, location or Location(path), name, flags, rollback, _text(release), None)
    if key_size:
        blob = _slice(aux, key_off, key_size, "public key", 64)
        out.key_sha1 = key_sha1(blob)
        out.key_bits, modulus = parse_key(blob)
        if digest:
            stored = _slice(auth, hash_off, hash_size, "hash", 32)
            signed = data[: HEADER.size] + aux
            out.hash_ok = stored == hashlib.new(digest, signed).digest()
            signature = _slice(auth, sig_off, sig_size, "signature", 48)
            out.signature_ok = out.hash_ok and out.key_bits == bits and verify(signed, signature, modulus, bits, digest)
    _descriptors(_slice(aux, desc_off, desc_size, "descriptors", 96), out, aux_start + desc_off)
    return out


def _descriptors(raw: bytes, out: VbMeta, base: int) -> None:
    pos = 0
    for _ in range(MAX_DESCRIPTORS):
        if pos + 16 > len(raw):
            break
        tag, length = struct.unpack_from(">QQ", raw, pos)
        body = _slice(raw, pos + 16, length, f"descriptor (tag {tag})", base + pos)
        at = base + pos
        pos += 16 + length
        if tag == PROPERTY and len(body) >= 16:
            key_len, value_len = struct.unpack_from(">QQ", body, 0)
            key = _slice(body, 16, key_len, "property key", at)
            value = _slice(body, 16 + key_len + 1, value_len, "property value", at)
            if len(out.properties) < MAX_PROPERTIES:
                out.properties[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        elif tag == HASHTREE and len(body) >= 164:
            name_len = struct.unpack_from(">I", body, 88)[0]
            out.partitions.append(_slice(body, 164, name_len, "partition name", at).decode("utf-8", "replace"))
        elif tag == HASH and len(body) >= 116:
            name_len = struct.unpack_from(">I", body, 40)[0]
            out.partitions.append(_slice(body, 116, name_len, "partition name", at).decode("utf-8", "replace"))
        elif tag == KERNEL_CMDLINE and len(body) >= 8:
            (cmd_len,) = struct.unpack_from(">I", body, 4)
            out.cmdlines.append(_slice(body, 8, cmd_len, "kernel command line", at).decode("utf-8", "replace"))
        elif tag == CHAIN_PARTITION and len(body) >= 76:
            location, name_len, key_len = struct.unpack_from(">III", body, 0)
            name = _slice(body, 76, name_len, "partition name", at).decode("utf-8", "replace")
            blob = _slice(body, 76 + name_len, key_len, "chained public key", at)
            out.chains.append(Chain(name, location, key_sha1(blob)))
    else:
        raise FormatError(f"more than {MAX_DESCRIPTORS} descriptors", base)
