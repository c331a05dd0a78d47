"""Report formats on realistic fleet, firmware and parties findings, and on hostile text in every field."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.findings import (
    JOB_STATUSES,
    Evidence,
    Finding,
    InputError,
    Level,
    Location,
    Report,
    Severity,
    Status,
    Subject,
    Verdict,
)
from bansweep.reports import FORMATS, render
from bansweep.reports import csv as csv_report
from bansweep.reports import html as html_report
from bansweep.reports import json as json_report
from bansweep.reports import sarif as sarif_report
from bansweep.reports import table as table_report

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

IEEE = "IEEE MA-L 2026-10-01"
US889_A = Verdict(
    "us-889", Status.COVERED, "NDAA FY2019 §889(f)(3)(A), Pub. L. 115-232", "2019-08-13", "Huawei equipment"
)
US889_B = Verdict(
    "us-889",
    Status.LIMITED,
    "NDAA FY2019 §889(f)(3)(B), Pub. L. 115-232",
    "2019-08-13",
    "video surveillance equipment; covered when used for public safety or government facility security",
)
FCC = Verdict(
    "fcc", Status.COVERED, "FCC Covered List, 47 CFR §1.50002 (PSHSB DA 21-309)", "2021-03-12", "listed producer"
)
UK = Verdict("uk-tsa", Status.REVIEW, "Telecommunications (Security) Act 2021, designation notice", "2022-10-13", "")


def fleet_findings() -> list[Finding]:
    camera = Subject(
        "device",
        "mac:44:19:b6:12:34:56",
        "cam-lobby-01",
        {"vendor": "Hikvision", "model": "DS-2CD2042WD-I", "ip": "10.20.0.15", "group": "Hikvision"},
    )
    switch = Subject(
        "device", "ip:10.0.0.2", "sw-core-2", {"vendor": "Huawei", "model": "S5735-L48T4X", "group": "Huawei"}
    )
    relabel = Subject("device", "mac:3c:ef:8c:00:11:22", "nvr-dock", {"vendor": "Lorex", "group": "Dahua"})
    random_mac = Subject("device", "mac:da:a1:19:00:00:01", "da:a1:19:00:00:01", {})
    return [
        Finding(
            camera,
            "fleet.attribution",
            "Hikvision IP camera",
            Severity.HIGH,
            0.97,
            [
                Evidence("mac.oui", "44:19:B6", Location("scans/lobby.xml", line=42, field="addr"), IEEE),
                Evidence("banner.http", "Server: DNVRS-Webs", Location("scans/lobby.xml", line=57), "recog 2026-09"),
                Evidence("inventory.manufacturer", "HIKVISION", Location("cmdb.csv", row=14, field="Manufacturer")),
            ],
            status=Status.LIMITED,
            explanation="MAC prefix, HTTP banner and CMDB manufacturer agree.",
            verdicts=[US889_B, FCC],
            tags=["video-surveillance"],
            extra={
                "maker": "Hangzhou Hikvision Digital Technology Co., Ltd.",
                "brand": None,
                "model": "DS-2CD2042WD-I",
                "device_type": "IP Camera",
                "sources": ["nmap", "inventory-csv"],
                "conflicts": [],
                "unattributable_macs": [],
                "macs": ["44:19:B6:12:34:56"],
                "ips": ["10.20.0.15"],
                "hostnames": ["cam-lobby-01"],
                "serials": [],
                "notes": [],
            },
        ),
        Finding(
            switch,
            "fleet.attribution",
            "Huawei switch",
            Severity.CRITICAL,
            0.99,
            [
                Evidence(
                    "snmp.sysdescr", "Huawei Versatile Routing Platform Software", Location("walks/core.txt", line=3)
                )
            ],
            status=Status.COVERED,
            verdicts=[US889_A, FCC, UK],
        ),
        Finding(
            relabel,
            "fleet.conflict",
            "Maker evidence conflicts (relabelled recorder?)",
            Severity.MEDIUM,
            0.6,
            [
                Evidence("mac.oui", "3C:EF:8C", Location("leases/dhcpd.leases", line=118), IEEE),
                Evidence("banner.http", "Lorex NVR", Location("scans/lobby.xml", line=90), "recog 2026-09", "brand"),
            ],
            status=Status.REVIEW,
            verdicts=[Verdict("us-889", Status.REVIEW, "NDAA FY2019 §889(f)(3)(B)", "2019-08-13", "ownership changed")],
        ),
        Finding(
            random_mac,
            "fleet.unattributable",
            "Locally administered MAC: maker cannot be told",
            Severity.INFO,
            1.0,
            [Evidence("mac.local", "da:a1:19:00:00:01", Location("neigh.txt", line=7))],
            status=Status.NOT_SCREENED,
        ),
    ]


def firmware_findings() -> list[Finding]:
    app = Subject(
        "app", "com.adups.fota", "com.adups.fota", {"image": "blu-r1-hd.zip", "version": "5.1", "uid": "system"}
    )
    image = Subject("firmware", "blu-r1-hd.zip", "BLU R1 HD build 6.0", {"vendor": "BLU"})
    return [
        Finding(
            app,
            "firmware.indicators.adups",
            "ADUPS FOTA with data-harvesting code",
            Severity.CRITICAL,
            0.95,
            [
                Evidence(
                    "indicator.receiver",
                    "com.adups.fota.base.ServiceReceiver",
                    Location("blu-r1-hd.zip", entry="system/app/AdupsFota/AdupsFota.apk", field="AndroidManifest.xml"),
                    "indicators 2026-10",
                ),
                Evidence(
                    "harvesting.imsi",
                    "TelephonyManager.getSubscriberId",
                    Location("blu-r1-hd.zip", entry="system/app/AdupsFota/AdupsFota.apk", offset=0x1F2A0),
                ),
            ],
            status=Status.CRITICAL,
            tags=["harvesting", "backdoor"],
            extra={"family": "ADUPS", "cves": ["CVE-2016-10136"]},
            risk=9.4,
        ),
        Finding(
            image,
            "firmware.props.debuggable",
            "Build is debuggable (ro.debuggable=1)",
            Severity.MEDIUM,
            1.0,
            [
                Evidence(
                    "props.debuggable", "ro.debuggable=1", Location("blu-r1-hd.zip", entry="system/build.prop", line=12)
                )
            ],
            status=Status.MEDIUM,
            tags=["privilege"],
        ),
    ]


def parties_findings() -> list[Finding]:
    party = Subject(
        "party", "suppliers.xlsx#213", "ZTE Kangxun Telecom Co. Ltd.", {"country": "CN", "list": "Entity List"}
    )
    maybe = Subject("party", "suppliers.xlsx#40", "Hua Wei Trading GmbH", {"country": "DE"})
    return [
        Finding(
            party,
            "parties.list-match",
            "Exact match on the Consolidated Screening List (Entity List)",
            Severity.HIGH,
            0.99,
            [
                Evidence(
                    "csl.name",
                    "ZTE KANGXUN TELECOM CO. LTD.",
                    Location("suppliers.xlsx", row=213, field="Name"),
                    "CSL 2026-11-20",
                )
            ],
            status=Status.MATCH,
            verdicts=[Verdict("csl", Status.MATCH, "15 CFR Part 744, Supplement No. 4", "2019-05-16", "Entity List")],
            extra={"query": "ZTE Kangxun Telecom Co. Ltd.", "list": "csl", "record_id": "csl-8812", "score": 0.99},
        ),
        Finding(
            maybe,
            "parties.fuzzy-match",
            "Potential match: Huawei affiliate name",
            Severity.LOW,
            0.71,
            [Evidence("name.fuzzy", "Hua Wei Trading GmbH ≈ Huawei", Location("suppliers.xlsx", row=40, field="Name"))],
            status=Status.POSSIBLE_MATCH,
            variant="brand:huawei",
        ),
    ]


def input_errors() -> list[InputError]:
    return [
        InputError(Location("scans/broken.xml", line=133), "XML not well-formed: mismatched tag"),
        InputError(Location("cmdb.csv", row=57, field="MAC"), "invalid MAC address '00:11:22:33:44'"),
        InputError(Location("images/boot.img", offset=4096), "not an ext4 or EROFS image"),
        InputError(Location("blu-r1-hd.zip", entry="system/app/X/X.apk"), "truncated zip entry"),
    ]


def sample_report(job: str = "sweep") -> Report:
    return Report(
        job=job,
        inputs=[
            "scans/lobby.xml",
            "cmdb.csv",
            "walks/core.txt",
            "leases/dhcpd.leases",
            "blu-r1-hd.zip",
            "suppliers.xlsx",
        ],
        findings=fleet_findings() + firmware_findings() + parties_findings(),
        errors=input_errors(),
        subjects=412,
        data_versions={"ieee": "2026-10-01", "knowledge": "2026-11-01", "csl": "2026-11-20"},
        summary={"formats": {"cmdb.csv": "inventory-csv", "scans/lobby.xml": "nmap-xml"}},
        started="2026-11-22T10:00:00+00:00",
        finished="2026-11-22T10:00:07+00:00",
    )


def job_report(job: str) -> Report:
    findings = {"fleet": fleet_findings, "firmware": firmware_findings, "parties": parties_findings}[job]()
    files = sorted({e.location.file for f in findings for e in f.evidence})
    return Report(job=job, inputs=files, findings=findings, errors=input_errors()[:2], subjects=50)


def all_statuses_report() -> Report:
    """One finding per status word of every job (fleet, firmware and parties mixed), each job's extras declared."""
    extra = {
        "fleet": {"maker": "Example Maker", "brand": None, "sources": ["nmap"], "macs": ["00:11:22:33:44:55"]},
        "firmware": {"family": "example", "cves": [], "privilege": "system uid", "capabilities": ["sms"]},
        "parties": {"query": "Example Ltd", "score": 0.9, "a field added later": {"open": True}},
    }
    kinds = {"fleet": "device", "firmware": "app", "parties": "party"}
    findings = []
    for job, statuses in JOB_STATUSES.items():
        for n, status in enumerate(statuses):
            subject = Subject(kinds[job], f"{job}-{n}", f"{job} subject {status.value}", {"file": f"{job}.txt"})
            findings.append(
                Finding(
                    subject,
                    f"{job}.example",
                    f"{job} finding in its own word {status.value}",
                    Severity.MEDIUM,
                    0.8,
                    [Evidence(f"{job}.example", "observed", Location(f"{job}.txt", line=n + 1))],
                    status=status,
                    explanation=f"why it is {status.value}",
                    verdicts=[Verdict(f"{job}-policy", status, "citation", "2026-01-01", "reason")],
                    extra=extra[job],
                    risk=float(n) if job == "firmware" else None,
                )
            )
    return Report(job="sweep", inputs=[f"{job}.txt" for job in JOB_STATUSES], findings=findings, subjects=20)


REPORTS = {
    "all-statuses": all_statuses_report,
    "sweep": sample_report,
    "fleet": lambda: job_report("fleet"),
    "firmware": lambda: job_report("firmware"),
    "parties": lambda: job_report("parties"),
    "empty": lambda: Report(job="fleet", inputs=["empty.csv"], subjects=0),
}


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text("utf-8"))
    return jsonschema.Draft4Validator(schema)


def report_validator() -> jsonschema.Draft202012Validator:
    schema = json_report.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


SARIF = sarif_validator()
REPORT = report_validator()


def csv_rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def neutralised(cell: str) -> bool:
    """True when a spreadsheet would not run the cell as a formula."""
    if cell.startswith("'") or re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", cell):
        return True
    return not (cell.startswith(FORMULA_START) or cell.lstrip().startswith(FORMULA_START))


def expected_csv_rows(report: Report) -> int:
    return 1 + sum(max(1, len(f.evidence)) for f in report.findings) + len(report.errors)


# --- every format, every job ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(REPORTS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_every_job(fmt: str, kind: str) -> None:
    report = REPORTS[kind]()
    out = render(report, fmt)
    assert isinstance(out, str) and out
    out.encode("utf-8")
    for finding in report.findings:
        if fmt == "table" and finding.status is Status.NOT_COVERED:
            continue  # the terminal counts clean devices in one line; every other format lists them
        assert finding.subject.label in out
    if fmt == "table" and any(f.status is Status.NOT_COVERED for f in report.findings):
        assert "judged not covered (not listed here)" in out
    quoted = {"html": escape, "json": lambda t: json.dumps(t)[1:-1], "sarif": lambda t: json.dumps(t)[1:-1]}
    for error in report.errors:
        assert quoted.get(fmt, str)(error.message) in out


# --- json -----------------------------------------------------------------------------------------------------------


def test_json_validates_and_has_schema_id() -> None:
    assert json_report.schema()["$id"] == json_report.SCHEMA
    for make in REPORTS.values():
        doc = json.loads(json_report.render(make()))
        REPORT.validate(doc)
        assert doc["schema"] == json_report.SCHEMA


def test_json_schema_rejects_what_the_model_cannot_say() -> None:
    doc = json.loads(json_report.render(sample_report()))
    doc["findings"][0]["status"] = "clean"
    assert not REPORT.is_valid(doc)
    doc = json.loads(json_report.render(sample_report()))
    del doc["findings"][0]["evidence"][0]["location"]
    assert not REPORT.is_valid(doc)
    doc = json.loads(json_report.render(sample_report()))
    doc["errors"][0]["location"]["line"] = "12"
    assert not REPORT.is_valid(doc)


def test_json_is_stable_and_worst_first() -> None:
    a = sample_report()
    b = sample_report()
    b.findings.reverse()
    b.findings[0].subject.attributes = dict(reversed(list(b.findings[0].subject.attributes.items())))
    assert json_report.render(a) == json_report.render(b)
    doc = json.loads(json_report.render(a))
    ranks = [Status(f["status"]).order for f in doc["findings"]]
    assert ranks == sorted(ranks, reverse=True)
    assert doc["counts"] == {
        "findings": 8,
        "errors": 4,
        "by_level": {"critical": 1, "hit": 3, "review": 4},
        "by_job": {
            "fleet": {"covered": 1, "covered-limited": 1, "not-screened": 1, "review": 1},
            "firmware": {"critical": 1, "medium": 1},
            "parties": {"match": 1, "possible-match": 1},
        },
    }
    assert list(doc["counts"]["by_level"]) == ["critical", "hit", "review"]  # worst first
    assert list(doc["statuses"]) == ["fleet", "firmware", "parties"]
    assert list(doc["findings"][0]["subject"]["attributes"]) == sorted(doc["findings"][0]["subject"]["attributes"])


def test_json_survives_undecodable_names_and_odd_values() -> None:
    report = sample_report()
    bad = Location("scans/caf\udce9.xml", line=1)  # a non-UTF-8 file name as os.fsdecode gives it
    report.findings[0].evidence.append(Evidence("mac.oui", "x", bad))
    report.findings[0].confidence = float("nan")
    # a parties finding: its extra is open to new fields
    report.findings[-1].extra = {"ports": {443, 80}, "raw": b"\x00\xff", "when": Path("/x"), 3: (1, 2)}
    doc = json.loads(json_report.render(report))
    REPORT.validate(doc)
    paths = [e["location"]["file"] for f in doc["findings"] for e in f["evidence"]]
    assert "scans/caf\\udce9.xml" in paths
    extra = next(f["extra"] for f in doc["findings"] if "ports" in f["extra"])
    assert extra == {"3": [1, 2], "ports": [80, 443], "raw": "00ff", "when": "/x"}


def test_json_schema_documents_each_jobs_words_on_the_shared_ordering() -> None:
    schema = json_report.schema()
    defs = schema["$defs"]
    assert schema["properties"]["schema"]["const"] == json_report.SCHEMA
    assert defs["level"]["enum"] == [str(level) for level in Level]  # best to worst
    assert set(defs["status"]["enum"]) == {s.value for s in Status}
    table = defs["status"]["description"]
    for job, statuses in JOB_STATUSES.items():
        declared = defs[f"{job}Statuses"]["const"]
        assert list(declared.items()) == [(s.value, str(s.level)) for s in statuses]  # best to worst
        for status in statuses:  # the description's table names each word with its level
            assert re.search(rf"^{re.escape(status.value)} \| [a-z ]+ \| {status.level} \|", table, re.M), status


def test_json_records_the_words_and_counts_of_every_job() -> None:
    report = all_statuses_report()
    doc = json.loads(json_report.render(report))
    REPORT.validate(doc)
    assert doc["statuses"] == {job: {s.value: str(s.level) for s in words} for job, words in JOB_STATUSES.items()}
    for job, words in JOB_STATUSES.items():
        counts = doc["counts"]["by_job"][job]
        assert set(counts) == {s.value for s in words} and set(counts.values()) == {1}
        worst_first = sorted(words, key=lambda s: s.order, reverse=True)
        assert [Status(w).order for w in counts] == [s.order for s in worst_first]
    assert sum(doc["counts"]["by_level"].values()) == len(report.findings)
    assert doc["counts"]["by_level"]["critical"] == 1 and doc["counts"]["by_level"]["pass"] == 4
    assert [f["key"] for f in doc["findings"]] == [f.key for f in json_report.worst_first(report.findings)]
    firmware = [f for f in doc["findings"] if f["rule"].startswith("firmware.")]
    assert all("risk" in f for f in firmware) and not any("risk" in f for f in doc["findings"] if f not in firmware)
    # a report of one job names only that job's words
    fleet = json.loads(json_report.render(job_report("fleet")))
    assert list(fleet["statuses"]) == ["fleet"]
    # a sweep names every job that ran, even one without findings
    empty = Report(job="sweep", summary={"fleet.devices": 3, "parties.screened": 0, "formats": {}})
    assert list(json.loads(json_report.render(empty))["statuses"]) == ["fleet", "parties"]


@pytest.mark.parametrize(("job", "strict"), [("fleet", True), ("firmware", True), ("parties", False)])
def test_json_schema_declares_each_jobs_extra(job: str, strict: bool) -> None:
    doc = json.loads(json_report.render(all_statuses_report()))
    REPORT.validate(doc)
    finding = next(f for f in doc["findings"] if f["rule"].startswith(f"{job}."))
    finding["extra"]["undeclared_field"] = "x"
    assert REPORT.is_valid(doc) is not strict
    del finding["extra"]["undeclared_field"]
    key = {"fleet": "macs", "firmware": "cves", "parties": "score"}[job]
    finding["extra"][key] = {"not": "the declared type"}
    assert not REPORT.is_valid(doc)
    # a rule of no known job keeps a free-form extra
    finding["rule"] = "custom.rule"
    assert REPORT.is_valid(doc)


def test_json_schema_requires_a_well_formed_key() -> None:
    doc = json.loads(json_report.render(sample_report()))
    REPORT.validate(doc)
    del doc["findings"][0]["key"]
    assert not REPORT.is_valid(doc)
    doc = json.loads(json_report.render(sample_report()))
    doc["findings"][0]["key"] = "cam-lobby-01"
    assert not REPORT.is_valid(doc)


# --- csv ------------------------------------------------------------------------------------------------------------


def test_csv_layout_one_row_per_evidence_and_errors() -> None:
    report = sample_report()
    rows = csv_rows(csv_report.render(report))
    assert len(rows) == expected_csv_rows(report)
    header = rows[0]
    records = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    camera = [r for r in records if r["subject"] == "cam-lobby-01"]
    assert [r["evidence"] for r in camera] == ["1/3", "2/3", "3/3"]
    assert {r["verdict.us-889"] for r in camera} == {"covered-limited"}
    assert {r["subject.vendor"] for r in camera} == {"Hikvision"}
    assert camera[2]["file"] == "cmdb.csv" and camera[2]["row"] == "14" and camera[2]["field"] == "Manufacturer"
    assert "§889(f)(3)(B)" in camera[0]["verdicts"]
    errors = [r for r in records if r["status"] == "input-error"]
    assert [(r["finding"], r["where"]) for r in errors] == [
        ("E1", "scans/broken.xml:133"),
        ("E2", "cmdb.csv row 57 [MAC]"),
        ("E3", "images/boot.img @0x1000"),
        ("E4", "blu-r1-hd.zip!system/app/X/X.apk"),
    ]
    assert errors[1]["message"] == "invalid MAC address '00:11:22:33:44'"
    # Excel-style filter: every covered finding, worst first
    assert [r["status"] for r in records[:3]] == ["critical", "critical", "covered"]  # worst first
    assert records[0]["job"] == "firmware" and records[2]["job"] == "fleet" and records[2]["severity"] == "critical"


def test_csv_neutralises_formulas() -> None:
    evil_device = '=HYPERLINK("http://x","y")'
    evil_party = "@SUM(1+1)"
    report = Report(
        job="sweep",
        findings=[
            Finding(
                Subject("device", "d1", evil_device, {"vendor": "+cmd|' /C calc'!A0", "rack": "-5"}),
                "fleet.attribution",
                "\t=1+1",
                Severity.HIGH,
                0.9,
                [Evidence("inventory.model", "  -2+3", Location("=evil.csv", row=2, field="@Model"))],
                status=Status.COVERED,
            ),
            Finding(Subject("party", "p1", evil_party), "parties.list-match", "t", Severity.HIGH, 1.0, []),
        ],
        errors=[InputError(Location("x.csv", row=3), "=1+2 is not a MAC")],
    )
    rows = csv_rows(csv_report.render(report))
    assert len(rows) == expected_csv_rows(report)
    cells = [c for r in rows for c in r]
    assert all(neutralised(c) for c in cells)
    assert "'" + evil_device in cells
    assert "'" + evil_party in cells
    assert "'+cmd|' /C calc'!A0" in cells
    assert "'\t=1+1" in cells
    assert "'  -2+3" in cells
    assert "'=evil.csv" in cells and "'@Model" in cells
    assert "'=1+2 is not a MAC" in cells
    # a plain number is not a formula: it is kept as is, so the spreadsheet sees -5
    assert "-5" in cells and "'-5" not in cells
    assert csv_report.safe(" -5") == "' -5"
    assert csv_report.safe("-1+1") == "'-1+1"
    assert csv_report.safe("-\u0665") == "'-\u0665"  # an Arabic-Indic digit is not a number to a spreadsheet


# --- sarif ----------------------------------------------------------------------------------------------------------


def test_sarif_validates_against_the_oasis_schema() -> None:
    for make in REPORTS.values():
        SARIF.validate(json.loads(sarif_report.render(make())))


def test_sarif_mapping() -> None:
    report = sample_report()
    log = json.loads(sarif_report.render(report))
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "bansweep" and driver["informationUri"].startswith("https://")
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == sorted({f.rule for f in report.findings})
    assert all(r["shortDescription"]["text"] and r["help"]["text"] for r in driver["rules"])
    results = run["results"]
    assert len(results) == len(report.findings)
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    level = {r["properties"]["subject"]["label"]: r["level"] for r in results}
    assert level["sw-core-2"] == "error"  # covered
    assert level["cam-lobby-01"] == "error"  # covered-limited
    assert level["nvr-dock"] == "warning"  # review
    assert level["da:a1:19:00:00:01"] == "warning"  # not-screened is never quiet
    assert level["Hua Wei Trading GmbH"] == "warning"
    camera = next(r for r in results if r["properties"]["subject"]["label"] == "cam-lobby-01")
    locs = camera["locations"]
    assert locs[0]["physicalLocation"]["artifactLocation"] == {"uri": "scans/lobby.xml", "uriBaseId": "%SRCROOT%"}
    assert locs[0]["physicalLocation"]["region"] == {"startLine": 42}
    assert locs[2]["physicalLocation"]["region"] == {"startLine": 14}  # fleet: spreadsheet row 14 (header = row 1)
    assert locs[2]["properties"] == {"row": 14, "field": "Manufacturer"}
    assert locs[2]["message"]["text"] == "inventory.manufacturer: HIKVISION"
    assert camera["properties"]["verdicts"][0]["citation"].startswith("NDAA FY2019 §889(f)(3)(B)")
    assert len(camera["properties"]["evidence"]) == 3
    adups = next(r for r in results if r["ruleId"] == "firmware.indicators.adups")
    entry = adups["locations"][1]
    assert entry["physicalLocation"] == {
        "artifactLocation": {"uri": "blu-r1-hd.zip", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 1},
    }
    assert entry["logicalLocations"] == [
        {"fullyQualifiedName": "system/app/AdupsFota/AdupsFota.apk", "kind": "resource"}
    ]
    assert entry["properties"]["offset"] == 0x1F2A0
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == [str(e) for e in report.errors]
    assert notes[2]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert notes[2]["locations"][0]["properties"] == {"offset": 4096}
    assert run["invocations"][0]["startTimeUtc"] == "2026-11-22T10:00:00Z"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


def test_sarif_reads_well_in_code_scanning_views(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bansweep.knowledge import DATA_DIR

    monkeypatch.chdir(tmp_path)
    report = sample_report()
    listed = Location(str(DATA_DIR / "fcc-covered-list.yaml"), entry="fcc-2")
    report.findings[-2].evidence.append(Evidence("parties.list.csl", "ZTE KANGXUN", listed, "2026-11-20"))
    report.findings.append(
        Finding(
            Subject("device", "d9", "printer-9"),
            "fleet.covered-vendor",
            "printer-9: review",
            Severity.MEDIUM,
            0.5,
            [Evidence("inventory.manufacturer", "X", Location(str(tmp_path / "inv" / "cmdb.csv"), row=3))],
            status=Status.REVIEW,
            explanation="Attributed to X from a recorded maker name. Verdicts: us-889 review.",
        )
    )
    log = json.loads(sarif_report.render(report))
    SARIF.validate(log)
    run = log["runs"][0]
    for result in run["results"]:
        assert result["locations"], result["ruleId"]
        for loc in result["locations"]:
            assert loc["physicalLocation"]["region"]["startLine"] >= 1
            assert "://" not in loc["physicalLocation"]["artifactLocation"]["uri"]  # relative to a base id
        label = result["properties"]["subject"]["label"]
        text = result["message"]["text"]
        assert text.startswith(f"{label} — {result['properties']['status']}: ") and text.count(label) == 1, text
    printer = next(r for r in run["results"] if r["properties"]["subject"]["label"] == "printer-9")
    assert printer["message"]["text"] == "printer-9 — review: Attributed to X from a recorded maker name."
    assert printer["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "inv/cmdb.csv",
        "uriBaseId": "%SRCROOT%",
    }
    # knowledge that judged the evidence: a related location in the bundled knowledge, not an installed path
    zte = next(r for r in run["results"] if r["properties"]["subject"]["label"].startswith("ZTE Kangxun"))
    assert [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in zte["locations"]] == ["suppliers.xlsx"]
    related = zte["relatedLocations"][0]
    assert related["physicalLocation"]["artifactLocation"] == {
        "uri": "fcc-covered-list.yaml",
        "uriBaseId": "BANSWEEP_KNOWLEDGE",
    }
    assert related["logicalLocations"][0]["fullyQualifiedName"] == "fcc-2"
    assert run["originalUriBaseIds"]["BANSWEEP_KNOWLEDGE"]["uri"] == DATA_DIR.as_uri() + "/"
    # one rule per kind of finding, described, with what to do
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["name"].isidentifier(), rule["name"]
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"] and rule["help"]["text"]
        assert rule["shortDescription"]["text"] != rule["fullDescription"]["text"]
        assert rule["properties"]["tags"][0] == "security" and len(rule["properties"]["tags"]) <= 10
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "fleet.covered-vendor")
    assert rule["name"] == "CoveredVendorDevice" and "replacement" in rule["help"]["text"]


def test_sarif_keeps_within_githubs_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif_report, "MAX_RESULTS", 4)
    monkeypatch.setattr(sarif_report, "MAX_LOCATIONS", 2)
    report = sample_report()
    log = json.loads(sarif_report.render(report))
    SARIF.validate(log)
    run = log["runs"][0]
    assert len(run["results"]) == 4 and run["properties"]["resultsOmitted"] == 4
    assert [r["properties"]["status"] for r in run["results"]] == ["critical", "covered", "match", "covered-limited"]
    note = run["invocations"][0]["toolExecutionNotifications"][-1]
    assert note["descriptor"]["id"] == "results-omitted" and note["message"]["text"].startswith("4 finding(s)")
    camera = next(r for r in run["results"] if r["properties"]["subject"]["label"] == "cam-lobby-01")
    assert len(camera["locations"]) == 2 and camera["properties"]["locationsOmitted"] == 1


def test_sarif_uris_are_encoded() -> None:
    report = Report(
        job="fleet",
        errors=[
            InputError(Location("scans/lobby #2 ü.xml", line=3), "bad"),
            InputError(Location("/srv/in/caf\udce9.csv", row=1), "bad"),
        ],
    )
    log = json.loads(sarif_report.render(report))
    SARIF.validate(log)
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    uris = [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notes]
    assert uris == ["scans/lobby%20%232%20%C3%BC.xml", "file:///srv/in/caf%E9.csv"]


def test_sarif_fingerprints_are_the_finding_keys_and_stable() -> None:
    report = sample_report()
    results = json.loads(sarif_report.render(report))["runs"][0]["results"]
    keys = [f.key for f in json_report.worst_first(report.findings)]
    assert [r["partialFingerprints"] for r in results] == [{"bansweepFindingKey/v1": k} for k in keys]
    assert len(set(keys)) == len(keys)
    # another run: other evidence, other order, another file row for the party: the same fingerprints
    other = sample_report()
    other.findings[0].evidence.pop()
    other.findings.reverse()
    party = next(f for f in other.findings if f.subject.label == "Hua Wei Trading GmbH")
    party.subject.identity = "hua wei trading|DE"
    first = sample_report()
    next(f for f in first.findings if f.subject.label == "Hua Wei Trading GmbH").subject.identity = "hua wei trading|DE"
    party.subject.id = "suppliers.xlsx#41"
    a = json.loads(sarif_report.render(first))["runs"][0]["results"]
    b = json.loads(sarif_report.render(other))["runs"][0]["results"]
    assert sorted(r["partialFingerprints"]["bansweepFindingKey/v1"] for r in a) == sorted(
        r["partialFingerprints"]["bansweepFindingKey/v1"] for r in b
    )
    # two findings of one rule on one subject, told apart by their variant, are two results
    twin = copy.deepcopy(party)
    twin.variant = "list:other-entry"
    other.findings.append(twin)
    c = json.loads(sarif_report.render(other))["runs"][0]["results"]
    assert len({r["partialFingerprints"]["bansweepFindingKey/v1"] for r in c}) == len(c)


def test_sarif_levels_follow_the_shared_ordering() -> None:
    results = json.loads(sarif_report.render(all_statuses_report()))["runs"][0]["results"]
    expected = {Level.CRITICAL: "error", Level.HIT: "error", Level.REVIEW: "warning", Level.LOW: "note"}
    for result in results:
        status = Status(result["properties"]["status"])
        assert result["level"] == expected.get(status.level, "note"), status


def test_csv_has_each_findings_key_and_job() -> None:
    report = all_statuses_report()
    rows = csv_rows(csv_report.render(report))
    records = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [r["key"] for r in records] == [f.key for f in json_report.worst_first(report.findings)]
    assert {(r["job"], r["status"]) for r in records} == {(j, s.value) for j, w in JOB_STATUSES.items() for s in w}


# --- html -----------------------------------------------------------------------------------------------------------

ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "h4", "p", "section", "div", "b",
    "span", "nav", "a", "svg", "g", "text", "rect", "table", "thead", "tbody", "tr", "th", "td", "br", "details",
    "summary", "dl", "dt", "dd", "ul", "li", "footer", "i", "label", "input",
}  # fmt: skip


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style = ""
        self.links: list[tuple[str, str]] = []  # (href, text) of each link
        self._in_style = False
        self._in_a = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"
        self._in_a = tag == "a"
        if tag == "a":
            self.links.append((dict(attrs).get("href") or "", ""))

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False
        self._in_a = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)
            if self._in_a:
                href, text = self.links[-1]
                self.links[-1] = (href, text + data)


def parse_html(out: str) -> Tags:
    parser = Tags()
    parser.feed(out)
    parser.close()
    return parser


def assert_inert(out: str) -> Tags:
    """Only our own tags and attributes; nothing that runs or loads anything."""
    assert "<script" not in out.lower()
    parsed = parse_html(out)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), name
            assert name not in ("src", "srcset", "action", "formaction", "background", "poster", "style"), name
            if name == "href":  # in-page, or a URL from the text shown as itself, opened without referrer
                assert value and (value.startswith("#") or value.startswith(("https://", "http://"))), value
                assert value.startswith("#") or set((attrs.get("rel") or "").split()) >= {"noopener", "noreferrer"}
            if tag == "input":
                assert attrs.get("type") == "checkbox" and name in ("type", "id", "checked"), (name, value)
            if name not in ("aria-label", "href"):  # text for screen readers, not a resource
                assert "://" not in (value or "") and not (value or "").startswith("//"), (name, value)
    assert "url(" not in parsed.style and "@import" not in parsed.style
    for href, text in parsed.links:
        assert href.startswith("#") or href == text, (href, text)  # a link out says where it goes
    return parsed


XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "';alert(String.fromCharCode(88,83,83))//",
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "</style><script>alert(2)</script>",
    "</title><iframe src=//evil.example>",
    "<a href='http://evil.example'>x</a>",
]


def xss_report() -> Report:
    def x(i: int) -> str:
        return XSS[i % len(XSS)] + f" #{i}"

    findings = []
    for n, status in enumerate(Status):
        findings.append(
            Finding(
                Subject(x(n), x(n + 1), x(n + 2), {x(n + 3): x(n + 4), "vendor": x(n + 5)}),
                x(n + 6),
                x(n + 7),
                Severity.HIGH,
                0.5,
                [
                    Evidence(
                        x(n + 8), x(n + 9), Location(x(n + 10), line=1, entry=x(n + 11), field=x(n + 12)), x(n), x(n)
                    )
                ],
                status=status,
                explanation=x(n + 13),
                verdicts=[Verdict(x(n + 14), status, x(n + 15), x(n + 16), x(n + 17))],
                tags=[x(n + 18)],
                extra={x(n + 19): x(n + 20)},
            )
        )
    return Report(
        job=x(21),
        inputs=[x(22)],
        findings=findings,
        errors=[InputError(Location(x(23), row=2, field=x(24)), x(25))],
        subjects=9,
        data_versions={x(26): x(27)},
        summary={x(28): x(29)},
        started=x(30),
        finished=x(31),
    )


def test_html_escapes_every_field_and_loads_nothing() -> None:
    out = html_report.render(xss_report())
    parsed = assert_inert(out)
    text = "".join(parsed.text)
    for payload in XSS:
        assert payload in text  # shown to the reader as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in out
    # every value reached the page: each numbered payload appears
    for i in range(32):
        assert f"#{i}" in text, i


def test_html_csp_allows_only_its_own_style() -> None:
    out = html_report.render(sample_report())
    parsed = assert_inert(out)
    meta = next(a for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    csp = meta["content"] or ""
    assert "default-src 'none'" in csp
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(parsed.style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert sum(1 for t, _ in parsed.tags if t == "style") == 1


def chart_titles(out: str) -> list[str]:
    return re.findall(r'<div class="chart"><h3>([^<]*)</h3>', out)


def chart_bars(out: str, title: str) -> dict[str, int]:
    block = out.split(f"<h3>{title}</h3>", 1)[1].split("</svg>", 1)[0]
    return {label: int(n) for label, n in re.findall(r"<g><title>([^<]*): (\d+) subject\(s\)</title>", block)}


def test_html_charts_follow_the_data() -> None:
    fleet = html_report.render(job_report("fleet"))
    assert "Subjects by vendor" in chart_titles(fleet) and "Subjects by group" in chart_titles(fleet)
    assert chart_bars(fleet, "Subjects by group") == {"Hikvision": 1, "Huawei": 1, "Dahua": 1}
    assert chart_bars(fleet, "Subjects by policy (verdict status)") == {"us-889": 3, "fcc": 2, "uk-tsa": 1}
    assert chart_bars(fleet, "Subjects by input file")["scans/lobby.xml"] == 2
    firmware = html_report.render(job_report("firmware"))
    assert "Subjects by kind" in chart_titles(firmware)
    assert not any("by tag" in t for t in chart_titles(firmware))  # tags are noise as a chart
    assert "Subjects by policy (verdict status)" not in chart_titles(firmware)  # no verdicts, no empty chart
    parties = html_report.render(job_report("parties"))
    assert "Subjects by list" not in chart_titles(parties)  # one bar says nothing a chart would
    assert chart_bars(parties, "Subjects by country") == {"CN": 1, "DE": 1}


def test_html_charts_count_inputs_not_knowledge_and_one_country_once() -> None:
    from bansweep.knowledge import DATA_DIR

    report = job_report("parties")
    report.findings[0].subject.attributes["country"] = "China"
    report.findings.append(copy.deepcopy(report.findings[0]))
    report.findings[-1].subject = Subject("party", "p3", "Other Co", {"country": "CN"})
    report.findings[-1].evidence[0].location = Location("other.csv", row=1)
    listed = Location(str(DATA_DIR / "fcc-covered-list.yaml"), entry="fcc-2")
    for f in report.findings:
        f.evidence.append(Evidence("parties.list.fcc", "ZTE Corporation", listed))
    out = html_report.render(report)
    assert chart_bars(out, "Subjects by country") == {"CN": 2, "DE": 1}
    assert chart_bars(out, "Subjects by input file") == {"suppliers.xlsx": 2, "other.csv": 1}
    assert "fcc-covered-list.yaml" not in "".join(chart_titles(out)) and str(DATA_DIR) not in out
    assert "knowledge fcc-covered-list.yaml#fcc-2" in out


def test_html_chart_labels_fit_their_column() -> None:
    findings = [
        Finding(Subject("device", f"d{i}", f"dev{i}", {"vendor": v}), "fleet.x", "t", Severity.LOW, 1.0, [])
        for i, v in enumerate(["A" * 60, "华" * 40, "Short"])
    ]
    out = html_report.render(Report(job="fleet", findings=findings))
    labels = re.findall(r'text-anchor="end">([^<]*)</text>', out)
    assert "A" * 29 + "…" in labels and "华" * 14 + "…" in labels and "Short" in labels
    for label in labels:
        assert html_report._cells(label) <= html_report.LABEL_CELLS


def test_html_findings_collapsed_with_a_filter_by_job_and_status() -> None:
    report = all_statuses_report()
    out = html_report.render(report)
    parsed = assert_inert(out)
    details = [a for t, a in parsed.tags if t == "details"]
    assert len(details) == len(report.findings) and not any("open" in a for a in details)
    boxes = [a["id"] for t, a in parsed.tags if t == "input"]
    assert boxes == [f"show-job-{i}" for i in range(3)] + [
        f"show-{s.name.lower()}" for s in sorted(Status, key=lambda s: s.order, reverse=True)
    ]
    style = parsed.style
    for box in boxes:  # every box hides something that exists
        target = box.replace("show-job-", "job-").replace("show-", "st-")
        assert f"#{box}:not(:checked)) .{target}{{display:none}}" in style
        assert any(target in (a.get("class") or "").split() for a in details), target
    # worst status first
    order = [next(c for c in a["class"].split() if c.startswith("st-")) for a in details]
    ranks = [Status[c[3:].upper()].order for c in order]
    assert ranks == sorted(ranks, reverse=True)
    # a report of 12 findings is short: one summary line per subject, the evidence inside
    assert out.count("<summary>") == len(report.findings)


def test_html_shows_extras_and_figures_as_tables_and_links_urls() -> None:
    report = sample_report()
    report.findings[-1].extra = {
        "candidates": [{"score": 0.9, "name": "Hua Wei"}, {"score": 0.7, "name": "Huawei"}],
        "citations": ["15 CFR 744", "https://www.bis.gov/entity-list"],
        "decision": {"by": "ann", "at": "2026-11-01"},
        "country": "DE",  # the subject says it already
        "notes": [],
    }
    report.summary["parties.screened"] = {"columns": ["party", "status"], "rows": [["Hua Wei", "possible-match"]]}
    out = html_report.render(report)
    parsed = assert_inert(out)
    assert "{" not in "".join(parsed.text).replace("{display:none}", "")  # no raw JSON anywhere
    assert "<th>name</th><th>score</th>" in out and "<td>Hua Wei</td><td>0.9</td>" in out
    assert "<th>party</th><th>status</th>" in out and "<td>Hua Wei</td><td>possible-match</td>" in out
    assert "<dt>by</dt><dd>ann</dd>" in out
    assert out.count("<dt>country</dt><dd>DE</dd>") == 1 and "<dt>notes</dt>" not in out
    link = "https://www.bis.gov/entity-list"
    assert (link, link) in parsed.links
    # only http(s): javascript: and friends stay text
    report.findings[-1].explanation = "see javascript:alert(1) and data:text/html,x"
    assert all(h.startswith(("#", "http")) for h, _ in assert_inert(html_report.render(report)).links)


def test_html_has_findings_evidence_errors_and_versions() -> None:
    report = sample_report()
    out = html_report.render(report)
    parsed = assert_inert(out)
    text = "".join(parsed.text)
    details = [a for t, a in parsed.tags if t == "details"]
    assert len(details) == len({(f.subject.kind, f.subject.id, f.status) for f in report.findings})
    for error in report.errors:
        assert str(error.location) in text and error.message in text
    for name, version in report.data_versions.items():
        assert f"<td>{name}</td><td>{version}</td>" in out
    assert "csl 2026-11-20 (2 days)" in text and "4 input(s) or parts could not be read" in text
    assert "NDAA FY2019 §889(f)(3)(B), Pub. L. 115-232" in text
    assert "scans/lobby.xml:57" in text
    for f in report.findings:
        assert f.key in text
    # every in-page link points at an element that exists
    ids = {a.get("id") for _, a in parsed.tags}
    assert all(a["href"][1:] in ids for t, a in parsed.tags if t == "a" and a["href"].startswith("#"))


def test_html_many_values_fold_into_other() -> None:
    findings = [
        Finding(Subject("device", f"d{i}", f"dev{i}", {"vendor": f"V{i:02d}"}), "r", "t", Severity.LOW, 1.0, [])
        for i in range(20)
    ]
    out = html_report.render(Report(job="fleet", findings=findings, subjects=20))
    bars = chart_bars(out, "Subjects by vendor")
    assert len(bars) == html_report.MAX_BARS and bars["other (9)"] == 9


def legend_words(out: str) -> list[str]:
    block = out.split('<p class="legend">', 1)[1].split("</p>", 1)[0]
    return [w for words in re.findall(r"</i>([^<]*)</span>", block) for w in words.split(", ")]


def test_html_shows_each_jobs_words_coloured_by_level() -> None:
    out = html_report.render(all_statuses_report())
    for status in Status:
        assert f'<span class="badge l-{status.level}" title="level {status.level}">{status.value}</span>' in out
    words = legend_words(out)
    assert sorted(words) == sorted(s.value for s in Status)
    assert [Status(w).order for w in words] == sorted((Status(w).order for w in words), reverse=True)
    # a firmware report's legend has firmware's words only, and only those it uses
    firmware = html_report.render(job_report("firmware"))
    assert legend_words(firmware) == ["critical", "medium"]
    assert "covered" not in legend_words(html_report.render(job_report("parties")))


# --- table ----------------------------------------------------------------------------------------------------------


def test_table_summary_first_then_a_few_lines_per_finding() -> None:
    report = sample_report()
    out = table_report.render(report, width=80, color=False)
    lines = out.splitlines()
    assert "\x1b" not in out
    assert max(len(line) for line in lines) <= 80 and all(line == line.rstrip() for line in lines)
    assert lines[0] == "bansweep sweep · 8 finding(s) · 412 subject(s) examined"
    # counts by job and status, inputs by detected kind, data with its age, warnings
    assert "Findings   fleet 4: 1 covered · 1 covered-limited · 1 not-screened · 1 review" in out
    assert "firmware 2: 1 critical · 1 medium" in out and "parties 2: 1 match · 1 possible-match" in out
    assert "Inputs     2 file(s): inventory-csv 1 · nmap-xml 1" in out
    assert "csl 2026-11-20 (2 days)" in out and "ieee 2026-10-01 (52 days)" in out
    assert "Warnings   4 input(s) or parts could not be read" in out
    # findings grouped by job, worst status first; each finding: status and subject, reason, key evidence
    assert out.index("fleet — 4 finding(s)") < out.index("firmware — 2") < out.index("parties — 2")
    assert out.index("sw-core-2") < out.index("cam-lobby-01") < out.index("da:a1:19") < out.index("nvr-dock")
    camera = lines[lines.index("  covered-limited cam-lobby-01") :][:3]
    assert camera[1].strip() == "Hikvision IP camera"
    assert camera[2].strip() == "scans/lobby.xml:42,57 · cmdb.csv row 14"
    assert "  critical com.adups.fota" in lines
    assert "blu-r1-hd.zip!system/build.prop:12" in out
    body = lines[lines.index("fleet — 4 finding(s)") : lines.index("Input errors — 4, not screened")]
    assert len([line for line in body if line.strip()]) <= 3 + 3 * len(report.findings)
    # input errors with their place; the next step last
    for error in report.errors:
        assert f"  {error.location}: {error.message}" in lines
    assert "Next: fix the 4 unreadable input(s) above and run again; act on the 4 hit(s)" in " ".join(lines)
    assert lines[-1].startswith("bansweep ")
    # details and verdicts only with details
    assert "§889(f)(3)(B)" not in out and "k1-" not in out


def test_table_details_show_evidence_verdicts_and_keys() -> None:
    report = sample_report()
    out = table_report.render(report, width=80, color=False, details=True)
    flat = " ".join(out.split())
    assert max(len(line) for line in out.splitlines()) <= 80
    for f in report.findings:
        assert f.key in flat
        for ev in f.evidence:
            assert str(ev.location) in flat
        for v in f.verdicts:
            assert " ".join(v.citation.split()) in flat
    assert "risk 9.4" in flat and "MAC prefix, HTTP banner and CMDB manufacturer agree." in flat
    assert "--details" not in flat  # no advice to ask for what is shown


def test_table_names_knowledge_files_not_their_installed_path() -> None:
    from bansweep.knowledge import DATA_DIR

    report = job_report("parties")
    listed = Location(str(DATA_DIR / "fcc-covered-list.yaml"), entry="fcc-2")
    report.findings[0].evidence.append(Evidence("parties.list.fcc", "ZTE Corporation", listed, "2026-07-28"))
    out = " ".join(table_report.render(report, width=100, color=False, details=True).split())
    assert "knowledge fcc-covered-list.yaml#fcc-2" in out and str(DATA_DIR) not in out
    only = Report(job="parties", findings=[report.findings[0]])
    only.findings[0].evidence = [only.findings[0].evidence[-1]]
    assert "knowledge fcc-covered-list.yaml#fcc-2" in table_report.render(only, width=100, color=False)


def test_table_warns_of_missing_reference_data_and_says_when_all_is_clean() -> None:
    report = Report(
        job="parties",
        subjects=12,
        data_versions={"csl": "not imported (run `bansweep data import-csl FILE`)", "fcc": "2026-07-28"},
        finished="2026-08-07T00:00:00+00:00",
    )
    out = table_report.render(report, width=80, color=False)
    assert "Warnings   csl: not imported (run `bansweep data import-csl FILE`)" in out
    assert "fcc 2026-07-28 (10 days)" in " ".join(out.split())
    assert "Findings   none" in out and "Next: nothing to act on" in out


def test_table_colours_each_jobs_words_by_level() -> None:
    assert all(table_report.STYLE[s] == table_report.LEVEL_STYLE[s.level] for s in Status)
    assert len(set(table_report.LEVEL_STYLE.values())) == len(Level)
    out = table_report.render(all_statuses_report(), width=120, color=True)

    def style_before(word: str) -> str:
        return re.findall(rf"(\x1b\[[0-9;]*m){re.escape(word)}\x1b\[0m", out)[0]

    assert style_before("covered-limited") == style_before("match") == style_before("high")
    assert style_before("possible-match") == style_before("medium") == style_before("not-screened")
    assert len({style_before(w) for w in ("critical", "match", "medium", "low", "no-match")}) == 5


def test_table_colour_only_when_asked() -> None:
    assert "\x1b[" in table_report.render(sample_report(), width=120, color=True)


def test_table_shows_hostile_text_inert() -> None:
    report = sample_report()
    report.findings[0].subject.label = "\x1b]0;owned\x07\x1b[2Jcam [bold red]x[/bold red] \u202eevil"
    out = table_report.render(report, width=120, color=False)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b]0;owned" in out and "[bold red]x[/bold red]" in out and "\\u202eevil" in out


# --- hostile text everywhere ----------------------------------------------------------------------------------------

anything = st.text(st.characters(exclude_categories=()), max_size=24) | st.sampled_from(
    XSS + ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "-5", " \t=1", "\r\n+1", "\udcff"]
)
maybe_int = st.none() | st.integers(min_value=-3, max_value=10**9)
locations = st.builds(
    Location,
    file=anything,
    line=maybe_int,
    row=maybe_int,
    entry=st.none() | anything,
    offset=maybe_int,
    field=st.none() | anything,
)
evidence = st.builds(
    Evidence, rule=anything, value=anything, location=locations, data_date=st.none() | anything, detail=anything
)
subjects = st.builds(
    Subject, kind=anything, id=anything, label=anything, attributes=st.dictionaries(anything, anything, max_size=3)
)
verdicts = st.builds(
    Verdict, policy=anything, status=st.sampled_from(Status), citation=anything, date=anything, reason=anything
)
findings = st.builds(
    Finding,
    subject=subjects,
    rule=anything,
    title=anything,
    severity=st.sampled_from(Severity),
    confidence=st.floats(),
    evidence=st.lists(evidence, max_size=3),
    status=st.sampled_from(Status),
    explanation=anything,
    verdicts=st.lists(verdicts, max_size=2),
    tags=st.lists(anything, max_size=2),
    extra=st.dictionaries(
        anything, anything | st.integers() | st.floats() | st.lists(anything, max_size=2), max_size=2
    ),
)
reports = st.builds(
    Report,
    job=anything,
    inputs=st.lists(anything, max_size=3),
    findings=st.lists(findings, max_size=4),
    errors=st.lists(st.builds(InputError, locations, anything), max_size=3),
    subjects=st.integers(min_value=0, max_value=10**9),
    data_versions=st.dictionaries(anything, anything, max_size=2),
    summary=st.dictionaries(anything, anything | st.integers() | st.floats(), max_size=2),
    started=anything | st.just("2026-11-22T10:00:00+02:00"),
    finished=anything,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(reports)
def test_hostile_text_in_every_field(report: Report) -> None:
    for fmt in FORMATS:
        out = render(report, fmt)
        assert isinstance(out, str)
        out.encode("utf-8")
    REPORT.validate(json.loads(json_report.render(report)))
    assert json_report.render(report) == json_reference(report)
    SARIF.validate(json.loads(sarif_report.render(report)))
    rows = csv_rows(csv_report.render(report))
    assert len(rows) == expected_csv_rows(report)
    assert len({len(r) for r in rows}) == 1
    assert all(neutralised(c) for r in rows for c in r)
    assert_inert(html_report.render(report))
    assert "\x1b" not in table_report.render(report, width=80, color=False)


# --- writing files --------------------------------------------------------------------------------------------------


def json_reference(report: Report) -> str:
    """The JSON report as the standard library's encoder writes the whole document (the streaming writer's model)."""
    return (
        json.dumps(json_report.as_dict(report), indent=2, ensure_ascii=False, allow_nan=False, default=json_report.text)
        + "\n"
    )


@pytest.mark.parametrize("forked", [False, True])
@pytest.mark.parametrize("make", [sample_report, xss_report, lambda: job_report("fleet"), lambda: Report("fleet")])
def test_streamed_json_is_the_whole_document_text(
    make,
    forked: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    from bansweep.reports import write

    if forked:  # the second half of the findings encoded by a forked process
        monkeypatch.setattr(json_report, "PARALLEL_FINDINGS", 2)
    report = make()
    report.summary["odd"] = {"nan": float("nan"), "tuple": ("a", 1.5, None, True), 3: "int key", "set": {2, 1}}
    report.findings[:0] = [report.findings[0]] * 3 if report.findings else []
    write(report, "json", tmp_path / "r.json")
    assert (tmp_path / "r.json").read_bytes() == json_reference(report).encode("utf-8")
    write(report, "csv", tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_bytes() == csv_report.render(report).encode("utf-8")
    sarif_text = json.dumps(sarif_report.as_dict(report), indent=2, ensure_ascii=False, allow_nan=False, default=str)
    write(report, "sarif", tmp_path / "r.sarif")
    assert (tmp_path / "r.sarif").read_bytes() == (sarif_text + "\n").encode("utf-8")
    report.summary["marker"] = sarif_report._RESULTS  # a value that reads like the results' place: written whole
    write(report, "sarif", tmp_path / "r.sarif")
    assert json.loads((tmp_path / "r.sarif").read_text("utf-8")) == json.loads(sarif_report.render(report))
    assert len(json.loads((tmp_path / "r.sarif").read_text("utf-8"))["runs"][0]["results"]) == len(report.findings)


def test_forked_json_split_balances_encoding_work_not_count() -> None:
    base = sample_report().findings[0]
    heavy = [copy.copy(base) for _ in range(10)]
    for f in heavy:
        f.extra = {f"k{i}": i for i in range(50)}
    light = [copy.copy(base) for _ in range(50)]
    for f in light:
        f.extra = {}
    # 10 findings of cost 60 and 50 of cost 10: half the work is done after the 10 heavy ones and 0 light ones
    assert json_report._halfway(heavy + light) == 10
    assert json_report._halfway(light) == 25
    assert json_report._halfway([base]) == 1


def test_write_to_file_has_no_colour_and_exact_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bansweep.reports import write

    monkeypatch.setattr("sys.stdout.isatty", lambda: True)  # a terminal, but the report goes to a file
    report = sample_report()
    write(report, "table", tmp_path / "r.txt")
    assert "\x1b" not in (tmp_path / "r.txt").read_text("utf-8")
    write(report, "csv", tmp_path / "r.csv")
    data = (tmp_path / "r.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbffinding,key,job,status,")
    assert data.count(b"\r\n") == expected_csv_rows(report) and b"\r\r\n" not in data


def test_table_lists_the_worst_and_counts_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_report, "MAX_ROWS", 3)
    monkeypatch.setattr(table_report, "MAX_ERRORS", 3)
    report = sample_report()
    out = " ".join(table_report.render(report, width=100, color=False).split())
    assert "sw-core-2" in out and "cam-lobby-01" in out and "com.adups.fota" in out  # the worst of any job
    assert "nvr-dock" not in out and "ZTE Kangxun" not in out and "Hua Wei Trading" not in out
    assert "… 5 more finding(s) on 5 subject(s), none worse than those above" in out
    assert "… 1 more: --format csv, json, html or sarif lists all." in out
    assert "blu-r1-hd.zip!system/app/X/X.apk" not in out
    assert "8 finding(s)" in out and "4 input(s) or parts could not be read" in out


def test_a_large_report_is_sorted_field_by_field_into_the_same_order(monkeypatch):
    """Many findings are sorted one field at a time (to hold less); the order is sort_key's, ties included."""
    import random

    base = fleet_findings() + firmware_findings() + parties_findings() + all_statuses_report().findings
    findings = []
    for n in range(40):  # copies that tie on some fields and differ on others
        for f in base:
            g = copy.copy(f)
            g.confidence = [f.confidence, 0.5, float("nan")][n % 3]
            g.title = f.title if n % 2 else f"{f.title} {n % 5}"
            findings.append(g)
    random.Random(7).shuffle(findings)
    expected = sorted(findings, key=json_report.sort_key)
    monkeypatch.setattr(json_report, "MANY_FINDINGS", 1)
    got = json_report.worst_first(findings)
    assert [id(f) for f in got] == [id(f) for f in expected]
    assert got[0].status.order >= got[-1].status.order


def test_html_lists_many_passed_subjects_as_rows_and_the_rest_as_blocks(monkeypatch):
    from bansweep.fleet.job import Options
    from bansweep.jobs import FLEET, run_job

    report = run_job(FLEET, [Path(__file__).parent / "fixtures" / "fleet"], Options(show_progress=False))
    passed = [f for f in report.findings if f.status.level == Level.PASS]
    others = [f for f in report.findings if f.status.level != Level.PASS]
    assert len(passed) >= 3 and others
    monkeypatch.setattr(html_report, "MAX_PASS_BLOCKS", 2)
    out = html_report.render(report)
    rows = re.findall(r'<tr class="job-\d+ st-([a-z_]+)" id="f\d+">(.*?)</tr>', out)
    assert len(rows) == len({(f.subject.kind, f.subject.id) for f in passed})
    assert {status for status, _ in rows} == {f.status.name.lower() for f in passed}
    for f in passed:
        assert any(escape(f.subject.id) in cells for _, cells in rows)
    blocks = re.findall(r'<details class="subject job-\d+ st-([a-z_]+)"', out)
    assert len(blocks) == len({(f.subject.kind, f.subject.id, f.status) for f in others})
    assert f"<h3>Passed ({len(rows)})</h3>" in out and out.count('<table class="passed">') == 1
    monkeypatch.setattr(html_report, "MAX_PASS_BLOCKS", 10_000)
    assert '<table class="passed">' not in html_report.render(report)
