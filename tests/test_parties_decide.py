"""`bansweep parties decide`: screen, record a decision from the JSON report, re-screen with it, change the list."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from bansweep import reports
from bansweep.cli import main
from bansweep.findings import Report
from bansweep.parties import decisions as decisions_mod
from bansweep.parties.lists.csl import COLUMNS

ATLAS = "Atlas Sanatgaran"
NEAR = "Atlas Sanat"  # a partial name: a possible match
SINO = "Sinobright Import and Export Company"

# Two rows in the trade.gov CSL bulk CSV layout (values as in the published file).
RECORDS = [
    {
        "_id": "1b5979e8fd3920a1a0985bf5088dad930a6a5562d1513f9e4b015e42",
        "source": "Unverified List (UVL) - Bureau of Industry and Security",
        "name": ATLAS,
        "addresses": "Komitas 26/114, Yerevan, Armenia, AM",
        "source_list_url": "https://www.bis.doc.gov/index.php/policy-guidance/lists-of-parties-of-concern/unverified-list",
    },
    {
        "_id": "233a4d725770c81fb561ffe3842c14010c2201971d6be62eca1e613b",
        "source": "Nonproliferation Sanctions (ISN) - State Department",
        "programs": "INKSNA",
        "name": f"{SINO}; and any successor, sub-unit, or subsidiary thereof",
        "federal_register_notice": "Vol. 88, No. 151, 08/08/2023",
        "start_date": "2023-07-19",
    },
]


def write_list(path: Path, records: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(COLUMNS)
        for record in records:
            writer.writerow([record.get(c, "") for c in COLUMNS])
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    suppliers = tmp_path / "suppliers.csv"
    suppliers.write_text(
        f"Supplier Name,Country,City\n{ATLAS},Armenia,Yerevan\n{SINO},China,Beijing\nNorthwind Traders,US,Seattle\n"
        f"{NEAR},AM,\n",
        encoding="utf-8",
    )
    return {
        "suppliers": suppliers,
        "list": write_list(tmp_path / "csl.csv", RECORDS),
        "report": tmp_path / "screening.json",
        "decisions": tmp_path / "decisions.yaml",
    }


def invoke(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def screen(files: dict[str, Path], decisions: Path | None = None) -> dict[str, Any]:
    extra = ["--decisions", decisions] if decisions else []
    result = invoke(
        "parties", files["suppliers"], "--list", files["list"], *extra, "--format", "json", "-o", files["report"]
    )
    assert result.exit_code in (0, 1), result.output
    doc: dict[str, Any] = json.loads(files["report"].read_text(encoding="utf-8"))
    assert doc["errors"] == []
    return doc


def by_party(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for finding in doc["findings"]:
        if finding["rule"] == "parties.list.csl":
            out[finding["subject"]["label"]] = finding
    return out


ENTRY = {"key": "key", "hash": "record_hash", "party": "identity", "list": "list", "record": "record_id"}


def entry_of(finding: dict[str, Any]) -> dict[str, str]:
    """What the decisions file keeps of a finding: its key and the entry's content hash (and, to read, who and what)."""
    source = {**finding["extra"], "key": finding["key"]}
    return {name: source[field] for name, field in ENTRY.items()}


def decide(files: dict[str, Path], *args: Any, decisions: Path | None = None) -> Result:
    return invoke(
        "parties", "decide", "--report", files["report"], "--decisions", decisions or files["decisions"], *args
    )


def test_clear_applies_on_the_next_run_and_lapses_when_the_entry_changes(files: dict[str, Path]) -> None:
    first = by_party(screen(files))
    assert set(first) == {ATLAS, SINO, NEAR}
    atlas_status, sino_status = first[ATLAS]["status"], first[SINO]["status"]
    assert atlas_status == sino_status == "match" and first[NEAR]["status"] == "possible-match"

    result = decide(files, "--clear", "--by", "j.doe", "--why", "different firm; Gyumri registration", "--party", ATLAS)
    assert result.exit_code == 0, result.output
    assert "1 added, 0 updated" in result.output
    entries = yaml.safe_load(files["decisions"].read_text(encoding="utf-8"))["decisions"]
    assert len(entries) == 1
    entry = entries[0]
    key = entry_of(first[ATLAS])
    # the store's baseline form: `triage import` and `--baseline` read the same file
    assert entry["key"] == key["key"] and entry["evidence"] == "record:" + key["hash"]
    assert entry["job"] == "parties" and entry["label"].startswith("atlas sanatgaran|armenia (")
    assert (entry["decision"], entry["by"], entry["why"]) == (
        "false-positive",
        "j.doe",
        "different firm; Gyumri registration",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["at"])
    loaded, errors = decisions_mod.load(files["decisions"])
    assert errors == [] and loaded[key["key"]].hash == key["hash"]
    assert not [p for p in files["decisions"].parent.iterdir() if p.name.endswith(".tmp")]

    second_doc = screen(files, files["decisions"])
    second = by_party(second_doc)
    assert second[ATLAS]["status"] == "cleared" and second[ATLAS]["key"] == key["key"]
    assert "decision-clear" in second[ATLAS]["tags"]
    assert second[ATLAS]["extra"]["decision"]["by"] == "j.doe"
    for other, status in ((SINO, sino_status), (NEAR, "possible-match")):
        assert second[other]["status"] == status and "decision" not in second[other]["extra"]
    assert second_doc["summary"]["decisions"]["applied"] == 1

    changed = [dict(RECORDS[0], addresses="Arshakunyats 2, Yerevan, Armenia, AM"), RECORDS[1]]
    write_list(files["list"], changed)
    third_doc = screen(files, files["decisions"])
    third = by_party(third_doc)
    assert third[ATLAS]["status"] == atlas_status
    assert "decision-stale" in third[ATLAS]["tags"]
    assert third[ATLAS]["extra"]["decision"]["stale"] is True
    assert third_doc["summary"]["decisions"] == {**third_doc["summary"]["decisions"], "applied": 0, "stale": 1}

    # Deciding again on the new report updates the entry to the new content hash instead of adding one.
    result = decide(files, "--confirm", "--by", "a.roe", "--why", "same firm after all", "--party", ATLAS.upper())
    assert result.exit_code == 0, result.output
    assert "0 added, 1 updated" in result.output
    entries = yaml.safe_load(files["decisions"].read_text(encoding="utf-8"))["decisions"]
    assert len(entries) == 1
    assert entries[0]["evidence"] == "record:" + third[ATLAS]["extra"]["record_hash"] != "record:" + key["hash"]
    assert entries[0]["decision"] == "confirmed"
    assert entries[0]["key"] == third[ATLAS]["key"] == key["key"]
    fourth = by_party(screen(files, files["decisions"]))
    assert fourth[ATLAS]["status"] == "match" and "decision-confirm" in fourth[ATLAS]["tags"]


def test_finding_numbers_all_possible_json_file_and_other_entries_kept(files: dict[str, Path], tmp_path: Path) -> None:
    doc = screen(files)
    decisions = tmp_path / "decisions.json"
    kept = [
        {"party": "someone else|fr", "list": "csl", "record": "r1", "hash": "h", "decision": "confirm", "by": "x"},
        "not a mapping",
    ]
    decisions.write_text(json.dumps({"note": "team file", "decisions": kept}), encoding="utf-8")
    number = next(i for i, f in enumerate(doc["findings"], 1) if f["subject"]["label"] == SINO)
    result = decide(files, "--clear", "--by", "j.doe", "--why", "checked", "--finding", number, decisions=decisions)
    assert result.exit_code == 0, result.output
    saved = json.loads(decisions.read_text(encoding="utf-8"))
    assert saved["note"] == "team file"
    assert saved["decisions"][:2] == kept
    assert [e["key"] for e in saved["decisions"][2:]] == [doc["findings"][number - 1]["key"]]

    possible = [f for f in doc["findings"] if f["status"] == "possible-match"]
    assert [f["subject"]["label"] for f in possible] == [NEAR]
    result = decide(files, "--confirm", "--by", "j.doe", "--why", "bulk", "--all-possible", decisions=decisions)
    assert result.exit_code == 0, result.output
    saved = json.loads(decisions.read_text(encoding="utf-8"))
    keys = {decisions_mod.entry_key(e) for e in saved["decisions"] if isinstance(e, dict)}
    assert possible[0]["key"] in keys and len(keys) == 3
    assert "1 added, 0 updated" in result.output
    # a party with no match names no list entry: nothing to decide on
    clean = next(i for i, f in enumerate(doc["findings"], 1) if f["rule"] == "parties.screened")
    result = decide(files, "--clear", "--by", "j.doe", "--why", "x", "--finding", clean, decisions=decisions)
    assert result.exit_code == 2 and "names no list entry to decide on" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clear", "--by", "j.doe", "--party", ATLAS], "Missing option '--why'"),
        (["--clear", "--why", "x", "--party", ATLAS], "Missing option '--by'"),
        (["--clear", "--by", "j.doe", "--why", "  ", "--party", ATLAS], "--why is empty"),
        (["--by", "j.doe", "--why", "x", "--party", ATLAS], "give --clear or --confirm"),
        (["--clear", "--by", "j.doe", "--why", "x", "--party", "Nobody Ltd"], "no finding for party 'Nobody Ltd'"),
        (["--clear", "--by", "j.doe", "--why", "x", "--finding", "999"], "no finding 999"),
        (["--clear", "--by", "j.doe", "--why", "x"], "one of --party, --finding or --all-possible"),
        (["--clear", "--by", "j.doe", "--why", "x", "--party", ATLAS, "--all-review"], "one of --party"),
    ],
)
def test_refusals_write_nothing(files: dict[str, Path], args: list[str], message: str) -> None:
    screen(files)
    result = decide(files, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert not files["decisions"].exists()


def test_refuses_a_report_of_another_job_and_a_broken_decisions_file(files: dict[str, Path], tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.json"
    reports.write(Report(job="fleet", inputs=["scan.xml"]), "json", fleet)
    result = invoke(
        "parties", "decide", "--report", fleet, "--decisions", files["decisions"], "--clear", "--by", "j", "--why", "x",
        "--all-review",
    )  # fmt: skip
    assert result.exit_code == 2 and "not a parties report (a 'fleet' report)" in result.output
    not_json = tmp_path / "table.txt"
    not_json.write_text("Huawei  covered\n", encoding="utf-8")
    result = invoke(
        "parties", "decide", "--report", not_json, "--decisions", files["decisions"], "--clear", "--by", "j",
        "--why", "x", "--all-review",
    )  # fmt: skip
    assert result.exit_code == 2 and f"{not_json}:1: not a JSON report" in result.output

    screen(files)
    broken = "decisions:\n  - party: [unclosed\n"
    files["decisions"].write_text(broken, encoding="utf-8")
    result = decide(files, "--clear", "--by", "j.doe", "--why", "x", "--party", ATLAS)
    assert result.exit_code == 2 and "malformed YAML" in result.output and "nothing written" in result.output
    assert files["decisions"].read_text(encoding="utf-8") == broken


def test_an_entry_in_the_older_form_applies_and_is_updated_in_place(files: dict[str, Path]) -> None:
    atlas = by_party(screen(files))[ATLAS]
    entry = entry_of(atlas)
    old = {k: entry[k] for k in ("party", "list", "record", "hash")}  # no key: written before keys existed
    old.update(decision="clear", by="j.doe", at="2025-05-05T00:00:00Z", reason="checked")
    files["decisions"].write_text(yaml.safe_dump({"decisions": [old]}), encoding="utf-8")
    assert by_party(screen(files, files["decisions"]))[ATLAS]["status"] == "cleared"

    result = decide(files, "--confirm", "--by", "a.roe", "--why", "same firm", "--party", ATLAS)
    assert result.exit_code == 0 and "0 added, 1 updated" in result.output
    entries = yaml.safe_load(files["decisions"].read_text(encoding="utf-8"))["decisions"]
    assert len(entries) == 1 and entries[0]["key"] == atlas["key"] and entries[0]["decision"] == "confirmed"
    assert not {"hash", "reason", "party", "list", "record"} & set(entries[0])  # rewritten in the baseline form


def test_one_decisions_file_for_decide_triage_and_the_store(files: dict[str, Path], tmp_path: Path) -> None:
    """`parties decide` writes the store's baseline form: `triage import` takes it, the store applies it to the next
    run, and what `triage export` writes clears the party through `parties --decisions`."""
    screen(files)
    assert decide(files, "--clear", "--by", "j.doe", "--why", "another firm", "--party", ATLAS).exit_code == 0
    url = f"sqlite:///{tmp_path / 'history.db'}"
    imported = invoke("triage", "import", "--store", url, files["decisions"])
    assert imported.exit_code == 0, imported.output
    run = tmp_path / "run.json"
    args = ["parties", files["suppliers"], "--list", files["list"], "--store", url, "--format", "json", "-o", run]
    assert invoke(*args).exit_code in (0, 1)
    triaged = by_party(json.loads(run.read_text(encoding="utf-8")))
    assert "triage:false-positive" in triaged[ATLAS]["tags"]
    assert triaged[ATLAS]["extra"]["triage"]["by"] == "j.doe" and "triage" not in triaged[SINO]["extra"]

    exported = tmp_path / "baseline.yaml"
    assert invoke("triage", "export", "--store", url, exported).exit_code == 0
    again = by_party(screen(files, exported))
    assert again[ATLAS]["status"] == "cleared" and again[SINO]["status"] == "match"

    write_list(files["list"], [dict(RECORDS[0], addresses="Arshakunyats 2, Yerevan, Armenia, AM"), RECORDS[1]])
    assert invoke(*args).exit_code in (0, 1)  # the list entry changed: the store's decision no longer holds
    raised = by_party(json.loads(run.read_text(encoding="utf-8")))
    assert "triage:evidence-changed" in raised[ATLAS]["tags"]
