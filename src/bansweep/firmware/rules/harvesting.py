"""Personal-data harvesting: access to SMS, call log, contacts, identifiers, location, app usage, accounts —
judged against the app's roles (rules/role.py): what its role needs is info; what it does not need is weighed with
the means to send data out, how the code reaches that send, and the privilege the app runs with."""

from __future__ import annotations

from bansweep.findings import Finding, Severity
from bansweep.firmware.apk import App
from bansweep.firmware.rules.context import RuleContext, app_subject, finding
from bansweep.firmware.rules.role import assess

RULE = "firmware.harvesting"


def app_findings(app: App, ctx: RuleContext) -> list[Finding]:
    caps = ctx.capabilities(app)
    personal = {n: h for n, h in caps.items() if h.capability.category == "personal"}
    if not personal:
        return []
    a = assess(app, ctx)
    send = {n: h for n, h in caps.items() if h.capability.category == "send"}
    priv = a.privilege
    outside = [personal[n] for n in a.out_of_role]
    inside = [personal[n] for n in a.in_role]
    evidence = [e for h in outside + inside for e in h.evidence] + [e for h in send.values() for e in h.evidence]
    code_note = (
        ""
        if app.dex.present
        else " The app's code was not available (no dex found), so only its permissions were judged."
    )
    role = f"its role ({a.role_label})"
    in_role = ", ".join(h.capability.label for h in inside)
    if not outside:
        severity = Severity.INFO
        title = "Reads personal data its role needs"
        explanation = f"{app.package} can {in_role}, which {role} needs."
    else:
        kinds = ", ".join(h.capability.label for h in outside)
        explanation = f"{app.package} can {kinds}, which {role} does not need"
        explanation += f" (it can also {in_role}, which its role needs)." if inside else "."
        if send:
            outs = " and ".join(h.capability.label for h in send.values())
            explanation += f" It can {outs}"
            explanation += f": {a.reach_detail}." if a.reach_detail else "."
        if a.harmful:
            severity = Severity.CRITICAL if priv.system and send else Severity.HIGH
            title = (
                "Reads personal data outside its role and can send it out"
                if send
                else ("Reads personal data outside its role, with privilege")
            )
        elif send:
            severity = Severity.MEDIUM
            title = "Reads personal data outside its role; can send data"
        else:
            severity = Severity.LOW
            title = "Reads personal data outside its role"
        if priv.system:
            explanation += (
                f" It {priv.label}, so the user cannot revoke these permissions and Android's permission prompts"
                " do not apply."
            )
        if a.stock is not None:
            explanation += " It is a stock Android package; its baseline roles do not list this access."
    confidence = 0.9 if any(h.by_code for h in personal.values()) else 0.6
    return [
        finding(
            app_subject(app),
            RULE,
            title,
            severity,
            evidence,
            explanation + code_note,
            confidence=confidence,
            tags=["harvesting"] + sorted(personal) + sorted(send),
            extra={
                "capabilities": sorted(personal) + sorted(send),
                "privilege": priv.label,
                "out_of_role": a.out_of_role,
                "roles": [h.role.name for h in a.roles],
                "reach": a.reach,
            },
        )
    ]
