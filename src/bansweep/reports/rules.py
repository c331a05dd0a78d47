"""What each kind of finding means and what to do about it, for reports that describe their rules (SARIF's rule
descriptors and help). A rule id is matched by its longest listed prefix; each job has a fallback."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleText:
    name: str  # an identifier, as code-scanning tools show it
    short: str
    full: str
    help: str  # remediation


RULES = {
    "fleet.covered-vendor": RuleText(
        "CoveredVendorDevice",
        "Device from a covered vendor",
        "A device seen in a scan or inventory is attributed to a vendor that a policy covers (NDAA §889, the FCC "
        "Covered List). covered: the policy applies; covered-limited: it applies only for the purposes the law "
        "lists (e.g. video surveillance for public safety); review: the evidence is not enough or conflicts.",
        "Check the attribution against the evidence listed (MAC registry, banners, inventory fields). For covered "
        "equipment plan its removal or replacement, or record the legal reason it stays (for covered-limited: the "
        "use it is put to). For review, look at the device and record the decision.",
    ),
    "fleet": RuleText(
        "FleetFinding",
        "Fleet finding",
        "A finding on a device of the fleet.",
        "Check the evidence listed and record the decision.",
    ),
    "firmware.indicator": RuleText(
        "KnownSpywareIndicator",
        "Known spyware or backdoor indicator",
        "A file, package or component of the firmware matches a published indicator of a known spyware or "
        "backdoor family.",
        "Treat devices with this build as compromised: do not issue them; ask the vendor for a clean build or "
        "replace the model. The family and CVEs are listed with the result.",
    ),
    "firmware.harvesting": RuleText(
        "PersonalDataHarvesting",
        "App reads personal data and can send it out",
        "A pre-installed app can read personal data (SMS, call log, contacts, identifiers, location, accounts) "
        "and has the means to send data out; judged with the privilege it runs with.",
        "Find out who operates the app and where it sends data. Disable or remove it where it is not needed, or "
        "ask the vendor for a build without it.",
    ),
    "firmware.privilege": RuleText(
        "ExcessPrivilege",
        "Over-privileged app or build",
        "An app runs with system privilege (shared system uid, platform signature, persistent), or the build is "
        "signed with public test keys, is debuggable or carries set-uid binaries outside the stock set.",
        "Ask the vendor for a release-keys, non-debuggable build; check that privileged apps need the privilege.",
    ),
    "firmware.exported": RuleText(
        "UnguardedExportedComponent",
        "Privileged component any app can reach",
        "A component of an app running with system privilege is exported with no permission guarding it, so any "
        "installed app can drive it.",
        "Report it to the vendor; until fixed, restrict which apps may be installed on the device.",
    ),
    "firmware.install": RuleText(
        "SilentInstall",
        "App can install or remove apps silently",
        "An app can install or uninstall other apps without the user (a remote update channel can push code).",
        "Check who controls the channel; disable the app where it is not the vendor's own update client.",
    ),
    "firmware.exec": RuleText(
        "CommandExecution",
        "App runs commands",
        "An app runs shell commands or native binaries, which a remote party can use to act on the device.",
        "Check what it runs and on whose order; disable it where it is not needed.",
    ),
    "firmware.comms": RuleText(
        "InsecureCommunication",
        "Insecure communication",
        "Cleartext traffic allowed, user-installed CAs trusted, http:// endpoints, broken ciphers, or TLS checks "
        "switched off.",
        "Ask the vendor to fix the app's network security; block the endpoints listed where possible.",
    ),
    "firmware.integrity": RuleText(
        "ApkIntegrity",
        "APK inconsistent (tampering or evasion)",
        "The APK's zip, manifest or signature is inconsistent in a way used to hide code or evade analysis.",
        "Compare the APK with the vendor's original; treat the build as untrusted until explained.",
    ),
    "firmware.trackers": RuleText(
        "TrackerSdk",
        "Tracker SDK",
        "The app's code includes a tracker SDK (Exodus signatures).",
        "Check the data the tracker collects against your privacy obligations.",
    ),
    "firmware.diff": RuleText(
        "CapabilityChange",
        "Capability changed between builds",
        "An app gained or lost a capability from one firmware build to the next.",
        "Check why the capability was added before rolling out the new build.",
    ),
    "firmware": RuleText(
        "FirmwareFinding",
        "Firmware finding",
        "A finding on an Android firmware or app.",
        "Check the evidence listed and record the decision.",
    ),
    "parties.list": RuleText(
        "RestrictedPartyMatch",
        "Party on a restriction list",
        "A supplier or counterparty matches an entry of a restriction list (match), or may match it "
        "(possible-match: a partial or fuzzy name match).",
        "Confirm the identity (address, identifiers) against the list entry; for a match, stop or escalate the "
        "relationship as the list's legal basis requires; for a possible match, record the decision so it is "
        "not raised again.",
    ),
    "parties.affiliate": RuleText(
        "CoveredVendorAffiliate",
        "Affiliate of a covered vendor",
        "A party is a known affiliate of a covered vendor's group, or is named like one (a presumption to check).",
        "Check the ownership; regimes that reach subsidiaries and affiliates treat it as the vendor itself. "
        "Record the decision.",
    ),
    "parties.not-screened": RuleText(
        "PartyNotScreened",
        "Party not screened",
        "A party row could not be compared with any list; it is not clean.",
        "Fix the row (name, encoding) and screen again.",
    ),
    "parties": RuleText(
        "PartiesFinding",
        "Parties finding",
        "A finding on a supplier or counterparty.",
        "Check the evidence listed and record the decision.",
    ),
}
DEFAULT = RuleText("Finding", "Finding", "A bansweep finding.", "Check the evidence listed and record the decision.")


def describe(rule: str) -> RuleText:
    """The text of the longest listed prefix of `rule` (whole dot-separated parts)."""
    parts = rule.split(".")
    for n in range(len(parts), 0, -1):
        found = RULES.get(".".join(parts[:n]))
        if found:
            return found
    return DEFAULT
