"""Inventory dates read in the day/month order their file proves, never guessed in silence (fleet/dates.py).

Lorex belonged to Dahua from 2018 to 2022-11-24 (knowledge/data/vendors.yaml): a Lorex recorder bought on
10/12/2022 is inside that window read month-first (12 October) and outside it read day-first (10 December), so the
order decides the verdict (covered-limited inside, review outside).
"""

from __future__ import annotations

import csv
import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bansweep.cli import main
from bansweep.fleet import sources
from bansweep.fleet.job import Options, run
from bansweep.fleet.sources import inventory_csv_fast as fast
from bansweep.reports import json as json_format

AS_OF = "2026-11-22"
HEADER = ["sys_id", "name", "manufacturer", "model_id", "serial_number", "location", "purchase_date", "install_date"]
LOREX = ("Lorex", "N841")
OTHERS = [("Hikvision", "DS-2CD2143G2-IS"), ("Dell Inc.", "Latitude 7420"), ("Cisco", "C9300-48P")]


def cmdb(path: Path, purchased: list[str], installed: list[str] | None = None) -> Path:
    """A ServiceNow cmdb_ci export: row 2 (the first data row) is the Lorex recorder "nvr", then other devices."""
    installed = installed or [""] * len(purchased)
    rows = []
    for n, (bought, put_in) in enumerate(zip(purchased, installed, strict=True)):
        maker, model = LOREX if n == 0 else OTHERS[n % len(OTHERS)]
        name = "nvr" if n == 0 else f"dev-{n + 2}"
        rows.append([f"c{n}", name, maker, model, f"SN{n}", "London", bought, put_in])
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def fleet(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["fleet", "--as-of", AS_OF, "--no-store", "--format", "json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["subject"]["attributes"]["hostname"]: f for f in report["findings"]}


def judged(finding: dict[str, Any]) -> str:
    """The sentence of a finding's explanation that says at which date its ownership window was judged."""
    (sentence,) = [s for s in finding["explanation"].split(". ") if "judged" in s]
    return sentence[sentence.index("judged") :]


def dated_evidence(finding: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in finding["evidence"] if e["rule"] == "inventory.purchase_date"]


# --- one file, one order ----------------------------------------------------------------------------------------


def test_a_uk_export_is_read_day_first_as_one_row_proves(tmp_path: Path) -> None:
    # only row 5 tells the order: 25/12/2017 cannot be month-first
    path = cmdb(tmp_path / "cmdb_ci.csv", ["10/12/2022", "03/04/2019", "2019-06-01", "25/12/2017", "01/02/2020"])
    code, report = fleet(str(path))
    nvr = by_name(report)["nvr"]
    assert report["errors"] == [] and code & 4 == 0
    assert nvr["status"] == "review"
    assert nvr["subject"]["attributes"]["purchase_date"] == "2022-12-10"
    assert judged(nvr) == (
        f"judged at purchase date 2022-12-10 ({path} row 2, column purchase_date; read day-first, proven by row 5: "
        "25/12/2017), outside that period"
    )
    assert [e["value"] for e in dated_evidence(nvr)] == ["2022-12-10"]
    assert report["summary"]["date_orders"] == {str(path): {"purchase_date": "day-first, proven by row 5: 25/12/2017"}}
    found = by_name(report)
    assert found["dev-3"]["subject"]["attributes"]["purchase_date"] == "2019-04-03"
    assert found["dev-4"]["subject"]["attributes"]["purchase_date"] == "2019-06-01"


def test_a_us_export_is_read_month_first_as_one_row_proves(tmp_path: Path) -> None:
    path = cmdb(tmp_path / "cmdb_ci.csv", ["10/12/2022", "03/04/2019", "12/25/2017"])
    _, report = fleet(str(path))
    nvr = by_name(report)["nvr"]
    assert report["errors"] == []
    assert nvr["status"] == "covered-limited"
    assert judged(nvr) == (
        f"judged at purchase date 2022-10-12 ({path} row 2, column purchase_date; read month-first, proven by row 4: "
        "12/25/2017), within that period"
    )
    assert by_name(report)["dev-3"]["subject"]["attributes"]["purchase_date"] == "2019-03-04"
    assert report["summary"]["date_orders"][str(path)] == {"purchase_date": "month-first, proven by row 4: 12/25/2017"}


def test_a_file_that_proves_no_order_is_read_month_first_and_says_it_was_assumed(tmp_path: Path) -> None:
    path = cmdb(tmp_path / "cmdb_ci.csv", ["10/12/2022", "03/04/2019", "2019-06-01"])
    code, report = fleet(str(path))
    nvr = by_name(report)["nvr"]
    assert report["errors"] == [] and nvr["status"] == "covered-limited"
    assert judged(nvr) == (
        f"judged at purchase date 2022-10-12 ({path} row 2, column purchase_date; day/month order not provable from "
        "the file; read month-first: use --date-order), within that period"
    )
    assert report["summary"]["date_orders"][str(path)] == {
        "purchase_date": "month-first, assumed: day/month order not provable from the file (--date-order)"
    }
    # told the order, the same file gives the other verdict
    _, told = fleet("--date-order", "day-first", str(path))
    nvr = by_name(told)["nvr"]
    assert nvr["status"] == "review"
    assert f"({path} row 2, column purchase_date; read day-first (--date-order)), outside" in judged(nvr)
    assert told["summary"]["date_orders"][str(path)] == {"purchase_date": "day-first (--date-order)"}


def test_a_column_without_proof_takes_the_order_the_files_other_date_column_proves(tmp_path: Path) -> None:
    path = cmdb(tmp_path / "cmdb_ci.csv", ["10/12/2022", "03/04/2019", ""], ["", "", "14/02/2020"])
    _, report = fleet(str(path))
    nvr = by_name(report)["nvr"]
    assert nvr["status"] == "review"
    assert "read day-first, as column install_date proves by row 4: 14/02/2020), outside" in judged(nvr)
    assert report["summary"]["date_orders"][str(path)] == {
        "purchase_date": "day-first, as column install_date proves by row 4: 14/02/2020",
        "install_date": "day-first, proven by row 4: 14/02/2020",
    }


@pytest.mark.parametrize(
    ("purchased", "status", "day", "how"),
    [
        # dotted dates are day-first unless their column proves otherwise
        (["10.12.2022", "03.04.2019"], "review", "2022-12-10", "read day-first, as dotted dates are"),
        (
            ["10.12.2022", "12.25.2017"],
            "covered-limited",
            "2022-10-12",
            "read month-first, proven by row 3: 12.25.2017",
        ),
        # dashes with numbers only are told like slashes
        (["10-12-2022", "25-12-2017"], "review", "2022-12-10", "read day-first, proven by row 3: 25-12-2017"),
    ],
)
def test_dotted_and_dashed_dates(tmp_path: Path, purchased: list[str], status: str, day: str, how: str) -> None:
    path = cmdb(tmp_path / "cmdb_ci.csv", purchased)
    _, report = fleet(str(path))
    nvr = by_name(report)["nvr"]
    assert report["errors"] == [] and nvr["status"] == status
    assert f"judged at purchase date {day} ({path} row 2, column purchase_date; {how})" in judged(nvr)


def test_a_date_that_reads_the_same_both_ways_or_is_iso_needs_no_order(tmp_path: Path) -> None:
    path = cmdb(tmp_path / "cmdb_ci.csv", ["05/05/2019", "2019-06-01"])
    _, report = fleet(str(path))
    assert judged(by_name(report)["nvr"]) == (
        f"judged at purchase date 2019-05-05 ({path} row 2, column purchase_date), within that period"
    )
    assert report["summary"]["date_orders"] == {}


# --- a column that proves both orders ---------------------------------------------------------------------------


def test_an_inconsistent_column_makes_each_date_that_fits_both_orders_an_input_error(tmp_path: Path) -> None:
    # row 2 fits both orders; row 4 proves day-first, row 6 month-first; row 5 reads alike, row 7 is ISO
    purchased = ["10/12/2022", "01/02/2019", "25/12/2017", "05/05/2019", "12/25/2017", "2019-06-01", "11/03/2020"]
    path = cmdb(tmp_path / "cmdb_ci.csv", purchased)
    code, report = fleet(str(path))
    assert code & 4  # input errors
    both = "(day-first row 4: 25/12/2017, month-first row 6: 12/25/2017)"
    assert [(e["location"], e["message"]) for e in report["errors"]] == [
        (
            {"file": str(path), "row": row, "field": "purchase_date"},
            f"{value!r} may be day-first or month-first, and column purchase_date has dates of both {both}; the "
            "device is judged without it (--date-order sets the order)",
        )
        for row, value in ((2, "10/12/2022"), (3, "01/02/2019"), (8, "11/03/2020"))
    ]
    found = by_name(report)
    nvr = found["nvr"]  # judged without its date: as of --as-of, after Lorex left Dahua
    assert nvr["status"] == "review" and judged(nvr).startswith(f"judged as of {AS_OF}, outside")
    assert dated_evidence(nvr) == [] and nvr["subject"]["attributes"]["purchase_date"] == "10/12/2022"
    assert found["dev-4"]["subject"]["attributes"]["purchase_date"] == "2017-12-25"
    assert found["dev-6"]["subject"]["attributes"]["purchase_date"] == "2017-12-25"
    assert found["dev-5"]["subject"]["attributes"]["purchase_date"] == "2019-05-05"
    assert report["summary"]["date_orders"][str(path)] == {
        "purchase_date": "inconsistent: day-first by row 4: 25/12/2017, month-first by row 6: 12/25/2017; dates that "
        "fit both orders are input errors"
    }


def test_a_self_evident_date_in_an_inconsistent_column_is_read_and_says_why(tmp_path: Path) -> None:
    path = cmdb(tmp_path / "cmdb_ci.csv", ["25/12/2017", "12/25/2017"])
    _, report = fleet(str(path))
    nvr = by_name(report)["nvr"]
    assert nvr["status"] == "review" and report["errors"] == []
    assert (
        f"({path} row 2, column purchase_date; read day-first, the only order 25/12/2017 fits (column purchase_date "
        "has dates of both orders)), outside"
    ) in judged(nvr)


# --- --date-order -----------------------------------------------------------------------------------------------


def test_a_forced_order_that_a_value_contradicts_is_an_input_error_at_its_row(tmp_path: Path) -> None:
    path = cmdb(tmp_path / "cmdb_ci.csv", ["10/12/2022", "03/04/2019", "25/12/2017"])
    code, report = fleet("--date-order", "month-first", str(path))
    assert code & 4
    assert report["errors"] == [
        {
            "location": {"file": str(path), "row": 4, "field": "purchase_date"},
            "where": f"{path} row 4 [purchase_date]",
            "message": "not a month-first date: '25/12/2017' (--date-order month-first); the device is judged "
            "without it",
        }
    ]
    nvr = by_name(report)["nvr"]
    assert nvr["status"] == "covered-limited"  # read month-first, as told, against the file's own proof
    assert "read month-first (--date-order)), within" in judged(nvr)
    assert by_name(report)["dev-4"]["subject"]["attributes"]["purchase_date"] == "25/12/2017"  # kept as written


def test_sweep_takes_date_order(tmp_path: Path) -> None:
    path = cmdb(tmp_path / "cmdb_ci.csv", ["10/12/2022", "03/04/2019"])
    args = ["sweep", "--format", "json", "--as-of", AS_OF, "--no-store", "--date-order", "day-first", str(path)]
    report = json.loads(CliRunner().invoke(main, args).stdout)
    assert report["summary"]["fleet.date_orders"] == {str(path): {"purchase_date": "day-first (--date-order)"}}
    assert by_name(report)["nvr"]["status"] == "review"


def test_date_order_is_checked_before_reading(tmp_path: Path) -> None:
    path = cmdb(tmp_path / "cmdb_ci.csv", ["10/12/2022"])
    result = CliRunner().invoke(main, ["fleet", "--no-store", "--date-order", "yearfirst", str(path)])
    assert result.exit_code == 2 and "--date-order" in result.output
    with pytest.raises(Exception, match="expected one of auto, month-first, day-first, got 'dmy'"):
        run([path], Options(as_of=AS_OF, date_order="dmy"))


# --- every reader gives the same report --------------------------------------------------------------------------

ROWS = [
    # name, maker, model, purchase date (text), install date
    ["nvr", "Lorex", "N841", "10/12/2022", ""],
    ["nvr-b", "Lorex", "N841", "03/01/2019", "2019-02-01"],
    ["cam", "Hikvision", "DS-2CD2143G2-IS", "2019-06-01", ""],
    ["laptop", "Dell Inc.", "Latitude 7420", "25/12/2017", ""],
    ["nvr-c", "Lorex", "N841", "someday", ""],
    ["nvr-d", "Lorex", "N841", "30/11/2022", "1.2.2023"],
]
TABLE_HEADER = ["Name", "Manufacturer", "Model", "Purchase Date", "Install Date"]


def _digest(report: Any, file: str) -> dict[str, Any]:
    """What must not depend on the reader: each device's verdict, dates and the sentence judging its window, the
    errors and the orders shown (file names and a workbook's sheet taken out)."""
    plain = json.loads(json.dumps(report).replace(file, "FILE").replace(" sheet Assets", ""))
    devices = {
        f["subject"]["attributes"]["hostname"]: (
            f["status"],
            f["subject"]["attributes"].get("purchase_date"),
            f["subject"]["attributes"].get("install_date"),
            [s for s in f["explanation"].split(". ") if "judged" in s],
        )
        for f in plain["findings"]
    }
    errors = [(e["location"].get("row"), e["location"].get("field"), e["message"]) for e in plain["errors"]]
    orders = {k.replace("Assets!", ""): v for k, v in plain["summary"]["date_orders"].get("FILE", {}).items()}
    return {"devices": devices, "errors": errors, "orders": orders}


def _report(path: Path, **options: Any) -> dict[str, Any]:
    return _digest(json.loads(json_format.render(run([path], Options(as_of=AS_OF, **options)))), str(path))


def test_the_csv_fast_and_xlsx_readers_give_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openpyxl import Workbook

    path = tmp_path / "assets.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([TABLE_HEADER, *ROWS])
    book = Workbook()
    sheet = book.active
    sheet.title = "Assets"
    sheet.append(TABLE_HEADER)
    for row in ROWS:
        sheet.append(row)  # text cells, as an export writes them
    workbook = tmp_path / "assets.xlsx"
    book.save(workbook)

    general = _report(path, fast_csv=False)
    quick = _report(path, fast_csv=True)
    monkeypatch.setattr(fast, "PARALLEL_MIN_LINES", 1)
    monkeypatch.setattr(fast, "CHUNK", 2)
    split = _report(path, fast_csv=True)
    excel = _report(workbook)
    assert general == quick == split == excel
    devices = general["devices"]
    assert devices["nvr"][:2] == ("review", "2022-12-10")
    assert devices["nvr-b"][1] == "2019-01-03"
    assert devices["nvr-d"][1:3] == ("2022-11-30", "2023-02-01")
    assert general["errors"] == [
        (
            6,
            "Purchase Date",
            "not a date: 'someday' (expected a date such as 2017-03-01, 03/01/2017, 1.3.2017 or "
            "1-Mar-2017); the device is judged without it",
        )
    ]
    assert general["orders"] == {
        "Purchase Date": "day-first, proven by row 5: 25/12/2017",
        "Install Date": "day-first, as dotted dates are",
    }
    # told the other order, all readers agree on the input errors it makes
    told = [
        _report(path, fast_csv=False, date_order="month-first"),
        _report(path, fast_csv=True, date_order="month-first"),
        _report(workbook, date_order="month-first"),
    ]
    assert told[0] == told[1] == told[2]
    assert [(row, field) for row, field, _ in told[0]["errors"]] == [
        (5, "Purchase Date"),
        (6, "Purchase Date"),
        (7, "Purchase Date"),
    ]


def test_an_excel_date_cell_needs_no_order_and_text_cells_follow_their_column(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Assets"
    sheet.append(TABLE_HEADER)
    sheet.append(["nvr", "Lorex", "N841", datetime(2022, 10, 12), ""])  # a real date cell
    sheet.append(["nvr-b", "Lorex", "N841", "10/12/2022", ""])
    sheet.append(["laptop", "Dell Inc.", "Latitude 7420", "25/12/2017", ""])
    path = tmp_path / "assets.xlsx"
    book.save(path)
    _, report = fleet(str(path))
    found = by_name(report)
    assert found["nvr"]["status"] == "covered-limited"
    assert judged(found["nvr"]) == (
        f"judged at purchase date 2022-10-12 ({path} row 2 sheet Assets, column Purchase Date), within that period"
    )
    assert found["nvr-b"]["status"] == "review"
    assert "read day-first, proven by row 4: 25/12/2017), outside" in judged(found["nvr-b"])
    assert report["summary"]["date_orders"] == {
        str(path): {"Assets!Purchase Date": "day-first, proven by row 4: 25/12/2017"}
    }


def test_a_servicenow_json_export_with_display_values(tmp_path: Path) -> None:
    records = [
        {
            "name": "nvr",
            "manufacturer": {"display_value": "Lorex"},
            "model_id": {"display_value": "N841"},
            "purchase_date": {"display_value": "10/12/2022", "value": "2022-12-10"},
        },
        {
            "name": "laptop",
            "manufacturer": {"display_value": "Dell Inc."},
            "model_id": {"display_value": "Latitude"},
            "purchase_date": {"display_value": "25/12/2017", "value": "2017-12-25"},
        },
    ]
    path = tmp_path / "cmdb_ci.json"
    path.write_text(json.dumps({"result": records}))
    _, report = fleet(str(path))
    nvr = by_name(report)["nvr"]
    assert nvr["status"] == "review"
    assert f"({path} row 1, column purchase_date; read day-first, proven by row 2: 25/12/2017), outside" in judged(nvr)


def test_a_proof_read_by_the_worker_process_orders_the_rows_the_parent_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(3)
    purchased = [f"{rnd.randint(1, 12):02d}/{rnd.randint(1, 12):02d}/{rnd.randint(2016, 2024)}" for _ in range(400)]
    purchased[0] = "10/12/2022"
    purchased[390] = "31/01/2020"  # the only proof, far in the second part
    for n in (50, 300):
        purchased[n] = "soon"
    path = cmdb(tmp_path / "cmdb_ci.csv", purchased)
    items = list(sources.parse("inventory-csv", path))
    monkeypatch.setattr(fast, "PARALLEL_MIN_LINES", 1)
    monkeypatch.setattr(fast, "CHUNK", 16)
    got = fast.read(path)
    assert got is not None
    batch, errors = got
    observations = [o for o in items if not hasattr(o, "message")]
    assert [batch.observation(k) for k in range(len(batch))] == observations
    assert [str(e) for e in errors] == [str(e) for e in items if hasattr(e, "message")]
    assert [e.location.row for e in errors] == [52, 302]
    assert observations[0].context["purchase_date"] == "2022-12-10"
    assert batch.dates is not None and batch.dates.orders == {
        "purchase_date": "day-first, proven by row 392: 31/01/2020"
    }
