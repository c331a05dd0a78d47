"""CompactDex: a cdex crafted from a real dex (tests/cdex_build.py; no Debian tool writes one) reads like the dex,
checked against ART's own dexdump (checksum and class list); cdex inside a VDEX is carved with its data section."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bansweep.findings import Location
from bansweep.firmware.apk import read_app
from bansweep.firmware.formats.cdex import parse_any
from bansweep.firmware.formats.oat import carve
from bansweep.firmware.limits import FormatError
from cdex_build import to_cdex

FDROID = Path(__file__).parent / "data" / "cache" / "fdroidserver"


def real_dex(name: str = "SpeedoMeterApp.main_1.apk") -> bytes:
    apk = FDROID / name
    if not apk.exists():
        pytest.skip("test data not fetched (scripts/fetch-test-data)")
    return zipfile.ZipFile(apk).read("classes.dex")


def same_tables(a: bytes, b: bytes) -> None:
    x, y = parse_any(a), parse_any(b)
    assert list(x.strings) == list(y.strings)
    assert x.types == y.types and x.defined_classes == y.defined_classes
    assert x.method_refs == y.method_refs and x.field_refs == y.field_refs
    assert x.superclasses == y.superclasses


def test_cdex_reads_like_its_dex(tmp_path: Path) -> None:
    dex = real_dex()
    compact = to_cdex(dex)
    assert compact[:8] == b"cdex001\x00"
    same_tables(compact, dex)
    parsed = parse_any(compact)
    assert parsed.version == 1 and parsed.checksum_ok
    if shutil.which("dexdump") is None:
        pytest.skip("dexdump not installed (scripts/test-setup installs it)")
    path = tmp_path / "classes.cdex"
    path.write_bytes(compact)
    checked = subprocess.run(["dexdump", "-c", str(path)], capture_output=True, text=True)
    assert "Checksum verified" in checked.stdout + checked.stderr  # ART's own reader agrees with our checksum
    listing = subprocess.run(["dexdump", "-j", "-h", str(path)], capture_output=True, text=True, check=True).stdout
    classes = re.findall(r"Class descriptor\s*: '([^']+)'", listing)
    assert classes == parsed.defined_classes


def test_bad_cdex() -> None:
    compact = bytearray(to_cdex(real_dex()))
    compact[-3] ^= 0xFF  # a byte of the data section
    assert parse_any(bytes(compact)).checksum_ok is False
    for offset, value, message in [
        (0x24, 0x70, "header size"),  # a dex-sized header in a cdex
        (0x6C, 0x10, "data section"),  # data inside the header
        (0x20, 10**7, "declares"),  # longer than the file
        (0x4, 0x393930, "not a supported CompactDex"),  # version "099"
    ]:
        bad = bytearray(to_cdex(real_dex()))
        bad[offset : offset + 4] = value.to_bytes(4, "little")
        with pytest.raises(FormatError, match=message):
            parse_any(bytes(bad))


def test_cdex_in_a_vdex_is_carved_with_its_data_section() -> None:
    first, second = to_cdex(real_dex()), to_cdex(real_dex("SystemWebView-repack.apk"))
    mains, datas = [], []
    for c in (first, second):
        main_size = int.from_bytes(c[0x20:0x24], "little")
        mains.append(bytearray(c[:main_size]))
        datas.append(c[main_size:])
    prefix = b"vdex027\x00" + bytes(56)
    # the dex files back to back, their data after both (as a VDEX's shared data section lies after its dex files)
    starts = [len(prefix), len(prefix) + len(mains[0])]
    data_at = [starts[1] + len(mains[1]), starts[1] + len(mains[1]) + len(datas[0])]
    for main, start, at in zip(mains, starts, data_at, strict=True):
        main[0x6C:0x70] = (at - start).to_bytes(4, "little")  # data_off counts from the dex's own start
    vdex = prefix + mains[0] + mains[1] + datas[0] + datas[1]
    result = carve(vdex)
    assert [offset for offset, _ in result.dex] == starts and result.compact == [] and result.issues == []
    for (_, carved), original in zip(result.dex, (first, second), strict=True):
        same_tables(carved, original)
        assert parse_any(carved).checksum_ok
    broken = bytearray(vdex)
    broken[starts[1] + 0x6C : starts[1] + 0x70] = (10**6).to_bytes(4, "little")
    result = carve(bytes(broken))
    assert result.compact == [starts[1]] and "data section" in result.issues[0]


def test_odexed_app_with_cdex_in_its_vdex_is_read() -> None:
    apk = FDROID / "SpeedoMeterApp.main_1.apk"
    dex = real_dex()
    stripped = io.BytesIO()
    with zipfile.ZipFile(apk) as src, zipfile.ZipFile(stripped, "w") as out:
        for info in src.infolist():
            if info.filename != "classes.dex":
                out.writestr(info, src.read(info))
    vdex = b"vdex021\x00" + bytes(24) + to_cdex(dex)
    app = read_app(
        stripped.getvalue(),
        "system/app/Speedo/Speedo.apk",
        Location("fw"),
        [("system/app/Speedo/oat/arm64/Speedo.vdex", Location("fw", entry="vdex"), vdex)],
    )
    assert app.dex.present and app.dex.compact == 0
    assert app.dex.sources == ["system/app/Speedo/oat/arm64/Speedo.vdex@0x20"]
    assert set(parse_any(dex).defined_classes) <= app.dex.defined
    assert not [i for i in app.issues if "CompactDex" in i]


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_cdex_only_raises_format_error(data: st.DataObject) -> None:
    buf = bytearray(to_cdex(real_dex("issue-1128-poc1.apk")))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    for candidate in (bytes(buf), bytes(buf[:cut])):
        with contextlib.suppress(FormatError):
            parse_any(candidate)
        carve(b"vdex021\x00" + candidate)
