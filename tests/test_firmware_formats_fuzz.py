"""Property tests: every firmware format parser, on arbitrary bytes and on mutated real files, either returns a
result or raises FormatError — never another exception, never a hang, never unbounded memory.

Seeds are real files in tests/fixtures/firmware/formats/ (see README.md there for how they were built)."""

from __future__ import annotations

import os
import signal
import struct
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.firmware.formats.arsc import parse_arsc
from bansweep.firmware.formats.axml import parse_manifest, parse_xml
from bansweep.firmware.formats.dex import parse_dex
from bansweep.firmware.formats.elf import parse_elf
from bansweep.firmware.formats.initrc import parse_initrc
from bansweep.firmware.formats.oat import carve
from bansweep.firmware.formats.props import parse_props
from bansweep.firmware.formats.signing import signing_info
from bansweep.firmware.formats.zipfile import open_zip
from bansweep.firmware.limits import FormatError, Limits
from firmware_build import utf8_manifest

FIXTURES = Path(__file__).parent / "fixtures" / "firmware" / "formats"
SMALL = Limits(max_entry_bytes=2**20, max_total_bytes=4 * 2**20)
SECONDS = 5
MAX_PEAK = 64 * 2**20
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def _apk() -> bytes:
    return (FIXTURES / "spy.apk").read_bytes()


def _entry(name: str) -> bytes:
    z = open_zip(_apk())
    return z.read(z.find(name))  # type: ignore[arg-type]


SEEDS = {
    "apk": _apk(),
    "manifest": _entry("AndroidManifest.xml"),
    "dex": _entry("classes.dex"),
    "elf": (FIXTURES / "native.elf").read_bytes(),
}
SEEDS["arsc"] = _entry("resources.arsc")
SEEDS["manifest-utf8"] = utf8_manifest(SEEDS["manifest"])
SEEDS["vdex"] = b"vdex027\x00" + bytes(24) + SEEDS["dex"] + b"cdex001\x00" + bytes(120)
SEEDS["nsc"] = next(
    open_zip(SEEDS["apk"]).read(e) for e in open_zip(SEEDS["apk"]).entries if e.name.startswith("res/xml/")
)


def zip_all(data: bytes) -> None:
    z = open_zip(data)
    for e in z.entries:
        with suppress(FormatError):
            z.read(e, SMALL)
    signing_info(z, data)


PARSERS: dict[str, Callable[[bytes], Any]] = {
    "apk": zip_all,
    "manifest": parse_manifest,
    "arsc": lambda b: parse_arsc(b).resolve("@0x7f020000"),
    "manifest-utf8": parse_manifest,
    "nsc": parse_xml,
    "dex": lambda b: list(parse_dex(b).strings),
    "vdex": carve,
    "elf": parse_elf,
}


@contextmanager
def bounded() -> Iterator[None]:
    """Fail (instead of hanging) past SECONDS; fail if the parse allocated more than MAX_PEAK."""

    def alarm(_sig: int, _frame: object) -> None:
        raise TimeoutError(f"parser ran longer than {SECONDS} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, SECONDS)
    tracemalloc.start()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert peak < MAX_PEAK, f"parser allocated {peak} bytes"


def run(kind: str, data: bytes) -> None:
    with bounded():
        try:
            PARSERS[kind](data)
        except FormatError as e:
            assert str(e)


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    data = bytearray(SEEDS[kind])
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["byte", "word", "cut", "insert", "delete"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "byte" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "word" and len(data) >= 4:
            pos -= pos % 4
            value = draw(st.sampled_from([*INTERESTING, len(data), len(data) + 1]))
            struct.pack_into("<I", data, min(pos, len(data) - 4), value & 0xFFFFFFFF)
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
    return bytes(data)


FUZZ = settings(
    max_examples=int(os.environ.get("BANSWEEP_FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_seeds_parse(kind: str) -> None:
    """The seeds are real, valid files: each parses with no FormatError."""
    with bounded():
        PARSERS[kind](SEEDS[kind])


@pytest.mark.parametrize("kind", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes(kind: str, data: bytes) -> None:
    run(kind, data)


@pytest.mark.parametrize("kind", sorted(PARSERS))
@FUZZ
@given(data=st.data())
def test_mutated_real_files(kind: str, data: st.DataObject) -> None:
    run(kind, data.draw(mutated(kind)))


@FUZZ
@given(text=st.text(max_size=2000))
def test_text_formats_never_raise(text: str) -> None:
    with bounded():
        props = parse_props(text)
        rc = parse_initrc(text)
    assert all(p.key and "=" not in p.key for p in props)
    assert all(s.name and s.path for s in rc.services)


@FUZZ
@given(
    lines=st.lists(
        st.sampled_from(
            [
                "service s /bin/x a",
                "  user root",
                "  socket x stream 0660",
                "on boot",
                "  start s",
                "import /a.rc",
                '  "quoted \\',
                "# c",
                "\\",
                "",
            ]
        ),
        max_size=40,
    )
)
def test_initrc_grammar_fragments(lines: list[str]) -> None:
    rc = parse_initrc("\n".join(lines))
    assert all(line >= 1 for _, line in rc.imports)
    assert all(s.line >= 1 for s in rc.services)


@FUZZ
@given(data=st.data())
def test_dex_bulk_strings_equal_one_by_one(data: st.DataObject) -> None:
    """The fast all-strings path must read exactly what reading each string at its offset reads."""
    raw = data.draw(mutated("dex"))
    try:
        one_by_one = parse_dex(raw).strings
        bulk = parse_dex(raw).strings
    except FormatError:
        return
    try:
        expected = [one_by_one[i] for i in range(len(one_by_one))]
    except FormatError:
        with pytest.raises(FormatError):
            list(bulk)
        return
    assert list(bulk) == expected
