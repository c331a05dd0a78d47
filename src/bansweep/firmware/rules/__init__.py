"""Firmware rules, one module per family (a RuleFamily, see interface.py), listed in FAMILIES.

A family module has app_findings(app, ctx) and/or firmware_findings(fw, ctx). A new family: one module and one
line in FAMILIES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bansweep.findings import Finding
from bansweep.firmware.apk import App, Firmware
from bansweep.firmware.rules import (
    avb,
    comms,
    exported,
    harvesting,
    indicators,
    install,
    integrity,
    privilege,
    risk,
    trackers,
)
from bansweep.firmware.rules.context import RuleContext


@dataclass(frozen=True, slots=True)
class Family:
    """A rule module's functions under its name; a family without app or firmware rules leaves that one out."""

    name: str
    app: Callable[[App, RuleContext], list[Finding]] | None = None
    firmware: Callable[[Firmware, RuleContext], list[Finding]] | None = None

    def app_findings(self, app: App, ctx: RuleContext) -> list[Finding]:
        return self.app(app, ctx) if self.app else []

    def firmware_findings(self, fw: Firmware, ctx: RuleContext) -> list[Finding]:
        return self.firmware(fw, ctx) if self.firmware else []


FAMILIES: tuple[Family, ...] = (
    Family("indicators", indicators.app_findings, indicators.firmware_findings),
    Family("harvesting", harvesting.app_findings),
    Family("privilege", privilege.app_findings, privilege.firmware_findings),
    Family("install", install.app_findings),
    Family("exported", exported.app_findings),
    Family("comms", comms.app_findings),
    Family("trackers", trackers.app_findings),
    Family("integrity", integrity.app_findings),
    Family("risk", risk.app_findings),
    Family("avb", firmware=avb.firmware_findings),
)
CODE_FAMILIES = ("indicators",)  # what applies to code without a manifest (it implements APIs, it does not use them)


def judge_app(app: App, ctx: RuleContext) -> list[Finding]:
    return [f for family in FAMILIES for f in family.app_findings(app, ctx)]


def judge_code(app: App, ctx: RuleContext) -> list[Finding]:
    """Code without a manifest (framework and library JARs): known indicators only."""
    return [f for family in FAMILIES if family.name in CODE_FAMILIES for f in family.app_findings(app, ctx)]


def judge_firmware(fw: Firmware, ctx: RuleContext) -> list[Finding]:
    return [f for family in FAMILIES for f in family.firmware_findings(fw, ctx)]
