"""Silent install/uninstall and remote command execution."""

from __future__ import annotations

from bansweep.findings import Finding, Severity
from bansweep.firmware.apk import App
from bansweep.firmware.rules.context import RuleContext, app_subject, finding
from bansweep.firmware.rules.role import assess

RULE = "firmware.install"
EXEC_RULE = "firmware.exec"


def app_findings(app: App, ctx: RuleContext) -> list[Finding]:
    caps = ctx.capabilities(app)
    priv = ctx.privilege(app)
    privileged = priv.system or priv.platform_signed or app.priv_app
    network = "network" in caps
    out: list[Finding] = []
    a = assess(app, ctx)
    install = [caps[n] for n in ("install", "uninstall", "shell-install", "reboot") if n in caps]
    if install and ("install" in caps or "uninstall" in caps or "shell-install" in caps):
        labels = ", ".join(h.capability.label for h in install)
        if privileged and a.installs_in_role:
            severity = Severity.INFO
            why = f"{app.package} can {labels}, which its role ({a.role_label}) is for."
        elif privileged:
            severity = Severity.HIGH if network and a.stock is None else Severity.MEDIUM
            why = (
                f"{app.package} can {labels}, and as a {'system' if priv.system else 'privileged'} app Android "
                f"lets it do so without asking the user; its role ({a.role_label}) is not an installer's."
            )
            if network:
                why += " It can also reach the network, so what it installs can be chosen by a remote server."
        else:
            severity = Severity.LOW
            why = (
                f"{app.package} refers to app installation ({labels}); as an ordinary app Android asks the user "
                "before each install."
            )
        out.append(
            finding(
                app_subject(app),
                RULE,
                "Can install or remove apps silently" if privileged else "Refers to app installation",
                severity,
                [e for h in install for e in h.evidence] + (caps["network"].evidence[:3] if network else []),
                why,
                tags=["install"] + sorted(h.capability.name for h in install),
            )
        )
    if "exec" in caps:
        hit = caps["exec"]
        if privileged and network:
            severity = Severity.MEDIUM if a.stock is None else Severity.LOW
            why = (
                f"{app.package} runs shell commands and talks to the network while holding "
                f"{'system' if priv.system else 'elevated'} privilege: if a server or another app can steer those "
                "commands, they run with that privilege."
            )
        elif privileged:
            severity = Severity.LOW
            why = f"{app.package} runs shell commands with {'system' if priv.system else 'elevated'} privilege."
        else:
            severity = Severity.LOW
            why = f"{app.package} runs shell commands with an ordinary app's rights."
        out.append(
            finding(
                app_subject(app),
                EXEC_RULE,
                "Runs shell commands",
                severity,
                hit.evidence + (caps["network"].evidence[:3] if network else []),
                why,
                tags=["exec"],
            )
        )
    return out
