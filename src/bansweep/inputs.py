"""Finding input files and reading them within bounds. Analysed files are untrusted."""

from __future__ import annotations

import codecs
import errno
import os
import stat
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from bansweep.findings import InputError, Location

FOLLOW_SYMLINKS: ContextVar[bool] = ContextVar("follow_symlinks", default=False)
HEAD_BYTES = 64 * 1024
MAX_TEXT_BYTES = 512 * 1024 * 1024  # a text input larger than this is refused
MAX_WALK_DEPTH = 64


class InputProblem(Exception):
    """Raised by parsers for an unreadable input; carries where it happened."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(f"{location}: {message}")
        self.location = location
        self.message = message

    def to_error(self) -> InputError:
        return InputError(self.location, self.message)


@dataclass(slots=True)
class InputFile:
    path: Path
    head: bytes  # first HEAD_BYTES bytes, for content sniffing

    @property
    def name(self) -> str:
        return str(self.path)


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    with path.open("rb") as fh:
        return fh.read(size)


def walk(paths: list[Path], follow_symlinks: bool | None = None) -> Iterator[InputFile | InputError]:
    """Yield every regular file under paths (sorted), and an InputError for everything else.

    A path given here is read even when it is a symbolic link. Inside folders, links to files are read, links to
    folders are reported and not followed unless follow_symlinks (loops are then cut), and links that cannot be
    resolved (dangling, looping, unreadable, name too long) are InputErrors; so are missing paths, unreadable
    files and special files. Nothing here raises OSError. follow_symlinks None: as FOLLOW_SYMLINKS says (the
    command line's --follow-symlinks).
    """
    if follow_symlinks is None:
        follow_symlinks = FOLLOW_SYMLINKS.get()
    for root in paths:
        try:
            st = root.stat()
        except OSError as exc:
            yield InputError(Location(str(root)), _unreadable(exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root, st, 0, set(), follow_symlinks)
        else:
            yield from _one_file(root)


def _unreadable(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    return f"cannot read: {exc.strerror or exc}"


def _walk_dir(
    directory: Path, st: os.stat_result, depth: int, seen: set[tuple[int, int]], follow: bool
) -> Iterator[InputFile | InputError]:
    key = (st.st_dev, st.st_ino)
    if key in seen:
        yield InputError(Location(str(directory)), "directory loop (symlink cycle); not followed")
        return
    if depth > MAX_WALK_DEPTH:
        yield InputError(Location(str(directory)), f"directory nesting deeper than {MAX_WALK_DEPTH}; not read")
        return
    seen = seen | {key}
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        yield InputError(Location(str(directory)), f"cannot list directory: {exc.strerror or exc}")
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            link = entry.is_symlink()
            target = os.stat(path) if link else entry.stat(follow_symlinks=False)
        except OSError as exc:
            if link and exc.errno == errno.ENOENT:
                yield InputError(Location(str(path)), "dangling symbolic link")
            elif link:
                yield InputError(Location(str(path)), f"symbolic link cannot be resolved: {exc.strerror or exc}")
            else:
                yield InputError(Location(str(path)), f"cannot read: {exc.strerror or exc}")
            continue
        if not stat.S_ISDIR(target.st_mode):
            yield from _one_file(path)
        elif not link or follow:
            yield from _walk_dir(path, target, depth + 1, seen, follow)
        else:
            yield InputError(Location(str(path)), "symbolic link to a folder; not followed (see --follow-symlinks)")


def _one_file(path: Path) -> Iterator[InputFile | InputError]:
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            yield InputError(Location(str(path)), "not a regular file")
            return
        yield InputFile(path, read_head(path))
    except OSError as exc:
        yield InputError(Location(str(path)), f"cannot read: {exc.strerror or exc}")


def decode_text(data: bytes, file: str) -> str:
    """Decode a text input: BOMs (UTF-8/16/32) honoured, UTF-8 strict, cp1252 as the fallback.

    Binary data (NUL bytes outside UTF-16/32) raises InputProblem.
    """
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(enc)
            except UnicodeDecodeError as exc:
                raise InputProblem(Location(file, offset=exc.start + len(bom)), f"invalid {enc} text") from None
    sample = data[:4096]
    if len(sample) >= 4 and sample.count(b"\x00") * 3 > len(sample):
        # UTF-32 (three NULs in four bytes) or UTF-16 (every other byte NUL) without a BOM
        sample = sample[: len(sample) // 4 * 4]
        if not (sample[2::4] + sample[3::4]).strip(b"\x00"):
            enc = "utf-32-le"
        elif not (sample[0::4] + sample[1::4]).strip(b"\x00"):
            enc = "utf-32-be"
        else:
            enc = "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise InputProblem(Location(file, offset=data.index(b"\x00")), "binary data where text was expected")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_text(path: Path, limit: int = MAX_TEXT_BYTES) -> str:
    """Read a whole text input within a size bound, decoded as decode_text does."""
    size = path.stat().st_size
    if size > limit:
        raise InputProblem(Location(str(path)), f"file is {size} bytes; the limit for this input type is {limit}")
    return decode_text(path.read_bytes(), str(path))
