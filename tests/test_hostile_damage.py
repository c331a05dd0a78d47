"""Damage is reported, not tolerated: impossible counts and garbage blocks in AXML, ARSC and signing blocks become
issues on the app (the integrity rule's evidence), and look-alike formula prefixes are neutralised in CSV."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import pytest

from bansweep.findings import Location
from bansweep.firmware.apk import App, read_app
from bansweep.firmware.formats.signing import signing_info
from bansweep.firmware.formats.zipfile import SIG_BLOCK_MAGIC, open_zip
from bansweep.reports.csv import safe

FIXTURES = Path(__file__).parent / "fixtures" / "firmware" / "formats"
APK = (FIXTURES / "spy.apk").read_bytes()


def entries() -> dict[str, bytes]:
    z = open_zip(APK)
    return {e.name: z.read(e) for e in z.entries}


def apk_with(changes: dict[str, bytes]) -> bytes:
    files = entries()
    files.update(changes)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def app_of(data: bytes) -> App:
    return read_app(data, "system/app/X/X.apk", Location("fw.zip", entry="system/app/X/X.apk"))


def test_impossible_string_count_in_the_manifest_is_an_issue() -> None:
    manifest = bytearray(entries()["AndroidManifest.xml"])
    struct.pack_into("<L", manifest, 16, 0xFFFFFFFF)  # the string pool's string count
    app = app_of(apk_with({"AndroidManifest.xml": bytes(manifest)}))
    assert app.manifest is not None and app.manifest.package == "com.example.spy"
    assert any("claims 4294967295 strings" in i for i in app.issues)


def test_impossible_string_count_in_the_network_security_config_is_an_issue() -> None:
    name = next(n for n in entries() if n.startswith("res/xml/"))
    config = bytearray(entries()[name])
    struct.pack_into("<L", config, 16, 0xFFFFFFFF)
    app = app_of(apk_with({name: bytes(config)}))
    assert app.net_configs and any(i.startswith(f"{name}: string pool claims 4294967295") for i in app.issues)


@pytest.mark.parametrize("garbage", [os.urandom(700), b"\x02\x00\x0c\x00" + struct.pack("<I", 700) + os.urandom(692)])
def test_garbage_resource_table_is_an_issue(garbage: bytes) -> None:
    app = app_of(apk_with({"resources.arsc": garbage}))
    assert any(i.startswith("resources.arsc unreadable:") for i in app.issues)


def test_trailing_garbage_after_the_v1_signature_is_an_issue() -> None:
    rsa = entries()["META-INF/KEY.RSA"]
    z = open_zip(apk_with({"META-INF/KEY.RSA": rsa + b"garbage" * 8}))
    issues = signing_info(z).issues
    assert any(i.startswith("META-INF/KEY.RSA: not a PKCS#7 signature block") for i in issues)


def sig_block(pairs: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(struct.pack("<QI", 4 + len(v), pid) + v for pid, v in pairs)
    size = len(body) + 8 + 16
    return struct.pack("<Q", size) + body + struct.pack("<Q", size) + SIG_BLOCK_MAGIC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (struct.pack("<I", 0), "v2 signature block holds no signer certificate"),
        (os.urandom(40), "v2 signature block malformed"),
    ],
)
def test_v2_block_without_a_signer_is_an_issue(value: bytes, expected: str) -> None:
    z = open_zip(APK)
    z.sig_block = sig_block([(0x7109871A, value)])
    result = signing_info(z)
    assert "v2" not in result.schemes
    assert any(i.startswith(expected) for i in result.issues)


def test_undamaged_apk_has_no_such_issue() -> None:
    app = app_of(APK)
    assert not [i for i in app.issues if "resources.arsc" in i or "signature block" in i or "claims" in i]


@pytest.mark.parametrize(
    "cell",
    [
        '\uff1dHYPERLINK("http://x","y")',  # fullwidth equals
        "\ufe66cmd|' /C calc'!A0",  # small equals
        "\u207c1+1",  # superscript equals
        "\uff0bSUM(A1)",  # fullwidth plus
        "\uff0d1+1",  # fullwidth hyphen-minus
        "\u22121+1",  # minus sign
        "\uff20SUM(A1)",  # fullwidth commercial at
        "\u3000\uff1d1+1",  # after an ideographic space
    ],
)
def test_csv_neutralises_look_alike_formula_prefixes(cell: str) -> None:
    assert safe(cell) == "'" + cell


def test_csv_leaves_ordinary_text_and_numbers() -> None:
    assert [safe(c) for c in ("abc", "-5", "\u2460 first", "\uff21BC")] == ["abc", "-5", "\u2460 first", "\uff21BC"]
