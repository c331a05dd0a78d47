"""What an app is for and what it does beyond that: its roles (from what its manifest declares and, for stock
packages, from the baseline of stock Android at the firmware's API level), the personal data it reaches in and out
of those roles, the privilege it holds beyond what stock Android gives that package, and whether the code that reads
the data sits in the same class or call chain as the code that sends data out (and in whose package).

The assessment is a set of facts; rules/risk.py reports it and the firmware policy scores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bansweep.firmware.apk import App
from bansweep.firmware.baseline import Baseline, Role
from bansweep.firmware.reach import CodeIndex, linked
from bansweep.firmware.rules.context import REGEX_MAX_LEN, Privilege, RuleContext, Signal

SENDS = ("network", "sms-send")
INSTALLS = ("install", "uninstall", "shell-install")
STRONG = ("sms", "call-log", "contacts", "location", "accounts")  # personal data that is content, not identifiers
MAX_CLASSES_SHOWN = 3


@dataclass(slots=True)
class RoleHit:
    role: Role
    why: str  # "declares action android.provider.Telephony.SMS_DELIVER" or "stock package (AOSP ...)"


@dataclass(slots=True)
class Assessment:
    """Facts about one app measured against its roles and the stock baseline."""

    roles: list[RoleHit]
    stock: dict[str, Any] | None  # the baseline entry when the package is stock at this API level
    privilege: Privilege
    personal: list[str]  # personal-data capabilities it has
    in_role: list[str]
    out_of_role: list[str]
    sends: list[str]  # means to send data out
    installs: list[str]
    installs_in_role: bool
    reach: str  # same-class | call-chain | apart | unknown (no class index) | none (no code-level evidence)
    reach_detail: str
    sdk: str | None  # package of the code reading out-of-role data, when outside the app's own namespace
    beyond: list[str] = field(default_factory=list)  # privilege beyond the baseline, as phrases
    extra_privapp: list[str] = field(default_factory=list)  # privileged permissions not on its stock allowlist
    priv_app: bool = False
    partition: str = ""

    @property
    def role_label(self) -> str:
        return ", ".join(h.role.label for h in self.roles) if self.roles else "no recognised role"

    @property
    def privileged(self) -> bool:
        return self.privilege.system or self.privilege.platform_signed

    @property
    def preinstalled(self) -> bool:
        """Installed on a firmware partition (not a user app, not a lone APK of unknown origin)."""
        return self.partition not in ("", "data")

    @property
    def harmful(self) -> bool:
        """Out-of-role personal data with privilege or the means to send it: personal content (SMS, call log,
        contacts, location, accounts) with privilege or a send, or identifiers/app usage with system privilege and
        a send the code reaches. An app that is not a preload (a user app, a lone APK) needs privilege or code that
        joins the read and the send (same class or call chain): permissions alone do not make it harmful. Stock
        packages are judged by their roles, never by this alone."""
        if self.stock is not None or not self.out_of_role:
            return False
        strong = any(c in STRONG for c in self.out_of_role)
        linked = self.reach in ("same-class", "call-chain", "unknown")
        if strong:
            collects = bool(self.sends) and self.reach in ("same-class", "call-chain")  # the code joins read and send
            return self.privileged or self.priv_app or (bool(self.sends) and self.preinstalled) or collects
        return self.privileged and bool(self.sends) and linked

    def factors(self) -> dict[str, Any]:
        """The facts the firmware policy scores (bansweep.policy.firmware.risk_score), JSON-ready."""
        return {
            "roles": [h.role.name for h in self.roles],
            "stock": self.stock is not None,
            "out_of_role": self.out_of_role,
            "strong_out_of_role": [c for c in self.out_of_role if c in STRONG],
            "in_role": self.in_role,
            "sends": self.sends,
            "reach": self.reach,
            "sdk": self.sdk,
            "system_uid": self.privilege.system,
            "platform_signed": self.privilege.platform_signed,
            "priv_app": self.priv_app,
            "beyond_baseline": self.beyond,
            "extra_privapp": self.extra_privapp,
            "silent_install": bool(self.installs) and not self.installs_in_role,
            "harmful": self.harmful,
            "preinstalled": self.preinstalled,
        }


def _declared(app: App, base: Baseline) -> list[RoleHit]:
    m = app.manifest
    if m is None:
        return []
    actions = {a for c in m.components for f in c.intent_filters for a in f.actions}
    categories = {a for c in m.components for f in c.intent_filters for a in f.categories}
    guards = {p for c in m.components for p in (c.permission, c.read_permission, c.write_permission) if p}
    authorities = {a for c in m.components if c.authorities for a in c.authorities.split(";")}
    names = {c.name for c in m.components}
    words = set(m.package.lower().split("."))
    hits: dict[str, RoleHit] = {}
    for e in base.declares:
        how, value = e["match"], str(e["value"])
        found = (
            (how == "action" and value in actions)
            or (how == "category" and value in categories)
            or (how == "guard" and value in guards)
            or (how == "authority" and bool(set(value.split(";")) & authorities))
            or (how == "component-suffix" and any(n.endswith(value) for n in names))
            or (how == "package-word" and value in words)
        )
        if found and e["role"] not in hits:
            hits[e["role"]] = RoleHit(base.roles[e["role"]], f"declares {how} {value}")
    return list(hits.values())


def _users(index: CodeIndex, s: Signal) -> set[str]:
    if s.kind in ("method", "field"):
        return index.users(s.kind, s.key)
    if s.kind == "class":
        return index.users("class", s.value)
    if s.kind != "string":
        return set()
    out = set()
    for cls, refs in index.classes.items():
        if s.match == "exact":
            hit = s.value in refs.strings
        elif s.match == "prefix":
            hit = any(t.startswith(s.value) for t in refs.strings)
        elif s.match == "contains":
            hit = any(s.value in t for t in refs.strings)
        else:
            pattern: re.Pattern[str] = s.key[0]
            hit = any(len(t) <= REGEX_MAX_LEN and pattern.match(t) for t in refs.strings)
        if hit:
            out.add(cls)
    return out


def _classes(ctx: RuleContext, index: CodeIndex, caps: set[str]) -> set[str]:
    return {
        c for s in ctx.knowledge.signals if s.capability in caps and s.kind != "permission" for c in _users(index, s)
    }


def _java(descriptor: str) -> str:
    return descriptor[1:-1].replace("/", ".") if descriptor.startswith("L") else descriptor


def _own_prefix(package: str) -> str:
    parts = package.split(".")
    return "L" + "/".join(parts[:2]) + "/" if len(parts) >= 2 else "L" + package + "/"


def _sdk(package: str, sources: set[str]) -> str | None:
    """The common package of the classes reading data, when none of them is in the app's own namespace."""
    if not sources or any(c.startswith(_own_prefix(package)) for c in sources):
        return None
    parts = [c[1:-1].split("/")[:-1] for c in sources]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return ".".join(common) or "several packages outside the app's own"


def assess(app: App, ctx: RuleContext) -> Assessment:
    """The app's roles, out-of-role data access, privilege beyond the baseline and reachability (kept for the app
    being judged)."""
    cached = ctx.cache.get("assessment")
    if cached is not None and cached[0] is app:
        return cached[1]  # type: ignore[no-any-return]
    base = ctx.baseline()
    caps = ctx.capabilities(app)
    priv = ctx.privilege(app)
    package = app.manifest.package if app.manifest else ""
    stock = base.stock(package, ctx.api) if package else None
    impostor = ""
    if stock and stock.get("signature") == "platform" and ctx.platform_certs and not priv.platform_signed:
        # a stock name on code stock Android would have signed with the platform key: not the stock package
        impostor = f"uses the stock package name {package} but is not platform-signed as stock Android signs it"
        stock = None
    roles = _declared(app, base)
    if stock:
        have = {h.role.name for h in roles}
        what = f"stock package ({stock['source']})"
        roles += [RoleHit(base.roles[r], what) for r in stock.get("roles") or () if r in base.roles and r not in have]
    may = {c for h in roles for c in h.role.may}
    personal = sorted(n for n, h in caps.items() if h.capability.category == "personal")
    out_of_role = [c for c in personal if c not in may]
    sends = [c for c in SENDS if c in caps]
    installs = [c for c in INSTALLS if c in caps]
    a = Assessment(
        roles=roles,
        stock=stock,
        privilege=priv,
        personal=personal,
        in_role=[c for c in personal if c in may],
        out_of_role=out_of_role,
        sends=sends,
        installs=installs,
        installs_in_role=bool(installs)
        and all(c in may or (c == "shell-install" and "install" in may) for c in installs),
        reach="none",
        reach_detail="",
        sdk=None,
        priv_app=app.priv_app,
        partition=app.partition,
    )
    code_out = [c for c in out_of_role if caps[c].by_code]
    code_send = [c for c in sends if caps[c].by_code]
    # the bytecode walk is costly: done only where reachability can change the verdict (personal content out of
    # role, or identifiers/app usage with the platform's privilege), never for JARs
    matters = any(c in STRONG for c in out_of_role) or priv.system or priv.platform_signed
    index = app.dex.code_index() if matters and code_out and code_send else None
    if out_of_role and sends:
        if not matters:
            a.reach = "unknown"
            a.reach_detail = ""
        elif not (code_out and code_send):
            a.reach = "unknown"
            a.reach_detail = "the data access or the send shows only in the permissions requested"
        elif index is None or not index.complete or not index.classes:
            a.reach = "unknown"
            a.reach_detail = "the app's bytecode could not be walked class by class"
        else:
            sources = _classes(ctx, index, set(code_out))
            sinks = _classes(ctx, index, set(code_send))
            a.reach = linked(index, sources, sinks) if sources and sinks else "unknown"
            a.sdk = _sdk(package, sources)
            shown = ", ".join(_java(c) for c in sorted(sources)[:MAX_CLASSES_SHOWN])
            if a.reach == "same-class":
                both = sorted(sources & sinks)
                a.reach_detail = (
                    f"{', '.join(_java(c) for c in both[:MAX_CLASSES_SHOWN])} both reads the data and sends"
                )
            elif a.reach == "call-chain":
                a.reach_detail = f"{shown} reads the data within two calls of the code that sends"
            elif a.reach == "apart":
                a.reach_detail = f"{shown} reads the data; no call chain of two calls joins it to the code that sends"
            if a.sdk:
                a.reach_detail += f" (in bundled code under {a.sdk})"
    _privilege_beyond(app, a, base)
    if impostor:
        a.beyond.insert(0, impostor)
    return _keep(ctx, app, a)


def _keep(ctx: RuleContext, app: App, a: Assessment) -> Assessment:
    ctx.cache["assessment"] = (app, a)
    return a


def _privilege_beyond(app: App, a: Assessment, base: Baseline) -> None:
    priv, stock = a.privilege, a.stock
    if priv.system:
        expected = stock is not None and stock.get("uid") == priv.shared_uid and stock.get("signature") == "platform"
        if not expected:
            a.beyond.append(
                f"runs as {priv.shared_uid} with the platform signature, which stock Android gives no such package"
            )
    elif priv.platform_signed and (stock is None or stock.get("signature") != "platform"):
        a.beyond.append("carries the platform signature, which stock Android gives no such package")
    if app.priv_app and (stock is None or not stock.get("priv_app")):
        a.beyond.append("is installed as a privileged app (priv-app), which stock Android does not do for it")
    requested = set(app.manifest.uses_permissions) if app.manifest else set()
    allowed = set(stock.get("privapp") or ()) if stock else set()
    if app.priv_app and not priv.platform_signed:  # platform-signed apps get signature|privileged without a list
        a.extra_privapp = sorted((requested & base.privileged) - allowed)
    elif priv.platform_signed and stock is None:
        a.extra_privapp = sorted(requested & base.privileged)
