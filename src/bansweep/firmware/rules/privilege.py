"""Privilege: system/phone shared uid, platform signature, public AOSP test keys, persistent and privileged apps;
for the firmware: set-uid binaries outside the stock set, test-key builds, debuggable builds."""

from __future__ import annotations

from bansweep.findings import Evidence, Finding, Severity
from bansweep.firmware.apk import App, Firmware
from bansweep.firmware.rules.context import RuleContext, app_subject, canon_path, finding, firmware_subject
from bansweep.firmware.rules.role import assess

RULE = "firmware.privilege"
TEST_KEY_PROPS = ("ro.build.tags", "ro.build.fingerprint", "ro.system.build.tags", "ro.vendor.build.tags")
PLATFORM_PACKAGE = "android"  # framework-res.apk: the platform itself, privileged by definition


def app_findings(app: App, ctx: RuleContext) -> list[Finding]:
    if app.manifest and app.manifest.package == PLATFORM_PACKAGE:
        return []
    priv = ctx.privilege(app)
    manifest_at = app.where("AndroidManifest.xml")
    evidence: list[Evidence] = []
    reasons: list[str] = []
    severity = Severity.INFO
    if priv.test_key:
        evidence.append(
            Evidence(
                f"platform-certs:{priv.test_key['id']}",
                priv.test_key["sha256"],
                app.where("META-INF"),
                str(priv.test_key["date"]),
                f"signed with the {priv.test_key['name']}",
            )
        )
        reasons.append(
            f"it is signed with the {priv.test_key['name']}, whose private key is public: anyone can sign an update"
            " or another app that Android will treat as coming from the same developer"
        )
        severity = Severity.HIGH
    if priv.shared_uid:
        evidence.append(Evidence(f"{RULE}.shared-uid", priv.shared_uid, manifest_at, detail="android:sharedUserId"))
    a = assess(app, ctx)
    expected = Severity.INFO if a.stock is not None and not a.beyond else Severity.MEDIUM  # as stock Android has it
    if priv.system:
        reasons.append(
            f"it runs as the {(priv.shared_uid or '').removeprefix('android.uid.')} user with the platform"
            " signature, so it holds every permission of that user without asking"
        )
        severity = max(severity, expected)
        if priv.test_key:
            severity = Severity.CRITICAL
    elif priv.platform_signed:
        evidence.append(
            Evidence(
                f"{RULE}.platform-signed",
                ",".join(sorted(priv.certs)),
                app.where("META-INF"),
                detail="same certificate as the firmware's framework-res.apk",
            )
        )
        reasons.append("it carries the platform signature, so it can hold signature-level permissions")
        severity = max(severity, expected)
    elif priv.shared_uid in ("android.uid.system", "android.uid.phone") and ctx.platform_certs:
        reasons.append(f"it asks for {priv.shared_uid} but is not platform-signed, so Android will refuse it")
    if app.priv_app:
        evidence.append(Evidence(f"{RULE}.priv-app", app.path, app.location, detail="installed under priv-app"))
        reasons.append("it is installed as a privileged app (priv-app) and can hold privileged permissions")
        severity = max(severity, Severity.LOW if a.beyond or a.extra_privapp else Severity.INFO)
    if a.stock is not None and not a.beyond:
        reasons.append("stock Android ships this package with the same privilege")
    elif a.beyond:
        reasons += a.beyond
    application = app.manifest.application if app.manifest else {}
    if application.get("persistent") == "true":
        evidence.append(Evidence(f"{RULE}.persistent", "persistent=true", manifest_at, detail="application"))
        reasons.append("it is persistent: Android keeps it running and restarts it")
        severity = max(severity, Severity.LOW)
    if application.get("debuggable") == "true" and app.partition:
        evidence.append(Evidence(f"{RULE}.debuggable", "debuggable=true", manifest_at, detail="application"))
        reasons.append("it is debuggable, so adb can run code inside it")
        severity = max(severity, Severity.HIGH if priv.system else Severity.MEDIUM)
    if not reasons:
        return []
    return [
        finding(
            app_subject(app),
            RULE,
            "Runs with elevated privilege" if severity >= Severity.MEDIUM else "Pre-installed with privileges",
            severity,
            evidence,
            f"{app.package}: " + "; ".join(reasons) + ".",
            tags=["privilege"] + (["system-uid"] if priv.system else []) + (["test-key"] if priv.test_key else []),
            extra={"privilege": priv.label},
        )
    ]


def firmware_findings(fw: Firmware, ctx: RuleContext) -> list[Finding]:
    subject = firmware_subject(fw)
    out: list[Finding] = []
    stock = ctx.knowledge.stock_setuid
    for f in fw.files:
        if not f.setuid or canon_path(f.path) in stock:
            continue
        root = f.uid == 0 and f.mode is not None and bool(f.mode & 0o4000)
        out.append(
            finding(
                subject,
                f"{RULE}.setuid",
                f"Set-uid program outside the stock set: {f.path}",
                Severity.HIGH if root else Severity.MEDIUM,
                [Evidence(f"{RULE}.setuid", f"{f.path} mode {f.mode:o} uid {f.uid} gid {f.gid}", f.location)],
                f"{f.path} is set-uid/set-gid{' root' if root else ''}: any program on the phone that can run it gets "
                f"its owner's rights. Stock Android has shipped no set-uid programs since 4.3.",
                tags=["privilege", "setuid"],
                variant=canon_path(f.path),
            )
        )
    test_props = [p for p in fw.props if p.key in TEST_KEY_PROPS and "test-keys" in p.value]
    if test_props:
        out.append(
            finding(
                subject,
                f"{RULE}.test-keys",
                "Firmware built with the public AOSP test keys",
                Severity.HIGH,
                [Evidence(f"{RULE}.test-keys", f"{p.key}={p.value}", p.location) for p in test_props],
                "The build says it is signed with test-keys, the AOSP keys whose private halves are public: "
                "anyone can sign apps that run as system or updates the device may accept.",
                tags=["privilege", "test-keys"],
            )
        )
    tests = sorted(c for c in fw.platform_certs if c in ctx.knowledge.test_certs)
    if tests:
        entry = ctx.knowledge.test_certs[tests[0]]
        out.append(
            finding(
                subject,
                f"{RULE}.platform-test-key",
                "Platform key is a public AOSP test key",
                Severity.CRITICAL,
                [
                    Evidence(
                        f"platform-certs:{entry['id']}",
                        tests[0],
                        fw.location,
                        str(entry["date"]),
                        "certificate of framework-res.apk",
                    )
                ],
                f"framework-res.apk is signed with the {entry['name']}: any app signed with that public key and "
                "asking for android.uid.system runs as system on this firmware.",
                tags=["privilege", "test-keys"],
            )
        )
    for key, bad, what in (
        ("ro.debuggable", "1", "debuggable build: adb can run as root"),
        ("ro.secure", "0", "ro.secure=0: adb shell runs as root"),
    ):
        value = fw.prop(key)
        if value == bad:
            p = next(p for p in reversed(fw.props) if p.key == key)
            out.append(
                finding(
                    subject,
                    f"{RULE}.{key.split('.')[-1]}",
                    f"Insecure build property {key}={value}",
                    Severity.HIGH,
                    [Evidence(f"{RULE}.{key}", f"{key}={value}", p.location)],
                    f"The firmware is a {what}.",
                    tags=["privilege"],
                )
            )
    return out
