"""Communications security: cleartext traffic allowed (manifest or network security config), user-installed CAs
trusted, http:// endpoints in the code, broken ciphers, TLS checks switched off or replaced.

Not detected: an X509TrustManager whose checkServerTrusted is empty (that needs the method's bytecode, which the
dex tables read here do not give); a custom host-name verifier is reported for review instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bansweep.findings import Evidence, Finding, Location, Severity
from bansweep.firmware.apk import App
from bansweep.firmware.formats.axml import XmlNode
from bansweep.firmware.rules.context import RuleContext, app_subject, finding

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
USER_CA_DEFAULT_UNTIL = 24  # targetSdk below this trusts user-installed CAs by default (not in priv-app)
NSC_FROM_API = 24  # Android 7.0 reads android:networkSecurityConfig; 6.0 reads only usesCleartextTraffic
MAX_DOMAINS_SHOWN = 10


@dataclass(slots=True)
class NetPolicy:
    """What an app's network security config(s) allow, each item with the config entry and line."""

    cleartext: list[Evidence] = field(default_factory=list)
    user_ca: list[Evidence] = field(default_factory=list)
    debug: list[Evidence] = field(default_factory=list)


def _flag(node: XmlNode, name: str) -> bool | None:
    """A boolean attribute of the config as Android reads it (aapt compiles "true" to a typed boolean)."""
    value = node.attrs.get(name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return None


def _domains(node: XmlNode) -> str:
    names = [
        d.text.strip() + (" (and subdomains)" if _flag(d, "includeSubdomains") else "")
        for d in node.find_all("domain")
        if d.text.strip()
    ]
    shown = ", ".join(names[:MAX_DOMAINS_SHOWN])
    return shown + (f" and {len(names) - MAX_DOMAINS_SHOWN} more" if len(names) > MAX_DOMAINS_SHOWN else "")


def _user_anchors(node: XmlNode) -> list[XmlNode]:
    return [
        c for t in node.find_all("trust-anchors") for c in t.find_all("certificates") if c.attrs.get("src") == "user"
    ]


def net_policy(app: App) -> NetPolicy:
    """Android's reading of the network security config: base-config over the targetSdk default, domain-config
    over its parent, debug-overrides only in a debuggable app."""
    policy = NetPolicy()
    manifest = app.manifest
    target = manifest.target_sdk if manifest else CLEARTEXT_DEFAULT_UNTIL
    debuggable = bool(manifest and manifest.application.get("debuggable") == "true")
    user_ca_default = target < USER_CA_DEFAULT_UNTIL and not app.priv_app
    for config in app.net_configs:
        root = config.root

        def at(node: XmlNode, entry: str = config.entry) -> Location:
            return Location(app.location.file, line=node.line or None, entry=app.where(entry).entry)

        base = next(iter(root.find_all("base-config")), None)
        default = target < CLEARTEXT_DEFAULT_UNTIL
        base_clear = _flag(base, "cleartextTrafficPermitted") if base is not None else None
        if base_clear is None:
            base_clear = default
            if default:
                policy.cleartext.append(
                    Evidence(
                        f"{RULE}.cleartext",
                        f"{config.entry} leaves cleartext to the default, allowed for targetSdkVersion {target} < 28",
                        at(base or root),
                    )
                )
        elif base_clear and base is not None:
            policy.cleartext.append(
                Evidence(f"{RULE}.cleartext", f"{config.entry} base-config permits cleartext to every domain", at(base))
            )
        if user_ca_default and (base is None or not base.find_all("trust-anchors")):
            policy.user_ca.append(
                Evidence(
                    f"{RULE}.user-ca",
                    f"{config.entry} leaves trust anchors to the default, which includes user-installed CAs for "
                    f"targetSdkVersion {target} < {USER_CA_DEFAULT_UNTIL}",
                    at(base or root),
                )
            )
        scopes: list[XmlNode] = [] if base is None else [base]
        queue = [(dc, base_clear) for dc in root.find_all("domain-config")]
        for node, parent_clear in queue:  # grows while read: nested domain-configs, outer ones first
            scopes.append(node)
            clear = _flag(node, "cleartextTrafficPermitted")
            clear = parent_clear if clear is None else clear
            if clear and not base_clear:
                policy.cleartext.append(
                    Evidence(
                        f"{RULE}.cleartext",
                        f"{config.entry} domain-config permits cleartext to {_domains(node) or 'no named domain'}",
                        at(node),
                    )
                )
            queue.extend((child, clear) for child in node.find_all("domain-config"))
        for scope in scopes:
            for cert in _user_anchors(scope):
                domains = _domains(scope) if scope.tag == "domain-config" else "every domain"
                policy.user_ca.append(
                    Evidence(
                        f"{RULE}.user-ca",
                        f"{config.entry} {scope.tag} trusts user-installed CAs for {domains}",
                        at(cert),
                    )
                )
        for over in root.find_all("debug-overrides"):
            if debuggable:
                policy.user_ca.extend(
                    Evidence(
                        f"{RULE}.user-ca",
                        f"{config.entry} debug-overrides trust user-installed CAs, and the app is debuggable",
                        at(cert),
                    )
                    for cert in _user_anchors(over)
                )
            else:
                policy.debug.append(
                    Evidence(
                        f"{RULE}.debug-overrides",
                        f"{config.entry} has debug-overrides, ignored because the app is not debuggable",
                        at(over),
                    )
                )
    return policy


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


def app_findings(app: App, ctx: RuleContext) -> list[Finding]:
    subject = app_subject(app)
    caps = ctx.capabilities(app)
    personal = any(h.capability.category == "personal" for h in caps.values())
    out: list[Finding] = []
    manifest = app.manifest
    cleartext = False
    if manifest:
        application = manifest.application
        at = app.where("AndroidManifest.xml", "application")
        policy = net_policy(app) if app.net_configs else None
        reasons: list[Evidence] = []
        if policy is not None:
            # Android 7+ reads only the config; usesCleartextTraffic still rules on Android 6 when minSdk allows it.
            reasons = list(policy.cleartext)
            if not reasons and application.get("usesCleartextTraffic") == "true" and manifest.min_sdk < NSC_FROM_API:
                reasons.append(
                    Evidence(
                        f"{RULE}.cleartext",
                        f"the manifest sets usesCleartextTraffic=true, which Android 6 follows (minSdkVersion "
                        f"{manifest.min_sdk}); Android 7+ follows the network security config instead",
                        at,
                    )
                )
        elif application.get("usesCleartextTraffic") == "true":
            reasons.append(Evidence(f"{RULE}.cleartext", "the manifest sets usesCleartextTraffic=true", at))
        elif (
            manifest.target_sdk < CLEARTEXT_DEFAULT_UNTIL
            and "networkSecurityConfig" not in application
            and "usesCleartextTraffic" not in application
            and "network" in caps
        ):
            reasons.append(
                Evidence(
                    f"{RULE}.cleartext",
                    f"targetSdkVersion {manifest.target_sdk} < 28 with no network security config allows it by default",
                    at,
                )
            )
        if reasons:
            cleartext = True
            why = "; ".join(e.value for e in reasons[:3]) + (
                f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
            )
            out.append(
                finding(
                    subject,
                    f"{RULE}.cleartext",
                    "Unencrypted (cleartext) traffic allowed",
                    Severity.MEDIUM if personal else Severity.LOW,
                    reasons,
                    f"{app.package} may talk plain HTTP: {why}. Anyone on the network path can read and change "
                    "that traffic" + (", and the app can read personal data." if personal else "."),
                    tags=["comms", "cleartext"],
                )
            )
        user_ca = policy.user_ca if policy is not None else []
        if (
            policy is None
            and manifest.target_sdk < USER_CA_DEFAULT_UNTIL
            and not app.priv_app
            and "networkSecurityConfig" not in application
            and "network" in caps
        ):
            user_ca = [
                Evidence(
                    f"{RULE}.user-ca",
                    f"targetSdkVersion {manifest.target_sdk} < {USER_CA_DEFAULT_UNTIL} with no network security "
                    "config trusts user-installed CAs by default",
                    at,
                )
            ]
        if user_ca:
            out.append(
                finding(
                    subject,
                    f"{RULE}.user-ca",
                    "Trusts user-installed certificate authorities",
                    Severity.MEDIUM if personal else Severity.LOW,
                    user_ca,
                    f"{app.package} trusts CAs the user (or anyone holding the phone, or a device-management "
                    "profile) installed, so its TLS can be intercepted with such a CA"
                    + (" while the app reads personal data." if personal else "."),
                    tags=["comms", "user-ca"],
                )
            )
        if policy is not None and policy.debug:
            out.append(
                finding(
                    subject,
                    f"{RULE}.debug-overrides",
                    "Network security config has debug overrides (inactive)",
                    Severity.INFO,
                    policy.debug,
                    f"{app.package} is not debuggable, so Android ignores its <debug-overrides>; they show what "
                    "the developers trusted while testing.",
                    confidence=1.0,
                    tags=["comms", "debug-overrides"],
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
