"""Screening one party: the facts — which list entries its names match and how well, which covered vendor group it
is tied to — with their evidence and audit record. bansweep.policy.parties turns the facts into statuses."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from bansweep import __version__
from bansweep.findings import Evidence, InputError, Location, Subject
from bansweep.inputs import InputProblem
from bansweep.knowledge import load as load_dataset
from bansweep.parties.lists import LISTS, csl, dod1260h, fcc, opensanctions
from bansweep.parties.match import MATCH_AT, Candidate, Index, TokenMatch, brand_tokens
from bansweep.parties.model import (
    AFFILIATES,
    CandidateExtra,
    ListRecord,
    ListSet,
    MatchExtra,
    NotScreenedExtra,
    Party,
    match_rule,
    match_variant,
)
from bansweep.parties.normalise import Normaliser

MEMO_LIMIT = 200_000  # candidate lists kept per distinct normalised name and country (repeated suppliers)
ALGORITHM = "bansweep-parties/1 (rare-token index + weighted token pairing)"
UNRELATED = "unrelated"  # a known false friend (shares a brand word only)
RELATION_TEXT = {
    "parent": "the parent company of the {g} group",
    "subsidiary": "a subsidiary of the {g} group",
    "affiliate": "an affiliate of the {g} group",
    "brand": "a brand of the {g} group",
    "relabel": "a relabeller of {g} products (not an ownership link)",
    "former-jv": "a former joint venture of the {g} group",
}
OWNED = frozenset({"parent", "subsidiary", "affiliate", "brand"})


@dataclass(slots=True)
class ListHit:
    """A list entry (or named group member) one of a party's names reached, by its best-scoring alias."""

    record: ListRecord
    candidate: Candidate
    alias: str
    query: str
    normalised: str
    legal: tuple[str, ...]


@dataclass(slots=True)
class ListMatch:
    """Fact: a party's name matches a list entry with this score (judged strong or possible by the policy)."""

    hit: ListHit
    rule: str
    variant: str
    evidence: list[Evidence]
    explanation: str  # how the names matched, token by token
    extra: MatchExtra


@dataclass(slots=True)
class GroupLink:
    """Fact: a party is tied to a covered vendor group — a named member matched by name, a knowledge-base pattern,
    or the group's brand word in its name."""

    group: str
    query: str
    how: str  # the relation, in words
    certain: bool  # an ownership relation (parent, subsidiary, affiliate, brand) known with high confidence
    ended: str  # the date the party left the group, if it has
    entity: str  # the group's listed entity
    basis: str  # the legal text that reaches the group's subsidiaries and affiliates
    basis_date: str
    limited: bool  # the group is listed only for the purposes its listing names
    rule: str
    variant: str
    evidence: list[Evidence]
    extra: MatchExtra
    confidence: float


@dataclass(slots=True)
class Screening:
    """The facts about one party: its list matches and group links, and the lists it was compared with."""

    party: Party
    subject: Subject
    normalised: str  # the party's name as compared
    matches: list[ListMatch]
    links: list[GroupLink]
    lists: list[Evidence]  # one per list screened against, with its version (shared by every party of a run)
    missing: dict[str, str]  # lists the run relies on but could not load -> why


@dataclass(slots=True)
class Unreadable:
    """Fact: a row or file that could not be read as a party, and why."""

    subject: Subject
    evidence: Evidence
    why: str
    extra: NotScreenedExtra


MAX_LIST_AGE = 14  # days; the CSL is rebuilt daily
BUILTIN = {m.name: m for m in LISTS if not m.stored}  # lists kept as knowledge data
STORED = {m.name: m for m in LISTS if m.stored}  # lists imported or downloaded into the data home
RELIED = (csl.NAME, fcc.NAME, dod1260h.NAME)  # a run relies on these; on OpenSanctions when it was imported
LIST_NAMES = (*RELIED, opensanctions.NAME)


def load_lists(
    files: Sequence[Path],
    knowledge: Sequence[Path],
    max_age: int | None = MAX_LIST_AGE,
    only: Sequence[str] = (),
    today: date | None = None,
) -> tuple[ListSet, list[InputError]]:
    """--list files if given, else the built-in lists and the imported ones (`only` narrows them by name).

    A list the run relies on that is not loaded, or whose data is older than `max_age` days, is named in
    `missing` (and gets an InputError): no party is reported clean against it."""
    out = ListSet()
    errors: list[InputError] = []
    unknown = [name for name in only if name not in LIST_NAMES]
    if unknown:
        raise InputProblem(Location("--lists"), f"unknown list {', '.join(unknown)}; lists are {', '.join(LIST_NAMES)}")
    if files:
        for path in files:
            try:
                lists, errs = read_list_file(path)
            except InputProblem as exc:
                errors.append(exc.to_error())
                out.missing[str(path)] = f"list file not read: {exc.message}"
                continue
            out.add(lists)
            errors.extend(errs)
        return out, errors
    wanted = list(only) or [*RELIED, opensanctions.NAME]
    for name in wanted:
        if name in BUILTIN:
            kept = BUILTIN[name].load(knowledge)
            if kept is not None:
                out.add(kept)
            continue
        module = STORED[name]
        try:
            found = module.load(knowledge)
        except InputProblem as exc:
            errors.append(exc.to_error())
            out.missing[name] = f"imported {name} not readable: {exc.message}"
            continue
        if found is None:
            if name in RELIED or name in only:
                why = f"not imported ({module.how_to_import} to screen against it)"
                out.versions[name] = why
                out.missing[name] = why
                errors.append(InputError(Location(name), f"list {name} {why}; parties not screened against it"))
            continue
        out.add(found)
        age = _age_days(found.dates.get(name, ""), today or date.today())
        if max_age is not None and (age is None or age > max_age):
            when = found.dates.get(name) or "unknown"
            why = (
                f"older than {max_age} days (data of {when}); screened against it, but no party is reported clean "
                f"until it is updated ({module.how_to_import})"
            )
            out.missing[name] = why
            errors.append(InputError(Location(name), f"list {name} is {why}"))
    return out, errors


def read_list_file(path: Path) -> tuple[ListSet, list[InputError]]:
    """A list file given with --list: an OpenSanctions export, else the CSL bulk layout."""
    if opensanctions.recognise(path):
        return opensanctions.read(path)
    return csl.read(path)


def _age_days(stamp: str, today: date) -> int | None:
    try:
        return (today - date.fromisoformat(stamp[:10])).days
    except ValueError:
        return None


def affiliate_records(knowledge: Sequence[Path], kb: Any = None) -> list[ListRecord]:
    """Named members of the covered vendor groups: party-brands data, plus the vendor knowledge base if present."""
    data = load_dataset("party-brands", ("kind",), overlays=knowledge)
    out: list[ListRecord] = []
    for entry in data.entries:
        if entry["kind"] == "affiliate":
            out.append(
                ListRecord(
                    AFFILIATES,
                    str(entry["id"]),
                    str(entry.get("listed") or "party-brands"),
                    str(entry["name"]),
                    type=str(entry.get("relation", "affiliate")),
                    citations=[str(entry["citation"])] if entry.get("citation") else [],
                    start_date=str(entry["date"]),
                    url=str(entry["source"]),
                    group=str(entry["group"]),
                    where={"file": data.files[-1], "entry": str(entry["id"])},
                )
            )
    if kb is not None:
        out.extend(_vendor_kb_records(kb))
    return out


def load_vendor_kb(knowledge: Sequence[Path]) -> Any:
    """The covered-vendor knowledge base (bansweep.knowledge.vendors), or None where it is not installed."""
    try:
        from bansweep.knowledge.vendors import VendorKB
    except ImportError:
        return None  # optional here: party-brands covers the listed affiliates
    return VendorKB.load(list(knowledge))


def _vendor_kb_records(kb: Any) -> list[ListRecord]:
    out = []
    for entity in kb.all_entities():
        relation = str(getattr(entity, "relation", "") or "affiliate")
        confidence = str(getattr(entity, "confidence", "") or "")
        out.append(
            ListRecord(
                AFFILIATES,
                f"vendor-kb:{entity.id}",
                "covered-vendor knowledge base",
                str(entity.name),
                type=relation,
                start_date=str(getattr(entity, "owned_from", "") or ""),
                end_date=str(getattr(entity, "owned_to", "") or ""),
                url=str(getattr(entity, "source", "") or ""),
                remarks=f"confidence {confidence}" if confidence else "",
                license_requirement=confidence,
                group=str(entity.group or ""),
                where={"file": "vendor knowledge base", "entry": str(entity.id)},
            )
        )
    return out


class Screener:
    """Finds the facts about a party: list entries its names match, covered vendor groups it is tied to."""

    def __init__(self, lists: ListSet, knowledge: Sequence[Path] = ()) -> None:
        self.norm = Normaliser(knowledge)
        self.lists = lists
        self.knowledge = list(knowledge)
        self.kb = load_vendor_kb(knowledge)
        # one index over list entries and named affiliates: one lookup per name finds both
        self.index = Index(lists.records + affiliate_records(knowledge, self.kb), self.norm)
        self.kb_records = {r.record_id: r for r in self.index.records if r.record_id.startswith("vendor-kb:")}
        brands = load_dataset("party-brands", ("kind",), overlays=knowledge)
        self.brands = {str(e["group"]): e for e in brands.entries if e["kind"] == "brand"}
        self.brands_version = brands.version
        self._memo: dict[tuple[tuple[str, ...], str], list[Candidate]] = {}
        self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.today = date.today().isoformat()
        self.tool = f"bansweep {__version__}"
        self.screened_lists = self._screened_lists()

    def versions(self) -> dict[str, str]:
        out = dict(self.lists.versions)
        out["party-matching"] = f"{ALGORITHM}; {self.norm.version}"
        out["headers"] = load_dataset("headers", overlays=self.knowledge).version  # which column is which
        if self.kb is not None:
            out["vendors"] = load_dataset("vendors", overlays=self.knowledge).version
        return out

    def _screened_lists(self) -> list[Evidence]:
        """One evidence item per list the parties are compared with: its name, version and where it was read."""
        counts: dict[str, int] = {}
        files: dict[str, str] = {}
        for record in self.index.records:
            counts[record.list_name] = counts.get(record.list_name, 0) + 1
            files.setdefault(record.list_name, str(record.where.get("file") or record.list_name))
        versions = {name: v for name, v in self.lists.versions.items() if name not in self.lists.missing}
        versions[AFFILIATES] = f"party-brands {self.brands_version}" + (" + vendors" if self.kb is not None else "")
        return [
            Evidence(
                "parties.screened",
                name,
                Location(files.get(name, name)),
                version,
                f"{counts.get(name, 0)} entries",
            )
            for name, version in versions.items()
        ]

    def screen(self, party: Party) -> Screening:
        country = self.norm.country(party.country) if party.country else ""
        hits: dict[int, ListHit] = {}
        seen: list[Candidate] = []
        affiliate_hits: dict[int, ListHit] = {}
        names = [party.name, *party.aliases]
        normalised = ""
        index = self.index
        for text in names:
            name = self.norm.name(text)
            normalised = normalised or name.key
            memo_key = (name.tokens, country)
            found = self._memo.get(memo_key)
            if found is None:
                found = index.candidates(name, country)
                if len(self._memo) < MEMO_LIMIT:
                    self._memo[memo_key] = found
            for cand in found:
                alias = index.aliases[cand.alias]
                record = index.records[alias.record]
                store = affiliate_hits if record.list_name == AFFILIATES else hits
                best = store.get(alias.record)
                if best is None or cand.score > best.candidate.score:
                    store[alias.record] = ListHit(record, cand, alias.text, text, name.key, name.legal)
                if store is hits:
                    seen.append(cand)
        if party.identifier:
            for rid, value in index.by_identifier(party.identifier):
                record = index.records[rid]
                match = TokenMatch(value, value, "identifier", 1.0)
                note = f"identifier {value} on both sides (exact)"
                cand = Candidate(index.main_alias[rid], 1.0, 1.0, 1.0, [match], [], [], [note])
                store = affiliate_hits if record.list_name == AFFILIATES else hits
                store[rid] = ListHit(record, cand, record.name, party.identifier, value, ())
        subject = self._subject(party)
        top = [self._candidate(c) for c in sorted(seen, key=lambda c: -c.score)[:5]]
        matches = [self._list_match(party, h, top) for h in sorted(hits.values(), key=lambda h: -h.candidate.score)]
        links = self._group_links(party, names, affiliate_hits, hits)
        return Screening(party, subject, normalised, matches, links, self.screened_lists, self.lists.missing)

    def unreadable(self, location: Location, text: str, why: str) -> Unreadable:
        where = (
            f"row {location.row}" if location.row is not None else f"line {location.line}" if location.line else "file"
        )
        subject = Subject("party", f"{location.file}:{where}", text or "(no name)", {"file": location.file})
        evidence = Evidence("parties.not-screened", text, location, detail=why)
        return Unreadable(subject, evidence, why, {"tool": self.tool, "screened_at": self.started})

    def _subject(self, party: Party) -> Subject:
        loc = party.location
        suffix = ":manufacturer" if party.role == "manufacturer" else ""
        attrs = {"file": loc.file, "row": str(loc.row or ""), "role": party.role}
        for key in ("country", "address", "city", "identifier"):
            if getattr(party, key):
                attrs[key] = getattr(party, key)
        if party.aliases:
            attrs["aliases"] = "; ".join(party.aliases)
        for key, value in party.purchase.items():
            if value:
                attrs[key] = value  # the purchase line: supplier, item and manufacturer
        label = party.name
        if party.role == "manufacturer" and party.purchase.get("supplier"):
            label = f"{party.name} (manufacturer; supplied by {party.purchase['supplier']})"
        return Subject("party", f"{loc.file}:row {loc.row}{suffix}", label, attrs, identity=party.identity)

    def _candidate(self, cand: Candidate) -> CandidateExtra:
        alias = self.index.aliases[cand.alias]
        record = self.index.records[alias.record]
        return {"score": cand.score, "name": alias.text, "list": record.list_name, "record_id": record.record_id}

    def _list_match(self, party: Party, hit: ListHit, top: list[CandidateExtra]) -> ListMatch:
        record, cand = hit.record, hit.candidate
        alias_kind = self.index.aliases[cand.alias].kind
        rule = match_rule(record.list_name, record.record_id)
        explanation = _explain(hit)
        version = self.lists.versions.get(record.list_name, "")
        extra: MatchExtra = {
            "identity": party.identity,
            "query": hit.query,
            "normalised": hit.normalised,
            "list": record.list_name,
            "record_id": record.record_id,
            "record_hash": record.content_hash(),
            "citations": record.citations,
            "tool": self.tool,
            "algorithm": ALGORITHM,
            "screened_at": self.started,
            "matched_alias": hit.alias,
            "score": cand.score,
            "token_matches": [m.to_dict() for m in cand.matches],
            "legal_forms_removed": list(hit.legal),
            "list_version": version,
            "list_source": record.source,
            "list_source_updated": self.lists.sources.get(record.source, ""),
            "listed_name": record.name,
            "listed_parent": record.parent,
            "alias_coverage": cand.alias_coverage,
            "query_coverage": cand.query_coverage,
            "unmatched_query_tokens": cand.unmatched_query,
            "unmatched_list_tokens": cand.unmatched_list,
            "notes": cand.notes,
            "start_date": record.start_date,
            "end_date": record.end_date,
            "license_requirement": record.license_requirement,
            "license_policy": record.license_policy,
            "programs": record.programs,
            "addresses": record.addresses,
            "remarks": record.remarks,
            "candidates": top,
        }
        if alias_kind == "weak":
            extra["weak_alias"] = True
        if cand.matches and cand.matches[0].how == "identifier":
            extra["identifier"] = cand.matches[0].query
        for key in ("identifiers", "datasets", "schema", "last_change"):
            if getattr(record, key):
                extra[key] = getattr(record, key)  # type: ignore[literal-required]
        evidence = [
            Evidence(rule, hit.query, party.location, version, explanation + _line(party)),
            Evidence(rule, hit.alias, record.location(), version, f"list record {record.record_id}"),
        ]
        return ListMatch(hit, rule, match_variant(record.list_name, record.record_id), evidence, explanation, extra)

    def _group_links(
        self, party: Party, names: list[str], known: dict[int, ListHit], listed: dict[int, ListHit]
    ) -> list[GroupLink]:
        out: list[GroupLink] = []
        groups_done: set[str] = set()
        for hit in sorted(known.values(), key=lambda h: -h.candidate.score):
            record = hit.record
            if hit.candidate.score < MATCH_AT or record.group in groups_done:
                continue
            if record.type == UNRELATED:
                groups_done.update(group for _, group, _ in brand_tokens(self.norm.name(hit.query), self.norm))
                continue  # a known false friend: no brand presumption either
            groups_done.add(record.group)
            if record.type == "parent" and any(
                h.record.group == record.group and h.candidate.score >= MATCH_AT for h in listed.values()
            ):
                continue  # the listed entity itself; the list matches say it
            how = RELATION_TEXT.get(record.type, "linked to the {g} group ({r})").format(g=record.group, r=record.type)
            ended = record.end_date if record.end_date and record.end_date <= self.today else ""
            if ended:
                how = f"{how} until {ended}; not part of the group since"
            certain = record.type in OWNED and record.license_requirement in ("", "H")
            out.append(self._group_link(party, hit.query, record.group, how, certain, ended, record, hit))
        if self.kb is not None:
            for text in names:
                out.extend(self._vendor_pattern_links(party, text, groups_done))
        for text in names:
            name = self.norm.name(text)
            for token, group, others in brand_tokens(name, self.norm):
                if group in groups_done:
                    continue
                if others:
                    continue  # another distinctive word: possibly an unrelated firm sharing the word
                if any(h.record.group == group and h.candidate.score >= MATCH_AT for h in listed.values()):
                    continue  # the group's listed entity itself; the list match says it
                groups_done.add(group)
                how = f"named with the covered brand '{token}' and only generic or place words; presumed an affiliate"
                link = self._group_link(party, text, group, how, False, "", None, None)
                link.extra["brand"] = token
                out.append(link)
        return out

    def _vendor_pattern_links(self, party: Party, text: str, groups_done: set[str]) -> list[GroupLink]:
        """Names the vendor knowledge base ties to a group by pattern (brands such as a consumer label)."""
        out = []
        for match in self.kb.match_org(text):
            entity = match.entity
            group = str(entity.group or "")
            if entity.relation == UNRELATED or not group:
                groups_done.update(g for _, g, _ in brand_tokens(self.norm.name(text), self.norm))
                continue
            if group in groups_done or entity.relation == "parent":
                continue  # the group's own name: the brand rule decides, with its guard against other words
            record = self.kb_records.get(f"vendor-kb:{entity.id}")
            if record is None:
                continue
            groups_done.add(group)
            how = RELATION_TEXT.get(record.type, "linked to the {g} group ({r})").format(g=group, r=record.type)
            how = f"named like {record.name}, {how} (pattern '{match.matched}' in the vendor knowledge base)"
            ended = record.end_date if record.end_date and record.end_date <= self.today else ""
            if ended:
                how = f"{how}; part of the group only until {ended}"
            out.append(self._group_link(party, text, group, how, False, ended, record, None))
        return out

    def _group_link(
        self,
        party: Party,
        query: str,
        group: str,
        how: str,
        certain: bool,
        ended: str,
        record: ListRecord | None,
        hit: ListHit | None,
    ) -> GroupLink:
        brand = self.brands.get(group, {})
        basis = str(brand.get("basis", ""))
        entity = str(brand.get("entity", group))
        record_id = record.record_id if record else f"brand:{group}"
        rule = match_rule(AFFILIATES, record_id)
        content = (
            record.content_hash() if record else hashlib.sha256(repr(sorted(brand.items())).encode()).hexdigest()[:16]
        )
        evidence = [Evidence(rule, query, party.location, self.brands_version, how + _line(party))]
        if record is not None:
            evidence.append(
                Evidence(rule, record.name, record.location(), record.start_date, f"{record.source}; {record.url}")
            )
        extra: MatchExtra = {
            "identity": party.identity,
            "query": query,
            "normalised": self.norm.name(query).key,
            "list": AFFILIATES,
            "record_id": record_id,
            "record_hash": content,
            "citations": record.citations if record else [],
            "tool": self.tool,
            "algorithm": ALGORITHM,
            "screened_at": self.started,
            "group": group,
            "entity": entity,
            "legal_basis": basis,
            "relation": record.type if record else "presumed affiliate (brand in name)",
            "owned_from": record.start_date if record else "",
            "owned_to": record.end_date if record else "",
        }
        if hit is not None:
            extra["matched_alias"] = hit.alias
            extra["score"] = hit.candidate.score
            extra["token_matches"] = [m.to_dict() for m in hit.candidate.matches]
        return GroupLink(
            group,
            query,
            how,
            certain,
            ended,
            entity,
            basis,
            str(brand.get("date", "")),
            bool(brand.get("limited")),
            rule,
            match_variant(AFFILIATES, record_id),
            evidence,
            extra,
            hit.candidate.score if hit else 0.6,
        )


def _line(party: Party) -> str:
    """The purchase line a party was read from, for the evidence: supplier, item and manufacturer."""
    parts = [f"{key} {value}" for key, value in party.purchase.items() if value]
    return f"; purchase line: {', '.join(parts)}" if parts else ""


def _explain(hit: ListHit) -> str:
    cand = hit.candidate
    parts = []
    for m in cand.matches:
        detail = m.how if m.how != "fuzzy" else f"{m.edits} edit{'s' if m.edits > 1 else ''}"
        parts.append(f"{m.query}={m.listed} ({detail})")
    text = (
        f"score {cand.score:.2f}: tokens {', '.join(parts)}; list name covered {cand.alias_coverage:.0%}, "
        f"party name covered {cand.query_coverage:.0%}"
    )
    if cand.unmatched_query:
        text += f"; extra party words: {' '.join(cand.unmatched_query)}"
    if cand.unmatched_list:
        text += f"; list words missing: {' '.join(cand.unmatched_list)}"
    if hit.legal:
        text += f"; legal forms set aside: {' '.join(hit.legal)}"
    if cand.notes:
        text += "; " + "; ".join(cand.notes)
    return text
