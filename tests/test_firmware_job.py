"""`bansweep firmware` end to end: firmware trees built with real toolchains, odexed firmware, diff, bad inputs, and
the real fdroidserver APK corpus (tests/data/cache/fdroidserver, fetched by scripts/fetch-test-data)."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bansweep.findings import JOB_STATUSES, Status
from bansweep.firmware import job
from firmware_fixtures import adups_apk, cli, firmware_tree, need_tools, odex_firmware

FDROID = Path(__file__).parent / "data" / "cache" / "fdroidserver"


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    need_tools()
    base = tmp_path_factory.mktemp("fw")
    work = base / "work"
    return {
        "adups": firmware_tree(base / "adups", work),
        "clean": firmware_tree(base / "clean", work, adups=False),
        "odex": odex_firmware(base / "odex", work),
        "work": work,
    }


def rules_of(report: dict[str, Any], subject: str) -> dict[str, dict[str, Any]]:
    return {f["rule"]: f for f in report["findings"] if f["subject"]["id"] == subject}


def test_cli_json_on_firmware_tree(trees: dict[str, Path]) -> None:
    code, report = cli("firmware", "--format", "json", trees["adups"])
    assert code == 1  # high/critical findings
    app = rules_of(report, "com.adups.fota")
    assert app["firmware.harvesting"]["severity"] == "critical"
    assert app["firmware.harvesting"]["status"] == "critical"  # firmware's words: the severity, never "covered"
    assert app["firmware.exported"]["status"] == app["firmware.exported"]["severity"] == "medium"  # never high alone
    assert {f["risk"] for f in app.values()} == {10.0}  # the app's risk score, on each of its findings
    assert "AdupsFota.apk" in app["firmware.harvesting"]["subject"]["label"]
    fw = rules_of(report, str(trees["adups"]))
    adups = fw["firmware.indicator.adups"]
    values = {e["value"] for e in adups["evidence"]}
    assert {
        "system/bin/fotabinder",
        "fota stream 600 system system",
        "FWUpgradeInit.rc",
        "import /FWUpgradeInit.rc",
    } <= values
    imported = next(e for e in adups["evidence"] if e["value"] == "import /FWUpgradeInit.rc")
    assert imported["location"]["line"] == 2 and imported["location"]["file"].endswith("init.rc")
    assert any(e["location"].get("line") == 4 for e in adups["evidence"] if e["value"].startswith("fota stream"))
    assert fw["firmware.indicator.zte-sync-agent"]["severity"] == "critical"
    assert fw["firmware.privilege.setuid"]["evidence"][0]["value"].startswith("system/bin/sync_agent mode 104755")
    summary = report["summary"][str(trees["adups"])]
    assert "com.adups.fota" in summary["system_uid_apps"]
    assert summary["harvesting_apps"] == ["com.adups.fota"]
    assert summary["third_party_update_apps"] == ["com.adups.fota"]
    assert any(i.startswith("ZTE sync_agent") for i in summary["backdoor_indicators"])
    assert report["subjects"] == 4  # three apps and the firmware
    framework = trees["adups"] / "system/framework/framework-res.apk"
    printed = subprocess.run(["apksigner", "verify", "--print-certs", framework], capture_output=True, text=True).stdout
    digest = next(line.split(":")[-1].strip() for line in printed.splitlines() if "certificate SHA-256 digest" in line)
    assert summary["platform_certificates"] == [digest]  # same digest as Android's apksigner prints
    risky = summary["risky_apps"]
    assert [r["package"] for r in risky] == ["com.adups.fota"] and risky[0]["severity"] == "critical"
    assert risky[0]["risk"] == 10.0 and summary["not_screened"] == []
    assert risky[0]["findings"][0] in ("Known ADUPS indicators", "Reads personal data and can send it out")
    assert report["errors"] == []
    assert not rules_of(report, "org.example.calc")  # the ordinary app is clean
    assert fw["firmware.indicator.triada"]["evidence"][0]["value"] == "system/framework/mms-core.jar"
    jar = rules_of(report, "system/framework/mms-core.jar")
    assert list(jar) == ["firmware.indicator.triada"]  # framework code: indicators only, no capability rules
    assert jar["firmware.indicator.triada"]["evidence"][0]["value"] == "libcnfgp.so"


def test_clean_firmware_has_no_hits(trees: dict[str, Path]) -> None:
    code, report = cli("firmware", "--format", "json", trees["clean"])
    hits = [f for f in report["findings"] if f["status"] in ("high", "critical")]
    assert [f["rule"] for f in hits] == ["firmware.privilege.test-keys"]  # the fixture build says test-keys
    assert code == 1


def test_odexed_firmware_still_judged_from_code(trees: dict[str, Path]) -> None:
    apk = trees["odex"] / "system/priv-app/AdupsFota/AdupsFota.apk"
    assert "classes.dex" not in zipfile.ZipFile(apk).namelist()
    report = job.run([trees["odex"]], job.Options())
    found = {f.rule: f for f in report.findings if f.subject.id == "com.adups.fota"}
    harvest = found["firmware.harvesting"]
    code_refs = [e for e in harvest.evidence if e.detail.endswith("referenced in code")]
    assert {e.value for e in code_refs} >= {
        "Landroid/telephony/TelephonyManager;->getDeviceId",
        "Landroid/telephony/SmsManager;->sendTextMessage",
    }
    assert all("oat/arm64/AdupsFota.odex" in (e.location.entry or "") for e in code_refs)
    assert "bigdata.adups.com" in {e.value for e in found["firmware.indicator.adups"].evidence}
    assert found["firmware.comms.weak-crypto"].evidence[0].value == "DES/ECB/PKCS5Padding"


def test_diff_between_builds(trees: dict[str, Path]) -> None:
    code, report = cli("firmware", "diff", "--format", "json", trees["clean"], trees["adups"])
    added = {(f["subject"]["id"], f["rule"]) for f in report["findings"] if "added" in f["tags"]}
    assert ("com.adups.fota", "firmware.harvesting") in added
    assert ("firmware", "firmware.indicator.adups") not in added  # firmware subjects keep their own id
    assert any(r == "firmware.indicator.zte-sync-agent" for _, r in added)
    assert code == 1
    code, back = cli("firmware", "diff", "--format", "json", trees["adups"], trees["clean"])
    removed = [f for f in back["findings"] if "removed" in f["tags"]]
    assert removed and all(f["status"] == "info" for f in removed)  # went away: nothing to act on
    harvest = next(f for f in removed if f["rule"] == "firmware.harvesting")
    assert harvest["extra"]["previous_status"] == "critical" and "it was critical" in harvest["explanation"]
    assert code == 0  # only removals and lost capabilities: nothing at or above the default --fail-on
    assert any(f["rule"] == "firmware.harvesting" and f["title"].startswith("Removed") for f in removed)
    assert back["summary"]["apps_removed"] == ["com.adups.fota"]


def test_capability_diff_same_app(trees: dict[str, Path], tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "AdupsFota.apk").write_bytes(adups_apk(trees["work"], version=3, sms=False).read_bytes())
    (new / "AdupsFota.apk").write_bytes(adups_apk(trees["work"], version=4).read_bytes())
    report = job.diff(old, new, job.Options())
    change = report.summary["capabilities"]["com.adups.fota"]
    assert {"sms", "sms-send", "exec", "shell-install", "weak-crypto"} <= set(change["gained"])
    assert "contacts" not in change["gained"] and change["lost"] == []  # READ_CONTACTS in both builds
    gained = {f.evidence[0].value for f in report.findings if f.rule == "firmware.diff.capability"}
    assert gained == set(change["gained"])


def test_bad_inputs_are_errors_and_the_batch_goes_on(trees: dict[str, Path], tmp_path: Path) -> None:
    good = adups_apk(trees["work"])
    data = good.read_bytes()
    (tmp_path / "good.apk").write_bytes(data)
    (tmp_path / "truncated.apk").write_bytes(data[: len(data) // 3])
    (tmp_path / "garbage.apk").write_bytes(b"PK\x03\x04" + b"\xff" * 500)
    with zipfile.ZipFile(tmp_path / "nomanifest.apk", "w") as z:
        z.writestr("classes.dex", b"dex\n035\x00" + b"\x00" * 200)
    report = job.run([tmp_path], job.Options())
    where = {
        Path(e.location.file).name if e.location.entry is None else e.location.entry: e.message for e in report.errors
    }
    assert {"truncated.apk", "garbage.apk", "nomanifest.apk"} <= {Path(k).name for k in where}
    assert any("AndroidManifest.xml" in m for m in where.values())
    assert report.summary[str(tmp_path)]["apps"] == 1
    assert any(f.subject.id == "com.adups.fota" for f in report.findings)
    # each unreadable APK is a not-screened subject, named by its path, never counted clean
    unread = {f.subject.id: f for f in report.findings if f.status is Status.NOT_SCREENED}
    assert set(unread) == {"truncated.apk", "garbage.apk", "nomanifest.apk"}
    assert all(f.risk is None and f.evidence and f.subject.kind == "app" for f in unread.values())
    assert report.summary[str(tmp_path)]["not_screened"] == sorted(unread)
    assert report.subjects == 4  # the good app and the three that could not be judged
    good = [f for f in report.findings if f.subject.id == "com.adups.fota"]
    assert good and all(f.status in JOB_STATUSES["firmware"] and f.risk == 10.0 for f in good)


def test_single_apk_and_sweep(trees: dict[str, Path]) -> None:
    apk = adups_apk(trees["work"])
    code, report = cli("sweep", "--format", "json", apk)
    assert report["summary"]["formats"][str(apk)] == "apk"
    assert any(f["rule"] == "firmware.indicator.adups" for f in report["findings"])
    assert report["subjects"] == 1


@pytest.mark.skipif(not FDROID.is_dir(), reason="fdroidserver APK corpus absent (run scripts/fetch-test-data)")
def test_fdroidserver_corpus() -> None:
    apks = sorted(FDROID.rglob("*.apk"))
    assert len(apks) >= 40
    report = job.run([FDROID], job.Options())
    summary = report.summary[str(FDROID)]
    failed = {e.location.entry or e.location.file for e in report.errors}
    assert summary["apps"] + len(failed) >= len(apks)  # every APK analysed or reported
    sms = [f for f in report.findings if f.subject.id == "souch.smsbypass" and f.rule == "firmware.harvesting"]
    assert sms and "sms" in sms[0].extra["capabilities"]
    janus = [f for f in report.findings if f.rule == "firmware.integrity" and f.subject.id == "com.example"]
    assert janus and any("CVE-2017-13156" in e.value for e in janus[0].evidence)


def test_trackers_option_and_knowledge_overlay(trees: dict[str, Path], tmp_path: Path) -> None:
    trackers = tmp_path / "trackers.json"
    trackers.write_text(
        json.dumps(
            {
                "trackers": {
                    "7": {"id": 7, "name": "Umeng", "code_signature": "com.umeng.", "network_signature": "umeng.com"},
                    "8": {"name": "Bad", "code_signature": "(unclosed"},
                }
            }
        )
    )
    overlay = tmp_path / "kb"
    overlay.mkdir()
    (overlay / "spyware.yaml").write_text(
        "dataset: spyware\nversion: local\nentries:\n"
        "  - {id: local-calc, family: Local watchlist, kind: package, value: org.example.calc, severity: high,\n"
        "     explanation: flagged by our own review, source: internal review 2026-11, date: '2026-11'}\n"
    )
    code, report = cli("firmware", "--format", "json", "--trackers", trackers, "--knowledge", overlay, trees["adups"])
    tracked = rules_of(report, "com.adups.fota")["firmware.trackers"]
    assert tracked["evidence"][0]["value"] == "Umeng"
    assert "com.umeng.analytics.MobclickAgent" in tracked["evidence"][0]["detail"]
    assert rules_of(report, "org.example.calc")["firmware.indicator.local-watchlist"]["status"] == "high"
    assert [e["location"].get("field") for e in report["errors"]] == ["trackers.8"]
    assert code & 4  # input errors are reported in the exit code


def test_worker_limits_turn_into_errors(trees: dict[str, Path]) -> None:
    from bansweep.firmware.limits import Limits

    report = job.run([trees["adups"]], job.Options(worker_limits=Limits(max_seconds=0.0)))
    apk_errors = [e for e in report.errors if str(e.location).endswith(".apk")]
    assert len(apk_errors) == 3 and all("exceeded" in e.message for e in apk_errors)
    assert any(f.subject.kind == "firmware" for f in report.findings)  # the rest of the input is still judged
    killed = [e for e in report.errors if "exceeded" in e.message]  # the three APKs and a framework JAR
    unread = sorted(f.subject.id for f in report.findings if f.status is Status.NOT_SCREENED)
    assert len(unread) == len(killed) == 4
    assert unread == sorted(str(e.location.file)[len(str(trees["adups"])) + 1 :] for e in killed)
    assert all(p.startswith("system/") for p in unread)  # firmware paths, not host paths
