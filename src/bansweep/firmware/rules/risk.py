"""Risk for its role: one finding per app that does something beyond what its role and the stock baseline explain —
personal data outside its roles (and whether that code reaches the network or SMS), privilege stock Android does
not give that package, or silent installing outside an installer's role. Its facts (extra["risk_factors"]) are what
the firmware policy scores; the policy sets this finding's severity from the score."""

from __future__ import annotations

from bansweep.findings import Evidence, Finding, Severity
from bansweep.firmware.apk import App
from bansweep.firmware.rules.context import RuleContext, app_subject, finding
from bansweep.firmware.rules.role import Assessment, assess

RULE = "firmware.risk"
PLATFORM_PACKAGE = "android"


def _labels(ctx: RuleContext, app: App, names: list[str]) -> str:
    caps = ctx.capabilities(app)
    return ", ".join(caps[n].capability.label for n in names)


def explain(app: App, a: Assessment, ctx: RuleContext) -> str:
    """Why the app is risky for its role, in words."""
    origin = (
        "stock Android package"
        if a.stock
        else "added by the vendor, not in stock Android"
        if a.preinstalled
        else "not a stock Android package"
    )
    who = f"{app.package} ({origin}; role: "
    who += f"{a.role_label})"
    parts: list[str] = []
    if a.out_of_role:
        parts.append(f"it can {_labels(ctx, app, a.out_of_role)}, which its role does not need")
        if a.sends:
            how = {
                "same-class": "in the same class as",
                "call-chain": "within two calls of",
                "apart": "apart from",
                "unknown": "possibly linked to",
            }.get(a.reach, "beside")
            parts.append(f"that code sits {how} the code that can {_labels(ctx, app, a.sends)}")
        if a.sdk:
            parts.append(f"the code reading it is bundled SDK code under {a.sdk}")
    if a.in_role:
        parts.append(f"its role needs it to {_labels(ctx, app, a.in_role)}")
    if a.installs and not a.installs_in_role:
        parts.append(
            f"it can {_labels(ctx, app, a.installs)} outside an installer's role"
            + (" and reaches the network" if "network" in a.sends else "")
        )
    parts += a.beyond
    if a.extra_privapp:
        shown = ", ".join(p.rsplit(".", 1)[-1] for p in a.extra_privapp[:6])
        parts.append(f"it asks for privileged permissions stock Android does not grant it ({shown})")
    return f"{who}: " + "; ".join(parts) + "."


def app_findings(app: App, ctx: RuleContext) -> list[Finding]:
    if app.manifest is not None and app.manifest.package == PLATFORM_PACKAGE:
        return []
    a = assess(app, ctx)
    silent = bool(a.installs) and not a.installs_in_role and (a.privileged or app.priv_app)
    if not (a.out_of_role or a.beyond or a.extra_privapp or silent):
        return []
    caps = ctx.capabilities(app)
    evidence: list[Evidence] = []
    for name in a.out_of_role + a.sends + (a.installs if silent else []):
        evidence += caps[name].evidence[:3]
    for hit in a.roles:
        evidence.append(Evidence(f"{RULE}.role", hit.role.name, app.where("AndroidManifest.xml"), detail=hit.why))
    if a.reach_detail:
        evidence.append(Evidence(f"{RULE}.reach", a.reach, app.where("classes*.dex"), detail=a.reach_detail))
    for phrase in a.beyond:
        evidence.append(Evidence(f"{RULE}.privilege", phrase, app.where("AndroidManifest.xml")))
    evidence += [
        Evidence(
            f"{RULE}.privapp", p, app.where("AndroidManifest.xml", "uses-permission"), detail="not on its allowlist"
        )
        for p in a.extra_privapp
    ]
    factors = a.factors()
    factors["silent_install"] = silent
    factors["network"] = "network" in a.sends
    return [
        finding(
            app_subject(app),
            RULE,
            f"Risk for its role ({a.role_label})",
            Severity.INFO,  # the policy sets it from the risk score of these factors
            evidence,
            explain(app, a, ctx),
            confidence=0.8 if a.reach in ("same-class", "call-chain") else 0.6,
            tags=[
                "risk",
                "stock" if a.stock else "vendor-added" if a.preinstalled else "not-stock",
                f"reach:{a.reach}",
            ],
            extra={"risk_factors": factors, "roles": factors["roles"]},
        )
    ]
