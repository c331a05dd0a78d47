"""Communications security: cleartext traffic allowed, http:// endpoints in the code, broken ciphers, TLS checks
switched off or replaced.

Not detected: an X509TrustManager whose checkServerTrusted is empty (that needs the method's bytecode, which the
dex tables read here do not give); a custom host-name verifier is reported for review instead.
"""

from __future__ import annotations

import re

from bansweep.findings import Evidence, Finding, Severity
from bansweep.firmware.apk import App
from bansweep.firmware.rules.context import Context, app_subject, finding

RULE = "firmware.comms"
HTTP_URL = re.compile(rb"http://([A-Za-z0-9.-]+\.[A-Za-z]{2,}|\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?[\x21-\x7e]*")
# Namespace and licence URLs that appear in almost every app and are never fetched.
NOT_ENDPOINTS = (
    "schemas.android.com",
    "www.w3.org",
    "ns.adobe.com",
    "xmlpull.org",
    "www.apache.org",
    "apache.org",
    "xml.org",
    "purl.org",
    "schemas.xmlsoap.org",
    "www.opengis.net",
    "localhost",
    "127.0.0.1",
    "example.com",
    "www.example.com",
    "java.sun.com",
    "xml.apache.org",
    "json-schema.org",
)
MAX_URLS = 20
SEVERITY = {"trust-all-tls": Severity.MEDIUM, "custom-tls": Severity.LOW}
CLEARTEXT_DEFAULT_UNTIL = 28  # targetSdk below this allows cleartext unless configured otherwise


def endpoints(data: bytes) -> list[str]:
    out: list[str] = []
    for m in HTTP_URL.finditer(data):
        if m.group(1).decode().lower() in NOT_ENDPOINTS:
            continue
        url = m.group(0).decode().rstrip("\"'<>")
        if url not in out:
            out.append(url)
            if len(out) >= MAX_URLS:
                break
    return out


def app_findings(app: App, ctx: Context) -> list[Finding]:
    subject = app_subject(app)
    caps = ctx.capabilities(app)
    personal = any(h.capability.category == "personal" for h in caps.values())
    out: list[Finding] = []
    manifest = app.manifest
    cleartext = False
    if manifest:
        application = manifest.application
        at = app.where("AndroidManifest.xml", "application")
        if application.get("usesCleartextTraffic") == "true":
            cleartext = True
            why = "the manifest sets usesCleartextTraffic=true"
        elif (
            manifest.target_sdk < CLEARTEXT_DEFAULT_UNTIL
            and "networkSecurityConfig" not in application
            and "usesCleartextTraffic" not in application
            and "network" in caps
        ):
            cleartext = True
            why = f"targetSdkVersion {manifest.target_sdk} < 28 with no network security config allows it by default"
        if cleartext:
            out.append(
                finding(
                    subject,
                    f"{RULE}.cleartext",
                    "Unencrypted (cleartext) traffic allowed",
                    Severity.MEDIUM if personal else Severity.LOW,
                    [Evidence(f"{RULE}.cleartext", why, at)],
                    f"{app.package} may talk plain HTTP: {why}. Anyone on the network path can read and change "
                    "that traffic" + (", and the app can read personal data." if personal else "."),
                    tags=["comms", "cleartext"],
                )
            )
    urls = endpoints(app.dex.data) if app.dex.present else []
    if urls:
        where = app.where(app.dex.sources[0] if len(app.dex.sources) == 1 else "classes*.dex")
        out.append(
            finding(
                subject,
                f"{RULE}.http-endpoints",
                f"{len(urls)} plain-HTTP endpoint(s) in the code",
                Severity.MEDIUM if personal and cleartext else Severity.LOW,
                [Evidence(f"{RULE}.http-endpoints", u, where) for u in urls],
                f"{app.package}'s code names http:// addresses; requests to them travel unencrypted"
                + (" and the app can read personal data." if personal else "."),
                tags=["comms", "http"],
            )
        )
    for name, title, rule in (
        ("weak-crypto", "Uses broken ciphers", "weak-crypto"),
        ("trust-all-tls", "Switches off TLS checks", "trust-all-tls"),
        ("custom-tls", "Replaces TLS host-name checking (review)", "custom-tls"),
    ):
        hit = caps.get(name)
        if hit:
            out.append(
                finding(
                    subject,
                    f"{RULE}.{rule}",
                    title,
                    SEVERITY.get(rule, Severity.MEDIUM if personal else Severity.LOW),
                    hit.evidence,
                    f"{app.package} {hit.capability.explanation}.",
                    confidence=0.6,
                    tags=["comms", rule],
                )
            )
    return out
