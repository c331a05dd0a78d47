"""A connected device through the `adb` binary: packages and their APKs (pulled), build properties (getprop, and the
partitions' build.prop files), init scripts, and a listing of system binaries with modes (`ls -lnR`), whose content
is pulled only when read.

Nothing is run on the device beyond read-only shell commands (pm list, getprop, ls), and nothing pulled is run here.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.firmware.containers.directory import walk_tree
from bansweep.firmware.containers.item import ContainerContext, Item, Where, file_reader
from bansweep.firmware.limits import FormatError

BINARY_DIRS = ("/system/bin", "/system/xbin", "/vendor/bin", "/product/bin", "/system_ext/bin", "/odm/bin")
# Build properties and init scripts as the partitions hold them; any of them may be absent on a given device.
CONFIG_PATHS = tuple(
    f"/{part}/{what}"
    for part in ("system", "vendor", "product", "system_ext", "odm")
    for what in ("build.prop", "etc/init")
) + ("/init.rc", "/system/etc/init/hw", "/vendor/default.prop")
LS_LINE = re.compile(
    r"^(?P<mode>[-bcdlps][-rwxsStT]{9})\S*\s+\d+\s+(?P<uid>\d+)\s+(?P<gid>\d+)\s+(?P<size>\d+|\d+,\s*\d+)\s+"
    r"\d{4}-\d\d-\d\d\s+\d\d:\d\d\s+(?P<name>.+)$"
)
FILE_TYPES = {
    "-": stat.S_IFREG,
    "d": stat.S_IFDIR,
    "l": stat.S_IFLNK,
    "c": stat.S_IFCHR,
    "b": stat.S_IFBLK,
    "p": stat.S_IFIFO,
    "s": stat.S_IFSOCK,
}
PM_LINE = re.compile(r"^package:(?P<path>/.+\.apk)=(?P<package>[\w.]+)$")
MAX_OUTPUT = 64 * 2**20


class AdbError(Exception):
    def __init__(self, message: str, stdout: str = "", stderr: str = ""):
        super().__init__(message)
        self.stdout, self.stderr = stdout, stderr


def parse_mode(text: str) -> int:
    """st_mode from an `ls -l` mode string such as '-rwsr-x---'."""
    mode = FILE_TYPES[text[0]]
    for i, (bit_r, bit_w, bit_x, special) in enumerate(
        ((0o400, 0o200, 0o100, stat.S_ISUID), (0o40, 0o20, 0o10, stat.S_ISGID), (0o4, 0o2, 0o1, stat.S_ISVTX))
    ):
        r, w, x = text[1 + 3 * i], text[2 + 3 * i], text[3 + 3 * i]
        mode |= (bit_r if r == "r" else 0) | (bit_w if w == "w" else 0)
        mode |= {"x": bit_x, "s": bit_x | special, "t": bit_x | special, "S": special, "T": special}.get(x, 0)
    return mode


def parse_ls(text: str) -> Iterator[tuple[str, int, int, int, int, str | None] | tuple[int, str]]:
    """(path, mode, uid, gid, size, link) per listed file; (line number, text) for a line that isn't understood."""
    folder = ""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("total "):
            continue
        if line.startswith("/") and line.endswith(":"):
            folder = line[:-1]
            continue
        match = LS_LINE.match(line)
        if match is None or not folder:
            yield number, line
            continue
        name, link = match["name"], None
        if match["mode"][0] == "l" and " -> " in name:
            name, link = name.split(" -> ", 1)
        size = int(match["size"]) if "," not in match["size"] else 0
        yield posixpath.join(folder, name), parse_mode(match["mode"]), int(match["uid"]), int(match["gid"]), size, link


def open_device(serial: str, ctx: ContainerContext) -> Iterator[Item | InputError]:
    here = Location(f"adb:{serial}")
    adb = shutil.which("adb")
    if adb is None:
        yield InputError(here, "adb not found on PATH (install Debian package adb); cannot read a device")
        return
    run = _runner(adb, ctx)
    try:
        serial = serial or _only_device(run)
        state = run(["-s", serial, "get-state"]).strip()
        if state != "device":
            raise AdbError(f"device {serial} is {state or 'not ready'}")
    except AdbError as exc:
        yield InputError(here, str(exc))
        return
    where = Where(f"adb:{serial}")
    yield from _getprop(run, serial, where, ctx)
    for remote in CONFIG_PATHS:
        yield from _pull(run, serial, remote, True, where, ctx)
    yield from _packages(run, serial, where, ctx)
    yield from _binaries(run, serial, where, ctx)


def _runner(adb: str, ctx: ContainerContext) -> Callable[[list[str]], str]:
    def run(args: list[str]) -> str:
        left = ctx.limits.max_seconds - (time.monotonic() - ctx.started)
        try:
            done = subprocess.run([adb, *args], capture_output=True, timeout=max(left, 1.0), stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise AdbError(f"adb {' '.join(args)} took longer than {ctx.limits.max_seconds:g} s") from None
        if len(done.stdout) > MAX_OUTPUT:
            raise AdbError(f"adb {' '.join(args)} printed more than {MAX_OUTPUT} bytes")
        out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
        if done.returncode != 0:
            detail = err.strip() or f"exit {done.returncode}"
            raise AdbError(f"adb {' '.join(args)} failed: {detail}", out, err)
        return out

    return run


def _only_device(run: Callable[[list[str]], str]) -> str:
    devices = [line.split()[0] for line in run(["devices"]).splitlines()[1:] if line.strip().endswith("device")]
    if not devices:
        raise AdbError("no device connected (adb devices lists none)")
    if len(devices) > 1:
        raise AdbError(f"several devices connected ({', '.join(devices)}); name one as adb:SERIAL")
    return devices[0]


def _getprop(
    run: Callable[[list[str]], str], serial: str, where: Where, ctx: ContainerContext
) -> Iterator[Item | InputError]:
    try:
        text = run(["-s", serial, "shell", "getprop"])
    except AdbError as exc:
        yield InputError(where.location("getprop"), str(exc))
        return
    local = ctx.temp_path(".getprop")
    local.write_text(text, encoding="utf-8")
    yield Item(
        "getprop",
        where.location("getprop"),
        local.stat().st_size,
        reader=file_reader(local),
        max_bytes=ctx.limits.max_entry_bytes,
    )


def _packages(
    run: Callable[[list[str]], str], serial: str, where: Where, ctx: ContainerContext
) -> Iterator[Item | InputError]:
    try:
        listing = run(["-s", serial, "shell", "pm", "list", "packages", "-f"])
    except AdbError as exc:
        yield InputError(where.location("pm list packages"), str(exc))
        return
    pulled: set[str] = set()
    for number, line in enumerate(listing.splitlines(), 1):
        if not line.strip():
            continue
        match = PM_LINE.match(line.strip())
        if match is None:
            yield InputError(Location(where.file, entry="pm list packages", line=number), f"unparsed line {line!r}")
            continue
        apk = match["path"]
        folder = posixpath.dirname(apk)
        # An app in its own folder is pulled whole: its oat/<arch>/*.odex|vdex hold the code of odexed builds.
        # Older builds keep app/Foo.apk beside app/Foo.odex (Dalvik ODEX), which may or may not be there.
        if posixpath.basename(folder) not in ("app", "priv-app", "framework"):
            remotes = [(folder, False)]
        else:
            remotes = [(apk, False), (posixpath.splitext(apk)[0] + ".odex", True)]
        for remote, optional in remotes:
            if remote in pulled or ".." in remote.split("/"):
                continue
            pulled.add(remote)
            yield from _pull(run, serial, remote, optional, where, ctx)


def _pull(
    run: Callable[[list[str]], str], serial: str, remote: str, optional: bool, where: Where, ctx: ContainerContext
) -> Iterator[Item | InputError]:
    rel = remote.lstrip("/")
    local = ctx.temp_path(".pull")
    try:
        run(["-s", serial, "pull", remote, str(local)])
    except AdbError as exc:
        if not (optional and "No such file or directory" in str(exc)):
            yield InputError(where.location(rel), str(exc))
        return
    if local.is_dir():

        def locate(sub: str, full: Path) -> Location:
            return where.location(f"{rel}/{sub}")

        yield from walk_tree(local, rel + "/", locate, where, ctx, owners=False)
    elif local.is_file():
        size = local.stat().st_size
        yield Item(rel, where.location(rel), size, reader=file_reader(local), max_bytes=ctx.limits.max_entry_bytes)
    else:
        yield InputError(where.location(rel), "adb pull produced nothing")


def _binaries(
    run: Callable[[list[str]], str], serial: str, where: Where, ctx: ContainerContext
) -> Iterator[Item | InputError]:
    try:
        listing = run(["-s", serial, "shell", "ls", "-lnR", *BINARY_DIRS])
    except AdbError as exc:
        # ls exits non-zero when a folder is missing (normal: not every device has /system/xbin or /odm/bin) or
        # unreadable; keep what it listed and report every complaint but "No such file or directory".
        if not exc.stdout:
            yield InputError(where.location("ls -lnR"), str(exc))
            return
        listing = exc.stdout
        for complaint in exc.stderr.splitlines():
            if complaint.strip() and not complaint.endswith("No such file or directory"):
                yield InputError(where.location("ls -lnR"), complaint.strip())
    for parsed in parse_ls(listing):
        if len(parsed) == 2:
            number, line = parsed
            yield InputError(Location(where.file, entry="ls -lnR", line=number), f"unparsed listing line {line!r}")
            continue
        path, mode, uid, gid, size, link = parsed
        if stat.S_ISDIR(mode):
            continue
        rel = path.lstrip("/")
        item = Item(rel, where.location(rel), size, mode, uid, gid, link, max_bytes=ctx.limits.max_entry_bytes)
        if stat.S_ISREG(mode):
            item.reader = _pull_reader(run, serial, path, ctx)
        yield item


def _pull_reader(
    run: Callable[[list[str]], str], serial: str, remote: str, ctx: ContainerContext
) -> Callable[[int], bytes]:
    def read(cap: int) -> bytes:
        local = ctx.temp_path(".pull")
        try:
            run(["-s", serial, "pull", remote, str(local)])
        except AdbError as exc:
            raise FormatError(str(exc)) from None
        try:
            return file_reader(local)(cap)
        finally:
            local.unlink(missing_ok=True)

    return read
