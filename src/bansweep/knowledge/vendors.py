"""Vendor knowledge: covered entities and the patterns that attribute names, models, banners and OIDs to them.

Datasets (knowledge/data): vendors (entities, organisation-name patterns, brand aliases), models (product
grammars), banners (per-fact patterns), pens (SNMP enterprise trees). All patterns are compiled once per
VendorKB; every match_* call runs a handful of regex operations at most, whatever the number of entries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bansweep.knowledge import Dataset, KnowledgeError, load

RELATIONS = ("parent", "subsidiary", "affiliate", "brand", "relabel", "former-jv", "unrelated")
CONFIDENCES = ("H", "M", "L")
BANNER_FIELDS = (
    "http.server",
    "http.realm",
    "http.title",
    "rtsp.server",
    "ssh.banner",
    "telnet.banner",
    "ftp.banner",
    "sip.banner",
    "snmp.sysdescr",
    "tls.subject",
    "dhcp.vendor_class",
    "dhcp.hostname",
    "cpe",
    "upnp.server",
    "lldp.sysdesc",
    "http.favicon",
    "service.banner",
)
# Banner fields whose free text often carries a model name; model grammars run on them too.
MODEL_BEARING = frozenset(
    {"http.realm", "http.title", "sip.banner", "telnet.banner", "snmp.sysdescr", "lldp.sysdesc", "upnp.server"}
)
DEVICE_TYPES = (
    "camera",
    "nvr",
    "dvr",
    "intercom",
    "access-control",
    "router",
    "switch",
    "firewall",
    "ont",
    "olt",
    "modem",
    "gateway",
    "softswitch",
    "phone",
    "radio",
    "server",
    "iptv",
    "robot",
    "thermal-camera",
    "network",
)
_ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_NONWORD = re.compile(r"[\W_]+")
_BACKREF = re.compile(r"\\[1-9]")
_TOKEN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]")
_OID = re.compile(r"^\.?(?:iso|1)((?:\.\d{1,10}){0,64})$")
_OID_ALIASES = (("snmpv2-smi::enterprises.", "1.3.6.1.4.1."), ("enterprises.", "1.3.6.1.4.1."))
_CACHE_LIMIT = 200_000
MAX_TEXT = 4096  # longer inputs are cut: banners and names are never this long legitimately


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    name: str
    group: str | None
    relation: str
    owned_from: str | None
    owned_to: str | None
    confidence: str
    source: str
    date: str


@dataclass(frozen=True, slots=True)
class Match:
    entity: Entity
    kind: str
    pattern_id: str
    matched: str
    confidence: float
    source: str
    date: str
    product: str | None = None
    device_type: str | None = None


@dataclass(frozen=True, slots=True)
class _Rule:
    """One compiled knowledge entry: what a hit means."""

    entity: Entity
    kind: str
    pattern_id: str
    confidence: float
    source: str
    date: str
    product: str | None
    device_type: str | None

    def hit(self, matched: str) -> Match:
        return Match(
            self.entity,
            self.kind,
            self.pattern_id,
            matched,
            self.confidence,
            self.source,
            self.date,
            self.product,
            self.device_type,
        )


def normalise_name(text: str) -> str:
    """Organisation names: NFKC, case-folded, runs of punctuation and spaces -> one space."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _NONWORD.sub(" ", text.casefold()).strip()


def entry_location(ds: Dataset, entry: dict[str, Any]) -> str:
    """File and entry number an entry came from (the last file that defines its id), for error messages."""
    for path in reversed(ds.files):
        try:
            doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            continue
        for i, item in enumerate(doc.get("entries", []) if isinstance(doc, dict) else []):
            if isinstance(item, dict) and item.get("id") == entry.get("id"):
                return f"{path}: entry {i + 1} ({entry['id']})"
    return f"{ds.files[0]}: entry ({entry.get('id')})"


def _fail(ds: Dataset, entry: dict[str, Any], message: str) -> KnowledgeError:
    return KnowledgeError(f"{entry_location(ds, entry)}: {message}")


def _str(ds: Dataset, entry: dict[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = entry.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(ds, entry, f"'{key}' must be a non-empty string")
    return value


def _choice(ds: Dataset, entry: dict[str, Any], key: str, allowed: Sequence[str | None]) -> Any:
    value = entry.get(key)
    if value not in allowed:
        raise _fail(ds, entry, f"'{key}' must be one of {', '.join(str(a) for a in allowed)}; got {value!r}")
    return value


def _float(ds: Dataset, entry: dict[str, Any], key: str, default: float) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _fail(ds, entry, f"'{key}' must be a number between 0 and 1; got {value!r}")
    return float(value)


def _list(ds: Dataset, entry: dict[str, Any], key: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(ds, entry, f"'{key}' must be a list of non-empty strings")
    return value


def _check(ds: Dataset, entry: dict[str, Any], pattern: str) -> None:
    """Patterns are joined into one regex per kind, so named groups and back-references cannot work."""
    if "(?P" in pattern or _BACKREF.search(pattern):
        raise _fail(ds, entry, f"named groups and back-references are not allowed in patterns: {pattern!r}")


_Source = tuple[Dataset, dict[str, Any], str, int]  # where a pattern came from, the pattern, its flags


def _combined(regex: str, flags: int, sources: list[_Source]) -> re.Pattern[str]:
    """Compile a combined regex; if that fails, name the entry whose pattern is at fault (compiled alone only then,
    which keeps loading fast)."""
    try:
        return re.compile(regex, flags)
    except re.error as combined_error:
        for ds, entry, pattern, pattern_flags in sources:
            try:
                re.compile(f"(?:{pattern})", pattern_flags)
            except re.error as exc:
                raise _fail(ds, entry, f"bad regular expression {pattern!r}: {exc}") from None
        files = sorted({f for ds, *_ in sources for f in ds.files})
        raise KnowledgeError(f"{', '.join(files)}: patterns cannot be combined: {combined_error}") from None


def _iso(ds: Dataset, entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    value = str(value)
    if not _ISO.match(value):
        raise _fail(ds, entry, f"'{key}' must be YYYY, YYYY-MM or YYYY-MM-DD; got {value!r}")
    return value


def _lead_char(pattern: str) -> str | None:
    """First character every match of `pattern` starts with, if it is a literal letter or digit (and the pattern
    has no top-level alternative that could start otherwise)."""
    if not (pattern and pattern[0].isascii() and pattern[0].isalnum()) or pattern[1:2] in ("?", "*", "{"):
        return None
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 1
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return None
        i += 1
    return pattern[0].upper()


class VendorKB:
    """Entities and compiled patterns. Use VendorKB.load(); instances are cached per overlay list."""

    version: str
    groups: tuple[str, ...]  # covered group ids, read from the data

    def __init__(self, datasets: dict[str, Dataset]) -> None:
        self.version = "; ".join(f"{name} {ds.version}" for name, ds in datasets.items())
        self.files = [f for ds in datasets.values() for f in ds.files]
        self._entities: dict[str, Entity] = {}
        self._cache: dict[tuple[str, str], list[Match]] = {}
        self._load_entities(datasets["vendors"])
        self._load_models(datasets["models"])
        self._load_banners(datasets["banners"])
        self._load_pens(datasets["pens"])

    @classmethod
    def load(cls, overlays: Sequence[Path] = ()) -> VendorKB:
        return _load_kb(tuple(Path(p) for p in overlays))

    # --- loading -------------------------------------------------------------------------------------------
    def _entity_ref(self, ds: Dataset, entry: dict[str, Any]) -> Entity:
        ref = _str(ds, entry, "entity")
        assert ref is not None
        if ref not in self._entities:
            raise _fail(ds, entry, f"unknown entity {ref!r} (not in vendors.yaml)")
        return self._entities[ref]

    def _rule(self, ds: Dataset, entry: dict[str, Any], entity: Entity, kind: str, default: float) -> _Rule:
        device_type = entry.get("device_type")
        if device_type is not None:
            _choice(ds, entry, "device_type", DEVICE_TYPES)
        return _Rule(
            entity,
            kind,
            entry["id"],
            _float(ds, entry, "weight", default),
            str(entry["source"]),
            str(entry["date"]),
            _str(ds, entry, "product", optional=True),
            device_type,
        )

    def _load_entities(self, ds: Dataset) -> None:
        org_parts: list[tuple[int, int, str, str]] = []
        sources: list[_Source] = []
        self._org_rules: dict[str, _Rule] = {}
        self.brand_names: list[tuple[str, Entity]] = []  # (brand as written, entity), for near-miss spellings
        # A covered group is named by its parent entity (relation 'parent', group equal to its own id).
        self.groups = tuple(
            sorted(e["id"] for e in ds.entries if e.get("relation") == "parent" and e.get("group") == e.get("id"))
        )
        for entry in ds.entries:
            group = _choice(ds, entry, "group", (*self.groups, None))
            relation = _choice(ds, entry, "relation", RELATIONS)
            if group is None and relation != "unrelated":
                raise _fail(ds, entry, "an entity outside every covered group must have relation 'unrelated'")
            entity = Entity(
                id=entry["id"],
                name=_str(ds, entry, "name") or "",
                group=group,
                relation=relation,
                owned_from=_iso(ds, entry, "owned_from"),
                owned_to=_iso(ds, entry, "owned_to"),
                confidence=_choice(ds, entry, "confidence", CONFIDENCES),
                source=str(entry["source"]),
                date=str(entry["date"]),
            )
            self._entities[entity.id] = entity
            priority = entry.get("priority", 0)
            if isinstance(priority, bool) or not isinstance(priority, int):
                raise _fail(ds, entry, f"'priority' must be an integer; got {priority!r}")
            # Unrelated names (false friends) are tried before any covered name that could be read into them.
            rank = priority + (1000 if group is None else 0)
            for kind, key, weight in (("org-name", "org", 0.95), ("brand", "brands", 0.85)):
                values = _list(ds, entry, key)
                if not values:
                    continue
                if kind == "brand":
                    self.brand_names.extend((v, entity) for v in values)
                name = f"{'o' if kind == 'org-name' else 'b'}{len(self._org_rules)}"
                bodies = []
                for value in values:
                    body = value if kind == "org-name" else re.escape(normalise_name(value))
                    _check(ds, entry, body)
                    sources.append((ds, entry, body, re.I))
                    bodies.append(f"(?:{body})")
                self._org_rules[name] = self._rule(ds, entry, entity, kind, weight)
                for body in bodies:
                    org_parts.append((rank, len(body), name, body))
        org_parts.sort(key=lambda p: (-p[0], -p[1]))
        # One group per alternative (suffix = position) so the priority order is kept exactly.
        ordered = [(f"{name}_{i}", body) for i, (_, _, name, body) in enumerate(org_parts)]
        # Anchored at the start; a name must end at a token boundary ("zte" never matches "ztelecom").
        regex = "^(?:" + "|".join(f"(?P<{k}>{b})" for k, b in ordered) + r")(?![a-z0-9])" if ordered else r"(?!)"
        self._org_re = _combined(regex, re.I, sources)

    def _load_models(self, ds: Dataset) -> None:
        buckets: dict[str, list[tuple[str, str]]] = {}
        sources: dict[str, list[_Source]] = {}
        self._model_rules: dict[str, _Rule] = {}
        for entry in ds.entries:
            entity = self._entity_ref(ds, entry)
            pattern = _str(ds, entry, "pattern") or ""
            _check(ds, entry, pattern)
            lead = _lead_char(pattern)
            if lead is None:
                raise _fail(ds, entry, f"model pattern {pattern!r} must start with a literal letter or digit")
            name = f"m{len(self._model_rules)}"
            self._model_rules[name] = self._rule(ds, entry, entity, "model", 0.7)
            buckets.setdefault(lead, []).append((name, pattern))
            sources.setdefault(lead, []).append((ds, entry, pattern, re.I))
        # Per leading character, one regex tried only at token starts whose first character fits.
        self._model_re = {
            lead: _combined(
                r"(?:" + "|".join(f"(?P<{n}>{p})" for n, p in parts) + r")(?![A-Za-z0-9])", re.I, sources[lead]
            )
            for lead, parts in buckets.items()
        }

    def _load_banners(self, ds: Dataset) -> None:
        per_field: dict[str, list[tuple[str, str]]] = {f: [] for f in BANNER_FIELDS}
        sources: dict[str, list[_Source]] = {f: [] for f in BANNER_FIELDS}
        self._banner_rules: dict[str, _Rule] = {}
        for entry in ds.entries:
            entity = self._entity_ref(ds, entry)
            pattern = _str(ds, entry, "pattern") or ""
            flags = re.I if entry.get("ignore_case", True) else 0
            _check(ds, entry, pattern)
            fields = _list(ds, entry, "fields")
            if not fields:
                raise _fail(ds, entry, "'fields' must name at least one fact field")
            for f in fields:
                if f not in BANNER_FIELDS:
                    raise _fail(ds, entry, f"unknown field {f!r}; known: {', '.join(BANNER_FIELDS)}")
            name = f"r{len(self._banner_rules)}"
            kind = {"cpe": "cpe", "dhcp.vendor_class": "dhcp", "dhcp.hostname": "dhcp"}.get(fields[0], "banner")
            self._banner_rules[name] = self._rule(ds, entry, entity, kind, 0.7)
            inline = "(?i:" if flags else "(?:"
            for f in fields:
                per_field[f].append((name, f"{inline}{pattern})"))
                sources[f].append((ds, entry, pattern, flags))
        self._banner_re = {
            f: _combined("|".join(f"(?P<{n}>{body})" for n, body in parts), 0, sources[f])
            for f, parts in per_field.items()
            if parts
        }

    def _load_pens(self, ds: Dataset) -> None:
        self._oid_rules: dict[tuple[int, ...], _Rule] = {}
        for entry in ds.entries:
            entity = self._entity_ref(ds, entry)
            oid = _str(ds, entry, "oid") or ""
            if not re.fullmatch(r"1\.3\.6\.1\.4\.1(\.\d+)+", oid):
                raise _fail(ds, entry, f"'oid' must be an enterprise OID 1.3.6.1.4.1.N[...]; got {oid!r}")
            key = tuple(int(a) for a in oid.split("."))
            if key in self._oid_rules:
                raise _fail(ds, entry, f"OID {oid} is defined twice")
            self._oid_rules[key] = self._rule(ds, entry, entity, "oid", 0.8)
        self._oid_max = max((len(k) for k in self._oid_rules), default=0)

    # --- queries -------------------------------------------------------------------------------------------
    def entity(self, entity_id: str) -> Entity:
        try:
            return self._entities[entity_id]
        except KeyError:
            raise KeyError(f"unknown entity {entity_id!r}") from None

    def all_entities(self) -> list[Entity]:
        return list(self._entities.values())

    def _store(self, key: tuple[str, str], value: list[Match]) -> list[Match]:
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = value
        return value

    def match_org(self, text: str) -> list[Match]:
        """Organisation or brand names (IEEE registrants, inventory manufacturer, nmap vendor), anchored at the start."""
        key = ("org", text)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        norm = normalise_name(text[:MAX_TEXT])
        m = self._org_re.match(norm)
        out: list[Match] = []
        if m is not None and m.lastgroup is not None:
            out.append(self._org_rules[m.lastgroup.rsplit("_", 1)[0]].hit(m.group(0)))
        return self._store(key, out)

    def match_model(self, text: str) -> list[Match]:
        """Product/model grammars, tried at every token start of `text`."""
        key = ("model", text)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        return self._store(key, self._models(text[:MAX_TEXT]))

    def _models(self, text: str) -> list[Match]:
        out: list[Match] = []
        end = 0
        for start in _TOKEN_START.finditer(text):
            pos = start.start()
            if pos < end:
                continue
            regex = self._model_re.get(text[pos].upper())
            if regex is None:
                continue
            m = regex.match(text, pos)
            if m is not None and m.lastgroup is not None:
                out.append(self._model_rules[m.lastgroup].hit(m.group(0)))
                end = m.end()
        return out

    def match_banner(self, field: str, text: str) -> list[Match]:
        """Patterns for one fact field (http.server, snmp.sysdescr, dhcp.vendor_class, cpe, ...).

        For fields that often name the product (realm, SIP, telnet, sysDescr ...) model grammars run too.
        """
        key = (field, text)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        text = text[:MAX_TEXT]
        out: list[Match] = []
        regex = self._banner_re.get(field)
        if regex is not None:
            seen: set[str] = set()
            for m in regex.finditer(text):
                name = m.lastgroup
                if name is not None and name not in seen:
                    seen.add(name)
                    out.append(self._banner_rules[name].hit(m.group(0)))
        if field in MODEL_BEARING:
            out.extend(self._models(text))
        return self._store(key, out)

    def match_oid(self, oid: str) -> list[Match]:
        """sysObjectID (or any OID) under a known enterprise tree; the longest known prefix wins."""
        text = oid.strip().lower()
        for alias, full in _OID_ALIASES:
            if text.startswith(alias):
                text = full + text[len(alias) :]
        m = _OID.match(text[:MAX_TEXT])
        if m is None:
            return []
        arcs = (1, *(int(a) for a in m.group(1).split(".")[1:]))
        for n in range(min(len(arcs), self._oid_max), 6, -1):
            rule = self._oid_rules.get(arcs[:n])
            if rule is not None:
                return [rule.hit(".".join(str(a) for a in arcs[:n]))]
        return []


def ownership_window(entity: Entity) -> tuple[str, str]:
    """owned_from/owned_to as comparable full dates (partial dates widened to the whole month/year)."""
    start = entity.owned_from or "0000-01-01"
    end = entity.owned_to or "9999-12-31"
    start += {4: "-01-01", 7: "-01"}.get(len(start), "")
    end += {4: "-12-31", 7: "-31"}.get(len(end), "")
    return start, end


@lru_cache(maxsize=16)
def _load_kb(overlays: tuple[Path, ...]) -> VendorKB:
    datasets = {
        name: load(name, ("name", "group", "relation", "confidence") if name == "vendors" else (), overlays)
        for name in ("vendors", "models", "banners", "pens")
    }
    return VendorKB(datasets)
