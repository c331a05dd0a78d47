"""Screening one party: list matches, covered-vendor affiliates, reviewer decisions, and the audit record."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from bansweep import __version__
from bansweep.findings import Evidence, Finding, InputError, Location, Severity, Status, Subject, Verdict
from bansweep.inputs import InputProblem
from bansweep.knowledge import load as load_dataset
from bansweep.parties import decisions as decisions_mod
from bansweep.parties.lists import csl, load_builtin
from bansweep.parties.match import COVERED_AT, Candidate, Index, brand_tokens
from bansweep.parties.model import ListRecord, ListSet, Party
from bansweep.parties.normalise import Normaliser

MEMO_LIMIT = 200_000  # candidate lists kept per distinct normalised name and country (repeated suppliers)
ALGORITHM = "bansweep-parties/1 (rare-token index + weighted token pairing)"
AFFILIATES = "covered-vendor affiliates"
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
class Hit:
    record: ListRecord
    candidate: Candidate
    alias: str
    query: str
    normalised: str
    legal: tuple[str, ...]


# the audit row of every party, hit or not (Report.summary["screened"]); detail is the best candidates
# as [score, list name, list, record id], or why the party could not be screened
ROW_COLUMNS = ("party", "query", "normalised", "country", "status", "detail")


@dataclass(slots=True)
class Screened:
    findings: list[Finding] = field(default_factory=list)
    row: list[Any] = field(default_factory=list)


def load_lists(files: Sequence[Path], knowledge: Sequence[Path]) -> tuple[ListSet, list[InputError]]:
    """--list files if given, else the built-in lists and the imported CSL."""
    out = ListSet()
    errors: list[InputError] = []
    if files:
        for path in files:
            try:
                lists, errs = csl.read(path)
            except InputProblem as exc:
                errors.append(exc.to_error())
                continue
            out.add(lists)
            errors.extend(errs)
        return out, errors
    return load_builtin(knowledge)


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
    def __init__(
        self,
        lists: ListSet,
        knowledge: Sequence[Path] = (),
        decisions: dict[tuple[str, str, str], decisions_mod.Decision] | None = None,
    ) -> None:
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
        self.decisions = decisions or {}
        self._memo: dict[tuple[tuple[str, ...], str], list[Candidate]] = {}
        self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.today = date.today().isoformat()
        self.tool = f"bansweep {__version__}"

    def versions(self) -> dict[str, str]:
        out = dict(self.lists.versions)
        out["party-matching"] = f"{ALGORITHM}; {self.norm.version}"
        if self.kb is not None:
            out["vendors"] = load_dataset("vendors", overlays=self.knowledge).version
        return out

    def screen(self, party: Party) -> Screened:
        country = self.norm.country(party.country) if party.country else ""
        hits: dict[int, Hit] = {}
        seen: list[list[Any]] = []
        normalised = []
        affiliate_hits: dict[int, Hit] = {}
        names = [party.name, *party.aliases]
        for text in names:
            name = self.norm.name(text)
            normalised.append(name.key)
            memo_key = (name.tokens, country)
            found = self._memo.get(memo_key)
            if found is None:
                found = self.index.candidates(name, country)
                if len(self._memo) < MEMO_LIMIT:
                    self._memo[memo_key] = found
            index = self.index
            for cand in found:
                alias = index.aliases[cand.alias]
                record = index.records[alias.record]
                store = affiliate_hits if record.list_name == AFFILIATES else hits
                best = store.get(alias.record)
                if best is None or cand.score > best.candidate.score:
                    store[alias.record] = Hit(record, cand, alias.text, text, name.key, name.legal)
                if store is hits:
                    seen.append(_candidate_row(index, cand))
        subject = self._subject(party)
        result = Screened()
        top = sorted(seen, key=lambda c: -float(c[0]))[:5]
        for hit in sorted(hits.values(), key=lambda h: -h.candidate.score):
            result.findings.append(self._list_finding(party, subject, hit, top))
        result.findings.extend(self._affiliate_findings(party, subject, names, affiliate_hits, hits))
        status = max((f.status for f in result.findings), key=lambda s: s.order, default=Status.NOT_COVERED)
        query = party.name if not party.aliases else [party.name, *party.aliases]
        key = normalised if len(normalised) > 1 else normalised[0]
        result.row = [subject.id, query, key, party.country, status.value if result.findings else "no-match", top]
        return result

    def unscreened(self, location: Location, text: str, why: str) -> Screened:
        where = (
            f"row {location.row}" if location.row is not None else f"line {location.line}" if location.line else "file"
        )
        subject = Subject("party", f"{location.file}:{where}", text or "(no name)", {"file": location.file})
        finding = Finding(
            subject,
            "parties.not-screened",
            f"Party at {location} could not be screened: {why}",
            Severity.MEDIUM,
            1.0,
            [Evidence("parties.not-screened", text, location, detail=why)],
            status=Status.NOT_SCREENED,
            explanation="This party was not compared with any list; it is not clean. Fix the row and screen again.",
            extra={"tool": self.tool, "screened_at": self.started},
        )
        row: list[Any] = [subject.id, text, "", "", Status.NOT_SCREENED.value, why]
        return Screened([finding], row)

    def _subject(self, party: Party) -> Subject:
        loc = party.location
        suffix = ":manufacturer" if party.role == "manufacturer" else ""
        attrs = {"file": loc.file, "row": str(loc.row or ""), "role": party.role}
        for key in ("country", "address", "city", "identifier"):
            if getattr(party, key):
                attrs[key] = getattr(party, key)
        if party.aliases:
            attrs["aliases"] = "; ".join(party.aliases)
        return Subject("party", f"{loc.file}:row {loc.row}{suffix}", party.name, attrs)

    def _list_finding(self, party: Party, subject: Subject, hit: Hit, top: list[list[Any]]) -> Finding:
        record, cand = hit.record, hit.candidate
        status = Status.COVERED if cand.score >= COVERED_AT else Status.REVIEW
        strength = "matches" if status is Status.COVERED else "may match"
        if status is Status.COVERED and record.limited:
            status = Status.LIMITED  # covered only when used for the purposes the listing names
        own = f"'{record.name}'" + (f" (affiliated with/part of {record.parent})" if record.parent else "")
        title = f"{hit.query} {strength} {record.source} entry {own}"
        explanation = _explain(hit)
        version = self.lists.versions.get(record.list_name, "")
        extra = self._audit(party, hit, version)
        extra["candidates"] = [dict(zip(("score", "name", "list", "record_id"), c, strict=True)) for c in top]
        finding = Finding(
            subject,
            f"parties.list.{record.list_name}",
            title,
            Severity.HIGH if status in (Status.COVERED, Status.LIMITED) else Severity.MEDIUM,
            cand.score,
            [
                Evidence(f"parties.list.{record.list_name}", hit.query, party.location, version, explanation),
                Evidence(
                    f"parties.list.{record.list_name}",
                    hit.alias,
                    record.location(),
                    version,
                    f"list record {record.record_id}",
                ),
            ],
            status=status,
            explanation=explanation,
            verdicts=[
                Verdict(
                    record.list_name,
                    status,
                    "; ".join(record.citations),
                    record.start_date,
                    record.license_policy or record.remarks,
                )
            ],
            tags=[record.list_name, *([record.group] if record.group else [])],
            extra=extra,
        )
        self._apply_decision(party, finding, record.list_name, record.record_id, extra["record_hash"])
        return finding

    def _audit(self, party: Party, hit: Hit, version: str) -> dict[str, Any]:
        record, cand = hit.record, hit.candidate
        content = record.content_hash()
        return {
            "query": hit.query,
            "normalised": hit.normalised,
            "legal_forms_removed": list(hit.legal),
            "list": record.list_name,
            "list_version": version,
            "list_source": record.source,
            "list_source_updated": self.lists.sources.get(record.source, ""),
            "record_id": record.record_id,
            "record_hash": content,
            "listed_name": record.name,
            "listed_parent": record.parent,
            "matched_alias": hit.alias,
            "score": cand.score,
            "alias_coverage": cand.alias_coverage,
            "query_coverage": cand.query_coverage,
            "token_matches": [m.to_dict() for m in cand.matches],
            "unmatched_query_tokens": cand.unmatched_query,
            "unmatched_list_tokens": cand.unmatched_list,
            "notes": cand.notes,
            "citations": record.citations,
            "start_date": record.start_date,
            "end_date": record.end_date,
            "license_requirement": record.license_requirement,
            "license_policy": record.license_policy,
            "programs": record.programs,
            "addresses": record.addresses,
            "remarks": record.remarks,
            "tool": self.tool,
            "algorithm": ALGORITHM,
            "screened_at": self.started,
            "decision_key": {
                "party": party.identity,
                "list": record.list_name,
                "record": record.record_id,
                "hash": content,
            },
        }

    def _affiliate_findings(
        self, party: Party, subject: Subject, names: list[str], known: dict[int, Hit], listed: dict[int, Hit]
    ) -> list[Finding]:
        out: list[Finding] = []
        groups_done: set[str] = set()
        for hit in sorted(known.values(), key=lambda h: -h.candidate.score):
            record = hit.record
            if hit.candidate.score < COVERED_AT or record.group in groups_done:
                continue
            if record.type == UNRELATED:
                groups_done.update(group for _, group, _ in brand_tokens(self.norm.name(hit.query), self.norm))
                continue  # a known false friend: no brand presumption either
            groups_done.add(record.group)
            if record.type == "parent" and any(
                h.record.group == record.group and h.candidate.score >= COVERED_AT for h in listed.values()
            ):
                continue  # the listed entity itself; the list findings say it
            how = RELATION_TEXT.get(record.type, "linked to the {g} group ({r})").format(g=record.group, r=record.type)
            sure = record.license_requirement in ("", "H")
            if record.end_date and record.end_date <= self.today:
                status, how = Status.NOT_COVERED, f"{how} until {record.end_date}; not part of the group since"
            elif record.type in OWNED and sure:
                status = Status.LIMITED if self.brands.get(record.group, {}).get("limited") else Status.COVERED
            else:
                status = Status.REVIEW
            out.append(self._group_finding(party, subject, hit.query, record.group, status, how, record, hit))
        if self.kb is not None:
            for text in names:
                out.extend(self._vendor_pattern_findings(party, subject, text, groups_done))
        for text in names:
            name = self.norm.name(text)
            for token, group, others in brand_tokens(name, self.norm):
                if group in groups_done:
                    continue
                if others:
                    continue  # another distinctive word: possibly an unrelated firm sharing the word
                if any(h.record.group == group and h.candidate.score >= COVERED_AT for h in listed.values()):
                    continue  # the group's listed entity itself; the list finding says it
                groups_done.add(group)
                how = f"named with the covered brand '{token}' and only generic or place words; presumed an affiliate"
                out.append(self._group_finding(party, subject, text, group, Status.REVIEW, how, None, None))
        return out

    def _vendor_pattern_findings(
        self, party: Party, subject: Subject, text: str, groups_done: set[str]
    ) -> list[Finding]:
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
            status = Status.REVIEW
            if record.end_date and record.end_date <= self.today:
                status, how = Status.NOT_COVERED, f"{how}; part of the group only until {record.end_date}"
            out.append(self._group_finding(party, subject, text, group, status, how, record, None))
        return out

    def _group_finding(
        self,
        party: Party,
        subject: Subject,
        query: str,
        group: str,
        status: Status,
        how: str,
        record: ListRecord | None,
        hit: Hit | None,
    ) -> Finding:
        brand = self.brands.get(group, {})
        basis = str(brand.get("basis", ""))
        entity = str(brand.get("entity", group))
        rule = "parties.affiliate.known" if record else "parties.affiliate.brand"
        title = f"{query}: {how} ({entity})"
        explanation = f"{how}. Regimes that reach subsidiaries and affiliates: {basis}." + (
            " Ownership is not verified by a name; confirm it and record the decision."
            if status is Status.REVIEW
            else ""
        )
        record_id = record.record_id if record else f"brand:{group}"
        content = (
            record.content_hash() if record else hashlib.sha256(repr(sorted(brand.items())).encode()).hexdigest()[:16]
        )
        evidence = [Evidence(rule, query, party.location, self.brands_version, explanation)]
        if record is not None:
            evidence.append(
                Evidence(rule, record.name, record.location(), record.start_date, f"{record.source}; {record.url}")
            )
        extra: dict[str, Any] = {
            "query": query,
            "normalised": self.norm.name(query).key,
            "group": group,
            "entity": entity,
            "legal_basis": basis,
            "relation": record.type if record else "presumed affiliate (brand in name)",
            "owned_from": record.start_date if record else "",
            "owned_to": record.end_date if record else "",
            "citations": record.citations if record else [],
            "tool": self.tool,
            "algorithm": ALGORITHM,
            "screened_at": self.started,
            "decision_key": {"party": party.identity, "list": AFFILIATES, "record": record_id, "hash": content},
        }
        if hit is not None:
            extra.update(
                matched_alias=hit.alias,
                score=hit.candidate.score,
                token_matches=[m.to_dict() for m in hit.candidate.matches],
            )
        finding = Finding(
            subject,
            rule,
            title,
            Severity.HIGH
            if status in (Status.COVERED, Status.LIMITED)
            else Severity.MEDIUM
            if status is Status.REVIEW
            else Severity.INFO,
            hit.candidate.score if hit else 0.6,
            evidence,
            status=status,
            explanation=explanation,
            verdicts=[Verdict(AFFILIATES, status, basis, str(brand.get("date", "")), how)],
            tags=[AFFILIATES, group],
            extra=extra,
        )
        self._apply_decision(party, finding, AFFILIATES, record_id, content)
        return finding

    def _apply_decision(self, party: Party, finding: Finding, list_name: str, record_id: str, content: str) -> None:
        decision = self.decisions.get((party.identity, list_name, record_id))
        if decision is None:
            return
        finding.extra["decision"] = decision.to_dict()
        if decision.hash != content:
            finding.extra["decision"]["stale"] = True
            note = (
                f"The list entry changed since {decision.by} decided '{decision.decision}' on {decision.at} "
                "(record content differs); raised again for review."
            )
            finding.explanation = f"{note} {finding.explanation}"
            if finding.status is Status.NOT_COVERED:
                finding.status = Status.REVIEW
            finding.tags.append("decision-stale")
            return
        verb = {"clear": "Cleared", "confirm": "Confirmed"}[decision.decision]
        note = f"{verb} by {decision.by} on {decision.at}: {decision.reason}"
        finding.explanation = f"{note}. {finding.explanation}"
        finding.tags.append(f"decision-{decision.decision}")
        finding.status = Status.NOT_COVERED if decision.decision == "clear" else Status.COVERED
        for verdict in finding.verdicts:
            verdict.status = finding.status


def _candidate_row(index: Index, cand: Candidate) -> list[Any]:
    alias = index.aliases[cand.alias]
    record = index.records[alias.record]
    return [cand.score, alias.text, record.list_name, record.record_id]


def _explain(hit: Hit) -> str:
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
