"""A connected device through the `adb` binary: packages and their APKs (pulled), build properties (getprop, and the
partitions' build.prop files), init scripts, and a listing of system binaries with modes (`ls -lnR`), whose content
is pulled only when read.

Nothing is run on the device beyond read-only shell commands (pm list, getprop, ls), and nothing pulled is run here.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import signal
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
    except (AdbError, Exhausted) as exc:
        yield InputError(here, str(exc))
        return
    where = Where(f"adb:{serial}")
    try:
        yield from _getprop(run, serial, where, ctx)
        for remote in CONFIG_PATHS:
            yield from _pull(run, serial, remote, True, where, ctx)
        yield from _packages(run, serial, where, ctx)
        yield from _binaries(run, serial, where, ctx)
    except Exhausted as exc:
        yield InputError(Location(where.file), f"stopped reading the device: {exc}")


Run = Callable[..., str]  # run(args, pulled=None, cap=None) -> stdout


class Exhausted(Exception):
    """The input's time or disk budget is used up: nothing more is pulled from the device."""


def _runner(adb: str, ctx: ContainerContext) -> Run:
    """Run adb bounded: its output (MAX_OUTPUT bytes, spooled to disk, not memory), the time left for the input,
    and for a pull the bytes it writes (cap, or the input's disk budget left), watched while it runs; pulled bytes
    are charged to the input's budget. Exhausted once the input's time or disk budget is used up."""
    limits = ctx.limits

    def run(args: list[str], pulled: Path | None = None, cap: int | None = None) -> str:
        left = limits.max_seconds - (time.monotonic() - ctx.started)
        room = limits.max_total_bytes - ctx.total
        if left <= 0:
            raise Exhausted(f"the {limits.max_seconds:g} s time budget of the input is used up")
        if pulled is not None and room <= 0:
            raise Exhausted(f"the {limits.max_total_bytes}-byte disk budget of the input is used up")
        allowed = min(room, cap) if cap is not None else room
        command = f"adb {' '.join(args)}"
        out_path, err_path = ctx.temp_path(".out"), ctx.temp_path(".err")
        try:
            with out_path.open("wb") as out, err_path.open("wb") as err:
                proc = subprocess.Popen(
                    [adb, *args], stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
                )
                problem = _watch(proc, time.monotonic() + left, out_path, pulled, allowed)
            if problem == "time":
                raise AdbError(f"{command} took longer than the {left:.0f} s left for this input")
            if problem == "output":
                raise AdbError(f"{command} printed more than {MAX_OUTPUT} bytes")
            if problem == "disk":
                raise AdbError(f"{command} wrote more than {allowed} bytes (size cap); stopped")
            text = out_path.read_bytes().decode("utf-8", "replace")
            complaint = err_path.read_bytes()[:MAX_OUTPUT].decode("utf-8", "replace")
        finally:
            out_path.unlink(missing_ok=True)
            err_path.unlink(missing_ok=True)
        if pulled is not None:
            try:
                ctx.charge(_usage(pulled))
            except FormatError as exc:
                _remove(pulled)
                raise Exhausted(str(exc)) from None
        if proc.returncode != 0:
            detail = complaint.strip() or f"exit {proc.returncode}"
            raise AdbError(f"{command} failed: {detail}", text, complaint)
        return text

    return run


POLL = 0.05  # seconds between checks of a running adb


def _watch(proc: subprocess.Popen[bytes], deadline: float, out: Path, pulled: Path | None, allowed: int) -> str | None:
    """Wait for proc; kill it and say why ("time", "output", "disk") when it passes a bound."""
    while True:
        try:
            proc.wait(timeout=POLL)
            problem = None
        except subprocess.TimeoutExpired:
            problem = "time" if time.monotonic() > deadline else None
        if problem is None and out.stat().st_size > MAX_OUTPUT:
            problem = "output"
        if problem is None and pulled is not None and _usage(pulled) > allowed:
            problem = "disk"
        if problem is not None:  # adb and whatever it started (its own session; a started adb server detaches)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if pulled is not None:
                _remove(pulled)
            return problem
        if proc.returncode is not None:
            return None


def _usage(path: Path) -> int:
    """Bytes of a pulled file or folder (links not followed); 0 when nothing is there yet."""
    try:
        info = path.lstat()
    except OSError:
        return 0
    if not stat.S_ISDIR(info.st_mode):
        return info.st_size
    total = 0
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            with contextlib.suppress(OSError):  # gone meanwhile
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _only_device(run: Run) -> str:
    devices = [line.split()[0] for line in run(["devices"]).splitlines()[1:] if line.strip().endswith("device")]
    if not devices:
        raise AdbError("no device connected (adb devices lists none)")
    if len(devices) > 1:
        raise AdbError(f"several devices connected ({', '.join(devices)}); name one as adb:SERIAL")
    return devices[0]


def _getprop(run: Run, serial: str, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
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


def _packages(run: Run, serial: str, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
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
    run: Run, serial: str, remote: str, optional: bool, where: Where, ctx: ContainerContext
) -> Iterator[Item | InputError]:
    rel = remote.lstrip("/")
    local = ctx.temp_path(".pull")
    try:
        run(["-s", serial, "pull", remote, str(local)], local)
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


def _binaries(run: Run, serial: str, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
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


def _pull_reader(run: Run, serial: str, remote: str, ctx: ContainerContext) -> Callable[[int], bytes]:
    def read(cap: int) -> bytes:
        local = ctx.temp_path(".pull")
        try:
            run(["-s", serial, "pull", remote, str(local)], local, cap)
        except (AdbError, Exhausted) as exc:
            raise FormatError(str(exc)) from None
        try:
            return file_reader(local)(cap)
        finally:
            local.unlink(missing_ok=True)

    return read
