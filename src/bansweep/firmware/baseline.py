"""Stock Android as knowledge: the packages AOSP and GMS ship per API level with their roles, shared uids, signing
and privileged-permission allowlists (android-baseline.yaml), and the roles apps can have with how they show in a
manifest (android-roles.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bansweep.knowledge import KnowledgeError, load

MATCHES = ("action", "category", "guard", "authority", "component-suffix", "package-word")
COMMON = {"id", "kind", "source", "date", "remove"}
FIELDS = {  # the keys each kind of entry may have (a stray key is usually a YAML comma in an unquoted value)
    "role": COMMON | {"role", "label", "may"},
    "declares": COMMON | {"role", "match", "value"},
    "package": COMMON | {"package", "roles", "api", "uid", "signature", "priv_app", "origin", "privapp"},
    "privileged-permission": COMMON | {"permission"},
}


def _check(name: str, entries: list[dict[str, Any]]) -> None:
    for e in entries:
        allowed = FIELDS.get(e["kind"])
        if allowed is None:
            raise KnowledgeError(f"{name}.yaml: {e['id']}: unknown kind {e['kind']!r}")
        stray = sorted(set(e) - allowed)
        if stray:
            raise KnowledgeError(f"{name}.yaml: {e['id']}: unexpected key(s) {', '.join(map(str, stray))}")


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    label: str
    may: frozenset[str]  # capabilities the role needs (personal data, installing)
    source: str


@dataclass(slots=True)
class Baseline:
    packages: dict[str, list[dict[str, Any]]]  # package -> entries (one per API range)
    privileged: set[str]  # permissions only a priv-app on its allowlist (or the platform) may hold
    roles: dict[str, Role]
    declares: list[dict[str, Any]]
    versions: dict[str, str] = field(default_factory=dict)

    def stock(self, package: str, api: int | None) -> dict[str, Any] | None:
        """The baseline entry of a package shipped by stock Android at this API level (any level if unknown)."""
        for entry in self.packages.get(package, ()):
            first, last = entry["api"]
            if api is None or first <= api <= last:
                return entry
        return None


@lru_cache(maxsize=8)
def baseline(overlays: tuple[Path, ...] = ()) -> Baseline:
    data = load("android-baseline", ("kind",), overlays)
    roles_data = load("android-roles", ("kind", "role"), overlays)
    _check("android-baseline", data.entries)
    _check("android-roles", roles_data.entries)
    roles: dict[str, Role] = {}
    declares: list[dict[str, Any]] = []
    for e in roles_data.entries:
        if e["kind"] == "role":
            roles[e["role"]] = Role(
                e["role"], str(e.get("label", e["role"])), frozenset(e.get("may") or ()), e["source"]
            )
        elif e["kind"] == "declares":
            if e.get("match") not in MATCHES or not e.get("value"):
                raise KnowledgeError(f"android-roles.yaml: {e['id']}: 'match' must be one of {MATCHES}, with a value")
            declares.append(e)
    for e in declares:
        if e["role"] not in roles:
            raise KnowledgeError(f"android-roles.yaml: {e['id']} names undefined role {e['role']!r}")
    packages: dict[str, list[dict[str, Any]]] = {}
    privileged: set[str] = set()
    for e in data.entries:
        if e["kind"] == "package":
            api = e.get("api")
            if not (isinstance(api, list) and len(api) == 2 and all(isinstance(a, int) for a in api)):
                raise KnowledgeError(f"android-baseline.yaml: {e['id']}: 'api' must be [first, last] API levels")
            for role in e.get("roles") or ():
                if role not in roles and role != "platform":
                    raise KnowledgeError(f"android-baseline.yaml: {e['id']} names undefined role {role!r}")
            packages.setdefault(str(e["package"]), []).append(e)
        elif e["kind"] == "privileged-permission":
            privileged.add(str(e["permission"]))
    return Baseline(packages, privileged, roles, declares, {d.name: d.version for d in (data, roles_data)})
