"""A folder of APKs or an extracted firmware tree (system/, vendor/, product/, system_ext/, odm/ ...).

Modes, uid and gid come from lstat. Symlinks are never followed: each one is an Item with `link` set, and links
that loop or leave the tree are reported. Images and archives inside the tree are opened as nested containers.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.firmware.containers.item import (
    PARTITIONS,
    ContainerContext,
    Item,
    Where,
    archive_prefix,
    file_reader,
    image_prefix,
    is_container_name,
    link_problem,
)
from bansweep.firmware.limits import FormatError

MAX_DIR_DEPTH = 64
PARTITION_MARKERS = ("build.prop", "app", "priv-app", "bin", "etc")


def tree_prefix(root: Path) -> str:
    """A folder named after a partition that looks like one (system/ with build.prop, app/ ...) is that partition."""
    try:
        if root.name in PARTITIONS and any((root / m).exists() for m in PARTITION_MARKERS):
            return root.name + "/"
    except OSError:  # a marker that cannot be looked at is not one
        pass
    return ""


def open_tree(root: Path, where: Where, ctx: ContainerContext) -> Iterator[Item | InputError]:
    yield from walk_tree(root, tree_prefix(root), lambda rel, full: Location(str(full)), where, ctx, owners=True)


def walk_tree(
    root: Path,
    prefix: str,
    locate: Callable[[str, Path], Location],
    where: Where,
    ctx: ContainerContext,
    owners: bool,
) -> Iterator[Item | InputError]:
    """Items for every file below root (sorted, depth first); owners=False leaves uid/gid unknown."""

    def readlink(rel: str) -> str | None:
        try:
            return os.readlink(root / rel)
        except OSError:  # not a link, missing, or a name the system refuses (too long): the chain ends here
            return None

    stack: list[tuple[Path, str, int]] = [(root, "", 0)]
    while stack:
        folder, rel_dir, depth = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield InputError(locate(rel_dir.rstrip("/") or ".", folder), f"cannot list directory: {exc.strerror}")
            continue
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}{entry.name}"
            full = Path(entry.path)
            here = locate(rel, full)
            try:
                ctx.count()
                st = entry.stat(follow_symlinks=False)
            except FormatError as exc:
                yield InputError(here, exc.message)
                return
            except OSError as exc:
                yield InputError(here, f"cannot stat: {exc.strerror}")
                continue
            if stat.S_ISDIR(st.st_mode):
                if depth >= MAX_DIR_DEPTH:
                    yield InputError(here, f"directory nesting deeper than {MAX_DIR_DEPTH}; not read")
                else:
                    subdirs.append((full, rel + "/", depth + 1))
                continue
            item = Item(prefix + rel, here, st.st_size, st.st_mode, max_bytes=ctx.limits.max_entry_bytes)
            if owners:
                item.uid, item.gid = st.st_uid, st.st_gid
            if stat.S_ISLNK(st.st_mode):
                item.link = os.readlink(full)
                item.size = 0
                problem = link_problem(rel, item.link, readlink)
                if problem:
                    yield InputError(here, problem)
                yield item
                continue
            if not stat.S_ISREG(st.st_mode):
                yield item  # device node, fifo or socket: listed with its mode, no content
                continue
            item.reader = file_reader(full)
            if is_container_name(entry.name):
                fw_path = prefix + rel
                child_prefix = image_prefix(fw_path) if fw_path.endswith(".img") else archive_prefix(fw_path)
                real = here.entry is None  # a file of the analysed tree, not one we extracted
                inner = Where(str(full), (), child_prefix, where.depth + 1) if real else where.child(rel, child_prefix)
                yield from ctx.expand(full, inner, ctx, item)
            else:
                yield item
        stack.extend(reversed(subdirs))
