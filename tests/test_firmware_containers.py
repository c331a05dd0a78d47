"""Firmware containers: trees, OTA/factory zips, tar, sparse/ext4/EROFS images built here with Debian's own tools
(mke2fs -d, mkfs.erofs, img2simg), adb through a fake `adb` executable, and the isolated workers."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import os
import shutil
import stat
import struct
import subprocess
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansweep.findings import InputError, Location
from bansweep.firmware.containers import Item, detect, open_input, sniff, sniff_dir, superimage, updater_script
from bansweep.firmware.containers import erofs as erofs_mod
from bansweep.firmware.containers import ext4 as ext4_mod
from bansweep.firmware.containers import sparse as sparse_mod
from bansweep.firmware.containers.adb import parse_ls, parse_mode
from bansweep.firmware.limits import FormatError, Limits
from bansweep.firmware.workers import WorkerError, map_isolated, run_isolated
from bansweep.inputs import InputFile, read_head

FDROID = Path(__file__).parent / "data" / "cache" / "fdroidserver"
SUID_BODY = b"\x7fELF-like sync agent body " * 40  # content only compared, never run


name_strategy = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40
)
file_strategy = st.tuples(st.binary(max_size=3000), st.sampled_from([0o644, 0o755, 0o4755, 0o2750, 0o600]))


def write_drawn(src: Path, files: dict[tuple[str, str], tuple[bytes, int]]) -> Iterator[tuple[str, Path, bytes, int]]:
    """Write the drawn (folder, name) -> (data, mode) files under src, leaving out invalid names and files where
    the tree needs a folder; yields (relative name, path, data, mode) for the caller to set owner and mode."""
    for (folder, name), (data, mode) in files.items():
        if (
            name in (".", "..")
            or len(name.encode()) > 255
            or f"{folder}{name}/" in ("bin/", "priv-app/", "priv-app/X/")
        ):
            continue
        path = src / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        yield f"{folder}{name}", path, data, mode


def need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (scripts/test-setup installs it)")


def apk_bytes(package: str) -> bytes:
    """A small APK-shaped zip (containers only look at names and bytes, the APK parsers are tested elsewhere)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:  # fixed dates: the same package, the same bytes
        z.writestr(
            zipfile.ZipInfo("AndroidManifest.xml", (2024, 1, 1, 0, 0, 0)), b"\x03\x00\x08\x00" + package.encode() * 8
        )
        z.writestr(zipfile.ZipInfo("classes.dex", (2024, 1, 1, 0, 0, 0)), b"dex\n035\x00" + package.encode() * 100)
    return buf.getvalue()


def build_tree(root: Path) -> dict[str, bytes]:
    """An extracted firmware tree with a setuid root binary, a symlink and priv-app/app/vendor files."""
    files = {
        "system/build.prop": b"ro.build.fingerprint=test/test:14/X/1:user/release-keys\nro.fota.oem=acme\n",
        "system/priv-app/Upd/Upd.apk": apk_bytes("com.example.upd"),
        "system/app/Cam/Cam.apk": apk_bytes("com.example.cam"),
        "system/bin/sync_agent": SUID_BODY,
        "system/bin/mksh": b"shell binary",
        "system/etc/init/upd.rc": b"service upd /system/bin/sync_agent\n    user root\n",
        "vendor/bin/fotabinder": b"vendor daemon" * 500,  # several blocks: exercises extents / block maps
        "system/big.bin": bytes(range(256)) * 400,  # 100 KiB: more than 12 blocks of 1 KiB (indirect blocks)
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    agent = root / "system/bin/sync_agent"
    os.chown(agent, 0, 2000)  # chown before chmod: chown clears setuid bits
    os.chmod(agent, 0o4755)
    (root / "system/bin/sh").symlink_to("mksh")
    return files


def items_of(path: Path | str, limits: Limits | None = None) -> tuple[dict[str, Item], list[InputError]]:
    items: dict[str, Item] = {}
    errors: list[InputError] = []
    for result in open_input(path, limits or Limits()):
        if isinstance(result, InputError):
            errors.append(result)
        else:
            assert result.path not in items, f"duplicate {result.path}"
            items[result.path] = result
    return items, errors


def check_tree_items(items: dict[str, Item], files: dict[str, bytes], owners: bool = True) -> None:
    for rel, data in files.items():
        assert rel in items, f"{rel} missing from {sorted(items)}"
        item = items[rel]
        assert item.size == len(data)
        assert item.read() == data
    agent = items["system/bin/sync_agent"]
    assert agent.mode is not None and agent.mode & stat.S_ISUID and stat.S_ISREG(agent.mode)
    assert stat.S_IMODE(agent.mode) == 0o4755
    if owners:
        assert (agent.uid, agent.gid) == (0, 2000)
    sh = items["system/bin/sh"]
    assert sh.link == "mksh" and sh.mode is not None and stat.S_ISLNK(sh.mode)
    with pytest.raises(FormatError):
        sh.read()


@pytest.fixture()
def tree(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    root = tmp_path / "tree"
    return root, build_tree(root)


def mke2fs(src: Path, img: Path, *options: str, size: str = "8M") -> Path:
    need("mke2fs")
    subprocess.run(["mke2fs", "-q", "-F", *options, "-d", str(src), str(img), size], check=True, capture_output=True)
    return img


def mkerofs(src: Path, img: Path) -> Path:
    need("mkfs.erofs", "fsck.erofs", "dump.erofs")
    subprocess.run(["mkfs.erofs", "-zlz4hc", str(img), str(src)], check=True, capture_output=True)
    return img


def img2simg(raw: Path, out: Path) -> Path:
    need("img2simg")
    subprocess.run(["img2simg", str(raw), str(out)], check=True, capture_output=True)
    return out


def write_zip(out: Path, entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(out, "w", method) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=method)
    return out


# --- folders and trees ---------------------------------------------------------------------------------------


def test_firmware_tree_paths_modes_owners_contents(tree: tuple[Path, dict[str, bytes]]) -> None:
    root, files = tree
    assert sniff_dir(root)
    items, errors = items_of(root)
    assert errors == []
    check_tree_items(items, files)
    upd = items["system/priv-app/Upd/Upd.apk"]
    assert upd.location == Location(str(root / "system/priv-app/Upd/Upd.apk"))


def test_sniff_dir(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "vendor_b.img").write_bytes(b"")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.img").write_bytes(b"")
    assert sniff_dir(tmp_path / "images") and not sniff_dir(tmp_path / "docs")


def test_file_swapped_after_listing_is_an_error_not_a_hang(tree: tuple[Path, dict[str, bytes]]) -> None:
    root, _ = tree
    items, _ = items_of(root)
    cam = root / "system/app/Cam/Cam.apk"
    cam.unlink()
    os.mkfifo(cam)
    with pytest.raises(FormatError, match="no longer a regular file"):
        items["system/app/Cam/Cam.apk"].read()
    cam.unlink()
    cam.symlink_to("/etc/passwd")
    with pytest.raises(FormatError, match="cannot read"):
        items["system/app/Cam/Cam.apk"].read()


def test_partition_folder_gets_its_prefix(tree: tuple[Path, dict[str, bytes]]) -> None:
    root, _ = tree
    items, _ = items_of(root / "system")
    assert "system/priv-app/Upd/Upd.apk" in items and "system/bin/sync_agent" in items


def test_symlink_loop_and_escape_reported_not_followed(tree: tuple[Path, dict[str, bytes]]) -> None:
    root, files = tree
    (root / "system/bin/loop_a").symlink_to("loop_b")
    (root / "system/bin/loop_b").symlink_to("loop_a")
    (root / "system/etc/passwd").symlink_to("../../../../etc/passwd")
    (root / "system/vendor").symlink_to("/vendor")  # absolute, inside the firmware's own namespace: fine
    (root / "system/dirloop").symlink_to(".")
    items, errors = items_of(root)
    by_file = {Path(e.location.file).name: e.message for e in errors}
    assert "loop" in by_file["loop_a"] and "loop" in by_file["loop_b"]
    assert "leaves the tree" in by_file["passwd"]
    assert "vendor" not in by_file and "dirloop" not in by_file
    assert items["system/etc/passwd"].link == "../../../../etc/passwd"
    assert items["system/dirloop"].link == "."  # listed as a link, never walked into
    check_tree_items(items, files)


def test_folder_of_real_fdroid_apks() -> None:
    if not (FDROID / "MANIFEST.txt").is_file():
        pytest.skip("run scripts/fetch-test-data first")
    listed = dict(
        line.split("  ", 1)[::-1] for line in (FDROID / "MANIFEST.txt").read_text("utf-8").splitlines() if line
    )
    items, errors = items_of(FDROID)
    assert errors == []
    apks = {path: item for path, item in items.items() if path.endswith(".apk")}
    assert set(apks) == set(listed)
    assert len(apks) >= 40
    assert any(not p.isascii() for p in apks)  # the odd unicode names come through intact
    for path, item in apks.items():
        assert hashlib.sha256(item.read()).hexdigest() == listed[path]
    janus = FDROID / "janus.apk"
    assert sniff(InputFile(janus, read_head(janus))) == "apk"  # dex bytes before the zip do not hide it


def test_time_cap_counts_reading_not_the_consumer(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, files = tree
    img = mke2fs(root, tmp_path / "x.img", "-t", "ext4")
    seen = []
    for result in open_input(img, Limits(max_seconds=2)):
        time.sleep(0.3)  # a slow consumer: 3 s in all, over the 2 s cap
        seen.append(result)
    assert not any(isinstance(r, InputError) for r in seen) and len(seen) == len(files) + 1
    _, errors = items_of(img, Limits(max_seconds=0))
    assert errors and "time cap" in errors[0].message and errors[0].location.file == str(img)


def test_single_apk_is_one_item(tmp_path: Path) -> None:
    apk = tmp_path / "Foo.apk"
    apk.write_bytes(apk_bytes("com.foo"))
    results = list(open_input(apk))
    assert len(results) == 1 and isinstance(results[0], Item)
    assert results[0].path == "Foo.apk" and results[0].read() == apk.read_bytes()
    assert sniff(InputFile(apk, read_head(apk))) == "apk"


# --- ext4 -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [("-t", "ext4"), ("-t", "ext4", "-b", "1024"), ("-t", "ext2", "-b", "1024"), ("-t", "ext4", "-O", "inline_data")],
)
def test_ext4_image_read_without_mounting(tree: tuple[Path, dict[str, bytes]], tmp_path: Path, options) -> None:
    root, files = tree
    img = mke2fs(root, tmp_path / "super.img", *options)
    assert sniff(InputFile(img, read_head(img))) == "ext4"
    items, errors = items_of(img)
    assert errors == []
    check_tree_items(items, files)
    assert items["system/bin/sync_agent"].location == Location(str(img), entry="system/bin/sync_agent")


def test_system_image_gets_partition_prefix(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, files = tree
    img = mke2fs(root / "system", tmp_path / "system.img", "-t", "ext4")
    items, errors = items_of(img)
    assert errors == []
    assert items["system/priv-app/Upd/Upd.apk"].read() == files["system/priv-app/Upd/Upd.apk"]
    assert items["system/bin/sync_agent"].mode & stat.S_ISUID  # type: ignore[operator]
    # system-as-root: the image holds its own system/ folder, so no second prefix
    sar = tmp_path / "sar"
    shutil.copytree(root, sar / "x", symlinks=True)
    (sar / "x" / "vendor").rename(sar / "vendor")
    (sar / "x" / "system").rename(sar / "system")
    items, _ = items_of(mke2fs(sar, tmp_path / "system_a.img", "-t", "ext4"))
    assert "system/priv-app/Upd/Upd.apk" in items


def test_large_directory_and_deep_extents(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "many").mkdir(parents=True)
    for i in range(400):  # several directory blocks: hashed (htree) directory
        (src / "many" / f"file-{i:04d}.so").write_bytes(b"%d" % i)
    big = os.urandom(64 * 1024) * 48  # 3 MiB
    (src / "big").write_bytes(big)
    img = mke2fs(src, tmp_path / "vendor.img", "-t", "ext4", "-b", "1024", size="16M")
    items, errors = items_of(img)
    assert errors == []
    assert sum(1 for p in items if p.startswith("vendor/many/")) == 400
    assert items["vendor/many/file-0399.so"].read() == b"399"
    assert items["vendor/big"].read() == big
    with pytest.raises(FormatError, match="read limit"):
        items["vendor/big"].read(limit=1000)


def test_corrupt_and_truncated_ext4_reported(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, _ = tree
    img = mke2fs(root, tmp_path / "good.img", "-t", "ext4")
    data = img.read_bytes()
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "truncated.img").write_bytes(data[:40_000])
    bad_bs = bytearray(data)
    bad_bs[1024 + 0x18 : 1024 + 0x1C] = struct.pack("<I", 30)  # block size exponent
    (folder / "badsuper.img").write_bytes(bad_bs)
    (folder / "Ok.apk").write_bytes(apk_bytes("com.ok"))
    items, errors = items_of(folder)
    assert "Ok.apk" in items  # the batch goes on
    messages = {Path(e.location.file).name: e.message for e in errors}
    assert "outside the image" in messages["truncated.img"] or "truncated" in messages["truncated.img"]
    assert "block size" in messages["badsuper.img"]


# --- EROFS ----------------------------------------------------------------------------------------------------


def test_erofs_image(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, files = tree
    img = mkerofs(root, tmp_path / "rootfs.img")
    assert sniff(InputFile(img, read_head(img))) == "erofs"
    items, errors = items_of(img)
    assert errors == []
    check_tree_items(items, files)  # owners from the image's inodes


def test_erofs_tools_run_under_memory_cap(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    need("prlimit")
    root, _ = tree
    img = mkerofs(root, tmp_path / "e.img")
    items, errors = items_of(img, Limits(max_rss_bytes=2 << 20))  # too little for any process to start
    assert items == {} and len(errors) == 1
    assert errors[0].location.file == str(img) and errors[0].message.startswith("erofs: dump.erofs")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(st.tuples(st.sampled_from(["", "bin/", "priv-app/X/"]), name_strategy), file_strategy, max_size=40),
    st.lists(st.integers(0, 70000), min_size=2, max_size=2),
)
def test_erofs_owners_and_modes_match_the_source(
    tmp_path: Path, files: dict[tuple[str, str], tuple[bytes, int]], owner: list[int]
) -> None:
    need("mkfs.erofs", "fsck.erofs", "dump.erofs")
    src = Path(tempfile.mkdtemp(dir=tmp_path))
    expected = {}
    for rel, path, data, mode in write_drawn(src, files):
        uid, gid = owner[0], owner[1] + len(path.name)
        os.chown(path, uid, gid)  # large ids need extended inodes
        path.chmod(mode)  # after chown, which clears set-id bits
        expected[rel] = (data, stat.S_IFREG | mode, uid, gid)
    img = mkerofs(src, src.with_suffix(".img"))
    items, errors = items_of(img)
    assert errors == []
    assert {p: (i.read(), i.mode, i.uid, i.gid) for p, i in items.items()} == expected


def test_erofs_large_directory(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    for i in range(400):  # about 20 KiB of entries: several directory blocks
        (src / "lib" / f"libvendor-component-{i:04d}.so").write_bytes(b"%d" % i)
        os.chown(src / "lib" / f"libvendor-component-{i:04d}.so", 1000 + i, 2000)
    items, errors = items_of(mkerofs(src, tmp_path / "vendor.img"))
    assert errors == [] and len(items) == 400
    lib = items["vendor/lib/libvendor-component-0399.so"]
    assert (lib.read(), lib.uid, lib.gid) == (b"399", 1399, 2000)


@pytest.fixture(scope="module")
def small_erofs(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    base = tmp_path_factory.mktemp("erofs")
    build_tree(base / "src")
    return mkerofs(base / "src", base / "e.img").read_bytes()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_erofs_reader_on_mutated_images_only_raises_format_error(small_erofs: bytes, data: st.DataObject) -> None:
    image = bytearray(small_erofs)
    for _ in range(data.draw(st.integers(1, 8))):
        image[data.draw(st.integers(1024, min(len(image) - 1, 8192)))] = data.draw(st.integers(0, 255))
    image = image[: data.draw(st.sampled_from([len(image), 6000, 1100]))]
    with contextlib.suppress(FormatError):  # anything else fails the test
        owners = erofs_mod.ErofsMeta(io.BytesIO(bytes(image)), len(image)).owners()
        assert all(isinstance(o.mode, int) for o in owners.values())


def test_corrupt_erofs_reported(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, _ = tree
    data = mkerofs(root, tmp_path / "e.img").read_bytes()
    bad = tmp_path / "odm.img"
    bad.write_bytes(data[:1100] + b"\xff" * (len(data) - 1100))
    _, errors = items_of(bad)
    assert errors and errors[0].location.file == str(bad) and "erofs" in errors[0].message


# --- sparse ---------------------------------------------------------------------------------------------------


def test_sparse_ext4_and_erofs(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, files = tree
    for raw in (mke2fs(root, tmp_path / "raw.img", "-t", "ext4"), mkerofs(root, tmp_path / "raw2.img")):
        simg = img2simg(raw, tmp_path / "system_sparse.img")
        assert sniff(InputFile(simg, read_head(simg))) == "sparse"
        if raw.name == "raw.img":  # an 8 MiB mostly empty ext4 image shrinks a lot
            assert simg.stat().st_size < raw.stat().st_size // 4
        items, errors = items_of(simg)
        assert errors == []
        check_tree_items(items, files)


def test_unsparse_matches_simg2img(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    need("simg2img")
    root, _ = tree
    simg = img2simg(mke2fs(root, tmp_path / "raw.img", "-t", "ext4"), tmp_path / "s.img")
    subprocess.run(["simg2img", str(simg), str(tmp_path / "ref.img")], check=True)
    out = io.BytesIO()
    with simg.open("rb") as fh:
        size = sparse_mod.unsparse(fh, out, simg.stat().st_size, Limits())
    assert out.getvalue() == (tmp_path / "ref.img").read_bytes() and size == len(out.getvalue())


def test_truncated_sparse_names_file_and_offset(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, _ = tree
    simg = img2simg(mke2fs(root, tmp_path / "raw.img", "-t", "ext4"), tmp_path / "s.img")
    bad = tmp_path / "vendor.img"
    bad.write_bytes(simg.read_bytes()[:-5000])
    _, errors = items_of(bad)
    assert len(errors) == 1
    assert errors[0].location.file == str(bad) and errors[0].location.offset is not None
    assert "truncated" in errors[0].message


def sparse_image(chunks: list[tuple[int, int, bytes]], block_size: int = 16) -> tuple[bytes, bytes]:
    """A sparse file from (type, blocks, payload) chunks and the raw image it stands for."""
    body, raw, total = b"", b"", 0
    for kind, blocks, payload in chunks:
        data = {sparse_mod.RAW: payload, sparse_mod.FILL: payload[:4], sparse_mod.DONT_CARE: b""}.get(kind, b"")
        if kind == sparse_mod.CRC32:
            data = b"\0\0\0\0"
        body += struct.pack("<HHII", kind, 0, blocks, 12 + len(data)) + data
        if kind == sparse_mod.RAW:
            raw += payload
        elif kind == sparse_mod.FILL:
            raw += payload[:4] * (blocks * block_size // 4)
        elif kind == sparse_mod.DONT_CARE:
            raw += b"\0" * blocks * block_size
        if kind != sparse_mod.CRC32:
            total += blocks
    header = struct.pack("<IHHHHIIII", sparse_mod.MAGIC, 1, 0, 28, 12, block_size, total, len(chunks), 0)
    return header + body, raw


chunk_strategy = st.one_of(
    st.integers(1, 4).flatmap(
        lambda n: st.tuples(st.just(sparse_mod.RAW), st.just(n), st.binary(min_size=16 * n, max_size=16 * n))
    ),
    st.tuples(st.just(sparse_mod.FILL), st.integers(1, 50), st.binary(min_size=4, max_size=4)),
    st.tuples(st.just(sparse_mod.DONT_CARE), st.integers(1, 50), st.just(b"")),
    st.tuples(st.just(sparse_mod.CRC32), st.just(0), st.just(b"")),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(chunk_strategy, max_size=12))
def test_sparse_roundtrip_property(chunks: list[tuple[int, int, bytes]]) -> None:
    image, raw = sparse_image(chunks)
    out = io.BytesIO()
    assert sparse_mod.unsparse(io.BytesIO(image), out, len(image), Limits()) == len(raw)
    assert out.getvalue() == raw


@settings(max_examples=300, deadline=None)
@given(st.lists(chunk_strategy, min_size=1, max_size=6), st.data())
def test_sparse_mutations_only_raise_format_error(chunks: list[tuple[int, int, bytes]], data: st.DataObject) -> None:
    image = bytearray(sparse_image(chunks)[0])
    for _ in range(data.draw(st.integers(1, 4))):
        image[data.draw(st.integers(0, len(image) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(image)))
    image = image[:cut]
    try:
        sparse_mod.unsparse(io.BytesIO(bytes(image)), io.BytesIO(), len(image), Limits(max_total_bytes=1 << 24))
    except FormatError as exc:
        assert exc.offset is None or 0 <= exc.offset <= len(image)


@pytest.fixture(scope="module")
def small_ext4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    base = tmp_path_factory.mktemp("ext4src")
    build_tree(base / "src")
    img = mke2fs(base / "src", base / "small.img", "-t", "ext4", "-b", "1024", "-N", "64", size="1M")
    return img.read_bytes()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_ext4_reader_on_mutated_images_only_raises_format_error(small_ext4: bytes, data: st.DataObject) -> None:
    image = bytearray(small_ext4)
    # mutate metadata: superblock, group descriptors, inode table, directory and extent blocks
    for _ in range(data.draw(st.integers(1, 8))):
        image[data.draw(st.integers(1024, 64 * 1024))] = data.draw(st.integers(0, 255))
    image = image[: data.draw(st.sampled_from([len(image), len(image) // 2, 70_000, 5000]))]
    files = 0
    with contextlib.suppress(FormatError):  # anything else (IndexError, struct.error, recursion...) fails the test
        fs = ext4_mod.Ext4(io.BytesIO(bytes(image)), len(image))
        for _path, node in fs.walk():
            if isinstance(node, ext4_mod.Inode) and stat.S_ISREG(node.mode):
                with contextlib.suppress(FormatError):
                    assert len(fs.read(node, 1 << 20)) == node.size
                    files += 1
    assert files <= 64  # bounded by the inode count (-N 64): a damaged directory may name one file twice


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(st.tuples(st.sampled_from(["", "bin/", "priv-app/X/"]), name_strategy), file_strategy, max_size=12),
    st.sampled_from([("-t", "ext4"), ("-t", "ext4", "-O", "inline_data"), ("-t", "ext3")]),
)
def test_ext4_reader_matches_what_mke2fs_wrote(
    tmp_path: Path, files: dict[tuple[str, str], tuple[bytes, int]], options: tuple[str, ...]
) -> None:
    need("mke2fs")
    src = Path(tempfile.mkdtemp(dir=tmp_path))
    expected = {}
    for rel, path, data, mode in write_drawn(src, files):
        path.chmod(mode)
        expected[rel] = (data, mode)
    img = mke2fs(src, src.with_suffix(".img"), *options, "-b", "1024", size="2M")
    items, errors = items_of(img)
    assert errors == []
    assert {p: (i.read(), stat.S_IMODE(i.mode or 0)) for p, i in items.items() if "lost+found" not in p} == expected


# --- boot images ----------------------------------------------------------------------------------------------

RAMDISK = {
    "init.rc": b"import /init.${ro.hardware}.rc\nimport /FWUpgradeInit.rc\n",
    "FWUpgradeInit.rc": b"service fotabinder /system/bin/fotabinder\n    class main\n    socket fota stream 600 system system\n",
    "sbin/su": b"\x7fELF ramdisk su",
}


def build_ramdisk(tmp_path: Path, compress: str) -> Path:
    need("cpio", "gzip", "lz4")
    src = tmp_path / "ramdisk"
    for rel, data in RAMDISK.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    os.chown(src / "sbin/su", 0, 2000)
    os.chmod(src / "sbin/su", 0o6750)
    (src / "sbin/sh").symlink_to("su")
    cpio = tmp_path / "ramdisk.cpio"
    names = subprocess.run(["find", ".", "-mindepth", "1", "-printf", "%P\n"], cwd=src, capture_output=True, check=True)
    with cpio.open("wb") as out:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=src, input=names.stdout, stdout=out, check=True)
    if compress == "gzip":
        subprocess.run(["gzip", "-9", "-n", "-k", str(cpio)], check=True)
        return cpio.with_suffix(".cpio.gz")
    if compress == "lz4":
        subprocess.run(["lz4", "-l", "-q", str(cpio), str(cpio) + ".lz4"], check=True)
        return Path(str(cpio) + ".lz4")
    return cpio


@pytest.mark.parametrize(
    ("version", "compress"), [("0", "gzip"), ("2", "gzip"), ("3", "lz4"), ("3", "none"), ("vendor", "gzip")]
)
def test_boot_image_ramdisk(tmp_path: Path, version: str, compress: str) -> None:
    need("mkbootimg")
    ramdisk = build_ramdisk(tmp_path, compress)
    (tmp_path / "kernel").write_bytes(os.urandom(5000))
    (tmp_path / "dtb").write_bytes(b"\xd0\x0d\xfe\xed" + bytes(60))
    img = tmp_path / ("vendor_boot.img" if version == "vendor" else "boot.img")
    if version == "vendor":
        args = ["--header_version", "3", "--vendor_boot", str(img), "--vendor_ramdisk", str(ramdisk)]
        args += ["--dtb", str(tmp_path / "dtb")]
    else:
        args = ["--kernel", str(tmp_path / "kernel"), "--ramdisk", str(ramdisk), "--header_version", version]
        args += ["-o", str(img)] + (["--dtb", str(tmp_path / "dtb")] if version == "2" else [])
    subprocess.run(["mkbootimg", *args], check=True, capture_output=True)
    assert detect(img, read_head(img)) == "bootimg"
    items, errors = items_of(img)
    assert errors == []
    assert {p: i.read() for p, i in items.items() if i.reader} == RAMDISK
    su = items["sbin/su"]
    assert (stat.S_IMODE(su.mode or 0), su.uid, su.gid) == (0o6750, 0, 2000)
    assert items["sbin/sh"].link == "su"
    assert items["FWUpgradeInit.rc"].location == Location(str(img), entry="FWUpgradeInit.rc")


def test_boot_image_in_ota_and_truncated(tmp_path: Path) -> None:
    need("mkbootimg")
    (tmp_path / "kernel").write_bytes(os.urandom(5000))
    img = tmp_path / "recovery.img"
    ramdisk = build_ramdisk(tmp_path, "gzip")
    subprocess.run(
        ["mkbootimg", "--kernel", str(tmp_path / "kernel"), "--ramdisk", str(ramdisk), "-o", str(img)], check=True
    )
    good = img.read_bytes()
    ota = write_zip(tmp_path / "ota.zip", [("boot.img", good), ("recovery.img", good), ("bad/boot.img", good[:6000])])
    items, errors = items_of(ota)
    assert items["FWUpgradeInit.rc"].location.entry == "boot.img!/FWUpgradeInit.rc"
    assert items["recovery/init.rc"].read() == RAMDISK["init.rc"]
    assert [(e.location.entry, "truncated" in e.message) for e in errors] == [("bad/boot.img", True)]


# --- super (dynamic partitions) ------------------------------------------------------------------------------


def super_image(partitions: list[tuple[str, bytes]]) -> bytes:
    """A super.img per AOSP liblp metadata_format.h (lpmake is not packaged in Debian): geometry, metadata v10.2
    with partition, extent, group and block-device tables, partitions 1 MiB aligned; empty data = no extents."""
    max_size, slots, first = 65536, 2, 1 << 20
    geo = struct.pack("<II32sIII", 0x616C4467, 52, bytes(32), max_size, slots, 4096)
    geo = geo[:8] + hashlib.sha256(geo).digest() + geo[40:]
    parts, extents, data, offset = b"", b"", b"", first
    for name, content in partitions:
        count = 1 if content else 0
        parts += struct.pack("<36sIIII", name.encode(), 1, len(extents) // 24, count, 0)
        if content:
            padded = content + bytes(-len(content) % (1 << 20))
            extents += struct.pack("<QIQI", len(padded) // 512, 0, offset // 512, 0)
            data += padded
            offset += len(padded)
    groups = struct.pack("<36sIQ", b"default", 0, 0)
    devices = struct.pack("<QII Q36sI".replace(" ", ""), first // 512, 1 << 20, 0, offset, b"super", 0)
    tables = parts + extents + groups + devices
    descriptors = struct.pack(
        "<12I",
        0, len(parts) // 52, 52,
        len(parts), len(extents) // 24, 24,
        len(parts) + len(extents), 1, 48,
        len(parts) + len(extents) + 48, 1, 64,
    )  # fmt: skip
    header = struct.pack(
        "<IHHI32sI32s", 0x414C5030, 10, 2, 256, bytes(32), len(tables), hashlib.sha256(tables).digest()
    )
    header += descriptors + struct.pack("<I", 0) + bytes(124)
    header = header[:12] + hashlib.sha256(header).digest() + header[44:]
    image = bytearray(first) + data
    image[4096 : 4096 + 52] = geo
    image[8192 : 8192 + 52] = geo
    image[12288 : 12288 + 256 + len(tables)] = header + tables
    return bytes(image)


def write_super(out: Path, partitions: list[tuple[str, bytes]]) -> Path:
    out.write_bytes(super_image(partitions))
    return out


def test_super_image_with_logical_partitions(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, files = tree
    system = mke2fs(root / "system", tmp_path / "s.img", "-t", "ext4").read_bytes()
    vendor = mkerofs(root / "vendor", tmp_path / "v.img").read_bytes()
    raw = write_super(tmp_path / "raw-super.img", [("system_a", system), ("vendor_a", vendor), ("system_b", b"")])
    assert detect(raw, read_head(raw)) == "super"
    simg = img2simg(raw, tmp_path / "super.img")
    ota = write_zip(tmp_path / "fastboot.zip", [("images/super.img", simg.read_bytes())])
    items, errors = items_of(ota)
    assert errors == []
    upd = items["system/priv-app/Upd/Upd.apk"]
    assert upd.read() == files["system/priv-app/Upd/Upd.apk"]
    assert upd.location.entry == "images/super.img!/system_a!/priv-app/Upd/Upd.apk"
    assert items["system/bin/sync_agent"].mode & stat.S_ISUID  # type: ignore[operator]
    assert items["vendor/bin/fotabinder"].read() == files["vendor/bin/fotabinder"]


def test_corrupt_super_metadata_reported(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, _ = tree
    raw = write_super(
        tmp_path / "super.img", [("system_a", mke2fs(root, tmp_path / "s.img", "-t", "ext4").read_bytes())]
    )
    data = bytearray(raw.read_bytes())
    data[12288 + 256] ^= 0xFF  # first byte of the partition table
    raw.write_bytes(data)
    _, errors = items_of(raw)
    assert [(e.location.file, e.location.offset, e.message) for e in errors] == [
        (str(raw), 12288 + 256, "super: metadata tables checksum mismatch")
    ]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_super_reader_on_mutated_metadata_only_raises_format_error(data: st.DataObject) -> None:
    image = bytearray(super_image([("system_a", b"x" * 600), ("vendor_b", b"")]))
    for _ in range(data.draw(st.integers(1, 6))):
        image[data.draw(st.sampled_from([4096, 8192, 12288])) + data.draw(st.integers(0, 400))] = data.draw(
            st.integers(0, 255)
        )
    image = image[: data.draw(st.sampled_from([len(image), 12300, 8000, 100]))]
    try:
        parts = superimage.read_partitions(io.BytesIO(bytes(image)), len(image))
    except FormatError:
        return
    # mutations that leave both checksums valid can only have hit the unchecksummed padding or the backup geometry
    assert [p.name for p in parts] == ["system_a", "vendor_b"]


@given(st.text(max_size=300))
def test_updater_script_parser_is_total(text: str) -> None:
    rules = updater_script.parse("set_perm(0, 0, 0755, " + text + ");\n" + text)
    perms = updater_script.Perms(rules)
    for rule in rules:
        assert perms.lookup(rule.path + "/x") is None or perms.lookup(rule.path + "/x").recursive  # type: ignore[union-attr]


# --- zips, OTA and factory images -----------------------------------------------------------------------------


def test_nested_ota_zip_with_sparse_system_image(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, files = tree
    simg = img2simg(mke2fs(root / "system", tmp_path / "raw.img", "-t", "ext4"), tmp_path / "s.img")
    vendor = mkerofs(root / "vendor", tmp_path / "v.img")
    inner = write_zip(
        tmp_path / "image-acme.zip", [("system.img", simg.read_bytes()), ("vendor.img", vendor.read_bytes())]
    )
    ota = write_zip(
        tmp_path / "ota.zip",
        [
            ("META-INF/com/google/android/update-binary", b"#!/sbin/sh\n"),
            ("image-acme.zip", inner.read_bytes()),
            ("system/app/Extra/Extra.apk", apk_bytes("com.extra")),
            ("payload.bin", b"CrAU" + b"\0" * 100),
            ("system.new.dat.br", b"\x1b" * 10),
        ],
    )
    assert sniff(InputFile(ota, read_head(ota))) == "ota-zip"
    items, errors = items_of(ota)
    upd = items["system/priv-app/Upd/Upd.apk"]
    assert upd.read() == files["system/priv-app/Upd/Upd.apk"]
    assert upd.location == Location(str(ota), entry="image-acme.zip!/system.img!/priv-app/Upd/Upd.apk")
    assert items["system/bin/sync_agent"].mode & stat.S_ISUID  # type: ignore[operator]
    assert items["vendor/bin/fotabinder"].read() == files["vendor/bin/fotabinder"]
    assert items["system/app/Extra/Extra.apk"].location.entry == "system/app/Extra/Extra.apk"
    messages = {e.location.entry: e.message for e in errors}
    assert messages == {
        "payload.bin": "payload: major version 0 not supported (2 is)",  # opened now (test_firmware_ota.py)
        "system.new.dat.br": "block-based OTA data without its .transfer.list; not read",
    }


UPDATER_SCRIPT = """ui_print("Installing system...");
mount("ext4", "EMMC", "/dev/block/mmcblk0p12", "/system");
package_extract_dir("system", "/system");
symlink("toolbox", "/system/bin/ls", "/system/bin/ps");
set_perm_recursive(0, 0, 0755, 0644, "/system");
set_perm_recursive(0, 2000, 0755, 0755, "/system/bin");
set_perm(0, 2000, 06755, "/system/bin/sync_agent");
set_metadata("/system/xbin/su", "uid", 0, "gid", 2000, "mode", 06755, "capabilities", 0x0,
             "selabel", "u:object_r:su_exec:s0");
set_metadata_recursive("/system/vendor", "uid", 0, "gid", 2000, "dmode", 0755, "fmode", 0640,
                       "capabilities", 0x0, "selabel", "u:object_r:vendor_file:s0");
set_perm(1000, 1000, 0600, "/system/bin/late");
"""


def test_file_based_ota_modes_from_updater_script(tmp_path: Path) -> None:
    ota = write_zip(
        tmp_path / "update.zip",
        [
            ("META-INF/com/google/android/update-binary", b"\x7fELF"),
            ("META-INF/com/google/android/updater-script", UPDATER_SCRIPT.encode()),
            ("system/bin/sync_agent", SUID_BODY),
            ("system/bin/toolbox", b"tb"),
            ("system/bin/late", b"late"),
            ("system/xbin/su", b"su"),
            ("system/vendor/lib/libx.so", b"lib"),
            ("system/app/Upd.apk", apk_bytes("com.example.upd")),
        ],
    )
    items, errors = items_of(ota)
    assert errors == []
    modes = {p: (stat.S_IMODE(i.mode), i.uid, i.gid) for p, i in items.items() if i.mode is not None}
    assert modes["system/bin/sync_agent"] == (0o6755, 0, 2000)
    assert modes["system/bin/toolbox"] == (0o755, 0, 2000)
    assert modes["system/bin/late"] == (0o600, 1000, 1000)
    assert modes["system/xbin/su"] == (0o6755, 0, 2000)
    assert modes["system/vendor/lib/libx.so"] == (0o640, 0, 2000)
    assert modes["system/app/Upd.apk"] == (0o644, 0, 0)
    assert "META-INF/com/google/android/updater-script" not in modes
    ls = items["system/bin/ls"]
    assert (ls.link, ls.location.entry, ls.location.line) == (
        "toolbox",
        "META-INF/com/google/android/updater-script",
        4,
    )
    assert items["system/bin/ps"].link == "toolbox" and items["system/bin/ps"].reader is None


@pytest.fixture(scope="module")
def small_ota(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    base = tmp_path_factory.mktemp("ota")
    build_tree(base / "tree")
    raw = mke2fs(base / "tree" / "system", base / "raw.img", "-t", "ext4", "-b", "1024", "-N", "64", size="1M")
    simg = img2simg(raw, base / "s.img")
    ramdisk = build_ramdisk(base, "none")  # uncompressed: mutations hit the cpio headers
    need("mkbootimg")
    (base / "kernel").write_bytes(b"kernel" * 100)
    subprocess.run(
        ["mkbootimg", "--kernel", str(base / "kernel"), "--ramdisk", str(ramdisk), "-o", str(base / "boot.img")],
        check=True,
    )
    entries = [("boot.img", (base / "boot.img").read_bytes()), ("system.img", simg.read_bytes())]
    entries.append(("system/app/A.apk", apk_bytes("com.a")))
    return write_zip(base / "ota.zip", entries, zipfile.ZIP_STORED).read_bytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_ota_yields_items_or_input_errors_only(small_ota: bytes, tmp_path: Path, data: st.DataObject) -> None:
    image = bytearray(small_ota)
    for _ in range(data.draw(st.integers(1, 10))):
        image[data.draw(st.integers(0, min(len(image) - 1, 90_000)))] = data.draw(st.integers(0, 255))
    target = Path(tempfile.mkdtemp(dir=tmp_path)) / "ota.zip"
    target.write_bytes(image)
    for result in open_input(target, Limits(max_total_bytes=64 << 20)):
        if isinstance(result, InputError):
            assert "unexpected" not in result.message, result  # a reader bug, not a bad input
            assert result.location.file == str(target)
        elif result.reader is not None:
            with contextlib.suppress(FormatError):
                assert len(result.read(1 << 20)) <= 1 << 20


def test_apex_inside_image_is_opened(tmp_path: Path) -> None:
    payload_src = tmp_path / "payload"
    (payload_src / "bin").mkdir(parents=True)
    (payload_src / "bin" / "daemon").write_bytes(b"apex daemon")
    payload = mke2fs(payload_src, tmp_path / "apex_payload.img", "-t", "ext4", size="1M")
    system = tmp_path / "system_src"
    (system / "apex").mkdir(parents=True)
    write_zip(
        system / "apex" / "com.example.x.apex",
        [("AndroidManifest.xml", b"axml"), ("apex_payload.img", payload.read_bytes())],
        zipfile.ZIP_STORED,
    )
    apex = write_zip(
        tmp_path / "y.apex", [("apex_manifest.pb", b"\n\x0bcom.example.y"), ("apex_payload.img", payload.read_bytes())]
    )
    write_zip(
        system / "apex" / "com.example.y.capex",
        [("AndroidManifest.xml", b"axml"), ("original_apex", apex.read_bytes())],
    )
    items, errors = items_of(mke2fs(system, tmp_path / "system.img", "-t", "ext4"))
    assert errors == []
    assert items["system/apex/com.example.y.capex/original_apex/bin/daemon"].location.entry == (
        "apex/com.example.y.capex!/original_apex!/apex_payload.img!/bin/daemon"
    )
    daemon = items["system/apex/com.example.x.apex/bin/daemon"]
    assert daemon.read() == b"apex daemon"
    assert daemon.location.entry == "apex/com.example.x.apex!/apex_payload.img!/bin/daemon"


def test_zip_bomb_ratio_and_size_caps(tmp_path: Path) -> None:
    bomb = write_zip(
        tmp_path / "bomb.zip",
        [("zeros.bin", b"\0" * (30 << 20)), ("ok.txt", b"fine"), ("vendor.img", b"\0" * (30 << 20))],
    )
    items, errors = items_of(bomb)
    assert items["ok.txt"].read() == b"fine"
    messages = {e.location.entry: e.message for e in errors}
    assert "zip bomb" in messages["zeros.bin"] and "zip bomb" in messages["vendor.img"]
    items, errors = items_of(bomb, Limits(max_entry_bytes=1000, max_ratio=10**6))
    assert "cap" in {e.location.entry: e.message for e in errors}["zeros.bin"]


def test_lying_sizes_cannot_bypass_the_ratio_cap(tmp_path: Path) -> None:
    """The central directory claims a small size; decompressing is still stopped by the ratio cap."""
    real = write_zip(tmp_path / "real.zip", [("system.img", b"\0" * (40 << 20))])
    data = bytearray(real.read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = struct.pack("<I", 1000)  # uncompressed size in the central directory
    lying = tmp_path / "lying.zip"
    lying.write_bytes(data)
    _, errors = items_of(lying)
    assert any(e.location.entry == "system.img" and "ratio cap" in e.message for e in errors)


def test_deep_nesting_stops_at_depth_cap(tmp_path: Path) -> None:
    data = write_zip(tmp_path / "leaf.zip", [("deep.txt", b"bottom")]).read_bytes()
    for level in range(6):
        data = write_zip(tmp_path / f"l{level}.zip", [(f"level{level}.zip", data)]).read_bytes()
    outer = tmp_path / "outer.zip"
    outer.write_bytes(data)
    items, errors = items_of(outer, Limits(max_depth=3))
    assert not any(p.endswith("deep.txt") for p in items)
    assert len(errors) == 1 and "nested deeper than 3" in errors[0].message
    assert errors[0].location.entry.count("!/") == 3  # type: ignore[union-attr]
    items, errors = items_of(outer, Limits(max_depth=10))
    assert errors == [] and [i.read() for p, i in items.items() if p.endswith("deep.txt")] == [b"bottom"]


def test_traversal_and_absolute_names_refused(tmp_path: Path) -> None:
    evil = write_zip(
        tmp_path / "evil.zip",
        [("../../escape.img", b"x"), ("/abs/system.img", b"y"), ("a/../../b.txt", b"z"), ("good/file.txt", b"ok")],
    )
    before = set(tmp_path.parent.iterdir())
    items, errors = items_of(evil)
    assert list(items) == ["good/file.txt"]
    assert {e.location.entry for e in errors} == {"../../escape.img", "/abs/system.img", "a/../../b.txt"}
    assert all("unsafe entry name" in e.message for e in errors)
    assert set(tmp_path.parent.iterdir()) == before and not (tmp_path / "escape.img").exists()


def test_corrupt_zip_in_batch(tmp_path: Path) -> None:
    folder = tmp_path / "apps"
    folder.mkdir()
    (folder / "A.apk").write_bytes(apk_bytes("com.a"))
    broken = write_zip(tmp_path / "x.zip", [("system.img", os.urandom(5000))], zipfile.ZIP_STORED).read_bytes()
    (folder / "factory.zip").write_bytes(broken[: len(broken) // 2] + b"\0" * 10 + broken[len(broken) // 2 :])
    items, errors = items_of(folder)
    assert "A.apk" in items
    assert errors and all(e.location.file.endswith("factory.zip") for e in errors)


def test_temp_files_live_while_items_do(tree: tuple[Path, dict[str, bytes]], tmp_path: Path, monkeypatch) -> None:
    root, files = tree
    scratch = tmp_path / "t"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    simg = img2simg(mke2fs(root / "system", tmp_path / "raw.img", "-t", "ext4"), tmp_path / "system.img")
    ota = write_zip(tmp_path / "ota.zip", [("system.img", simg.read_bytes())])
    items, _ = items_of(ota)  # the generator is exhausted here
    assert len(list(scratch.iterdir())) == 1
    assert items["system/bin/sync_agent"].read() == files["system/bin/sync_agent"]
    del items
    gc.collect()
    assert list(scratch.iterdir()) == []


def test_tar_factory_image(tree: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    root, files = tree
    simg = img2simg(mke2fs(root / "system", tmp_path / "raw.img", "-t", "ext4"), tmp_path / "s.img")
    out = tmp_path / "factory.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(simg, "acme-factory/system.img")
        tar.add(root / "vendor", "acme-factory/vendor")
        info = tarfile.TarInfo("../../etc/cron.d/evil")
        tar.addfile(info, io.BytesIO(b""))
    assert sniff(InputFile(out, read_head(out))) == "tar"
    items, errors = items_of(out)
    assert items["system/priv-app/Upd/Upd.apk"].read() == files["system/priv-app/Upd/Upd.apk"]
    assert items["acme-factory/vendor/bin/fotabinder"].read() == files["vendor/bin/fotabinder"]
    assert [e.location.entry for e in errors] == ["../../etc/cron.d/evil"]


# --- adb ------------------------------------------------------------------------------------------------------

FAKE_ADB = r"""#!/bin/sh
# Test double for a device: replays output recorded in the shape of a real device's `adb` answers.
dev="$FAKE_DEVICE"
[ "$1" = "devices" ] && { printf 'List of devices attached\nR58M1234ABC\tdevice\n\n'; exit 0; }
[ "$1" = "-s" ] || { echo "adb: unexpected $*" >&2; exit 1; }
[ "$2" = "R58M1234ABC" ] || { echo "adb: device '$2' not found" >&2; exit 1; }
shift 2
case "$1" in
  get-state) echo device ;;
  pull) src="$dev$2"; [ -e "$src" ] || { echo "adb: error: failed to stat remote object '$2': No such file or directory" >&2; exit 1; }
        cp -r "$src" "$3"; echo "$2: 1 file pulled." ;;
  shell) shift; answer="$dev/.answers/$(echo "$*" | tr ' /' '__')"; cat "$answer"
         if [ -f "$answer.err" ]; then cat "$answer.err" >&2; exit 1; fi ;;
  *) echo "adb: unknown command $1" >&2; exit 1 ;;
esac
"""

LS_OUTPUT = """/system/bin:
total 5120
-rwxr-xr-x 1 0 2000   38472 2009-01-01 08:00 app_process64
-rwsr-x--- 1 0 2000   14928 2009-01-01 08:00 sync_agent
lrwxr-xr-x 1 0 2000       6 2009-01-01 08:00 sh -> toybox
-rwxr-xr-x 1 0 2000  581904 2009-01-01 08:00 toybox
crw-rw-rw- 1 0 0    1,   3 2009-01-01 08:00 null

/system/xbin:
total 8
-rwsr-sr-x 1 0 0      8216 2009-01-01 08:00 su
drwxr-xr-x 2 0 2000   4096 2009-01-01 08:00 extra

/system/xbin/extra:
total 0
this line is garbage
"""


def fake_device(tmp_path: Path) -> Path:
    dev = tmp_path / "device"
    answers = dev / ".answers"
    answers.mkdir(parents=True)
    (dev / "system/priv-app/Upd/oat/arm64").mkdir(parents=True)
    (dev / "system/priv-app/Upd/Upd.apk").write_bytes(apk_bytes("com.example.upd"))
    (dev / "system/priv-app/Upd/oat/arm64/Upd.odex").write_bytes(b"\x7fELF odex")
    (dev / "data/app/~~abc==/com.example.sms-1").mkdir(parents=True)
    (dev / "data/app/~~abc==/com.example.sms-1/base.apk").write_bytes(apk_bytes("com.example.sms"))
    (dev / "system/bin").mkdir(parents=True)
    (dev / "system/bin/sync_agent").write_bytes(SUID_BODY)
    (dev / "system/build.prop").write_text("ro.build.tags=test-keys\n")
    (dev / "vendor/etc/init").mkdir(parents=True)
    (dev / "vendor/etc/init/fota.rc").write_text("service fotabinder /system/bin/fotabinder\n    class main\n")
    (answers / "getprop").write_text("[ro.build.fingerprint]: [acme/x/x:10/QP1A/1:user/release-keys]\n")
    (answers / "pm_list_packages_-f").write_text(
        "package:/system/priv-app/Upd/Upd.apk=com.example.upd\n"
        "package:/data/app/~~abc==/com.example.sms-1/base.apk=com.example.sms\n"
        "package:/system/framework/framework-res.apk=android\n"
        "package:/system/app/Legacy.apk=com.example.legacy\n"
        "Error: garbage\n"
    )
    (dev / "system/framework").mkdir(parents=True)
    (dev / "system/framework/framework-res.apk").write_bytes(apk_bytes("android"))
    (dev / "system/app").mkdir(parents=True)
    (dev / "system/app/Legacy.apk").write_bytes(apk_bytes("com.example.legacy"))
    (dev / "system/app/Legacy.odex").write_bytes(b"dey\n036\0 odex")
    dirs = "_system_bin__system_xbin__vendor_bin__product_bin__system_ext_bin__odm_bin"
    (answers / f"ls_-lnR_{dirs}").write_text(LS_OUTPUT)
    (answers / f"ls_-lnR_{dirs}.err").write_text(
        "ls: /product/bin: No such file or directory\nls: /odm/bin: No such file or directory\n"
        "ls: /vendor/bin: Permission denied\n"
    )
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "adb").write_text(FAKE_ADB)
    (bindir / "adb").chmod(0o755)
    return dev


def test_adb_device_through_fake_adb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dev = fake_device(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DEVICE", str(dev))
    items, errors = items_of("adb:")
    assert items["getprop"].read().startswith(b"[ro.build.fingerprint]")
    assert items["system/build.prop"].read() == b"ro.build.tags=test-keys\n"
    assert items["vendor/etc/init/fota.rc"].read().startswith(b"service fotabinder")
    assert items["vendor/etc/init/fota.rc"].location == Location("adb:R58M1234ABC", entry="vendor/etc/init/fota.rc")
    assert items["system/priv-app/Upd/Upd.apk"].read() == apk_bytes("com.example.upd")
    assert items["system/priv-app/Upd/oat/arm64/Upd.odex"].read() == b"\x7fELF odex"
    assert items["data/app/~~abc==/com.example.sms-1/base.apk"].location == Location(
        "adb:R58M1234ABC", entry="data/app/~~abc==/com.example.sms-1/base.apk"
    )
    assert "system/framework/framework-res.apk" in items and "system/framework/framework-res.odex" not in items
    assert items["system/app/Legacy.odex"].read() == b"dey\n036\0 odex"
    agent = items["system/bin/sync_agent"]
    assert agent.mode == stat.S_IFREG | 0o4750 and (agent.uid, agent.gid) == (0, 2000) and agent.size == 14928
    assert agent.read() == SUID_BODY  # pulled on demand
    assert items["system/bin/sh"].link == "toybox"
    assert items["system/xbin/su"].mode == stat.S_IFREG | 0o6755
    with pytest.raises(FormatError, match="failed to stat"):
        items["system/bin/toybox"].read()
    assert stat.S_ISCHR(items["system/bin/null"].mode)  # type: ignore[arg-type]
    assert sorted((e.location.entry, e.location.line or 0, e.message) for e in errors) == [
        ("ls -lnR", 0, "ls: /vendor/bin: Permission denied"),
        ("ls -lnR", 16, "unparsed listing line 'this line is garbage'"),
        ("pm list packages", 5, "unparsed line 'Error: garbage'"),
    ]


def test_adb_missing_or_no_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert [str(e) for e in open_input("adb:")] == [
        "adb:: adb not found on PATH (install Debian package adb); cannot read a device"
    ]
    fake_device(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    results = list(open_input("adb:WRONG"))
    assert len(results) == 1 and isinstance(results[0], InputError) and "not found" in results[0].message


HOSTILE_ADB = r"""#!/bin/sh
# A device whose answers never end: endless output, an endless file, an endless folder, a command that hangs.
[ "$1" = "devices" ] && { printf 'List of devices attached\nHOSTILE1\tdevice\n\n'; exit 0; }
shift 2
case "$1" in
  get-state) echo device ;;
  pull) case "$2" in
          /system/build.prop) yes ro.build.tags=test-keys > "$3" ;;
          /data/app/big) mkdir "$3"; i=0; while :; do head -c 100000 /dev/zero > "$3/part$i"; i=$((i+1)); done ;;
          *) echo "adb: error: failed to stat remote object '$2': No such file or directory" >&2; exit 1 ;;
        esac ;;
  shell) case "$2" in
           getprop) if [ -n "$SLOW_GETPROP" ]; then sleep 60; else yes '[ro.x]: [y]'; fi ;;
           pm) echo "package:/data/app/big/base.apk=com.example.big" ;;
           ls) sleep 60 ;;
         esac ;;
esac
"""


def hostile_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "adb").write_text(HOSTILE_ADB)
    (bindir / "adb").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setattr("bansweep.firmware.containers.adb.MAX_OUTPUT", 256 * 1024)


def test_adb_pulls_are_bounded_in_output_disk_and_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hostile_device(tmp_path, monkeypatch)
    limits = Limits(max_total_bytes=2 * 2**20, max_seconds=3.0)
    start = time.monotonic()
    items, errors = items_of("adb:", limits)
    assert time.monotonic() - start < 12
    assert items == {}
    found = {e.location.entry: e.message for e in errors}
    assert "printed more than 262144 bytes" in found["getprop"]
    assert "wrote more than 2097152 bytes (size cap)" in found["system/build.prop"]
    assert "wrote more than 2097152 bytes (size cap)" in found["data/app/big"]
    assert "took longer than" in found["ls -lnR"]
    assert len(errors) == 4


def test_adb_stops_once_the_time_budget_is_used_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hostile_device(tmp_path, monkeypatch)
    monkeypatch.setenv("SLOW_GETPROP", "1")
    start = time.monotonic()
    items, errors = items_of("adb:", Limits(max_seconds=2.0))
    assert time.monotonic() - start < 6  # not one more time-out per remaining pull
    assert items == {}
    assert [(e.location.entry, e.message.split(":")[0]) for e in errors] == [
        ("getprop", "adb -s HOSTILE1 shell getprop took longer than the 2 s left for this input"),
        (None, "stopped reading the device"),
    ]


def test_ls_mode_parsing() -> None:
    assert parse_mode("-rwsr-x---") == stat.S_IFREG | 0o4750
    assert parse_mode("drwxrwxrwt") == stat.S_IFDIR | 0o1777
    assert parse_mode("-rwSr-Sr--") == stat.S_IFREG | 0o6644
    rows = list(parse_ls("/vendor/bin:\n-rwxr-x--- 1 1000 1000 10 2020-02-02 10:00 with space\n"))
    assert rows == [("/vendor/bin/with space", stat.S_IFREG | 0o750, 1000, 1000, 10, None)]


# --- workers --------------------------------------------------------------------------------------------------


def test_run_isolated_returns_result_and_kills_over_limits() -> None:
    assert run_isolated(len, b"abcd", limits=Limits()) == 4
    with pytest.raises(WorkerError, match="worker exceeded 300 MB"):
        run_isolated(bytearray, 2 << 30, limits=Limits(max_rss_bytes=300 << 20))
    started = time.monotonic()
    with pytest.raises(WorkerError, match="worker exceeded 1 s"):
        run_isolated(time.sleep, 60, limits=Limits(max_seconds=1))
    assert time.monotonic() - started < 30
    with pytest.raises(WorkerError, match="ValueError"):
        run_isolated(int, "not a number", limits=Limits())


def test_map_isolated_reports_each_bad_input_and_goes_on() -> None:
    limits = Limits(max_rss_bytes=300 << 20, max_seconds=5)  # generous: CI machines may be loaded
    jobs = [(Location(f"in{i}"), size) for i, size in enumerate([10, 2 << 30, 20, 1 << 40, 30, -1])]
    results = dict(map_isolated(bytearray, jobs, limits, workers=2))
    assert len(results[Location("in0")]) == 10 and len(results[Location("in4")]) == 30  # type: ignore[arg-type]
    assert results[Location("in1")] == InputError(Location("in1"), "worker exceeded 300 MB")
    assert isinstance(results[Location("in3")], InputError)
    assert "ValueError" in results[Location("in5")].message  # type: ignore[union-attr]
    timed = dict(map_isolated(time.sleep, [(Location("slow"), 30), (Location("quick"), 0)], limits, workers=2))
    assert timed[Location("slow")] == InputError(Location("slow"), "worker exceeded 5 s")
    assert timed[Location("quick")] is None


def test_detect_unknown_is_none(tmp_path: Path) -> None:
    plain = tmp_path / "notes.txt"
    plain.write_text("hello")
    assert detect(plain, read_head(plain)) is None
    assert [r.path for r in open_input(plain) if isinstance(r, Item)] == ["notes.txt"]
