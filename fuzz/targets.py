"""One fuzz target per parser and per input source: bytes in, nothing out; any exception out of a target is a crash.

Each target swallows the errors its code is allowed to give (FormatError from a firmware parser, InputErrors from a
container or a fleet source) and raises Crash for what shows a bug even when contained (an InternalError, an
"internal error" input error). Seeds come from the project's fixtures (tests/fixtures, the CSL sample in
/work/shared/data or beside the repository) and from small images built here with the tools the tests use.
"""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.firmware.apk import read_app
from bansweep.firmware.containers import Item, erofs, open_input, sparse, updater_script
from bansweep.firmware.formats.arsc import parse_arsc
from bansweep.firmware.formats.axml import parse_manifest, parse_xml
from bansweep.firmware.formats.dex import parse_dex
from bansweep.firmware.formats.elf import parse_elf
from bansweep.firmware.formats.initrc import parse_initrc
from bansweep.firmware.formats.oat import carve
from bansweep.firmware.formats.props import parse_props
from bansweep.firmware.formats.signing import signing_info
from bansweep.firmware.formats.zipfile import open_zip
from bansweep.firmware.limits import FormatError, InternalError, Limits
from bansweep.inputs import InputProblem

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
REGRESSIONS = ROOT / "tests" / "fuzz_regressions"
SMALL = Limits(max_entry_bytes=4 * 2**20, max_total_bytes=32 * 2**20, max_entries=5000, max_depth=3, max_seconds=20.0)
CSL_SAMPLES = (ROOT.parent / "shared" / "data" / "csl-sample-13.csv", Path("/work/shared/data/csl-sample-13.csv"))
FLEET_SEEDS = {
    "nmap": "nmap-camera.xml",
    "cyclonedx": "cyclonedx-devices.json",
    "inventory-json": "servicenow-cmdb_ci.json",
    "inventory-csv": "servicenow-cmdb_ci.csv",
    "getprop": "getprop-phone.txt",
    "snmpwalk": "snmpwalk-mibnames.txt",
    "dhcp-isc": "dhcpd.leases",
    "kea-csv": "kea-leases4.csv",
    "dnsmasq": "dnsmasq.leases",
    "cisco-mac-table": "cisco-mac-table-nxos.txt",
    "cisco-arp": "cisco-show-ip-arp.txt",
    "arp-windows": "arp-windows.txt",
    "neigh-linux": "ip-neigh.txt",
}


class Crash(Exception):
    """A bug that the code under test contained (reported it as an internal error) instead of raising."""


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    per_input: float = 10.0  # seconds before one input counts as a hang


# --- seeds ----------------------------------------------------------------------------------------------------


@cache
def apk() -> bytes:
    return (FIXTURES / "firmware" / "formats" / "spy.apk").read_bytes()


def apk_entry(prefix: str) -> bytes:
    z = open_zip(apk())
    return next(z.read(e) for e in z.entries if e.name.startswith(prefix))


def vdex() -> bytes:
    return b"vdex027\x00" + bytes(24) + apk_entry("classes.dex") + b"cdex001\x00" + bytes(120)


RC = (
    b"import /init.${ro.hardware}.rc\n"
    b"service upd /system/bin/sync_agent --daemon\n    class main\n    user root\n    group root system\n"
    b"    socket fota stream 600 system system\n    seclabel u:r:su:s0\n    oneshot\n"
    b"on property:sys.boot_completed=1\n    start upd\n    exec - root -- /system/bin/sh -c \\\n    'echo x'\n"
)
PROPS = b"ro.build.fingerprint=test/test:14/X/1:user/release-keys\nro.product.model=X1\n# comment\nimport /x.prop\n"
UPDATER = (
    b'set_metadata_recursive("/system", "uid", 0, "gid", 0, "dmode", 0755, "fmode", 0644);\n'
    b'set_metadata("/system/bin/su", "uid", 0, "gid", 2000, "mode", 06755, "capabilities", 0x0);\n'
    b'set_perm(0, 0, 04755, "/system/xbin/daemon");\n'
    b'symlink("toolbox", "/system/bin/ls", "/system/bin/ps");\n'
)


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, compress_type=method)
    return buf.getvalue()


def ota_zip() -> bytes:
    inner = _zip([("app/Inner.apk", apk()[:2048]), ("build.prop", PROPS)])
    return _zip(
        [
            ("META-INF/com/google/android/update-binary", b"#!/sbin/sh\n"),
            ("META-INF/com/google/android/updater-script", UPDATER),
            ("system/build.prop", PROPS),
            ("system/etc/init/upd.rc", RC),
            ("system/app/Spy/Spy.apk", apk()),
            ("vendor.zip", inner),
        ]
    )


def factory_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data, mode in (
            ("system/build.prop", PROPS, 0o644),
            ("system/bin/agent", (FIXTURES / "firmware" / "formats" / "native.elf").read_bytes(), 0o4755),
            ("system/etc/init/upd.rc", RC, 0o644),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("system/bin/sh")
        link.type, link.linkname = tarfile.SYMTYPE, "agent"
        tar.addfile(link)
    return buf.getvalue()


def _tree(root: Path) -> None:
    for rel, data in (
        ("build.prop", PROPS),
        ("etc/init/upd.rc", RC),
        ("bin/agent", b"\x7fELF" + bytes(60) + b"/dev/socket/fota\x00"),
        ("app/Cam/Cam.apk", apk()[:3000]),
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "bin" / "agent").chmod(0o4755)
    (root / "bin" / "sh").symlink_to("agent")


@cache
def ext4_image() -> bytes:
    if shutil.which("mke2fs") is None:
        return b""
    with tempfile.TemporaryDirectory() as tmp:
        src, img = Path(tmp) / "src", Path(tmp) / "system.img"
        _tree(src)
        subprocess.run(
            ["mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-N", "64", "-d", str(src), str(img), "256K"],
            check=True,
            capture_output=True,
        )
        return img.read_bytes()


@cache
def erofs_image() -> bytes:
    if shutil.which("mkfs.erofs") is None:
        return b""
    with tempfile.TemporaryDirectory() as tmp:
        src, img = Path(tmp) / "src", Path(tmp) / "system.img"
        _tree(src)
        subprocess.run(["mkfs.erofs", "-zlz4hc", str(img), str(src)], check=True, capture_output=True)
        return img.read_bytes()


def sparse_of(raw: bytes, block: int = 4096) -> bytes:
    """A sparse image of raw: RAW chunks for data, DONT_CARE for zero blocks, one FILL for a 0xff block."""
    raw += bytes(-len(raw) % block) + b"\xff" * block
    chunks = []
    for at in range(0, len(raw), block):
        part = raw[at : at + block]
        if part == bytes(block):
            chunks.append(sparse.CHUNK_HEADER.pack(sparse.DONT_CARE, 0, 1, 12))
        elif part == b"\xff" * block:
            chunks.append(sparse.CHUNK_HEADER.pack(sparse.FILL, 0, 1, 16) + b"\xff" * 4)
        else:
            chunks.append(sparse.CHUNK_HEADER.pack(sparse.RAW, 0, 1, 12 + block) + part)
    header = sparse.HEADER.pack(sparse.MAGIC, 1, 0, 28, 12, block, len(raw) // block, len(chunks), 0)
    return header + b"".join(chunks)


def newc(files: dict[str, tuple[bytes, int]]) -> bytes:
    """A cpio (newc) archive, as Android ramdisks are."""
    out = b""
    for ino, (name, (data, mode)) in enumerate([*files.items(), ("TRAILER!!!", (b"", 0))]):
        raw = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(raw), 0)
        out += b"070701" + b"".join(b"%08x" % f for f in fields) + raw
        out += bytes(-len(out) % 4) + data + bytes(-(len(out) + len(data)) % 4)
    return out


@cache
def boot_image() -> bytes:
    if shutil.which("mkbootimg") is None:
        return b""
    ramdisk = newc({"init.rc": (RC, 0o100644), "sbin/su": (b"\x7fELF su", 0o106755)})
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "kernel").write_bytes(b"kernel")
        (Path(tmp) / "ramdisk").write_bytes(gzip.compress(ramdisk, mtime=0))
        out = Path(tmp) / "boot.img"
        subprocess.run(
            ["mkbootimg", "--kernel", f"{tmp}/kernel", "--ramdisk", f"{tmp}/ramdisk", "-o", str(out)],
            check=True,
            capture_output=True,
        )
        return out.read_bytes()


def regressions(name: str) -> list[bytes]:
    folder = REGRESSIONS / name
    return [p.read_bytes() for p in sorted(folder.glob("*.bin"))] if folder.is_dir() else []


# --- runners --------------------------------------------------------------------------------------------------


def parser(func: Callable[[bytes], object]) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        try:
            func(data)
        except InternalError:
            raise
        except FormatError as exc:
            assert str(exc)  # an error says what is wrong

    return run


def text_parser(func: Callable[[str], object]) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        try:
            func(data.decode("utf-8", "replace"))
        except InternalError:
            raise
        except (FormatError, ValueError):
            pass

    return run


def zip_all(data: bytes) -> None:
    z = open_zip(data, SMALL)
    for e in z.entries:
        try:
            z.read(e, SMALL)
        except InternalError:
            raise
        except FormatError:
            pass
    signing_info(z, data)


def app(data: bytes) -> None:
    """Every fact of one APK (manifest, resources, signatures, dex; the vdex sibling when the dex is missing)."""
    where = Location("fuzz.zip", entry="system/priv-app/X/X.apk")
    read_app(data, "system/priv-app/X/X.apk", where, [("x.vdex", where, vdex())], SMALL)


def _contained(error: InputError) -> None:
    if "internal error" in error.message:
        raise Crash(error.message)


@contextmanager
def _temp_file(name: str, data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bansweep-fuzz-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        yield path


def container(filename: str) -> Callable[[bytes], None]:
    """open_input on the bytes saved as `filename`, every Item read."""

    def run(data: bytes) -> None:
        with _temp_file(filename, data) as path:
            for result in open_input(path, SMALL):
                if isinstance(result, InputError):
                    _contained(result)
                    continue
                try:
                    _read(result)
                except InternalError:
                    raise
                except FormatError:
                    pass

    return run


def _read(item: Item) -> None:
    if item.reader is not None:
        item.read(SMALL.max_entry_bytes)


def erofs_meta(data: bytes) -> None:
    try:
        erofs.ErofsMeta(io.BytesIO(data), len(data)).owners()
    except InternalError:
        raise
    except FormatError:
        pass


def fleet(fmt: str) -> Callable[[bytes], None]:
    from bansweep.fleet import sources

    def run(data: bytes) -> None:
        with _temp_file("input", data) as path:
            for result in sources.parse(fmt, path):
                if isinstance(result, InputError):
                    _contained(result)

    return run


def csl(data: bytes) -> None:
    from bansweep.parties.lists import csl as csl_list

    with _temp_file("csl.csv", data) as path:
        try:
            _lists, errors = csl_list.read(path)
        except InputProblem:
            return
    for error in errors:
        _contained(error)


def _seed_file(path: Path) -> list[bytes]:
    return [path.read_bytes()] if path.is_file() else []


def _some(*seeds: bytes) -> list[bytes]:
    return [s for s in seeds if s]


def all_targets() -> dict[str, Target]:
    fw = FIXTURES / "firmware" / "formats"
    targets = [
        Target("axml-manifest", parser(parse_manifest), lambda: [apk_entry("AndroidManifest.xml")]),
        Target("axml-xml", parser(parse_xml), lambda: [apk_entry("res/xml/")]),
        Target("arsc", parser(lambda b: parse_arsc(b).resolve("@0x7f020000")), lambda: [apk_entry("resources.arsc")]),
        Target("dex", parser(lambda b: list(parse_dex(b).strings)), lambda: [apk_entry("classes.dex")]),
        Target("elf", parser(parse_elf), lambda: [(fw / "native.elf").read_bytes()]),
        Target("oat", parser(carve), lambda: [vdex()]),
        Target("zip-signing", parser(zip_all), lambda: [apk()]),
        Target("apk", parser(app), lambda: [apk()]),
        Target("initrc", text_parser(parse_initrc), lambda: [RC]),
        Target("props", text_parser(parse_props), lambda: [PROPS]),
        Target(
            "updater-script",
            text_parser(lambda t: (updater_script.parse(t), updater_script.symlinks(t))),
            lambda: [UPDATER],
        ),
        Target("erofs-meta", erofs_meta, lambda: _some(erofs_image())),
        Target("container-zip", container("ota.zip"), lambda: [ota_zip()]),
        Target("container-tar", container("factory.tar"), lambda: [factory_tar()]),
        Target("container-ext4", container("system.img"), lambda: _some(ext4_image())),
        Target("container-sparse", container("system.img"), lambda: _some(sparse_of(ext4_image()))),
        Target("container-bootimg", container("boot.img"), lambda: _some(boot_image())),
        Target("parties-csl", csl, lambda: next((_seed_file(p) for p in CSL_SAMPLES if p.is_file()), [])),
    ]
    targets += [
        Target(f"fleet-{fmt}", fleet(fmt), lambda f=file: _seed_file(FIXTURES / "fleet" / f))  # type: ignore[misc]
        for fmt, file in FLEET_SEEDS.items()
    ]
    return {t.name: t for t in targets}


def seeds_of(target: Target) -> list[bytes]:
    """The target's seeds and its regression inputs (crashes found before)."""
    return target.seeds() + regressions(target.name)
