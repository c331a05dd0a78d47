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
from bansweep.findings import JOB_STATUSES, Finding, Report, Status
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


NO_CSL = ["fcc-covered-list", "dod-1260h"]  # a test home has no CSL imported: these tests narrow the lists on purpose


def run(path: Path, **kw: object) -> Report:
    if "lists" not in kw:
        kw.setdefault("only_lists", NO_CSL)
    return job.run([path], job.Options(**kw))  # type: ignore[arg-type]


def outcomes(report: Report) -> dict[str, Status]:
    """Each party (subject id) and its worst status."""
    order = JOB_STATUSES["parties"]
    out: dict[str, Status] = {}
    for f in report.findings:
        now = out.get(f.subject.id)
        out[f.subject.id] = f.status if now is None or order.index(f.status) > order.index(now) else now
    return out


def screened(report: Report) -> list[Finding]:
    """The parties listed with no match (or not screened against a missing list)."""
    return [f for f in report.findings if f.rule == "parties.screened"]


def by_label(report: Report) -> dict[str, list[tuple[str, Status]]]:
    out: dict[str, list[tuple[str, Status]]] = {}
    for f in report.findings:
        out.setdefault(f.subject.label, []).append((f.rule, f.status))
    return out


def test_example_suppliers_end_to_end() -> None:
    report = run(ROOT / "examples" / "suppliers.csv", only_lists=[])
    # the CSL is not imported: one input error names it (exit code bit 4) and the summary says so first
    assert [e.location.file for e in report.errors] == ["csl"] and "not imported" in report.errors[0].message
    assert next(iter(report.summary)) == "headline" and report.summary["headline"].startswith(
        "NOT SCREENED against csl"
    )
    found = by_label(report)
    assert ("parties.list.fcc-covered-list", Status.MATCH) in found["Huawei Technologies Co. Ltd"]
    assert ("parties.list.dod-1260h", Status.MATCH) in found["华为技术有限公司"]
    assert ("parties.affiliate.brand", Status.POSSIBLE_MATCH) in found["ZTE USA Inc"]
    assert ("parties.affiliate.brand", Status.POSSIBLE_MATCH) in found["Hikvision Europe BV"]
    assert ("parties.affiliate.known", Status.MATCH) in found["Hangzhou Huawei Enterprises"]
    # the CSL is not imported: a party with no match on the other lists was not screened against it, never clean
    for clean in ("Acme Widgets Ltd", "Shanghai Dahua Scale Factory", "Northwind Office Supply LLC"):
        assert found[clean] == [("parties.screened", Status.NOT_SCREENED)]
    # every party is listed, hit or not, and counted once at its worst status
    worst = outcomes(report)
    assert report.subjects == len(worst) == 14  # 11 suppliers + 3 manufacturers named on purchase lines
    assert sum(report.summary["outcomes"].values()) == 14
    assert report.summary["outcomes"]["not-screened"] == sum(1 for s in worst.values() if s is Status.NOT_SCREENED)
    acme = next(f for f in report.findings if f.subject.label == "Acme Widgets Ltd")
    assert acme.extra["normalised"] == "acme widget" and acme.subject.id.endswith("row 10")
    assert acme.extra["lists_missing"].keys() == {"csl"} and acme.title == "Not screened against csl"
    assert {"fcc-covered-list", "dod-1260h"} <= {e.value for e in acme.evidence}
    hikvision = next(f for f in report.findings if f.subject.label == "Hikvision Europe BV")
    assert hikvision.status is Status.POSSIBLE_MATCH and hikvision.subject.attributes["country"] == "Netherlands"
    # its other finding: not compared with the CSL, so at worst not-screened in the counts
    assert worst[hikvision.subject.id] is Status.NOT_SCREENED
    huawei = next(
        f for f in report.findings if f.subject.label == "Huawei Technologies Co. Ltd" and "candidates" in f.extra
    )
    best = huawei.extra["candidates"][0]
    assert best["score"] == 1.0 and best["list"] in ("fcc-covered-list", "dod-1260h")
    assert report.summary["lists"]["csl"].startswith("not imported") and "csl" in report.summary["lists_missing"]
    assert "fcc-covered-list" in report.data_versions and "party-matching" in report.data_versions
    assert report.data_versions["headers"]  # the header names that mapped the columns
    assert report.summary["mapping"][str(ROOT / "examples" / "suppliers.csv")]["name"] == "Supplier Name"


def test_parties_with_no_match_are_listed_with_the_lists_and_versions(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("Company,Country\nAcme Widgets Ltd,GB\nCETC 13th Research Institute (Hebei),CN\n", encoding="utf-8")
    report = run(path, lists=[SAMPLE])
    assert report.summary["lists_missing"] == {}
    clean = screened(report)
    assert [(f.subject.label, f.status) for f in clean] == [("Acme Widgets Ltd", Status.NO_MATCH)]
    acme = clean[0]
    assert acme.subject.id == f"{path}:row 1" and acme.subject.identity == "acme widgets ltd|gb"
    assert acme.severity.name == "INFO" and acme.title == "No match on any list"
    lists = {e.value: e for e in acme.evidence}
    assert lists.keys() == {"csl", "covered-vendor affiliates"}
    assert lists["csl"].data_date == report.summary["lists"]["csl"] and lists["csl"].location.file == str(SAMPLE)
    assert lists["csl"].detail == f"{report.summary['list_records']} entries"
    assert acme.extra == {"identity": "acme widgets ltd|gb", "normalised": "acme widget"}  # compared in the singular
    assert report.summary["outcomes"] == {"no-match": 1, "possible-match": 1}
    assert report.subjects == 2


def test_no_parties_finding_speaks_fleet_or_firmware_words(tmp_path: Path) -> None:
    parties_words = {s.value for s in JOB_STATUSES["parties"]}
    others = {s.value for job in ("fleet", "firmware") for s in JOB_STATUSES[job]} - parties_words
    path = tmp_path / "p.csv"
    rows = (ROOT / "examples" / "suppliers.csv").read_text(encoding="utf-8").splitlines()
    path.write_text(
        "\n".join([*rows, ",,CN", "Hangzhou Hikvision Digital Technology Co Ltd,,CN", "Honor Device Co Ltd"])
    )
    report = run(path)
    statuses = {f.status.value for f in report.findings} | {v.status.value for f in report.findings for v in f.verdicts}
    assert statuses <= parties_words and {"match", "possible-match", "not-screened"} <= statuses
    assert set(report.summary["outcomes"]) <= parties_words
    for f in report.findings:
        assert not others & set(f.tags), (f.title, f.tags)
        assert not {w for w in ("covered-limited", "not-covered", "review") if w in f.title.split()}, f.title
    limited = [f for f in report.findings if "limited-scope" in f.tags]
    assert Status.MATCH in {f.status for f in limited}
    assert all(f.status in (Status.MATCH, Status.POSSIBLE_MATCH) for f in limited)


def test_finding_carries_the_audit_record(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("Company,Country\nCETC 13th Research Institute (Hebei),CN\nZTE Corp,CN\n", encoding="utf-8")
    report = run(path, lists=[SAMPLE])
    finding = next(f for f in report.findings if f.extra.get("list") == "csl")
    extra = finding.extra
    assert "decision_key" not in extra and extra["identity"] == "cetc 13th research institute (hebei)|cn"
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
    assert finding.key == finding.to_dict()["key"] and finding.variant == f"csl:{extra['record_id']}"


def test_imported_csl_is_used_by_default(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["data", "import-csl", str(SAMPLE)]).exit_code == 0
    path = tmp_path / "p.csv"
    path.write_text("Vendor Name\nRosneft Trading Ltd\nZTE Corporation\n", encoding="utf-8")
    report = run(path, only_lists=[], max_list_age=None)
    assert report.errors == [] and report.summary["lists_missing"] == {}
    lists = {f.extra.get("list") for f in report.findings}
    assert {"csl", "fcc-covered-list"} <= lists
    assert "imported" in report.summary["lists"]["csl"]


def write_decisions(path: Path, finding: Finding, decision: str, hash_value: str | None = None) -> None:
    entry = {"key": finding.key, "hash": hash_value or finding.extra["record_hash"]}
    entry.update(decision=decision, by="j.doe", at="2026-11-20T10:00:00Z", reason="different firm, checked registry")
    path.write_text(yaml.safe_dump({"decisions": [entry]}), encoding="utf-8")


ALMAZ_ROW = (
    '"x1","Specially Designated Nationals (SDN) - Treasury Department","","Entity","UKRAINE-EO13661","ALMAZ-ANTEY"'
    + ',""' * 23
)


def almaz_list(tmp_path: Path, row: str = ALMAZ_ROW) -> Path:
    lst = tmp_path / "l.csv"
    header = SAMPLE.read_text(encoding="utf-8").splitlines()[0]
    lst.write_text(f"{header}\n{row}\n", encoding="utf-8")
    return lst


def csl_finding(report: Report) -> Finding:
    return next(f for f in report.findings if f.extra.get("list") == "csl")


def test_decisions_are_reapplied_and_raised_again_when_the_entry_changes(tmp_path: Path) -> None:
    parties = tmp_path / "p.csv"
    parties.write_text("Supplier\nAlmaz Antey Telecom\n", encoding="utf-8")
    lst = almaz_list(tmp_path)
    hit = csl_finding(run(parties, lists=[lst]))
    assert hit.status in (Status.MATCH, Status.POSSIBLE_MATCH)

    decisions = tmp_path / "decisions.yaml"
    write_decisions(decisions, hit, "clear")
    cleared = csl_finding(run(parties, lists=[lst], decisions=decisions))
    assert cleared.status is Status.CLEARED and [v.status for v in cleared.verdicts] == [Status.CLEARED]
    assert cleared.extra["decision"]["by"] == "j.doe" and "Cleared by j.doe" in cleared.explanation
    assert run(parties, lists=[lst], decisions=decisions).summary["decisions"]["applied"] == 1

    almaz_list(tmp_path, ALMAZ_ROW.replace("UKRAINE-EO13661", "UKRAINE-EO13661; RUSSIA-EO14024"))
    report = run(parties, lists=[lst], decisions=decisions)
    again = csl_finding(report)
    assert again.key == hit.key  # the same finding: only the entry's content changed
    assert again.status is hit.status and "decision-stale" in again.tags
    assert again.extra["decision"]["stale"] is True and "changed since j.doe" in again.explanation
    assert report.summary["decisions"] == {**report.summary["decisions"], "applied": 0, "stale": 1}

    write_decisions(decisions, hit, "confirm", hash_value=hit.extra["record_hash"])
    almaz_list(tmp_path)
    confirmed = csl_finding(run(parties, lists=[lst], decisions=decisions))
    assert confirmed.status is Status.MATCH and "decision-confirm" in confirmed.tags


def test_keys_follow_the_party_not_its_row_or_file(tmp_path: Path) -> None:
    lst = almaz_list(tmp_path)
    first = tmp_path / "a.csv"
    first.write_text("Supplier,Country\nAlmaz Antey Telecom,RU\nAcme Widgets Ltd,GB\n", encoding="utf-8")
    moved = tmp_path / "b.csv"
    moved.write_text(
        "Vendor Name,Ctry\nInitech,US\nAcme  Widgets LTD,gb\nGlobex,US\nALMAZ ANTEY TELECOM,ru\n", encoding="utf-8"
    )
    before = {(f.subject.label.casefold(), f.rule): f for f in run(first, lists=[lst]).findings}
    after = {(" ".join(f.subject.label.split()).casefold(), f.rule): f for f in run(moved, lists=[lst]).findings}
    for (name, rule), finding in before.items():
        other = after[(name, rule)]
        assert other.subject.id != finding.subject.id  # another file, another row
        assert other.key == finding.key, (name, rule)
    assert len({f.key for f in before.values()}) == len(before) == 2
    # another country is another party
    elsewhere = tmp_path / "c.csv"
    elsewhere.write_text("Supplier,Country\nAlmaz Antey Telecom,BR\n", encoding="utf-8")
    assert csl_finding(run(elsewhere, lists=[lst])).key != csl_finding(run(first, lists=[lst])).key


def test_a_decision_follows_the_party_to_another_row_and_file(tmp_path: Path) -> None:
    lst = almaz_list(tmp_path)
    first = tmp_path / "a.csv"
    first.write_text("Supplier\nAlmaz Antey Telecom\n", encoding="utf-8")
    decisions = tmp_path / "decisions.yaml"
    write_decisions(decisions, csl_finding(run(first, lists=[lst])), "clear")
    moved = tmp_path / "b.csv"
    moved.write_text("Supplier\nInitech\nGlobex\nAlmaz Antey Telecom\n", encoding="utf-8")
    report = run(moved, lists=[lst], decisions=decisions)
    cleared = csl_finding(report)
    assert cleared.subject.id == f"{moved}:row 3" and cleared.status is Status.CLEARED
    assert report.summary["decisions"]["applied"] == 1
    assert outcomes(report)[cleared.subject.id] is Status.CLEARED


def test_decisions_in_the_older_form_still_apply(tmp_path: Path) -> None:
    lst = almaz_list(tmp_path)
    parties = tmp_path / "p.csv"
    parties.write_text("Supplier\nAlmaz Antey Telecom\nZTE USA Inc\n", encoding="utf-8")
    report = run(parties, lists=[lst])
    hit = csl_finding(report)
    brand = next(f for f in report.findings if f.rule == "parties.affiliate.brand")
    decisions = tmp_path / "old.yaml"
    old = [
        {"party": f.extra["identity"], "list": f.extra["list"], "record": f.extra["record_id"],
         "hash": f.extra["record_hash"], "decision": "clear", "by": "j.doe", "at": "2025-01-02T00:00:00Z"}
        for f in (hit, brand)
    ]  # fmt: skip
    decisions.write_text(yaml.safe_dump({"decisions": old}), encoding="utf-8")
    again = run(parties, lists=[lst], decisions=decisions)
    assert again.errors == []
    assert csl_finding(again).status is Status.CLEARED
    assert next(f for f in again.findings if f.rule == "parties.affiliate.brand").status is Status.CLEARED


def test_bad_decisions_file_is_reported_and_screening_goes_on(tmp_path: Path) -> None:
    parties = tmp_path / "p.csv"
    parties.write_text("Supplier\nZTE Corporation\n", encoding="utf-8")
    decisions = tmp_path / "d.yaml"
    decisions.write_text("decisions:\n  - party: x\n    decision: maybe\n  - [1, 2\n", encoding="utf-8")
    report = run(parties, decisions=decisions)
    assert any("d.yaml" in str(e) and "malformed YAML" in e.message for e in report.errors)
    assert any(f.status is Status.MATCH for f in report.findings)
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
    errors = [f for f in report.findings if f.rule == "parties.not-screened"]
    assert len(errors) == 3 and all(f.status.value == "not-screened" for f in errors)
    assert report.summary["outcomes"]["not-screened"] == 3
    assert report.subjects == 4
    reasons = {f.subject.id: f.evidence[0].detail for f in errors}
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
        assert "Société Générale Électronique" in {f.subject.label for f in report.findings}, enc


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
    assert result.exit_code == 1 | 4  # matches (--fail-on covered, the level of match); the CSL is not imported
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["subjects"] == 14 and doc["summary"]["outcomes"]["match"] >= 3
    assert len({f["subject"]["id"] for f in doc["findings"]}) == 14  # every party is listed
    assert all("decision_key" not in f["extra"] and f["key"].startswith("k1-") for f in doc["findings"])
    clean = tmp_path / "clean.csv"
    clean.write_text("Supplier\nAcme Widgets Ltd\n", encoding="utf-8")
    # not compared with the CSL (not imported): bit 4 always, and not clean at the possible-match level
    assert CliRunner().invoke(main, ["parties", "--fail-on", "match", str(clean)]).exit_code == 4
    assert CliRunner().invoke(main, ["parties", "--fail-on", "possible-match", str(clean)]).exit_code == 1 | 4
    # with every list: clean
    with_list = ["parties", "--fail-on", "possible-match", "--list", str(SAMPLE), str(clean)]
    assert CliRunner().invoke(main, with_list).exit_code == 0
    result = CliRunner().invoke(
        main, ["parties", "--fail-on", "never", "--format", "csv", str(ROOT / "examples" / "suppliers.csv")]
    )
    assert result.exit_code == 4 and "ZTE USA Inc" in result.output


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
    serial = run(path, workers=1)
    monkeypatch.setattr(job, "PARALLEL_FROM", 10)
    monkeypatch.setattr(job, "CHUNK_MIN", 4)  # 40 parties in chunks of 4: both workers get some
    monkeypatch.setattr("bansweep.parties.match.PARALLEL_FROM", 5)
    monkeypatch.setattr("bansweep.parties.match.os.cpu_count", lambda: 2)  # two normalising workers, whatever the CPU
    parallel = run(path, show_progress=True, workers=2)  # two screening workers; the bar follows their chunks
    assert serial.summary["executor"]["workers"] < 2 and parallel.summary["executor"]["workers"] == 2
    assert parallel.summary["outcomes"] == serial.summary["outcomes"]
    assert [(f.subject.id, f.rule, f.status, f.key) for f in parallel.findings] == [
        (f.subject.id, f.rule, f.status, f.key) for f in serial.findings
    ]


def test_corrupt_workbook_and_odd_json_items(tmp_path: Path) -> None:
    book = tmp_path / "bad.xlsx"
    book.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    report = run(book)
    assert len(report.errors) == 1 and "not a readable XLSX workbook" in report.errors[0].message
    assert [f.status for f in report.findings] == [Status.NOT_SCREENED]

    data = tmp_path / "p.json"
    data.write_text(json.dumps([{"name": "ZTE Corporation"}, "just text", {"name": ""}, {"name": "Initech"}]))
    report = run(data, only_lists=[])
    where = sorted(str(e.location) for e in report.errors)
    assert where == [f"{data} row 3 [name]", f"{data}![1] row 2", "csl"]
    assert report.subjects == 4 and report.summary["outcomes"] == {"match": 1, "not-screened": 3}  # no CSL
    assert [f.rule for f in report.findings if f.subject.label == "Initech"] == ["parties.screened"]


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


def test_every_extra_is_declared_with_its_type(tmp_path: Path) -> None:
    import typing

    from bansweep.parties import model

    declared = {
        "parties.screened": model.ScreenedExtra,
        "parties.not-screened": model.NotScreenedExtra,
        "parties.list.": model.MatchExtra,
        "parties.affiliate.": model.MatchExtra,
    }
    path = tmp_path / "p.csv"
    rows = (ROOT / "examples" / "suppliers.csv").read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*rows, ",,CN", "Honor Device Co Ltd"]), encoding="utf-8")
    decisions = tmp_path / "d.yaml"
    report = run(path)
    hit = next(f for f in report.findings if f.rule == "parties.list.fcc-covered-list")
    write_decisions(decisions, hit, "clear")
    report = run(path, decisions=decisions)
    seen = set()
    for f in report.findings:
        kind = next(k for k in declared if f.rule == k or (k.endswith(".") and f.rule.startswith(k)))
        spec = declared[kind]
        seen.add(kind)
        assert spec.__required_keys__ <= f.extra.keys() <= spec.__required_keys__ | spec.__optional_keys__, f.rule
        for key, hint in typing.get_type_hints(spec).items():
            if key in f.extra:
                base = typing.get_origin(hint) or hint
                base = dict if typing.is_typeddict(base) else base
                assert isinstance(f.extra[key], (int, float) if base is float else base), (f.rule, key)
    assert seen == set(declared)
    assert any("decision" in f.extra for f in report.findings)
