"""`bansweep parties evaluate`: precision and recall on the project's labelled set.

The set (evaldata/eval.csv) holds true variants of listed names (abbreviations, legal-form changes, typos,
transliterations, Chinese-script names, reordered and extra words), covered-vendor affiliates, and hard negatives.
It is screened against evaldata/reference-list.csv: a project-built list in the CSL bulk layout, modelled on CSL
entries (ids "ev-…"; for evaluation only, not for screening) plus the built-in FCC and 1260H lists.
Columns: query, country, expect (match | affiliate | none), target (text of the listed name, or the group for
an affiliate), category.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from bansweep.findings import Finding, Location, Status
from bansweep.parties.model import AFFILIATES, ListSet, Party
from bansweep.parties.screen import Screener, load_lists
from bansweep.policy.parties import PartiesPolicy

EVAL_DIR = Path(__file__).parent / "evaldata"
EVAL_SET = EVAL_DIR / "eval.csv"
REFERENCE_LIST = EVAL_DIR / "reference-list.csv"


# the perturbation class each category of the labelled set belongs to (the per-class figures)
CLASSES = {
    "typo": "typo",
    "legal-form": "legal form",
    "transliteration": "transliteration",
    "chinese-script": "transliteration",
    "reordered": "word order",
    "person-reordered": "word order",
    "number-words": "number words",
    "plural": "plural",
    "abbreviation": "abbreviation",
    "split-word": "abbreviation",
    "acronym": "acronym",
    "extra-words": "extra words",
    "hard-negative": "hard negatives",
    "brand-only": "hard negatives",
}


@dataclass(slots=True)
class Case:
    query: str
    country: str
    expect: str
    target: str
    category: str


@dataclass(slots=True)
class Outcome:
    case: Case
    predicted: bool  # the tool raised the party (match or possible-match)
    correct_target: bool  # ... and for the expected entry or group
    got: str  # what it matched, for the listing


@dataclass(slots=True)
class Scores:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def tp(self) -> int:
        return sum(1 for o in self.outcomes if o.case.expect != "none" and o.correct_target)

    @property
    def fp(self) -> int:
        return sum(1 for o in self.outcomes if o.predicted and (o.case.expect == "none" or not o.correct_target))

    @property
    def fn(self) -> int:
        return sum(1 for o in self.outcomes if o.case.expect != "none" and not o.correct_target)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def read_cases(path: Path = EVAL_SET) -> list[Case]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [Case(r["query"], r["country"], r["expect"], r["target"], r["category"]) for r in csv.DictReader(fh)]


def reference_lists(lists: Sequence[Path] = (), knowledge: Sequence[Path] = ()) -> ListSet:
    """The reference list (or the given files) plus the built-in FCC and 1260H lists."""
    from bansweep.parties.lists import dod1260h, fcc

    out, errors = load_lists(list(lists) or [REFERENCE_LIST], knowledge)
    if errors:
        raise click.ClickException("; ".join(str(e) for e in errors[:5]))
    out.add(fcc.load(knowledge))
    out.add(dod1260h.load(knowledge))
    return out


def judge(case: Case, findings: list[Finding]) -> Outcome:
    raised = [f for f in findings if f.status in (Status.MATCH, Status.POSSIBLE_MATCH)]
    target = case.target.casefold()
    good = False
    got = []
    for f in raised:
        if AFFILIATES in f.tags:
            text = str(f.extra.get("group", ""))
            got.append(f"affiliate:{text}")
            if case.expect == "affiliate" and text == target:
                good = True
            if case.expect == "match" and target in str(f.extra.get("matched_alias", "")).casefold():
                good = True
        else:
            names = f"{f.extra.get('listed_name', '')} | {f.extra.get('matched_alias', '')}"
            got.append(str(f.extra.get("matched_alias", "")))
            if case.expect == "match" and target in names.casefold():
                good = True
    return Outcome(case, bool(raised), good, "; ".join(dict.fromkeys(got)))


def evaluate(cases: list[Case], lists: ListSet, knowledge: Sequence[Path] = ()) -> Scores:
    screener = Screener(lists, knowledge)
    policy = PartiesPolicy()
    scores = Scores()
    for i, case in enumerate(cases, 1):
        party = Party(case.query, Location("eval.csv", row=i), country=case.country)
        scores.outcomes.append(judge(case, policy.findings(screener.screen(party))))
    return scores


def evaluate_with(cases: list[Case], predict: Callable[[Case], tuple[bool, str]]) -> Scores:
    """Score another matcher (a baseline): predict returns (raised, matched name)."""
    scores = Scores()
    for case in cases:
        raised, got = predict(case)
        good = raised and case.expect == "match" and case.target.casefold() in got.casefold()
        scores.outcomes.append(Outcome(case, raised, good, got))
    return scores


@click.command("evaluate")
@click.option(
    "--set", "set_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Labelled set CSV."
)
@click.option(
    "--list", "lists", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="List file(s)."
)
@click.option("--knowledge", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-v", "--verbose", is_flag=True, help="List every case, not only the errors.")
def evaluate_cmd(set_path: Path | None, lists: tuple[Path, ...], knowledge: tuple[Path, ...], verbose: bool) -> None:
    """Precision and recall of party matching on the labelled set."""
    cases = read_cases(set_path or EVAL_SET)
    scores = evaluate(cases, reference_lists(lists, knowledge), knowledge)
    categories: dict[str, list[Outcome]] = {}
    for o in scores.outcomes:
        categories.setdefault(o.case.category, []).append(o)
        wrong = (o.case.expect == "none" and o.predicted) or (o.case.expect != "none" and not o.correct_target)
        if wrong or verbose:
            mark = "ok  " if not wrong else "MISS" if o.case.expect != "none" else "FP  "
            click.echo(
                f"{mark} [{o.case.category}] {o.case.query!r} expect {o.case.expect} {o.case.target!r}; got {o.got or '-'}"
            )
    click.echo("")
    for name, outs in sorted(categories.items()):
        ok = sum(1 for o in outs if (o.correct_target if o.case.expect != "none" else not o.predicted))
        click.echo(f"  {name:20} {ok}/{len(outs)}")
    click.echo("\nper perturbation class:")
    classes: dict[str, Scores] = {}
    for o in scores.outcomes:
        classes.setdefault(CLASSES.get(o.case.category, "other (exact, case, affiliates)"), Scores()).outcomes.append(o)
    for name, part in sorted(classes.items()):
        n = len(part.outcomes)
        negatives = [o for o in part.outcomes if o.case.expect == "none"]
        alarms = sum(1 for o in negatives if o.predicted)
        click.echo(
            f"  {name:32} {n:3} cases: precision {part.precision:.3f} recall {part.recall:.3f} "
            f"(tp {part.tp}, fp {part.fp}, fn {part.fn})"
            + (f"; false alarms on names on no list {alarms}/{len(negatives)}" if negatives else "")
        )
    click.echo(
        f"\n{len(cases)} cases: precision {scores.precision:.3f}, recall {scores.recall:.3f} "
        f"(tp {scores.tp}, fp {scores.fp}, fn {scores.fn})"
    )


COMMANDS = [evaluate_cmd]
