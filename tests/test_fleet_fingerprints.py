"""Recog XML databases: Ruby -> Python regex translation, loading with errors per fingerprint, selftest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from bansweep.cli import main
from bansweep.fleet.fingerprints import PatternError, Recog, load_file, selftest, translate

RECOG = Path(__file__).parent / "fixtures" / "recog"
BROKEN = RECOG / "broken"


def test_leading_inline_icase_is_hoisted() -> None:
    with pytest.raises(re.error):
        re.compile(r"^(?i)app-webs/$")  # Python 3.11 refuses a global flag after ^
    rx = translate(r"^(?i)app-webs/$")
    assert rx.search("APP-WEBS/")


def test_ruby_inline_m_means_dot_all() -> None:
    text = "ZXR10 ROS Version V4.08.23\r\nZXR10 2928E Software"
    assert not re.search(r"(?m)ROS.*2928E", text)  # Python's (?m) is not dot-all
    assert translate(r"(?m)ROS.*2928E").search(text)
    assert translate(r"^x(?m:.+)y", "").search("x\n\ny")  # scoped group too


def test_flags_and_line_anchors() -> None:
    assert translate("^b$").search("a\nb\nc")  # Ruby ^/$ are per line: always re.M
    assert translate("hikvision", "REG_ICASE").search("HIKVISION")
    assert not translate("a.b").search("a\nb")
    assert translate("a.b", "REG_DOT_NEWLINE").search("a\nb")
    assert translate("a.b", "REG_MULTILINE").search("a\nb")
    with pytest.raises(PatternError, match="unknown flag"):
        translate("x", "REG_EXTENDED")


def test_ruby_escapes_and_named_groups() -> None:
    assert translate(r"end\z").search("the end")
    assert not translate(r"end\z").search("end\n")
    assert translate(r"^\h{4}$").search("c4f2")
    assert not translate(r"^\h{4}$").search("c4g2")
    m = translate(r"corp (?<year>\d{4})").search("ZTE corp 2005")
    assert m and m.group("year") == "2005" and m.group(1) == "2005"
    assert translate(r"(?<=a)b(?<!c)").search("ab")  # look-behinds are left alone
    assert translate(r"a\\zb").search(r"a\zb")  # an escaped backslash is not \z


def test_uncompilable_pattern_is_a_pattern_error() -> None:
    with pytest.raises(PatternError, match="cannot compile"):
        translate(r"^Acme-Cam/(\d+$")
    with pytest.raises(PatternError, match="longer than"):
        translate("a" * 10_000)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="()?<>imsx-:.*+\\zhHA[]^$|{}0123456789ab", max_size=40), st.sampled_from(["", "REG_ICASE"]))
def test_translate_fails_only_with_pattern_error(pattern: str, flags: str) -> None:
    try:
        rx = translate(pattern, flags)
    except PatternError:
        return
    rx.search("abc\nABC 123")


def test_every_fixture_example_matches_and_params_are_extracted() -> None:
    recog = Recog.load([RECOG])
    assert recog.errors == []
    assert {db.path.name for db in recog.databases} >= {"http_servers.xml", "rtsp_servers.xml", "snmp_sysdescr.xml"}
    results = list(selftest(recog))
    assert len(results) == recog.size >= 20
    assert all(r.ok for _, rs in results for r in rs)
    vrp = next(fp for fp, _ in results if fp.file == "snmp_sysdescr.xml" and fp.index == 1)
    example = vrp.examples[0]
    assert "\r\n" in example.text  # base64 example decoded as latin-1 bytes
    got = vrp.extract(vrp.regex.search(example.text))  # type: ignore[arg-type]
    assert got["hw.product"] == "S5720-28X-LI-AC" and got["os.build"] == "V200R011C10SPC500"
    zxr = next(fp for fp, _ in results if fp.file == "snmp_sysdescr.xml" and fp.index == 2)
    got = zxr.extract(zxr.regex.search(zxr.examples[0].text))  # type: ignore[arg-type]
    assert got["hw.cpe23"] == "cpe:/h:zte:ZXR10 2928E"  # {placeholder} interpolation


def test_match_maps_recog_fields_to_facts() -> None:
    recog = Recog.load([RECOG])
    hits = list(recog.match("http.server", "DNVRS-Webs"))
    assert [(fp.rule, params["hw.vendor"]) for fp, params in hits] == [("recog:http_servers.xml:1", "Hikvision")]
    # sources give the realm alone; Recog's database expects the whole WWW-Authenticate header
    (fp, params), *_ = recog.match("http.realm", "ZXHN H108N")
    assert params == {"hw.vendor": "ZTE", "hw.device": "Broadband Router", "hw.product": "ZXHN H108N"}
    assert list(recog.match("lldp.sysdesc", "ZXR10 ROS Version V4.08.23\nZXR10 2928E Software"))
    assert not list(recog.match("rtsp.server", "DNVRS-Webs"))  # databases apply to their own field only
    assert not list(recog.match("http.server", "Apache/2.4.57"))  # first match or nothing


def test_bad_databases_give_errors_naming_file_and_fingerprint(tmp_path: Path) -> None:
    db, errors = load_file(BROKEN / "failing_example.xml")
    assert db is not None and [fp.index for fp in db.fingerprints] == [1, 3]  # the rest of the file loads
    (error,) = errors
    assert error.location.file.endswith("failing_example.xml")
    assert error.location.field == "fingerprint 2" and error.location.line == 10
    assert "unterminated subpattern" in error.message

    db, errors = load_file(BROKEN / "entity_bomb.xml")
    assert db is None and "refused" in errors[0].message

    db, errors = load_file(BROKEN / "truncated.xml")
    assert db is None and errors[0].location.line == 5 and "malformed XML" in errors[0].message

    other = tmp_path / "other.xml"
    other.write_text("<nmaprun/>")
    assert "not a Recog database" in load_file(other)[1][0].message

    group = tmp_path / "badparam.xml"
    group.write_text(
        '<fingerprints matches="ssh.banner"><fingerprint pattern="^x$">'
        '<param pos="1" name="service.version"/></fingerprint></fingerprints>'
    )
    db, errors = load_file(group)
    assert db is not None and not db.fingerprints and "takes group 1 but the pattern has 0" in errors[0].message


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_load_file_never_raises_on_junk(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "junk.xml"
    sample = (RECOG / "rtsp_servers.xml").read_bytes()
    path.write_bytes(sample[: len(data) % len(sample)] + data)
    db, errors = load_file(path)
    assert db is not None or errors
    assert all(e.location.file == str(path) for e in errors)


def test_example_file_must_stay_beside_the_database(tmp_path: Path) -> None:
    (tmp_path / "banner.txt").write_bytes(b"Acme-NVR")
    db = tmp_path / "db.xml"
    db.write_text(
        '<fingerprints matches="ssh.banner"><fingerprint pattern="^Acme-NVR$">'
        '<example _filename="banner.txt"/></fingerprint>'
        '<fingerprint pattern="^x$"><example _filename="../../etc/passwd"/></fingerprint></fingerprints>'
    )
    loaded, errors = load_file(db)
    assert loaded is not None and loaded.fingerprints[0].examples[0].text == "Acme-NVR"
    assert "not a file beside the database" in errors[0].message


def test_selftest_command_passes_on_fixtures() -> None:
    result = CliRunner().invoke(main, ["fingerprints", "selftest", "-v", str(RECOG)])
    assert result.exit_code == 0, result.output
    assert "PASS http_servers.xml:12 #2" in result.output
    assert "0 failed, 0 error(s)" in result.output.splitlines()[-1]


def test_selftest_command_reports_failures_and_errors() -> None:
    result = CliRunner().invoke(main, ["fingerprints", "selftest", str(BROKEN)])
    assert result.exit_code == 1
    out = result.output
    assert "FAIL failing_example.xml:3 #1" in out
    assert "example 2: service.version: expected '3', got '2'" in out
    assert "ERROR" in out and "failing_example.xml:10 [fingerprint 2]" in out
    assert "entity_bomb.xml: refused" in out
    last = out.strip().splitlines()[-1]
    assert "1 passed, 1 failed, 3 error(s)" in last
