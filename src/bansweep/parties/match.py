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
from collections.abc import Iterable
from dataclasses import dataclass, field

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


def variants(names: Iterable[str]) -> Iterable[str]:
    """Each name, and for "Full Name (SHORT)" also the full name alone and the short form."""
    for text in names:
        yield text
        m = _TRAILING_SHORT.match(text)
        if m:
            yield m.group(1)
            yield m.group(2)


# (query token positions, similarity, how, edits) for each list token a query token reaches
Reach = tuple[tuple[int, ...], float, str, int]


class Index:
    def __init__(self, records: list[ListRecord], normaliser: Normaliser) -> None:
        self.records = records
        self.norm = normaliser
        self.aliases: list[Alias] = []
        seen: set[tuple[int, tuple[str, ...]]] = set()
        df: dict[str, int] = {}
        named: list[tuple[int, str, tuple[str, ...]]] = []
        texts = [(rid, text) for rid, record in enumerate(records) for text in variants(record.names())]
        self.countries = [frozenset(record.countries) for record in records]
        for (rid, text), tokens in zip(texts, normalise_all(normaliser, [x for _, x in texts]), strict=True):
            if not tokens or (rid, tokens) in seen:
                continue
            seen.add((rid, tokens))
            named.append((rid, text, tokens))
            for token in set(tokens):
                df[token] = df.get(token, 0) + 1
        # a name word found in very many list names (a city, an unlisted legal form, a common given name)
        # identifies little: it counts as COMMON_WEIGHT and is not used to find candidates when rarer words exist
        limit = max(COMMON_MIN, int(len(named) * COMMON_SHARE))
        self.weights = {t: normaliser.weight(t) for t in df}
        for token, count in df.items():
            if count > limit and self.weights[token] >= 1.0 and not token.isdigit():
                self.weights[token] = COMMON_WEIGHT
        weight_of = self.weights
        postings: dict[str, list[int]] = {}
        aliases = self.aliases
        for rid, text, tokens in named:
            weights = tuple([weight_of[t] for t in tokens])
            distinctive = max(weights) >= 1.0
            aid = len(aliases)
            aliases.append(Alias(rid, text, tokens, weights, sum(weights), distinctive))
            # a name with a distinctive word can only match through one: index it under its rarest ones only
            keys = {t for t in tokens if weight_of[t] >= 1.0} if distinctive else set(tokens)
            if len(keys) > KEYS_PER_NAME:
                keys = set(sorted(keys, key=lambda t: (df[t], t))[:KEYS_PER_NAME])
            for token in keys:
                postings.setdefault(token, []).append(aid)
        self.postings = postings
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
        ids: set[int] = set()
        for listed in reach:
            posting = self.postings.get(listed)
            if posting:
                ids.update(posting)
        if not ids:
            return []
        qweights = tuple(self.weight(t) for t in tokens)
        qtotal = sum(qweights)
        out = []
        aliases = self.aliases
        for aid in ids:
            alias = aliases[aid]
            reachable = sum(w for t, w in zip(alias.tokens, alias.weights, strict=False) if t in reach)
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
        listed_numbers = {t for t in alias.tokens if t.isdigit()}
        query_numbers = {t for t in tokens if t.isdigit()}
        if listed_numbers and query_numbers and not listed_numbers & query_numbers:
            score -= NUMBER_PENALTY
            notes.append(f"numbers differ ({', '.join(sorted(query_numbers))} vs {', '.join(sorted(listed_numbers))})")
        countries = self.countries[alias.record]
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
