"""Benchmark: 100,000 parties against a CSL-sized list, bansweep vs a rapidfuzz WRatio brute force.

Generates (in a temporary directory, seeded) a list in the CSL bulk CSV layout with >= 26,000 records and
>= 60,000 names including aliases (3 % Entity List compound "Affiliated Entity" names, "; and" alias lists), and
100,000 parties (2 % planted variants of listed names: typo, legal-form change, reordering, an extra generic word,
abbreviation; the rest drawn from a vocabulary that half overlaps the list's). Then, in one run:
  1. bansweep end to end (`bansweep parties --list LIST PARTIES --format json -o ...` in a child process, so list
     parsing, indexing, screening and the JSON report all count): wall time, CPU time of all its processes, peak
     RSS (target <= 20 s on 2 cores, <= 2 GB), and recall on the planted variants;
  2. the baseline: rapidfuzz process.extractOne(scorer=fuzz.WRatio) over all list names, timed on a sample of
     parties and extrapolated to 100,000, and its recall on some planted variants;
  3. precision and recall of both on the labelled set (`bansweep parties evaluate`'s set).
On a shared machine the wall time depends on the load; the CPU time does not, and is printed beside it.

At OpenSanctions size (issue 14: 100,000 parties against >= 1,000,000 names in <= 60 s on 2 cores, <= 3 GB):
    python3 bench/parties_bench.py --records 400000 --sample 40 --target-s 60 --target-mib 3072

Usage: python3 bench/parties_bench.py [--parties N] [--records N] [--sample N] [--planted N] [--keep DIR]
       [--target-s S] [--target-mib M]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rapidfuzz import fuzz, process, utils

from bansweep.parties.lists.csl import COLUMNS

SOURCES = [
    "Entity List (EL) - Bureau of Industry and Security",
    "Specially Designated Nationals (SDN) - Treasury Department",
    "Denied Persons List (DPL) - Bureau of Industry and Security",
    "Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department",
    "Military End User (MEU) List - Bureau of Industry and Security",
]
GENERIC = [
    "Trading",
    "International",
    "Group",
    "Holding",
    "Technology",
    "Technologies",
    "Industrial",
    "Electronics",
    "Engineering",
    "Import",
    "Export",
    "Investment",
    "Logistics",
    "Shipping",
    "Energy",
    "Systems",
    "Services",
    "Development",
    "Science",
    "Research",
    "Institute",
    "Network",
    "Solutions",
    "Machinery",
    "Equipment",
    "Materials",
    "Chemical",
    "Commercial",
    "General",
    "United",
    "National",
    "Global",
    "Digital",
    "Telecom",
    "Communication",
]
PLACES = [
    "Shanghai",
    "Beijing",
    "Shenzhen",
    "Guangzhou",
    "Hangzhou",
    "Dubai",
    "Moscow",
    "Tehran",
    "Istanbul",
    "Hong",
    "Kong",
    "Singapore",
    "Karachi",
    "Minsk",
    "Caracas",
    "Damascus",
    "Pyongyang",
    "Tianjin",
    "Wuhan",
    "Chengdu",
    "Almaty",
    "Tashkent",
    "Baku",
    "Yerevan",
    "Riga",
    "Sofia",
]
LEGAL = [
    "Co., Ltd.",
    "Ltd",
    "LLC",
    "Inc.",
    "Corporation",
    "GmbH",
    "JSC",
    "S.A.",
    "FZE",
    "LLP",
    "Limited",
    "OOO",
    "PJSC",
    "",
]
COUNTRIES = ["CN", "RU", "IR", "AE", "TR", "HK", "SG", "PK", "BY", "VE", "SY", "KP", "KZ", "UZ", "AZ", "AM"]
ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "gr",
    "kr",
    "pr",
    "st",
    "tr",
    "ch",
    "sh",
    "zh",
    "kh",
    "ts",
]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ao", "ei", "ia", "ou", "ya"]
CODAS = ["", "", "", "n", "ng", "r", "l", "s", "k", "m"]


def word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables)).capitalize()


def vocab(rng: random.Random, size: int) -> list[str]:
    out: set[str] = set()
    while len(out) < size:
        out.add(word(rng, rng.choice((2, 2, 3, 3, 4))))
    return sorted(out)


def company(rng: random.Random, words: list[str]) -> str:
    parts = [rng.choice(words) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
    if rng.random() < 0.4:
        parts.insert(0, rng.choice(PLACES))
    parts += rng.sample(GENERIC, rng.choice((0, 1, 1, 2)))
    legal = rng.choice(LEGAL)
    return " ".join(parts) + (f" {legal}" if legal else "")


def person(rng: random.Random, given: list[str], family: list[str]) -> str:
    return f"{rng.choice(family).upper()}, {rng.choice(given)} {rng.choice(given)}"


def variant(rng: random.Random, name: str) -> str:
    """A true variant of a listed name: typo, legal-form change, reorder, extra generic word or abbreviation."""
    words = name.replace(",", "").split()
    kind = rng.randrange(5)
    if kind == 0 and words:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 5:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + w[j + 1 :]
    elif kind == 1:
        words = [
            w for w in words if w not in {"Co.", "Ltd.", "Ltd", "LLC", "Inc.", "Corporation", "GmbH", "JSC", "S.A."}
        ]
        words.append(rng.choice(["Company Limited", "Corp", "L.L.C.", "Co Ltd"]))
    elif kind == 2:
        rng.shuffle(words)
    elif kind == 3:
        words.append(rng.choice(GENERIC))
    else:
        words = [
            {"International": "Intl", "Technology": "Tech", "Group": "Grp", "Communication": "Comm"}.get(w, w)
            for w in words
        ]
        words = [w.upper() for w in words]
    return " ".join(words)


def generate(directory: Path, records: int, parties: int, seed: int = 1260) -> tuple[Path, Path, int, dict[int, str]]:
    """The list, the parties, the number of list names, and for each planted variant its row -> list record id."""
    rng = random.Random(seed)
    words = vocab(rng, 30_000)
    given, family = vocab(rng, 3_000), vocab(rng, 8_000)
    list_words = words[: len(words) * 2 // 3]
    party_words = words[len(words) // 3 :]  # overlaps the list vocabulary by half
    list_path = directory / "consolidated.csv"
    names_total = 0
    listed_names: list[tuple[str, str]] = []
    truth: dict[int, str] = {}
    with list_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(COLUMNS)
        for i in range(records):
            is_person = rng.random() < 0.3
            name = person(rng, given, family) if is_person else company(rng, list_words)
            aliases = []
            for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
                aliases.append(person(rng, given, family) if is_person else company(rng, list_words))
            if not is_person and rng.random() < 0.03:
                parent = company(rng, list_words)
                name = f"{parent} ({word(rng, 1).upper()}).{rng.choice(('  ', ' '))}Affiliated Entity:{rng.choice(('  ', ' '))}{name}"
            alt = "; ".join(aliases[:-1] + [f"and {aliases[-1]}"]) if len(aliases) > 1 else "; ".join(aliases)
            cc = rng.choice(COUNTRIES)
            row = dict.fromkeys(COLUMNS, "")
            row.update(
                _id=f"{i:056x}",
                source=rng.choice(SOURCES),
                type="Individual" if is_person else "Entity",
                name=name,
                addresses=f"{rng.randint(1, 300)} {word(rng, 2)} Street, {rng.choice(PLACES)}, {cc}",
                federal_register_notice=f"{rng.randint(60, 90)} FR {rng.randint(1000, 99999)}",
                start_date=f"20{rng.randint(10, 26):02d}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                alt_names=alt,
            )
            w.writerow([row[c] for c in COLUMNS])
            names_total += 1 + len(aliases)
            listed_names.append((row["_id"], name.split("Affiliated Entity:")[-1].strip()))
    parties_path = directory / "parties.csv"
    with parties_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Supplier Name", "Country", "City"])
        for number in range(1, parties + 1):
            if rng.random() < 0.02:
                record_id, listed = rng.choice(listed_names)
                name = variant(rng, listed)
                truth[number] = record_id
            elif rng.random() < 0.1:
                name = person(rng, given, family)
            else:
                name = company(rng, party_words)
            w.writerow([name, rng.choice(COUNTRIES + ["US", "DE", "GB", "FR", "JP"]), rng.choice(PLACES)])
    return list_path, parties_path, names_total, truth


def run_bansweep(list_path: Path, parties_path: Path, out: Path, home: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (all processes) and peak RSS (MiB, largest process) of one CLI run."""
    env = {**os.environ, "BANSWEEP_HOME": str(home)}
    cmd = [
        sys.executable, "-m", "bansweep", "parties", "--list", str(list_path), "--format", "json",
        "--fail-on", "never", "-o", str(out), str(parties_path),
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"bansweep exited {proc.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, after.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parties", type=int, default=100_000)
    ap.add_argument("--records", type=int, default=26_000)
    ap.add_argument("--sample", type=int, default=200, help="parties timed for the WRatio baseline")
    ap.add_argument("--planted", type=int, default=40, help="planted variants the baseline is also run on")
    ap.add_argument("--cutoff", type=float, default=90.0, help="WRatio score counted as a hit")
    ap.add_argument("--keep", type=Path, help="keep generated files here")
    ap.add_argument("--target-s", type=float, default=20.0, help="wall-time goal of the bansweep run")
    ap.add_argument("--target-mib", type=float, default=2048.0, help="peak RSS goal of the bansweep run")
    args = ap.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from bansweep.parties import evaluate as ev
    from bansweep.parties.lists import csl

    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        list_path, parties_path, names_total, truth = generate(work, args.records, args.parties)
        print(
            f"generated {args.records} records / {names_total} names and {args.parties} parties in {time.perf_counter() - t0:.1f} s"
        )

        elapsed, cpu, rss_mib = run_bansweep(list_path, parties_path, work / "report.json", work / "home")
        import json

        report = json.loads((work / "report.json").read_text(encoding="utf-8"))
        print(
            f"bansweep: {args.parties} parties screened end to end in {elapsed:.1f} s wall, {cpu:.1f} s CPU "
            f"(all processes), peak RSS {rss_mib:.0f} MiB; phases {report['summary']['timing']}; "
            f"outcomes {report['summary']['outcomes']}"
        )
        raised_ids: dict[int, set[str]] = {}  # data row -> list record ids it was raised for
        for finding in report["findings"]:
            number = int(str(finding["subject"]["id"]).rsplit("row ", 1)[1].split(":")[0])
            if finding["status"] not in ("match", "possible-match"):
                continue
            ids = raised_ids.setdefault(number, set())
            ids.update(c["record_id"] for c in finding["extra"].get("candidates", []))
        raised_ok = sum(1 for number, record in truth.items() if record in raised_ids.get(number, set()))
        alerts = sum(1 for number in raised_ids if number not in truth)
        print(
            f"planted variants found: {raised_ok}/{len(truth)} ({raised_ok / max(len(truth), 1):.1%}); "
            f"other parties raised for review: {alerts}/{args.parties - len(truth)} "
            f"({alerts / max(args.parties - len(truth), 1):.1%}, names sharing a listed word)"
        )
        load = os.getloadavg()[0]
        if load > (os.cpu_count() or 1):
            print(f"note: load average {load:.1f} on {os.cpu_count()} CPUs during the run; wall times are inflated")

        records, _ = csl.read(list_path)
        choices = [n for r in records.records for n in r.names()]
        with parties_path.open(encoding="utf-8") as fh:
            queries = [row["Supplier Name"] for row in csv.DictReader(fh)]
        rng = random.Random(7)
        sample = rng.sample(queries, min(args.sample, len(queries)))
        processed = [utils.default_process(c) for c in choices]
        start = time.perf_counter()
        for q in sample:
            process.extractOne(utils.default_process(q), processed, scorer=fuzz.WRatio, processor=None)
        per = (time.perf_counter() - start) / len(sample)
        baseline = per * args.parties
        print(
            f"baseline: rapidfuzz extractOne(WRatio) over {len(choices)} names: {per * 1000:.1f} ms per party "
            f"({len(sample)} timed), extrapolated {baseline:.0f} s for {args.parties}"
        )
        print(f"speed-up: {baseline / elapsed:.1f}x (goal >= 20x)")
        owner = [r.record_id for r in records.records for _ in r.names()]
        planted = sorted(truth)[: args.planted]
        found = 0
        for number in planted:
            hit = process.extractOne(
                utils.default_process(queries[number - 1]),
                processed,
                scorer=fuzz.WRatio,
                processor=None,
                score_cutoff=args.cutoff,
            )
            found += hit is not None and owner[hit[2]] == truth[number]
        print(
            f"baseline on {len(planted)} planted variants: {found} found ({found / max(len(planted), 1):.1%}) at WRatio >= {args.cutoff:.0f}"
        )

        cases = ev.read_cases()
        lists = ev.reference_lists()
        ours = ev.evaluate(cases, lists)
        ref_choices = [(n, r) for r in lists.records for n in r.names()]
        ref_processed = [utils.default_process(n) for n, _ in ref_choices]

        def predict(case: ev.Case) -> tuple[bool, str]:
            hit = process.extractOne(
                utils.default_process(case.query),
                ref_processed,
                scorer=fuzz.WRatio,
                processor=None,
                score_cutoff=args.cutoff,
            )
            if hit is None:
                return False, ""
            name, record = ref_choices[hit[2]]
            return True, f"{record.name} | {name}"

        base = ev.evaluate_with(cases, predict)
        print(
            f"labelled set ({len(cases)} cases): bansweep precision {ours.precision:.3f} recall {ours.recall:.3f}; "
            f"WRatio>={args.cutoff:.0f} precision {base.precision:.3f} recall {base.recall:.3f}"
        )
        print(
            f"targets: time {'met' if elapsed <= args.target_s else 'MISSED'} ({elapsed:.1f} s <= {args.target_s:.0f} s), "
            f"memory {'met' if rss_mib <= args.target_mib else 'MISSED'} ({rss_mib:.0f} MiB <= {args.target_mib:.0f}), "
            f"speed-up {'met' if baseline / elapsed >= 20 else 'MISSED'}, "
            f"recall {'met' if ours.recall >= base.recall else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
