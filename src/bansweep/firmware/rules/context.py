"""What every rule needs: the knowledge datasets compiled for fast matching, and helpers to build findings."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ahocorasick_rs import BytesAhoCorasick

from bansweep.findings import Evidence, Finding, InputError, Severity, Status, Subject
from bansweep.firmware.apk import App, DexFacts, Firmware, partition_of
from bansweep.firmware.baseline import Baseline, baseline
from bansweep.knowledge import Dataset, load

SEVERITIES = {s.name.lower(): s for s in Severity}
REGEX_MAX_LEN = 64
SYSTEM_UIDS = ("android.uid.system", "android.uid.phone")
CODE_KINDS = ("string", "host", "ip")  # spyware indicators searched in code and binaries
NOT_SCREENED_RULE = "firmware.not-screened"  # a subject (or part of it) that could not be analysed
MAX_UNREAD_EVIDENCE = 50  # problems listed as evidence of one not-screened finding (all stay in the input errors)


@dataclass(slots=True)
class Signal:
    """One way a capability shows: a permission, an API reference or a string in the code."""

    id: str
    capability: str
    kind: str  # permission | method | class | field | string
    value: str
    match: str
    key: Any  # compiled form: tuple for method/field refs, pattern for regex strings
    date: str


@dataclass(slots=True)
class Capability:
    name: str
    category: str
    label: str
    explanation: str


@dataclass(slots=True)
class CapabilityHit:
    """A capability an app has, with what shows it."""

    capability: Capability
    evidence: list[Evidence] = field(default_factory=list)
    by_code: bool = False
    by_permission: bool = False


@dataclass(slots=True)
class Privilege:
    shared_uid: str | None
    platform_signed: bool  # same certificate as the firmware's framework-res.apk, or the AOSP platform test key
    test_key: dict[str, Any] | None  # the public AOSP test key it is signed with, if any
    certs: set[str]

    @property
    def system(self) -> bool:
        """Runs as the system or phone user: asks for that shared uid and carries the platform signature."""
        return self.platform_signed and self.shared_uid in SYSTEM_UIDS

    @property
    def label(self) -> str:
        if self.system:
            return f"runs as {self.shared_uid} (platform-signed)"
        if self.platform_signed:
            return "platform-signed"
        return "ordinary app"


class Needles:
    """Byte strings searched in every app's code, all found in one pass (Aho-Corasick, ahocorasick-rs).

    One bytes.find per needle over a multi-megabyte string region cost more than the rest of the app's analysis.
    """

    __slots__ = ("needles", "_automaton")

    def __init__(self, needles: Iterable[bytes]):
        self.needles = sorted({n for n in needles if n})
        self._automaton = BytesAhoCorasick(self.needles) if self.needles else None

    def find(self, data: bytes) -> dict[bytes, list[int]]:
        """Every position of every needle in data (overlapping ones too), ascending, for the needles that occur."""
        out: dict[bytes, list[int]] = {}
        if self._automaton is not None:
            for i, start, _ in self._automaton.find_matches_as_indexes(data, overlapping=True):
                out.setdefault(self.needles[i], []).append(start)
        for positions in out.values():
            positions.sort()
        return out


@dataclass(slots=True)
class Knowledge:
    spyware: Dataset
    capabilities: dict[str, Capability]
    signals: list[Signal]
    test_certs: dict[str, dict[str, Any]]  # sha256 -> entry
    avb_keys: dict[str, dict[str, Any]]  # sha1 of an AVB public key blob -> entry (public test keys)
    stock_setuid: set[str]
    versions: dict[str, str]
    needles: Needles  # indicator strings and plain string signals, searched in every app's code
    lower_needles: Needles  # what regex string signals look for, searched in the lower-cased code


def _signal(entry: dict[str, Any]) -> Signal:
    kind, value = entry["kind"], str(entry["value"])
    match = entry.get("match", "exact")
    key: Any = value
    if kind in ("method", "field"):
        cls, _, name = value.partition("->")
        key = (cls, name)
    elif kind == "string" and match == "regex":
        needles = tuple(str(n).lower().encode() for n in entry.get("needles") or ())
        if not needles:
            raise ValueError(f"capabilities.yaml: {entry['id']}: a regex signal needs 'needles'")
        key = (re.compile(value), needles)
    elif kind == "string":
        key = value.encode()
    return Signal(entry["id"], entry["capability"], kind, value, match, key, str(entry["date"]))


@lru_cache(maxsize=8)
def knowledge(overlays: tuple[Path, ...] = ()) -> Knowledge:
    spyware = load("spyware", ("family", "kind", "value", "severity", "explanation"), overlays)
    caps = load("capabilities", ("kind", "capability"), overlays)
    certs = load("platform-certs", ("sha256", "name"), overlays)
    stock = load("stock-setuid", ("path",), overlays)
    avb = load("avb-keys", ("sha1", "name"), overlays)
    defined = {
        e["capability"]: Capability(e["capability"], e["category"], e["label"], e["explanation"])
        for e in caps.entries
        if e["kind"] == "capability"
    }
    signals = [_signal(e) for e in caps.entries if e["kind"] != "capability"]
    for s in signals:
        if s.capability not in defined:
            raise ValueError(f"capabilities.yaml: {s.id} names undefined capability {s.capability!r}")
    needles = {str(e["value"]).encode() for e in spyware.entries if e["kind"] in CODE_KINDS}
    needles |= {s.key for s in signals if s.kind == "string" and s.match != "regex"}
    return Knowledge(
        spyware=spyware,
        capabilities=defined,
        signals=signals,
        test_certs={str(e["sha256"]).lower(): e for e in certs.entries},
        avb_keys={str(e["sha1"]).lower(): e for e in avb.entries},
        stock_setuid={canon_path(str(e["path"])) for e in stock.entries},
        versions={d.name: d.version for d in (spyware, caps, certs, stock, avb)},
        needles=Needles(needles),
        lower_needles=Needles(n for s in signals if s.kind == "string" and s.match == "regex" for n in s.key[1]),
    )


def canon_path(path: str) -> str:
    """A firmware path without the leading '/' and 'system/' so trees rooted anywhere compare equal."""
    path = path.lstrip("/")
    return path[len("system/") :] if path.startswith("system/") else path


@dataclass(slots=True)
class RuleContext:
    """Per-run state shared by the rules: knowledge, the firmware's platform certificates, trackers."""

    knowledge: Knowledge
    platform_certs: set[str] = field(default_factory=set)
    trackers: Sequence[Any] = ()
    api: int | None = None  # the firmware's API level (ro.build.version.sdk), None when unknown (a lone APK)
    overlays: tuple[Path, ...] = ()
    cache: dict[str, Any] = field(default_factory=dict)  # per-app facts kept for the app being judged
    _caps: tuple[int, dict[str, CapabilityHit]] | None = None
    _code: tuple[App, bytes, dict[bytes, list[int]]] | None = None

    def capabilities(self, app: App) -> dict[str, CapabilityHit]:
        """Capabilities of an app (kept for the app being judged): permission or code reference, with evidence."""
        if self._caps is None or self._caps[0] != id(app):
            data, found = self.code(app)
            self._caps = (id(app), _capabilities(self.knowledge, app, data, found))
        return self._caps[1]

    def code(self, app: App) -> tuple[bytes, dict[bytes, list[int]]]:
        """The app's dex string data after a NUL, and where each knowledge needle occurs in it (kept for the app
        being judged)."""
        if self._code is None or self._code[0] is not app:
            data = b"\x00" + app.dex.data
            self._code = (app, data, self.knowledge.needles.find(data) if app.dex.data else {})
        return self._code[1], self._code[2]

    def baseline(self) -> Baseline:
        return baseline(self.overlays)

    def privilege(self, app: App) -> Privilege:
        certs = {c.sha256.lower() for c in app.signing.certs} if app.signing else set()
        test = next((self.knowledge.test_certs[c] for c in sorted(certs) if c in self.knowledge.test_certs), None)
        platform = bool(certs & self.platform_certs) or (test is not None and test.get("role") == "platform")
        uid = app.manifest.shared_user_id if app.manifest else None
        return Privilege(uid, platform, test, certs)


def _capabilities(k: Knowledge, app: App, data: bytes, found: dict[bytes, list[int]]) -> dict[str, CapabilityHit]:
    perms = set(app.manifest.uses_permissions) if app.manifest else set()
    dex = app.dex
    lower: list[dict[bytes, list[int]]] = []  # positions of k.lower_needles in data.lower(), found on first need
    hits: dict[str, CapabilityHit] = {}
    for s in k.signals:
        if s.kind == "permission":
            match = s.value if s.value in perms else None
        elif not dex.present:
            continue
        else:
            match = _in_code(s, dex, data, found, lower, k.lower_needles)
        if match is None:
            continue
        hit = hits.setdefault(s.capability, CapabilityHit(k.capabilities[s.capability]))
        if s.kind == "permission":
            hit.by_permission = True
            where = app.where("AndroidManifest.xml", "uses-permission")
            hit.evidence.append(Evidence(f"capabilities:{s.id}", s.value, where, s.date, "permission requested"))
        else:
            hit.by_code = True
            where = app.where(dex.sources[0] if len(dex.sources) == 1 else "classes*.dex")
            hit.evidence.append(Evidence(f"capabilities:{s.id}", match, where, s.date, f"{s.kind} referenced in code"))
    return hits


def _in_code(
    s: Signal,
    dex: DexFacts,
    data: bytes,
    found: dict[bytes, list[int]],
    lower: list[dict[bytes, list[int]]],
    lower_needles: Needles,
) -> str | None:
    """The matching reference or string (for the evidence), or None."""
    if s.kind == "method":
        return s.value if s.key in dex.methods else None
    if s.kind == "field":
        return s.value if s.key in dex.fields else None
    if s.kind == "class":
        return s.value if s.value in dex.types else None
    if s.match == "contains":
        return s.value if s.key in found else None
    if s.match in ("exact", "prefix"):
        for start in found.get(s.key, ()):
            if _string_start(data, start) and (
                s.match == "prefix" or data[start + len(s.key) : start + len(s.key) + 1] == b"\x00"
            ):
                return s.value
        return None
    if not lower:
        lower.append(lower_needles.find(data.lower()))
    pattern, needles = s.key
    for needle in needles:
        for pos in lower[0].get(needle, ()):
            text = _string_around(data, pos)
            if text is not None and len(text) <= REGEX_MAX_LEN and pattern.match(text):
                return text
    return None


def _finds(data: bytes, needle: bytes) -> Iterator[int]:
    pos = data.find(needle)
    while pos >= 0:
        yield pos
        pos = data.find(needle, pos + 1)


# A dex string item is a ULEB128 length (one byte below 128 UTF-16 units, two below 16384), the MUTF-8 bytes and a
# NUL; the item before it ends with its NUL. Strings are found by that layout, without decoding the string table.
def _string_start(data: bytes, pos: int) -> bool:
    if pos >= 2 and data[pos - 1] < 0x80 and data[pos - 2] == 0:
        return True
    return pos >= 3 and data[pos - 1] < 0x80 and data[pos - 2] >= 0x80 and data[pos - 3] == 0


def _string_around(data: bytes, pos: int) -> str | None:
    """The dex string that contains byte pos, decoded, or None when pos is not inside one."""
    start = data.rfind(b"\x00", max(0, pos - REGEX_MAX_LEN - 3), pos) + 1
    for skip in (1, 2):
        if _string_start(data, start + skip):
            end = data.find(b"\x00", pos)
            return data[start + skip : end].decode("utf-8", "replace") if end >= 0 else None
    return None


def in_data(needle: str, data: bytes) -> bool:
    """needle occurs in data as a whole token: not glued to letters or digits (hosts, addresses, words)."""
    raw = needle.encode()
    return as_token(raw, data, _finds(data, raw))


def as_token(raw: bytes, data: bytes, positions: Iterable[int]) -> bool:
    """One of the positions of raw in data is a whole token (see in_data)."""
    for start in positions:
        before = data[start - 1 : start]
        after = data[start + len(raw) : start + len(raw) + 1]
        glued = before.isalnum() or after.isalnum() or (before == b"." and raw[:1].isalnum())
        if not glued:
            return True
    return False


def app_subject(app: App) -> Subject:
    attrs = {"path": app.path, "partition": app.partition or "unknown", "sha256": app.sha256}
    if app.manifest:
        attrs["version"] = f"{app.manifest.version_name or ''} ({app.manifest.version_code})"
        if app.manifest.shared_user_id:
            attrs["shared_user_id"] = app.manifest.shared_user_id
    return Subject("app", app.package, f"{app.package} ({app.path})", attrs)


def firmware_subject(fw: Firmware) -> Subject:
    attrs = {}
    for key in ("ro.build.fingerprint", "ro.product.model", "ro.build.tags", "ro.build.type"):
        value = fw.prop(key)
        if value:
            attrs[key] = value
    model = fw.prop("ro.product.model") or ""
    return Subject("firmware", fw.name, f"{fw.name} {model}".strip(), attrs, firmware_identity(fw))


def firmware_identity(fw: Firmware) -> str:
    """What names a firmware run after run and build after build: its brand and model, else the input's name
    without its folder (the path it is read from changes; the device does not)."""
    device = " ".join(v for v in (fw.prop("ro.product.brand"), fw.prop("ro.product.model")) if v)
    return device or posixpath.basename(fw.name.rstrip("/")) or fw.name


def unread_subject(path: str) -> Subject:
    """An APK/JAR that could not be read: named by its firmware path (its package is unknown)."""
    return Subject("app", path, path, {"path": path, "partition": partition_of(path) or "unknown"})


def finding(
    subject: Subject,
    rule: str,
    title: str,
    severity: Severity,
    evidence: list[Evidence],
    explanation: str,
    confidence: float = 0.9,
    tags: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
    variant: str = "",
) -> Finding:
    """A fact found by a rule. Its status stays not-screened until the firmware policy stage judges it
    (bansweep.policy.firmware); `variant` tells apart findings of one rule on one subject (e.g. a file path)."""
    return Finding(
        subject=subject,
        rule=rule,
        title=title,
        severity=severity,
        confidence=confidence,
        evidence=evidence,
        status=Status.NOT_SCREENED,
        explanation=explanation,
        tags=list(tags),
        extra=extra or {},
        variant=variant,
    )


def not_screened(subject: Subject, problems: Sequence[InputError], what: str) -> Finding:
    """The fact that a subject, or part of it, could not be analysed: `what` says which, each problem is evidence.

    Such a subject is never reported clean; the input errors stay in the report too.
    """
    shown = "; ".join(p.message for p in problems[:3]) + (
        f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    )
    listed = [Evidence(NOT_SCREENED_RULE, p.message, p.location) for p in problems[:MAX_UNREAD_EVIDENCE]]
    return finding(
        subject,
        NOT_SCREENED_RULE,
        f"{what} could not be analysed",
        Severity.MEDIUM,  # an unknown is worth a look; the policy reports it as not-screened, with no risk score
        listed,
        f"{what} could not be analysed, so what it holds was not judged: {shown}."
        + (f" The first {len(listed)} of {len(problems)} problems are listed." if len(problems) > len(listed) else ""),
        confidence=1.0,
        tags=["not-screened"],
    )
