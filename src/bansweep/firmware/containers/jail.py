"""Run an external extractor so that it can write only into one private folder.

The tool runs in a new user and mount namespace (util-linux `unshare -rm`) in which every mount is read-only except
a bind mount of the output folder. Where user namespaces are not allowed (some hardened kernels), `confined` says so
and the caller relies on its own checks of what the tool will create (and then of what it did create).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

JAIL_FAILED = 97  # exit code of the launcher when it could not make the file system read-only
# Pseudo file systems: not places a crafted name can put a file, and often not remountable in a namespace.
PSEUDO = frozenset(
    [
        "proc",
        "sysfs",
        "cgroup",
        "cgroup2",
        "devpts",
        "mqueue",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "bpf",
        "fusectl",
        "configfs",
        "binfmt_misc",
        "autofs",
        "efivarfs",
        "nsfs",
        "rpc_pipefs",
    ]
)

# Runs inside the namespace: bind the output folder onto itself, remount everything else read-only, then exec.
LAUNCHER = f"""
import os, re, subprocess, sys
out, argv = sys.argv[1], sys.argv[3:]
run = lambda *a: subprocess.run(["mount", *a], capture_output=True).returncode
if run("--bind", out, out):
    sys.exit({JAIL_FAILED})
for line in open("/proc/self/mountinfo"):
    f = line.split()
    point = re.sub(r"\\\\([0-7]{{3}})", lambda m: chr(int(m.group(1), 8)), f[4])
    if point != out and run("-o", "remount,bind,ro", point) and f[f.index("-") + 1] not in {sorted(PSEUDO)!r}:
        sys.exit({JAIL_FAILED})
os.execvp(argv[0], argv)
"""


def confined(argv: list[str], writable: Path) -> list[str] | None:
    """argv wrapped so that it can write only below `writable` (an existing folder), or None if not possible here."""
    if not jail_works():
        return None
    wrapped = [
        shutil.which("unshare") or "unshare",
        "-rm",
        sys.executable,
        "-I",
        "-c",
        LAUNCHER,
        str(writable.resolve()),
        "--",
    ]
    return wrapped + argv


@functools.cache
def jail_works() -> bool:
    """Whether this system lets us build the jail (tried once per process)."""
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if unshare is None or mount is None:
        return False
    with tempfile.TemporaryDirectory(prefix="bansweep-jail-") as probe:
        argv = [unshare, "-rm", sys.executable, "-I", "-c", LAUNCHER, str(Path(probe).resolve()), "--", "true"]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return done.returncode == 0
