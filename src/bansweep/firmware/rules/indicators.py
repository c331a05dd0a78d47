"""Known spyware and backdoor indicators (knowledge/data/spyware.yaml) in apps and in the firmware."""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from typing import Any

from bansweep.findings import Evidence, Finding, Location, Severity, Subject
from bansweep.firmware.apk import App, Firmware
from bansweep.firmware.rules.context import (
    CODE_KINDS,
    SEVERITIES,
    RuleContext,
    app_subject,
    as_token,
    canon_path,
    finding,
    firmware_subject,
    in_data,
)

RULE = "firmware.indicator"
SETUID_NOTE = "any local program can run it with its owner's rights"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _option_line(loc: Location, options: list[tuple[str, int]], text: str) -> Location:
    line = next((n for opt, n in options if " ".join(opt.split()) == text), loc.line)
    return Location(loc.file, line=line, entry=loc.entry)


def _evidence(entry: dict[str, Any], value: str, where: Location, detail: str) -> Evidence:
    cves = ", ".join(entry.get("cves") or [])
    text = f"{detail}; {cves}" if cves else detail
    return Evidence(f"spyware:{entry['id']}", value, where, str(entry["date"]), text)


def _grouped(subject: Subject, hits: list[tuple[dict[str, Any], Evidence]], what: str) -> list[Finding]:
    by_family: dict[str, list[tuple[dict[str, Any], Evidence]]] = defaultdict(list)
    for entry, ev in hits:
        by_family[entry["family"]].append((entry, ev))
    out = []
    for family, items in sorted(by_family.items()):
        severity = max(SEVERITIES[e["severity"]] for e, _ in items)
        explanations: list[str] = []
        for e, _ in items:
            if e["explanation"] not in explanations:
                explanations.append(e["explanation"])
        cves = sorted({c for e, _ in items for c in e.get("cves") or []})
        explanation = f"{what} carries known {family} indicators. " + " ".join(explanations)
        out.append(
            finding(
                subject,
                f"{RULE}.{_slug(family)}",
                f"Known {family} indicator{'s' if len(items) > 1 else ''}",
                severity,
                [ev for _, ev in items],
                explanation,
                confidence=0.95 if severity >= Severity.HIGH else 0.7,
                tags=["indicator", _slug(family)] + cves,
                extra={"family": family, "cves": cves},
            )
        )
    return out


def app_findings(app: App, ctx: RuleContext) -> list[Finding]:
    hits: list[tuple[dict[str, Any], Evidence]] = []
    manifest = app.manifest
    components = {c.name for c in manifest.components} if manifest else set()
    ident = f"{app.package} {app.path}".lower()
    data, found = ctx.code(app)
    for entry in ctx.knowledge.spyware.entries:
        kind, value = entry["kind"], str(entry["value"])
        within = entry.get("within")
        if within and within not in ident:
            continue
        if kind == "package" and manifest and manifest.package == value:
            hits.append((entry, _evidence(entry, value, app.where("AndroidManifest.xml", "package"), "package name")))
        elif kind == "component" and value in components:
            hits.append((entry, _evidence(entry, value, app.where("AndroidManifest.xml", "component"), "component")))
        elif kind in CODE_KINDS and as_token(raw := value.encode(), data, found.get(raw, ())):
            where = app.where(app.dex.sources[0] if len(app.dex.sources) == 1 else "classes*.dex")
            hits.append((entry, _evidence(entry, value, where, f"{kind} in the app's code")))
    return _grouped(app_subject(app), hits, f"App {app.package}")


def firmware_findings(fw: Firmware, ctx: RuleContext) -> list[Finding]:
    hits: list[tuple[dict[str, Any], Evidence]] = []
    files = [(canon_path(f.path), f) for f in fw.files]
    lone = len(files) == 1 and "/" not in files[0][0]  # one file given: its firmware path is unknown, its name is not
    for entry in ctx.knowledge.spyware.entries:
        kind, value = entry["kind"], str(entry["value"])
        if kind == "file":
            want = canon_path(value)
            basename = entry.get("match") == "basename" or lone
            if basename:
                want = posixpath.basename(want)
            for path, f in files:
                if (posixpath.basename(path) == want) if basename else path == want:
                    detail = (
                        "file name matches (given alone: its path in the firmware is unknown)"
                        if lone
                        else "file present"
                    )
                    judged = entry
                    if f.setuid:
                        detail += f" (set-uid/set-gid, mode {f.mode:o}, owner uid {f.uid}): {SETUID_NOTE}"
                        judged = {**entry, "severity": "critical"}
                    hits.append((judged, _evidence(entry, f.path, f.location, detail)))
            for target, where in fw.imports:
                name = canon_path(target)
                if (posixpath.basename(name) == want) if basename else name == want:
                    hits.append((entry, _evidence(entry, f"import {target}", where, "imported by an init script")))
        elif kind == "property":
            prefix = entry.get("match") == "prefix"
            for p in fw.props:
                if p.key.startswith(value) if prefix else p.key == value:
                    hits.append((entry, _evidence(entry, f"{p.key}={p.value}", p.location, "build property")))
        elif kind == "socket":
            for s in fw.services:
                for sock in s.service.sockets:
                    if sock.split()[0] == value:
                        where = _option_line(s.location, s.service.options, f"socket {sock}")
                        detail = f"socket of init service {s.service.name}"
                        hits.append((entry, _evidence(entry, sock, where, detail)))
        elif kind == "service":
            for s in fw.services:
                if s.service.name == value or posixpath.basename(s.service.path) == value:
                    hits.append(
                        (entry, _evidence(entry, f"{s.service.name} {s.service.path}", s.location, "init service"))
                    )
        elif kind in CODE_KINDS:
            for b in fw.binaries:
                if in_data(value, b.data):
                    hits.append((entry, _evidence(entry, value, b.location, f"{kind} in native binary {b.path}")))
    return _grouped(firmware_subject(fw), hits, "The firmware")
