"""Tracker SDKs from an Exodus-format tracker file, matched the way Exodus does: each code_signature is a Python
regex applied with .search() to every class name the code defines or references (dotted form); signatures of three
characters or fewer are skipped."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from bansweep.findings import Evidence, Finding, InputError, Location, Severity
from bansweep.firmware.apk import App
from bansweep.firmware.rules.context import RuleContext, app_subject, finding

RULE = "firmware.trackers"
MIN_SIGNATURE = 4
META = re.compile(r"[\\.^$*+?{}\[\]|()]")


@dataclass(slots=True, frozen=True)
class Tracker:
    id: str
    name: str
    signature: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...]  # literal text each alternative must contain (a fast pre-check), empty = none known


def _needles(signature: str) -> tuple[str, ...]:
    if "(" in signature or "[" in signature or "\\" in signature:
        return ()
    out = []
    for alt in signature.split("|"):
        pieces = [p for p in META.split(alt) if p]
        if not pieces:
            return ()
        out.append(max(pieces, key=len))
    return tuple(out)


def load_trackers(path: Path) -> tuple[list[Tracker], list[InputError]]:
    """Trackers from an Exodus JSON ({"trackers": {id: {name, code_signature, ...}}}); bad entries are errors."""
    errors: list[InputError] = []
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        return [], [InputError(Location(str(path)), f"cannot read tracker file: {exc}")]
    table = doc.get("trackers") if isinstance(doc, dict) else None
    if not isinstance(table, dict):
        return [], [InputError(Location(str(path)), "tracker file has no 'trackers' object (Exodus format)")]
    out = []
    for key, t in table.items():
        where = Location(str(path), field=f"trackers.{key}")
        if not isinstance(t, dict):
            errors.append(InputError(where, "tracker entry is not an object"))
            continue
        sig = t.get("code_signature") or ""
        if not isinstance(sig, str):
            errors.append(InputError(where, "code_signature is not a string"))
            continue
        if len(sig) < MIN_SIGNATURE:
            continue  # as Exodus: too short to mean anything
        try:
            pattern = re.compile(sig)
        except re.error as exc:
            errors.append(InputError(where, f"code_signature is not a valid regex: {exc}"))
            continue
        out.append(Tracker(str(t.get("id", key)), str(t.get("name", key)), sig, pattern, _needles(sig)))
    return out, errors


def class_names(app: App) -> str:
    """Defined and referenced class names, dotted, one per line."""
    names = {t[1:-1].replace("/", ".") for t in app.dex.types if t.startswith("L") and t.endswith(";")}
    return "\n".join(sorted(names))


def app_findings(app: App, ctx: RuleContext) -> list[Finding]:
    if not ctx.trackers or not app.dex.present:
        return []
    text = class_names(app)
    found: list[tuple[Tracker, str]] = []
    for t in ctx.trackers:
        if t.needles and not any(n in text for n in t.needles):
            continue
        m = t.pattern.search(text)
        if m is None:
            continue
        if "\n" in m.group(0) or "^" in t.signature or "$" in t.signature:
            # the regex could span or anchor on the joined text: check name by name, exactly as Exodus does
            hit = next((n for n in text.split("\n") if t.pattern.search(n)), None)
            if hit is None:
                continue
        else:
            end = text.find("\n", m.end())
            hit = text[text.rfind("\n", 0, m.start()) + 1 : len(text) if end < 0 else end]
        found.append((t, hit))
    if not found:
        return []
    priv = ctx.privilege(app)
    privileged = priv.system or priv.platform_signed or app.priv_app
    where = app.where(app.dex.sources[0] if len(app.dex.sources) == 1 else "classes*.dex")
    names = ", ".join(t.name for t, _ in found)
    return [
        finding(
            app_subject(app),
            RULE,
            f"{len(found)} tracker SDK(s): {names}",
            Severity.MEDIUM if privileged else Severity.LOW,
            [
                Evidence(f"{RULE}:{t.id}", t.name, where, detail=f"class {cls} matches {t.signature!r}")
                for t, cls in found
            ],
            f"{app.package} contains code of {names}. A class-name match shows the SDK is bundled, not that it runs"
            + ("; in a privileged pre-installed app it cannot be removed by the user." if privileged else "."),
            confidence=0.8,
            tags=["trackers"] + [t.name for t, _ in found],
        )
    ]
