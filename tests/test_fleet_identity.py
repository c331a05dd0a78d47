"""Identity resolution: distinct devices are never merged on a weak key; one device seen by many inputs is one.

The walks are written the way Debian's net-snmp `snmpwalk` prints them (as in examples/core-switch.snmpwalk); their
sysDescr and sysObjectID values are those of the makers' real agents (the knowledge base's own examples).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from bansweep.cli import main
from bansweep.findings import Location, Report, Status
from bansweep.fleet.identity import host_key, merge, serial_key
from bansweep.fleet.job import Options, run
from bansweep.fleet.model import Observation

MAKERS = [  # (sysDescr, sysObjectID, covered)
    (
        "Huawei Versatile Routing Platform Software\nVRP (R) software, Version 5.170 (S5735 V200R019C10SPC500)\n"
        "Copyright (C) 2000-2020 HUAWEI TECH CO., LTD\nHUAWEI S5735-L24T4S-A1\n",
        "iso.3.6.1.4.1.2011.2.23.551",
        True,
    ),
    (
        "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4, RELEASE SOFTWARE (fc1)",
        "iso.3.6.1.4.1.9.1.1208",
        False,
    ),
    (
        "Juniper Networks, Inc. ex2300-24t Ethernet Switch, kernel JUNOS 20.4R3.8",
        "iso.3.6.1.4.1.2636.1.1.1.2.132",
        False,
    ),
    ("Linux gw 5.10.0-23-amd64 #1 SMP Debian 5.10.179-1 x86_64", "iso.3.6.1.4.1.8072.3.2.10", False),
]


def walk(path: Path, descr: str, oid: str, name: str, serial: str | None) -> Path:
    lines = [
        f'iso.3.6.1.2.1.1.1.0 = STRING: "{descr}"',
        f"iso.3.6.1.2.1.1.2.0 = OID: {oid}",
        "iso.3.6.1.2.1.1.3.0 = Timeticks: (1284751600) 148 days, 16:45:16.00",
        f'iso.3.6.1.2.1.1.5.0 = STRING: "{name}"',
    ]
    if serial:
        lines.append(f'iso.3.6.1.2.1.47.1.1.1.1.11.67108867 = STRING: "{serial}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def covered(report: Report) -> list[str]:
    return [f.subject.id for f in report.findings if f.status in (Status.COVERED, Status.LIMITED)]


@pytest.mark.parametrize("name", ["switch", "REDACTED", "HUAWEI", "core-sw-01"])
def test_eighty_walks_sharing_one_sys_name_stay_eighty_devices(tmp_path: Path, name: str) -> None:
    paths = []
    for i in range(80):
        descr, oid, _ = MAKERS[i % len(MAKERS)]
        serial = f"SN{i:05d}" if i % 3 == 0 else None  # some walks carry a serial, most none
        paths.append(walk(tmp_path / f"agent-{i:02d}.snmpwalk", descr, oid, name, serial))
    report = run(paths, Options(as_of="2026-11-22"))
    assert report.errors == []
    assert report.subjects == 80
    assert len(report.findings) == 80  # every examined device is listed
    for f in report.findings:  # each only with the evidence of its own walk
        files = {e.location.file for e in f.evidence if not e.location.file.endswith(".yaml")}
        assert len(files) == (f.subject.attributes.get("maker") is not None), f.subject.label
    assert Counter(f.status for f in report.findings) == {Status.COVERED: 20, Status.NOT_COVERED: 60}


def test_distinct_names_and_placeholders_in_one_run(tmp_path: Path) -> None:
    """Walks named apart still are apart; one device's two walks (same serial) are one."""
    descr, oid, _ = MAKERS[0]
    paths = [walk(tmp_path / f"sw{i}.snmpwalk", descr, oid, f"access-sw-{i}", None) for i in range(5)]
    paths += [walk(tmp_path / f"again{i}.snmpwalk", descr, oid, "localhost", "2102353XXX10M4000123") for i in range(2)]
    report = run(paths, Options(as_of="2026-11-22"))
    assert report.subjects == 6  # five named switches, and the two walks of one serial


def test_placeholder_names_and_serials_are_no_keys() -> None:
    for name in ("localhost", "LOCALHOST.localdomain", "Switch.corp.example.", "HUAWEI", "ZXR10", "REDACTED", "xxx"):
        assert host_key(name) is None, name
    for name in ("unknown", "none", "****", "redacted-17"):
        assert host_key(name) is None, name
    assert host_key("core-sw-01.corp.example") == "core-sw-01"
    assert serial_key("To Be Filled By O.E.M.") is None and serial_key("00000000") is None
    assert serial_key(" fa48 ") == "FA48"


SCAN = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sn 192.168.10.0/24" start="1763800000" version="7.93" xmloutputversion="1.05">
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="192.168.10.21" addrtype="ipv4"/>
<address addr="44:19:B6:3A:10:15" addrtype="mac" vendor="Hangzhou Hikvision Digital Technology"/>
<hostnames><hostname name="cam-lobby-01.corp.example" type="PTR"/></hostnames>
</host>
<host><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="192.168.10.40" addrtype="ipv4"/>
<address addr="00:1B:21:0A:0B:0C" addrtype="mac" vendor="Intel Corporate"/>
<hostnames><hostname name="localhost" type="PTR"/></hostnames>
</host>
<runstats><finished time="1763800010" elapsed="10.00" exit="success"/><hosts up="2" down="0" total="2"/></runstats>
</nmaprun>
"""
LEASES = """lease 192.168.10.21 {
  starts 5 2026/11/20 06:12:09;
  ends 6 2026/11/21 06:12:09;
  binding state active;
  hardware ethernet 44:19:b6:3a:10:15;
  client-hostname "cam-lobby-01";
}
lease 192.168.10.41 {
  starts 5 2026/11/20 06:12:09;
  ends 6 2026/11/21 06:12:09;
  binding state active;
  hardware ethernet 00:1b:21:0a:0b:0d;
  client-hostname "localhost";
}
"""
CMDB = (
    '"name","manufacturer","model_id","serial_number","mac_address","ip_address"\n'
    '"cam-lobby-01","Hangzhou Hikvision Digital Technology Co., Ltd.","DS-2CD2143G2-IS","FA4812345",'
    '"44:19:b6:3a:10:15","192.168.10.21"\n'
    '"localhost","Dell Inc.","OptiPlex 7090","7XK2Q93","00:1b:21:0a:0b:0e",""\n'
)


def test_one_device_in_nmap_dhcp_and_cmdb_is_one_device(tmp_path: Path) -> None:
    scan = tmp_path / "scan.xml"
    scan.write_text(SCAN, encoding="utf-8")
    leases = tmp_path / "dhcpd.leases"
    leases.write_text(LEASES, encoding="utf-8")
    cmdb = tmp_path / "cmdb.csv"
    cmdb.write_text(CMDB, encoding="utf-8")
    report = run([scan, leases, cmdb], Options(as_of="2026-11-22"))
    assert report.errors == []
    # the camera once (MAC, IP and host name agree); the three "localhost" machines (three MACs) stay three
    assert report.subjects == 4
    [camera] = [f for f in report.findings if f.status in (Status.COVERED, Status.LIMITED)]
    assert camera.subject.attributes["sources"] == "dhcp-isc, inventory-csv, nmap"
    files = {Path(e.location.file).name for e in camera.evidence if not e.location.file.endswith(".yaml")}
    assert files == {"scan.xml", "cmdb.csv"}  # the lease names no maker: it is a source, not evidence


def test_walk_evidence_cites_the_line_of_each_oid() -> None:
    example = Path(__file__).parent.parent / "examples" / "core-switch.snmpwalk"
    text = example.read_text(encoding="utf-8").splitlines()
    report = run([example], Options(as_of="2026-11-22"))
    cited = [e for f in report.findings for e in f.evidence if e.location.file == str(example) and e.location.field]
    assert len(cited) >= 5
    for e in cited:  # the OID named in the evidence stands on the line it cites
        assert e.location.line is not None and text[e.location.line - 1].startswith(e.location.field + " ="), e
    assert {e.location.line for e in cited} >= {1, 6, 14}


def cli(*args: str) -> dict:
    result = CliRunner().invoke(main, ["fleet", "--format", "json", "--as-of", "2026-11-22", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return json.loads(result.stdout)


def test_conflicting_macs_keep_devices_apart_with_a_note() -> None:
    devices = merge(
        [
            Observation("inventory", Location("a.csv", row=2), mac="44:19:B6:00:00:01", hostname="cam-7"),
            Observation("dhcp", Location("b.leases", line=3), hostname="cam-7", ip="10.0.0.7"),
            Observation("dhcp", Location("b.leases", line=9), mac="00:E0:FC:00:00:02", ip="10.0.0.7"),
        ]
    )
    assert len(devices) == 2  # the weak keys never join two different MACs, even through a chain
    assert all(len(d.macs) == 1 for d in devices)
    assert any("may be the same device" in n and "cam-7" in n for d in devices for n in d.notes)


def test_evidence_cites_the_oid_line_and_the_spreadsheet_row(tmp_path: Path) -> None:
    walk = tmp_path / "sw.snmpwalk"
    lines = [f".1.3.6.1.2.1.1.{n}.0 = INTEGER: {n}" for n in (3, 4, 6, 7, 8)]
    lines.insert(5, '.1.3.6.1.2.1.1.1.0 = STRING: "Huawei Versatile Routing Platform Software VRP (R) software"')
    lines += [f".1.3.6.1.2.1.2.2.1.1.{n} = INTEGER: {n}" for n in range(7)]
    lines.insert(13, ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.2011.2.23.551")
    lines.append('.1.3.6.1.2.1.47.1.1.1.1.12.1 = STRING: "Huawei Technologies Co., Ltd."')
    walk.write_text("\n".join(lines) + "\n")
    inventory = tmp_path / "cmdb.csv"
    inventory.write_text("Name,Manufacturer,Model\npc-1,Dell,OptiPlex\ncam-2,Hikvision,DS-2CD2042WD-I\n")
    report = cli(str(walk), str(inventory))
    assert report["errors"] == []
    for finding in report["findings"]:
        for e in finding["evidence"]:
            loc = e["location"]
            if loc["file"] == str(walk) and loc.get("field"):
                oid = loc["field"].lstrip(".")
                number = next(n for n, line in enumerate(lines, 1) if line.lstrip(".").startswith(oid + " "))
                assert loc["line"] == number, (e["rule"], loc)
    walked = [e["location"] for f in report["findings"] for e in f["evidence"] if e["location"]["file"] == str(walk)]
    assert {loc.get("line") for loc in walked} >= {6, 14}  # sysDescr on line 6, sysObjectID on line 14
    cam = next(f for f in report["findings"] if f["subject"]["attributes"].get("hostname") == "cam-2")
    rows = {(e["location"]["row"], e["location"].get("field")) for e in cam["evidence"] if "row" in e["location"]}
    assert (3, "Manufacturer") in rows  # header = row 1, pc-1 row 2, cam-2 row 3
    result = CliRunner().invoke(
        main, ["fleet", "--format", "sarif", "--as-of", "2026-11-22", str(walk), str(inventory)]
    )
    sarif = json.loads(result.stdout)
    lines_of = {
        loc["physicalLocation"]["region"]["startLine"]
        for r in sarif["runs"][0]["results"]
        for loc in r["locations"]
        if loc["physicalLocation"]["artifactLocation"]["uri"].endswith(("cmdb.csv", "sw.snmpwalk"))
    }
    assert {3, 6, 14} <= lines_of


def test_a_serial_names_one_device_of_one_maker() -> None:
    def row(n: int, maker: str, serial: str, host: str) -> Observation:
        return Observation(
            "inventory-csv", Location("cmdb.csv", row=n), hostname=host, serial=serial, facts={"manufacturer": maker}
        )

    same = merge(
        [
            row(2, "Huawei Technologies Co., Ltd.", "2102351931P0K8000123", "core-1"),
            Observation(
                "snmpwalk",
                Location("core.snmpwalk", line=3),
                serial="2102351931P0K8000123",
                facts={"snmp.entity_mfg": "HUAWEI"},
            ),
        ]
    )
    assert len(same) == 1  # one maker, written two ways
    apart = merge(
        [row(2, "Dell Inc.", "CN0ABC123", "pc-1"), row(3, "Huawei Technologies Co., Ltd.", "CN0ABC123", "sw-9")]
    )
    assert len(apart) == 2
    assert all(any("CN0ABC123" in n and "makers" in n for n in d.notes) for d in apart)
