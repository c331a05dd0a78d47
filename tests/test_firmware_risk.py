"""No silent clean, role-aware baseline-normalised risk, and the labelled evaluation of "high" (firmware).

Inputs are real: APKs and firmware trees built with aapt/smali/apksigner (tests/firmware_roles.py,
tests/firmware_fixtures.py), ELF files built with gcc, and the fdroidserver APK corpus when fetched.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bansweep.findings import Evidence, Finding, Location, Severity, Status, Subject
from bansweep.firmware import job
from bansweep.firmware.apk import read_app
from bansweep.firmware.baseline import baseline
from bansweep.firmware.diff import compare
from bansweep.firmware.evaluate import FDROID_LABELS, evaluate, evaluate_cmd, read_labels, render
from bansweep.firmware.formats.dex import parse_dex
from bansweep.firmware.reach import CodeIndex, index_dex, linked
from bansweep.knowledge import load
from bansweep.policy.firmware import HIGH, band, device_risk, judge, risk_score
from firmware_build import assemble_dex, build_apk, manifest_xml
from firmware_fixtures import SYNC_AGENT_C, adups_apk, cli, elf, need_tools
from firmware_roles import role_firmware, smali_class

FDROID = Path(__file__).parent / "data" / "cache" / "fdroidserver"


@pytest.fixture(scope="module")
def roles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    need_tools()
    base = tmp_path_factory.mktemp("roles")
    tree, labels = role_firmware(base / "tree", base / "work")
    report = job.run([tree], job.Options())
    return {"tree": tree, "labels": labels, "report": report, "work": base / "work"}


def by_app(report: Any) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in report.findings:
        if f.subject.kind == "app":
            out.setdefault(f.subject.id, []).append(f)
    return out


# --- 1. no silent clean ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("inventory.csv", b"serial,model\n1,A\n", "a text file that is no firmware image"),
        ("blob.bin", bytes(range(256)) * 20, "a file that is no firmware image"),
        ("payload.bin", b"CrAU" + b"\x00" * 7 + b"\x02" + b"\x00" * 40, "it holds no files"),  # opened: no partitions
        ("image.img.zst", b"\x28\xb5\x2f\xfd" + b"\x00" * 40, "Zstandard-compressed"),
        ("image.img.xz", b"\xfd7zXZ\x00" + b"\x00" * 40, "xz-compressed"),
    ],
)
def test_nothing_analysable_is_an_input_error(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    report = job.run([path], job.Options())
    [error] = report.errors
    assert error.location.file == str(path) and reason in error.message
    [f] = report.findings
    assert f.status is Status.NOT_SCREENED and f.subject.kind == "firmware" and reason in f.explanation
    assert report.subjects == 1


def test_zip_of_text_and_empty_folder_are_input_errors(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "notes.zip", "w") as z:
        z.writestr("readme.txt", "hello")
    (tmp_path / "empty").mkdir()
    report = job.run([tmp_path / "notes.zip", tmp_path / "empty"], job.Options())
    messages = {Path(e.location.file).name: e.message for e in report.errors}
    assert "it holds only readme.txt" in messages["notes.zip"]
    assert "an empty folder" in messages["empty"]
    assert [f.status for f in report.findings] == [Status.NOT_SCREENED] * 2


def test_cli_exit_code_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "parties.csv"
    path.write_text("name,country\nAcme,US\n")
    code, report = cli("firmware", "--format", "json", path)
    assert code & 4 and report["errors"][0]["location"]["file"] == str(path)
    assert "nothing analysable" in report["errors"][0]["message"]


def test_lone_elf_is_analysed_as_a_binary(tmp_path: Path) -> None:
    need_tools()
    binary = elf(tmp_path, "sync_agent", SYNC_AGENT_C)
    report = job.run([binary], job.Options())
    assert report.errors == []
    summary = report.summary[str(binary)]
    assert summary["analysed"]["native_binaries"] == 1
    found = {f.rule: f for f in report.findings}
    assert found["firmware.indicator.zte-sync-agent"].severity >= Severity.HIGH  # the password in its strings
    evidence = found["firmware.indicator.zte-sync-agent"].evidence
    assert any(e.value == "ztex1609523" for e in evidence)
    assert any(e.value == "sync_agent" and "given alone" in e.detail for e in evidence)  # its name, path unknown


def test_apk_without_manifest_is_still_an_apk(tmp_path: Path) -> None:
    need_tools()
    full = adups_apk(tmp_path / "work")
    headless = tmp_path / "headless.apk"
    with zipfile.ZipFile(full) as src, zipfile.ZipFile(headless, "w") as dst:
        for info in src.infolist():
            if info.filename != "AndroidManifest.xml":
                dst.writestr(info, src.read(info))
    renamed = tmp_path / "update.zip"  # a zip with classes.dex at its root is an APK too, whatever its name
    renamed.write_bytes(headless.read_bytes())
    for path in (headless, renamed):
        report = job.run([path], job.Options())
        rules = {f.rule: f for f in report.findings}
        assert "bigdata.adups.com" in {e.value for e in rules["firmware.indicator.adups"].evidence}  # dex analysed
        unread = rules["firmware.not-screened"]
        assert "no AndroidManifest.xml" in unread.explanation and unread.status is Status.NOT_SCREENED
        assert report.summary[str(path)]["analysed"]["apks_without_manifest"] == 1
        assert any("AndroidManifest.xml" in e.message for e in report.errors)
        assert report.subjects == 1


def test_summary_counts_what_was_analysed(roles: dict[str, Any]) -> None:
    counts = roles["report"].summary[str(roles["tree"])]["analysed"]
    assert counts["apps"] == 15  # 14 apps and framework-res
    assert counts["build_property_files"] == 1 and counts["code_jars"] == 0 and counts["not_analysed"] == 0


# --- 2. role-aware, baseline-normalised risk -------------------------------------------------------------------


def test_stock_apps_doing_their_job_are_not_high(roles: dict[str, Any]) -> None:
    apps = by_app(roles["report"])
    for package in (
        "com.android.providers.calendar",
        "com.android.bluetooth",
        "com.android.dialer",
        "com.android.packageinstaller",
        "com.android.messaging",
        "com.android.settings",
    ):
        worst = max(f.severity for f in apps[package])
        assert worst < Severity.HIGH, (package, [(f.rule, f.severity) for f in apps[package]])
        harvest = [f for f in apps[package] if f.rule == "firmware.harvesting"]
        assert all(f.severity is Severity.INFO and "needs" in f.explanation for f in harvest)
    bluetooth = next(f for f in apps["com.android.bluetooth"] if f.rule == "firmware.harvesting")
    assert "Bluetooth" in bluetooth.explanation and bluetooth.extra["out_of_role"] == []
    settings = next(f for f in apps["com.android.settings"] if f.rule == "firmware.privilege")
    assert settings.extra["privilege"].startswith("runs as android.uid.system")  # platform-signed, as stock
    assert settings.severity is Severity.INFO and "same privilege" in settings.explanation
    install = next(f for f in apps["com.android.packageinstaller"] if f.rule == "firmware.install")
    assert install.severity is Severity.INFO and "package installer" in install.explanation


def test_high_list_is_the_labelled_one(roles: dict[str, Any]) -> None:
    report = roles["report"]
    high = sorted({f.subject.id for f in report.findings if f.subject.kind == "app" and f.severity >= Severity.HIGH})
    labels = read_labels(roles["labels"])
    assert high == sorted(label.app for label in labels if label.expect_high)
    risk = {f.subject.id: f for f in report.findings if f.rule == "firmware.risk"}
    adups = risk["com.adups.fota"]
    assert adups.severity is Severity.CRITICAL and adups.risk == 10.0
    assert "system (OTA) updater" in adups.explanation and "which its role does not need" in adups.explanation
    assert "read SMS messages" in adups.explanation and adups.extra["risk_factors"]["reach"] == "same-class"
    assert "com.rolebrand.systemupdate" not in high  # an updater doing an updater's job
    assert risk["com.rolebrand.pushinstall"].extra["risk_factors"]["silent_install"]
    assert "outside an installer's role and reaches the network" in risk["com.rolebrand.pushinstall"].explanation


def test_stock_name_without_the_platform_key_is_not_stock(roles: dict[str, Any], tmp_path: Path) -> None:
    manifest = manifest_xml("com.android.settings", shared_user_id="android.uid.system", target_sdk=23)
    smali = {"com/android/settings/Sync.smali": smali_class("Lcom/android/settings/Sync;", ["contacts", "network"])}
    fake = build_apk(tmp_path, manifest, smali, cn="Someone Else", name="Settings")
    tree = tmp_path / "fake"  # the role firmware's build and platform key, and a Settings signed by someone else
    for rel in ("system/build.prop", "system/framework/framework-res.apk"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes((roles["tree"] / rel).read_bytes())
    (tree / "system/priv-app/Settings").mkdir(parents=True, exist_ok=True)
    (tree / "system/priv-app/Settings/Settings.apk").write_bytes(fake.read_bytes())
    report = job.run([tree], job.Options())
    [risk] = [f for f in report.findings if f.rule == "firmware.risk"]
    assert "stock package name com.android.settings but is not platform-signed" in risk.explanation
    assert not risk.extra["risk_factors"]["stock"] and risk.severity >= Severity.HIGH  # contacts + send, priv-app


def test_reachability_and_sdk(roles: dict[str, Any]) -> None:
    risk = {f.subject.id: f for f in roles["report"].findings if f.rule == "firmware.risk"}
    analytics = risk["com.rolebrand.analytics"].extra["risk_factors"]
    assert analytics["reach"] == "same-class" and analytics["sdk"] is None
    widgets = risk["com.rolebrand.widgets"]
    assert widgets.extra["risk_factors"]["reach"] == "call-chain"
    assert widgets.extra["risk_factors"]["sdk"] == "com.thirdparty.sdk"
    assert "bundled SDK code under com.thirdparty.sdk" in widgets.explanation
    reach = next(e for e in widgets.evidence if e.rule == "firmware.risk.reach")
    assert "com.thirdparty.sdk.Profile" in reach.detail


def test_every_app_finding_has_severity_and_risk(roles: dict[str, Any]) -> None:
    report = roles["report"]
    for f in report.findings:
        if f.status is not Status.NOT_SCREENED:
            assert f.status.value == str(f.severity) and f.risk is not None
    risky = report.summary[str(roles["tree"])]["risky_apps"]
    top = risky[0]
    assert top["package"] == "com.adups.fota" and top["risk"] == 10.0 and "role" in top["why"]
    device = report.summary[str(roles["tree"])]["device_risk"]
    assert device["score"] == 10.0 and device["apps_at_high_or_above"] == 4


def test_device_risk_change_in_diff(roles: dict[str, Any], tmp_path: Path) -> None:
    need_tools()
    import shutil

    clean = tmp_path / "clean"
    shutil.copytree(roles["tree"], clean)
    for name in ("AdupsFota", "VendorStore"):
        shutil.rmtree(clean / "system" / "priv-app" / name)
    for name in ("VendorAnalytics", "VendorWeather"):
        shutil.rmtree(clean / "system" / "app" / name)
    diff = job.diff(clean, roles["tree"], job.Options())
    change = diff.summary["device_risk"]
    assert change["old"] is not None and change["old"] < HIGH <= change["new"] and change["change"] > 0
    [rose] = [f for f in diff.findings if f.rule == "firmware.diff.device-risk"]
    assert rose.status is Status.MEDIUM and f"to {change['new']}" in rose.title
    back = job.diff(roles["tree"], clean, job.Options())
    [fell] = [f for f in back.findings if f.rule == "firmware.diff.device-risk"]
    assert fell.status is Status.INFO and back.summary["device_risk"]["change"] == -change["change"]


def test_baseline_knowledge_is_sourced_and_consistent() -> None:
    base = baseline()
    entries = load("android-baseline").entries
    packages = [e for e in entries if e["kind"] == "package"]
    assert len(packages) >= 60
    for e in packages:
        first, last = e["api"]
        assert 23 <= first <= last <= 34 and e["source"] and e["date"]
        assert e["signature"] in ("platform", "shared", "media", "own")
    assert base.stock("com.android.bluetooth", 23)["uid"] == "android.uid.bluetooth"
    assert base.stock("com.android.permissioncontroller", 23) is None  # only from API 29
    assert base.stock("com.android.permissioncontroller", 29) is not None
    assert "sms" in base.roles["bluetooth"].may and "sms" not in base.roles["system-updater"].may
    assert "android.permission.INSTALL_PACKAGES" in base.privileged


def test_baseline_overlay_is_validated(tmp_path: Path) -> None:
    from bansweep.knowledge import KnowledgeError

    (tmp_path / "android-roles.yaml").write_text(
        "dataset: android-roles\nversion: local\nentries:\n"
        "  - {id: role-x, kind: role, role: x, label: a (b, c), may: [sms], source: review, date: '2026'}\n"
    )
    with pytest.raises(KnowledgeError, match="unknown field"):
        baseline((tmp_path,))


def test_score_caps_high_to_its_reasons() -> None:
    plain = {"out_of_role": ["sms", "contacts", "call-log"], "sends": ["network"], "reach": "apart"}
    assert risk_score([], plain) < HIGH  # much data and a send, but apart in the code of a user app: not harmful
    assert risk_score([], {**plain, "harmful": True}) >= HIGH
    assert risk_score([], {"silent_install": True, "network": True}) >= HIGH
    assert risk_score([], {"silent_install": True, "network": True, "stock": True}) < HIGH
    assert risk_score([Severity.CRITICAL], {}) >= 9.0  # a known indicator keeps its floor
    near, far = ({**plain, "reach": r} for r in ("call-chain", "apart"))
    assert risk_score([], near) > risk_score([], far)  # reachability counts
    assert band(risk_score([], {"beyond_baseline": ["x", "y", "z"]})) < Severity.HIGH


def test_policy_sets_the_risk_findings_severity_from_the_score() -> None:
    subject = Subject("app", "com.x", "com.x")
    role = Finding(subject, "firmware.risk", "r", Severity.INFO, 0.8, [Evidence("r", "v", Location("f"))])
    role.extra["risk_factors"] = {"out_of_role": ["sms"], "sends": ["network"], "reach": "same-class", "harmful": True}
    other = Finding(subject, "firmware.comms.cleartext", "c", Severity.MEDIUM, 0.8, [Evidence("r", "v", Location("f"))])
    judge([role, other])
    assert role.severity is Severity.HIGH and role.status is Status.HIGH
    assert role.risk == other.risk == role.extra["risk_score"] >= HIGH


def test_device_risk_is_bounded_and_ordered() -> None:
    assert device_risk([])["score"] == 0.0
    one = device_risk([7.5])["score"]
    many = device_risk([7.5] + [7.0] * 20)["score"]
    assert one < many <= one + 2.0 and device_risk([2.0] * 100)["score"] < 4.0


# --- reach: the bytecode walk ----------------------------------------------------------------------------------

SWITCHY = r""".class public Lcom/w/A;
.super Ljava/lang/Object;

.method public static run(I)V
    .registers 4
    packed-switch p0, :table
    const/4 v0, 0x3
    new-array v0, v0, [I
    fill-array-data v0, :array
    goto :done
    :done
    invoke-static {}, Lcom/w/B;->run()V
    return-void
    :table
    .packed-switch 0x1
        :done
        :done
    .end packed-switch
    :array
    .array-data 4
        0x1
        0x2
        0x3
    .end array-data
.end method

.method public static late()V
    .registers 2
    const-string v0, "after the payloads"
    sget-object v1, Landroid/provider/CallLog$Calls;->CONTENT_URI:Landroid/net/Uri;
    return-void
.end method
"""
SINK = r""".class public Lcom/w/B;
.super Ljava/lang/Object;

.method public static run()V
    .registers 2
    new-instance v0, Ljava/net/URL;
    return-void
.end method
"""


def test_walk_steps_over_payloads(tmp_path: Path) -> None:
    need_tools()
    data = assemble_dex({"com/w/A.smali": SWITCHY, "com/w/B.smali": SINK}, tmp_path)
    index = CodeIndex()
    index_dex(data, parse_dex(data), index)
    assert index.complete
    a = index.classes["Lcom/w/A;"]
    assert ("Lcom/w/B;", "run") in a.methods and "after the payloads" in a.strings
    assert ("Landroid/provider/CallLog$Calls;", "CONTENT_URI") in a.fields
    assert "Ljava/net/URL;" in index.classes["Lcom/w/B;"].types
    assert linked(index, {"Lcom/w/A;"}, {"Lcom/w/B;"}) == "call-chain"
    assert linked(index, {"Lcom/w/B;"}, {"Lcom/w/B;"}) == "same-class"


def test_truncated_bytecode_leaves_reach_unknown(tmp_path: Path) -> None:
    need_tools()
    data = bytearray(assemble_dex({"com/w/A.smali": SWITCHY, "com/w/B.smali": SINK}, tmp_path))
    dex = parse_dex(bytes(data))
    index = CodeIndex()
    index_dex(bytes(data[: len(data) - 400]) + bytes(400), dex, index)  # code items zeroed: still total
    assert isinstance(index.complete, bool)
    manifest = manifest_xml("org.example.walk")
    apk = build_apk(tmp_path / "apk", manifest, {"com/w/A.smali": SWITCHY, "com/w/B.smali": SINK}, name="walk")
    app = read_app(apk.read_bytes(), "walk.apk", Location("walk.apk"))
    index = app.dex.code_index()  # walked on first use, then kept
    assert index is not None and index.complete and "Lcom/w/A;" in index.classes and app.dex.code_index() is index
    jar_path = tmp_path / "walk.jar"
    with zipfile.ZipFile(apk) as src, zipfile.ZipFile(jar_path, "w") as dst:
        dst.writestr("classes.dex", src.read("classes.dex"))
    jar = read_app(jar_path.read_bytes(), "framework/walk.jar", Location("walk.jar"))
    assert jar.manifest is None and jar.dex.present and jar.dex.code_index() is None  # framework code: not walked


# --- 3. the labelled evaluation ------------------------------------------------------------------------------


def test_evaluation_on_role_fixtures(roles: dict[str, Any]) -> None:
    ev = evaluate(roles["report"], read_labels(roles["labels"]))
    assert ev.missing == [] and ev.labelled == 14
    overall = ev.families["any"]
    assert overall.precision == 1.0 and overall.recall == 1.0
    assert ev.families["risk"].recall == 1.0  # the role family alone finds every labelled-high app
    assert ev.families["indicator"].recall < 1.0  # indicators alone miss the vendor apps with no known indicator
    text = render(ev)
    assert "rule family" in text and "harvesting" in text
    result = CliRunner().invoke(evaluate_cmd, ["--json", "--labels", str(roles["labels"]), str(roles["tree"])])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["families"]["any"]["precision"] == 1.0 and scores["labelled"] == 14


@pytest.mark.skipif(not FDROID.is_dir(), reason="fdroidserver APK corpus absent (run scripts/fetch-test-data)")
def test_evaluation_on_real_apks() -> None:
    report = job.run([FDROID], job.Options())
    ev = evaluate(report, read_labels(FDROID_LABELS))
    assert ev.missing == [] and ev.labelled == len(read_labels(FDROID_LABELS))
    overall = ev.families["any"]
    assert overall.precision == 0.75  # three tampered APKs found, one SMS utility flagged (below)
    assert "janus.apk" in overall.tp
    assert "issue-1128-poc1.apk" in overall.tp
    # a user app whose code reads SMS and contacts within two calls of sending SMS: high by the rule, labelled
    # not-high (it is an SMS utility); the evaluation reports it as the one false positive
    assert overall.fp == ["souch.smsbypass_9.apk"]


def test_labels_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "labels.csv"
    bad.write_text("app,expect,why\ncom.x,maybe,unsure\n")
    with pytest.raises(Exception, match="line 2"):
        read_labels(bad)


def test_diff_keeps_risk_scores_comparable(roles: dict[str, Any]) -> None:
    report = roles["report"]
    same = compare(report, report, "a", "b")
    assert same.summary["device_risk"]["change"] == 0.0 and same.findings == []


def test_terminal_summary_shows_the_device_risk(roles: dict[str, Any]) -> None:
    from bansweep.reports import table

    report = roles["report"]
    device = report.summary[str(roles["tree"])]["device_risk"]
    out = table.render(report, width=160, color=False)
    [line] = [ln for ln in out.splitlines() if ln.startswith("Risk ")]
    assert f"device {device['score']} ({device['severity']})" in line
