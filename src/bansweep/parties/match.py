"""Candidates from an inverted index, then an explainable score per alias.

Candidate generation: every list name is indexed under its KEYS_PER_NAME rarest distinctive tokens (all its
tokens if it has none, e.g. "China Telecom (Americas)"); a party's tokens are looked up exactly, within a small
edit distance (a deletion-neighbourhood index, as SymSpell does), as a prefix (abbreviations), and two adjacent
tokens joined ("Hua Wei"). Only names reached that way, and able to reach the possible-match threshold, are scored.
Scoring pairs tokens one to one and reports, for each pair, how it matched and its similarity; coverage is
weighted by word class (generic and place words count less), both ways:

    score = alias_coverage * (0.5 + 0.5 * query_coverage) - penalties (country, number mismatch)

so an extra generic word ("Telecom") costs little and an extra distinctive word costs more, but never
eliminates a match by itself. A name whose only shared words are generic or places never matches.

Written here rather than taken from a matching library: the libraries that explain per-token matches
(nomenklatura) score ~200 us per pair and need a search engine for candidates; this meets the 100k x 60k target.
"""

from __future__ import annotations

import bisect
import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain, compress
from operator import itemgetter, le

from rapidfuzz.distance import OSA

from bansweep.parties.model import ListRecord, TokenMatchExtra
from bansweep.parties.normalise import Name, Normaliser

KEYS_PER_NAME = 3
MATCH_AT = 0.92
POSSIBLE_AT = 0.75
MIN_FUZZY_LEN = 5  # shorter tokens (initials, numbers, short words) must match exactly
MAX_PREFIX_EXPANSIONS = 8
COUNTRY_PENALTY = 0.1
NUMBER_PENALTY = 0.3
COMMON_SHARE = 0.002  # a word in more than this share of list names is common ...
COMMON_MIN = 50  # ... and in more than this many
COMMON_WEIGHT = 0.5


@dataclass(slots=True)
class Alias:
    record: int
    text: str
    tokens: tuple[str, ...]
    weights: tuple[float, ...]
    total: float
    distinctive: bool  # has at least one name or number token
    kind: str = "name"  # name | alias | short (an acronym or a short alias) | weak (marked weak by the list) | expanded


@dataclass(slots=True)
class TokenMatch:
    query: str
    listed: str
    how: str  # exact | fuzzy | prefix | joined
    similarity: float
    edits: int = 0

    def to_dict(self) -> TokenMatchExtra:
        out: TokenMatchExtra = {
            "query": self.query,
            "list": self.listed,
            "how": self.how,
            "similarity": round(self.similarity, 3),
        }
        if self.edits:
            out["edits"] = self.edits
        return out


@dataclass(slots=True)
class Candidate:
    alias: int
    score: float
    alias_coverage: float
    query_coverage: float
    matches: list[TokenMatch]
    unmatched_query: list[str]
    unmatched_list: list[str]
    notes: list[str] = field(default_factory=list)


_TRAILING_SHORT = re.compile(r"^(.*\S)\s*\(([^()]+)\)\s*$")
_WORD = re.compile(r"[^\W_]+")
SHORT_LEN = 4  # an alias of one token this short (or an acronym) never makes a match by itself
SHORT_CAP = 0.85  # the best score a short or weak alias can give: review, never a strong match
MAX_EXPANDED = 4  # acronym variants added per list name


def variants(names: Iterable[str]) -> Iterable[str]:
    """Each name, and for "Full Name (SHORT)" also the full name alone and the short form."""
    for text, _ in record_names(names):
        yield text


def record_names(names: Iterable[str], weak: Iterable[str] = ()) -> Iterable[tuple[str, str]]:
    """(name, kind) for each name of a record: its main name, aliases, the parts of "Full Name (SHORT)", and the
    aliases the list marks as weak."""
    for i, text in enumerate(names):
        kind = "name" if i == 0 else "alias"
        yield text, kind
        m = _TRAILING_SHORT.match(text) if ")" in text else None
        if m:
            yield m.group(1), kind
            short = m.group(2)
            yield short, "short" if is_acronym(short, m.group(1)) else "alias"
    for text in weak:
        yield text, "weak"


def is_acronym(short: str, full: str) -> bool:
    """ "ABC" for "Alpha Beta Chemicals", "CETC" for "China Electronics Technology Group Corporation": the short form's
    letters are the initials of the full name's words, in order, starting with the first."""
    letters = "".join(_WORD.findall(short)).lower()
    initials = [w[0].lower() for w in _WORD.findall(full) if w.lower() not in ("of", "and", "the", "for", "de")]
    if len(letters) < 2 or not initials or letters[0] != initials[0] or len(letters) > len(initials):
        return False
    it = iter(initials)
    return all(ch in it for ch in letters)


# (query token positions, similarity, how, edits) for each list token a query token reaches
Reach = tuple[tuple[int, ...], float, str, int]


class Index:
    def __init__(self, records: list[ListRecord], normaliser: Normaliser) -> None:
        self.records = records
        self.norm = normaliser
        self.aliases: list[Alias] = []
        seen: set[tuple[int, tuple[str, ...]]] = set()
        texts = [
            (rid, text, kind)
            for rid, record in enumerate(records)
            for text, kind in record_names(record.names(), record.weak_aliases)
        ]
        self.countries = [frozenset(record.countries) for record in records]
        normalised = normalise_all(normaliser, [x for _, x, _ in texts])
        named_kinds: list[tuple[int, str, tuple[str, ...], str]] = []
        for (rid, text, kind), tokens in zip(texts, normalised, strict=True):
            if not tokens or (rid, tokens) in seen:
                continue
            seen.add((rid, tokens))
            if kind == "alias" and len(tokens) == 1 and len(tokens[0]) <= SHORT_LEN:
                kind = "short"
            named_kinds.append((rid, text, tokens, kind))
        self.acronyms = _acronyms(records, named_kinds)
        named_kinds.extend(_expanded(named_kinds, self.acronyms, seen))
        df = Counter(chain.from_iterable(map(set, map(itemgetter(2), named_kinds))))  # list names with each word
        self.identifiers: dict[str, list[int]] = {}
        for rid, record in enumerate(records):
            for ident in record.identifiers:
                value = identifier_key(ident.split(":", 1)[-1])
                if value:
                    self.identifiers.setdefault(value, []).append(rid)
        self.main_alias: dict[int, int] = {}
        # a name word found in very many list names (a city, an unlisted legal form, a common given name)
        # identifies little: it counts as COMMON_WEIGHT and is not used to find candidates when rarer words exist
        limit = max(COMMON_MIN, int(len(named_kinds) * COMMON_SHARE))
        self.weights = {t: normaliser.weight(t) for t in df}
        for token, count in df.items():
            if count > limit and self.weights[token] >= 1.0 and not token.isdigit():
                self.weights[token] = COMMON_WEIGHT
        weight_of = self.weights
        postings: dict[str, list[int]] = {}
        aliases = self.aliases
        main_alias = self.main_alias
        # per alias, the fewest of its index keys a query must reach for the alias to possibly reach POSSIBLE_AT
        # (a distinctive alias's keys weigh 1.0 each; its other words are counted as if reached): a bound that
        # lets `candidates` pass over most aliases without looking at their words
        need: list[float] = []
        distinctive_of = {t for t, w in weight_of.items() if w >= 1.0}.intersection
        for aid, (rid, text, tokens, kind) in enumerate(named_kinds):
            weights = tuple(map(weight_of.__getitem__, tokens))
            total = sum(weights)
            keys = distinctive_of(tokens)
            distinctive = bool(keys)
            aliases.append(Alias(rid, text, tokens, weights, total, distinctive, kind))
            if kind == "name" and rid not in main_alias:
                main_alias[rid] = aid
            if not distinctive:
                keys = set(tokens)
                need.append(0.0)
            else:
                # a name with a distinctive word can only match through one: index it under its rarest ones only
                if len(keys) > KEYS_PER_NAME:
                    keys = set(sorted(keys, key=lambda t: (df[t], t))[:KEYS_PER_NAME])
                if len(keys) == len(tokens):  # every word a key, each once
                    need.append(POSSIBLE_AT * total - 1e-9)
                else:
                    others = sum(w for t, w in zip(tokens, weights, strict=True) if t not in keys)
                    most = max(tokens.count(k) for k in keys)  # a key word written twice counts twice
                    need.append((POSSIBLE_AT * total - others) / most - 1e-9)
            for token in keys:
                posting = postings.get(token)
                if posting is None:
                    postings[token] = [aid]
                else:
                    posting.append(aid)
        self.postings = postings
        self.need = need
        self.vocab = df
        self.sorted_vocab = sorted(df)
        deletes: dict[str, list[str]] = {}
        for token in df:
            if len(token) >= MIN_FUZZY_LEN and not token.isdigit():
                for i in range(len(token)):
                    variant = token[:i] + token[i + 1 :]
                    found = deletes.get(variant)
                    if found is None:
                        deletes[variant] = [token]
                    else:
                        found.append(token)
        self.deletes = deletes
        self._reach_cache: dict[str, list[tuple[str, float, str, int]]] = {}

    def by_identifier(self, identifier: str) -> list[tuple[int, str]]:
        """(record, identifier) for each list entry carrying the party's identifier (compared letters and digits only)."""
        value = identifier_key(identifier)
        return [(rid, value) for rid in self.identifiers.get(value, ())] if value else []

    def weight(self, token: str) -> float:
        known = self.weights.get(token)
        return known if known is not None else self.norm.weight(token)

    def __len__(self) -> int:
        return len(self.aliases)

    def _token_reach(self, token: str) -> list[tuple[str, float, str, int]]:
        """List tokens a query token reaches: (list token, similarity, how, edits)."""
        cached = self._reach_cache.get(token)
        if cached is not None:
            return cached
        out: list[tuple[str, float, str, int]] = []
        if token in self.vocab:
            out.append((token, 1.0, "exact", 0))  # a word the list uses: its near spellings are other words
        elif len(token) >= MIN_FUZZY_LEN and not token.isdigit():
            max_edits = 1 if len(token) < 9 else 2
            near: set[str] = set()
            for i in range(len(token)):
                variant = token[:i] + token[i + 1 :]
                if variant in self.vocab and len(variant) >= MIN_FUZZY_LEN:
                    near.add(variant)
                near.update(self.deletes.get(variant, ()))
            near.update(self.deletes.get(token, ()))
            near.discard(token)
            for cand in near:
                edits = OSA.distance(token, cand, score_cutoff=max_edits)
                if edits <= max_edits:
                    out.append((cand, 1.0 - edits / max(len(token), len(cand)), "fuzzy", edits))
            start = bisect.bisect_left(self.sorted_vocab, token)
            for cand in self.sorted_vocab[start : start + MAX_PREFIX_EXPANSIONS]:
                if not cand.startswith(token):
                    break
                if len(cand) >= len(token) + 2:
                    out.append((cand, 0.8, "prefix", 0))
        if len(self._reach_cache) < 1_000_000:
            self._reach_cache[token] = out
        return out

    def reach(self, tokens: tuple[str, ...]) -> dict[str, list[Reach]]:
        out: dict[str, list[Reach]] = {}
        for i, token in enumerate(tokens):
            for listed, sim, how, edits in self._token_reach(token):
                out.setdefault(listed, []).append(((i,), sim, how, edits))
        for i in range(len(tokens) - 1):
            joined = tokens[i] + tokens[i + 1]
            if joined in self.vocab:
                out.setdefault(joined, []).append(((i, i + 1), 1.0, "joined", 0))
        return out

    def candidates(self, name: Name, country: str = "") -> list[Candidate]:
        """Scored list names for one party name, best first (those under POSSIBLE_AT dropped)."""
        tokens = name.tokens
        if not tokens:
            return []
        reach = self.reach(tokens)
        keys_reached: Counter[int] = Counter()  # alias -> how many of its index keys the query reaches
        postings = self.postings
        for listed in reach:
            posting = postings.get(listed)
            if posting:
                keys_reached.update(posting)
        if not keys_reached:
            return []
        qweights = tuple(self.weight(t) for t in tokens)
        qtotal = sum(qweights)
        out = []
        aliases = self.aliases
        ids = list(keys_reached)
        # those with enough of their key words reached (whatever their other words do), filtered in C
        for aid in compress(ids, map(le, map(self.need.__getitem__, ids), keys_reached.values())):
            alias = aliases[aid]
            reachable = 0.0
            for t, w in zip(alias.tokens, alias.weights):  # noqa: B905 (same length); a loop, not sum(): faster
                if t in reach:
                    reachable += w
            if reachable < POSSIBLE_AT * alias.total:
                continue  # cannot reach the review threshold even with every reached word matched exactly
            cand = self.score(aid, tokens, qweights, qtotal, reach, country)
            if cand is not None:
                out.append(cand)
        out.sort(key=lambda c: (-c.score, c.alias))
        return out

    def score(
        self,
        aid: int,
        tokens: tuple[str, ...],
        qweights: tuple[float, ...],
        qtotal: float,
        reach: dict[str, list[Reach]],
        country: str,
    ) -> Candidate | None:
        alias = self.aliases[aid]
        pairs = []
        for ai, listed in enumerate(alias.tokens):
            for qpos, sim, how, edits in reach.get(listed, ()):
                pairs.append((sim, ai, qpos, how, edits))
        if not pairs:
            return None
        pairs.sort(key=lambda p: (-p[0], p[1]))
        used_a: set[int] = set()
        used_q: set[int] = set()
        matches: list[TokenMatch] = []
        a_hit = q_hit = 0.0
        distinctive_hit = False
        for sim, ai, qpos, how, edits in pairs:
            if ai in used_a or any(q in used_q for q in qpos):
                continue
            used_a.add(ai)
            used_q.update(qpos)
            a_hit += alias.weights[ai] * sim
            q_hit += sum(qweights[q] for q in qpos) * sim
            if alias.weights[ai] >= 1.0:
                distinctive_hit = True
            query_text = " ".join(tokens[q] for q in qpos)
            matches.append(TokenMatch(query_text, alias.tokens[ai], how, sim, edits))
        a_cov = a_hit / alias.total
        q_cov = q_hit / qtotal
        notes: list[str] = []
        if alias.distinctive and not distinctive_hit:
            return None  # only generic words or places in common
        if not alias.distinctive and (a_cov < 0.999 or q_cov < 0.9):
            return None  # a name made only of generic words must match whole
        score = a_cov * (0.5 + 0.5 * q_cov)
        if score < POSSIBLE_AT - COUNTRY_PENALTY:
            return None
        countries = self.countries[alias.record]
        if alias.kind in ("short", "weak"):
            # an acronym, a short alias or a weak one identifies little: review at most, only when it is the
            # party's whole name, and (for short ones) only with the country to support it
            agrees = bool(country) and country in countries
            if q_cov < 0.9 or (alias.kind == "short" and not agrees) or (country and countries and not agrees):
                return None
            score = min(score, SHORT_CAP)
            what = "an acronym or short alias" if alias.kind == "short" else "an alias the list marks as weak"
            notes.append(f"matched {what} only: review at most")
        missing = [t for i, t in enumerate(alias.tokens) if i not in used_a and alias.weights[i] >= 1.0]
        if missing and score >= MATCH_AT:
            score = MATCH_AT - 0.01  # a strong match needs every distinctive word of the listed name
            notes.append(f"distinctive listed word(s) missing ({' '.join(missing)}): review at most")
        if alias.kind == "expanded":
            notes.append(f"acronym read from the list's own names ({alias.text})")
        listed_numbers = {t for t in alias.tokens if t.isdigit()}
        query_numbers = {t for t in tokens if t.isdigit()}
        if listed_numbers and query_numbers and not listed_numbers & query_numbers:
            score -= NUMBER_PENALTY
            notes.append(f"numbers differ ({', '.join(sorted(query_numbers))} vs {', '.join(sorted(listed_numbers))})")
        if country and countries:
            if country in countries:
                notes.append(f"country agrees ({country})")
            else:
                score -= COUNTRY_PENALTY
                notes.append(f"country differs ({country} vs {', '.join(sorted(countries))})")
        if score < POSSIBLE_AT:
            return None
        return Candidate(
            aid,
            round(min(score, 1.0), 4),
            round(a_cov, 4),
            round(q_cov, 4),
            matches,
            [t for i, t in enumerate(tokens) if i not in used_q],
            [t for i, t in enumerate(alias.tokens) if i not in used_a],
            notes,
        )


def identifier_key(value: str) -> str:
    """An identifier compared by its letters and digits only ("HRB 12345" = "hrb12345"); short values are no key."""
    key = "".join(ch for ch in value.upper() if ch.isalnum())
    return key if len(key) >= 6 else ""


def _acronyms(
    records: list[ListRecord], named: list[tuple[int, str, tuple[str, ...], str]]
) -> dict[str, list[tuple[str, ...]]]:
    """Acronym token -> the name tokens it stands for, learnt from the lists' own names: "Full Name (SHORT)" and a
    record's short alias beside its long name ("CETC" beside "China Electronics Technology Group Corporation")."""
    by_record: dict[int, list[tuple[str, tuple[str, ...], str]]] = {}
    for rid, text, tokens, kind in named:
        by_record.setdefault(rid, []).append((text, tokens, kind))
    out: dict[str, list[tuple[str, ...]]] = {}
    for names in by_record.values():
        shorts = [(text, tokens[0]) for text, tokens, kind in names if kind == "short" and len(tokens[0]) >= 3]
        for short_text, short in shorts:
            for text, tokens, kind in names:
                if kind in ("name", "alias") and len(tokens) >= 2 and is_acronym(short_text, text):
                    known = out.setdefault(short, [])
                    if tokens not in known and len(known) < 3:
                        known.append(tokens)
    return out


def _expanded(
    named: list[tuple[int, str, tuple[str, ...], str]],
    acronyms: dict[str, list[tuple[str, ...]]],
    seen: set[tuple[int, tuple[str, ...]]],
) -> list[tuple[int, str, tuple[str, ...], str]]:
    """List names with an acronym beside other words, written out in full ("CETC 13th Research Institute" ->
    "china electronic technology group 13 research institute"), and names with the full form, abbreviated."""
    out = []
    firsts = {exp[0]: (short, exp) for short, exps in acronyms.items() for exp in exps}
    either = acronyms.keys() | firsts.keys()
    for rid, text, tokens, kind in named:
        if kind not in ("name", "alias") or len(tokens) < 2 or either.isdisjoint(tokens):
            continue
        added = 0
        for i, token in enumerate(tokens):
            if added >= MAX_EXPANDED:
                break
            for expansion in acronyms.get(token, ()):
                variant = tokens[:i] + expansion + tokens[i + 1 :]
                if (rid, variant) not in seen:
                    seen.add((rid, variant))
                    out.append((rid, text, variant, "expanded"))
                    added += 1
            found = firsts.get(token)
            if found and tokens[i : i + len(found[1])] == found[1] and len(tokens) > len(found[1]):
                variant = tokens[:i] + (found[0],) + tokens[i + len(found[1]) :]
                if (rid, variant) not in seen:
                    seen.add((rid, variant))
                    out.append((rid, text, variant, "expanded"))
                    added += 1
    return out


PARALLEL_FROM = 20_000  # names; fewer are normalised in this process
_SHARED: tuple[Normaliser, list[str]] | None = None  # what forked workers inherit (not pickled to them)


def normalise_all(normaliser: Normaliser, texts: list[str]) -> list[tuple[str, ...]]:
    """Tokens of many names, in forked worker processes (one per CPU) when there are many."""
    workers = min(os.cpu_count() or 1, 8)
    if len(texts) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [normaliser.name(t).tokens for t in texts]
    global _SHARED
    _SHARED = (normaliser, texts)
    try:
        size = len(texts) // (workers * 4) + 1
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_normalise_span, [(i, min(i + size, len(texts))) for i in range(0, len(texts), size)])
    finally:
        _SHARED = None
    return [tokens for part in parts for tokens in part]


def _normalise_span(span: tuple[int, int]) -> list[tuple[str, ...]]:
    assert _SHARED is not None
    normaliser, texts = _SHARED
    return [normaliser.name(t).tokens for t in texts[span[0] : span[1]]]


def brand_tokens(name: Name, normaliser: Normaliser) -> Iterable[tuple[str, str, list[str]]]:
    """(brand token, group, other distinctive tokens) for each covered brand a name carries."""
    for token in dict.fromkeys(name.tokens):
        group = normaliser.brand_tokens.get(token)
        if group:
            others = [
                t
                for t in name.tokens
                if t != token and normaliser.weight(t) >= 1.0 and t not in normaliser.brand_tokens
            ]
            yield token, group, others
