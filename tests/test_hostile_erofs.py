"""Crafted EROFS images must not make bansweep (or the fsck.erofs it calls) write outside its private temp dir.

Each image is built by mkfs.erofs from a folder with placeholder names, then the names are patched in place
(traversal, absolute, a symlink and a folder sharing one name, a directory loop). Directory blocks are not
compressed and the superblock checksum feature is cleared, so fsck.erofs reads the patched names as they are.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from bansweep.findings import InputError
from bansweep.firmware.containers import Item, erofs, jail, open_input

SB_CHKSUM = 0x1
PLACE = "P" * 200


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (scripts/test-setup installs it)")


def crafted(src: Path, img: Path, renames: dict[str, str]) -> Path:
    """mkfs.erofs of src, then each placeholder name replaced by a name of the same length."""
    need("mkfs.erofs", "fsck.erofs", "dump.erofs")
    subprocess.run(["mkfs.erofs", "-zlz4hc", str(img), str(src)], check=True, capture_output=True)
    data = bytearray(img.read_bytes())
    (features,) = struct.unpack_from("<I", data, 1024 + 8)
    struct.pack_into("<I", data, 1024 + 8, features & ~SB_CHKSUM)
    for old, new in renames.items():
        raw_old, raw_new = old.encode(), new.encode()
        assert len(raw_old) == len(raw_new) and data.count(raw_old) >= 1, (old, new)
        data = bytearray(data.replace(raw_old, raw_new))
    img.write_bytes(bytes(data))
    return img


def padded(name: str, length: int) -> str:
    assert len(name) <= length
    return name + "x" * (length - len(name))


def results(path: Path) -> tuple[list[Item], list[InputError]]:
    items: list[Item] = []
    errors: list[InputError] = []
    for r in open_input(path):
        (errors if isinstance(r, InputError) else items).append(r)  # type: ignore[arg-type]
    return items, errors


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    """A folder outside every temp dir bansweep makes; nothing may appear in it."""
    (tmp_path / "outside").mkdir()
    return tmp_path / "outside"


def traversal_image(tmp_path: Path, outside: Path) -> tuple[Path, str]:
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    long = "L" * 200
    (src / "app" / long).write_bytes(b"planted by the image")
    (src / "app" / "Ok.txt").write_bytes(b"fine")
    name = padded("../" * 12 + str(outside).lstrip("/") + "/evil", 200)
    return crafted(src, tmp_path / "system.img", {long: name}), name


def test_traversal_name_is_refused_and_nothing_is_written(tmp_path: Path, outside: Path) -> None:
    img, name = traversal_image(tmp_path, outside)
    items, errors = results(img)
    assert list(outside.iterdir()) == []
    assert items == []
    assert len(errors) == 1
    assert errors[0].location.file == str(img) and errors[0].location.entry == "app/" + name
    assert "path traversal" in errors[0].message and "not extracted" in errors[0].message


def test_absolute_name_is_refused(tmp_path: Path, outside: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / PLACE).write_bytes(b"x")
    absolute = padded(str(outside) + "/abs", len(PLACE))
    img = crafted(src, tmp_path / "vendor.img", {PLACE: absolute})
    items, errors = results(img)
    assert items == [] and list(outside.iterdir()) == []
    assert [e.location.entry for e in errors] == [absolute] and "'/'" in errors[0].message


def test_symlink_and_folder_of_one_name_are_refused(tmp_path: Path, outside: Path) -> None:
    """A link to a folder outside, then a folder of the same name: an extractor would write through the link."""
    src = tmp_path / "src"
    (src / "linkB").mkdir(parents=True)
    (src / "linkB" / "payload").write_bytes(b"through the link")
    (src / "linkA").symlink_to(outside)
    img = crafted(src, tmp_path / "odm.img", {"linkB": "linkA"})
    items, errors = results(img)
    assert items == [] and list(outside.iterdir()) == []
    assert len(errors) == 1 and errors[0].location.entry == "linkA" and "twice" in errors[0].message


def test_directory_loop_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    (src / "a" / "b" / "f").write_bytes(b"x")
    img = crafted(src, tmp_path / "e.img", {})
    data = bytearray(img.read_bytes())
    with img.open("rb") as fh:
        meta = erofs.ErofsMeta(fh, len(data))
        a_nid = dict(meta.listdir(meta.root_nid))["a"]
        b_nid = dict(meta.listdir(a_nid))["b"]
    # point a/b's dirent at a itself: a/b/b/b/... for ever
    needle = struct.pack("<Q", b_nid)
    at = [i for i in range(len(data) - 8) if data[i : i + 8] == needle]
    assert at
    for i in at:
        data[i : i + 8] = struct.pack("<Q", a_nid)
    img.write_bytes(bytes(data))
    items, errors = results(img)
    assert items == [] and errors and ("twice" in errors[0].message or "loop" in errors[0].message)


def test_crafted_image_inside_an_ota_zip(tmp_path: Path, outside: Path) -> None:
    img, name = traversal_image(tmp_path, outside)
    ota = tmp_path / "ota.zip"
    with zipfile.ZipFile(ota, "w") as z:
        z.writestr("META-INF/com/google/android/update-binary", b"#!/sbin/sh\n")
        z.write(img, "system.img")
        z.writestr("vendor/app/Good.apk", b"PK\x05\x06" + bytes(18))
    items, errors = results(ota)
    assert list(outside.iterdir()) == []
    assert "vendor/app/Good.apk" in [i.path for i in items]  # the rest of the zip is still read
    assert any(e.location.entry == f"system.img!/app/{name}" and "traversal" in e.message for e in errors)


def test_good_image_still_extracts(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "app" / "Cam").mkdir(parents=True)
    (src / "app" / "Cam" / "Cam.apk").write_bytes(b"apk bytes")
    (src / "bin").mkdir()
    (src / "bin" / "sh").symlink_to("mksh")
    items, errors = results(crafted(src, tmp_path / "system.img", {}))
    assert errors == []
    assert {i.path: i.read() if i.link is None else i.link for i in items} == {
        "system/app/Cam/Cam.apk": b"apk bytes",
        "system/bin/sh": "mksh",
    }


def test_the_jail_alone_keeps_fsck_inside(tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With our own listing switched off, the jail still stops the traversal write."""
    if not jail.jail_works():
        pytest.skip("user namespaces are not allowed here; the listing check alone guards extraction")
    img, _ = traversal_image(tmp_path, outside)
    monkeypatch.setattr(erofs.ErofsMeta, "owners", lambda self: {})
    items, errors = results(img)
    assert list(outside.iterdir()) == []
    assert items == [] and len(errors) == 1 and "erofs" in errors[0].message


def test_paths_the_listing_does_not_hold_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever fsck.erofs creates is checked against our listing; a stray path discards the extraction."""
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / "A.apk").write_bytes(b"a")
    img = crafted(src, tmp_path / "system.img", {})
    run = erofs._run

    def planting(args: list[str], ctx: object, jail: Path | None = None) -> str:
        out = run(args, ctx, jail)  # type: ignore[arg-type]
        if jail is not None:
            (jail / "app" / "planted.so").write_bytes(b"x")
        return out

    monkeypatch.setattr(erofs, "_run", planting)
    items, errors = results(img)
    assert items == []
    assert errors[0].location.entry == "app/planted.so" and "does not list" in errors[0].message
    assert "image not read" in errors[-1].message


def test_jail_blocks_writes_outside(tmp_path: Path, outside: Path) -> None:
    if not jail.jail_works():
        pytest.skip("user namespaces are not allowed here")
    inside = tmp_path / "inside"
    inside.mkdir()
    argv = jail.confined(
        ["sh", "-c", f"touch {inside}/ok; touch {outside}/bad; touch /dev/shm/bansweep-jail-test"], inside
    )
    assert argv is not None
    done = subprocess.run(argv, capture_output=True, text=True)
    assert (inside / "ok").exists()
    assert list(outside.iterdir()) == [] and not os.path.exists("/dev/shm/bansweep-jail-test")
    assert "Read-only file system" in done.stderr
