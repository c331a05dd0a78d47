"""Owners and modes that a file-based OTA sets through its edify updater-script (set_perm, set_perm_recursive,
set_metadata, set_metadata_recursive), and the symlinks it creates (symlink): a zip carries no Unix modes or links,
so this is where the setuid bits and links of such an OTA live. The script is only read, never run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CALL = re.compile(r"\b(set_perm_recursive|set_perm|set_metadata_recursive|set_metadata)\s*\(([^;]*?)\)\s*;", re.S)
SYMLINK = re.compile(r"\bsymlink\s*\(([^;]*?)\)\s*;", re.S)
MAX_RULES = 100_000


@dataclass(frozen=True, slots=True)
class Perm:
    path: str  # firmware path without the leading slash
    recursive: bool
    uid: int | None
    gid: int | None
    mode: int | None  # files (fmode for recursive rules)
    line: int


def _number(text: str) -> int | None:
    text = text.strip().strip('"')
    try:
        if text.lower().startswith("0x"):
            return int(text, 16)
        return int(text, 8) if text.startswith("0") and len(text) > 1 else int(text)
    except ValueError:
        return None


def symlinks(script: str) -> list[tuple[str, str, int]]:
    """(link path without the leading slash, target, line) for every symlink() the script creates."""
    out: list[tuple[str, str, int]] = []
    for match in SYMLINK.finditer(script):
        args = [a.strip().strip('"') for a in match.group(1).split(",")]
        line = script.count("\n", 0, match.start()) + 1
        out.extend((link.strip("/"), args[0], line) for link in args[1:] if link.strip("/"))
        if len(out) > MAX_RULES:
            break
    return out


def parse(script: str) -> list[Perm]:
    """Permission statements in script order (later ones override earlier ones, as when the script runs)."""
    rules: list[Perm] = []
    for match in CALL.finditer(script):
        name, args = match.group(1), [a.strip() for a in match.group(2).split(",")]
        line = script.count("\n", 0, match.start()) + 1
        if name.startswith("set_perm"):
            numbers = 4 if name == "set_perm_recursive" else 3
            if len(args) <= numbers:
                continue
            values = [_number(a) for a in args[:numbers]]
            uid, gid, mode = values[0], values[1], values[-1]
            paths = [a.strip('"') for a in args[numbers:]]
        else:
            pairs = {args[i].strip('"'): args[i + 1] for i in range(1, len(args) - 1, 2)}
            uid, gid = _number(pairs.get("uid", "")), _number(pairs.get("gid", ""))
            mode = _number(pairs.get("fmode" if name.endswith("recursive") else "mode", ""))
            paths = [args[0].strip('"')]
        for path in paths:
            rules.append(Perm(path.strip("/"), name.endswith("recursive"), uid, gid, mode, line))
        if len(rules) > MAX_RULES:
            break
    return rules


class Perms:
    """Statements indexed for lookup: the last one covering a path wins, as when the script runs."""

    def __init__(self, rules: list[Perm]):
        self.exact: dict[str, tuple[int, Perm]] = {}
        self.recursive: list[tuple[int, Perm]] = []
        for order, rule in enumerate(rules):
            if rule.recursive:
                self.recursive.append((order, rule))
            else:
                self.exact[rule.path] = (order, rule)

    def lookup(self, path: str) -> Perm | None:
        """The statement that sets the file at `path` (firmware path, no leading slash), if any."""
        best = self.exact.get(path)
        for order, rule in reversed(self.recursive):
            if best is not None and order < best[0]:
                break
            if path.startswith(rule.path + "/"):
                best = (order, rule)
                break
        return best[1] if best else None
