"""Inventory context in fleet: location, owner, install status, purchase/install date and asset tag are mapped
(shown, overridable), carried into every report format with where each value was read; devices recorded as
retired, disposed of or stolen are marked and counted apart; a device's own date judges ownership windows."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from bansweep.cli import main
from bansweep.findings import InputError, Report
from bansweep.fleet import context, dates, sources
from bansweep.fleet.job import Options, run
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import inventory_csv_fast as fast
from bansweep.reports import json as json_format
from bansweep.reports import sarif as sarif_report

EXAMPLES = Path(__file__).parent.parent / "examples"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "reports" / "sarif-schema-2.1.0.json").read_text())
AS_OF = "2026-11-22"

# a ServiceNow cmdb_ci export (list view, Export > CSV) with its field names as the header
SNOW_HEADER = [
    "sys_id",
    "name",
    "sys_class_name",
    "manufacturer",
    "model_id",
    "serial_number",
    "mac_address",
    "ip_address",
    "location",
    "assigned_to",
    "install_status",
    "asset_tag",
    "purchase_date",
    "install_date",
]
SNOW_ROWS = [
    # Lorex belonged to Dahua from 2018 to 2022-11-24 (knowledge/data/vendors.yaml)
    [
        "a1",
        "nvr-lobby",
        "cmdb_ci_netgear",
        "Lorex",
        "N841",
        "LX1",
        "",
        "10.1.0.5",
        "HQ Lobby",
        "Facilities",
        "1",
        "P100001",
        "2019-05-02",
        "2019-05-20",
    ],
    [
        "a2",
        "nvr-old",
        "cmdb_ci_netgear",
        "Lorex",
        "N841",
        "LX2",
        "",
        "10.1.0.6",
        "HQ Basement",
        "Facilities",
        "Installed",
        "P100002",
        "03/01/2017",
        "",
    ],
    [
        "a3",
        "sw-retired",
        "cmdb_ci_ip_switch",
        "Huawei",
        "S5720-28X-LI-AC",
        "HW1",
        "00:e0:fc:01:02:03",
        "10.1.0.7",
        "DC Row 4",
        "Network team",
        "7",
        "P100003",
        "2018-02-01",
        "",
    ],
    [
        "a4",
        "cam-yard",
        "cmdb_ci_ip_camera",
        "Hikvision",
        "DS-2CD2143G2-IS",
        "HK1",
        "44:19:b6:01:02:03",
        "10.1.0.8",
        "Yard",
        "Security",
        "Installed",
        "P100004",
        "not known",
        "14.02.2020",
    ],
    [
        "a5",
        "laptop-7",
        "cmdb_ci_computer",
        "Dell Inc.",
        "Latitude 7420",
        "DL1",
        "f0:18:98:01:02:03",
        "10.1.0.9",
        "Branch 2",
        "jane.doe",
        "In stock",
        "P100005",
        "2022-01-10",
        "",
    ],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["fleet", "--as-of", AS_OF, "--no-store", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


def json_report(*args: str) -> tuple[int, dict]:
    code, out = cli("--format", "json", *args)
    return code, json.loads(out)


def by_name(report: dict) -> dict[str, dict]:
    return {f["subject"]["attributes"]["hostname"]: f for f in report["findings"]}


@pytest.fixture
def snow(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "cmdb_ci.csv", SNOW_HEADER, SNOW_ROWS)


# --- header knowledge -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            SNOW_HEADER,
            {
                "location": "location",
                "owner": "assigned_to",
                "install_status": "install_status",
                "asset_tag": "asset_tag",
                "purchase_date": "purchase_date",
                "install_date": "install_date",
            },
        ),
        (  # ServiceNow list export with labels
            [
                "Name",
                "Manufacturer",
                "Model ID",
                "Serial number",
                "Location",
                "Assigned to",
                "Install Status",
                "Asset tag",
                "Purchased",
                "Installed",
            ],
            {
                "location": "Location",
                "owner": "Assigned to",
                "install_status": "Install Status",
                "asset_tag": "Asset tag",
                "purchase_date": "Purchased",
                "install_date": "Installed",
            },
        ),
        (  # Snipe-IT asset export
            [
                "Asset Tag",
                "Asset Name",
                "Serial",
                "Model",
                "Manufacturer",
                "Location",
                "Checked Out To",
                "Status",
                "Purchase Date",
            ],
            {
                "location": "Location",
                "owner": "Checked Out To",
                "install_status": "Status",
                "asset_tag": "Asset Tag",
                "purchase_date": "Purchase Date",
            },
        ),
        (  # NetBox device export
            ["name", "status", "tenant", "site", "location", "manufacturer", "device_type", "serial", "asset_tag"],
            {"location": "location", "owner": "tenant", "install_status": "status", "asset_tag": "asset_tag"},
        ),
        (  # GLPI computers export
            [
                "Name",
                "Status",
                "Manufacturer",
                "Serial number",
                "Inventory number",
                "Location",
                "User",
                "Date of purchase",
            ],
            {
                "location": "Location",
                "owner": "User",
                "install_status": "Status",
                "asset_tag": "Inventory number",
                "purchase_date": "Date of purchase",
            },
        ),
    ],
)
def test_context_columns_of_real_exports_are_recognised(header: list[str], expected: dict[str, str]) -> None:
    chosen = sources.inventory_mapping.describe(header, sources.inventory_mapping.auto_map(header))
    assert {k: v for k, v in chosen.items() if k in context.FIELDS} == expected


def test_the_mapping_is_shown_and_overridable(snow: Path) -> None:
    code, report = json_report(str(snow))
    shown = report["summary"]["mappings"][str(snow)]
    assert shown["location"] == "location" and shown["owner"] == "assigned_to" and shown["asset_tag"] == "asset_tag"
    code, report = json_report("--map", "owner=sys_class_name", "--map", "install_status=", str(snow))
    shown = report["summary"]["mappings"][str(snow)]
    assert shown["owner"] == "sys_class_name" and "install_status" not in shown
    sw = by_name(report)["sw-retired"]
    assert sw["subject"]["attributes"]["owner"] == "cmdb_ci_ip_switch" and "in_use" not in sw["subject"]["attributes"]
    assert report["summary"]["not_in_use"]["devices"] == 0


# --- dates and status words ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "serial", "expected"),
    [
        ("2017-03-01", False, "2017-03-01"),
        ("2017-03-01 10:22:05", False, "2017-03-01"),
        ("2017-03-01T10:22:05Z", False, "2017-03-01"),
        ("2017/3/1", False, "2017-03-01"),
        ("3/1/2017", False, None),  # alone, its day/month order cannot be told
        ("5/5/2017", False, "2017-05-05"),  # the same date in both orders
        ("25/12/2017", False, "2017-12-25"),  # no month 25: day first
        ("12/25/2017", False, "2017-12-25"),  # no month 25: month first
        ("25-12-2017", False, "2017-12-25"),
        ("1.3.2017", False, "2017-03-01"),  # dotted: day first
        ("01-Mar-2017", False, "2017-03-01"),
        ("Mar 1, 2017", False, "2017-03-01"),
        ("42795", True, "2017-03-01"),  # an Excel day number in a workbook
        ("42795.5", True, "2017-03-01"),
        ("42795", False, None),  # not in a CSV
        ("2017-02-30", False, None),
        ("13/13/2017", False, None),
        ("31.31.2017", False, None),
        ("soon", False, None),
        ("", False, None),
        ("60", True, None),  # Excel's 1900-02-29
    ],
)
def test_dates(text: str, serial: bool, expected: str | None) -> None:
    assert dates.parse_date(text, serial) == expected


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("03/01/2017", "day-first", "2017-01-03"),
        ("03/01/2017", "month-first", "2017-03-01"),
        ("03-01-2017 10:22", "day-first", "2017-01-03"),
        ("1.3.2017", "month-first", "2017-01-03"),
        ("25/12/2017", "month-first", None),
        ("2017-03-01", "day-first", "2017-03-01"),  # ISO has no order to tell
    ],
)
def test_dates_in_an_order(text: str, order: str, expected: str | None) -> None:
    assert dates.parse_date(text, order=order) == expected


@pytest.mark.parametrize(
    ("value", "column", "label"),
    [
        ("Retired", "Install Status", "Retired"),
        ("RETIRED", "Status", "RETIRED"),
        ("Retired - Disposed", "State", "Retired - Disposed"),
        ("Lost/Stolen", "Status", "Lost/Stolen"),
        ("Archived", "Status", "Archived"),
        ("7", "install_status", "7 = Retired"),  # ServiceNow's value without display values
        ("7", "Status", None),  # another tool's 7
        ("Installed", "install_status", None),
        ("In use", "Status", None),
        ("In stock", "Status", None),  # still held: counted
        ("Ready to Deploy", "Status", None),
    ],
)
def test_status_words_that_mean_not_in_use(value: str, column: str, label: str | None) -> None:
    assert context.status_words().not_in_use(value, column) == label


# --- every report format ------------------------------------------------------------------------------------------


def test_context_in_json_with_where_each_value_was_read(snow: Path) -> None:
    _, report = json_report(str(snow))
    cam = by_name(report)["cam-yard"]
    attrs = cam["subject"]["attributes"]
    assert attrs["location"] == "Yard" and attrs["owner"] == "Security" and attrs["asset_tag"] == "P100004"
    assert attrs["install_date"] == "2020-02-14"  # 14.02.2020 read day first
    assert cam["extra"]["context"]["location"] == {"value": "Yard", "file": str(snow), "row": 5, "field": "location"}
    assert cam["extra"]["context"]["owner"]["field"] == "assigned_to"
    assert cam["extra"]["in_use"] is True


def test_reports_with_context_keep_their_schemas(snow: Path) -> None:
    report = run([snow], Options(as_of=AS_OF))
    assert any("context" in f.extra for f in report.findings)
    jsonschema.Draft202012Validator(json_format.schema()).validate(json.loads(json_format.render(report)))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(sarif_report.render(report)))


def test_sweep_takes_count_retired(snow: Path) -> None:
    args = ["sweep", "--format", "json", "--as-of", AS_OF, "--no-store", str(snow)]
    plain = json.loads(CliRunner().invoke(main, args).stdout)
    counted = json.loads(CliRunner().invoke(main, [*args[:1], "--count-retired", *args[1:]]).stdout)
    assert plain["summary"]["fleet.not_in_use"] == {"devices": 1, "by_status": {"covered": 1}, "counted": False}
    assert counted["summary"]["fleet.not_in_use"]["counted"] is True


def test_context_in_csv_sarif_html_and_table(snow: Path, tmp_path: Path) -> None:
    out = {}
    for fmt in ("csv", "sarif", "html", "table"):
        out[fmt] = cli("--format", fmt, "--fail-on", "never", "-o", str(tmp_path / f"r.{fmt}"), str(snow))
        assert out[fmt][0] == 4  # the bad date
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8-sig"))))
    sw = next(r for r in rows if r["subject.hostname"] == "sw-retired")
    assert sw["subject.location"] == "DC Row 4" and sw["subject.owner"] == "Network team"
    assert sw["subject.asset_tag"] == "P100003" and sw["subject.in_use"] == "no (7 = Retired)"
    assert sw["subject.purchase_date"] == "2018-02-01"
    sarif = json.loads((tmp_path / "r.sarif").read_text())
    results = sarif["runs"][0]["results"]
    props = next(
        r["properties"] for r in results if r["properties"]["subject"]["attributes"].get("asset_tag") == "P100003"
    )
    assert props["extra"]["in_use"] is False and props["extra"]["context"]["install_status"]["value"] == "7"
    assert props["extra"]["context"]["install_status"] == {
        "value": "7",
        "file": str(snow),
        "row": 4,
        "field": "install_status",
    }
    html = (tmp_path / "r.html").read_text()
    assert "DC Row 4" in html and "P100003" in html and "no (7 = Retired)" in html
    assert "<th>Not in use</th><td>1 device(s) recorded as retired" in html
    assert "in use: no (7 = Retired) · DC Row 4 · Network team · tag P100003</span>" in html
    table = (tmp_path / "r.table").read_text()
    assert "Not in use 1 device(s) recorded as retired" in table
    assert "cmdb_ci.csv row 4 · in use: no (7 = Retired) · DC Row 4" in table
    assert "cmdb_ci.csv row 5 · Yard · Security · tag P100004" in table


# --- retired devices ----------------------------------------------------------------------------------------------


def test_retired_devices_are_marked_and_counted_apart(snow: Path) -> None:
    code, report = json_report(str(snow))
    sw = by_name(report)["sw-retired"]
    assert sw["status"] == "covered"  # what the device is does not change
    assert sw["subject"]["attributes"]["in_use"] == "no (7 = Retired)" and sw["extra"]["in_use"] is False
    assert "not-in-use" in sw["tags"] and "not-counted" in sw["tags"]
    assert "not counted as in use" in sw["explanation"]
    summary = report["summary"]
    assert summary["not_in_use"] == {"devices": 1, "by_status": {"covered": 1}, "counted": False}
    assert summary["devices"] == 5 and "covered" not in summary["by_status"]
    assert "huawei" not in summary["by_vendor"]
    code, counted = json_report("--count-retired", str(snow))
    assert counted["summary"]["by_status"]["covered"] == 1 and counted["summary"]["not_in_use"]["counted"] is True
    sw = by_name(counted)["sw-retired"]
    assert "not-in-use" in sw["tags"] and "not-counted" not in sw["tags"]


def test_a_retired_covered_device_alone_does_not_fail_the_run_unless_counted(tmp_path: Path) -> None:
    rows = [r for r in SNOW_ROWS if r[1] in ("sw-retired", "laptop-7")]
    path = write_csv(tmp_path / "retired.csv", SNOW_HEADER, rows)
    assert cli(str(path))[0] == 0
    assert cli("--count-retired", str(path))[0] == 1


def test_a_retired_device_seen_on_the_network_is_in_use(tmp_path: Path) -> None:
    header = ["name", "manufacturer", "mac_address", "install_status", "location"]
    path = write_csv(
        tmp_path / "cmdb.csv", header, [["cam-lobby-01", "Hikvision", "44:19:b6:3a:10:15", "Retired", "Lobby"]]
    )
    _, report = json_report(str(path), str(EXAMPLES / "network-scan.xml"))
    cam = next(f for f in report["findings"] if f["subject"]["id"] == "44:19:B6:3A:10:15")
    assert cam["extra"]["in_use"] is True and "not-in-use" not in cam["tags"]
    assert cam["subject"]["attributes"]["in_use"] == "yes (recorded Retired, seen by nmap)"
    assert report["summary"]["not_in_use"]["devices"] == 0


# --- the date that judges ownership windows -----------------------------------------------------------------------


def test_purchase_date_judges_the_ownership_window(snow: Path) -> None:
    _, report = json_report(str(snow))
    inside, outside = by_name(report)["nvr-lobby"], by_name(report)["nvr-old"]
    assert inside["status"] == "covered-limited" and outside["status"] == "review"
    assert f"judged at purchase date 2019-05-02 ({snow} row 2, column purchase_date), within" in inside["explanation"]
    # 03/01/2017 could be either order: the file's install dates prove day-first (14.02.2020), so 3 January
    how = "read day-first, as column install_date proves by row 5: 14.02.2020"
    judged = f"judged at purchase date 2017-01-03 ({snow} row 3, column purchase_date; {how}), outside"
    assert judged in outside["explanation"]
    assert "the purchase date 2017-01-03 is outside that period" in outside["verdicts"][0]["reason"]
    dated = [e for e in outside["evidence"] if e["rule"] == "inventory.purchase_date"]
    assert dated == [
        {
            "rule": "inventory.purchase_date",
            "value": "2017-01-03",
            "location": {"file": str(snow), "row": 3, "field": "purchase_date"},
            "detail": f"the purchase date judges the ownership window (not --as-of {AS_OF})",
        }
    ]


def test_without_a_date_as_of_judges_and_install_date_stands_in(tmp_path: Path) -> None:
    header = ["name", "manufacturer", "model", "purchase_date", "install_date"]
    rows = [["a", "Lorex", "N841", "", ""], ["b", "Lorex", "N841", "", "2020-07-01"], ["c", "Lorex", "N841", "x", ""]]
    path = write_csv(tmp_path / "lorex.csv", header, rows)
    _, report = json_report("--as-of", "2020-01-01", str(path))
    found = by_name(report)
    assert found["a"]["status"] == "covered-limited" and "judged as of 2020-01-01" in found["a"]["explanation"]
    assert "judged at install date 2020-07-01" in found["b"]["explanation"]
    assert found["c"]["status"] == "covered-limited"  # the bad date: judged as of --as-of
    assert [e["location"] for e in report["errors"]] == [{"file": str(path), "row": 4, "field": "purchase_date"}]
    assert "not a date: 'x'" in report["errors"][0]["message"]


def test_a_bad_date_is_an_input_error_at_its_row_and_the_device_is_still_judged(snow: Path) -> None:
    code, report = json_report(str(snow))
    assert code & 4
    assert report["errors"] == [
        {
            "location": {"file": str(snow), "row": 5, "field": "purchase_date"},
            "where": f"{snow} row 5 [purchase_date]",
            "message": "not a date: 'not known' (expected a date such as "
            f"{dates.DATE_FORMS}); the device is judged without it",
        }
    ]
    assert by_name(report)["cam-yard"]["status"] == "covered-limited"


# --- other exports -----------------------------------------------------------------------------------------------


def test_xlsx_with_date_cells_and_excel_day_numbers(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Assets"
    sheet.append(["Asset inventory, exported 2026-11-01"])
    sheet.append(
        ["Asset Tag", "Device Name", "Manufacturer", "Model", "Location", "Assigned To", "Status", "Purchase Date"]
    )
    sheet.append(["T-1", "nvr-a", "Lorex", "N841", "Depot", "Ops", "Deployed", datetime(2017, 3, 1)])
    sheet.append(["T-2", "nvr-b", "Lorex", "N841", "Depot", "Ops", "Disposed", 43556])  # 2019-04-01
    sheet.append(["T-3", "nvr-c", "Lorex", "N841", "Depot", "Ops", "Deployed", "31/31/2019"])
    path = tmp_path / "assets.xlsx"
    book.save(path)
    _, report = json_report(str(path))
    found = by_name(report)
    assert found["nvr-a"]["subject"]["attributes"]["purchase_date"] == "2017-03-01"
    assert (
        found["nvr-a"]["status"] == "review" and "judged at purchase date 2017-03-01" in found["nvr-a"]["explanation"]
    )
    assert found["nvr-b"]["subject"]["attributes"]["purchase_date"] == "2019-04-01"
    assert found["nvr-b"]["status"] == "covered-limited" and found["nvr-b"]["extra"]["in_use"] is False
    assert found["nvr-b"]["extra"]["context"]["asset_tag"] == {
        "value": "T-2",
        "file": str(path),
        "row": 4,
        "entry": "Assets",
        "field": "Asset Tag",
    }
    assert [e["location"] for e in report["errors"]] == [
        {"file": str(path), "row": 5, "entry": "Assets", "field": "Purchase Date"}
    ]


def test_snipe_it_export(tmp_path: Path) -> None:
    header = [
        "Asset Tag",
        "Asset Name",
        "Serial",
        "Model",
        "Manufacturer",
        "Category",
        "Location",
        "Checked Out To",
        "Status",
        "Purchase Date",
    ]
    rows = [
        [
            "000101",
            "Lobby camera",
            "K1",
            "DS-2CD2143G2-IS",
            "Hikvision",
            "Camera",
            "HQ",
            "Security",
            "Ready to Deploy",
            "2021-01-05",
        ],
        [
            "000102",
            "Old camera",
            "K2",
            "DS-2CD2042WD-I",
            "Hikvision",
            "Camera",
            "Store room",
            "",
            "Lost/Stolen",
            "2016-06-30",
        ],
        ["000103", "Spare camera", "K3", "DS-2CD2042WD-I", "Hikvision", "Camera", "Store room", "", "Archived", ""],
    ]
    path = write_csv(tmp_path / "snipeit-assets.csv", header, rows)
    _, report = json_report(str(path))
    tags = {f["subject"]["attributes"]["asset_tag"]: f for f in report["findings"]}
    assert tags["000101"]["extra"]["in_use"] is True and tags["000101"]["subject"]["attributes"]["owner"] == "Security"
    assert tags["000102"]["subject"]["attributes"]["in_use"] == "no (Lost/Stolen)"
    assert tags["000103"]["subject"]["attributes"]["in_use"] == "no (Archived)"
    assert report["summary"]["not_in_use"]["devices"] == 2
    assert report["summary"]["by_status"] == {"covered-limited": 1}


def test_servicenow_json_export(tmp_path: Path) -> None:
    records = [
        {
            "name": "nvr-9",
            "manufacturer": {"display_value": "Lorex", "link": "https://example.invalid/api/now/table/core_company/1"},
            "model_id": {"display_value": "N841"},
            "location": {"display_value": "HQ Roof"},
            "assigned_to": {"display_value": "Facilities"},
            "install_status": "7",
            "asset_tag": "P9",
            "purchase_date": "2017-03-01",
        }
    ]
    path = tmp_path / "cmdb_ci.json"
    path.write_text(json.dumps({"result": records}))
    _, report = json_report(str(path))
    (nvr,) = report["findings"]
    attrs = nvr["subject"]["attributes"]
    assert attrs["location"] == "HQ Roof" and attrs["owner"] == "Facilities" and attrs["in_use"] == "no (7 = Retired)"
    assert nvr["extra"]["context"]["purchase_date"] == {
        "value": "2017-03-01",
        "file": str(path),
        "row": 1,
        "field": "purchase_date",
    }
    assert "judged at purchase date 2017-03-01" in nvr["explanation"]


# --- many rows: the fast reader and the per-row path give the same report -----------------------------------------


def _rows(count: int) -> tuple[list[list[str]], dict[str, int]]:
    """count CMDB rows: cameras, switches, laptops and Lorex recorders, some retired, some bought in or out of
    Lorex's years with Dahua (2018 to 2022-11-24)."""
    rnd = random.Random(8)
    rows: list[list[str]] = []
    expect = {"retired": 0, "lorex_in": 0, "lorex_out": 0}
    kinds = [
        ("Hikvision", "DS-2CD2143G2-IS", "44:19:b6"),
        ("Huawei", "S5720-28X-LI-AC", "00:e0:fc"),
        ("Dell Inc.", "Latitude 7420", "f0:18:98"),
        ("Lorex", "N841", ""),
    ]
    for n in range(count):
        maker, model, block = kinds[n % 4]
        mac = f"{block}:{n >> 8 & 255:02x}:{n & 255:02x}:01" if block else ""
        status = rnd.choice(["Installed", "Installed", "In use", "Retired", "Disposed", "7", "In stock"])
        retired = status in ("Retired", "Disposed", "7")
        expect["retired"] += retired
        day = rnd.choice(["2016-04-01", "2019-06-15", "3/15/2021", "01.12.2023", ""])
        if maker == "Lorex" and day:
            expect["lorex_in" if day in ("2019-06-15", "3/15/2021") else "lorex_out"] += 1
        rows.append(
            [
                f"ci{n}",
                f"dev-{n}",
                maker,
                model,
                f"SN{n:05d}",
                mac,
                f"10.2.{n >> 8}.{n & 255}",
                f"Site {n % 7}",
                f"user{n % 13}",
                status,
                f"A{n:06d}",
                day,
                "",
            ]
        )
    return rows, expect


def _plain(report: Report) -> dict:
    return json.loads(
        json.dumps(
            {
                "findings": [f.to_dict() for f in report.findings],
                "summary": report.summary,
                "errors": [e.to_dict() for e in report.errors],
            }
        )
    )


def test_five_hundred_rows_whatever_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows, expect = _rows(500)
    header = [h for h in SNOW_HEADER if h != "sys_class_name"]
    path = write_csv(tmp_path / "cmdb_ci.csv", header, rows)
    general = run([path], Options(as_of=AS_OF, fast_csv=False))
    quick = run([path], Options(as_of=AS_OF, fast_csv=True))
    monkeypatch.setattr(fast, "PARALLEL_MIN_LINES", 1)
    monkeypatch.setattr(fast, "CHUNK", 7)
    split = run([path], Options(as_of=AS_OF, fast_csv=True))
    assert _plain(general) == _plain(quick) == _plain(split)
    summary = general.summary
    assert general.subjects == 500 and general.errors == []
    assert summary["not_in_use"]["devices"] == expect["retired"]
    assert sum(summary["by_status"].values()) == 500 - expect["retired"]
    lorex = [f for f in general.findings if f.extra["maker"] and "Lorex" in (f.extra["brand"] or "")]
    dated_in = [
        f for f in lorex if "judged at purchase date" in f.explanation and "within that period" in f.explanation
    ]
    dated_out = [
        f for f in lorex if "judged at purchase date" in f.explanation and "outside that period" in f.explanation
    ]
    assert len(dated_in) == expect["lorex_in"] and len(dated_out) == expect["lorex_out"]
    assert {f.status.value for f in dated_in} == {"covered-limited"} and {f.status.value for f in dated_out} == {
        "review"
    }
    assert all(any(e.rule == "inventory.purchase_date" for e in f.evidence) for f in dated_in + dated_out)
    counted = run([path], Options(as_of=AS_OF, fast_csv=True, count_retired=True))
    assert sum(counted.summary["by_status"].values()) == 500


def test_the_fast_reader_gives_the_sources_context_and_date_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, _ = _rows(60)
    for n in (3, 17, 41):
        rows[n][11] = "someday"  # bad purchase dates
    rows[17][5] = "zz:zz"  # and a bad MAC in a row with a bad date
    header = [h for h in SNOW_HEADER if h != "sys_class_name"]
    path = write_csv(tmp_path / "cmdb_ci.csv", header, rows)
    items = list(sources.parse("inventory-csv", path))
    want = [o for o in items if isinstance(o, Observation)], [str(e) for e in items if isinstance(e, InputError)]
    for split in (False, True):
        monkeypatch.setattr(fast, "PARALLEL_MIN_LINES", 1 if split else 1 << 40)
        monkeypatch.setattr(fast, "CHUNK", 5)
        got = fast.read(path)
        assert got is not None
        batch, errors = got
        assert ([batch.observation(k) for k in range(len(batch))], [str(e) for e in errors]) == want
    assert len(want[1]) == 4 and "row 19 [mac_address]" in want[1][1] and "row 19 [purchase_date]" in want[1][2]
    assert want[0][0].context["asset_tag"] == "A000000" and want[0][0].where("location").field == "location"


def test_the_policy_stage_judges_a_window_at_the_date_given_and_nothing_else_with_it() -> None:
    from bansweep.fleet.attribute import Attributor
    from bansweep.knowledge.vendors import VendorKB
    from bansweep.policy.fleet import PolicyStage
    from bansweep.registry.mac import MacRegistry

    attributor = Attributor(VendorKB.load(), MacRegistry.load(), "2020-01-01")
    stage = PolicyStage(["us-889"], "2020-01-01")
    lorex = attributor.decide(attributor.claims("manufacturer", "Lorex"))
    hikvision = attributor.decide(attributor.claims("manufacturer", "Hikvision"))
    assert attributor.windowed(lorex) and not attributor.windowed(hikvision)
    assert stage(lorex).status.value == "covered-limited"
    bought = stage(lorex, ("2017-03-01", "the purchase date"))
    assert bought.status.value == "review" and "the purchase date 2017-03-01 is outside" in bought.verdicts[0].reason
    # a date does not change the verdicts of an entity without an ownership window (judged once)
    assert stage(hikvision, ("2017-03-01", "the purchase date")) is stage(hikvision)
    # rules take effect at --as-of, not at the purchase date: s.889 reaches equipment bought before 2019
    huawei = attributor.decide(attributor.claims("manufacturer", "Huawei"))
    assert stage(huawei, ("2015-01-01", "the purchase date")).status.value == "covered"
    dated = attributor.at_date(lorex, "2017-03-01", "purchase date 2017-03-01 (x.csv row 2, column Purchased)")
    assert any("judged at purchase date 2017-03-01 (x.csv row 2, column Purchased), outside" in n for n in dated.notes)
    assert any("judged as of 2020-01-01, within" in n for n in lorex.notes)
