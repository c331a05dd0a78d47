"""APK signer certificates: v1 (JAR, PKCS#7 in META-INF) and v2/v3/v3.1 (APK Signing Block).

Signatures are not verified; the certificates are read so that rules can recognise platform and public test keys,
and inconsistencies a verifier would trip over are reported as issues.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field

from asn1crypto import cms, x509

from bansweep.firmware.formats.zipfile import ZipArchive
from bansweep.firmware.limits import FormatError, Limits, total

BLOCK_IDS = {0x7109871A: "v2", 0xF05368C0: "v3", 0x1B93AD61: "v3.1"}
V1_SUFFIXES = (".RSA", ".DSA", ".EC")
MAX_SIGNERS = 16
MAX_CERTS = 64
SIG_FILE_LIMIT = Limits(max_entry_bytes=4 * 2**20)
_SIGNED_HEADER = re.compile(rb"X-Android-APK-Signed:\s*([0-9, ]+)")


@dataclass(slots=True)
class Cert:
    sha256: str  # hex of the DER certificate
    subject: str
    issuer: str
    serial: str
    not_before: str  # ISO 8601
    not_after: str
    schemes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Signing:
    schemes: list[str]
    certs: list[Cert]
    issues: list[str]


def _lp(buf: bytes, pos: int, end: int, what: str) -> tuple[bytes, int]:
    """One uint32-length-prefixed field."""
    if pos + 4 > end:
        raise FormatError(f"{what}: length prefix past the end", pos)
    (n,) = struct.unpack_from("<I", buf, pos)
    if pos + 4 + n > end:
        raise FormatError(f"{what}: {n} bytes past the end", pos)
    return buf[pos + 4 : pos + 4 + n], pos + 4 + n


def _seq(buf: bytes, what: str, limit: int) -> list[bytes]:
    out, pos = [], 0
    while pos < len(buf):
        item, pos = _lp(buf, pos, len(buf), what)
        out.append(item)
        if len(out) > limit:
            raise FormatError(f"{what}: more than {limit} items")
    return out


def block_pairs(block: bytes) -> list[tuple[int, bytes]]:
    """ID/value pairs of an APK Signing Block (the bytes from its leading size field to its magic)."""
    end = len(block) - 24
    pos = 8
    pairs = []
    while pos < end:
        if pos + 12 > end:
            raise FormatError("APK Signing Block: truncated pair header", pos)
        (n,) = struct.unpack_from("<Q", block, pos)
        if n < 4 or pos + 8 + n > end:
            raise FormatError(f"APK Signing Block: pair of {n} bytes does not fit", pos)
        (pid,) = struct.unpack_from("<I", block, pos + 8)
        pairs.append((pid, block[pos + 12 : pos + 8 + n]))
        pos += 8 + n
    return pairs


def block_certs(value: bytes) -> list[bytes]:
    """DER certificates of every signer in a v2/v3/v3.1 block value (signed_data's second field in each)."""
    ders = []
    for signer in _seq(_lp(value, 0, len(value), "signers")[0], "signers", MAX_SIGNERS):
        signed_data, _ = _lp(signer, 0, len(signer), "signed data")
        _digests, pos = _lp(signed_data, 0, len(signed_data), "digests")
        certs, _ = _lp(signed_data, pos, len(signed_data), "certificates")
        ders += _seq(certs, "certificates", MAX_CERTS)
    return ders


def _cert(der: bytes) -> Cert:
    try:
        c = x509.Certificate.load(der)
        tbs = c["tbs_certificate"]
        validity = tbs["validity"]
        return Cert(
            sha256=hashlib.sha256(der).hexdigest(),
            subject=c.subject.human_friendly,
            issuer=c.issuer.human_friendly,
            serial=format(c.serial_number, "x"),
            not_before=validity["not_before"].native.isoformat(),
            not_after=validity["not_after"].native.isoformat(),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise FormatError(f"certificate is not valid DER X.509 ({e})") from None


def v1_certs(der_pkcs7: bytes) -> list[bytes]:
    try:
        info = cms.ContentInfo.load(der_pkcs7, strict=True)  # strict: bytes after the structure are an error
        certs = info["content"]["certificates"]
        return [c.chosen.dump() for c in certs or [] if c.name == "certificate"][:MAX_CERTS]
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise FormatError(f"not a PKCS#7 signature block ({e})") from None


@total
def signing_info(z: ZipArchive, data: bytes | memoryview | None = None) -> Signing:
    """Schemes present and their certificates; never raises for a damaged signature (issues say what is wrong)."""
    schemes: list[str] = []
    issues: list[str] = []
    found: dict[str, Cert] = {}
    by_scheme: dict[str, set[str]] = {}

    def add(der: bytes, scheme: str, where: str) -> None:
        try:
            cert = _cert(der)
        except FormatError as e:
            issues.append(f"{where}: {e}")
            return
        cert = found.setdefault(cert.sha256, cert)
        if scheme not in cert.schemes:
            cert.schemes.append(scheme)
        by_scheme.setdefault(scheme, set()).add(cert.sha256)

    advertised: set[str] = set()
    for e in z.entries:
        upper = e.name.upper()
        if not upper.startswith("META-INF/") or upper.count("/") != 1:
            continue
        if upper.endswith(V1_SUFFIXES):
            try:
                ders = v1_certs(z.read(e, SIG_FILE_LIMIT))
            except FormatError as err:
                issues.append(f"{e.name}: {err}")
                continue
            if not ders:
                issues.append(f"{e.name}: signature block holds no signer certificate")
                continue
            if "v1" not in schemes:
                schemes.append("v1")
            for der in ders:
                add(der, "v1", e.name)
        elif upper.endswith(".SF"):
            try:
                head = z.read(e, SIG_FILE_LIMIT)[:4096]
            except FormatError as err:
                issues.append(f"{e.name}: {err}")
                continue
            if m := _SIGNED_HEADER.search(head):
                advertised |= {f"v{v.strip()}" for v in m.group(1).decode().split(",") if v.strip()}
    if z.sig_block is not None:
        try:
            pairs = block_pairs(z.sig_block)
        except FormatError as err:
            issues.append(f"APK Signing Block malformed: {err}")
            pairs = []
        for pid, value in pairs:
            scheme = BLOCK_IDS.get(pid)
            if scheme is None:
                continue
            if scheme in schemes:
                issues.append(f"second {scheme} block ignored (Android verifies the first)")
                continue
            try:
                ders = block_certs(value)
            except FormatError as err:
                issues.append(f"{scheme} signature block malformed: {err}")
                continue
            if not ders:
                issues.append(f"{scheme} signature block holds no signer certificate")
                continue
            schemes.append(scheme)
            for der in ders:
                add(der, scheme, f"{scheme} block")
    if not schemes:
        issues.append("no signature (neither JAR signature nor APK Signing Block)")
    for v in sorted(advertised - set(schemes)):
        issues.append(f"JAR signature says the APK was also signed with {v}, which is missing (signature stripped)")
    v1, block = by_scheme.get("v1"), by_scheme.get("v2") or by_scheme.get("v3")
    if v1 and block and v1 != block:
        issues.append("v1 and v2/v3 signer certificates differ")
    lead = min((e.local_offset for e in z.entries), default=0)
    if lead > 0 and schemes == ["v1"]:
        starts_dex = data is not None and bytes(data[:4]) == b"dex\n"
        what = "a dex file" if starts_dex else "data"
        issues.append(f"{what} before the zip in a v1-only signed APK (Janus, CVE-2017-13156)")
    return Signing(schemes=schemes, certs=list(found.values()), issues=issues)
