"""Verified boot (AVB): what the firmware's vbmeta images say about the chain of trust from the bootloader.

Facts from containers/vbmeta.py; judged here: verification or dm-verity turned off in the image (high), signed with
a public AOSP test key (avb-keys.yaml; high: anyone can sign images the device accepts), not signed or a signature
that does not verify (high), and, as information, which key signs each vbmeta and its chained partitions.
"""

from __future__ import annotations

from bansweep.findings import Evidence, Finding, Location, Severity
from bansweep.firmware.apk import Firmware
from bansweep.firmware.containers.vbmeta import VbMeta
from bansweep.firmware.rules.context import RuleContext, finding, firmware_subject

RULE = "firmware.avb"


def firmware_findings(fw: Firmware, ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    for meta in fw.vbmeta:
        out.extend(_one(fw, meta, ctx))
    return out


def _one(fw: Firmware, meta: VbMeta, ctx: RuleContext) -> list[Finding]:
    subject = firmware_subject(fw)
    at = meta.location
    header = Location(at.file, entry=at.entry, field="flags")
    out: list[Finding] = []

    def add(kind: str, title: str, severity: Severity, evidence: list[Evidence], why: str, tags: list[str]) -> None:
        out.append(
            finding(subject, f"{RULE}.{kind}", title, severity, evidence, why, 1.0, ["avb", *tags], variant=meta.path)
        )

    if meta.verification_disabled:
        add(
            "verification-disabled",
            f"Verified boot turned off in {meta.path}",
            Severity.HIGH,
            [Evidence(RULE, f"flags=0x{meta.flags:x}", header, detail="VERIFICATION_DISABLED (bit 1) set")],
            f"{meta.path} carries the VERIFICATION_DISABLED flag: the bootloader does not check the partitions it"
            " describes, so modified boot, system or vendor images run without any warning.",
            ["verified-boot"],
        )
    if meta.hashtree_disabled:
        add(
            "hashtree-disabled",
            f"dm-verity turned off in {meta.path}",
            Severity.HIGH,
            [Evidence(RULE, f"flags=0x{meta.flags:x}", header, detail="HASHTREE_DISABLED (bit 0) set")],
            f"{meta.path} carries the HASHTREE_DISABLED flag: the system partitions are mounted without dm-verity,"
            " so changes to them after boot (a persistent implant) go unnoticed.",
            ["verified-boot"],
        )
    keys = [(meta.path, meta.key_sha1)] + [(f"{meta.path} chain {c.partition}", c.key_sha1) for c in meta.chains]
    for what, sha1 in keys:
        known = ctx.knowledge.avb_keys.get((sha1 or "").lower())
        if known is None:
            continue
        add(
            "test-key",
            f"{what} signed with a public AVB test key",
            Severity.HIGH,
            [Evidence(f"avb-keys:{known['id']}", sha1 or "", at, str(known["date"]), f"public key of {known['name']}")],
            f"{what} is signed with the {known['name']}, whose private key is published in AOSP: anyone can sign a"
            " boot, system or vendor image that a device trusting this key accepts as genuine.",
            ["test-key"],
        )
    if meta.key_sha1 is None:
        add(
            "unsigned",
            f"{meta.path} is not signed",
            Severity.HIGH,
            [Evidence(RULE, meta.algorithm, Location(at.file, entry=at.entry, field="algorithm"))],
            f"{meta.path} has no signature (algorithm {meta.algorithm}): only a device with an unlocked bootloader"
            " boots it, and nothing ties its partitions to their maker.",
            ["verified-boot"],
        )
    elif not meta.signature_ok:
        add(
            "bad-signature",
            f"{meta.path} signature does not verify",
            Severity.HIGH,
            [Evidence(RULE, meta.key_sha1, at, detail="hash or RSA signature mismatch with the embedded key")],
            f"The signature of {meta.path} does not match its content and key: the image was changed after signing"
            " (or is corrupt). A locked device refuses it; an unlocked one boots it anyway.",
            ["verified-boot"],
        )
    if meta.key_sha1:
        facts = [Evidence(RULE, meta.key_sha1, at, detail=f"{meta.algorithm} public key (sha1), {meta.release}")]
        facts += [
            Evidence(RULE, c.key_sha1, at, detail=f"chained partition {c.partition} public key (sha1)")
            for c in meta.chains
        ]
        add(
            "key",
            f"{meta.path} verified boot keys",
            Severity.INFO,
            facts,
            f"Key digests of {meta.path} (as avbtool info_image prints them), to compare with the keys the device"
            f" maker publishes. Rollback index {meta.rollback_index}; partitions"
            f" {', '.join(meta.partitions + [c.partition for c in meta.chains]) or 'none'}.",
            ["verified-boot"],
        )
    return out
