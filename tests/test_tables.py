"""bansweep.tables: the one reader per table format, its limits, and header names as knowledge data."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.findings import InputError
from bansweep.fleet import sources
from bansweep.fleet.model import Observation
from bansweep.inputs import InputFile, InputProblem, read_head
from bansweep.knowledge import KnowledgeError
from bansweep.parties.inputs import read_parties
from bansweep.tables import delimited, json_rows, limits, xlsx
from bansweep.tables.read import read_table
from bansweep.tables.table import Row, Table

TEXT = "Name,Vendor,MAC\nphone-1,Zhōngxīng 中兴,00:11:22:33:44:55\nphone-2,Société Générale,\n"


def rows_and_errors(table: Table) -> tuple[list[Row], list[InputError]]:
    rows: list[Row] = []
    errors: list[InputError] = []
    for item in table.rows:
        (errors if isinstance(item, InputError) else rows).append(item)  # type: ignore[arg-type]
    return rows, errors


def write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def workbook(*sheets: tuple[str, list[list[object]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for i, (title, rows) in enumerate(sheets):
        sheet = book.active if i == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def fleet(path: Path, mapping: dict[str, str] | None = None) -> tuple[list[Observation], list[InputError]]:
    fmt = sources.sniff(InputFile(path, read_head(path)), mapping)
    assert fmt is not None, path
    obs: list[Observation] = []
    errors: list[InputError] = []
    for item in sources.parse(fmt, path, mapping):
        (obs if isinstance(item, Observation) else errors).append(item)
    return obs, errors


# --- delimited text ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
)
def test_unicode_encodings_with_and_without_bom(tmp_path: Path, encoding: str) -> None:
    table = read_table(write(tmp_path / "t.csv", TEXT.encode(encoding)))
    rows, errors = rows_and_errors(table)
    assert errors == [] and table.header == ["Name", "Vendor", "MAC"]
    assert rows == [
        (1, ["phone-1", "Zhōngxīng 中兴", "00:11:22:33:44:55"]),
        (2, ["phone-2", "Société Générale", ""]),
    ]
    path = write(tmp_path / "upload.bin", TEXT.encode(encoding))  # fleet sniffing sees the same text
    assert sources.sniff(InputFile(path, read_head(path))) == "inventory-csv"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_party_lists_in_utf16_and_utf32_are_recognised_and_read(tmp_path: Path, encoding: str) -> None:
    from bansweep.parties import job

    path = write(tmp_path / "suppliers.csv", "Supplier Name;Country\nZTE Corporation;CN\n".encode(encoding))
    assert job.sniff(InputFile(path, read_head(path))) == "parties-csv"
    assert [(p.name, p.country) for p in read_parties(path).parties] == [("ZTE Corporation", "CN")]


def test_cp1252_fallback(tmp_path: Path) -> None:
    text = "Name,Vendor\nphone-1,Société Générale – Ø\n"
    rows, _ = rows_and_errors(read_table(write(tmp_path / "t.csv", text.encode("cp1252"))))
    assert rows == [(1, ["phone-1", "Société Générale – Ø"])]


@pytest.mark.parametrize(("delimiter", "fmt"), [(",", "csv"), (";", "csv"), ("\t", "tsv"), ("|", "csv")])
def test_one_delimiter_sniffer(tmp_path: Path, delimiter: str, fmt: str) -> None:
    text = TEXT.replace(",", delimiter).replace("Société Générale", '"Acme, Inc; Ltd|x"')
    table = read_table(write(tmp_path / "t.txt", text))
    rows, errors = rows_and_errors(table)
    assert (table.format, table.delimiter, errors) == (fmt, delimiter, [])
    assert rows[1] == (2, ["phone-2", "Acme, Inc; Ltd|x", ""])
    assert delimited.sniff_delimiter("a b c") == ","


def test_excel_sep_line_and_old_mac_line_ends(tmp_path: Path) -> None:
    table = read_table(write(tmp_path / "t.csv", "sep=|\r\nA|B;C\r\n1|2;3\r\n"))
    assert table.header == ["A", "B;C"] and rows_and_errors(table)[0] == [(1, ["1", "2;3"])]
    table = read_table(write(tmp_path / "mac.csv", "A,B\r1,2\r3,4\r"))
    assert rows_and_errors(table)[0] == [(1, ["1", "2"]), (2, ["3", "4"])]


def test_header_below_title_lines_and_blank_lines_counted(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "Report\nGenerated today\n\nA,B\n1,2\n\n3,4\n")
    table = delimited.read(path, header_test=lambda cells: cells[:1] == ["A"])
    assert table.header == ["A", "B"] and table.header_line == 4
    assert rows_and_errors(table)[0] == [(1, ["1", "2"]), (3, ["3", "4"])]  # the blank line is row 2


def test_short_rows_padded_long_rows_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "A,B,C\n1\n1,2,3,,\n1,2,3,4\n,,\n")
    rows, errors = rows_and_errors(read_table(path))
    assert rows == [(1, ["1", "", ""]), (2, ["1", "2", "3"]), (4, ["", "", ""])]
    [long] = errors
    assert long.location.row == 3 and "4 cells where the header has 3" in long.message
    rows, errors = rows_and_errors(read_table(path, strict=True))  # a fixed layout: short rows are not read
    assert [r[0] for r in rows] == [2, 4] and [e.location.row for e in errors] == [1, 3]


def test_oversized_cell_is_cut_and_reported_with_row_and_column(tmp_path: Path) -> None:
    big = "x" * (limits.MAX_CELL + 1)
    path = write(tmp_path / "t.csv", f'A,B\n1,{big}\n2,"multi\nline"\n3,"{big}\n{big}"\n')
    rows, errors = rows_and_errors(read_table(path))
    assert rows == [(1, ["1", ""]), (2, ["2", "multi\nline"]), (3, ["3", ""])]
    assert [(e.location.row, e.location.field) for e in errors] == [(1, "B"), (3, "B")]
    assert f"cell is {limits.MAX_CELL + 1} characters long" in errors[0].message


def test_unterminated_quote_and_unreadable_row(tmp_path: Path) -> None:
    lines = ["A,B", "1,2", '3,"open', *[f"{i},x" for i in range(limits.MAX_ROW_LINES + 5)]]
    rows, errors = rows_and_errors(read_table(write(tmp_path / "q.csv", "\n".join(lines) + "\n")))
    assert rows == [(1, ["1", "2"])]
    assert errors[0].location.line == 3 and "unterminated quote" in errors[0].message
    rows, errors = rows_and_errors(read_table(write(tmp_path / "cr.csv", "A,B\n1,x\ry\n2,z\n")))
    assert rows == [(2, ["2", "z"])] and (errors[0].location.line, errors[0].location.row) == (2, 1)


def test_row_and_column_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_ROWS", 2)
    rows, errors = rows_and_errors(read_table(write(tmp_path / "t.csv", "A\n1\n2\n3\n4\n")))
    assert len(rows) == 2 and errors[0].location.row == 3 and "more than 2 rows" in errors[0].message
    monkeypatch.setattr(limits, "MAX_COLUMNS", 3)
    with pytest.raises(InputProblem, match="header has 4 columns"):
        read_table(write(tmp_path / "wide.csv", "A,B,C,D\n1,2,3,4\n"))
    with pytest.raises(InputProblem, match="header has 4 columns") as exc:
        read_table(write(tmp_path / "wide.xlsx", workbook(("S", [["A", "B", "C", "D"]]))))
    assert exc.value.location.entry == "S"
    with pytest.raises(InputProblem, match="more than 3 distinct keys"):
        read_table(write(tmp_path / "wide.json", '[{"A": 1, "B": 2, "C": 3, "D": 4}]'))
    monkeypatch.setattr(limits, "MAX_CELL", 5)
    with pytest.raises(InputProblem, match="a header cell is 6 characters long"):
        read_table(write(tmp_path / "long.csv", "A,BBBBBB\n1,2\n"))


def test_file_size_limit_empty_and_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_TEXT_BYTES", 10)
    with pytest.raises(InputProblem, match="limit for tables is 10"):
        read_table(write(tmp_path / "t.csv", "A,B\n1,2\n3,4\n"))
    monkeypatch.undo()
    with pytest.raises(InputProblem, match="empty file"):
        read_table(write(tmp_path / "e.csv", "\n \n"))
    with pytest.raises(InputProblem, match="binary data"):
        read_table(write(tmp_path / "b.csv", b"A,B\n\x00\x01\x02\x03\x04\x05"))


def test_two_mac_columns_excel_row_with_empty_first_mac_and_dropped_cells(tmp_path: Path) -> None:
    # regression: IndexError in observe_rows when the second MAC column lay beyond the row's last cell
    path = write(tmp_path / "export.csv", "Model,Wi-Fi MAC,Ethernet MAC\nX200,\nX300,,00:e0:fc:01:02:03\n")
    obs, errors = fleet(path)
    assert errors == []
    assert [(o.facts["model"], o.mac) for o in obs] == [("X200", None), ("X300", "00:E0:FC:01:02:03")]


# --- XLSX -------------------------------------------------------------------------------------------------------


def test_xlsx_sheets_header_search_and_cells(tmp_path: Path) -> None:
    data = workbook(
        ("Notes", [["Exported from the register"]]),
        ("Devices", [["Camera register"], [], ["Name", "MAC", None], ["cam-1", "44:19:b6:00:00:01", 3], [None], ["x"]]),
    )
    path = write(tmp_path / "upload.bin", data)  # recognised by content, whatever the name
    tables = []
    for table in xlsx.read(path, header_test=lambda cells: "MAC" in cells):
        tables.append((table.sheet, table.header, table.header_line, rows_and_errors(table)))
    assert tables[0][:2] == ("Notes", ["Exported from the register"])
    sheet, header, line, (rows, errors) = tables[1]
    assert (sheet, header, line) == ("Devices", ["Name", "MAC"], 3)
    assert rows == [(3, ["x", ""])]  # the blank sheet row is row 2
    assert (errors[0].location.row, errors[0].location.entry) == (1, "Devices")
    assert "3 cells where the header has 2" in errors[0].message  # a value beyond the header: row not read


def test_xlsx_declared_dimensions_are_not_trusted(tmp_path: Path) -> None:
    data = workbook(("S", [["Name", "MAC"], *[[f"n{i}", "00:11:22:33:44:55"] for i in range(5)]]))
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(tmp_path / "dim.xlsx", "w") as out:
        for info in src.infolist():
            member = src.read(info.filename)
            if info.filename.endswith("sheet1.xml"):
                assert b'<dimension ref="A1:B6"/>' in member
                member = member.replace(b'<dimension ref="A1:B6"/>', b'<dimension ref="A1:A2"/>')
            out.writestr(info, member)
    rows, errors = rows_and_errors(read_table(tmp_path / "dim.xlsx"))
    assert errors == [] and [r[1] for r in rows] == [[f"n{i}", "00:11:22:33:44:55"] for i in range(5)]


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_xlsx_zip_bomb_entry_count_and_total_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = _zip(tmp_path / "bomb.xlsx", {"xl/workbook.xml": b"<workbook/>", "xl/big.xml": b"\x00" * (16 << 20)})
    with pytest.raises(InputProblem, match="zip bomb") as exc:
        read_table(bomb)
    assert exc.value.location.entry == "xl/big.xml"
    many = _zip(tmp_path / "many.xlsx", {f"xl/{i}.xml": b"<a/>" for i in range(6)} | {"xl/workbook.xml": b""})
    monkeypatch.setattr(limits, "MAX_ZIP_ENTRIES", 5)
    with pytest.raises(InputProblem, match="7 entries"):
        read_table(many)
    monkeypatch.setattr(limits, "MAX_UNPACKED", 100)
    big = _zip(tmp_path / "big.xlsx", {"xl/workbook.xml": b"<workbook/>" * 20}, zipfile.ZIP_STORED)
    with pytest.raises(InputProblem, match="unpacks to 220 bytes"):
        read_table(big)


def _patch_central_directory(data: bytes, offset: int, value: bytes) -> bytes:
    """data with value written at offset into every central directory header."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    assert at >= 0
    while at >= 0:
        out[at + offset : at + offset + len(value)] = value
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


def test_xlsx_with_unknown_zip_version_or_flags_is_an_error_not_a_crash(tmp_path: Path) -> None:
    data = workbook(("Sheet", [["Manufacturer", "Model", "MAC"], ["ZTE", "F670L", "34:4b:50:00:00:01"]]))
    # regression: NotImplementedError("zip file version 9.9") escaped sniffing
    odd = write(tmp_path / "version.xlsx", _patch_central_directory(data, 6, (99).to_bytes(2, "little")))
    assert sources.sniff(InputFile(odd, read_head(odd))) is None
    with pytest.raises(InputProblem, match="not a readable XLSX workbook: NotImplementedError: zip file version"):
        read_table(odd)
    [error] = list(sources.parse("inventory-xlsx", odd))
    assert isinstance(error, InputError) and error.location.file == str(odd) and "zip file version" in error.message
    locked = write(tmp_path / "flags.xlsx", _patch_central_directory(data, 8, b"\x01\x00"))
    with pytest.raises(InputProblem, match="encrypted entry"):
        read_table(locked)
    method = write(tmp_path / "method.xlsx", _patch_central_directory(data, 10, b"\x63\x00"))  # AES "method 99"
    with pytest.raises(InputProblem, match="XLSX"):
        list(rows_and_errors(read_table(method)))
    plain = _zip(tmp_path / "plain.zip", {"readme.txt": b"hello"})
    with pytest.raises(InputProblem, match="not an XLSX workbook"):
        read_table(plain)


def test_xlsx_oversized_cell_and_broken_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_CELL", 100)  # an XLSX cell holds at most 32,767 characters
    data = workbook(("S", [["Name", "Note"], ["a", "y" * 101], *[["n", str(i)] for i in range(300)]]))
    rows, errors = rows_and_errors(read_table(write(tmp_path / "cell.xlsx", data)))
    assert rows[0] == (1, ["a", ""]) and (errors[0].location.row, errors[0].location.field) == (1, "Note")
    assert errors[0].location.entry == "S" and "101 characters long" in errors[0].message
    monkeypatch.undo()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(tmp_path / "cut.xlsx", "w") as out:
        for info in src.infolist():
            member = src.read(info.filename)
            out.writestr(info, member[: len(member) // 2] if info.filename.endswith("sheet1.xml") else member)
    rows, errors = rows_and_errors(read_table(tmp_path / "cut.xlsx"))
    assert 0 < len(rows) < 301 and len(errors) == 1
    assert errors[0].location.entry == "S" and errors[0].location.row == len(rows) + 1
    assert "unreadable worksheet after data row" in errors[0].message


# --- JSON rows --------------------------------------------------------------------------------------------------


def test_json_rows_wrappers_cells_and_non_objects(tmp_path: Path) -> None:
    doc = {
        "result": [
            {"name": "a", "ips": ["", "10.0.0.1", "10.0.0.2"], "maker": {"display_value": "ZTE", "link": "u"}},
            "text",
            {"name": "b", "extra": {"city": "X", "country": "Y"}},
        ]
    }
    path = write(tmp_path / "t.json", json.dumps(doc))
    table = json_rows.read(path, lists="first")
    rows, errors = rows_and_errors(table)
    assert table.header == ["name", "ips", "maker", "extra"]
    assert rows == [(1, ["a", "10.0.0.1", "ZTE", ""]), (3, ["b", "", "", "X"])]
    assert (errors[0].location.row, errors[0].location.entry) == (2, "result[1]") and "string" in errors[0].message
    rows, _ = rows_and_errors(json_rows.read(path, lists="all"))
    assert rows[0][1][1] == "10.0.0.1; 10.0.0.2" and rows[1][1][3] == "X, Y"


def test_json_nesting_depth_size_and_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = "[" * (limits.MAX_JSON_DEPTH + 1) + "]" * (limits.MAX_JSON_DEPTH + 1)
    with pytest.raises(InputProblem, match="nested deeper than"):
        read_table(write(tmp_path / "deep.json", deep))
    with pytest.raises(InputProblem, match="nested deeper than"):
        read_table(write(tmp_path / "deeper.json", "[" * 100_000 + "]" * 100_000))
    with pytest.raises(InputProblem, match="malformed JSON") as exc:
        read_table(write(tmp_path / "bad.json", '[\n{"a": }]'))
    assert exc.value.location.line == 2
    with pytest.raises(InputProblem, match="no list of rows"):
        read_table(write(tmp_path / "obj.json", '{"a": 1}'))
    monkeypatch.setattr(limits, "MAX_JSON_BYTES", 5)
    with pytest.raises(InputProblem, match="limit for JSON"):
        json_rows.load(write(tmp_path / "big.json", '[{"a": 1}]'))
    monkeypatch.undo()
    monkeypatch.setattr(limits, "MAX_COLUMNS", 2)
    with pytest.raises(InputProblem, match="more than 2 distinct keys"):
        json_rows.read(write(tmp_path / "keys.json", '[{"a": 1, "b": 2}, {"c": 3}]'))


# --- header names as knowledge data ------------------------------------------------------------------------------


def test_header_names_come_from_knowledge_and_overlays(tmp_path: Path) -> None:
    path = write(tmp_path / "assets.csv", "Gerät,Funk-Adresse,Typ\nA-1,70:7b:e8:11:22:33,ZXR10\n")
    assert sources.describe_mapping(path) is None
    overlay = tmp_path / "kb"
    overlay.mkdir()
    (overlay / "headers.yaml").write_text(
        "dataset: headers\nversion: local\nentries:\n"
        "  - {id: site-mac, kind: field, job: fleet, field: mac, names: [Funk-Adresse], source: site, date: '2026'}\n"
        "  - {id: site-name, kind: field, job: parties, field: name, names: [Firma], source: site, date: '2026'}\n",
        encoding="utf-8",
    )
    assert sources.describe_mapping(path, knowledge=[overlay]) == {"mac": "Funk-Adresse"}
    parties = write(tmp_path / "p.csv", "Ref,Firma\n1,ZTE Corporation\n")
    with pytest.raises(InputProblem, match="no party name column"):
        read_parties(parties)
    assert [p.name for p in read_parties(parties, knowledge=[overlay]).parties] == ["ZTE Corporation"]
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "headers.yaml").write_text(
        "dataset: headers\nentries:\n"
        "  - {id: odd, kind: field, job: fleet, field: colour, names: [Farbe], source: site, date: '2026'}\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError, match="'colour' is not a fleet field"):
        sources.describe_mapping(path, knowledge=[odd])


# --- nothing but InputProblem and InputError, whatever the bytes ---------------------------------------------------


def _read_all(path: Path) -> None:
    try:
        table = read_table(path)
    except InputProblem:
        return
    for item in table.rows:
        assert isinstance(item, InputError) or (isinstance(item[0], int) and len(item[1]) == len(table.header))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), prefix=st.sampled_from([b"", b"A,B\n", b"\xff\xfeA\x00", b"[", b'{"value": [']))
def test_random_bytes_never_raise(tmp_path: Path, data: bytes, prefix: bytes) -> None:
    _read_all(write(tmp_path / "t", prefix + data))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.floats(0, 1), junk=st.binary(min_size=1, max_size=40))
def test_damaged_workbooks_never_raise(tmp_path: Path, at: float, junk: bytes) -> None:
    data = workbook(("S", [["Name", "MAC"], ["a", "00:11:22:33:44:55"], ["b", None]]))
    cut = int(at * len(data))
    _read_all(write(tmp_path / "t.xlsx", data[:cut] + junk + data[cut + len(junk) :]))


def test_other_json_inputs_of_parties_are_bounded_too(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bansweep.cli import main
    from bansweep.parties import decisions

    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InputProblem, match="nested deeper than"):
        decisions.load(write(tmp_path / "decisions.json", deep))
    report = write(tmp_path / "report.json", deep)
    args = ["parties", "decide", "--report", str(report), "--decisions", str(tmp_path / "d.yaml"), "--clear"]
    result = CliRunner().invoke(main, [*args, "--by", "j", "--why", "x", "--all-review"])
    assert result.exit_code == 2 and "not a JSON report (JSON nested deeper than" in result.output
