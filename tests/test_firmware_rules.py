"""Firmware rules on real APKs built with aapt/smali/apksigner and on firmware facts (tests/firmware_fixtures.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bansweep.findings import JOB_STATUSES, Evidence, Finding, Location, Report, Severity, Status, Subject
from bansweep.firmware.apk import App, BuildProp, FileFact, Firmware, RcService, read_app, sibling_key
from bansweep.firmware.diff import compare
from bansweep.firmware.formats.initrc import parse_initrc
from bansweep.firmware.rules import judge_app, judge_firmware
from bansweep.firmware.rules.context import Needles, RuleContext, knowledge
from bansweep.firmware.rules.trackers import class_names, load_trackers
from bansweep.knowledge import load
from bansweep.policy.firmware import judge, risk_score, status
from firmware_build import build_apk, manifest_xml
from firmware_fixtures import adups_apk, benign_apk, need_tools

# The AOSP platform test certificate (build/target/product/security/platform.x509.pem), DER in base64.
RULE_SETUID = "firmware.privilege.setuid"
AOSP_PLATFORM_B64 = (
    "MIIEqDCCA5CgAwIBAgIJALOZgIbQVs/6MA0GCSqGSIb3DQEBBAUAMIGUMQswCQYDVQQGEwJVUzETMBEGA1UECBMKQ2FsaWZvcm5pYTEWMBQGA1UE"
    "BxMNTW91bnRhaW4gVmlldzEQMA4GA1UEChMHQW5kcm9pZDEQMA4GA1UECxMHQW5kcm9pZDEQMA4GA1UEAxMHQW5kcm9pZDEiMCAGCSqGSIb3DQEJ"
    "ARYTYW5kcm9pZEBhbmRyb2lkLmNvbTAeFw0wODA0MTUyMjQwNTBaFw0zNTA5MDEyMjQwNTBaMIGUMQswCQYDVQQGEwJVUzETMBEGA1UECBMKQ2Fs"
    "aWZvcm5pYTEWMBQGA1UEBxMNTW91bnRhaW4gVmlldzEQMA4GA1UEChMHQW5kcm9pZDEQMA4GA1UECxMHQW5kcm9pZDEQMA4GA1UEAxMHQW5kcm9p"
    "ZDEiMCAGCSqGSIb3DQEJARYTYW5kcm9pZEBhbmRyb2lkLmNvbTCCASAwDQYJKoZIhvcNAQEBBQADggENADCCAQgCggEBAJx4BZKsDV04HN6qZezI"
    "pgBuNkgMbXIHsSARvlCGOqvitV0Amt9xRtbyICKAx81Ne9smJDuKgGwms0sTdSOkkmgiSQTcAUk+fArPGgXIdPabA3tgMJ2QdNJCgOFrrSqHNDYZ"
    "Uer3KkgtCbIEsYdeEqyYwap3PWgAuer95W1Yvtjo2hb5o2AJnDeoNKbf7be2tEoEngeiafzPLFSW8s821k35CjuNjzSjuqtM9TNxqydxmzulh1St"
    "DFP8FOHbRdUeI0+76TybpO35zlQmE1DsU1YHv2mi/0qgfbX36iANCabBtJ4hQC+J7RGQiTqrWpGA8VLoL4WkV1PPX8GQccXuyCcCAQOjgfwwgfkw"
    "HQYDVR0OBBYEFE/koLPdnLop9x1yh8Tnw48ghsKZMIHJBgNVHSMEgcEwgb6AFE/koLPdnLop9x1yh8Tnw48ghsKZoYGapIGXMIGUMQswCQYDVQQG"
    "EwJVUzETMBEGA1UECBMKQ2FsaWZvcm5pYTEWMBQGA1UEBxMNTW91bnRhaW4gVmlldzEQMA4GA1UEChMHQW5kcm9pZDEQMA4GA1UECxMHQW5kcm9p"
    "ZDEQMA4GA1UEAxMHQW5kcm9pZDEiMCAGCSqGSIb3DQEJARYTYW5kcm9pZEBhbmRyb2lkLmNvbYIJALOZgIbQVs/6MAwGA1UdEwQFMAMBAf8wDQYJ"
    "KoZIhvcNAQEEBQADggEBAFclUbjZOh9z3g9tRp+G2tZwFAApPIigzXzXeLc9r8wZf6t25iEuVsHHYc/EL9cz3lLFCuCIFM78CjtaGkNGBU2Cnx2C"
    "tCsgSL+ItdFJKe+F9g7dEtctVWV+IuPoXQTIMdYT0Zk4u4mCJH+jISVroS0dao+S6h2xw3Mxe6DAN/DRr/ZFrvIkl5+6bnoUvAJccbmBOM7z3fwF"
    "lhfPJIRc97QNY4L3J17XOElatuWTG5QhdlxJG3L7aOCA29tYwgKdNHyLMozkPvaosVUz7fvpib1qSN1LIC7alMarjdW4OZID2q4u1EYjLk/pvZYT"
    "lMYwDlE448/Shebk5INTjLixs1c="
)


@pytest.fixture(scope="module")
def apks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    need_tools()
    work = tmp_path_factory.mktemp("apks")
    # a package with no role words: reading contacts is outside its role
    contacts_only = manifest_xml("org.example.notes", uses_permissions=["android.permission.READ_CONTACTS"])
    return {
        "adups": adups_apk(work),
        "adups_nosms": adups_apk(work, version=2, sms=False),
        "benign": benign_apk(work),
        "contacts": build_apk(work, contacts_only, None, cn="Contacts Dev", name="contacts"),
    }


def app_of(path: Path, fw_path: str = "system/priv-app/AdupsFota/AdupsFota.apk") -> App:
    return read_app(path.read_bytes(), fw_path, Location("fw", entry=fw_path))


def ctx_for(platform: App | None = None, trackers: tuple = ()) -> RuleContext:
    certs = {c.sha256 for c in platform.signing.certs} if platform and platform.signing else set()
    return RuleContext(knowledge(), certs, trackers)


def by_rule(findings: list[Finding]) -> dict[str, Finding]:
    return {f.rule: f for f in findings}


def judged(findings: list[Finding]) -> dict[str, Finding]:
    """The findings after the firmware policy stage, by rule."""
    judge(findings)
    return by_rule(findings)


def test_adups_app_on_its_firmware(apks: dict[str, Path]) -> None:
    app = app_of(apks["adups"])
    found = judged(judge_app(app, ctx_for(platform=app)))
    ind = found["firmware.indicator.adups"]
    assert ind.severity == Severity.CRITICAL and ind.status == Status.CRITICAL
    assert {f.risk for f in found.values()} == {10.0}  # one app: critical, and several more risky findings
    values = {e.value for e in ind.evidence}
    assert {"com.adups.fota", "com.adups.fota.base.ServiceReceiver", "bigdata.adups.com", "dc_msg_key.json"} <= values
    assert all(e.data_date for e in ind.evidence)
    harvest = found["firmware.harvesting"]
    assert harvest.severity == Severity.CRITICAL  # personal data + network + runs as system
    assert {"sms", "call-log", "contacts", "identifiers", "network", "sms-send"} <= set(harvest.extra["capabilities"])
    code = {e.value for e in harvest.evidence if "code" in e.detail}
    assert "Landroid/telephony/TelephonyManager;->getDeviceId" in code
    assert "Landroid/telephony/SmsManager;->sendTextMessage" in code
    assert "android.uid.system" in harvest.explanation or "system" in harvest.explanation
    exported = found["firmware.exported"]
    assert {e.value for e in exported.evidence} == {
        "receiver com.adups.fota.base.ServiceReceiver",
        "service com.adups.fota.FotaService",
    }
    assert found["firmware.install"].severity == Severity.HIGH
    assert any(e.value == "pm install" for e in found["firmware.install"].evidence)
    assert found["firmware.exec"].severity == Severity.MEDIUM  # high only through the install or risk rules
    assert [e.value for e in found["firmware.comms.weak-crypto"].evidence] == ["DES/ECB/PKCS5Padding"]
    assert [e.value for e in found["firmware.comms.http-endpoints"].evidence] == [
        "http://bigdata.adups.com/fota5/collect.do"
    ]
    assert found["firmware.comms.cleartext"].status == Status.MEDIUM
    priv = found["firmware.privilege"]
    assert priv.severity == Severity.MEDIUM and "system-uid" in priv.tags
    loc = ind.evidence[0].location
    assert loc.file == "fw" and loc.entry.startswith("system/priv-app/AdupsFota/AdupsFota.apk")


def test_same_app_without_platform_context_is_not_system(apks: dict[str, Path]) -> None:
    app = app_of(apks["adups"], "AdupsFota.apk")
    found = by_rule(judge_app(app, ctx_for()))
    assert found["firmware.harvesting"].severity == Severity.HIGH  # not proven to run as system
    assert "firmware.exported" not in found  # only judged for apps with system privilege
    assert found["firmware.install"].severity == Severity.LOW  # ordinary apps are asked before installing


def test_capabilities_follow_the_code_and_permissions(apks: dict[str, Path]) -> None:
    app = app_of(apks["adups_nosms"])
    caps = ctx_for().capabilities(app)
    assert "sms" not in caps and "sms-send" not in caps
    assert "call-log" in caps and caps["call-log"].by_permission and not caps["call-log"].by_code


def test_benign_app_has_no_findings(apks: dict[str, Path]) -> None:
    app = app_of(apks["benign"], "system/app/Calculator/Calculator.apk")
    assert judge_app(app, ctx_for()) == []


def test_access_alone_is_low(apks: dict[str, Path]) -> None:
    app = app_of(apks["contacts"], "contacts.apk")
    found = judged(judge_app(app, ctx_for()))
    assert found["firmware.harvesting"].severity == Severity.LOW
    assert found["firmware.harvesting"].status == Status.LOW
    assert found["firmware.harvesting"].risk == 2.0
    assert "code was not available" in found["firmware.harvesting"].explanation


def test_trackers_match_referenced_classes_like_exodus(apks: dict[str, Path], tmp_path: Path) -> None:
    db = {
        "trackers": {
            "1": {
                "id": 1,
                "name": "Umeng Analytics",
                "code_signature": "com.umeng.analytics.",
                "network_signature": "",
            },
            "2": {"id": 2, "name": "Too Short", "code_signature": "com", "network_signature": ""},
            "3": {
                "id": 3,
                "name": "Other SDK",
                "code_signature": "com.example.nothere.|io.nothere.",
                "network_signature": "",
            },
            "4": {"id": 4, "name": "Broken", "code_signature": "com.(broken", "network_signature": ""},
        }
    }
    path = tmp_path / "trackers.json"
    path.write_text(json.dumps(db))
    trackers, errors = load_trackers(path)
    assert [t.name for t in trackers] == ["Umeng Analytics", "Other SDK"]  # <= 3 chars skipped, as Exodus does
    assert len(errors) == 1 and errors[0].location.field == "trackers.4"
    app = app_of(apks["adups"])
    assert "com.umeng.analytics.MobclickAgent" in class_names(app).split("\n")
    assert "Lcom/umeng/analytics/MobclickAgent;" not in app.dex.defined  # only referenced
    found = by_rule(judge_app(app, ctx_for(trackers=tuple(trackers))))
    assert [e.value for e in found["firmware.trackers"].evidence] == ["Umeng Analytics"]
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert load_trackers(tmp_path / "bad.json")[1][0].location.file.endswith("bad.json")


def fw_with(**kw: object) -> Firmware:
    fw = Firmware("fw.zip", Location("fw.zip"))
    for key, value in kw.items():
        setattr(fw, key, value)
    return fw


def prop(key: str, value: str, line: int = 1) -> BuildProp:
    return BuildProp(key, value, Location("fw.zip", entry="system/build.prop", line=line))


def test_build_properties() -> None:
    found = judge_firmware(fw_with(props=[prop("ro.fota.oem", "x"), prop("ro.build.tags", "release-keys")]), ctx_for())
    assert [(f.rule, f.severity) for f in found] == [("firmware.indicator.fota-generic", Severity.LOW)]
    found = judged(
        judge_firmware(
            fw_with(
                props=[
                    prop("ro.adups.fota.oem", "blu", 7),
                    prop("ro.build.tags", "test-keys", 8),
                    prop("ro.debuggable", "1", 9),
                ]
            ),
            ctx_for(),
        )
    )
    assert found["firmware.indicator.adups"].severity == Severity.HIGH
    assert found["firmware.indicator.adups"].evidence[0].location.line == 7
    assert found["firmware.privilege.test-keys"].status == Status.HIGH
    assert {f.risk for f in found.values()} == {8.0}  # the firmware: high, and two more high findings
    assert found["firmware.privilege.debuggable"].evidence[0].value == "ro.debuggable=1"


def test_setuid_outside_stock_set() -> None:
    files = [
        FileFact("system/bin/run-as", Location("fw.zip"), 10, 0o104750, 0, 2000),
        FileFact("system/xbin/rootd", Location("fw.zip", entry="system/xbin/rootd"), 10, 0o104755, 0, 0),
        FileFact("system/bin/sync_agent", Location("fw.zip"), 10, 0o104755, 0, 0),
        FileFact("system/bin/ls", Location("fw.zip"), 10, 0o100755, 0, 0),
    ]
    found = judge_firmware(fw_with(files=files), ctx_for())
    setuid = sorted(f.title for f in found if f.rule == "firmware.privilege.setuid")
    assert setuid == [
        "Set-uid program outside the stock set: system/bin/sync_agent",
        "Set-uid program outside the stock set: system/xbin/rootd",
    ]
    zte = next(f for f in found if f.rule == "firmware.indicator.zte-sync-agent")
    assert zte.severity == Severity.CRITICAL and "CVE-2012-2949" in zte.tags  # set-uid root makes it critical
    keys = {f.key for f in found if f.rule == "firmware.privilege.setuid"}
    assert len(keys) == 2  # one rule, two files: told apart by the file (the finding's variant)
    moved = [FileFact("/" + f.path, Location("other.zip"), f.size, f.mode, f.uid, f.gid) for f in files]
    assert keys == {f.key for f in judge_firmware(fw_with(files=moved), ctx_for()) if f.rule == RULE_SETUID}


def test_init_services_and_sockets() -> None:
    rc = parse_initrc(
        "service fotabinder /system/bin/fotabinder\n    class main\n    socket fota stream 600 system system\n"
    )
    where = Location("fw.zip", entry="FWUpgradeInit.rc")
    services = [RcService(s, Location(where.file, entry=where.entry, line=s.line)) for s in rc.services]
    found = by_rule(judge_firmware(fw_with(services=services), ctx_for()))
    f = found["firmware.indicator.adups"]
    assert f.severity == Severity.CRITICAL and "CVE-2015-2231" in f.tags
    assert any(e.detail.startswith("socket of init service fotabinder") for e in f.evidence)


def test_platform_key_is_aosp_test_key() -> None:
    digest = hashlib.sha256(base64.b64decode(AOSP_PLATFORM_B64)).hexdigest()
    assert digest in knowledge().test_certs  # the data holds the real AOSP digest
    found = by_rule(judge_firmware(fw_with(platform_certs={digest}), ctx_for()))
    assert found["firmware.privilege.platform-test-key"].severity == Severity.CRITICAL


def test_knowledge_entries_are_sourced() -> None:
    spy = load("spyware", ("family", "kind", "value", "severity", "explanation"))
    kinds = {e["kind"] for e in spy.entries}
    assert {"package", "component", "file", "property", "host", "ip", "string", "socket", "service"} <= kinds
    assert all(e["severity"] in ("info", "low", "medium", "high", "critical") for e in spy.entries)
    assert all(re.fullmatch(r"CVE-\d{4}-\d{4,}", c) for e in spy.entries for c in e.get("cves") or [])
    certs = load("platform-certs", ("sha256", "name"))
    assert all(re.fullmatch(r"[0-9a-f]{64}", e["sha256"]) for e in certs.entries)
    k = knowledge()
    assert {"sms", "call-log", "contacts", "identifiers", "location", "app-usage", "network", "install", "exec"} <= set(
        k.capabilities
    )


def test_status_is_the_severity_word() -> None:
    words = {status(finding("a", "firmware.x", s)) for s in Severity}
    assert words == {Status.CRITICAL, Status.HIGH, Status.MEDIUM, Status.LOW, Status.INFO}
    assert status(finding("a", "firmware.not-screened", Severity.MEDIUM)) == Status.NOT_SCREENED
    assert words | {Status.NOT_SCREENED} == set(JOB_STATUSES["firmware"])


def test_risk_score_is_bounded_and_keeps_severity_order() -> None:
    assert risk_score([]) == 0.0
    assert risk_score([Severity.INFO]) == 0.0
    assert risk_score([Severity.LOW] * 9) == 2.0  # low findings add nothing
    assert risk_score([Severity.MEDIUM, Severity.MEDIUM]) == 4.5
    assert risk_score([Severity.MEDIUM] * 20) < risk_score([Severity.HIGH])  # many medium never outrank a high
    assert risk_score([Severity.HIGH] * 20) < risk_score([Severity.CRITICAL])
    assert risk_score([Severity.CRITICAL] * 20) == 10.0


def test_policy_sets_risk_per_subject_and_none_when_not_screened() -> None:
    a = [finding("a", "r1", Severity.HIGH), finding("a", "r2", Severity.MEDIUM)]
    b = [finding("b", "r1", Severity.LOW), finding("b", "firmware.not-screened", Severity.MEDIUM)]
    judge(a + b)
    assert [f.risk for f in a] == [7.5, 7.5]
    assert [f.risk for f in b] == [2.0, None]
    assert [f.status for f in a + b] == [Status.HIGH, Status.MEDIUM, Status.LOW, Status.NOT_SCREENED]


def test_odex_sibling_paths() -> None:
    key = sibling_key("system/priv-app/Foo/Foo.apk")
    assert (
        key
        == sibling_key("system/priv-app/Foo/oat/arm64/Foo.odex")
        == sibling_key("system/priv-app/Foo/oat/arm/Foo.vdex")
    )
    assert key != sibling_key("system/priv-app/Foo/oat/arm64/Bar.odex")
    assert sibling_key("system/app/Foo.apk") == sibling_key("system/app/Foo.odex")
    assert sibling_key("system/framework/services.jar") == sibling_key("system/framework/oat/arm64/services.odex")
    assert sibling_key("system/lib/libfoo.so") is None


def finding(pkg: str, rule: str, severity: Severity, title: str = "", value: str = "x") -> Finding:
    ev = [Evidence(rule, value, Location("f"))]
    out = Finding(Subject("app", pkg, pkg), rule, title or rule, severity, 1.0, ev)
    out.status = status(out)
    return out


def test_diff_added_removed_changed() -> None:
    old = Report("firmware", findings=[finding("a", "r1", Severity.HIGH), finding("b", "r2", Severity.CRITICAL)])
    old.summary["old"] = {"app_capabilities": {"a": ["network"], "b": ["sms"]}}
    new = Report("firmware", findings=[finding("a", "r1", Severity.CRITICAL), finding("c", "r3", Severity.HIGH)])
    new.summary["new"] = {"app_capabilities": {"a": ["network", "sms"], "c": []}}
    out = compare(old, new, "old", "new")
    tags = {(f.subject.id, f.rule): (f.tags[-1], f.status) for f in out.findings}
    assert tags[("a", "r1")] == ("changed", Status.CRITICAL)
    assert tags[("c", "r3")] == ("added", Status.HIGH)
    assert tags[("b", "r2")] == ("removed", Status.INFO)  # went away: nothing to act on, never "not-covered"
    assert tags[("a", "firmware.diff.capability")] == ("added", Status.MEDIUM)
    removed = next(f for f in out.findings if f.subject.id == "b")
    assert removed.extra["previous_status"] == "critical" and "it was critical" in removed.explanation
    assert removed.severity == Severity.CRITICAL  # the old fact as it was
    assert all(f.status in JOB_STATUSES["firmware"] for f in out.findings)
    assert out.summary["capabilities"] == {"a": {"gained": ["sms"], "lost": []}}
    assert out.summary["apps_removed"] == ["b"] and out.summary["apps_added"] == ["c"]


def naive_positions(needles: list[bytes], data: bytes) -> dict[bytes, list[int]]:
    out: dict[bytes, list[int]] = {}
    for n in needles:
        found = [i for i in range(len(data) - len(n) + 1) if data.startswith(n, i)]
        if found:
            out[n] = found
    return out


def test_needles_report_nested_and_overlapping_indicators() -> None:
    # One indicator inside another (host inside a URL, a word inside a host), and repeats that overlap themselves.
    needles = [b"adsunflower.com", b"rebootv5.adsunflower.com", b"sunflower", b"ADUPS", b"aa", b"absent"]
    data = b"\x00\x1fhttp://rebootv5.adsunflower.com/x\x00\x05ADUPS\x00\x04aaaa\x00\x09sunflower\x00"
    found = Needles(needles).find(data)
    assert found[b"rebootv5.adsunflower.com"] == [data.index(b"rebootv5")]
    assert found[b"adsunflower.com"] == [data.index(b"adsunflower")]
    assert found[b"sunflower"] == [data.index(b"sunflower"), data.rindex(b"sunflower")]
    assert found[b"aa"] == [data.index(b"aaaa"), data.index(b"aaaa") + 1, data.index(b"aaaa") + 2]
    assert b"absent" not in found
    assert found == naive_positions(needles, data)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=4).map(lambda b: bytes(c % 3 + 97 for c in b)), min_size=1, max_size=8),
    st.binary(max_size=200).map(lambda b: bytes(c % 3 + 97 for c in b)),
)
def test_needles_match_a_naive_search(needles: list[bytes], data: bytes) -> None:
    # A three-letter alphabet makes needles inside needles and overlapping matches the common case.
    assert Needles(needles).find(data) == naive_positions(sorted(set(needles)), data)


def test_diff_matches_by_key_not_by_wording() -> None:
    old = Report("firmware", findings=[finding("a", "firmware.trackers", Severity.LOW, "1 tracker SDK(s): A")])
    same = Report("firmware", findings=[finding("a", "firmware.trackers", Severity.LOW, "One tracker SDK: A")])
    more = Report("firmware", findings=[finding("a", "firmware.trackers", Severity.LOW, "2 tracker SDK(s): A, B", "B")])
    assert old.findings[0].key == same.findings[0].key == more.findings[0].key
    assert compare(old, same, "old", "new").findings == []  # reworded, same facts: no change
    out = compare(old, more, "old", "new")
    assert [(f.tags[-1], f.title) for f in out.findings] == [("changed", "Changed: 2 tracker SDK(s): A, B")]
    assert "new evidence: B" in out.findings[0].explanation and "evidence gone: x" in out.findings[0].explanation
    assert out.summary["findings_added"] == out.summary["findings_removed"] == 0
    other = Report("firmware", findings=[finding("a", "firmware.exec", Severity.LOW, "1 tracker SDK(s): A")])
    assert {f.tags[-1] for f in compare(old, other, "old", "new").findings} == {"added", "removed"}
