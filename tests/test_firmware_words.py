"""Firmware in its own words: every status is a severity word or not-screened, finding keys are stable from run to
run and from folder to folder, diff matches findings by key, and what could not be analysed is not-screened."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bansweep.findings import (
    JOB_STATUSES,
    Evidence,
    Finding,
    InputError,
    Location,
    Report,
    Severity,
    Status,
    Subject,
)
from bansweep.firmware import job
from bansweep.firmware.diff import RULE as CAPABILITY_RULE
from bansweep.firmware.diff import compare
from bansweep.firmware.rules.context import MAX_UNREAD_EVIDENCE, not_screened, unread_subject
from firmware_fixtures import firmware_tree, need_tools, odex_firmware

FDROID = Path(__file__).parent / "data" / "cache" / "fdroidserver"
FIRMWARE_WORDS = set(JOB_STATUSES["firmware"])
OTHER_WORDS = set(JOB_STATUSES["fleet"]) | set(JOB_STATUSES["parties"])
needs_fdroid = pytest.mark.skipif(
    not FDROID.is_dir(), reason="fdroidserver APK corpus absent (run scripts/fetch-test-data)"
)


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    need_tools()
    base = tmp_path_factory.mktemp("fw")
    work = base / "work"
    return {
        "adups": firmware_tree(base / "adups", work),
        "clean": firmware_tree(base / "clean", work, adups=False),
        "odex": odex_firmware(base / "odex", work),
    }


def assert_firmware_words(report: Report) -> None:
    statuses = {f.status for f in report.findings}
    assert statuses <= FIRMWARE_WORDS, statuses - FIRMWARE_WORDS
    assert not statuses & (OTHER_WORDS - {Status.NOT_SCREENED})  # never covered, review, match ...
    for f in report.findings:
        if f.status is Status.NOT_SCREENED:
            assert f.risk is None
        else:
            assert f.status.value == str(f.severity) and f.risk is not None and 0 <= f.risk <= 10


def keys(report: Report) -> dict[str, tuple[str, str]]:
    """key -> (rule, subject id of an app, or its kind); one key per finding."""
    out = {f.key: (f.rule, f.subject.id if f.subject.kind == "app" else f.subject.kind) for f in report.findings}
    assert len(out) == len(report.findings), "two findings share a key"
    return out


def test_fixture_firmware_reports_only_firmware_words(trees: dict[str, Path]) -> None:
    reports = {name: job.run([path], job.Options()) for name, path in trees.items()}
    for report in reports.values():
        assert report.findings
        assert_firmware_words(report)
        keys(report)
    statuses = {f.status for r in reports.values() for f in r.findings}
    assert {Status.CRITICAL, Status.HIGH, Status.MEDIUM, Status.LOW} <= statuses
    diff = compare(reports["clean"], reports["adups"], "clean", "adups")
    back = compare(reports["adups"], reports["clean"], "adups", "clean")
    for report in (diff, back):
        assert report.findings and {f.status for f in report.findings} <= FIRMWARE_WORDS


@needs_fdroid
def test_fdroidserver_corpus_reports_only_firmware_words() -> None:
    report = job.run([FDROID], job.Options())
    assert len(report.findings) >= 10
    assert_firmware_words(report)
    found = keys(report)  # apps of one package at several paths get keys of their own
    by_package = [rule for rule, subject in found.values() if subject == "org.fdroid.ci"]
    assert by_package.count("firmware.integrity") >= 2


def test_keys_are_stable_run_after_run_and_from_another_folder(trees: dict[str, Path], tmp_path: Path) -> None:
    first = keys(job.run([trees["adups"]], job.Options()))
    assert first == keys(job.run([trees["adups"]], job.Options(workers=1)))
    moved = tmp_path / "elsewhere" / "renamed-build"
    shutil.copytree(trees["adups"], moved, symlinks=True)
    assert first == keys(job.run([moved], job.Options()))
    rules = {rule for rule, _ in first.values()}
    assert {"firmware.harvesting", "firmware.exec", "firmware.install", "firmware.privilege.setuid"} <= rules


@needs_fdroid
def test_corrupt_apk_among_good_ones_is_not_screened_and_keys_hold(tmp_path: Path) -> None:
    original = job.run([FDROID], job.Options())
    copy = tmp_path / "apks"
    shutil.copytree(FDROID, copy)
    good = next(copy.rglob("*.apk")).read_bytes()
    (copy / "corrupt.apk").write_bytes(good[: len(good) // 2])
    report = job.run([copy], job.Options())
    unread = [f for f in report.findings if f.status is Status.NOT_SCREENED]
    assert [(f.subject.kind, f.subject.id) for f in unread] == [("app", "corrupt.apk")]
    assert unread[0].evidence[0].location.file.endswith("corrupt.apk") and unread[0].risk is None
    assert any(e.location.file.endswith("corrupt.apk") for e in report.errors)
    assert report.subjects == original.subjects + 1
    assert set(keys(report)) == set(keys(original)) | {unread[0].key}  # the others analysed as before


def test_unopenable_input_is_not_screened(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "ota.zip").write_bytes(b"PK\x03\x04" + b"\xff" * 300)
    reports = [job.run([tmp_path / folder / "ota.zip"], job.Options()) for folder in ("a", "b")]
    for report in reports:
        assert report.errors and report.subjects == 1
        [f] = report.findings
        assert f.status is Status.NOT_SCREENED and f.subject.kind == "firmware" and f.risk is None
        assert [e.location for e in f.evidence] == [e.location for e in report.errors]
    assert reports[0].findings[0].key == reports[1].findings[0].key  # named by the input's name, not its folder


def test_missing_input_is_not_screened(tmp_path: Path) -> None:
    report = job.run([tmp_path / "absent.img"], job.Options())
    assert [f.status for f in report.findings] == [Status.NOT_SCREENED]
    assert "no such file" in report.findings[0].explanation and report.subjects == 1


def capability_finding(package: str, cap: str, gained: bool) -> Finding:
    old = Report("firmware", summary={"x": {"app_capabilities": {package: [] if gained else [cap]}}})
    new = Report("firmware", summary={"x": {"app_capabilities": {package: [cap] if gained else []}}})
    [f] = compare(old, new, "old", "new").findings
    return f


def test_different_capabilities_on_one_app_get_different_keys() -> None:
    sms, exec_ = capability_finding("com.x", "sms", True), capability_finding("com.x", "exec", True)
    assert sms.rule == exec_.rule == CAPABILITY_RULE and sms.subject.id == exec_.subject.id
    assert sms.key != exec_.key
    assert sms.key == capability_finding("com.x", "sms", True).key  # and the same one every time
    assert sms.key != capability_finding("com.x", "sms", False).key  # gaining and losing are different findings
    assert sms.status is Status.MEDIUM and capability_finding("com.x", "sms", False).status is Status.INFO


def test_firmware_findings_are_keyed_by_device_not_input_path() -> None:
    def fw_finding(name: str, identity: str) -> Finding:
        subject = Subject("firmware", name, name, identity=identity)
        return Finding(
            subject, "firmware.privilege.test-keys", "t", Severity.HIGH, 1.0, [Evidence("r", "v", Location(name))]
        )

    build_a = fw_finding("/mnt/a/build-1.zip", "Brand Model")
    assert build_a.key == fw_finding("/tmp/build-2.zip", "Brand Model").key
    assert build_a.key != fw_finding("/mnt/a/build-1.zip", "Brand Other").key


def test_diff_of_a_build_with_its_copy_is_empty(trees: dict[str, Path], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(trees["clean"], copy, symlinks=True)
    report = job.diff(trees["clean"], copy, job.Options())
    assert report.findings == [] and report.summary["findings_changed"] == 0


def test_not_screened_lists_a_bounded_number_of_problems() -> None:
    problems = [InputError(Location("fw.zip", entry=f"e{i}"), f"bad {i}") for i in range(MAX_UNREAD_EVIDENCE + 7)]
    f = not_screened(unread_subject("system/app/X.apk"), problems, "system/app/X.apk")
    assert len(f.evidence) == MAX_UNREAD_EVIDENCE and f.evidence[0].value == "bad 0"
    assert f"first {MAX_UNREAD_EVIDENCE} of {len(problems)} problems" in f.explanation
    assert "bad 0; bad 1; bad 2 (and" in f.explanation
    assert f.subject.attributes["partition"] == "system"
