import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bansweep.cli import exit_code
from bansweep.findings import Evidence, Finding, InputError, Location, Report, Severity, Status, Subject
from bansweep.inputs import InputFile, InputProblem, decode_text, walk
from bansweep.knowledge import KnowledgeError, load


def _finding(status: Status) -> Finding:
    subject = Subject("device", "d1", "camera")
    ev = Evidence("mac.oui", "44:19:B6", Location("scan.xml", line=3))
    return Finding(subject, "r", "t", Severity.HIGH, 0.9, [ev], status=status)


def test_decode_text_handles_boms_and_utf16() -> None:
    text = "Manufacturer,Model\nHikvision,DS-2CD2042WD\n"
    assert decode_text(b"\xef\xbb\xbf" + text.encode(), "f") == text
    assert decode_text(b"\xff\xfe" + text.encode("utf-16-le"), "f") == text
    assert decode_text(text.encode("utf-16-le"), "f") == text
    assert decode_text("Straße".encode("cp1252"), "f") == "Straße"


def test_decode_text_refuses_binary() -> None:
    with pytest.raises(InputProblem) as err:
        decode_text(b"abc\x00\x01\x02def" * 2, "junk.bin")
    assert "junk.bin" in str(err.value)


@given(st.binary(max_size=2000))
def test_decode_text_is_total(data: bytes) -> None:
    try:
        assert isinstance(decode_text(data, "x"), str)
    except InputProblem as exc:
        assert exc.location.file == "x"


def test_walk_reports_missing_and_loops(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.txt").write_text("x")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "dangling").symlink_to(tmp_path / "nowhere")
    items = list(walk([tmp_path / "a", tmp_path / "missing"]))
    files = [i for i in items if isinstance(i, InputFile)]
    errors = [str(i) for i in items if isinstance(i, InputError)]
    assert [f.path.name for f in files] == ["f.txt"]
    assert any("loop" in e for e in errors)
    assert any("dangling" in e for e in errors)
    assert any("missing" in e and "no such file" in e for e in errors)


def test_exit_codes_separate_findings_from_input_errors() -> None:
    report = Report(job="fleet", findings=[_finding(Status.REVIEW)])
    assert exit_code(report, "covered") == 0
    assert exit_code(report, "review") == 1
    report.errors.append(InputError(Location("bad.csv", row=4), "missing MAC"))
    assert exit_code(report, "review") == 5
    assert exit_code(report, "never") == 4
    assert exit_code(Report(job="x", findings=[_finding(Status.COVERED)]), "covered") == 1


def test_knowledge_overlay_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bansweep.knowledge as kn

    base = tmp_path / "base"
    base.mkdir()
    (base / "demo.yaml").write_text(
        "version: '1'\nentries:\n"
        "  - {id: a, name: A, source: s, date: '2020-01-01'}\n"
        "  - {id: b, name: B, source: s, date: '2020'}\n"
    )
    monkeypatch.setattr(kn, "DATA_DIR", base)
    kn._load.cache_clear()
    over = tmp_path / "over"
    over.mkdir()
    (over / "demo.yaml").write_text(
        "entries:\n  - {id: a, remove: true}\n  - {id: c, name: C, source: mine, date: '2026-11-01'}\n"
    )
    ds = load("demo", required=["name"], overlays=[over])
    assert sorted(ds.by_id()) == ["b", "c"]
    (over / "demo.yaml").write_text("entries:\n  - {id: d, name: D, date: '2026-11-01'}\n")
    kn._load.cache_clear()
    with pytest.raises(KnowledgeError, match="source"):
        load("demo", required=["name"], overlays=[over])
    kn._load.cache_clear()


def test_sweep_routes_by_content_and_explains_a_list(tmp_path: Path) -> None:
    import shutil

    from bansweep.jobs import route

    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "csl-sample-13.csv"
    examples = Path(__file__).resolve().parents[1] / "examples"
    shutil.copy(shared, tmp_path / "list.txt")
    shutil.copy(examples / "network-scan.xml", tmp_path / "scan.dat")
    shutil.copy(examples / "suppliers.csv", tmp_path / "suppliers.csv")
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01\x02junk")
    routed = route([tmp_path])
    assert routed.formats[str(tmp_path / "scan.dat")] == "nmap"
    assert routed.formats[str(tmp_path / "suppliers.csv")].startswith("parties-")
    messages = {e.location.file: e.message for e in routed.errors}
    assert "import-csl" in messages[str(tmp_path / "list.txt")]
    assert messages[str(tmp_path / "notes.bin")] == "input format not recognised"


def test_office_documents_are_not_firmware_zips(tmp_path: Path) -> None:
    import openpyxl

    from bansweep.jobs import route

    for name, header, row in (
        (
            "inventory.xlsx",
            ["Manufacturer", "Model", "MAC Address"],
            ["Hikvision", "DS-2CD2042WD-I", "44:19:B6:01:02:03"],
        ),
        ("suppliers.xlsx", ["Supplier Name", "Country"], ["ZTE Corporation", "CN"]),
    ):
        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(header)
        sheet.append(row)
        book.save(tmp_path / name)
    (tmp_path / "broken.apk").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    routed = route([tmp_path])
    assert routed.formats[str(tmp_path / "inventory.xlsx")] == "inventory-xlsx"
    assert routed.formats[str(tmp_path / "suppliers.xlsx")] == "parties-xlsx"
    assert routed.formats[str(tmp_path / "broken.apk")] == "apk"  # so the firmware job says what is wrong with it


def test_every_bundled_dataset_has_an_entry_type_and_loads_typed() -> None:
    from bansweep.knowledge import DATA_DIR, facts
    from bansweep.knowledge.schema import SCHEMAS, Component, PartyWords

    assert {p.stem for p in DATA_DIR.glob("*.yaml")} == set(SCHEMAS)
    for kind in SCHEMAS.values():
        data = facts(kind)
        assert data.entries and all(isinstance(e, kind) and e.source and e.date for e in data.entries)
    assert {c.entity for c in facts(Component).entries} >= {"hisilicon"}
    stop = next(e for e in facts(PartyWords).entries if e.kind == "stop")
    assert "on" in stop.words and all(isinstance(w, str) for w in stop.words)


def test_knowledge_entries_are_checked_against_their_type(tmp_path: Path) -> None:
    """An unknown field (a typo, or YAML splitting an unquoted value at its commas) and a value of the wrong type
    (YAML reading an unquoted `on` as true) are refused, naming the file, the entry and the field."""
    import bansweep.knowledge as kn
    from bansweep.knowledge.schema import StockSetuid

    entry = "  - {id: run-as, path: /system/bin/run-as, source: mine, date: '2026-11-01'%s}\n"
    for extra, message in (
        (", nte: typo", "unknown field 'nte'"),
        (", until: [29]", "'until' must be str | None, got [29]"),
        (", note: on", "'note' must be str, got True"),
    ):
        (tmp_path / "stock-setuid.yaml").write_text("entries:\n" + entry % extra)
        with pytest.raises(KnowledgeError, match=re.escape(message)) as err:
            kn.facts(StockSetuid, [tmp_path])
        assert "stock-setuid.yaml: entry 1 (run-as)" in str(err.value)
    (tmp_path / "stock-setuid.yaml").write_text("entries:\n" + entry % ", until: 29")
    typed = kn.facts(StockSetuid, [tmp_path])
    assert typed.entries[-1].until == "29" and typed.files[-1] == str(tmp_path / "stock-setuid.yaml")
    kn._load.cache_clear()


def test_top_level_help_lists_every_command_uncut_at_80_columns() -> None:
    from click.testing import CliRunner

    from bansweep.cli import main

    out = CliRunner().invoke(main, ["--help"], terminal_width=80).output
    listed = out.split("Commands:")[1].split("\n\n")[0].splitlines()
    assert {line.split()[0] for line in listed if line.strip()} >= {"fleet", "firmware", "parties", "sweep", "show"}
    assert not [line for line in listed if line.rstrip().endswith("...")]
