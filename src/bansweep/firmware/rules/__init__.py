"""Firmware rules, one module per family. Each has app_findings(app, ctx) and/or firmware_findings(fw, ctx)."""

from __future__ import annotations

from collections.abc import Callable

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
    trackers,
)
from bansweep.firmware.rules.context import RuleContext

APP_RULES: tuple[Callable[[App, RuleContext], list[Finding]], ...] = (
    indicators.app_findings,
    harvesting.app_findings,
    privilege.app_findings,
    install.app_findings,
    exported.app_findings,
    comms.app_findings,
    trackers.app_findings,
    integrity.app_findings,
)
FIRMWARE_RULES: tuple[Callable[[Firmware, RuleContext], list[Finding]], ...] = (
    indicators.firmware_findings,
    privilege.firmware_findings,
    avb.firmware_findings,
)


def judge_app(app: App, ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    for rule in APP_RULES:
        out.extend(rule(app, ctx))
    return out


def judge_code(app: App, ctx: RuleContext) -> list[Finding]:
    """Code without a manifest (framework and library JARs): known indicators only."""
    return indicators.app_findings(app, ctx)


def judge_firmware(fw: Firmware, ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    for rule in FIRMWARE_RULES:
        out.extend(rule(fw, ctx))
    return out
