"""APK integrity: what the zip, manifest and signature parsers found inconsistent (tampering or evasion tricks)."""

from __future__ import annotations

from bansweep.findings import Evidence, Finding, Severity
from bansweep.firmware.apk import App
from bansweep.firmware.rules.context import RuleContext, app_subject, finding

RULE = "firmware.integrity"
MAX_EVIDENCE = 20
# Issues that let different code or a different signer pass for the signed app (Janus, CVE-2017-13156; signer
# mismatch between schemes).
SERIOUS = ("janus", "certificates differ", "before the first zip entry")


def app_findings(app: App, ctx: RuleContext) -> list[Finding]:
    if not app.issues:
        return []
    serious = [i for i in app.issues if any(s in i.lower() for s in SERIOUS)]
    severity = Severity.HIGH if serious else Severity.LOW
    shown = (serious + [i for i in app.issues if i not in serious])[:MAX_EVIDENCE]
    more = len(app.issues) - len(shown)
    return [
        finding(
            app_subject(app),
            RULE,
            "APK structure or signature is inconsistent" if serious else "APK has structural oddities",
            severity,
            [Evidence(RULE, issue, app.where()) for issue in shown],
            f"{app.package}: the APK's zip, manifest or signature blocks disagree with each other"
            + (" in a way that lets other code or another signer pass for the signed app" if serious else "")
            + ". Tools that read it differently from Android can be fooled."
            + (f" {more} more issue(s) not listed." if more > 0 else ""),
            confidence=0.9 if serious else 0.6,
            tags=["integrity"],
        )
    ]
