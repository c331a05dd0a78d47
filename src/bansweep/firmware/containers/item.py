"""What every container yields (Item) and the per-input state they share (ContainerContext, Where)."""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.firmware.limits import FormatError, InternalError, Limits

# Partitions whose image or folder name sets the firmware path prefix ("vendor.img" -> "vendor/...").
PARTITIONS = frozenset(
    {"system", "vendor", "product", "system_ext", "odm", "oem", "vendor_dlkm", "odm_dlkm", "system_dlkm"}
)
# Entries with these names are opened as nested containers (when their content says so); APKs and JARs are not.
CONTAINER_SUFFIXES = (
    ".img",
    ".zip",
    ".apex",
    ".capex",
    ".tar",
    ".tgz",
    ".tar.gz",
    ".ext4",
    ".erofs",
    ".raw",
    ".transfer.list",
)
CONTAINER_NAMES = ("original_apex", "payload.bin")  # the APEX inside a compressed .capex; an A/B OTA payload
MAX_LINK_HOPS = 40
CHUNK = 1 << 20


@dataclass(slots=True)
class Item:
    """One file inside an analysed input. read() works as long as the Item is referenced: the temp dir behind it
    is removed once the generator and all its Items are gone (or at exit)."""

    path: str  # firmware path, posix, e.g. "system/priv-app/Foo/Foo.apk"
    location: Location  # file + entry chain
    size: int
    mode: int | None = None  # st_mode incl. setuid/setgid bits, if the container knows it
    uid: int | None = None
    gid: int | None = None
    link: str | None = None  # symlink target
    reader: Callable[[int], bytes] | None = field(default=None, repr=False, compare=False)
    max_bytes: int = field(default=Limits().max_entry_bytes, repr=False, compare=False)
    keep: object = field(default=None, repr=False, compare=False)  # keeps the input's temp dir while referenced

    def read(self, limit: int | None = None) -> bytes:
        """The content, at most `limit` bytes (default: the input's max_entry_bytes); FormatError beyond it."""
        if self.reader is None:
            raise FormatError("symbolic link or special file; no content" if self.link is None else "symbolic link")
        cap = self.max_bytes if limit is None else min(limit, self.max_bytes)
        if self.size > cap:
            raise FormatError(f"{self.size} bytes is over the {cap}-byte read limit")
        try:
            return self.reader(cap)
        except (FormatError, MemoryError):
            raise
        except OSError as exc:
            raise FormatError(f"cannot read: {exc.strerror or exc}") from None
        except Exception as exc:  # a reader's bug on a hostile input is this item's error, not the batch's end
            raise InternalError("reading this entry", exc) from exc


@dataclass(frozen=True, slots=True)
class Where:
    """Where a container sits: the outer input file, the entries leading into it, its firmware path prefix."""

    file: str
    chain: tuple[str, ...] = ()
    prefix: str = ""
    depth: int = 0

    def location(self, entry: str | None = None, offset: int | None = None) -> Location:
        parts = self.chain + ((entry,) if entry else ())
        return Location(self.file, entry="!/".join(parts) or None, offset=offset)

    def child(self, entry: str, prefix: str) -> Where:
        return Where(self.file, self.chain + (entry,), prefix, self.depth + 1)


class Scratch:
    """A private temp dir, removed when the last reference goes (the generator and every Item hold one)."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="bansweep-fw-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)


@dataclass(slots=True)
class ContainerContext:
    """Per-input bounds and the private temp dir; `expand` opens a nested container (set by the package)."""

    limits: Limits
    scratch: Scratch
    expand: Callable[[Path, Where, ContainerContext, Item | None], Iterator[Item | InputError]]
    total: int = 0
    entries: int = 0
    started: float = field(default_factory=time.monotonic)
    opened: set[tuple[str, str]] = field(default_factory=set)  # (sha-256, prefix) of nested containers opened
    _count: int = 0

    def temp_path(self, suffix: str = "") -> Path:
        # Names are ours, never taken from the analysed input.
        self._count += 1
        return self.scratch.path / f"{self._count:06d}{suffix}"

    def charge(self, nbytes: int) -> None:
        self.total += nbytes
        if self.total > self.limits.max_total_bytes:
            raise FormatError(f"input expands to more than {self.limits.max_total_bytes} bytes (size cap)")
        if time.monotonic() - self.started > self.limits.max_seconds:
            raise FormatError(f"input took longer than {self.limits.max_seconds:g} s (time cap)")

    def count(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise FormatError(f"more than {self.limits.max_entries} entries (entry cap)")
        if time.monotonic() - self.started > self.limits.max_seconds:
            raise FormatError(f"input took longer than {self.limits.max_seconds:g} s (time cap)")


def bounded(argv: list[str], limits: Limits) -> list[str]:
    """argv run under util-linux prlimit: address space capped at max_rss_bytes, written files at max_total_bytes.

    The Debian tools we hand untrusted images to are C programs; a crafted image must not make them eat the machine.
    """
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return argv
    return [prlimit, f"--as={limits.max_rss_bytes}", f"--fsize={limits.max_total_bytes}", "--", *argv]


def file_reader(path: Path) -> Callable[[int], bytes]:
    """A bounded reader of a regular file on disk that never follows a symlink; problems are FormatErrors."""

    def read(cap: int) -> bytes:
        try:
            # O_NONBLOCK: a file swapped for a FIFO after listing must not hang the read
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise FormatError("no longer a regular file")
                os.set_blocking(fd, True)
                data = fh.read(cap + 1)
        except OSError as exc:
            raise FormatError(f"cannot read: {exc.strerror or exc}") from None
        if len(data) > cap:
            raise FormatError(f"content is over the {cap}-byte read limit")
        return data

    return read


def copy_bounded(src: Callable[[int], bytes], dst: Path, cap: int, ctx: ContainerContext) -> int:
    """Stream src (read(n) -> bytes) into dst, at most cap bytes, charged to the input's total."""
    written = 0
    with dst.open("wb") as out:
        while block := src(CHUNK):
            written += len(block)
            if written > cap:
                raise FormatError(f"entry is over the {cap}-byte size cap")
            ctx.charge(len(block))
            out.write(block)
    return written


def is_container_name(name: str) -> bool:
    return name.lower().endswith(CONTAINER_SUFFIXES) or posixpath.basename(name) in CONTAINER_NAMES


def safe_name(name: str) -> str | None:
    """The normalised relative posix name, or None for absolute names and names climbing out with '..'."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        return None
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        return None
    clean = posixpath.normpath("/".join(p for p in parts if p not in ("", ".")))
    return "" if clean == "." else clean


def link_problem(path: str, target: str, readlink: Callable[[str], str | None]) -> str | None:
    """Why a symlink at `path` (relative to the container root) must not be followed, or None.

    Absolute targets are read in the firmware's own namespace (relative to the root), as Android would see them.
    """
    current, hops = path, 0
    dest = target
    while True:
        base = "" if dest.startswith("/") else posixpath.dirname(current)
        joined = posixpath.normpath(posixpath.join("/", base, dest))
        depth = 0
        for part in posixpath.join(base, dest.lstrip("/")).split("/"):
            depth += -1 if part == ".." else (0 if part in ("", ".") else 1)
            if depth < 0:
                return f"symbolic link to {target!r} leaves the tree; not followed"
        current = joined.lstrip("/")
        nxt = readlink(current)
        if nxt is None:
            return None
        hops += 1
        if hops > MAX_LINK_HOPS or current == path:
            return f"symbolic link loop through {target!r}; not followed"
        dest = nxt


def image_prefix(entry_path: str) -> str:
    """Firmware prefix for an image found at entry_path: its partition name, else its folder."""
    stem = posixpath.basename(entry_path).split(".")[0]
    for suffix in ("_a", "_b", "_sparse", "_raw"):
        stem = stem.removesuffix(suffix)
    if stem in PARTITIONS:
        return stem + "/"
    folder = posixpath.dirname(entry_path)
    return folder + "/" if folder else ""


def archive_prefix(entry_path: str) -> str:
    """Firmware prefix for an archive at entry_path: inside a partition it keeps its path, else it is a root."""
    top = entry_path.split("/", 1)[0]
    return entry_path + "/" if top in PARTITIONS else ""


def system_as_root(prefix: str, root_dirs: set[str]) -> str:
    """A system image that holds its own 'system' folder (system-as-root) already carries the prefix."""
    name = prefix.rstrip("/")
    return "" if name in PARTITIONS and name in root_dirs else prefix


def open_nested(item: Item, rel: str, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    """Copy an entry that may be an archive or image into the temp dir and open it (else yield the entry)."""
    try:
        data = item.read()
        ctx.charge(len(data))
    except FormatError as exc:
        yield InputError(item.location, exc.message)
        return
    tmp = ctx.temp_path(posixpath.splitext(rel)[1])
    tmp.write_bytes(data)
    del data
    child_prefix = image_prefix(item.path) if item.path.endswith(".img") else archive_prefix(item.path)
    yield from ctx.expand(tmp, where.child(rel, child_prefix), ctx, item)
