"""Property tests on every fleet source parser: whatever the bytes, parsing never raises, and every error names
the file and (for record-level problems) the place in it."""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.findings import InputError
from bansweep.fleet import sources
from bansweep.fleet.model import Observation, normalise_mac
from bansweep.fleet.sources.common import fast_mac
from bansweep.inputs import InputFile, read_head

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz.targets import FLEET_SEEDS  # noqa: E402

FIX = Path(__file__).parent / "fixtures" / "fleet"
SEED_FILES = FLEET_SEEDS  # the fuzz harness's seeds: one list of them
# problems with a file as a whole, which have no line or row to name
FILE_LEVEL = (
    "empty file",
    "no usable column",
    "no properties found",
    "not a CycloneDX BOM",
    "no list of device objects",
    "no list of rows",
    "malformed JSON",
    "objects have more than",
    "workbook without a worksheet",
    "workbook has",
    "header has",
    "a header cell is",
    "file is",
    "JSON nested",
    "input nested too deeply",
    "text encoding problem",
    "not a readable XLSX",
    "ZIP archive without",
    "workbook unpacks",
    "XML entity",
    "XML external",
    "XML DTD",
)
# FUZZ_EXAMPLES=1000 for a longer run
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def check(fmt: str, data: bytes) -> list[Observation | InputError]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        assert sources.sniff(InputFile(path, read_head(path))) in (*sources.FORMATS, None)
        items = list(sources.parse(fmt, path))
        for item in items:
            assert isinstance(item, (Observation, InputError))
            assert item.location.file == str(path)
            if isinstance(item, InputError):
                loc = item.location
                placed = any(v is not None for v in (loc.line, loc.row, loc.field, loc.entry, loc.offset))
                assert placed or item.message.startswith(FILE_LEVEL), item
            elif item.mac is not None:
                assert item.mac == normalise_mac(item.mac)
        return items


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """The seed file cut, spliced with random bytes or lines, or lines shuffled/duplicated/dropped."""
    kind = draw(st.sampled_from(["cut", "splice", "lines", "random", "text"]))
    if kind == "cut":
        return seed[: draw(st.integers(0, len(seed)))]
    if kind == "splice":
        at = draw(st.integers(0, len(seed)))
        return seed[:at] + draw(st.binary(max_size=64)) + seed[at + draw(st.integers(0, 64)) :]
    if kind == "lines":
        lines = seed.split(b"\n")
        picked = draw(st.lists(st.sampled_from(lines), max_size=30))
        noise = draw(st.lists(st.text(max_size=80).map(lambda t: t.encode("utf-8", "surrogatepass")), max_size=3))
        return b"\n".join(picked + noise)
    if kind == "random":
        return draw(st.binary(max_size=512))
    return draw(st.text(max_size=400)).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("fmt", sorted(SEED_FILES))
@FUZZ
@given(data=st.data())
def test_parsers_never_raise(fmt: str, data: st.DataObject) -> None:
    seed = (FIX / SEED_FILES[fmt]).read_bytes()
    check(fmt, data.draw(mutated(seed)))


@FUZZ
@given(
    rows=st.lists(
        st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20), min_size=3, max_size=3),
        max_size=5,
    ),
    where=st.one_of(st.none(), st.floats(0, 1)),
    junk=st.binary(max_size=32),
)
def test_xlsx_parser_never_raises(rows: list[list[str]], where: float | None, junk: bytes) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Manufacturer", "Model", "MAC"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    seed = buffer.getvalue()
    if where is not None:  # damage the archive somewhere
        at = int(where * len(seed))
        seed = seed[:at] + junk + seed[at + 32 :]
    check("inventory-xlsx", seed)


MAC_BYTES = st.lists(st.integers(0, 255), min_size=6, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    octets=MAC_BYTES,
    sep=st.sampled_from([":", "-", ".", ""]),
    upper=st.booleans(),
    junk=st.text(alphabet="0123456789abcdefABCDEF:-. gxz_+\u0663", max_size=20),
)
def test_fast_mac_agrees_with_normalise_mac(octets: list[int], sep: str, upper: bool, junk: str) -> None:
    text = sep.join(f"{o:02x}" for o in octets)
    text = text.upper() if upper else text
    expected = ":".join(f"{o:02X}" for o in octets)
    assert fast_mac(text) == normalise_mac(text) == (expected if sep != "." else normalise_mac(text))
    assert fast_mac(junk) == normalise_mac(junk)
    mangled = text[:5] + junk[:1] + text[6:] if junk else text
    assert fast_mac(mangled) == normalise_mac(mangled)


CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(CELL, CELL, MAC_BYTES), min_size=1, max_size=20),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le"]),
)
def test_csv_inventory_round_trip(rows: list[tuple[str, str, list[int]]], delimiter: str, encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["Manufacturer", "Model", "MAC Address"])
    expected = []
    for maker, model, octets in rows:
        mac = "-".join(f"{o:02x}" for o in octets)
        writer.writerow([maker, model, mac])
        facts = {k: v.strip() for k, v in (("manufacturer", maker), ("model", model)) if v.strip()}
        expected.append((facts, mac.upper().replace("-", ":")))
    items = check("inventory-csv", buffer.getvalue().encode(encoding))
    assert [(o.facts, o.mac) for o in items if isinstance(o, Observation)] == expected
    assert [o.location.row for o in items] == list(range(2, len(rows) + 2))  # header = row 1


IPV4 = st.tuples(*[st.integers(1, 254)] * 4).map(lambda t: ".".join(map(str, t)))
UNICAST = MAC_BYTES.map(lambda o: [o[0] & 0xFE, *o[1:]])  # multicast MACs name no device and are skipped
NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


def colon(octets: list[int]) -> str:
    return ":".join(f"{o:02x}" for o in octets)


def dotted(octets: list[int]) -> str:
    h = "".join(f"{o:02x}" for o in octets)
    return f"{h[0:4]}.{h[4:8]}.{h[8:12]}"


# format -> (one record's text from (mac octets, ip, name), the preamble)
WRITERS = {
    "neigh-linux": (lambda m, ip, n: f"{ip} dev eth0 lladdr {colon(m)} REACHABLE", ""),
    "arp-windows": (
        lambda m, ip, n: f"  {ip:<21} {colon(m).replace(':', '-'):<21} dynamic",
        "\nInterface: 10.0.0.2 --- 0x4\n  Internet Address      Physical Address      Type\n",
    ),
    "cisco-arp": (
        lambda m, ip, n: f"Internet  {ip:<16} 5   {dotted(m)}  ARPA   Vlan10",
        "Protocol  Address          Age (min)  Hardware Addr   Type   Interface\n",
    ),
    "cisco-mac-table": (
        lambda m, ip, n: f"  10    {dotted(m)}    DYNAMIC     Gi1/0/5",
        "Vlan    Mac Address       Type        Ports\n----    -----------       --------    -----\n",
    ),
    "dnsmasq": (lambda m, ip, n: f"1763903521 {colon(m)} {ip} {n} 01:{colon(m)}", ""),
}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@settings(max_examples=30, deadline=None)
@given(records=st.lists(st.tuples(UNICAST, IPV4, NAME), min_size=1, max_size=15))
def test_neighbour_and_lease_round_trip(fmt: str, records: list[tuple[list[int], str, str]]) -> None:
    write, preamble = WRITERS[fmt]
    text = preamble + "\n".join(write(m, ip, n) for m, ip, n in records) + "\n"
    items = check(fmt, text.encode())
    assert all(isinstance(i, Observation) for i in items), items
    assert [o.mac for o in items] == [colon(m).upper() for m, _, _ in records]
    if fmt != "cisco-mac-table":
        assert [o.ip for o in items] == [ip for _, ip, _ in records]
    lines = [o.location.line for o in items]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)


PROP_VALUE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="[]"), max_size=30)


@settings(max_examples=40, deadline=None)
@given(
    props=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_.]{0,30}", fullmatch=True), PROP_VALUE, min_size=2, max_size=20)
)
def test_getprop_round_trip(props: dict[str, str]) -> None:
    text = "".join(f"[{k}]: [{v}]\n" for k, v in props.items())
    [phone] = check("getprop", text.encode())
    assert {k[5:]: v for k, v in phone.facts.items() if k.startswith("prop.")} == {
        k: v.strip() for k, v in props.items() if v.strip()
    }


@settings(max_examples=40, deadline=None)
@given(
    descr=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\'), max_size=60),
    oid=st.lists(st.integers(0, 99999), min_size=1, max_size=6),
    numeric=st.booleans(),
)
def test_snmpwalk_round_trip(descr: str, oid: list[int], numeric: bool) -> None:
    prefix = ".1.3.6.1.2.1.1" if numeric else "iso.3.6.1.2.1.1"
    enterprise = "1.3.6.1.4.1." + ".".join(map(str, oid))
    value = "." + enterprise if numeric else "iso." + enterprise[2:]
    text = f'{prefix}.1.0 = STRING: "{descr}"\n{prefix}.2.0 = OID: {value}\n'
    [agent] = check("snmpwalk", text.encode())
    assert agent.facts["snmp.sysobjectid"] == enterprise
    assert agent.facts.get("snmp.sysdescr") == (descr.strip() or None)
