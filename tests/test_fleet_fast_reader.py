"""The fast CSV reader gives, record for record, what the inventory-csv source yields (observations with their
locations, and input errors), in one part or split with a forked worker, or hands the file back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.findings import InputError
from bansweep.fleet import sources
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import inventory_csv_fast as fast

HEADER = ["Name", "IP Address", "MAC Address", "Serial", "Manufacturer", "Model", "Type"]
CELLS = ["", " ", "cam-1", " Hikvision ", "Dell", 'ZTE "Corp", Ltd', "two\nlines", "a;b|c\td", "DS-2CD2042WD-I"]
MACS = ["", "44:19:b6:12:34:56", "44:19:B6:12:34:5G", " 00-1E-73-AA-BB-CC ", "0014.2201.0203", "zz:zz", "   "]


def source(path: Path) -> tuple[list[Observation], list[str]]:
    items = list(sources.parse("inventory-csv", path))
    return [o for o in items if isinstance(o, Observation)], [str(e) for e in items if isinstance(e, InputError)]


def fast_read(path: Path) -> tuple[list[Observation], list[str]] | None:
    got = fast.read(path)
    if got is None:
        return None
    batch, errors = got
    return [batch.observation(k) for k in range(len(batch))], [str(e) for e in errors]


row = st.one_of(
    st.tuples(
        st.sampled_from(CELLS),
        st.sampled_from(["", "10.0.0.1", " 10.0.0.2 "]),
        st.sampled_from(MACS),
        st.sampled_from(["", "FA48", " s2 "]),
        st.sampled_from(CELLS),
        st.sampled_from(CELLS),
        st.sampled_from(CELLS),
    ).map(list),
    st.just([]),
    st.lists(st.sampled_from(CELLS), min_size=1, max_size=3),  # a short row
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(row, max_size=14),
    delimiter=st.sampled_from([",", ";", "\t"]),
    sep_line=st.booleans(),
    line_end=st.sampled_from(["\n", "\r\n"]),
    split=st.booleans(),
)
def test_the_same_records_as_the_source(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: list[list[str]],
    delimiter: str,
    sep_line: bool,
    line_end: str,
    split: bool,
) -> None:
    buffer = io.StringIO()
    if sep_line:
        buffer.write(f"sep={delimiter}{line_end}")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(HEADER)
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("inv") / "inventory.csv"
    path.write_text(buffer.getvalue(), newline="")
    with monkeypatch.context() as patch:
        patch.setattr(fast, "CHUNK", 3)  # several column passes
        patch.setattr(fast, "PARALLEL_MIN_LINES", 1 if split else 1 << 40)
        got = fast_read(path)
    assert got is not None, "read by the fast reader"
    assert got == source(path)


def test_a_part_ending_inside_a_quoted_cell_is_not_split_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "inventory.csv"
    lines = ["MAC Address,Model"] + [f'44:19:B6:00:00:{n:02X},"DS-2CD\n{n}"' for n in range(10)]
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(fast, "PARALLEL_MIN_LINES", 1)
    for share in (0.3, 0.35, 0.5):  # cuts inside and outside a two-line record
        monkeypatch.setattr(fast, "PARENT_SHARE", share)
        assert fast_read(path) == source(path)


def test_a_title_above_the_header(tmp_path: Path) -> None:
    path = tmp_path / "title.csv"
    path.write_text("Asset report\n\nName,Model,MAC Address\ncam,DS-2CD2042WD-I,44:19:B6:00:00:01\n")
    got = fast_read(path)
    assert got is not None and got == source(path) and got[0][0].location.row == 4


def test_files_it_cannot_read_exactly_are_handed_back(tmp_path: Path) -> None:
    wifi = tmp_path / "wifi.csv"  # the source would take the MAC from the other column
    wifi.write_text("Wi-Fi MAC,Ethernet MAC,Model\n,44:19:B6:00:00:02,DS-2CD2042WD-I\n")
    long = tmp_path / "long.csv"  # a long cell (the source has its own limit)
    long.write_text("MAC Address,Model\n44:19:B6:00:00:03," + "x" * 5000 + "\n")
    bad = tmp_path / "bad.csv"  # the source reports the file (binary data)
    bad.write_text("MAC Address,Model\n44:19:B6:00:00:04,nul\0byte\n44:19:B6:00:00:05,DS-2CD2042WD-I\n")
    for path in (wifi, long, bad):
        assert fast.read(path) is None, path.name
    assert source(bad)[1]


def test_an_unterminated_quote_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    path.write_text('MAC Address,Model\n44:19:B6:00:00:04,"unterminated\n')
    assert fast_read(path) == source(path)
