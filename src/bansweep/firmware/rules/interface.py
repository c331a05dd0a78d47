"""What a firmware rule family is: judgements of one kind over an app's or a firmware's facts."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bansweep.findings import Finding
from bansweep.firmware.apk import App, Firmware
from bansweep.firmware.rules.context import RuleContext


@runtime_checkable
class RuleFamily(Protocol):
    @property
    def name(self) -> str:
        """The family's name (its module's name)."""

    def app_findings(self, app: App, ctx: RuleContext) -> list[Finding]:
        """Findings on one app (APK or code without a manifest); [] when the family judges no apps."""

    def firmware_findings(self, fw: Firmware, ctx: RuleContext) -> list[Finding]:
        """Findings on the firmware as a whole; [] when the family judges no firmware."""
