"""Modern OTA inputs: A/B payload.bin (full OTA rebuilt; incremental reported) and block-based OTAs (transfer list +
new.dat.br), built here with the real tools (mke2fs -d, mkfs.erofs, xz, bzip2, zstd, brotli, img2simg) and checked
against independent references (e2fsck -fn, fsck.erofs, byte-for-byte comparison with the source image)."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.findings import InputError
from bansweep.firmware.containers import blockota, detect
from bansweep.firmware.containers import payload as payload_mod
from bansweep.firmware.limits import FormatError, Limits
from bansweep.inputs import read_head
from ota_build import block_ota, need, payload_bin
from test_firmware_containers import build_tree, img2simg, items_of, mke2fs, mkerofs

KINDS = ("REPLACE", "REPLACE_BZ", "REPLACE_XZ", "REPLACE_ZSTD")


def fsck_ext4(image: Path) -> None:
    need("e2fsck")
    done = subprocess.run(["e2fsck", "-fn", str(image)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture()
def system_img(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    root = tmp_path / "tree"
    files = build_tree(root)
    img = mke2fs(root / "system", tmp_path / "system.img", "-t", "ext4", size="16M")
    return img, {k: v for k, v in files.items() if k.startswith("system/")}


def rebuilt(payload: Path, name: str, out: Path) -> Path:
    with payload.open("rb") as fh:
        p = payload_mod.read_header(fh, payload.stat().st_size)
        part = next(x for x in p.manifest.partitions if x.partition_name == name)
        with out.open("w+b") as dst:
            assert payload_mod.extract(fh, p, part, dst, lambda n: None) is True
    return out


def test_payload_full_ota_round_trip(system_img: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    need("xz", "bzip2", "zstd")
    img, files = system_img
    vendor_src = tmp_path / "vendor_src"
    (vendor_src / "bin").mkdir(parents=True)
    (vendor_src / "bin" / "fotad").write_bytes(b"vendor daemon " * 1000)
    (vendor_src / "build.prop").write_bytes(b"ro.vendor.build.fingerprint=v/v:14/X/1:user/release-keys\n")
    vendor = mkerofs(vendor_src, tmp_path / "vendor.img")
    vbmeta = b"AVB0" + bytes(252)
    payload = payload_bin(
        {"system": img, "vendor": vendor, "vbmeta": vbmeta}, tmp_path / "payload.bin", KINDS, chunk=256 * 1024
    )
    assert detect(payload, read_head(payload)) == "payload"
    # every operation type was used, and ZERO for the empty parts of the image
    with payload.open("rb") as fh:
        manifest = payload_mod.read_header(fh, payload.stat().st_size).manifest
    used = {op.type for p in manifest.partitions for op in p.operations}
    assert used == {0, 1, 8, 14, 6}
    # the rebuilt images are the source images, byte for byte, and pass the file system checkers
    out = rebuilt(payload, "system", tmp_path / "rebuilt.img")
    assert out.read_bytes() == img.read_bytes()
    fsck_ext4(out)
    out_vendor = rebuilt(payload, "vendor", tmp_path / "rebuilt_vendor.img")
    assert out_vendor.read_bytes() == vendor.read_bytes()
    assert subprocess.run(["fsck.erofs", str(out_vendor)], capture_output=True).returncode == 0
    items, errors = items_of(payload)
    assert errors == []
    for rel, data in files.items():
        assert items[rel].read() == data
    agent = items["system/bin/sync_agent"]
    assert agent.mode is not None and agent.mode & stat.S_ISUID and (agent.uid, agent.gid) == (0, 2000)
    assert items["vendor/bin/fotad"].read() == b"vendor daemon " * 1000
    assert items["vbmeta.img"].read() == vbmeta
    assert items["system/build.prop"].location.entry == "system.img!/build.prop"


def test_payload_inside_an_ota_zip(system_img: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    need("xz")
    img, files = system_img
    payload = payload_bin({"system": img}, tmp_path / "payload.bin")
    ota = tmp_path / "ota.zip"
    with zipfile.ZipFile(ota, "w") as z:  # update_engine streams payload.bin: stored, as in real OTA zips
        z.write(payload, "payload.bin", zipfile.ZIP_STORED)
        z.writestr("payload_properties.txt", "FILE_HASH=x\n")
        z.writestr("META-INF/com/android/metadata", "ota-type=AB\n")
    deflated = tmp_path / "ota-deflated.zip"  # not how OTAs ship it, but read the same way (through a copy)
    with zipfile.ZipFile(deflated, "w") as z:
        z.write(payload, "payload.bin", zipfile.ZIP_DEFLATED)
    for source in (ota, deflated):
        items, errors = items_of(source)
        assert errors == []
        assert items["system/priv-app/Upd/Upd.apk"].read() == files["system/priv-app/Upd/Upd.apk"]
        assert items["system/priv-app/Upd/Upd.apk"].location.entry == "payload.bin!/system.img!/priv-app/Upd/Upd.apk"
    # a stored payload.bin whose zip entry claims more bytes than the zip holds
    data = bytearray(ota.read_bytes())
    central = zipfile.ZipFile(ota).start_dir  # the first central directory entry: payload.bin
    size = len(payload.read_bytes()) + 10**6
    data[central + 20 : central + 28] = size.to_bytes(4, "little") * 2
    lying = tmp_path / "lying.zip"
    lying.write_bytes(bytes(data))
    _, errors = items_of(lying)
    assert f"payload: {size} bytes at 41 run past the end of the file" in [e.message for e in errors]


def test_payload_partition_from_sparse_image(system_img: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    """A partition whose content is an Android sparse image goes through the sparse reader, then ext4."""
    img, files = system_img
    sparse = img2simg(img, tmp_path / "system_sparse.img")
    payload = payload_bin({"system": sparse}, tmp_path / "payload.bin", ("REPLACE",))
    items, errors = items_of(payload)
    assert errors == []
    assert items["system/app/Cam/Cam.apk"].read() == files["system/app/Cam/Cam.apk"]


def test_incremental_partition_reported_others_read(system_img: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    img, files = system_img
    bsdiff = {"type": 10, "data_offset": 0, "data_length": 1, "dst_extents": [(0, 1)]}  # BROTLI_BSDIFF
    copy = {"type": 4, "dst_extents": [(1, 1)]}  # SOURCE_COPY
    payload = payload_bin(
        {"system": img, "vendor": b"\x01" * 8192},
        tmp_path / "payload.bin",
        ("REPLACE",),
        extra_ops={"vendor": [bsdiff, copy]},
    )
    items, errors = items_of(payload)
    assert "system/app/Cam/Cam.apk" in items
    assert len(errors) == 1
    assert errors[0].location.entry == "vendor.img"
    assert "incremental OTA" in errors[0].message and "BROTLI_BSDIFF" in errors[0].message
    assert "SOURCE_COPY" in errors[0].message


def test_out_of_order_operations_and_partition_hash(system_img: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    from bansweep.firmware.containers.update_metadata import DeltaArchiveManifest

    img, files = system_img
    payload = payload_bin({"system": img}, tmp_path / "payload.bin", ("REPLACE_ZSTD",), chunk=1 << 20)
    data = payload.read_bytes()
    size = struct.unpack_from(">Q", data, 12)[0]
    manifest = DeltaArchiveManifest.FromString(data[24 : 24 + size])
    ops = list(manifest.partitions[0].operations)
    del manifest.partitions[0].operations[:]
    manifest.partitions[0].operations.extend(reversed(ops))  # the image is written back to front
    meta = manifest.SerializeToString()
    shuffled = tmp_path / "shuffled.bin"
    shuffled.write_bytes(data[:4] + struct.pack(">QQI", 2, len(meta), 0) + meta + data[24 + size :])
    assert rebuilt(shuffled, "system", tmp_path / "a.img").read_bytes() == img.read_bytes()
    manifest.partitions[0].new_partition_info.hash = bytes(32)
    meta = manifest.SerializeToString()
    shuffled.write_bytes(data[:4] + struct.pack(">QQI", 2, len(meta), 0) + meta + data[24 + size :])
    items, errors = items_of(shuffled)
    assert [e.message for e in errors] == ["payload: partition system: SHA-256 does not match the manifest"]
    assert items["system/app/Cam/Cam.apk"].read() == files["system/app/Cam/Cam.apk"]  # reported, still read
    # verity computed on the device (hash tree extent set): the payload lacks those blocks, the hash is not checked
    manifest.partitions[0].hash_tree_extent.start_block = 1
    manifest.partitions[0].hash_tree_extent.num_blocks = 1
    meta = manifest.SerializeToString()
    shuffled.write_bytes(data[:4] + struct.pack(">QQI", 2, len(meta), 0) + meta + data[24 + size :])
    assert items_of(shuffled)[1] == []


def _op_payload(tmp_path: Path, size: int, op: dict, blob: bytes) -> Path:
    from bansweep.firmware.containers.update_metadata import DeltaArchiveManifest

    m = DeltaArchiveManifest(block_size=4096)
    part = m.partitions.add(partition_name="system")
    part.new_partition_info.size = size
    o = part.operations.add(
        type=op["type"], data_offset=op.get("data_offset", 0), data_length=op.get("data_length", len(blob))
    )
    for start, count in op["dst"]:
        o.dst_extents.add(start_block=start, num_blocks=count)
    if "sha" in op:
        o.data_sha256_hash = op["sha"]
    meta = m.SerializeToString()
    out = tmp_path / "payload.bin"
    out.write_bytes(b"CrAU" + struct.pack(">QQI", 2, len(meta), 0) + meta + blob)
    return out


@pytest.mark.parametrize(
    ("size", "op", "blob", "message"),
    [
        (8192, {"type": 0, "dst": [(2, 1)]}, b"x" * 4096, "outside the 2-block partition"),
        (8192, {"type": 0, "dst": [(0, 1)], "data_length": 9999}, b"x" * 4096, "runs past the end of the payload"),
        (8192, {"type": 0, "dst": [(0, 1)]}, b"x" * 8192, "more data than its destination"),
        (
            8192,
            {"type": 8, "dst": [(0, 2)]},
            __import__("lzma").compress(bytes(10**6)),
            "more data than its destination",
        ),
        (8192, {"type": 14, "dst": [(0, 2)]}, b"not zstd at all" * 10, "corrupt zstd"),
        (8192, {"type": 8, "dst": [(0, 2)]}, b"\xfd7zXZ\x00broken", "corrupt REPLACE_XZ"),
        (8192, {"type": 0, "dst": [(0, 1)], "sha": b"\x00" * 32}, b"y" * 4096, "SHA-256 does not match"),
    ],
)
def test_hostile_payload_operations(tmp_path: Path, size: int, op: dict, blob: bytes, message: str) -> None:
    items, errors = items_of(_op_payload(tmp_path, size, op, blob))
    assert [e for e in errors if message in e.message], errors
    assert all(e.location.entry == "system.img" for e in errors)


def test_payload_header_checks(tmp_path: Path) -> None:
    bad = tmp_path / "payload.bin"
    for data, message in [
        (b"CrAU" + struct.pack(">QQI", 1, 0, 0), "major version 1"),
        (b"CrAU" + struct.pack(">QQI", 2, 2**40, 0), "over the"),
        (b"CrAU" + struct.pack(">QQI", 2, 100, 0) + b"\x0a" * 10, "run past the end"),
        (b"CrAU" + struct.pack(">QQI", 2, 4, 0) + b"\xff\xff\xff\xff", "not a valid DeltaArchiveManifest"),
        (b"CrAU" + struct.pack(">QQI", 2, 4, 0) + bytes.fromhex("6a024200"), "required fields"),
    ]:
        bad.write_bytes(data)
        items, errors = items_of(bad)
        assert items == {} or list(items) == ["payload.bin"]
        assert len(errors) == 1 and message in errors[0].message, (message, errors)
        assert errors[0].location.file == str(bad) and "unexpected" not in errors[0].message


def test_payload_partition_size_and_total_caps(system_img: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    img, _ = system_img
    payload = payload_bin({"system": img}, tmp_path / "payload.bin", ("REPLACE",))
    _, errors = items_of(payload, Limits(max_total_bytes=4 * 2**20))
    assert len(errors) == 1 and "over the 4194304-byte cap" in errors[0].message


@pytest.fixture(scope="module")
def small_payload(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    work = tmp_path_factory.mktemp("small")
    image = (b"\x11" * 4096 + bytes(4096)) * 3
    return payload_bin(
        {"system": image, "odm": b"\x22" * 4096}, work / "p.bin", ("REPLACE", "REPLACE_ZSTD")
    ).read_bytes()


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_payloads_only_give_input_errors(small_payload: bytes, data: st.DataObject, tmp_path: Path) -> None:
    buf = bytearray(small_payload)
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(buf) // 2, len(buf)))
    path = tmp_path / "p.bin"
    path.write_bytes(bytes(buf[:cut]))
    _, errors = items_of(path)
    assert all("unexpected" not in e.message for e in errors), errors


# ---------------------------------------------------------------- block-based OTA


def test_transfer_list_rebuilds_the_image_byte_for_byte(
    system_img: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    img, _ = system_img
    original = img.read_bytes()
    listing, data = block_ota(original, tmp_path)
    parsed = blockota.parse_transfer_list(listing.read_bytes(), 2**20)
    assert {cmd for cmd, _ in parsed.commands} == {"new", "zero", "erase"}
    out = tmp_path / "rebuilt.img"
    with data.open("rb") as src, out.open("wb") as dst:
        blockota.rebuild(parsed, src, ".new.dat.br", dst)
    assert out.read_bytes() == original
    fsck_ext4(out)


def test_block_ota_zip_and_folder(system_img: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    img, files = system_img
    folder = tmp_path / "ota"
    folder.mkdir()
    block_ota(img.read_bytes(), folder)
    (folder / "META-INF/com/google/android").mkdir(parents=True)
    (folder / "META-INF/com/google/android/updater-script").write_text(
        'block_image_update("/dev/block/system", package_extract_file("system.transfer.list"), '
        '"system.new.dat.br", "system.patch.dat");\n'
    )
    ota = tmp_path / "ota.zip"
    with zipfile.ZipFile(ota, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    for source in (ota, folder):
        items, errors = items_of(source)
        assert errors == [], source
        assert items["system/priv-app/Upd/Upd.apk"].read() == files["system/priv-app/Upd/Upd.apk"], source
        agent = items["system/bin/sync_agent"]
        assert agent.mode is not None and agent.mode & stat.S_ISUID
    items, _ = items_of(ota)
    assert items["system/build.prop"].location.entry == "system.transfer.list!/system.img!/build.prop"


@pytest.mark.parametrize(
    ("listing", "data", "message"),
    [
        ("4\n1\n0\n0\nbsdiff 0 1 2,0,1 2,0,1\n", b"", "incremental block OTA"),
        ("4\n1\n0\n0\nnew 2,0,2\n", b"x" * 4096, "data ends after 4096 bytes"),
        ("4\n1\n0\n0\nnew 2,0,1\n", b"x" * 8192, "longer than the 1 blocks"),
        ("4\n1\n0\n0\nnew 3,0,1\n", b"x" * 4096, "declares 3 numbers"),
        ("4\n1\n0\n0\nnew 2,5,1\n", b"x" * 4096, "empty, reversed"),
        ("4\n1\n0\n0\nnew 2,0,99999999999\n", b"", "past"),
        ("9\n", b"", "version 9"),
        ("4\n1\n0\n0\nfrobnicate 2,0,1\n", b"", "unknown transfer list command"),
    ],
)
def test_hostile_transfer_lists(tmp_path: Path, listing: str, data: bytes, message: str) -> None:
    (tmp_path / "system.transfer.list").write_text(listing)
    (tmp_path / "system.new.dat").write_bytes(data)
    items, errors = items_of(tmp_path / "system.transfer.list")
    assert [e for e in errors if message in e.message], errors
    assert all("unexpected" not in e.message for e in errors)


def test_brotli_bomb_stops_at_the_listed_size(tmp_path: Path) -> None:
    need("brotli")
    (tmp_path / "system.transfer.list").write_text("4\n1\n0\n0\nnew 2,0,1\n")
    (tmp_path / "bomb").write_bytes(bytes(200 * 2**20))
    subprocess.run(["brotli", "-q", "9", "-o", str(tmp_path / "system.new.dat.br"), str(tmp_path / "bomb")], check=True)
    os.unlink(tmp_path / "bomb")
    assert (tmp_path / "system.new.dat.br").stat().st_size < 2**20
    items, errors = items_of(tmp_path / "system.transfer.list")
    assert [e for e in errors if "longer than the 1 blocks" in e.message], errors


def test_block_ota_data_without_list_and_list_without_data(tmp_path: Path) -> None:
    ota = tmp_path / "ota.zip"
    with zipfile.ZipFile(ota, "w") as z:
        z.writestr("vendor.new.dat.br", b"x")
        z.writestr("system.transfer.list", "4\n0\n0\n0\n")
    _, errors = items_of(ota)
    messages = sorted(e.message for e in errors)
    assert any("without its .transfer.list" in m for m in messages), messages
    assert any("no system.new.dat(.br)" in m for m in messages), messages
    with pytest.raises(FormatError):
        blockota.parse_transfer_list(b"x\n", 10)
    assert all(isinstance(e, InputError) for e in errors)


# ---------------------------------------------------------------- APEX


def test_apex_in_a_payload_and_apex_without_payload(tmp_path: Path) -> None:
    from bansweep.firmware.containers.apex import ApexManifest

    src = tmp_path / "apex_src"
    (src / "priv-app" / "Mod").mkdir(parents=True)
    (src / "priv-app" / "Mod" / "Mod.apk").write_bytes(b"PK\x05\x06" + bytes(18))
    inner = mke2fs(src, tmp_path / "apex_payload.img", "-t", "ext4", size="1M")
    manifest = ApexManifest(name="com.example.mod", version=340000000).SerializeToString()
    system = tmp_path / "system_src"
    (system / "apex").mkdir(parents=True)
    with zipfile.ZipFile(system / "apex" / "com.example.mod.apex", "w") as z:
        z.writestr("apex_manifest.pb", manifest)
        z.writestr("apex_pubkey", b"key")
        z.write(inner, "apex_payload.img")
    with zipfile.ZipFile(system / "apex" / "com.example.empty.apex", "w") as z:
        z.writestr("apex_manifest.pb", ApexManifest(name="com.example.empty", version=7).SerializeToString())
    image = mke2fs(system, tmp_path / "system.img", "-t", "ext4", size="4M")
    payload = payload_bin({"system": image}, tmp_path / "payload.bin", ("REPLACE",))
    items, errors = items_of(payload)
    apk = items["system/apex/com.example.mod.apex/priv-app/Mod/Mod.apk"]
    assert apk.location.entry == "system.img!/apex/com.example.mod.apex!/apex_payload.img!/priv-app/Mod/Mod.apk"
    assert [e.message for e in errors] == [
        "APEX com.example.empty (version 7) has no apex_payload.img: its code was not read"
    ]
    assert errors[0].location.entry == "system.img!/apex/com.example.empty.apex"


@settings(max_examples=300)
@given(text=st.text(st.sampled_from("0123456789,\n newzroasbdifmv"), max_size=200))
def test_arbitrary_transfer_lists_only_raise_format_error(text: str) -> None:
    try:
        parsed = blockota.parse_transfer_list(text.encode(), 4096)
    except FormatError:
        return
    assert all(cmd in blockota.FULL_COMMANDS for cmd, _ in parsed.commands)
    assert parsed.blocks <= 4096


def test_zero_after_data_writes_zeros(tmp_path: Path) -> None:
    """ZERO (payload) and zero/erase (transfer list) over blocks written before leave zeros, not the old data."""
    from bansweep.firmware.containers.update_metadata import DeltaArchiveManifest

    m = DeltaArchiveManifest(block_size=4096)
    part = m.partitions.add(partition_name="system")
    part.new_partition_info.size = 3 * 4096
    part.new_partition_info.hash = hashlib.sha256(b"x" * 4096 + bytes(4096) + b"x" * 4096).digest()
    op = part.operations.add(type=0, data_offset=0, data_length=3 * 4096)
    op.dst_extents.add(start_block=0, num_blocks=3)
    part.operations.add(type=6).dst_extents.add(start_block=1, num_blocks=1)
    meta = m.SerializeToString()
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"CrAU" + struct.pack(">QQI", 2, len(meta), 0) + meta + b"x" * 3 * 4096)
    image = rebuilt(payload, "system", tmp_path / "p.img").read_bytes()
    assert image == b"x" * 4096 + bytes(4096) + b"x" * 4096
    listing = blockota.parse_transfer_list(b"4\n3\n0\n0\nnew 2,0,3\nzero 2,1,2\nerase 2,2,3\n", 100)
    out = tmp_path / "b.img"
    with out.open("w+b") as dst:
        blockota.rebuild(listing, __import__("io").BytesIO(b"y" * 3 * 4096), ".new.dat", dst)
    assert out.read_bytes() == b"y" * 4096 + bytes(2 * 4096)


def test_many_zero_commands_stay_cheap(tmp_path: Path) -> None:
    """200,000 zero commands over a 1 GiB image: zeroing looks only at blocks written before (no per-block work)."""
    lines = ["4", "1", "0", "0", "new 2,0,1"] + ["zero 2,0,262144"] * 200_000
    (tmp_path / "system.transfer.list").write_text("\n".join(lines) + "\n")
    (tmp_path / "system.new.dat").write_bytes(b"z" * 4096)
    started = time.monotonic()
    items, errors = items_of(tmp_path / "system.transfer.list")
    assert time.monotonic() - started < 20
    assert errors == [] and items["system.img"].size == 2**30
