"""Identity across inputs: distinct devices are never merged on a shared placeholder name; one device seen by
several sources is one device."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bansweep.cli import main
from bansweep.findings import Location
from bansweep.fleet.identity import host_key, merge, serial_key
from bansweep.fleet.model import Observation

# (sysObjectID, sysDescr) of varied makers: covered ones and others
MAKERS = [
    (
        ".1.3.6.1.4.1.2011.2.23.551",
        "Huawei Versatile Routing Platform Software VRP (R) software HUAWEI S5735-L24T4S-A1",
    ),
    (".1.3.6.1.4.1.3902.1082.1001", "ZXA10 C300 ZTE OLT"),
    (".1.3.6.1.4.1.39165.1.1", "Hikvision network camera"),
    (".1.3.6.1.4.1.9.1.1745", "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E4"),
    (".1.3.6.1.4.1.2636.1.1.1.2.29", "Juniper Networks, Inc. ex2200-24t-4g Ethernet Switch, JUNOS 12.3R6.6"),
    (".1.3.6.1.4.1.8072.3.2.10", "Linux fileserver 5.10.0-21-amd64 #1 SMP Debian 5.10.162-1 x86_64"),
]
COVERED_OIDS = {MAKERS[0][0], MAKERS[1][0], MAKERS[2][0]}


def cli(*args: str) -> dict:
    result = CliRunner().invoke(main, ["fleet", "--format", "json", "--as-of", "2026-11-22", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return json.loads(result.stdout)


def test_placeholder_names_and_serials_are_no_keys() -> None:
    for name in ("localhost", "switch", "HUAWEI", "ZXR10", "REDACTED", "xxx", "unknown", "none", "****"):
        assert host_key(name) is None, name
    assert host_key("cam-lobby-01.corp.example") == "cam-lobby-01"
    assert serial_key("To Be Filled By O.E.M.") is None and serial_key("00000000") is None
    assert serial_key(" fa48 ") == "FA48"


def test_80_walks_with_one_placeholder_sysname_are_80_devices(tmp_path: Path) -> None:
    files = []
    for n in range(80):
        oid, descr = MAKERS[n % len(MAKERS)]
        path = tmp_path / f"walk-{n:02d}.snmpwalk"
        path.write_text(
            f'.1.3.6.1.2.1.1.1.0 = STRING: "{descr} unit {n}"\n'
            f".1.3.6.1.2.1.1.2.0 = OID: {oid}\n"
            ".1.3.6.1.2.1.1.3.0 = Timeticks: (152) 0:00:01.52\n"
            '.1.3.6.1.2.1.1.5.0 = STRING: "REDACTED"\n'
        )
        files.append(path)
    report = cli(*map(str, files))
    assert report["errors"] == [] and report["subjects"] == 80
    covered_walks = {f.name for n, f in enumerate(files) if MAKERS[n % len(MAKERS)][0] in COVERED_OIDS}
    listed: list[str] = []
    for finding in report["findings"]:
        if finding["status"] not in ("covered", "covered-limited"):
            continue
        names = {Path(e["location"]["file"]).name for e in finding["evidence"]}
        assert len(names) == 1, names  # only its own walk's evidence
        listed.extend(names)
    assert sorted(listed) == sorted(covered_walks)  # each covered walk once


def test_same_device_in_nmap_dhcp_and_cmdb_is_one_device(tmp_path: Path) -> None:
    mac = "4C:BD:8F:6E:02:A7"
    (tmp_path / "scan.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
        '<nmaprun scanner="nmap" args="nmap -sn 10.20.30.0/24" start="1795341734" version="7.93" '
        'xmloutputversion="1.05">\n'
        '<host><status state="up" reason="arp-response"/>\n'
        '<address addr="10.20.30.15" addrtype="ipv4"/>\n'
        f'<address addr="{mac}" addrtype="mac" vendor="Hangzhou Hikvision Digital Technology"/>\n'
        "<hostnames></hostnames></host>\n</nmaprun>\n"
    )
    (tmp_path / "dhcpd.leases").write_text(
        "lease 10.20.30.15 {\n  starts 3 2026/11/18 07:41:02;\n  ends 3 2026/11/18 19:41:02;\n"
        f"  binding state active;\n  hardware ethernet {mac.lower()};\n"
        '  client-hostname "IPC";\n}\n'
    )
    (tmp_path / "cmdb.csv").write_text(
        '"name","manufacturer","model_id","serial_number","mac_address","ip_address"\n'
        f'"cam-lobby-01","Hangzhou Hikvision Digital Technology Co., Ltd.","DS-2CD2143G0-I","E12345678",'
        f'"{mac.lower()}","10.20.30.15"\n'
    )
    report = cli(str(tmp_path / "scan.xml"), str(tmp_path / "dhcpd.leases"), str(tmp_path / "cmdb.csv"))
    assert report["errors"] == [] and report["subjects"] == 1
    (finding,) = report["findings"]
    assert finding["subject"]["id"] == mac
    assert finding["extra"]["sources"] == ["dhcp-isc", "inventory-csv", "nmap"]


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
