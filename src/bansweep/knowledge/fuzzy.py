"""Near-miss spellings of covered makers' brand names (one typing slip) in free-text maker fields.

Only a covered entity's brand names (vendors.yaml `brands`) are targets, and only names long enough that a typing
slip cannot turn one real company name into another: names of fewer than MIN_LENGTH letters are never matched
fuzzily; a word may differ from a brand by one edit (a letter added or dropped, two adjacent letters swapped, or -
in words of SUBSTITUTE_FROM letters or more - one letter changed), never in its first letter. A word that is
exactly the first word of another known maker (a registrant of the MAC registry that is not covered) is not a slip.
tests/test_fleet_recognition.py measures the false-match rate on real registrant names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import OSA, Levenshtein

from bansweep.knowledge.vendors import Entity, VendorKB, normalise_name

MIN_LENGTH = 5
MAX_EDITS = 1
SUBSTITUTE_FROM = 7  # a changed letter in a shorter word is too often another real company (measured on IEEE names)
MAX_WORDS = 3  # only the leading words of a name are tried (a maker's name leads)


@dataclass(frozen=True, slots=True)
class NearMiss:
    entity: Entity
    written: str  # the word as observed
    target: str  # the brand it was read as
    edits: int
    description: str  # "'wa' swapped to 'aw'"


class FuzzyMakers:
    def __init__(self, kb: VendorKB, known_words: Iterable[str] = ()) -> None:
        targets: dict[str, tuple[str, Entity]] = {}
        for brand, entity in kb.brand_names:
            norm = normalise_name(brand)
            if entity.group is None or not norm.isascii() or " " in norm or len(norm) < MIN_LENGTH:
                continue
            targets.setdefault(norm, (brand, entity))
        self._targets = targets
        # (first letter, length) of the words one edit from a target
        self._shapes = {(t[0], n) for t in targets for n in range(len(t) - MAX_EDITS, len(t) + MAX_EDITS + 1)}
        # first words of real names that are not covered makers: never read as a slip
        self._known = frozenset(w for w in known_words if w not in targets)
        self._cache: dict[str, NearMiss | None] = {}

    def may_slip(self, word: str) -> bool:
        """Whether a word (normalised) can be read as a slip: whether it matters that it is a known word."""
        return (
            len(word) >= MIN_LENGTH
            and (word[0], len(word)) in self._shapes
            and word.isalpha()
            and word not in self._targets
        )

    def match(self, text: str) -> NearMiss | None:
        """The covered brand a maker name misspells, if any (None when it is spelt right or is not near one)."""
        norm = normalise_name(text[:200])
        hit = self._cache.get(norm, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        found = self._match(norm)
        if len(self._cache) < 100_000:
            self._cache[norm] = found
        return found

    def _match(self, norm: str) -> NearMiss | None:
        for word in norm.split()[:MAX_WORDS]:
            if len(word) < MIN_LENGTH or not word.isalpha() or word in self._targets or word in self._known:
                continue
            best: tuple[int, str] | None = None
            for target in self._targets:
                if target[0] != word[0] or abs(len(target) - len(word)) > MAX_EDITS:
                    continue
                distance = OSA.distance(word, target, score_cutoff=MAX_EDITS)
                if distance > MAX_EDITS or (len(word) < SUBSTITUTE_FROM and _substitution(word, target)):
                    continue
                if best is None or distance < best[0]:
                    best = (distance, target)
            if best is not None:
                brand, entity = self._targets[best[1]]
                return NearMiss(entity, word, brand, best[0], describe_edits(word, best[1]))
        return None


def _substitution(word: str, target: str) -> bool:
    """One letter changed (not added, dropped, or swapped with its neighbour)."""
    if len(word) != len(target):
        return False
    diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
    return len(diff) == 1


def describe_edits(written: str, target: str) -> str:
    """The slips that turn `written` into `target`, in words: "'wa' for 'aw' (swapped)", "'i' missing"."""
    diff = [i for i, (a, b) in enumerate(zip(written, target, strict=False)) if a != b]
    if len(written) == len(target) and len(diff) == 2 and diff[1] == diff[0] + 1:
        i = diff[0]
        if written[i] == target[i + 1] and written[i + 1] == target[i]:
            return f"'{written[i : i + 2]}' for '{target[i : i + 2]}' (letters swapped)"
    out: list[str] = []
    for op in Levenshtein.opcodes(written, target):
        a, b = written[op.src_start : op.src_end], target[op.dest_start : op.dest_end]
        if op.tag == "replace":
            out.append(f"'{a}' for '{b}'")
        elif op.tag == "insert":
            out.append(f"'{b}' missing")
        elif op.tag == "delete":
            out.append(f"'{a}' extra")
    return ", ".join(out)
