"""CSL bulk files (the real 13-row sample and variants built from it), the built-in FCC and 1260H lists, import-csl."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from bansweep.cli import main
from bansweep.inputs import InputProblem
from bansweep.parties.lists import csl, dod1260h, fcc
from parties_fixtures import SAMPLE


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BANSWEEP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def sample_rows() -> tuple[list[str], list[list[str]]]:
    with SAMPLE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def write_csv(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_real_sample_is_read_whole() -> None:
    lists, errors = csl.read(SAMPLE)
    assert errors == []
    assert len(lists.records) == 13
    by_name = {r.name: r for r in lists.records}
    cetc = by_name["China Electronics Technology Group Corporation 13th Research Institute (CETC 13)"]
    # "; and" alias list: the last alias loses the joiner's "and"
    assert cetc.aliases[-1] == "CETC Research Institute 13"
    assert "HSRI" in cetc.aliases and len(cetc.aliases) == 6
    # several FR citations, and "; and" address lists
    assert cetc.citations == ["83 FR 37423", "87 FR 77505"]
    assert len(cetc.addresses) == 3 and cetc.addresses[1].startswith("21 Changsheng Street")
    assert cetc.countries == ["CN"]
    assert cetc.source.startswith("Entity List (EL)")
    assert cetc.license_policy.startswith("Policy of denial")
    # Denied Persons free-text citations split on "NN F.R."
    ash = by_name["I. ASH"]
    assert ash.citations == ["67 F.R. 56530 9/4/02", "67 F.R. 10890 3/11/02", "71 F.R. 38843 7/10/06"]
    assert ash.start_date == "2002-03-04" and ash.end_date == "2056-06-29"
    # "; and any successor..." is scope, not part of the name
    assert "Sinobright Import and Export Company" in by_name
    assert "successor" in by_name["Sinobright Import and Export Company"].remarks
    # OFAC person rows keep their aliases and countries
    assert by_name["RIM, Ryong Nam"].countries == ["CN", "KP"]
    assert by_name["SME BANK"].record_id == "18283"


def test_compound_affiliated_entity_and_subordinate_names_are_split(tmp_path: Path) -> None:
    header, rows = sample_rows()
    el = next(r for r in rows if r[1].startswith("Entity List"))
    variants = [
        "Huawei Technologies Co., Ltd. (Huawei).  Affiliated Entity:  Hangzhou Huawei Enterprises",
        "Huawei Technologies Co., Ltd. (Huawei). Affiliated Entity: Huawei Marine Networks Co., Ltd.",
        "Chinese Academy of Sciences.  Subordinate Institution - Institute of Acoustics",
    ]
    built = []
    for i, name in enumerate(variants):
        row = list(el)
        row[0] = f"id{i}"
        row[5] = name
        built.append(row)
    lists, errors = csl.read(write_csv(tmp_path / "c.csv", header, built))
    assert errors == []
    got = [(r.name, r.parent) for r in lists.records]
    assert got == [
        ("Hangzhou Huawei Enterprises", "Huawei Technologies Co., Ltd. (Huawei)"),
        ("Huawei Marine Networks Co., Ltd.", "Huawei Technologies Co., Ltd. (Huawei)"),
        ("Institute of Acoustics", "Chinese Academy of Sciences"),
    ]


def test_older_export_without_id_and_tsv(tmp_path: Path) -> None:
    header, rows = sample_rows()
    lists, errors = csl.read(write_csv(tmp_path / "old.tsv", header[1:], [r[1:] for r in rows], delimiter="\t"))
    assert errors == []
    assert len(lists.records) == 13
    ids = {r.record_id for r in lists.records}
    assert len(ids) == 13 and all(i.startswith("sha224:") for i in ids)


def test_changed_columns_name_the_file_and_header(tmp_path: Path) -> None:
    header, rows = sample_rows()
    changed = [h for h in header if h != "title"]
    path = write_csv(tmp_path / "new-layout.csv", changed, [r[:6] + r[7:] for r in rows])
    with pytest.raises(InputProblem) as exc:
        csl.read(path)
    assert exc.value.location.file == str(path) and exc.value.location.line == 1
    assert "not the CSL bulk layout" in exc.value.message
    assert "found 28: _id, source, entity_number, type, programs, name, addresses" in exc.value.message


def test_bad_rows_are_reported_with_their_row_and_the_rest_is_read(tmp_path: Path) -> None:
    header, rows = sample_rows()
    bad = [rows[0], rows[1][:10], list(rows[2]), rows[3]]
    bad[2][5] = ""  # no name
    path = write_csv(tmp_path / "bad.csv", header, bad)
    lists, errors = csl.read(path)
    assert len(lists.records) == 2
    where = sorted(str(e.location) for e in errors)
    assert where == [f"{path} row 2", f"{path} row 3"]


def test_json_form_with_sources_used(tmp_path: Path) -> None:
    doc = {
        "results": [
            {
                "_id": "abc",
                "source": "Entity List (EL) - Bureau of Industry and Security",
                "name": "ZTE Parsian",
                "alt_names": ["ZTE Iran"],
                "addresses": [{"address": "No. 100 Africa Ave.", "city": "Tehran", "country": "IR"}],
                "federal_register_notice": "81 FR 12004",
                "start_date": "2016-03-08",
            },
            {"source": "x", "name": ""},
        ],
        "sources_used": [
            {
                "source": "Entity List (EL) - Bureau of Industry and Security",
                "source_last_updated": "2026-11-20T09:00:00-04:00",
            }
        ],
    }
    path = tmp_path / "consolidated.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    lists, errors = csl.read(path)
    assert [r.name for r in lists.records] == ["ZTE Parsian"]
    assert lists.records[0].countries == ["IR"] and lists.records[0].aliases == ["ZTE Iran"]
    assert len(errors) == 1 and errors[0].location.entry == "results[1]"
    assert "2026-11-20T09:00:00-04:00" in lists.versions["csl"]
    assert lists.sources["Entity List (EL) - Bureau of Industry and Security"] == "2026-11-20T09:00:00-04:00"


def test_malformed_json_list(tmp_path: Path) -> None:
    path = tmp_path / "consolidated.json"
    path.write_text('{"results": [ {"name": "x"', encoding="utf-8")
    with pytest.raises(InputProblem) as exc:
        csl.read(path)
    assert "malformed JSON" in exc.value.message and exc.value.location.line == 1
    path.write_text('{"results": [{"name": "x", "n": ' + "9" * 5000 + "}]}", encoding="utf-8")
    with pytest.raises(InputProblem, match="malformed JSON"):  # past Python's int digit limit
        csl.read(path)


def test_import_csl_stores_compactly_with_dates(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["data", "import-csl", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "imported 13 CSL records" in result.output
    stored = home / "parties" / "csl.json.gz"
    with gzip.open(stored, "rt", encoding="utf-8") as fh:
        doc = json.load(fh)
    assert len(doc["records"]) == 13 and doc["file"] == str(SAMPLE)
    loaded = csl.load_stored()
    assert loaded is not None and len(loaded.records) == 13
    assert "imported" in loaded.versions["csl"]
    doc["format"] = 1
    with gzip.open(stored, "wt", encoding="utf-8") as fh:
        json.dump(doc, fh)
    with pytest.raises(InputProblem, match="import-csl"):
        csl.load_stored()
    assert runner.invoke(main, ["data", "import-csl", "--remove"]).exit_code == 0
    assert csl.load_stored() is None


def test_import_csl_with_changed_columns_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "parties.csv"
    path.write_text("name,country\nAcme,US\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["data", "import-csl", str(path)])
    assert result.exit_code == 4
    assert "parties.csv" in result.output and "not the CSL bulk layout" in result.output


def test_builtin_lists_carry_dates_and_citations() -> None:
    fcc_list = fcc.load()
    names = {r.name for r in fcc_list.records}
    assert {"Huawei Technologies Company", "ZTE Corporation", "Hytera Communications Corporation"} <= names
    zte = next(r for r in fcc_list.records if r.name == "ZTE Corporation")
    assert zte.start_date == "2021-03-12" and "DA 21-309" in zte.citations[0]
    dod = dod1260h.load()
    assert "partial" in dod.versions["dod-1260h"]
    wisdom = next(r for r in dod.records if "Wisdom" in r.name)
    assert wisdom.start_date == "2025-01-07" and "2026-06-08" in wisdom.remarks
    assert not any("ZTE" in r.name or "Hytera" in r.name for r in dod.records)


alias_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters=";"), max_size=30
)


@settings(max_examples=200, deadline=None)
@given(st.lists(alias_text.map(str.strip).filter(lambda a: a and not a.lower().startswith("and ")), max_size=6))
def test_alias_lists_round_trip_through_the_csl_joiner(aliases: list[str]) -> None:
    # ITA joins aliases with "; " and puts "and " before the last one
    joined = "; ".join(aliases[:-1] + [f"and {aliases[-1]}"]) if len(aliases) > 1 else "; ".join(aliases)
    assert csl.split_list(joined) == aliases


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 99), st.integers(1, 99999)), min_size=1, max_size=4),
    st.sampled_from(["FR", "F.R.", "F.R"]),
)
def test_federal_register_citations_split(cites: list[tuple[int, int]], style: str) -> None:
    text = " ".join(f"{vol} {style} {page}" for vol, page in cites)
    assert csl.split_citations(text) == [f"{vol} {style} {page}" for vol, page in cites]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_compound_name_split_is_total(name: str) -> None:
    own, parent, scope = csl.split_name(name)
    assert isinstance(own, str) and isinstance(parent, str) and isinstance(scope, str)
    assert len(own) <= len(name)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(csl.COLUMNS), inner, max_size=6),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(json_values, max_size=6), json_values)
def test_hostile_csl_json_is_read_or_reported(
    tmp_path_factory: pytest.TempPathFactory, results: list[object], used: object
) -> None:
    path = tmp_path_factory.mktemp("csl") / "consolidated.json"
    path.write_text(json.dumps({"results": results, "sources_used": used}), encoding="utf-8")
    lists, errors = csl.read(path)
    assert len(lists.records) + len(errors) == len(results)
    for record in lists.records:
        assert record.name.strip() and all(isinstance(a, str) for a in record.aliases)
