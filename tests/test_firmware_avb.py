"""Verified boot: vbmeta images built here (RSA key and PKCS#1 v1.5 signature by the openssl command line, the AVB
public key blob as avbtool encodes it), parsed, and judged by the firmware job (flags, test keys, signatures)."""

from __future__ import annotations

import hashlib
import re
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.findings import Report, Status
from bansweep.firmware import job
from bansweep.firmware.containers import vbmeta
from bansweep.firmware.limits import FormatError
from bansweep.knowledge import load
from ota_build import need, payload_bin


def avb_key_blob(modulus: int, bits: int) -> bytes:
    """avbtool's encode_rsa_key: key bits, n0inv = -1/n mod 2^32, the modulus, r^2 mod n with r = 2^bits."""
    n0inv = 2**32 - pow(modulus, -1, 2**32)
    rr = pow(2, 2 * bits, modulus)
    return struct.pack(">II", bits, n0inv) + modulus.to_bytes(bits // 8, "big") + rr.to_bytes(bits // 8, "big")


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % 64)


def descriptor(tag: int, body: bytes) -> bytes:
    body = _pad(body)[: len(body) + (-len(body) % 8)]
    return struct.pack(">QQ", tag, len(body)) + body


def chain(name: str, key: bytes, location: int = 1) -> bytes:
    return descriptor(4, struct.pack(">IIII", location, len(name), len(key), 0) + bytes(60) + name.encode() + key)


def hash_desc(name: str) -> bytes:
    return descriptor(
        2,
        struct.pack(">Q", 4096)
        + b"sha256".ljust(32, b"\0")
        + struct.pack(">IIII", len(name), 0, 0, 0)
        + bytes(60)
        + name.encode(),
    )


def prop(key: str, value: str) -> bytes:
    return descriptor(0, struct.pack(">QQ", len(key), len(value)) + key.encode() + b"\0" + value.encode() + b"\0")


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    need("openssl")
    key = tmp_path_factory.mktemp("key") / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    text = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-noout", "-modulus"], check=True, capture_output=True, text=True
    ).stdout
    match = re.search(r"Modulus=([0-9A-F]+)", text)
    assert match
    return key, int(match.group(1), 16)


def make_vbmeta(key: tuple[Path, int] | None, flags: int = 0, descriptors: bytes = b"") -> bytes:
    """A vbmeta image as avbtool make_vbmeta_image lays it out; signed by openssl when a key is given."""
    blob = avb_key_blob(key[1], 2048) if key else b""
    aux = _pad(descriptors + blob)
    key_off = len(descriptors)
    auth_size = _pad(bytes(32 + 256)) if key else b""
    header = struct.pack(
        ">4sIIQQIQQQQQQQQQQQII48s80x",
        b"AVB0",
        1,
        0,
        len(auth_size),
        len(aux),
        1 if key else 0,
        0,
        32 if key else 0,
        32,
        256 if key else 0,
        key_off,
        len(blob),
        key_off + len(blob),
        0,
        0,
        len(descriptors),
        7,
        flags,
        0,
        b"avbtool 1.3.0",
    )
    auth = b""
    if key:
        signed = header + aux
        sig = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(key[0])], input=signed, capture_output=True, check=True
        ).stdout
        auth = _pad(hashlib.sha256(signed).digest() + sig)
    return header + auth + aux


def test_vbmeta_facts_and_signature(rsa_key: tuple[Path, int]) -> None:
    other = avb_key_blob(rsa_key[1] + 2, 2048)  # some other key for the chained partition
    image = make_vbmeta(
        rsa_key,
        flags=3,
        descriptors=chain("system", other) + hash_desc("boot") + prop("com.android.build.system.os_version", "14"),
    )
    meta = vbmeta.parse_vbmeta(image + bytes(4096))  # padded as on a partition
    assert meta.algorithm == "SHA256_RSA2048" and meta.key_bits == 2048
    assert meta.verification_disabled and meta.hashtree_disabled and meta.rollback_index == 7
    assert meta.key_sha1 == hashlib.sha1(avb_key_blob(rsa_key[1], 2048)).hexdigest()
    assert meta.hash_ok and meta.signature_ok
    assert meta.chains == [vbmeta.Chain("system", 1, hashlib.sha1(other).hexdigest())]
    assert meta.partitions == ["boot"] and meta.properties == {"com.android.build.system.os_version": "14"}
    assert meta.release == "avbtool 1.3.0"
    tampered = bytearray(image)
    tampered[-70] ^= 1  # a byte of the auxiliary block (the key's r^2)
    bad = vbmeta.parse_vbmeta(bytes(tampered))
    assert bad.hash_ok is False and bad.signature_ok is False
    unsigned = vbmeta.parse_vbmeta(make_vbmeta(None))
    assert unsigned.key_sha1 is None and unsigned.algorithm == "NONE" and unsigned.signature_ok is None


@pytest.mark.parametrize(
    ("cut", "message"),
    [(100, "shorter than its 256-byte header"), (300, "lies outside the image")],
)
def test_truncated_vbmeta(rsa_key: tuple[Path, int], cut: int, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        vbmeta.parse_vbmeta(make_vbmeta(rsa_key)[:cut])


def test_shipped_test_key_digests_are_avb_sha1s() -> None:
    entries = load("avb-keys", ("sha1", "name")).entries
    assert {e["id"] for e in entries} >= {"avb-testkey-rsa2048", "avb-testkey-rsa4096"}
    assert all(re.fullmatch(r"[0-9a-f]{40}", e["sha1"]) for e in entries)


def _findings(report: Report) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in report.findings:
        out.setdefault(f.rule, []).append(f)
    return out


def test_firmware_job_judges_vbmeta(rsa_key: tuple[Path, int], tmp_path: Path) -> None:
    tree = tmp_path / "fw"
    (tree / "system").mkdir(parents=True)
    (tree / "system" / "build.prop").write_text("ro.product.model=Phone\n")
    (tree / "vbmeta.img").write_bytes(make_vbmeta(rsa_key, flags=2))
    (tree / "vbmeta_system.img").write_bytes(make_vbmeta(rsa_key, flags=0))
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    digest = hashlib.sha1(avb_key_blob(rsa_key[1], 2048)).hexdigest()
    (overlay / "avb-keys.yaml").write_text(
        f"entries:\n  - id: my-test-key\n    name: a test key of ours\n    sha1: {digest}\n    source: this test\n"
        "    date: '2026-12-04'\n"
    )
    plain = _findings(job.run([tree], job.Options(workers=1)))
    assert [f.variant for f in plain["firmware.avb.verification-disabled"]] == ["vbmeta.img"]
    assert plain["firmware.avb.verification-disabled"][0].status is Status.HIGH
    assert "firmware.avb.hashtree-disabled" not in plain and "firmware.avb.test-key" not in plain
    keys = plain["firmware.avb.key"]
    assert {f.variant for f in keys} == {"vbmeta.img", "vbmeta_system.img"}
    assert all(f.status is Status.INFO and f.evidence[0].value == digest for f in keys)
    known = _findings(job.run([tree], job.Options(workers=1, knowledge=[overlay])))
    assert {f.variant for f in known["firmware.avb.test-key"]} == {"vbmeta.img", "vbmeta_system.img"}
    assert known["firmware.avb.test-key"][0].evidence[0].rule == "avb-keys:my-test-key"


def test_vbmeta_partition_of_a_payload_is_judged(rsa_key: tuple[Path, int], tmp_path: Path) -> None:
    image = make_vbmeta(rsa_key, flags=1)
    payload = payload_bin({"vbmeta": image + bytes(4096 - len(image) % 4096)}, tmp_path / "payload.bin", ("REPLACE",))
    found = _findings(job.run([payload], job.Options(workers=1)))
    hashtree = found["firmware.avb.hashtree-disabled"]
    assert len(hashtree) == 1 and hashtree[0].evidence[0].location.entry == "vbmeta.img"
    assert "firmware.avb.bad-signature" not in found


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_vbmeta_only_raises_format_error(rsa_key: tuple[Path, int], data: st.DataObject) -> None:
    other = avb_key_blob(rsa_key[1] + 2, 2048)
    original = make_vbmeta(rsa_key, 3, chain("system", other) + hash_desc("boot") + prop("k", "v"))
    image = bytearray(original)
    for _ in range(data.draw(st.integers(1, 6))):
        image[data.draw(st.integers(0, len(image) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(image)))
    for candidate in (bytes(image), bytes(image[:cut])):
        try:
            meta = vbmeta.parse_vbmeta(candidate)
        except FormatError:
            continue
        signed = (candidate[:256], candidate[256 + 320 :])  # header and auxiliary block (after 320 auth bytes)
        assert meta.signature_ok is not True or signed == (original[:256], original[576:])  # changes never verify
