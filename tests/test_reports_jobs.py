"""The reports of real job runs (the example inputs, a built firmware tree) against the JSON report schema (with
each job's declared extras) and the SARIF 2.1.0 schema; SARIF fingerprints and CSV keys are the finding keys."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bansweep.findings import JOB_STATUSES, Report
from bansweep.jobs import FIRMWARE, run_job, sweep
from bansweep.reports import csv as csv_report
from bansweep.reports import json as json_report
from bansweep.reports import sarif as sarif_report
from firmware_fixtures import firmware_tree, need_tools

ROOT = Path(__file__).parent.parent
SARIF_SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "reports" / "sarif-schema-2.1.0.json").read_text())


@pytest.fixture(scope="module")
def examples() -> Report:
    return sweep(sorted((ROOT / "examples").iterdir()), {})


@pytest.fixture(scope="module")
def firmware(tmp_path_factory: pytest.TempPathFactory) -> Report:
    need_tools()
    base = tmp_path_factory.mktemp("fw")
    return run_job(FIRMWARE, [firmware_tree(base / "adups", base / "work")])


def check(report: Report) -> dict[str, Any]:
    doc = json.loads(json_report.render(report))
    jsonschema.Draft202012Validator(json_report.schema()).validate(doc)
    log = json.loads(sarif_report.render(report))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    keys = [f["key"] for f in doc["findings"]]
    fingerprints = [r["partialFingerprints"]["bansweepFindingKey/v1"] for r in log["runs"][0]["results"]]
    assert fingerprints == keys and len(set(keys)) == len(keys)
    rows = list(csv.DictReader(io.StringIO(csv_report.render(report)[1:], newline="")))
    assert list(dict.fromkeys(r["key"] for r in rows if r["status"] != "input-error")) == keys
    return doc


def test_example_sweep_reports_validate(examples: Report) -> None:
    assert {f.rule.split(".")[0] for f in examples.findings} == {"fleet", "parties"}
    doc = check(examples)
    assert set(doc["statuses"]) == {"fleet", "parties"}
    fleet = [f for f in doc["findings"] if f["rule"].startswith("fleet.")]
    assert fleet and all(
        set(f["extra"]) <= set(json_report.schema()["$defs"]["fleetExtra"]["properties"]) for f in fleet
    )


def test_example_sweep_keys_are_stable_across_runs(examples: Report) -> None:
    again = sweep(sorted((ROOT / "examples").iterdir(), reverse=True), {})
    assert sorted(f.key for f in again.findings) == sorted(f.key for f in examples.findings)


def test_firmware_report_validates(firmware: Report) -> None:
    doc = check(firmware)
    assert list(doc["statuses"]) == ["firmware"]
    assert doc["statuses"]["firmware"] == {s.value: str(s.level) for s in JOB_STATUSES["firmware"]}
    extras = {k for f in doc["findings"] for k in f["extra"]}
    assert {"family", "cves", "privilege", "capabilities"} <= extras


def test_example_sweep_reads_well_at_80_columns(examples: Report) -> None:
    from bansweep.knowledge import DATA_DIR
    from bansweep.reports import table as table_report

    out = table_report.render(examples, width=80, color=False)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(i for i, line in enumerate(lines) if line.startswith("fleet — "))
    assert header <= 14  # a short summary first (with the not-screened headline of a missing list)
    assert len([line for line in lines[header:] if line.strip()]) <= 3 * len(examples.findings) + 8
    assert "Screening  NOT SCREENED against csl" in out and "csl: not imported" in out and "Next: " in out
    details = table_report.render(examples, width=80, color=False, details=True)
    assert str(DATA_DIR) not in details and "knowledge fcc-covered-list.yaml#fcc-1" in " ".join(details.split())
