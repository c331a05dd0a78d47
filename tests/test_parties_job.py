"""The parties job end to end: inputs and column mapping, sniffing, audit trail, decisions, bad inputs, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bansweep.cli import main
from bansweep.findings import Report, Status
from bansweep.inputs import InputFile, read_head
from bansweep.jobs import PARTIES, route
from bansweep.parties import job
from bansweep.parties.inputs import auto_mapping, read_parties
from parties_fixtures import SAMPLE

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BANSWEEP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def run(path: Path, **kw: object) -> Report:
    return job.run([path], job.Options(**kw))  # type: ignore[arg-type]


def screened_rows(report: Report) -> list[dict[str, object]]:
    table = report.summary["screened"]
    return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]


def by_label(report: Report) -> dict[str, list[tuple[str, Status]]]:
    out: dict[str, list[tuple[str, Status]]] = {}
    for f in report.findings:
        out.setdefault(f.subject.label, []).append((f.rule, f.status))
    return out


def test_example_suppliers_end_to_end() -> None:
    report = run(ROOT / "examples" / "suppliers.csv")
    assert report.errors == []
    found = by_label(report)
    assert ("parties.list.fcc-covered-list", Status.COVERED) in found["Huawei Technologies Co. Ltd"]
    assert ("parties.list.dod-1260h", Status.COVERED) in found["华为技术有限公司"]
    assert ("parties.affiliate.brand", Status.REVIEW) in found["ZTE USA Inc"]
    assert ("parties.affiliate.brand", Status.REVIEW) in found["Hikvision Europe BV"]
    assert ("parties.affiliate.known", Status.COVERED) in found["Hangzhou Huawei Enterprises"]
    for clean in ("Acme Widgets Ltd", "Shanghai Dahua Scale Factory", "Northwind Office Supply LLC"):
        assert clean not in found
    # every party is in the audit trail, hit or not, and counted
    rows = screened_rows(report)
    assert report.subjects == len(rows) == 14  # 11 suppliers + 3 manufacturers named on purchase lines
    acme = next(r for r in rows if r["query"] == "Acme Widgets Ltd")
    assert acme["status"] == "no-match" and acme["normalised"] == "acme widgets" and acme["party"].endswith("row 10")
    hikvision = next(r for r in rows if r["query"] == "Hikvision Europe BV")
    assert hikvision["status"] == "review" and hikvision["country"] == "Netherlands"
    huawei = next(r for r in rows if r["query"] == "Huawei Technologies Co. Ltd")
    assert huawei["detail"][0][0] == 1.0 and huawei["detail"][0][2] in ("fcc-covered-list", "dod-1260h")
    assert report.summary["lists"]["csl"].startswith("not imported")
    assert "fcc-covered-list" in report.data_versions and "party-matching" in report.data_versions
    assert report.summary["mapping"][str(ROOT / "examples" / "suppliers.csv")]["name"] == "Supplier Name"


def test_finding_carries_the_audit_record(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("Company,Country\nCETC 13th Research Institute (Hebei),CN\nZTE Corp,CN\n", encoding="utf-8")
    report = run(path, lists=[SAMPLE])
    finding = next(f for f in report.findings if f.extra.get("list") == "csl")
    extra = finding.extra
    assert extra["candidates"][0]["record_id"] == extra["record_id"] and extra["candidates"][0]["score"] >= 0.75
    assert extra["query"] == "CETC 13th Research Institute (Hebei)"
    assert extra["citations"] == ["83 FR 37423", "87 FR 77505"] and extra["start_date"] == "2018-08-01"
    assert extra["license_policy"].startswith("Policy of denial") and extra["list_source"].startswith("Entity List")
    assert extra["record_id"] == "99ed1b052fdb09695fae1ba87516d8a0882b0df04652e07aeb5ce7be"
    assert extra["tool"].startswith("bansweep ") and extra["screened_at"] and extra["list_version"]
    assert extra["token_matches"] and "score" in finding.explanation
    assert finding.evidence[1].location.file == str(SAMPLE) and finding.evidence[1].location.row == 12
    assert finding.evidence[0].location.row == 1 and finding.verdicts[0].citation == "83 FR 37423; 87 FR 77505"
    # --list replaces the built-in lists (ZTE is on none of the 13 sample rows); affiliate checks still run
    assert report.summary["lists"].keys() == {"csl"}
    zte = [f for f in report.findings if f.subject.label == "ZTE Corp"]
    assert zte and all(f.rule.startswith("parties.affiliate") for f in zte)


def test_imported_csl_is_used_by_default(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["data", "import-csl", str(SAMPLE)]).exit_code == 0
    path = tmp_path / "p.csv"
    path.write_text("Vendor Name\nRosneft Trading Ltd\nZTE Corporation\n", encoding="utf-8")
    report = run(path)
    lists = {f.extra.get("list") for f in report.findings}
    assert {"csl", "fcc-covered-list"} <= lists
    assert "imported" in report.summary["lists"]["csl"]


def write_decisions(path: Path, finding: object, decision: str, hash_value: str | None = None) -> None:
    key = dict(finding.extra["decision_key"])  # type: ignore[attr-defined]
    if hash_value is not None:
        key["hash"] = hash_value
    key.update(decision=decision, by="j.doe", at="2026-11-20T10:00:00Z", reason="different firm, checked registry")
    path.write_text(yaml.safe_dump({"decisions": [key]}), encoding="utf-8")


def test_decisions_are_reapplied_and_raised_again_when_the_entry_changes(tmp_path: Path) -> None:
    parties = tmp_path / "p.csv"
    parties.write_text("Supplier\nAlmaz Antey Telecom\n", encoding="utf-8")
    lst = tmp_path / "l.csv"
    header = SAMPLE.read_text(encoding="utf-8").splitlines()[0]
    row = (
        '"x1","Specially Designated Nationals (SDN) - Treasury Department","","Entity","UKRAINE-EO13661","ALMAZ-ANTEY"'
        + ',""' * 23
    )
    lst.write_text(f"{header}\n{row}\n", encoding="utf-8")
    first = run(parties, lists=[lst])
    hit = next(f for f in first.findings if f.extra.get("list") == "csl")
    assert hit.status in (Status.COVERED, Status.REVIEW)

    decisions = tmp_path / "decisions.yaml"
    write_decisions(decisions, hit, "clear")
    cleared = next(f for f in run(parties, lists=[lst], decisions=decisions).findings if f.extra.get("list") == "csl")
    assert cleared.status is Status.NOT_COVERED
    assert cleared.extra["decision"]["by"] == "j.doe" and "Cleared by j.doe" in cleared.explanation
    assert run(parties, lists=[lst], decisions=decisions).summary["decisions"]["applied"] == 1

    write_decisions(decisions, hit, "clear")
    lst.write_text(f"{header}\n{row.replace('UKRAINE-EO13661', 'UKRAINE-EO13661; RUSSIA-EO14024')}\n", encoding="utf-8")
    again = next(f for f in run(parties, lists=[lst], decisions=decisions).findings if f.extra.get("list") == "csl")
    assert again.status in (Status.COVERED, Status.REVIEW)
    assert again.extra["decision"]["stale"] is True and "changed since j.doe" in again.explanation

    write_decisions(decisions, hit, "confirm", hash_value=hit.extra["record_hash"])
    lst.write_text(f"{header}\n{row}\n", encoding="utf-8")
    confirmed = next(f for f in run(parties, lists=[lst], decisions=decisions).findings if f.extra.get("list") == "csl")
    assert confirmed.status is Status.COVERED


def test_bad_decisions_file_is_reported_and_screening_goes_on(tmp_path: Path) -> None:
    parties = tmp_path / "p.csv"
    parties.write_text("Supplier\nZTE Corporation\n", encoding="utf-8")
    decisions = tmp_path / "d.yaml"
    decisions.write_text("decisions:\n  - party: x\n    decision: maybe\n  - [1, 2\n", encoding="utf-8")
    report = run(parties, decisions=decisions)
    assert any("d.yaml" in str(e) and "malformed YAML" in e.message for e in report.errors)
    assert any(f.status is Status.COVERED for f in report.findings)
    decisions.write_text("decisions:\n  - party: x\n    decision: maybe\n", encoding="utf-8")
    report = run(parties, decisions=decisions)
    assert [e.location.entry for e in report.errors] == ["decisions[0]"]


def test_empty_names_and_enormous_cells_are_not_screened_never_clean(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    big = "X" * 70_000
    path.write_text(f"Name,Country\n,CN\nZTE Corp,CN\n{big},US\n---,US\n", encoding="utf-8")
    report = run(path)
    where = sorted(str(e.location) for e in report.errors)
    assert where == [f"{path} row 1 [Name]", f"{path} row 3 [Name]", f"{path} row 4 [Name]"]
    errors = [f for f in report.findings if f.status is Status.NOT_SCREENED]
    assert len(errors) == 3 and all(f.status.value == "not-screened" for f in errors)
    assert report.summary["outcomes"]["not-screened"] == 3
    assert report.subjects == 4
    reasons = {r["party"]: r["detail"] for r in screened_rows(report) if r["status"] == "not-screened"}
    assert reasons[f"{path}:row 1"] == "empty party name" and "longer than" in reasons[f"{path}:row 3"]


def test_too_many_aliases_are_reported_not_dropped_silently(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    aliases = "; ".join(f"Alias Number {i}" for i in range(60)) + "; ZTE Corporation"
    path.write_text(f'Name,AKA\nInitech,"{aliases}"\n', encoding="utf-8")
    report = run(path)
    assert len(report.errors) == 1 and "61 alternate names; the first 50" in report.errors[0].message
    assert report.errors[0].location.row == 1 and report.errors[0].location.field == "AKA"


def test_unterminated_quote_is_reported_with_its_lines(tmp_path: Path) -> None:
    lines = ["Name", "Acme", '"Broken', *[f"Party {i}" for i in range(300)]]
    path = tmp_path / "p.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run(path)
    assert any("unterminated quote" in e.message and e.location.line == 3 for e in report.errors)
    assert any(f.status is Status.NOT_SCREENED for f in report.findings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[{"name": "ZTE"', "malformed JSON"),
        (b'[{"name": "ZTE", "n": ' + b"9" * 5000 + b"}]", "malformed JSON"),  # past the int digit limit
        (b"\x00\x01\x02binary", "binary data"),
        (b'{"x": 1}', "expected a JSON array"),
        (b"id,amount\n1,2\n", "no party name column"),
    ],
)
def test_unreadable_files_are_errors_and_not_screened(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / ("p.json" if content.startswith((b"[", b"{")) else "p.csv")
    path.write_bytes(content)
    report = run(path)
    assert len(report.errors) == 1 and message in report.errors[0].message and str(path) in str(report.errors[0])
    assert [f.status for f in report.findings] == [Status.NOT_SCREENED]


def test_encodings_bom_utf16_and_cp1252(tmp_path: Path) -> None:
    text = "Name,Country\nZTE Corporation,CN\nSociété Générale Électronique,FR\n"
    for enc, data in (
        ("utf-8-sig", text.encode("utf-8-sig")),
        ("utf-16", text.encode("utf-16")),
        ("cp1252", text.encode("cp1252")),
    ):
        path = tmp_path / f"p-{enc}.csv"
        path.write_bytes(data)
        report = run(path)
        assert report.errors == [], enc
        queries = [r["query"] for r in screened_rows(report)]
        assert "Société Générale Électronique" in queries, enc


def test_xlsx_and_json_inputs_and_mapping_override(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["PO", "Seller", "Ctry", "Make"])
    sheet.append([1, "Hikvision USA Inc", "US", "Hikvision"])
    sheet.append([2, "Globex Corporation", "US", None])
    xlsx = tmp_path / "po.xlsx"
    book.save(xlsx)
    report = run(xlsx)
    assert report.errors == []
    assert report.summary["mapping"][str(xlsx)] == {"name": "Seller", "country": "Ctry", "manufacturer": "Make"}
    assert any(f.subject.label == "Hikvision USA Inc" for f in report.findings)
    assert any(f.subject.id.endswith(":manufacturer") for f in report.findings)

    data = tmp_path / "parties.json"
    data.write_text(
        json.dumps({"suppliers": [{"legal_name": "ZTE Corp", "aka": ["Zhongxing"]}, {"legal_name": "Initech"}]})
    )
    report = run(data)
    assert report.subjects == 2 and any(f.subject.label == "ZTE Corp" for f in report.findings)

    odd = tmp_path / "odd.csv"
    odd.write_text("Ref,Firma\n1,ZTE Corporation\n", encoding="utf-8")
    assert "no party name column" in run(odd).errors[0].message
    report = run(odd, mapping={"name": "firma"})
    assert report.errors == [] and any(f.subject.label == "ZTE Corporation" for f in report.findings)
    bad = run(odd, mapping={"name": "Nope"})
    assert "--map name=Nope: no such column" in bad.errors[0].message


def test_auto_mapping_prefers_exact_names() -> None:
    assert auto_mapping(["Supplier Legal Name", "Supplier Country Code", "DBA", "Mfr", "Vendor ID"]) == {
        "name": "Supplier Legal Name",
        "alias": "DBA",
        "manufacturer": "Mfr",
        "country": "Supplier Country Code",
    }


def test_sniffing_leaves_device_inventories_and_the_csl_to_others(tmp_path: Path) -> None:
    cases = {
        "suppliers.csv": ("Supplier Name,Country\nAcme,US\n", "parties-csv"),
        "inventory.csv": ("Hostname,MAC Address,Vendor,Model\nsw1,00:11:22:33:44:55,Huawei,S5700\n", None),
        "consolidated.csv": (SAMPLE.read_text(encoding="utf-8"), None),
        "notes.txt": ("hello world\n", None),
        "parties.tsv": ("Counterparty\tCountry\nAcme\tUS\n", "parties-tsv"),
    }
    for name, (text, expected) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        assert job.sniff(InputFile(path, read_head(path))) == expected, name
    routed = route([tmp_path / "suppliers.csv"], [PARTIES])
    assert [(r.path, r.job) for r in routed.inputs] == [(tmp_path / "suppliers.csv", PARTIES)]


def test_cli_screen_json_and_exit_codes(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        main, ["parties", "--format", "json", "-o", str(out), str(ROOT / "examples" / "suppliers.csv")]
    )
    assert result.exit_code == 1  # covered findings, --fail-on covered
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["subjects"] == 14 and doc["summary"]["outcomes"]["covered"] >= 3
    result = CliRunner().invoke(
        main, ["parties", "--fail-on", "never", "--format", "csv", str(ROOT / "examples" / "suppliers.csv")]
    )
    assert result.exit_code == 0 and "ZTE USA Inc" in result.output


def test_cli_evaluate_prints_precision_and_recall() -> None:
    result = CliRunner().invoke(main, ["parties", "evaluate"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    precision = float(last.split("precision ")[1].split(",")[0])
    recall = float(last.split("recall ")[1].split(" ")[0])
    assert precision >= 0.95 and recall >= 0.9, last


cells = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(cells, cells), max_size=8))
def test_party_files_never_lose_a_row(tmp_path: Path, rows: list[tuple[str, str]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Name", "Country"])
    writer.writerows(rows)
    path = tmp_path / "h.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    parsed = read_parties(path)
    nonblank = sum(1 for r in rows if any(c.strip() for c in r))
    assert len(parsed.parties) + len(parsed.unscreened) == nonblank
    assert all(p.name.strip() for p in parsed.parties)


def test_parallel_screening_gives_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["ZTE USA Inc", "Acme Widgets Ltd", "Huawei Technologies Co Ltd", "Hikvision Europe BV", "Initech"] * 8
    path = tmp_path / "p.csv"
    path.write_text("Name\n" + "\n".join(names) + "\n", encoding="utf-8")
    serial = run(path)
    monkeypatch.setattr(job, "PARALLEL_FROM", 10)
    monkeypatch.setattr("bansweep.parties.match.PARALLEL_FROM", 5)
    parallel = run(path, show_progress=True)  # the progress bar follows the workers' chunks
    assert screened_rows(parallel) == screened_rows(serial)
    assert [(f.subject.id, f.rule, f.status) for f in parallel.findings] == [
        (f.subject.id, f.rule, f.status) for f in serial.findings
    ]


def test_corrupt_workbook_and_odd_json_items(tmp_path: Path) -> None:
    book = tmp_path / "bad.xlsx"
    book.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    report = run(book)
    assert len(report.errors) == 1 and "not a readable XLSX workbook" in report.errors[0].message
    assert [f.status for f in report.findings] == [Status.NOT_SCREENED]

    data = tmp_path / "p.json"
    data.write_text(json.dumps([{"name": "ZTE Corporation"}, "just text", {"name": ""}, {"name": "Initech"}]))
    report = run(data)
    where = sorted(str(e.location) for e in report.errors)
    assert where == [f"{data} row 3 [name]", f"{data}![1] row 2"]
    assert report.subjects == 4 and report.summary["outcomes"]["not-screened"] == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400), st.sampled_from(["p.csv", "p.json", "p.tsv", "p.xlsx"]))
@example(b"PK\x03\x04", "p.json")  # a zip signature in a file openpyxl refuses by its name
def test_hostile_bytes_never_crash_and_never_pass_as_clean(tmp_path: Path, data: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"Name,Country\n" + data if name == "p.csv" else data)
    report = run(path)
    outcomes = report.summary["outcomes"]
    assert report.subjects == sum(outcomes.values())
    if report.errors:  # whatever could not be read shows up as a party that was not screened
        assert any(f.status is Status.NOT_SCREENED for f in report.findings)
        assert outcomes.get("not-screened", 0) >= 1
