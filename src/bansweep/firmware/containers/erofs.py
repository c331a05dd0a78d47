"""EROFS images, extracted with Debian's erofs-utils (`fsck.erofs --extract`) into the private temp dir.

fsck.erofs runs with a timeout and is handed only the image; extraction keeps permissions (incl. setuid) but not
owners (chown after chmod would clear setuid bits), so the owner of each setuid/setgid file is asked from
`dump.erofs --path`. The image's total original file size (`dump.erofs -S`) is checked against the size cap first.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from bansweep.findings import InputError
from bansweep.firmware.containers.directory import walk_tree
from bansweep.firmware.containers.item import Context, Item, Where, bounded, system_as_root
from bansweep.firmware.limits import FormatError

MAGIC = 0xE0F5E1E2
TOTAL_RE = re.compile(r"total original file size:\s*(\d+)")
OWNER_RE = re.compile(r"Uid:\s*(\d+)\s+Gid:\s*(\d+)")


def _run(args: list[str], ctx: Context) -> str:
    tool = shutil.which(args[0])
    if tool is None:
        raise FormatError(f"{args[0]} not found (install Debian package erofs-utils)")
    left = ctx.limits.max_seconds - (time.monotonic() - ctx.started)
    try:
        done = subprocess.run(
            bounded([tool, *args[1:]], ctx.limits),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=max(left, 1.0),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise FormatError(f"{args[0]} took longer than {ctx.limits.max_seconds:g} s (time cap)") from exc
    if done.returncode < 0:
        raise FormatError(f"{args[0]} killed by signal {-done.returncode} (memory or file-size cap?)")
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise FormatError(f"{args[0]} failed: {detail[-1] if detail else 'exit ' + str(done.returncode)}")
    return done.stdout


def open_erofs(path: Path, where: Where, ctx: Context) -> Iterator[Item | InputError]:
    stats = _run(["dump.erofs", "-S", str(path)], ctx)
    total = TOTAL_RE.search(stats)
    if total is None:
        raise FormatError("dump.erofs gave no file size statistics")
    ctx.charge(int(total.group(1)))
    out = ctx.temp_path(".erofs.d")
    _run(["fsck.erofs", f"--extract={out}", "--preserve-perms", "--no-preserve-owner", str(path)], ctx)
    root_dirs = {p.name for p in out.iterdir() if p.is_dir() and not p.is_symlink()}
    prefix = system_as_root(where.prefix, root_dirs)
    for result in walk_tree(out, prefix, lambda rel, full: where.location(rel), where, ctx, owners=False):
        if isinstance(result, Item) and result.mode is not None and result.mode & (stat.S_ISUID | stat.S_ISGID):
            rel = result.path[len(prefix) :]
            owner = OWNER_RE.search(_run(["dump.erofs", f"--path=/{rel}", str(path)], ctx))
            if owner:
                result.uid, result.gid = int(owner.group(1)), int(owner.group(2))
        yield result
