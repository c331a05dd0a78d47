"""Small inputs that expand into a lot of work: sparse FILL bombs, 42.zip-style nests, floods of identical errors."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from bansweep.findings import InputError
from bansweep.firmware.containers import FOLD_AFTER, Item, open_input, sparse
from bansweep.firmware.limits import Limits


def results(path: Path, limits: Limits | None = None) -> tuple[list[Item], list[InputError]]:
    items: list[Item] = []
    errors: list[InputError] = []
    for r in open_input(path, limits or Limits()):
        (errors if isinstance(r, InputError) else items).append(r)  # type: ignore[arg-type]
    return items, errors


def disk_usage(folder: Path) -> int:
    return sum(f.stat().st_blocks * 512 for f in folder.rglob("*") if f.is_file())


def fill_bomb(blocks: int, pattern: bytes = b"\xde\xad\xbe\xef") -> bytes:
    header = sparse.HEADER.pack(sparse.MAGIC, 1, 0, 28, 12, 4096, blocks, 1, 0)
    return header + sparse.CHUNK_HEADER.pack(sparse.FILL, 0, blocks, 16) + pattern


def test_44_byte_fill_bomb_is_refused_quickly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # bansweep's private temp dir goes here
    bomb = tmp_path / "system.img"
    bomb.write_bytes(fill_bomb(2_000_000))  # 7.6 GiB of 0xdeadbeef, under the 8 GiB size cap
    assert bomb.stat().st_size == 44
    started = time.monotonic()
    stream = open_input(bomb)
    first = next(stream)  # the temp dir still exists while the input is being read
    used = disk_usage(scratch)
    rest = list(stream)
    assert time.monotonic() - started < 5
    assert used < 64 * 2**20
    assert isinstance(first, InputError) and rest == []
    assert "sparse bomb" in first.message and first.location.offset == 28


def test_zero_fill_and_dont_care_cost_no_disk(tmp_path: Path) -> None:
    """A 44-byte image of zero FILL becomes a hole: no bytes written, so no ratio cap is needed for it."""
    image = tmp_path / "vendor.img"
    image.write_bytes(fill_bomb(262_144, b"\0\0\0\0"))  # 1 GiB of zeros
    items, errors = results(image)
    assert items == [] and [e.message for e in errors] == ["sparse image holds no ext4 or EROFS file system"]


def nest(levels: int, copies: int) -> bytes:
    """42.zip in miniature: each level holds `copies` identical zips of the level below."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("0.dat", b"\0" * 4 * 2**20)  # ratio ~1000:1, refused, never inflated
    data = buf.getvalue()
    for level in range(levels):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(copies):
                z.writestr(f"lib {level}-{i:x}.zip", data)
        data = buf.getvalue()
    return data


def test_42_zip_style_nest_is_opened_once_per_level(tmp_path: Path) -> None:
    bomb = tmp_path / "42.zip"
    bomb.write_bytes(nest(4, 16))  # 16^4 = 65,536 innermost zips without de-duplication
    started = time.monotonic()
    items, errors = results(bomb)
    assert time.monotonic() - started < 10
    assert len(errors) <= 2 * FOLD_AFTER
    assert any("ratio" in e.message for e in errors)
    # each duplicate is still listed as a file of its folder; only the first is opened
    assert len(items) == 4 * 15  # 15 duplicates at each level


def test_a_nest_deeper_than_the_cap_is_reported(tmp_path: Path) -> None:
    bomb = tmp_path / "deep.zip"
    bomb.write_bytes(nest(6, 2))
    items, errors = results(bomb)
    assert any("nested deeper than 4 levels" in e.message for e in errors)


def test_identical_errors_are_folded_with_a_count(tmp_path: Path) -> None:
    ota = tmp_path / "ota.zip"
    with zipfile.ZipFile(ota, "w") as z:
        for i in range(500):
            z.writestr(f"../escape/{i}.bin", b"x")
        z.writestr("system/build.prop", b"a=b\n")
    items, errors = results(ota)
    assert [i.path for i in items] == ["system/build.prop"]
    assert len(errors) == FOLD_AFTER + 1
    assert errors[0].location.entry == "../escape/0.bin"
    assert errors[-1].location.file == str(ota) and errors[-1].location.entry is None
    assert errors[-1].message.startswith(f"{500 - FOLD_AFTER} more error(s) like the one at ")
    assert "unsafe entry name" in errors[-1].message


def test_folding_is_per_input(tmp_path: Path) -> None:
    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w") as z:
        for i in range(FOLD_AFTER):
            z.writestr(f"/abs/{i}", b"x")
    two = tmp_path / "two.zip"
    shutil.copy(one, two)
    assert len(results(one)[1]) == FOLD_AFTER and len(results(two)[1]) == FOLD_AFTER


def distinct_nest(count: int, size: int) -> bytes:
    """`count` different stored zips of `size` random bytes each, inside one zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(count):
            inner = io.BytesIO()
            with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as zi:
                zi.writestr(f"part{i}.bin", os.urandom(size))
            z.writestr(f"part{i}.zip", inner.getvalue())
    return buf.getvalue()


def test_disk_budget_is_per_top_level_input_across_nesting(tmp_path: Path) -> None:
    bomb = tmp_path / "many.zip"
    bomb.write_bytes(distinct_nest(20, 256 * 1024))  # 5 MiB of distinct nested content
    limits = Limits(max_total_bytes=2 * 2**20)
    items, errors = results(bomb, limits)
    assert any("size cap" in e.message for e in errors)
    assert len(items) < 10  # stopped well before the end
    # the next input starts with a fresh budget
    small = tmp_path / "small.zip"
    small.write_bytes(distinct_nest(2, 1024))
    assert results(small, limits)[1] == []


def test_time_budget_is_per_top_level_input(tmp_path: Path) -> None:
    bomb = tmp_path / "many.zip"
    bomb.write_bytes(distinct_nest(50, 1024))
    items, errors = results(bomb, Limits(max_seconds=0.0))
    assert errors and all("time cap" in e.message for e in errors)
