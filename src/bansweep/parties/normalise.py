"""Party names to comparable tokens: Unicode NFKC, scripts to ASCII, legal forms removed, abbreviations expanded.

Han text has no word breaks, so Chinese trade names and common words are replaced from the brand data first;
what is left is read as pinyin (pypinyin), one token per run of Han characters. Cyrillic, Greek and other scripts
go through anyascii. Word classes (stop, generic, place) come from knowledge/data/party-words.yaml and give each
token its weight in matching.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from anyascii import anyascii
from rapidfuzz.distance import OSA

from bansweep.knowledge import load

CACHE_LIMIT = 300_000  # normalised names kept (a name is normalised once per run)
MAX_NAME_CHARS = 1000  # longer names are cut (no legal name is this long; bounds the work per party)

WEIGHTS = {"generic": 0.2, "place": 0.5, "number": 1.0, "name": 1.0}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_NON_WORD = re.compile(r"[^a-z0-9.\-\s]+")
_INITIALS = re.compile(r"^(?:[a-z0-9][.\-])+[a-z0-9]?\.?$")
_SPLIT = re.compile(r"[.\-]+")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")


@dataclass(frozen=True, slots=True)
class Name:
    """A name as given and its normalised form."""

    text: str
    tokens: tuple[str, ...]
    legal: tuple[str, ...] = ()  # legal-form words removed
    brands: tuple[str, ...] = ()  # brand tokens read from Chinese-script trade names

    @property
    def key(self) -> str:
        return " ".join(self.tokens)


class Normaliser:
    def __init__(self, knowledge: Sequence[Path] = ()) -> None:
        words = load("party-words", overlays=knowledge)
        legal = load("party-legal-forms", ("forms",), overlays=knowledge)
        brands = load("party-brands", ("kind",), overlays=knowledge)
        self.version = f"party-words {words.version}; party-legal-forms {legal.version}; party-brands {brands.version}"
        self.kinds: dict[str, str] = {}
        self.stop: set[str] = set()
        self.abbreviations: dict[str, str] = {}
        self.numbers: dict[str, str] = {}  # number words -> digits
        self.countries: dict[str, str] = {}
        for entry in words.entries:
            if entry.get("kind") == "country":
                self.countries.update({str(k).casefold(): str(v).upper() for k, v in (entry.get("map") or {}).items()})
                continue
            if entry.get("kind") == "abbreviation":
                self.abbreviations.update({str(k): str(v) for k, v in (entry.get("map") or {}).items()})
                continue
            if entry.get("kind") == "number":
                self.numbers.update({str(k): str(v) for k, v in (entry.get("map") or {}).items()})
                continue
            for word in entry.get("words") or []:
                if entry.get("kind") == "stop":
                    self.stop.add(str(word))
                else:
                    self.kinds.setdefault(str(word), str(entry.get("kind")))
        for word, kind in list(self.kinds.items()):
            self.kinds.setdefault(singular(word), kind)  # names are compared in the singular
        self.script_forms: list[str] = []
        self.legal_long: set[tuple[str, ...]] = set()
        self.legal_short: set[tuple[str, ...]] = set()
        for entry in legal.entries:
            for form in entry["forms"]:
                if entry.get("script"):
                    self.script_forms.append(unicodedata.normalize("NFKC", str(form)))
                    continue
                toks = tuple(singular(t) for t in self._words(str(form)))
                if toks:
                    (self.legal_long if len("".join(toks)) >= 3 else self.legal_short).add(toks)
        self.script_forms.sort(key=len, reverse=True)
        self._script_re = re.compile(
            r"(?<!\w)(?:" + "|".join(re.escape(f) for f in self.script_forms if not _HAN.search(f)) + r")(?!\w)",
            re.IGNORECASE,
        )
        self._han_forms = [f for f in self.script_forms if _HAN.search(f)]
        self.han_map: dict[str, str] = {}
        self.brand_tokens: dict[str, str] = {}  # token -> group
        for entry in brands.entries:
            if entry["kind"] == "brand":
                self.brand_tokens[str(entry["token"])] = str(entry["group"])
                for alias in entry.get("aliases") or []:
                    self.brand_tokens[str(alias)] = str(entry["group"])
                for han in entry.get("han") or []:
                    self.han_map[str(han)] = str(entry["token"])
            elif entry["kind"] == "han-word":
                self.han_map[str(entry["han"])] = str(entry["english"])
        self._han_keys = sorted(self.han_map, key=len, reverse=True)
        self._legal_first: dict[str, list[tuple[tuple[str, ...], bool]]] = {}
        for form in sorted(self.legal_long | self.legal_short, key=len, reverse=True):
            self._legal_first.setdefault(form[0], []).append((form, form in self.legal_long))
        self._cache: dict[str, Name] = {}
        self._word_cache: dict[str, str] = {}
        self._typo_cache: dict[str, str] = {}
        # misspelt long legal forms ("Coporation"): their deletion neighbourhood, as in match.Index
        self._legal_near: dict[str, str] = {}
        for (form,) in (f for f in self.legal_long if len(f) == 1 and len(f[0]) >= 7):
            self._legal_near[form] = form
            for i in range(len(form)):
                self._legal_near.setdefault(form[:i] + form[i + 1 :], form)

    def country(self, text: str) -> str:
        """ISO 3166 alpha-2 code of a country written as a code or a common name; "" when unknown."""
        value = " ".join(text.replace(".", " ").split()).casefold()
        if len(value) == 2 and value.isalpha():
            return value.upper()
        return self.countries.get(value, "")

    def kind(self, token: str) -> str:
        if token.isdigit():
            return "number"
        return self.kinds.get(token, "name")

    def weight(self, token: str) -> float:
        return WEIGHTS[self.kind(token)]

    def name(self, text: str) -> Name:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        name = self._name(text)
        if len(self._cache) < CACHE_LIMIT:
            self._cache[text] = name
        return name

    def _name(self, text: str) -> Name:
        raw = unicodedata.normalize("NFKC", text[:MAX_NAME_CHARS]) if not text.isascii() else text[:MAX_NAME_CHARS]
        legal: list[str] = []
        brands: list[str] = []
        if not raw.isascii():
            raw = self._scripts(raw, legal, brands)
        dotted: set[str] = set()
        words = self._words(raw, dotted)
        cache = self._word_cache
        words = [cache.get(w) or self._word(w) for w in words]
        tokens = self._strip_legal(words, legal, dotted)
        if legal and len(tokens) > 1:
            tokens = _join_letters(tokens)  # letters a removed legal form stood between ("A A.D. A"): as _words does
        return Name(text, tuple(tokens), tuple(legal), tuple(brands))

    def _word(self, word: str) -> str:
        """A word as compared: abbreviation expanded, number word as digits, ordinal suffix dropped, singular."""
        out = self.numbers.get(self.abbreviations.get(word, word))
        if out is None:
            out = self.abbreviations.get(word, word)
            out = singular(_ORDINAL.sub(r"\1", out) if out[0].isdigit() else out)
        if len(self._word_cache) < CACHE_LIMIT:
            self._word_cache[word] = out
        return out

    def _scripts(self, raw: str, legal: list[str], brands: list[str]) -> str:
        for form in self._han_forms:
            if form in raw:
                legal.append(form)
                raw = raw.replace(form, " ")
        if self._script_re.pattern:
            raw = self._script_re.sub(lambda m: _drop(m.group(0), legal), raw)
        if _HAN.search(raw):
            for key in self._han_keys:
                if key in raw:
                    value = self.han_map[key]
                    if value in self.brand_tokens:
                        brands.append(value)
                    raw = raw.replace(key, f" {value} ")
            from pypinyin import lazy_pinyin  # imported on first Han text: it costs ~0.2 s at start-up

            raw = _HAN.sub(lambda m: " " + "".join(lazy_pinyin(m.group(0))) + " ", raw)
        return anyascii(raw)

    def _words(self, text: str, dotted: set[str] | None = None) -> list[str]:
        """Words of a name; `dotted` collects those written as abbreviations ("Co.", "S.A.", "S A")."""
        text = text.lower().replace("&", " and ").replace("'", "").replace("\u2019", "")
        text = _NON_WORD.sub(" ", text)
        out: list[str] = []
        for chunk in text.split():
            if "." not in chunk and "-" not in chunk:
                out.append(chunk)
            elif _INITIALS.match(chunk):
                out.append(_SPLIT.sub("", chunk))
                if dotted is not None and "." in chunk:
                    dotted.add(out[-1])
            else:
                parts = [p for p in _SPLIT.split(chunk) if p]
                out.extend(parts)
                if dotted is not None and parts and chunk.endswith("."):
                    dotted.add(parts[-1])
        out = [w for w in out if len(w) < 2 or w not in self.stop] or out  # single letters may be initials (A/S)
        # "A B C", "S. A." or "B&B" written with spaces: join runs of single letters
        joined: list[str] = []
        run = False
        for word in out:
            single = len(word) == 1 and word.isalpha()
            if single and run:
                joined[-1] += word
                if dotted is not None:
                    dotted.add(joined[-1])
            else:
                joined.append(word)
            run = single or (run and single)
        return joined

    def _strip_legal(self, words: list[str], removed: list[str], dotted: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
        first = self._legal_first
        if words:  # a misspelt legal form is looked for where legal forms stand: first or last
            for i in {0, len(words) - 1}:
                w = words[i]
                if len(w) >= 7 and w not in first and w not in self.kinds:
                    words[i] = self._legal_typo(w)
        spots = [i for i, w in enumerate(words) if w in first]
        if not spots:
            return words
        n = len(words)
        drop = [False] * n
        for i in spots:  # long forms ("gmbh", "ltd", "co ltd") anywhere
            for form, long in first[words[i]]:
                end = i + len(form)
                if long and tuple(words[i:end]) == form and not any(drop[i:end]):
                    drop[i:end] = [True] * len(form)
                    break
        changed = True
        while changed:  # short forms ("co", "sa", "ag") only at an edge or next to another legal form
            changed = False
            for i in spots:
                for form, long in first[words[i]]:
                    end = i + len(form)
                    if long or drop[i] or tuple(words[i:end]) != form or any(drop[i:end]):
                        continue
                    edge = i == 0 or drop[i - 1] or end == n or drop[end] or all(drop[:i]) or all(drop[end:])
                    if edge or all(w in dotted for w in form):
                        drop[i:end] = [True] * len(form)
                        changed = True
                        break
        if all(drop):
            return words
        removed.extend(w for w, d in zip(words, drop, strict=False) if d)
        return [w for w, d in zip(words, drop, strict=False) if not d]

    def _legal_typo(self, word: str) -> str:
        """The legal form a long word misspells (one edit; two from ten letters), else the word."""
        known = self._typo_cache.get(word)
        if known is None:
            known = self._typo(word)
            if len(self._typo_cache) < CACHE_LIMIT:
                self._typo_cache[word] = known
        return known

    def _typo(self, word: str) -> str:
        near = self._legal_near
        options = {near[word]} if word in near else set()
        for i in range(len(word)):
            variant = word[:i] + word[i + 1 :]
            if variant in near:
                options.add(near[variant])
        limit = 1 if len(word) < 10 else 2
        for form in options:
            if OSA.distance(word, form, score_cutoff=limit) <= limit:
                return form
        return word


def _join_letters(tokens: list[str]) -> list[str]:
    out: list[str] = []
    run = False
    for token in tokens:
        single = len(token) == 1 and token.isalpha()
        if single and run:
            out[-1] += token
        else:
            out.append(token)
        run = single
    return out


def singular(word: str) -> str:
    """A word in the singular, by the regular English endings only ("stars" -> "star", "industries" ->
    "industry"); applied to both sides alike, so a wrong guess on an irregular word costs nothing."""
    if len(word) < 4 or word[-1] != "s" or word[-2] in "su" or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("is") or word.endswith("ous"):
        return word
    return word[:-1]


def _drop(form: str, legal: list[str]) -> str:
    legal.append(form)
    return " "
