"""`bansweep firmware evaluate`: precision and recall of "high" (high or critical) per rule family on labelled apps.

A labels CSV has columns app (a package name, or an APK's file name), expect (high | not-high) and why. The
inputs are run through the firmware job as `bansweep firmware` would; each labelled app is predicted high by a rule
family (the second part of the rule id: harvesting, indicator, install, privilege, risk ...) when one of that
family's findings on it is high or critical, and by "any" when any family's is. Labelled apps not found in the inputs
are listed, never silently dropped. The project's labels: firmware/evaldata/fdroid-labels.csv for the real APKs of
the fdroidserver test suite (tests/data/cache/fdroidserver); tests/firmware_roles.py builds role fixtures (stock apps
doing their job, vendor-added apps that do not) with the real Android toolchain and writes their labels.
"""

from __future__ import annotations

import csv
import json
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from bansweep.findings import Finding, Report, Severity, Status
from bansweep.firmware import job

EVAL_DIR = Path(__file__).parent / "evaldata"
FDROID_LABELS = EVAL_DIR / "fdroid-labels.csv"
ANY = "any"


@dataclass(frozen=True, slots=True)
class Label:
    app: str
    expect_high: bool
    why: str


@dataclass(slots=True)
class Scores:
    tp: list[str] = field(default_factory=list)
    fp: list[str] = field(default_factory=list)
    fn: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return len(self.tp) / (len(self.tp) + len(self.fp)) if self.tp or self.fp else None

    @property
    def recall(self) -> float | None:
        return len(self.tp) / (len(self.tp) + len(self.fn)) if self.tp or self.fn else None


@dataclass(slots=True)
class Evaluation:
    families: dict[str, Scores]
    labelled: int
    missing: list[str]  # labelled apps not found in the inputs
    not_screened: list[str]  # labelled apps that could not be analysed

    def to_dict(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled,
            "missing": self.missing,
            "not_screened": self.not_screened,
            "families": {
                name: {
                    "precision": s.precision,
                    "recall": s.recall,
                    "true_positives": s.tp,
                    "false_positives": s.fp,
                    "false_negatives": s.fn,
                }
                for name, s in self.families.items()
            },
        }


def read_labels(path: Path) -> list[Label]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for n, row in enumerate(rows, start=2):
        expect = (row.get("expect") or "").strip()
        if expect not in ("high", "not-high") or not (row.get("app") or "").strip():
            raise click.ClickException(f"{path}: line {n}: needs an app and expect high or not-high")
        out.append(Label(row["app"].strip(), expect == "high", (row.get("why") or "").strip()))
    return out


def family(rule: str) -> str:
    parts = rule.split(".")
    return parts[1] if len(parts) > 1 else rule


def _names(f: Finding) -> set[str]:
    """What a label may call an app: its package, its APK's file name."""
    names = {f.subject.id}
    path = f.subject.attributes.get("path")
    if path:
        names.add(posixpath.basename(str(path)))
    return names


def evaluate(report: Report, labels: Sequence[Label]) -> Evaluation:
    predicted: dict[str, set[str]] = {}  # label app -> families that said high
    found: set[str] = set()
    unread: set[str] = set()
    wanted = {label.app for label in labels}
    for summary in report.summary.values():  # every app analysed, with findings or without
        if isinstance(summary, dict):
            for path, package in summary.get("app_paths", {}).items():
                found |= {package, posixpath.basename(path)} & wanted
    for f in report.findings:
        if f.subject.kind != "app":
            continue
        for name in _names(f) & wanted:
            found.add(name)
            if f.status is Status.NOT_SCREENED:
                unread.add(name)
            elif f.severity >= Severity.HIGH:
                predicted.setdefault(name, set()).update((family(f.rule), ANY))
    families = {ANY: Scores()}
    for fams in predicted.values():
        for fam in fams:
            families.setdefault(fam, Scores())
    for label in labels:
        if label.app not in found:
            continue
        for fam, scores in families.items():
            said = fam in predicted.get(label.app, set())
            if said and label.expect_high:
                scores.tp.append(label.app)
            elif said:
                scores.fp.append(label.app)
            elif label.expect_high:
                scores.fn.append(label.app)
    missing = sorted(wanted - found)
    return Evaluation(dict(sorted(families.items())), len(labels) - len(missing), missing, sorted(unread))


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{100 * value:5.1f}%"


def render(ev: Evaluation) -> str:
    lines = [f"{ev.labelled} labelled apps analysed", "", f"  {'rule family':14} precision  recall   TP  FP  FN"]
    for name, s in ev.families.items():
        lines.append(
            f"  {name:14} {_pct(s.precision):>9} {_pct(s.recall):>7} {len(s.tp):4} {len(s.fp):3} {len(s.fn):3}"
        )
    total = ev.families[ANY]
    if total.fp:
        lines += ["", "High but labelled not-high: " + ", ".join(sorted(total.fp))]
    if total.fn:
        lines += ["", "Labelled high but not high: " + ", ".join(sorted(total.fn))]
    if ev.missing:
        lines += ["", "Labelled but not found in the inputs: " + ", ".join(ev.missing)]
    if ev.not_screened:
        lines += ["", "Labelled, not (fully) analysed: " + ", ".join(ev.not_screened)]
    return "\n".join(lines)


@click.command("evaluate")
@click.option(
    "--labels",
    "label_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labels CSV (app,expect,why); default: the project's labels of the fdroidserver test APKs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--knowledge", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def evaluate_cmd(
    label_files: tuple[Path, ...], as_json: bool, knowledge: tuple[Path, ...], paths: tuple[Path, ...]
) -> None:
    """Precision and recall of "high" per rule family on labelled apps (firmware trees, folders of APKs)."""
    labels = [label for path in (label_files or (FDROID_LABELS,)) for label in read_labels(path)]
    report = job.run(list(paths), job.Options(knowledge=list(knowledge), show_progress=False))
    ev = evaluate(report, labels)
    click.echo(json.dumps(ev.to_dict(), indent=2) if as_json else render(ev))


COMMANDS = [evaluate_cmd]
