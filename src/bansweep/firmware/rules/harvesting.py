"""Personal-data harvesting: access to SMS, call log, contacts, identifiers, location, app usage, accounts —
judged together with the means to send data out and with the privilege the app runs with."""

from __future__ import annotations

from bansweep.findings import Finding, Severity
from bansweep.firmware.apk import App
from bansweep.firmware.rules.context import RuleContext, app_subject, finding

RULE = "firmware.harvesting"


def app_findings(app: App, ctx: RuleContext) -> list[Finding]:
    caps = ctx.capabilities(app)
    personal = {n: h for n, h in caps.items() if h.capability.category == "personal"}
    if not personal:
        return []
    send = {n: h for n, h in caps.items() if h.capability.category == "send"}
    priv = ctx.privilege(app)
    kinds = ", ".join(h.capability.label for h in personal.values())
    evidence = [e for h in personal.values() for e in h.evidence] + [e for h in send.values() for e in h.evidence]
    code_note = (
        ""
        if app.dex.present
        else " The app's code was not available (no dex found), so only its permissions were judged."
    )
    if send:
        severity = Severity.CRITICAL if priv.system else Severity.HIGH
        outs = " and ".join(h.capability.label for h in send.values())
        explanation = (
            f"{app.package} can {kinds}, and can {outs}: it has both the access and the means to move this data "
            f"off the phone."
        )
        if priv.system:
            explanation += (
                f" It {priv.label}, so the user cannot revoke these permissions and Android's permission prompts"
                " do not apply."
            )
        title = "Reads personal data and can send it out"
    else:
        severity = Severity.MEDIUM if priv.system else Severity.LOW
        explanation = f"{app.package} can {kinds}, but shows no means of its own to send data out."
        title = "Reads personal data"
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
            extra={"capabilities": sorted(personal) + sorted(send), "privilege": priv.label},
        )
    ]
