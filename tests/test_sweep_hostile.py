"""A whole hostile batch through `bansweep sweep`, end to end: good inputs mixed with broken, malicious and odd files.

Every bad file must come back as an input error naming it (and the place in it where the format has one), every
good file must still give its findings, and the exit code must carry both bits (1 findings + 4 input errors = 5).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REAL_APK = ROOT / "tests" / "data" / "cache" / "fdroidserver" / "urzip.apk"
TIMEOUT = 120

FORMULA = '=HYPERLINK("http://x","y")'
SCRIPT = "<script>alert(1)</script>"
HEADER = '"name","manufacturer","model_id","mac_address","ip_address"\r\n'
# hostile file name -> what the error location must carry besides the file ("" = the whole file is the place)
HOSTILE = {
    "truncated-scan.xml": "line",
    "laughs.xml": "line",
    "long-line.csv": "row",
    "bomb.apk": "entry",
    "truncated.apk": "",
    "junk-<script>.bin": "",
    "empty.csv": "",
    "loop": "",
    "dangling.csv": "",
}


def _zip_apk(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("AndroidManifest.xml", b"\0" * 1024)
        z.writestr("classes.dex", b"\0" * size)
    return buf.getvalue()


def build(directory: Path, apk_dir: Path) -> None:
    """Good and hostile inputs in directory; the APKs (good and bad) in apk_dir (may be directory itself)."""
    if not REAL_APK.exists():
        pytest.skip(f"{REAL_APK} missing: run scripts/fetch-test-data (the batch needs a real, clean APK)")
    directory.mkdir(parents=True, exist_ok=True)
    apk_dir.mkdir(parents=True, exist_ok=True)
    for name in ("network-scan.xml", "cmdb-export.csv", "suppliers.csv"):
        shutil.copy(EXAMPLES / name, directory / name)
    scan = (EXAMPLES / "network-scan.xml").read_bytes()
    (directory / "truncated-scan.xml").write_bytes(scan[: len(scan) // 2])
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">' for i in range(1, 10)
    )
    (directory / "laughs.xml").write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE nmaprun [{entities}]>\n<nmaprun scanner="nmap">&lol9;</nmaprun>\n'
    )
    # Excel "Unicode Text": UTF-16-LE with a BOM, tab-separated, CRLF
    excel = HEADER + '"cam-a","Hikvision","DS-2CD2143G2-IS","44:19:b6:3a:10:99","10.0.0.5"\r\n'
    (directory / "excel-utf16.csv").write_bytes(b"\xff\xfe" + excel.replace(",", "\t").encode("utf-16-le"))
    (directory / "long-line.csv").write_text(
        HEADER + '"cam-b","Hikvision","' + "A" * 2_000_000 + '","44:19:b6:3a:10:98","10.0.0.7"\n'
    )
    formula = FORMULA.replace('"', '""')
    (directory / "formula.csv").write_text(
        HEADER
        + f'"{formula}","Hikvision","DS-2CD2143G2-IS","44:19:b6:3a:10:97","10.0.0.8"\n'
        + f'"{SCRIPT}","Hikvision","DS-2CD2143G2-IS","44:19:b6:3a:10:96","10.0.0.9"\n'
    )
    # 200 MB of zeros deflated to ~200 KB, in a zip that looks like an APK
    (apk_dir / "bomb.apk").write_bytes(_zip_apk(200 * 1024 * 1024))
    source = REAL_APK.read_bytes()
    (apk_dir / "truncated.apk").write_bytes(source[:3072])
    shutil.copy(REAL_APK, apk_dir / "good.apk")
    (directory / "junk-<script>.bin").write_bytes(os.urandom(4096))
    (directory / "empty.csv").write_bytes(b"")
    loop = directory / "loop"
    loop.mkdir()
    (loop / "self").symlink_to(loop, target_is_directory=True)
    (directory / "dangling.csv").symlink_to(directory / "missing-target.csv")


def sweep(directory: Path, fmt: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bansweep", "sweep", "--format", fmt, "-o", str(out), str(directory)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=directory.parent,
    )


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One batch run in all three report formats; the APKs sit in apps/ so the top folder is not a firmware tree."""
    base = tmp_path_factory.mktemp("hostile")
    directory = base / "batch"
    build(directory, directory / "apps")
    runs = {fmt: sweep(directory, fmt, base / f"out.{fmt}") for fmt in ("json", "csv", "html")}
    return {
        "dir": directory,
        "runs": runs,
        "report": json.loads((base / "out.json").read_text(encoding="utf-8")),
        "csv": (base / "out.csv").read_text(encoding="utf-8-sig"),
        "html": (base / "out.html").read_text(encoding="utf-8"),
    }


def _hostile_path(directory: Path, name: str) -> str:
    return str(directory / "apps" / name) if name.endswith(".apk") else str(directory / name)


def _errors_for(report: dict[str, Any], path: str) -> list[dict[str, Any]]:
    return [e for e in report["errors"] if e["location"]["file"].startswith(path)]


def _evidence_files(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        for evidence in finding["evidence"]:
            out.setdefault(evidence["location"]["file"], []).append(finding)
    return out


def test_exit_code_carries_findings_and_input_errors(batch: dict[str, Any]) -> None:
    for fmt, run in batch["runs"].items():
        assert run.returncode == 5, (fmt, run.returncode, run.stderr)
        assert "Traceback" not in run.stderr, run.stderr
        assert "input error(s)" in run.stderr


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_hostile_file_is_an_error_with_its_place(batch: dict[str, Any], name: str) -> None:
    path = _hostile_path(batch["dir"], name)
    errors = _errors_for(batch["report"], path)
    assert errors, f"{name} is not in the report's errors: {batch['report']['errors']}"
    for error in errors:
        assert error["message"].strip()
        assert error["where"].startswith(path)
    place = HOSTILE[name]
    if place:
        assert any(place in e["location"] for e in errors), errors
    # a hostile file gives no findings of its own, except the parts of it that could be read (checked below) and
    # not-screened findings (what could not be judged is never reported clean)
    if name not in ("long-line.csv", "truncated-scan.xml"):
        judged = [f for f in _evidence_files(batch["report"]).get(path, []) if f["status"] != "not-screened"]
        assert judged == [], judged


def test_entity_bomb_refused(batch: dict[str, Any]) -> None:
    (error,) = _errors_for(batch["report"], str(batch["dir"] / "laughs.xml"))
    assert "entity" in error["message"].lower() and "refused" in error["message"].lower()
    assert error["location"]["line"] == 2  # the DOCTYPE line


def test_zip_bomb_stopped_by_the_size_limit(batch: dict[str, Any]) -> None:
    errors = _errors_for(batch["report"], _hostile_path(batch["dir"], "bomb.apk"))
    dex = [e for e in errors if e["location"].get("entry") == "classes.dex"]
    assert dex and "limit" in dex[0]["message"], errors
    bomb = _evidence_files(batch["report"])[_hostile_path(batch["dir"], "bomb.apk")]
    assert {(f["key"], f["status"]) for f in bomb} == {(bomb[0]["key"], "not-screened")}  # code unread: not clean


def test_truncated_scan_keeps_the_hosts_before_the_cut(batch: dict[str, Any]) -> None:
    (error,) = _errors_for(batch["report"], str(batch["dir"] / "truncated-scan.xml"))
    assert error["location"]["line"] > 1
    assert "truncated" in error["message"] or "ends" in error["message"]


def test_long_line_cell_refused_but_row_kept(batch: dict[str, Any]) -> None:
    (error,) = _errors_for(batch["report"], str(batch["dir"] / "long-line.csv"))
    assert error["location"]["row"] == 2 and error["location"]["field"] == "model_id"
    findings = _evidence_files(batch["report"]).get(str(batch["dir"] / "long-line.csv"), [])
    assert any(f["subject"]["attributes"].get("ip") == "10.0.0.7" for f in findings)


def test_good_inputs_still_give_their_findings(batch: dict[str, Any]) -> None:
    report, directory = batch["report"], batch["dir"]
    by_file = _evidence_files(report)
    scan = by_file.get(str(directory / "network-scan.xml"), [])
    assert any("hikvision" in f["subject"]["label"].lower() for f in scan), "no Hikvision camera from the nmap scan"
    cmdb = by_file.get(str(directory / "cmdb-export.csv"), [])
    assert any(f["subject"]["attributes"].get("serial") == "FA4812345" for f in cmdb)
    assert any("zte" in f["subject"]["label"].lower() and f["status"] == "covered" for f in cmdb)
    parties = by_file.get(str(directory / "suppliers.csv"), [])
    assert any(f["subject"]["kind"] == "party" and f["status"] == "match" for f in parties)
    assert any("Huawei" in f["subject"]["label"] for f in parties)
    # the Excel UTF-16 export and the formula file are good data with odd encoding / content
    excel = by_file.get(str(directory / "excel-utf16.csv"), [])
    assert any(f["subject"]["attributes"].get("ip") == "10.0.0.5" for f in excel)
    formula = by_file.get(str(directory / "formula.csv"), [])
    assert {f["subject"]["attributes"].get("ip") for f in formula} >= {"10.0.0.8", "10.0.0.9"}
    assert not _errors_for(report, str(directory / "excel-utf16.csv"))
    formats = report["summary"]["formats"]
    assert formats[str(directory / "network-scan.xml")] == "nmap"
    assert formats[str(directory / "suppliers.csv")] == "parties-csv"
    good = str(directory / "apps" / "good.apk")
    assert formats[good] == "apk"
    assert not _errors_for(report, good)


def test_csv_report_neutralises_the_formula(batch: dict[str, Any]) -> None:
    rows = list(csv.DictReader(io.StringIO(batch["csv"])))
    hostnames = [r["subject.hostname"] for r in rows if "HYPERLINK" in r["subject.hostname"]]
    assert hostnames and all(h == "'" + FORMULA for h in hostnames), hostnames
    assert not [v for r in rows for v in r.values() if (v or "").startswith("=")]


def test_html_report_escapes_hostile_text(batch: dict[str, Any]) -> None:
    html = batch["html"]
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html  # the device name and the junk file's name are there, escaped


def test_flat_directory_with_apks_still_routes_every_file(tmp_path: Path) -> None:
    """The brief's layout: every input, APKs included, side by side in one folder."""
    directory = tmp_path / "flat"
    build(directory, directory)
    run = sweep(directory, "json", tmp_path / "out.json")
    assert "Traceback" not in run.stderr, run.stderr
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    seen = {e["location"]["file"] for e in report["errors"]} | set(_evidence_files(report))
    missing = [n for n in sorted(os.listdir(directory)) if not any(s.startswith(str(directory / n)) for s in seen)]
    missing.remove("good.apk")  # a clean APK gives neither findings nor errors
    assert not missing, f"silently skipped: {missing}"
    assert run.returncode == 5, run.stderr
