"""Lists kept current: a list the run relies on that is missing or out of date screens no party clean; --lists
narrows on purpose; OpenSanctions exports (FollowTheMoney entities, simple CSV) are imported and screened."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bansweep.cli import main
from bansweep.findings import Report, Status
from bansweep.parties import job
from bansweep.parties.lists import csl, opensanctions, stored
from parties_fixtures import SAMPLE


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BANSWEEP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def parties(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "p.csv"
    path.write_text("Supplier,Country\n" + "".join(f"{n}\n" for n in names), encoding="utf-8")
    return path


def run(path: Path, **kw: object) -> Report:
    return job.run([path], job.Options(**kw))  # type: ignore[arg-type]


def by_party(report: Report) -> dict[str, list[tuple[str, Status]]]:
    out: dict[str, list[tuple[str, Status]]] = {}
    for f in report.findings:
        out.setdefault(f.subject.label, []).append((f.rule, f.status))
    return out


def import_sample(published: str) -> None:
    lists, errors = csl.read(SAMPLE)
    assert not errors
    csl.save(lists, SAMPLE, 0, when=published)


def test_a_stale_list_screens_but_reports_no_party_clean(tmp_path: Path) -> None:
    import_sample("2020-01-01T00:00:00+00:00")
    path = parties(tmp_path, "Acme Widgets Ltd,GB", "CETC 13th Research Institute (Hebei),CN")
    report = run(path)
    # the old CSL was still searched: the listed institute is raised
    found = by_party(report)
    assert any(rule == "parties.list.csl" for rule, _ in found["CETC 13th Research Institute (Hebei)"])
    # ... but nobody is clean against it, every party says so, and an input error names the list (exit bit 4)
    assert found["Acme Widgets Ltd"] == [("parties.screened", Status.NOT_SCREENED)]
    assert ("parties.screened", Status.NOT_SCREENED) in found["CETC 13th Research Institute (Hebei)"]
    assert [e.location.file for e in report.errors] == ["csl"] and "older than 14 days" in report.errors[0].message
    assert next(iter(report.summary)) == "headline" and report.summary["headline"].startswith("NOT SCREENED")
    acme = next(f for f in report.findings if f.subject.label == "Acme Widgets Ltd")
    assert "2020-01-01" in acme.extra["lists_missing"]["csl"] and acme.variant == "csl"
    # a longer limit (or none) accepts it: the clean party is no-match with the lists and versions as evidence
    report = run(path, max_list_age=None)
    assert report.errors == [] and by_party(report)["Acme Widgets Ltd"] == [("parties.screened", Status.NO_MATCH)]
    acme = next(f for f in report.findings if f.subject.label == "Acme Widgets Ltd")
    assert {"csl", "fcc-covered-list", "dod-1260h"} <= {e.value for e in acme.evidence}
    assert all(e.data_date for e in acme.evidence)
    assert report.summary["headline"].startswith("2 parties screened against every list")


def test_a_fresh_list_is_accepted(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    import_sample(datetime.now(timezone.utc).isoformat(timespec="seconds"))
    report = run(parties(tmp_path, "Acme Widgets Ltd,GB"))
    assert report.errors == [] and report.summary["lists_missing"] == {}
    assert by_party(report)["Acme Widgets Ltd"] == [("parties.screened", Status.NO_MATCH)]


def test_lists_narrows_on_purpose_and_unknown_names_fail(tmp_path: Path) -> None:
    path = parties(tmp_path, "Acme Widgets Ltd,GB", "ZTE Corporation,CN")
    report = run(path, only_lists=["fcc-covered-list"])
    assert report.errors == [] and set(report.summary["lists"]) == {"fcc-covered-list"}
    assert by_party(report)["Acme Widgets Ltd"] == [("parties.screened", Status.NO_MATCH)]
    assert "narrowed on purpose to fcc-covered-list" in report.summary["headline"]
    # naming a list that is not there: not screened against it
    report = run(path, only_lists=["fcc-covered-list", "opensanctions"])
    assert [e.location.file for e in report.errors] == ["opensanctions"]
    assert ("parties.screened", Status.NOT_SCREENED) in by_party(report)["Acme Widgets Ltd"]
    report = run(path, only_lists=["no-such-list"])
    assert report.findings == [] and "unknown list no-such-list" in report.errors[0].message
    assert report.summary["headline"].startswith("NOT SCREENED")


FTM = [
    {
        "id": "NK-7stars",
        "schema": "Company",
        "properties": {
            "name": ["Seven Stars Trading LLC"],
            "alias": ["Семь Звезд Трейдинг"],
            "weakAlias": ["SST"],
            "country": ["ru"],
            "registrationNumber": ["1027700132195"],
            "leiCode": ["2534001RD8VWNSSN4X67"],
        },
        "datasets": ["us_ofac_sdn", "eu_fsf"],
        "first_seen": "2022-03-01T00:00:00",
        "last_change": "2026-11-30T10:00:00",
        "target": True,
    },
    {"id": "NK-san", "schema": "Sanction", "properties": {"entity": ["NK-7stars"]}, "datasets": ["us_ofac_sdn"]},
    {"id": "NK-bad", "schema": "NoSuchSchema", "properties": {"name": ["X"]}},
]


def test_opensanctions_entities_are_imported_with_their_datasets(tmp_path: Path) -> None:
    path = tmp_path / "entities.ftm.json"
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in FTM) + "\n{not json\n", encoding="utf-8")
    assert opensanctions.recognise(path) and not opensanctions.recognise(SAMPLE)
    lists, errors = opensanctions.read(path)
    assert [e.location.line for e in errors] == [3, 4]
    (record,) = lists.records
    assert record.name == "Seven Stars Trading LLC" and record.aliases == ["Семь Звезд Трейдинг"]
    assert record.weak_aliases == ["SST"] and record.countries == ["RU"] and record.schema == "Company"
    assert record.datasets == ["us_ofac_sdn", "eu_fsf"] and record.start_date.startswith("2022-03-01")
    assert "leiCode:2534001RD8VWNSSN4X67" in record.identifiers and record.last_change.startswith("2026-11-30")
    assert lists.dates["opensanctions"].startswith("2026-11-30")
    # imported, then screened like the CSL with the dataset named in each hit
    result = CliRunner().invoke(main, ["data", "import-opensanctions", str(path)])
    assert result.exit_code == 4 and "1 entities from 2 datasets" in result.output  # two lines not read
    assert stored.path("opensanctions").exists()
    report = run(parties(tmp_path, "7 Stars Trading,RU", "Acme Widgets Ltd,GB"), max_list_age=None)
    hit = next(f for f in report.findings if f.rule == "parties.list.opensanctions")
    assert hit.subject.label == "7 Stars Trading" and hit.extra["datasets"] == ["us_ofac_sdn", "eu_fsf"]
    assert "us_ofac_sdn" in hit.title and hit.extra["schema"] == "Company"


def test_opensanctions_simple_csv(tmp_path: Path) -> None:
    path = tmp_path / "targets.simple.csv"
    path.write_text(
        "id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,program_ids,"
        "dataset,first_seen,last_seen,last_change\n"
        'NK-1,Company,Rosoboronexport,"Rosoboroneksport;ROE",,ru,"Moscow",1117746521452,,,,,'
        '"US OFAC Specially Designated Nationals (SDN) List;EU Financial Sanctions Files (FSF)",'
        "2018-04-06,2026-12-01,2026-11-20\n"
        "NK-2,Address,Some street,,,,,,,,,,US OFAC,2018-04-06,2026-12-01,2026-11-20\n",
        encoding="utf-8",
    )
    assert opensanctions.recognise(path)
    lists, errors = opensanctions.read(path)
    assert errors == [] and len(lists.records) == 1
    record = lists.records[0]
    assert record.aliases == ["Rosoboroneksport", "ROE"] and record.identifiers == ["id:1117746521452"]
    assert record.datasets[0].startswith("US OFAC") and lists.dates["opensanctions"] == "2026-11-20"
    report = job.run([parties(tmp_path, "Rosoboronexport JSC,RU")], job.Options(lists=[path]))
    assert any(f.rule == "parties.list.opensanctions" and f.status is Status.MATCH for f in report.findings)


def test_identifiers_match_exactly_when_both_sides_have_them(tmp_path: Path) -> None:
    path = tmp_path / "entities.ftm.json"
    path.write_text(json.dumps(FTM[0], ensure_ascii=False) + "\n", encoding="utf-8")
    party = tmp_path / "p.csv"
    # a name unlike the listed one, but the same LEI (written with spaces): a match by identifier
    party.write_text("Supplier,LEI\nNorthwind Holdings,2534 001R D8VW NSSN 4X67\nAcme,2534001RD8VWNSSN4X68\n")
    report = job.run([party], job.Options(lists=[path]))
    hits = [f for f in report.findings if f.rule == "parties.list.opensanctions"]
    assert [(f.subject.label, f.status) for f in hits] == [("Northwind Holdings", Status.MATCH)]
    assert hits[0].extra["identifier"] == "2534001RD8VWNSSN4X67" and "identifier" in hits[0].explanation


def test_purchase_lines_keep_supplier_item_and_manufacturer(tmp_path: Path) -> None:
    path = tmp_path / "po.csv"
    path.write_text(
        "Supplier Name,Item Description,Manufacturer,Country\nNorthwind Office Supply LLC,LTE CPE router,ZTE,US\n",
        encoding="utf-8",
    )
    report = run(path, only_lists=["fcc-covered-list"])
    maker = [f for f in report.findings if f.subject.id.endswith(":manufacturer")]
    assert maker and all(f.status is not Status.NO_MATCH for f in maker)
    subject = maker[0].subject
    assert subject.label == "ZTE (manufacturer; supplied by Northwind Office Supply LLC)"
    assert subject.attributes["supplier"] == "Northwind Office Supply LLC"
    assert subject.attributes["item"] == "LTE CPE router" and subject.attributes["manufacturer"] == "ZTE"
    hit = next(f for f in maker if f.rule.startswith("parties.list"))
    assert "purchase line: supplier Northwind Office Supply LLC, item LTE CPE router" in hit.evidence[0].detail
    supplier = next(f for f in report.findings if f.subject.label == "Northwind Office Supply LLC")
    assert supplier.subject.attributes["manufacturer"] == "ZTE" and supplier.status is Status.NO_MATCH


def test_affiliate_style_names_are_review_with_the_covered_brand_named(tmp_path: Path) -> None:
    path = parties(tmp_path, "Shenzhen Huawei Investment Co,CN", "Dubai Hikvision Trading LLC,AE")
    report = run(path, only_lists=["fcc-covered-list", "dod-1260h"])
    for label, brand in (("Shenzhen Huawei Investment Co", "huawei"), ("Dubai Hikvision Trading LLC", "hikvision")):
        raised = [f for f in report.findings if f.subject.label == label and f.rule.startswith("parties.affiliate")]
        assert raised and {f.status for f in raised} == {Status.POSSIBLE_MATCH}, label
        assert any(f.extra.get("brand") == brand or brand in f.title.casefold() for f in raised), label


def test_csl_registration_numbers_match_a_party_identifier(tmp_path: Path) -> None:
    lists, _ = csl.read(SAMPLE)
    sme = next(r for r in lists.records if r.name == "SME BANK")
    assert "Public Registration Number:1027739108649" in sme.identifiers
    assert all("Passport" not in i and "Gender" not in i for r in lists.records for i in r.identifiers)
    path = tmp_path / "p.csv"
    path.write_text("Company,Registration Number\nMSP Finance House,1027739108649\n", encoding="utf-8")
    report = job.run([path], job.Options(lists=[SAMPLE]))
    hit = next(f for f in report.findings if f.rule == "parties.list.csl")
    assert hit.status is Status.MATCH and hit.extra["identifier"] == "1027739108649"
