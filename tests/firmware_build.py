"""Build real Android test artefacts with real toolchains (Debian aapt, smali, apksigner, keytool).

Used by the firmware tests to make APKs that Android's own tools produce, instead of hand-written bytes:

- ``have_toolchain()`` / ``need_toolchain()``: whether aapt, smali, apksigner, keytool and an android framework
  (``framework-res.apk`` from Debian ``android-framework-res``) are installed; ``need_toolchain()`` skips the test.
- ``manifest_xml(package, ...)``: the text of an AndroidManifest.xml from simple arguments.
- ``assemble_dex(smali, out_dir)``: assemble ``{"com/foo/Bar.smali": text}`` into a real ``classes.dex``; returns bytes.
- ``keystore(work_dir, cn)``: a JKS keystore with one RSA key (alias ``key``, password ``password``).
- ``build_apk(work_dir, manifest, smali=None, extra=None, schemes=("v1", "v2", "v3"), cn="Test Signer",
  name="app", resources=None)``: package the manifest with aapt (binary AXML) and ``resources``
  (``{"xml/network_security_config.xml": text}``, compiled from a res/ folder), add ``classes*.dex`` built from
  smali (a list of dicts gives multidex), add ``extra`` files (stored as given), sign with apksigner for the given
  schemes (``()`` leaves it unsigned); returns the APK path.
- ``utf8_manifest(data)``: a compiled manifest with its UTF-16 string pool re-encoded as UTF-8 (as other build
  tools write it).
- ``rezip(entries, out)``: write a zip from ``[(name, bytes)]`` in the given order (duplicates allowed), stored.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

FRAMEWORK = Path("/usr/share/android-framework-res/framework-res.apk")
TOOLS = ("aapt", "smali", "apksigner", "keytool")
PASSWORD = "password"
ANDROID_NS = "http://schemas.android.com/apk/res/android"


def have_toolchain() -> bool:
    return FRAMEWORK.is_file() and all(shutil.which(t) for t in TOOLS)


def need_toolchain() -> None:
    if not have_toolchain():
        pytest.skip("needs aapt, smali, apksigner, keytool and android-framework-res (scripts/test-setup)")


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f" android:{k}={quoteattr(v)}" for k, v in attrs.items())


def manifest_xml(
    package: str,
    *,
    version_code: int = 1,
    version_name: str = "1.0",
    shared_user_id: str | None = None,
    min_sdk: int = 19,
    target_sdk: int = 28,
    uses_permissions: Iterable[str] = (),
    permissions: Iterable[tuple[str, str]] = (),
    application: dict[str, str] | None = None,
    components: Iterable[tuple[str, str, dict[str, str], Sequence[str]]] = (),
) -> str:
    """Manifest text. components: (kind, name, extra android: attributes, intent-filter actions)."""
    top = {"versionCode": str(version_code), "versionName": version_name}
    if shared_user_id:
        top["sharedUserId"] = shared_user_id
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<manifest xmlns:android="{ANDROID_NS}" package={quoteattr(package)}{_attrs(top)}>',
        f'  <uses-sdk android:minSdkVersion="{min_sdk}" android:targetSdkVersion="{target_sdk}"/>',
    ]
    lines += [f"  <uses-permission android:name={quoteattr(p)}/>" for p in uses_permissions]
    lines += [
        f"  <permission android:name={quoteattr(n)} android:protectionLevel={quoteattr(lvl)}/>"
        for n, lvl in permissions
    ]
    lines.append(f"  <application{_attrs(application or {})}>")
    for kind, name, attrs, actions in components:
        lines.append(f"    <{kind} android:name={quoteattr(name)}{_attrs(attrs)}>")
        if actions:
            lines.append("      <intent-filter>")
            lines += [f"        <action android:name={quoteattr(a)}/>" for a in actions]
            lines.append("      </intent-filter>")
        lines.append(f"    </{kind}>")
    lines += ["  </application>", "</manifest>", ""]
    return "\n".join(lines)


def assemble_dex(smali: dict[str, str], out_dir: Path, api: int = 19) -> bytes:
    src = out_dir / "smali-src"
    if src.exists():
        shutil.rmtree(src)
    for rel, text in smali.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    out = out_dir / "classes.dex"
    subprocess.run(["smali", "assemble", "--api", str(api), "-o", str(out), str(src)], check=True, capture_output=True)
    return out.read_bytes()


def keystore(work_dir: Path, cn: str = "Test Signer") -> Path:
    ks = work_dir / f"{cn.replace(' ', '_')}.jks"
    if not ks.exists():
        subprocess.run(
            ["keytool", "-genkeypair", "-keystore", str(ks), "-storepass", PASSWORD, "-keypass", PASSWORD]
            + ["-alias", "key", "-keyalg", "RSA", "-keysize", "2048", "-validity", "10000"]
            + ["-dname", f"CN={cn}, O=Bansweep Tests, C=US"],
            check=True,
            capture_output=True,
        )
    return ks


def build_apk(
    work_dir: Path,
    manifest: str,
    smali: dict[str, str] | list[dict[str, str]] | None = None,
    extra: dict[str, bytes] | None = None,
    schemes: Sequence[str] = ("v1", "v2", "v3"),
    cn: str = "Test Signer",
    name: str = "app",
    resources: dict[str, str] | None = None,
) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "AndroidManifest.xml").write_text(manifest)
    unsigned = work_dir / f"{name}-unsigned.apk"
    res_args: list[str] = []
    if resources:
        res = work_dir / f"{name}-res"
        for rel, text in resources.items():
            (res / rel).parent.mkdir(parents=True, exist_ok=True)
            (res / rel).write_text(text)
        res_args = ["-S", str(res)]
    subprocess.run(
        ["aapt", "package", "-f", "-M", str(work_dir / "AndroidManifest.xml"), "-I", str(FRAMEWORK)]
        + res_args
        + ["-F", str(unsigned)],
        check=True,
        capture_output=True,
    )
    dexes = [smali] if isinstance(smali, dict) else list(smali or [])
    with zipfile.ZipFile(unsigned, "a", zipfile.ZIP_DEFLATED) as zf:
        for i, src in enumerate(dexes):
            dex = assemble_dex(src, work_dir)
            zf.writestr("classes.dex" if i == 0 else f"classes{i + 1}.dex", dex)
        for entry, data in (extra or {}).items():
            zf.writestr(entry, data)
    if not schemes:
        return unsigned
    out = work_dir / f"{name}.apk"
    ks = keystore(work_dir, cn)
    flags = []
    for s in ("v1", "v2", "v3"):
        flags += [f"--{s}-signing-enabled", "true" if s in schemes else "false"]
    subprocess.run(
        ["apksigner", "sign", "--ks", str(ks), "--ks-pass", f"pass:{PASSWORD}", "--min-sdk-version", "19"]
        + flags
        + ["--out", str(out), str(unsigned)],
        check=True,
        capture_output=True,
    )
    return out


def rezip(entries: Iterable[tuple[str, bytes]], out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for entry, data in entries:
            zf.writestr(zipfile.ZipInfo(entry, (1980, 1, 1, 0, 0, 0)), data)
    return out


def utf8_manifest(data: bytes) -> bytes:
    """Re-encode the (UTF-16) string pool of a compiled manifest as UTF-8, as some build tools write it."""
    _, hsize, size = struct.unpack_from("<HHI", data, 8)
    count, styles, flags, start, _ = struct.unpack_from("<5I", data, 16)
    if styles or flags & 0x100:
        raise ValueError("expects a UTF-16 string pool without styles")
    offsets = struct.unpack_from(f"<{count}I", data, 8 + hsize)
    strings = []
    for off in offsets:
        n = struct.unpack_from("<H", data, 8 + start + off)[0]
        strings.append(data[8 + start + off + 2 : 8 + start + off + 2 + 2 * n].decode("utf-16-le"))
    body, new_offsets = b"", []
    for text in strings:
        raw = text.encode()
        if len(raw) >= 128:
            raise ValueError("strings of 128 bytes or more need two-byte lengths")
        new_offsets.append(len(body))
        body += bytes([len(text), len(raw)]) + raw + b"\x00"
    body += bytes(-len(body) % 4)
    new_start = 28 + 4 * count
    pool = struct.pack("<HHI5I", 1, 28, new_start + len(body), count, 0, flags | 0x100, new_start, 0)
    pool += struct.pack(f"<{count}I", *new_offsets) + body
    out = bytearray(data[:8] + pool + data[8 + size :])
    struct.pack_into("<I", out, 4, len(out))
    return bytes(out)
