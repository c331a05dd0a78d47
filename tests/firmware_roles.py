"""Role fixtures: a 2016-style firmware tree (API 23) whose apps are real APKs built with aapt/smali/apksigner, each
modelled on what a stock Android app does for its role or on what a vendor-added app does beyond any role.

Stock apps doing their job (labelled not-high): the calendar provider reads accounts and has network code, Bluetooth
reads and sends SMS and reads contacts and the call log (MAP/PBAP), the dialer reads the call log and contacts, the
package installer installs silently, the SMS app reads and sends SMS, Settings runs as system. Vendor-added apps:
the ADUPS-like FOTA updater (system uid, SMS and call log, network; labelled high), an analytics app reading contacts
and the call log in the class that posts them (high), a silent installer with network (high), an app whose bundled
SDK reads contacts (high), an updater doing only an updater's job (not-high), an SMS reader with no way to send
(not-high), a vendor dialer (not-high), an FM radio with nothing personal (not-high).

``role_firmware(root, work)`` builds the tree and returns (tree, labels CSV path).
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

from firmware_build import build_apk, manifest_xml
from firmware_fixtures import PLATFORM_CN, adups_apk, framework_res

# Code snippets, each using registers v0..v5 of a method with .registers 8; they only refer to the APIs.
CODE = {
    "sms": "    sget-object v0, Landroid/provider/Telephony$Sms;->CONTENT_URI:Landroid/net/Uri;",
    "call-log": "    sget-object v0, Landroid/provider/CallLog$Calls;->CONTENT_URI:Landroid/net/Uri;",
    "contacts": "    sget-object v0, Landroid/provider/ContactsContract$Contacts;->CONTENT_URI:Landroid/net/Uri;",
    "accounts": "    invoke-virtual {v0}, Landroid/accounts/AccountManager;->getAccounts()[Landroid/accounts/Account;",
    "identifiers": "    invoke-virtual {v0}, Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;",
    "location": "    invoke-virtual {v0, v1}, Landroid/location/LocationManager;->getLastKnownLocation"
    "(Ljava/lang/String;)Landroid/location/Location;",
    "network": '    new-instance v0, Ljava/net/URL;\n    const-string v1, "https://collect.invalid/up"\n'
    "    invoke-direct {v0, v1}, Ljava/net/URL;-><init>(Ljava/lang/String;)V\n"
    "    invoke-virtual {v0}, Ljava/net/URL;->openConnection()Ljava/net/URLConnection;",
    "sms-send": "    invoke-virtual/range {v0 .. v5}, Landroid/telephony/SmsManager;->sendTextMessage(Ljava/lang/String;"
    "Ljava/lang/String;Ljava/lang/String;Landroid/app/PendingIntent;Landroid/app/PendingIntent;)V",
    "install": "    invoke-virtual {v0, v1}, Landroid/content/pm/PackageInstaller;->createSession"
    "(Landroid/content/pm/PackageInstaller$SessionParams;)I",
    "reboot": "    invoke-static {v0, v1}, Landroid/os/RecoverySystem;->installPackage(Landroid/content/Context;Ljava/io/File;)V",
}
PERMISSION = {
    "sms": "android.permission.READ_SMS",
    "call-log": "android.permission.READ_CALL_LOG",
    "contacts": "android.permission.READ_CONTACTS",
    "accounts": "android.permission.GET_ACCOUNTS",
    "identifiers": "android.permission.READ_PHONE_STATE",
    "location": "android.permission.ACCESS_FINE_LOCATION",
    "network": "android.permission.INTERNET",
    "sms-send": "android.permission.SEND_SMS",
    "install": "android.permission.INSTALL_PACKAGES",
    "reboot": "android.permission.REBOOT",
}
BUILD_PROP = """ro.build.id=ROLES.001
ro.build.version.sdk=23
ro.build.version.release=6.0
ro.build.type=user
ro.build.tags=release-keys
ro.build.fingerprint=RoleBrand/roles/roles:6.0/ROLES.001/1:user/release-keys
ro.product.model=Role Phone 2016
ro.product.brand=RoleBrand
"""


def smali_class(descriptor: str, does: list[str], calls: list[str] = ()) -> str:  # type: ignore[assignment]
    body = "\n".join(CODE[d] for d in does)
    body += "".join(f"\n    invoke-static {{}}, {c}->run()V" for c in calls)
    return (
        f".class public {descriptor}\n.super Ljava/lang/Object;\n\n"
        f".method public static run()V\n    .registers 8\n{body}\n    return-void\n.end method\n"
    )


def _app(
    work: Path,
    package: str,
    classes: dict[str, tuple[list[str], list[str]]],
    *,
    shared_uid: str | None = None,
    cn: str = "Vendor Apps",
    components: list[tuple[str, str, dict[str, str], list[str]]] | None = None,
    extra_permissions: tuple[str, ...] = (),
) -> Path:
    does = {d for d, _ in classes.values() for d in d}
    perms = sorted({PERMISSION[d] for d in does} | set(extra_permissions))
    manifest = manifest_xml(
        package, shared_user_id=shared_uid, target_sdk=23, uses_permissions=perms, components=components or []
    )
    smali = {f"{name[1:-1]}.smali": smali_class(name, d, c) for name, (d, c) in classes.items()}
    if cn == PLATFORM_CN:  # the firmware's platform key (framework-res.apk's), not a new key of the same name
        framework_res(work)
        key = f"{cn.replace(' ', '_')}.jks"
        (work / package).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / key, work / package / key)
    return build_apk(work / package, manifest, smali, cn=cn, name=package.rsplit(".", 1)[-1])


def _put(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o644)


# (firmware path, expect, why, builder)
def _apps(work: Path) -> list[tuple[str, str, str, str, Path]]:
    out: list[tuple[str, str, str, str, Path]] = []

    def add(path: str, package: str, expect: str, why: str, apk: Path) -> None:
        out.append((path, package, expect, why, apk))

    add(
        "priv-app/CalendarProvider/CalendarProvider.apk",
        "com.android.providers.calendar",
        "not-high",
        "stock calendar provider: reads accounts to sync calendars (its role)",
        _app(
            work,
            "com.android.providers.calendar",
            {"Lcom/android/providers/calendar/CalendarSyncAdapter;": (["accounts", "network"], [])},
            cn="Android Shared",
            components=[("provider", ".CalendarProvider2", {"authorities": "com.android.calendar"}, [])],
        ),
    )
    add(
        "app/Bluetooth/Bluetooth.apk",
        "com.android.bluetooth",
        "not-high",
        "stock Bluetooth: MAP profile reads and sends SMS, PBAP serves contacts and call history (its role)",
        _app(
            work,
            "com.android.bluetooth",
            {
                "Lcom/android/bluetooth/map/BluetoothMapContent;": (["sms", "sms-send"], []),
                "Lcom/android/bluetooth/pbap/BluetoothPbapVcardManager;": (["contacts", "call-log"], []),
            },
            shared_uid="android.uid.bluetooth",
            cn=PLATFORM_CN,
            components=[
                ("service", "com.android.bluetooth.map.BluetoothMapService", {}, []),
                ("service", "com.android.bluetooth.pbap.BluetoothPbapService", {}, []),
            ],
        ),
    )
    add(
        "priv-app/Dialer/Dialer.apk",
        "com.android.dialer",
        "not-high",
        "stock dialer: reads the call log and contacts, looks up caller ids on the network (its role)",
        _app(
            work,
            "com.android.dialer",
            {"Lcom/android/dialer/calllog/CallLogFragment;": (["call-log", "contacts", "network"], [])},
            cn="Android Shared",
            components=[("activity", ".DialtactsActivity", {"exported": "true"}, ["android.intent.action.DIAL"])],
        ),
    )
    add(
        "priv-app/PackageInstaller/PackageInstaller.apk",
        "com.android.packageinstaller",
        "not-high",
        "stock package installer: installs without asking once the user confirmed (its role)",
        _app(
            work,
            "com.android.packageinstaller",
            {"Lcom/android/packageinstaller/InstallAppProgress;": (["install"], [])},
            cn=PLATFORM_CN,
            extra_permissions=("android.permission.DELETE_PACKAGES",),
            components=[
                (
                    "activity",
                    ".PackageInstallerActivity",
                    {"exported": "true"},
                    ["android.intent.action.INSTALL_PACKAGE"],
                )
            ],
        ),
    )
    add(
        "priv-app/Messaging/Messaging.apk",
        "com.android.messaging",
        "not-high",
        "stock SMS app: reads and sends SMS, MMS over the network (its role)",
        _app(
            work,
            "com.android.messaging",
            {"Lcom/android/messaging/sms/SmsSender;": (["sms", "sms-send", "contacts", "network"], [])},
            cn=PLATFORM_CN,
            components=[
                (
                    "receiver",
                    ".receiver.SmsDeliverReceiver",
                    {"permission": "android.permission.BROADCAST_SMS"},
                    ["android.provider.Telephony.SMS_DELIVER"],
                ),
            ],
        ),
    )
    add(
        "priv-app/Settings/Settings.apk",
        "com.android.settings",
        "not-high",
        "stock Settings: runs as system and reads identifiers and accounts (its role)",
        _app(
            work,
            "com.android.settings",
            {"Lcom/android/settings/deviceinfo/Status;": (["identifiers", "accounts"], [])},
            shared_uid="android.uid.system",
            cn=PLATFORM_CN,
        ),
    )
    add(
        "priv-app/AdupsFota/AdupsFota.apk",
        "com.adups.fota",
        "high",
        "vendor-added FOTA updater reading SMS and call logs under the system uid and sending them (Kryptowire 2016)",
        adups_apk(work),
    )
    add(
        "app/VendorAnalytics/VendorAnalytics.apk",
        "com.rolebrand.analytics",
        "high",
        "vendor-added app reading contacts and the call log in the class that uploads them",
        _app(
            work,
            "com.rolebrand.analytics",
            {"Lcom/rolebrand/analytics/Uploader;": (["contacts", "call-log", "identifiers", "network"], [])},
        ),
    )
    add(
        "priv-app/VendorStore/VendorStore.apk",
        "com.rolebrand.pushinstall",
        "high",
        "vendor-added privileged app that installs apps silently and reaches the network, with no installer role",
        _app(
            work,
            "com.rolebrand.pushinstall",
            {"Lcom/rolebrand/pushinstall/Push;": (["install", "network"], [])},
        ),
    )
    add(
        "app/VendorWeather/VendorWeather.apk",
        "com.rolebrand.widgets",
        "high",
        "vendor-added app whose bundled SDK reads contacts; its own code uploads",
        _app(
            work,
            "com.rolebrand.widgets",
            {
                "Lcom/thirdparty/sdk/Profile;": (["contacts"], []),
                "Lcom/rolebrand/widgets/Sync;": (["network"], ["Lcom/thirdparty/sdk/Profile;"]),
            },
        ),
    )
    add(
        "app/VendorUpdate/VendorUpdate.apk",
        "com.rolebrand.systemupdate",
        "not-high",
        "vendor-added system updater that only does an updater's job (device id, download, recovery)",
        _app(
            work,
            "com.rolebrand.systemupdate",
            {"Lcom/rolebrand/systemupdate/Check;": (["identifiers", "network", "reboot"], [])},
            components=[
                ("activity", ".UpdateActivity", {"exported": "true"}, ["android.settings.SYSTEM_UPDATE_SETTINGS"])
            ],
        ),
    )
    add(
        "app/VendorSmsFilter/VendorSmsFilter.apk",
        "com.rolebrand.smsfilter",
        "not-high",
        "vendor-added app reading SMS with no way to send anything out",
        _app(work, "com.rolebrand.smsfilter", {"Lcom/rolebrand/smsfilter/Filter;": (["sms"], [])}),
    )
    add(
        "app/VendorDialer/VendorDialer.apk",
        "com.rolebrand.dialer",
        "not-high",
        "vendor-added dialer: reads the call log and contacts (a dialer's role)",
        _app(
            work,
            "com.rolebrand.dialer",
            {"Lcom/rolebrand/dialer/Calls;": (["call-log", "contacts", "network"], [])},
            components=[("activity", ".Dial", {"exported": "true"}, ["android.intent.action.DIAL"])],
        ),
    )
    add(
        "app/FmRadio/FmRadio.apk",
        "com.rolebrand.fmradio",
        "not-high",
        "vendor-added FM radio with nothing personal",
        _app(work, "com.rolebrand.fmradio", {"Lcom/rolebrand/fmradio/Tuner;": ([], [])}),
    )
    return out


def role_firmware(root: Path, work: Path) -> tuple[Path, Path]:
    system = root / "system"
    system.mkdir(parents=True, exist_ok=True)
    (system / "build.prop").write_text(BUILD_PROP)
    _put(framework_res(work), system / "framework" / "framework-res.apk")
    labels = root.parent / f"{root.name}-labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["app", "expect", "why"])
        for path, package, expect, why, apk in _apps(work):
            _put(apk, system / path)
            w.writerow([package, expect, why])
    return root, labels
