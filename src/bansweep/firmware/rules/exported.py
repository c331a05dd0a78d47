"""Components other apps can reach, in apps that run with system privilege, with no permission guarding them."""

from __future__ import annotations

from bansweep.findings import Evidence, Finding, Severity
from bansweep.firmware.apk import App
from bansweep.firmware.rules.context import RuleContext, app_subject, finding
from bansweep.firmware.rules.role import assess

RULE = "firmware.exported"
WEAK_LEVELS = ("normal", "dangerous", "")
LAUNCHER = ("android.intent.action.MAIN", "android.intent.category.LAUNCHER")


def app_findings(app: App, ctx: RuleContext) -> list[Finding]:
    manifest = app.manifest
    priv = ctx.privilege(app)
    if manifest is None or not (priv.system or priv.platform_signed):
        return []
    own_levels = {p.name: p.protection_level for p in manifest.permissions}
    stock = assess(app, ctx).stock is not None  # stock AOSP/GMS components: audited upstream, named for review
    evidence: list[Evidence] = []
    severity = Severity.INFO
    for c in manifest.components:
        if not c.exported_effective:
            continue
        if c.kind.startswith("activity") and any(
            LAUNCHER[0] in f.actions and LAUNCHER[1] in f.categories for f in c.intent_filters
        ):
            continue  # the app's launcher entry is meant to be started by others
        guards = [p for p in (c.permission, c.read_permission, c.write_permission) if p]
        weak = [p for p in guards if p in own_levels and own_levels[p].split("|")[0] in WEAK_LEVELS]
        if guards and not weak:
            continue
        detail = (
            "no permission"
            if not guards
            else f"guarded only by {', '.join(weak)} (a normal-level permission any app can get)"
        )
        actions = sorted({a for f in c.intent_filters for a in f.actions})
        if actions:
            detail += f"; actions {', '.join(actions[:5])}"
        evidence.append(Evidence(RULE, f"{c.kind} {c.name}", app.where("AndroidManifest.xml", c.kind), detail=detail))
        severity = max(severity, Severity.LOW if stock or c.kind.startswith("activity") else Severity.MEDIUM)
    if not evidence:
        return []
    return [
        finding(
            app_subject(app),
            RULE,
            f"{len(evidence)} component(s) open to any app while running with system privilege",
            severity,
            evidence,
            f"{app.package} {priv.label}, and other apps on the phone can start or call these components without "
            "holding any permission. A malicious app can use them to make it act with its privilege (the root "
            "cause of most pre-installed-app vulnerabilities found by Kryptowire in 2018).",
            confidence=0.7,
            tags=["exported"],
        )
    ]
