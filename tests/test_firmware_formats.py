"""Firmware format parsers on real artefacts: APKs built with aapt/smali/apksigner, gcc-built ELF files, the
real (partly tampered) APKs of the fdroidserver sdist, and tampered variants made from them byte by byte."""

from __future__ import annotations

import hashlib
import io
import mmap
import re
import shutil
import struct
import subprocess
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from bansweep.firmware.formats.arsc import parse_arsc
from bansweep.firmware.formats.axml import parse_manifest, parse_xml
from bansweep.firmware.formats.dex import parse_dex
from bansweep.firmware.formats.elf import parse_elf
from bansweep.firmware.formats.initrc import parse_initrc
from bansweep.firmware.formats.oat import carve, carve_dex
from bansweep.firmware.formats.props import parse_props
from bansweep.firmware.formats.signing import block_pairs, signing_info
from bansweep.firmware.formats.zipfile import open_zip
from bansweep.firmware.limits import FormatError, Limits
from firmware_build import (
    assemble_dex,
    build_apk,
    have_toolchain,
    keystore,
    manifest_xml,
    need_toolchain,
    rezip,
    utf8_manifest,
)

FDROID = Path(__file__).parent / "data" / "cache" / "fdroidserver"

MAIN_SMALI = """.class public Lcom/example/spy/MainActivity;
.super Landroid/app/Activity;
.field private sent:I

.method public upload()V
    .registers 8
    invoke-static {}, Landroid/telephony/SmsManager;->getDefault()Landroid/telephony/SmsManager;
    move-result-object v0
    const-string v1, "+100200300"
    const/4 v2, 0x0
    const-string v3, "http://fota.example.invalid/upload"
    move-object v4, v2
    move-object v5, v2
    invoke-virtual/range {v0 .. v5}, Landroid/telephony/SmsManager;->sendTextMessage(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Landroid/app/PendingIntent;Landroid/app/PendingIntent;)V
    iget v6, p0, Lcom/example/spy/MainActivity;->sent:I
    return-void
.end method
"""
SECOND_SMALI = r""".class public Lcom/example/spy/Helper;
.super Ljava/lang/Object;

.method public static text()Ljava/lang/String;
    .registers 1
    const-string v0, "nul\u0000inside \ud83d\ude00 caf\u00e9"
    return-object v0
.end method
"""
NSC = """<?xml version="1.0" encoding="utf-8"?>
<network-security-config>
  <base-config cleartextTrafficPermitted="true"/>
  <domain-config cleartextTrafficPermitted="false"><domain includeSubdomains="true">example.org</domain></domain-config>
</network-security-config>
"""

RES = {"xml/network_security_config.xml": NSC}


def spy_manifest(target_sdk: int = 28) -> str:
    return manifest_xml(
        "com.example.spy",
        version_code=42,
        version_name="4.2",
        shared_user_id="android.uid.system",
        min_sdk=15,
        target_sdk=target_sdk,
        uses_permissions=["android.permission.READ_SMS", "android.permission.SEND_SMS", "android.permission.INTERNET"],
        permissions=[("com.example.spy.CONTROL", "signature|privileged")],
        application={
            "persistent": "true",
            "debuggable": "true",
            "usesCleartextTraffic": "true",
            "networkSecurityConfig": "@xml/network_security_config",
            "permission": "com.example.spy.CONTROL",
        },
        components=[
            ("activity", ".MainActivity", {}, ["android.intent.action.MAIN"]),
            ("service", "com.example.spy.UploadService", {"exported": "true", "permission": ""}, []),
            ("receiver", "BootReceiver", {}, ["android.intent.action.BOOT_COMPLETED"]),
            ("receiver", ".Hidden", {"exported": "false"}, ["a.b.C"]),
            ("provider", ".Data", {"authorities": "com.example.spy.data", "readPermission": "x.READ"}, []),
        ],
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_toolchain()
    return tmp_path_factory.mktemp("apks")


@pytest.fixture(scope="module")
def spy_apk(work: Path) -> Path:
    return build_apk(
        work,
        spy_manifest(),
        smali=[{"com/example/spy/MainActivity.smali": MAIN_SMALI}, {"com/example/spy/Helper.smali": SECOND_SMALI}],
        resources=RES,
        name="spy",
    )


@pytest.fixture(scope="module")
def v1_apk(work: Path) -> Path:
    return build_apk(
        work, spy_manifest(), smali={"a/A.smali": MAIN_SMALI}, schemes=("v1",), name="v1only", resources=RES
    )


def androguard(module: str):  # noqa: ANN201
    mod = pytest.importorskip(f"androguard.core.{module}")
    from loguru import logger  # androguard's logger: silence its per-chunk debug output

    logger.disable("androguard")
    return mod


# ---------------------------------------------------------------- zip


def test_zip_reads_real_apk_like_stdlib(spy_apk: Path) -> None:
    data = spy_apk.read_bytes()
    z = open_zip(data)
    with zipfile.ZipFile(spy_apk) as ref:
        assert [e.name for e in z.entries] == ref.namelist()
        for e in z.entries:
            assert z.read(e) == ref.read(e.name)
        assert z.cd_offset == ref.start_dir
    assert z.issues == []
    assert z.sig_block is not None and z.sig_block.endswith(b"APK Sig Block 42")
    assert z.sig_block_offset is not None and z.sig_block_offset + len(z.sig_block) == z.cd_offset


def test_zip_over_mmap(spy_apk: Path) -> None:
    with open(spy_apk, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        z = open_zip(mm)
        assert z.read(z.find("classes2.dex"))[:8] == b"dex\n035\x00"  # type: ignore[arg-type]
        assert z.sig_block is not None


def _local_offset(data: bytes, name: str) -> int:
    return open_zip(data).find(name).local_offset  # type: ignore[union-attr]


def _central_offset(data: bytes, name: bytes) -> int:
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        nlen = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + nlen] == name:
            return pos
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(name)


def _prepend(prefix: bytes, data: bytes) -> bytes:
    """Put bytes before a zip and fix its offsets, as a Janus attacker does (the zip stays valid)."""
    out = bytearray(prefix + data)
    eocd = out.rfind(b"PK\x05\x06")
    count, _, cd = struct.unpack_from("<HII", out, eocd + 10)
    struct.pack_into("<I", out, eocd + 16, cd + len(prefix))
    pos = cd + len(prefix)
    for _ in range(count):
        nlen, xlen, clen = struct.unpack_from("<HHH", out, pos + 28)
        struct.pack_into("<I", out, pos + 42, struct.unpack_from("<I", out, pos + 42)[0] + len(prefix))
        pos += 46 + nlen + xlen + clen
    return bytes(out)


def _stored_zip(tmp_path: Path) -> bytes:
    return rezip([("AndroidManifest.xml", b"<x/>" * 50), ("classes.dex", b"D" * 300)], tmp_path / "s.zip").read_bytes()


def test_zip_local_header_mismatch_reads_per_central_directory(tmp_path: Path) -> None:
    data = bytearray(_stored_zip(tmp_path))
    loc = _local_offset(bytes(data), "classes.dex")
    data[loc + 30 : loc + 30 + 11] = b"classes.xyz"  # another name in the local header
    struct.pack_into("<II", data, loc + 18, 5, 7)  # bogus local sizes
    z = open_zip(bytes(data))
    assert any("local header names it 'classes.xyz'" in i for i in z.issues)
    assert any("local header compressed size 5" in i for i in z.issues)
    assert z.read(z.find("classes.dex")) == b"D" * 300  # type: ignore[arg-type]


def test_zip_unknown_method_is_read_as_stored(tmp_path: Path) -> None:
    data = bytearray(_stored_zip(tmp_path))
    cen = _central_offset(bytes(data), b"AndroidManifest.xml")
    loc = _local_offset(bytes(data), "AndroidManifest.xml")
    struct.pack_into("<H", data, cen + 10, 0x7777)
    struct.pack_into("<H", data, loc + 8, 0x7777)
    z = open_zip(bytes(data))
    e = z.find("AndroidManifest.xml")
    assert e is not None and e.method == 0x7777
    assert any("unknown compression method 30583" in i for i in z.issues)
    assert z.read(e) == b"<x/>" * 50


def test_zip_stored_entry_with_wrong_size_still_parses(spy_apk: Path, tmp_path: Path) -> None:
    """SoumniBot-style: unknown method plus a wrong uncompressed size on AndroidManifest.xml."""
    manifest = _manifest_bytes(spy_apk)
    for delta in (+5000, -100):
        data = bytearray(rezip([("AndroidManifest.xml", manifest), ("x", b"y")], tmp_path / "m.zip").read_bytes())
        cen = _central_offset(bytes(data), b"AndroidManifest.xml")
        struct.pack_into("<H", data, cen + 10, 0x1234)
        struct.pack_into("<I", data, cen + 24, len(manifest) + delta)
        z = open_zip(bytes(data))
        got = z.read(z.find("AndroidManifest.xml"))  # type: ignore[arg-type]
        assert got.startswith(manifest)
        assert parse_manifest(got).package == "com.example.spy"
        assert any("stored entry with sizes" in i for i in z.issues)


def test_zip_bogus_deflate_flag_on_stored_data(tmp_path: Path) -> None:
    data = bytearray(_stored_zip(tmp_path))
    cen = _central_offset(bytes(data), b"classes.dex")
    struct.pack_into("<H", data, cen + 10, 8)
    z = open_zip(bytes(data))
    e = z.find("classes.dex")
    assert e is not None
    assert z.read(e) == b"D" * 300
    assert any("declared deflated but data is stored" in i for i in z.issues)
    assert any("local header method 0, central directory 8" in i for i in z.issues)
    with pytest.raises((zipfile.BadZipFile, zlib.error)):  # what the stdlib does with it
        zipfile.ZipFile(io.BytesIO(bytes(data))).read("classes.dex")


def test_zip_encrypted_flag_ignored_with_issue(tmp_path: Path) -> None:
    data = bytearray(_stored_zip(tmp_path))
    cen = _central_offset(bytes(data), b"classes.dex")
    struct.pack_into("<H", data, cen + 8, 1)
    z = open_zip(bytes(data))
    assert any("encrypted flag set" in i for i in z.issues)
    assert z.read(z.find("classes.dex")) == b"D" * 300  # type: ignore[arg-type]


def test_zip_duplicates_and_dangerous_names(tmp_path: Path) -> None:
    entries = [
        ("classes.dex", b"first"),
        ("classes.dex", b"second"),
        ("../../etc/passwd", b"x"),
        ("/system/bin/su", b"y"),
    ]
    with pytest.warns(UserWarning):
        data = rezip(entries, tmp_path / "d.zip").read_bytes()
    z = open_zip(data)
    assert [e.name for e in z.entries] == [n for n, _ in entries]
    assert z.read(z.find("classes.dex")) == b"first"  # type: ignore[arg-type]
    assert z.read(z.entries[1]) == b"second"
    assert "'classes.dex': duplicate entry name" in z.issues
    assert any("path traversal" in i and "passwd" in i for i in z.issues)
    assert any("absolute path name" in i for i in z.issues)


def test_zip_prepended_dex_with_and_without_fixed_offsets(tmp_path: Path) -> None:
    dex = b"dex\n035\x00" + bytes(200)
    plain = _stored_zip(tmp_path)
    z = open_zip(dex + plain)  # offsets not adjusted: found by the end record position
    assert any("offsets shifted by 208" in i for i in z.issues)
    assert any("a dex file (Janus-style)" in i for i in z.issues)
    assert z.read(z.find("classes.dex")) == b"D" * 300  # type: ignore[arg-type]
    fixed = _prepend(dex, plain)
    assert zipfile.ZipFile(io.BytesIO(fixed)).read("classes.dex") == b"D" * 300
    zf = open_zip(fixed)
    assert zf.read(zf.find("classes.dex")) == b"D" * 300  # type: ignore[arg-type]
    assert any("208 bytes before the first zip entry" in i for i in zf.issues)


def test_zip_bomb_bounded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("classes.dex", bytes(64 * 2**20))
    z = open_zip(path.read_bytes())
    tracemalloc.start()
    with pytest.raises(FormatError, match="size/ratio limit"):
        z.read(z.entries[0], Limits())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    cap = z.entries[0].compressed_size * Limits().max_ratio
    assert cap < 16 * 2**20
    assert peak < 2.5 * cap  # stopped at the ratio cap, never 64 MiB
    assert len(z.read(z.entries[0], Limits(max_ratio=2000))) == 64 * 2**20
    with pytest.raises(FormatError, match="limit"):
        z.read(z.entries[0], Limits(max_ratio=2000, max_entry_bytes=2**20))


def test_zip64_end_record(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(65_600):
            zf.writestr(zipfile.ZipInfo(f"f{i}", (1980, 1, 1, 0, 0, 0)), b"")
        zf.writestr("last.txt", b"hello")
    data = path.read_bytes()
    assert b"PK\x06\x06" in data[-200:]
    z = open_zip(data)
    assert len(z.entries) == 65_601
    assert z.read(z.find("last.txt")) == b"hello"  # type: ignore[arg-type]


def test_zip_rejects_non_zip_and_truncated(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no end-of-central-directory"):
        open_zip(b"not a zip at all" * 100)
    data = _stored_zip(tmp_path)
    with pytest.raises(FormatError):
        open_zip(data[: len(data) // 2])
    z = open_zip(data[:40] + data[-200:])  # entries cut out: central directory still read, data missing
    with pytest.raises(FormatError):
        for e in z.entries:
            z.read(e)


# ---------------------------------------------------------------- AXML manifest


def test_manifest_facts(spy_apk: Path) -> None:
    z = open_zip(spy_apk.read_bytes())
    m = parse_manifest(z.read(z.find("AndroidManifest.xml")))  # type: ignore[arg-type]
    assert (m.package, m.version_code, m.version_name) == ("com.example.spy", 42, "4.2")
    assert m.shared_user_id == "android.uid.system"
    assert (m.min_sdk, m.target_sdk) == (15, 28)
    assert m.uses_permissions == [
        "android.permission.READ_SMS",
        "android.permission.SEND_SMS",
        "android.permission.INTERNET",
    ]
    assert [(p.name, p.protection_level) for p in m.permissions] == [
        ("com.example.spy.CONTROL", "signature|privileged")
    ]
    assert m.application["persistent"] == "true" and m.application["debuggable"] == "true"
    assert m.application["usesCleartextTraffic"] == "true"
    assert m.application["networkSecurityConfig"].startswith("@0x7f")
    comps = {c.name: c for c in m.components}
    main = comps["com.example.spy.MainActivity"]
    assert main.kind == "activity" and main.exported is None and main.exported_effective
    assert main.permission == "com.example.spy.CONTROL"  # inherited from <application>
    assert main.intent_filters[0].actions == ["android.intent.action.MAIN"]
    assert comps["com.example.spy.UploadService"].exported is True
    assert comps["com.example.spy.UploadService"].permission is None  # android:permission="" unguards it
    assert comps["com.example.spy.BootReceiver"].exported_effective  # "BootReceiver" qualified like Android
    assert comps["com.example.spy.Hidden"].exported is False and not comps["com.example.spy.Hidden"].exported_effective
    prov = comps["com.example.spy.Data"]
    assert prov.authorities == "com.example.spy.data" and prov.read_permission == "x.READ"
    assert prov.write_permission == "com.example.spy.CONTROL"
    assert not prov.exported_effective  # targetSdk >= 17


def test_manifest_agrees_with_androguard_and_aapt(spy_apk: Path) -> None:
    apk_mod = androguard("apk")
    z = open_zip(spy_apk.read_bytes())
    m = parse_manifest(z.read(z.find("AndroidManifest.xml")))  # type: ignore[arg-type]
    a = apk_mod.APK(str(spy_apk))
    assert m.package == a.get_package()
    assert set(m.uses_permissions) == set(a.get_permissions())
    for kind, names in (
        ("activity", a.get_activities()),
        ("service", a.get_services()),
        ("receiver", a.get_receivers()),
        ("provider", a.get_providers()),
    ):
        assert sorted(c.name for c in m.components if c.kind == kind) == sorted(names)
    badging = subprocess.run(["aapt", "dump", "badging", str(spy_apk)], capture_output=True, text=True).stdout
    assert f"versionCode='{m.version_code}'" in badging
    assert f"targetSdkVersion:'{m.target_sdk}'" in badging


def test_exported_defaults_follow_target_sdk(work: Path) -> None:
    old = build_apk(work, spy_manifest(target_sdk=16), schemes=(), name="old", resources=RES)
    z = open_zip(old.read_bytes())
    m = parse_manifest(z.read(z.find("AndroidManifest.xml")))  # type: ignore[arg-type]
    prov = next(c for c in m.components if c.kind == "provider")
    assert prov.exported is None and prov.exported_effective  # providers exported by default before API 17


def test_network_security_config_tree(spy_apk: Path) -> None:
    z = open_zip(spy_apk.read_bytes())
    entry = next(e for e in z.entries if e.name.startswith("res/xml/network_security_config"))
    root = parse_xml(z.read(entry))
    assert root.tag == "network-security-config"
    base = root.find_all("base-config")[0]
    assert base.attrs["cleartextTrafficPermitted"] is True
    domain = root.find_all("domain-config")[0]
    assert domain.attrs["cleartextTrafficPermitted"] is False
    assert domain.find_all("domain")[0].attrs["includeSubdomains"] is True


def test_resource_table_resolves_manifest_references(spy_apk: Path) -> None:
    z = open_zip(spy_apk.read_bytes())
    m = parse_manifest(z.read(z.find("AndroidManifest.xml")))  # type: ignore[arg-type]
    table = parse_arsc(z.read(z.find("resources.arsc")))  # type: ignore[arg-type]
    (path,) = table.resolve(m.application["networkSecurityConfig"])
    assert path == "res/xml/network_security_config.xml" and z.find(path) is not None
    assert table.resolve("@0x7f7f0001") == [] and table.resolve("plain") == ["plain"]
    dump = subprocess.run(
        ["aapt", "dump", "resources", str(spy_apk)], capture_output=True, text=True, check=True
    ).stdout
    assert f"resource {m.application['networkSecurityConfig'][1:]} com.example.spy:xml/network_security_config" in dump
    data = bytearray(z.read(z.find("resources.arsc")))  # type: ignore[arg-type]
    pool = table.strings
    assert pool is not None
    index = next(i for i in range(len(pool)) if pool.get(i) == path)
    value_at = bytes(data).find(struct.pack("<HBBI", 8, 0, 0x03, index))
    own_id = int(m.application["networkSecurityConfig"][1:], 16)
    struct.pack_into("<BI", data, value_at + 3, 0x01, own_id)  # now a reference to itself
    looped = parse_arsc(bytes(data))
    assert looped.resolve(m.application["networkSecurityConfig"]) == []
    struct.pack_into("<I", data, 12 + 4, 2**30)  # the string pool claims 1 GiB
    with pytest.raises(FormatError, match="bad chunk") as err:
        parse_arsc(bytes(data))
    assert err.value.offset == 12
    with pytest.raises(FormatError, match="not a resource table"):
        parse_arsc(_manifest_bytes(spy_apk))


def _manifest_bytes(spy_apk: Path) -> bytes:
    z = open_zip(spy_apk.read_bytes())
    return z.read(z.find("AndroidManifest.xml"))  # type: ignore[arg-type]


def _utf16(s: str) -> bytes:
    return struct.pack("<H", len(s)) + s.encode("utf-16-le")


def _utf8(s: str) -> bytes:
    return bytes([len(s), len(s)]) + s.encode()


def test_manifest_attribute_renamed_in_string_pool_resolves_by_resource_id(spy_apk: Path) -> None:
    """The manifest-parser attack: rename "name"/"exported" in the string pool; Android goes by resource ID."""
    data = _manifest_bytes(spy_apk)
    utf8 = struct.unpack_from("<I", data, 8 + 16)[0] & 0x100
    enc = _utf8 if utf8 else _utf16
    tampered = data.replace(enc("name"), enc("nXme"), 1).replace(enc("exported"), enc("eXported"), 1)
    assert tampered != data
    m = parse_manifest(tampered)
    assert m.package == "com.example.spy"
    assert "android.permission.READ_SMS" in m.uses_permissions
    assert {c.name for c in m.components} >= {"com.example.spy.UploadService", "com.example.spy.MainActivity"}
    assert next(c for c in m.components if c.name.endswith("Hidden")).exported is False


def test_manifest_utf8_string_pool(spy_apk: Path) -> None:
    original = parse_manifest(_manifest_bytes(spy_apk))
    converted = parse_manifest(utf8_manifest(_manifest_bytes(spy_apk)))
    assert converted == original


def test_manifest_boolean_given_as_text_follows_android(spy_apk: Path) -> None:
    """exported as a string value: Android's getBoolean is true only for "1"/"true"/"TRUE"."""
    data = bytearray(_manifest_bytes(spy_apk))
    pool_size = struct.unpack_from("<I", data, 8 + 4)[0]
    map_at = 8 + pool_size
    map_size = struct.unpack_from("<I", data, map_at + 4)[0]
    ids = struct.unpack_from(f"<{(map_size - 8) // 4}I", data, map_at + 8)
    exported = ids.index(0x01010010)
    true_attr = struct.pack("<IIHBBI", exported, 0xFFFFFFFF, 8, 0, 0x12, 0xFFFFFFFF)
    at = bytes(data).find(true_attr)
    assert at > 0
    struct.pack_into("<BI", data, at + 11, 0x03, 0)  # now string 0 of the pool (a name, not "true")
    m = parse_manifest(bytes(data))
    svc = next(c for c in m.components if c.name.endswith("UploadService"))
    assert svc.exported is False


def test_manifest_huge_string_count_is_bounded(spy_apk: Path) -> None:
    data = bytearray(_manifest_bytes(spy_apk))
    struct.pack_into("<I", data, 8 + 8, 0x7FFFFFFF)  # string pool count
    tracemalloc.start()
    m = parse_manifest(bytes(data))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert m.package == "com.example.spy"
    assert any("claims 2147483647 strings" in i for i in m.issues)
    assert peak < 16 * 2**20


def test_manifest_overlapping_string_offsets_do_not_loop(spy_apk: Path) -> None:
    data = bytearray(_manifest_bytes(spy_apk))
    hsize = struct.unpack_from("<H", data, 8 + 2)[0]
    count = struct.unpack_from("<I", data, 8 + 8)[0]
    for i in range(count):  # every string offset points at the same (first) string
        struct.pack_into("<I", data, 8 + hsize + 4 * i, 0)
    m = parse_manifest(bytes(data))  # every name is now the same string: no crash, no hang
    assert isinstance(m.package, str)


def test_manifest_bad_chunk_size_is_format_error(spy_apk: Path) -> None:
    data = bytearray(_manifest_bytes(spy_apk))
    pool_size = struct.unpack_from("<I", data, 8 + 4)[0]
    struct.pack_into("<I", data, 8 + pool_size + 4, 0xFFFFFF)  # chunk after the pool claims 16 MiB
    with pytest.raises(FormatError, match="bad chunk") as err:
        parse_manifest(bytes(data))
    assert err.value.offset == 8 + pool_size


def test_manifest_unknown_chunk_skipped(spy_apk: Path) -> None:
    data = _manifest_bytes(spy_apk)
    pool_size = struct.unpack_from("<I", data, 8 + 4)[0]
    junk = struct.pack("<HHI", 0x0777, 8, 16) + b"J" * 8
    tampered = bytearray(data[: 8 + pool_size] + junk + data[8 + pool_size :])
    struct.pack_into("<I", tampered, 4, len(tampered))
    m = parse_manifest(bytes(tampered))
    assert m.package == "com.example.spy"
    assert any("unknown chunk type 0x0777" in i for i in m.issues)


def test_manifest_rejects_text_xml() -> None:
    with pytest.raises(FormatError, match="text XML"):
        parse_manifest(b'<?xml version="1.0"?><manifest package="a"/>')


# ---------------------------------------------------------------- DEX


def test_dex_tables_multidex(spy_apk: Path) -> None:
    z = open_zip(spy_apk.read_bytes())
    d1 = parse_dex(z.read(z.find("classes.dex")))  # type: ignore[arg-type]
    d2 = parse_dex(z.read(z.find("classes2.dex")))  # type: ignore[arg-type]
    assert d1.version == 35 and d1.checksum_ok
    assert d1.defined_classes == ["Lcom/example/spy/MainActivity;"]
    assert d1.superclasses["Lcom/example/spy/MainActivity;"] == "Landroid/app/Activity;"
    assert ("Landroid/telephony/SmsManager;", "sendTextMessage") in d1.method_refs
    assert ("Lcom/example/spy/MainActivity;", "sent") in d1.field_refs
    assert "Landroid/telephony/SmsManager;" in d1.types
    assert "http://fota.example.invalid/upload" in d1.strings
    assert d2.defined_classes == ["Lcom/example/spy/Helper;"]
    assert "nul\x00inside \U0001f600 café" in list(d2.strings)


def test_dex_strings_match_androguard(spy_apk: Path) -> None:
    dex_mod = androguard("dex")
    z = open_zip(spy_apk.read_bytes())
    raw = z.read(z.find("classes.dex"))  # type: ignore[arg-type]
    ours = parse_dex(raw)
    theirs = dex_mod.DEX(raw)
    assert list(ours.strings) == list(theirs.get_strings())
    assert sorted(ours.defined_classes) == sorted(c.get_name() for c in theirs.get_classes())


def test_dex_newer_versions(work: Path) -> None:
    for api, version in ((24, 37), (28, 39)):
        raw = assemble_dex({"com/example/spy/MainActivity.smali": MAIN_SMALI}, work, api=api)
        d = parse_dex(raw)
        assert d.version == version and d.checksum_ok
        assert ("Landroid/telephony/SmsManager;", "sendTextMessage") in d.method_refs


def _small_dex(spy_apk: Path) -> bytes:
    z = open_zip(spy_apk.read_bytes())
    return z.read(z.find("classes.dex"))  # type: ignore[arg-type]


def test_dex_string_ids_reordered_read_by_offset(spy_apk: Path) -> None:
    raw = bytearray(_small_dex(spy_apk))
    expect = list(parse_dex(bytes(raw)).strings)
    n, off = struct.unpack_from("<II", raw, 0x38)
    a, b = struct.unpack_from("<II", raw, off)
    struct.pack_into("<II", raw, off, b, a)  # swap the first two string ids: no longer in layout order
    got = parse_dex(bytes(raw))
    assert list(got.strings) == [expect[1], expect[0]] + expect[2:]
    assert not got.checksum_ok


def test_dex_bad_inputs(spy_apk: Path) -> None:
    raw = _small_dex(spy_apk)
    with pytest.raises(FormatError, match="truncated"):
        parse_dex(raw[: len(raw) - 10])
    with pytest.raises(FormatError, match="not a dex file"):  # CompactDex goes through cdex.parse_any
        parse_dex(b"cdex001\x00" + raw[8:])
    with pytest.raises(FormatError, match="version 034"):
        parse_dex(b"dex\n034\x00" + raw[8:])
    bad = bytearray(raw)
    struct.pack_into("<I", bad, 0x44, len(raw) - 2)  # type_ids offset at the end of the file
    with pytest.raises(FormatError, match="type_ids") as err:
        parse_dex(bytes(bad))
    assert err.value.offset == len(raw) - 2
    bad = bytearray(raw)
    off = struct.unpack_from("<I", bad, 0x44)[0]
    struct.pack_into("<I", bad, off, 0xFFFF)  # a type pointing at no string
    with pytest.raises(FormatError, match="out of range"):
        parse_dex(bytes(bad))


# ---------------------------------------------------------------- OAT / VDEX / ODEX carving


def test_carve_dex_from_elf_vdex_and_dalvik_odex(spy_apk: Path, tmp_path: Path) -> None:
    dex = _small_dex(spy_apk)
    (tmp_path / "classes.dex").write_bytes(dex)
    (tmp_path / "empty.c").write_text("int oat_marker = 1;\n")
    subprocess.run(["gcc", "-c", "-o", str(tmp_path / "o.o"), str(tmp_path / "empty.c")], check=True)
    subprocess.run(
        ["objcopy", "--add-section", f".rodata.oatdata={tmp_path / 'classes.dex'}", str(tmp_path / "o.o")],
        check=True,
    )
    odex = (tmp_path / "o.o").read_bytes()
    found = carve_dex(odex)
    assert [d for _, d in found] == [dex]
    assert parse_dex(found[0][1]).defined_classes == ["Lcom/example/spy/MainActivity;"]
    assert parse_elf(odex).elf_type == "rel"

    quickened = bytearray(dex)
    quickened[-1] ^= 0xFF
    vdex = b"vdex027\x00" + bytes(24) + dex + bytes(3) + bytes(quickened) + b"cdex001\x00" + bytes(200)
    res = carve(vdex)
    assert [o for o, _ in res.dex] == [32, 32 + len(dex) + 3]
    assert res.compact == [32 + 2 * len(dex) + 3]
    assert any("Adler-32 mismatch" in i for i in res.issues)
    assert any("CompactDex" in i for i in res.issues)

    dey = b"dey\n036\x00" + struct.pack("<II", 40, len(dex)) + bytes(24) + dex + b"deps"
    assert carve_dex(dey) == [(40, dex)]
    with pytest.raises(FormatError, match="Dalvik ODEX"):
        carve(b"dey\n036\x00" + struct.pack("<II", 40, 10**6) + bytes(60))
    truncated = carve(b"xx" + dex[:200])
    assert truncated.dex == [] and any("declares" in i for i in truncated.issues)


# ---------------------------------------------------------------- ELF


@pytest.fixture(scope="module")
def elf_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    if not shutil.which("gcc"):
        pytest.skip("needs gcc")
    d = tmp_path_factory.mktemp("elf")
    (d / "t.c").write_text(
        "#include <stdio.h>\n#include <stdlib.h>\n#include <unistd.h>\n"
        'const char *secret = "sync_agent_password_1234";\n'
        "int exported_fn(int x) { return x * 2; }\n"
        'int main(int c, char **v) { printf("%s %d\\n", secret, exported_fn(c)); setuid(0); return system("id"); }\n'
    )
    subprocess.run(["gcc", "-O1", "-o", str(d / "t"), str(d / "t.c")], check=True)
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(d / "libt.so"), str(d / "t.c")], check=True)
    (d / "s.c").write_text("int stub_fn(int x) { return x + 1; }\n")
    (d / "m.c").write_text(
        'extern int stub_fn(int);\nconst char banner[] = "backdoor_password_for_test";\n'
        "int exported_api(int v) { return stub_fn(v) * 3; }\n"
    )
    common = ["gcc", "-m32", "-O1", "-nostdlib", "-shared", "-fPIC"]
    subprocess.run([*common, "-o", str(d / "libstub.so"), str(d / "s.c")], check=True)
    subprocess.run([*common, "-o", str(d / "lib32.so"), str(d / "m.c"), f"-L{d}", "-lstub"], check=True)
    return {
        "exe": (d / "t").read_bytes(),
        "lib": (d / "libt.so").read_bytes(),
        "lib32": (d / "lib32.so").read_bytes(),
    }


def test_elf_facts(elf_files: dict[str, bytes], tmp_path: Path) -> None:
    exe = parse_elf(elf_files["exe"])
    assert exe.bits == 64 and exe.machine in ("x86_64", "aarch64")
    assert exe.interpreter and exe.interpreter.startswith("/lib")
    assert "libc.so.6" in exe.needed
    assert {"system", "setuid", "printf"} <= set(exe.imported)
    assert "sync_agent_password_1234" in exe.strings
    lib = parse_elf(elf_files["lib"])
    assert lib.interpreter is None and "exported_fn" in lib.exported and "exported_fn" not in lib.imported
    (tmp_path / "lib.so").write_bytes(elf_files["lib"])
    readelf = subprocess.run(["readelf", "-d", "-W", str(tmp_path / "lib.so")], capture_output=True)
    assert sorted(re.findall(rb"Shared library: \[([^\]]+)\]", readelf.stdout)) == sorted(
        n.encode() for n in lib.needed
    )


def test_elf32(elf_files: dict[str, bytes]) -> None:
    e = parse_elf(elf_files["lib32"])
    assert (e.bits, e.machine, e.elf_type) == (32, "x86", "dyn")
    assert e.needed == ["libstub.so"]
    assert e.imported == ["stub_fn"] and "exported_api" in e.exported
    assert "backdoor_password_for_test" in e.strings


def test_elf_without_section_headers_uses_program_headers(elf_files: dict[str, bytes]) -> None:
    data = bytearray(elf_files["exe"])
    struct.pack_into("<Q", data, 0x28, 0)  # e_shoff
    struct.pack_into("<HHH", data, 0x3A, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    e = parse_elf(bytes(data))
    assert "libc.so.6" in e.needed
    assert {"system", "setuid"} <= set(e.imported)
    assert e.interpreter and e.interpreter.startswith("/lib")
    assert "sync_agent_password_1234" in e.strings


def test_elf_malformed(elf_files: dict[str, bytes]) -> None:
    with pytest.raises(FormatError, match="not an ELF"):
        parse_elf(b"MZ" + bytes(100))
    with pytest.raises(FormatError):
        parse_elf(b"\x7fELF\x03\x01" + bytes(100))
    data = bytearray(elf_files["exe"])
    struct.pack_into("<H", data, 0x3C, 0xFFFF)  # e_shnum far too large
    e = parse_elf(bytes(data))
    assert any("section headers" in i for i in e.issues)
    assert "libc.so.6" in e.needed  # still found through PT_DYNAMIC


# ---------------------------------------------------------------- signing


def test_signing_schemes_and_certificate(spy_apk: Path, work: Path) -> None:
    data = spy_apk.read_bytes()
    s = signing_info(open_zip(data), data)
    assert s.schemes == ["v1", "v2", "v3"]
    assert s.issues == []
    assert len(s.certs) == 1
    cert = s.certs[0]
    der = subprocess.run(
        ["keytool", "-exportcert", "-keystore", str(keystore(work)), "-storepass", "password", "-alias", "key"],
        capture_output=True,
        check=True,
    ).stdout
    assert cert.sha256 == hashlib.sha256(der).hexdigest()
    assert "Test Signer" in cert.subject and cert.subject == cert.issuer
    assert cert.schemes == ["v1", "v2", "v3"]
    assert cert.not_before < cert.not_after


def test_signing_v1_only_janus_and_stripped_v2(v1_apk: Path, spy_apk: Path, tmp_path: Path) -> None:
    data = v1_apk.read_bytes()
    assert signing_info(open_zip(data), data).schemes == ["v1"]
    dex = _small_dex(spy_apk)
    janus = _prepend(dex, data)
    s = signing_info(open_zip(janus), janus)
    assert any("CVE-2017-13156" in i and "dex" in i for i in s.issues)
    # strip the v2/v3 block: copy the entries into a fresh zip
    stripped = tmp_path / "stripped.apk"
    with zipfile.ZipFile(spy_apk) as src, zipfile.ZipFile(stripped, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
    data = stripped.read_bytes()
    s = signing_info(open_zip(data), data)
    assert s.schemes == ["v1"]
    assert any("signature stripped" in i for i in s.issues)


def test_signing_v31_block(spy_apk: Path) -> None:
    """apksigner 31 (Debian) cannot write v3.1; add a v3.1 pair (a copy of the v3 signer) to the real block."""
    data = spy_apk.read_bytes()
    z = open_zip(data)
    assert z.sig_block is not None and z.sig_block_offset is not None
    pairs = block_pairs(z.sig_block)
    v3 = next(v for pid, v in pairs if pid == 0xF05368C0)
    body = b"".join(struct.pack("<QI", len(v) + 4, pid) + v for pid, v in [*pairs, (0x1B93AD61, v3)])
    size = struct.pack("<Q", len(body) + 24)
    block = size + body + size + b"APK Sig Block 42"
    out = bytearray(data[: z.sig_block_offset] + block + data[z.cd_offset :])
    eocd = out.rfind(b"PK\x05\x06")
    struct.pack_into("<I", out, eocd + 16, z.cd_offset + len(block) - len(z.sig_block))
    s = signing_info(open_zip(bytes(out)), bytes(out))
    assert s.schemes == ["v1", "v2", "v3", "v3.1"]
    assert s.certs[0].schemes == ["v1", "v2", "v3", "v3.1"]
    assert s.issues == []


def test_signing_unsigned_and_corrupt_block(work: Path, spy_apk: Path) -> None:
    unsigned = work / "spy-unsigned.apk"
    data = unsigned.read_bytes()
    assert signing_info(open_zip(data), data).issues == ["no signature (neither JAR signature nor APK Signing Block)"]
    data = bytearray(spy_apk.read_bytes())
    z = open_zip(bytes(data))
    assert z.sig_block_offset is not None
    struct.pack_into("<Q", data, z.sig_block_offset + 8, 2**40)  # first pair's length
    s = signing_info(open_zip(bytes(data)), bytes(data))
    assert s.schemes == ["v1"]
    assert any("APK Signing Block malformed" in i for i in s.issues)


# ---------------------------------------------------------------- props, init rc


def test_props_both_formats() -> None:
    text = (
        "# begin build properties\nro.build.tags=test-keys\nro.product.brand = ZTE\n"
        "import /vendor/build.prop\nthis line is junk\nro.adups.fota.version=2.1=b\n"
    )
    props = parse_props(text)
    assert [(p.key, p.value, p.line) for p in props] == [
        ("ro.build.tags", "test-keys", 2),
        ("ro.product.brand", "ZTE", 3),
        ("ro.adups.fota.version", "2.1=b", 6),
    ]
    assert props.issues == ["line 5: not a property: 'this line is junk'"]
    getprop = parse_props("[ro.build.fingerprint]: [zte/p/p:7.0/NRD90M/1:user/test-keys]\n[empty]: []\n")
    assert getprop.as_dict() == {"ro.build.fingerprint": "zte/p/p:7.0/NRD90M/1:user/test-keys", "empty": ""}


def test_initrc_services_sockets_and_blocks() -> None:
    text = """import /init.${ro.hardware}.rc
# the ADUPS-style binder service
on post-fs-data
    mkdir /data/fota 0771 system system
    start fotabinder

service fotabinder /system/bin/fotabinder --daemon "quoted arg"
    class main
    user root
    group root system inet
    socket fota stream 0660 system system
    seclabel u:r:fota:s0
    capabilities NET_RAW \\
        SYS_ADMIN
    oneshot
    disabled

service broken
"""
    rc = parse_initrc(text)
    assert rc.imports == [("/init.${ro.hardware}.rc", 1)]
    assert rc.on_blocks[0].trigger == "post-fs-data"
    assert rc.on_blocks[0].commands == [("mkdir /data/fota 0771 system system", 4), ("start fotabinder", 5)]
    (svc,) = rc.services
    assert (svc.name, svc.path, svc.args, svc.line) == (
        "fotabinder",
        "/system/bin/fotabinder",
        ["--daemon", "quoted arg"],
        7,
    )
    assert (svc.user, svc.group, svc.groups, svc.classes) == ("root", "root", ["system", "inet"], ["main"])
    assert svc.sockets == ["fota stream 0660 system system"]
    assert svc.seclabel == "u:r:fota:s0" and svc.capabilities == ["NET_RAW", "SYS_ADMIN"]
    assert svc.oneshot and svc.disabled
    assert rc.issues == ["line 18: service needs a name and a path"]


# ---------------------------------------------------------------- real APKs (fdroidserver sdist)


def _aapt_permissions(path: Path) -> set[str] | None:
    out = subprocess.run(["aapt", "dump", "permissions", str(path)], capture_output=True, text=True).stdout
    if not out.startswith("package:"):
        return None  # aapt cannot read it (e.g. the Janus sample)
    return set(re.findall(r"^uses-permission(?:-sdk-23)?: name='([^']+)'", out, re.M))


def test_fdroid_apks_parse_and_agree_with_androguard_and_aapt() -> None:
    apks = sorted(FDROID.rglob("*.apk"))
    if not apks:
        pytest.skip("tests/data/cache/fdroidserver absent: run scripts/fetch-test-data")
    apk_mod = androguard("apk")
    checked = aapt_read = labels = 0
    for path in apks:
        data = path.read_bytes()
        z = open_zip(data)
        sig = signing_info(z, data)
        for e in z.entries:
            if re.fullmatch(r"classes\d*\.dex", e.name):
                parse_dex(z.read(e))
        entry = z.find("AndroidManifest.xml")
        assert entry is not None, path.name
        m = parse_manifest(z.read(entry))
        a = apk_mod.APK(str(path))
        assert m.package == a.get_package(), path.name
        for kind, names in (("activity", a.get_activities()), ("service", a.get_services())):
            assert sorted(c.name for c in m.components if c.kind == kind) == sorted(names), path.name
        assert set(a.get_permissions()) <= set(m.uses_permissions), path.name
        aapt = _aapt_permissions(path) if have_toolchain() else None
        if aapt is not None:
            assert set(m.uses_permissions) == aapt, path.name
            aapt_read += 1
        arsc = z.find("resources.arsc")
        if arsc is not None and (label := a.get_app_name()):
            assert label in parse_arsc(z.read(arsc)).resolve(m.application.get("label")), path.name
            labels += 1
        if path.name == "janus.apk":
            assert any("CVE-2017-13156" in i for i in sig.issues)
        if path.name == "issue-1128-poc1.apk":
            assert "v1 and v2/v3 signer certificates differ" in sig.issues
        if "unsigned" in path.name:
            assert not sig.schemes
        checked += 1
    assert checked >= 40 and labels >= 30
    assert aapt_read >= 35 or not have_toolchain()


def test_zip_crc_mismatch_is_an_issue(tmp_path: Path) -> None:
    data = bytearray(_stored_zip(tmp_path))
    cen = _central_offset(bytes(data), b"classes.dex")
    struct.pack_into("<I", data, cen + 16, 0xDEADBEEF)
    z = open_zip(bytes(data))
    assert z.read(z.find("classes.dex")) == b"D" * 300  # type: ignore[arg-type]
    assert "classes.dex: CRC-32 mismatch" in z.issues
    assert any("local header CRC" in i for i in z.issues)


REFS_SMALI = """.class public Lcom/example/refs/Main;
.super Ljava/lang/Object;
.field private count:I

.method public run(Landroid/content/Context;)V
    .registers 6
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    invoke-static {}, Landroid/telephony/SmsManager;->getDefault()Landroid/telephony/SmsManager;
    move-result-object v0
    invoke-virtual {v0}, Landroid/telephony/SmsManager;->getSubscriptionId()I
    invoke-virtual {p1}, Landroid/content/Context;->getPackageName()Ljava/lang/String;
    invoke-virtual {p1}, Landroid/content/Context;->getCacheDir()Ljava/io/File;
    invoke-static {}, Ljava/lang/System;->nanoTime()J
    sget-object v1, Ljava/lang/System;->out:Ljava/io/PrintStream;
    sget-object v2, Landroid/os/Build;->MODEL:Ljava/lang/String;
    sget-object v3, Landroid/os/Build;->SERIAL:Ljava/lang/String;
    iget v4, p0, Lcom/example/refs/Main;->count:I
    return-void
.end method
"""


@pytest.fixture(scope="module")
def refs_dex(work: Path) -> bytes:
    return assemble_dex({"com/example/refs/Main.smali": REFS_SMALI}, work / "refs")


def _reverse_ids(raw: bytes, header_at: int) -> bytes:
    """Reverse the order of a table of 8-byte ids (field_ids at 0x50, method_ids at 0x58): no longer sorted."""
    out = bytearray(raw)
    n, off = struct.unpack_from("<II", raw, header_at)
    items = [raw[off + 8 * i : off + 8 * i + 8] for i in range(n)]
    out[off : off + 8 * n] = b"".join(reversed(items))
    return bytes(out)


def test_dex_member_lookup_on_unsorted_tables(refs_dex: bytes) -> None:
    sorted_dex = parse_dex(refs_dex)
    methods, fields = set(sorted_dex.method_refs), set(sorted_dex.field_refs)
    assert ("Landroid/content/Context;", "getCacheDir") in methods and len({c for c, _ in methods}) >= 4
    assert ("Landroid/os/Build;", "SERIAL") in fields and len({c for c, _ in fields}) >= 3
    tampered = parse_dex(_reverse_ids(_reverse_ids(refs_dex, 0x58), 0x50))
    assert tampered.method_refs == list(reversed(sorted_dex.method_refs))  # really out of the format's order
    assert tampered.field_refs == list(reversed(sorted_dex.field_refs))
    for pair in methods:
        assert pair in tampered.methods and pair in sorted_dex.methods
    for pair in fields:
        assert pair in tampered.fields and pair in sorted_dex.fields
    # Names of one class asked under another, and names not referenced, are not found on either path.
    for dex in (sorted_dex, tampered):
        assert ("Landroid/content/Context;", "getDefault") not in dex.methods
        assert ("Landroid/telephony/SmsManager;", "sendTextMessage") not in dex.methods
        assert ("Landroid/os/Build;", "out") not in dex.fields
        assert ("Lcom/example/Missing;", "run") not in dex.methods
        assert "Landroid/os/Build;->SERIAL" not in dex.fields  # not a (class, name) pair


def test_dex_member_lookup_with_a_type_listed_twice(refs_dex: bytes) -> None:
    dex = parse_dex(refs_dex)
    raw = bytearray(refs_dex)
    n, off = struct.unpack_from("<II", raw, 0x40)
    sms, system = dex.types.index("Landroid/telephony/SmsManager;"), dex.types.index("Ljava/lang/System;")
    struct.pack_into("<I", raw, off + 4 * sms, struct.unpack_from("<I", raw, off + 4 * system)[0])
    twice = parse_dex(bytes(raw))
    assert twice.types.count("Ljava/lang/System;") == 2
    # The methods once of SmsManager now name System; both sets are found under it.
    for name in ("getDefault", "getSubscriptionId", "nanoTime"):
        assert ("Ljava/lang/System;", name) in twice.methods
    assert ("Ljava/lang/System;", "out") in twice.fields
    assert ("Landroid/telephony/SmsManager;", "getDefault") not in twice.methods
