"""Android init language (.rc files): services with their privileges and sockets, imports, and `on` blocks.

Tokens follow init's parser: whitespace separated, double quotes group, backslash escapes, a trailing backslash
continues the line, `#` at the start of a token starts a comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bansweep.firmware.limits import total

MAX_LINES = 200_000


@dataclass(slots=True)
class Service:
    name: str
    path: str
    args: list[str]
    line: int
    user: str | None = None  # init's default is root
    group: str | None = None
    groups: list[str] = field(default_factory=list)  # supplementary groups
    classes: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)  # "name type perm [user [group [seclabel]]]"
    seclabel: str | None = None
    capabilities: list[str] = field(default_factory=list)
    disabled: bool = False
    oneshot: bool = False
    options: list[tuple[str, int]] = field(default_factory=list)  # every option line as written, with line number


@dataclass(slots=True)
class OnBlock:
    trigger: str
    line: int
    commands: list[tuple[str, int]] = field(default_factory=list)


@dataclass(slots=True)
class InitRc:
    services: list[Service]
    imports: list[tuple[str, int]]
    on_blocks: list[OnBlock]
    issues: list[str]


def _tokens(line: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    quoted = escaped = started = False
    for ch in line:
        if escaped:
            cur.append({"n": "\n", "t": "\t", "r": "\r"}.get(ch, ch))
            escaped = False
        elif ch == "\\":
            escaped = started = True
        elif ch == '"':
            quoted = not quoted
            started = True
        elif ch == "#" and not quoted and not started:
            break
        elif ch.isspace() and not quoted:
            if started:
                out.append("".join(cur))
                cur, started = [], False
        else:
            cur.append(ch)
            started = True
    if started:
        out.append("".join(cur))
    return out


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines()[:MAX_LINES], 1):
        if not pending:
            start = number
        if raw.endswith("\\") and not raw.endswith("\\\\"):
            pending += raw[:-1] + " "
            continue
        out.append((start, pending + raw))
        pending = ""
    if pending:
        out.append((start, pending))
    return out


@total
def parse_initrc(text: str) -> InitRc:
    rc = InitRc(services=[], imports=[], on_blocks=[], issues=[])
    section: Service | OnBlock | None = None
    for number, line in _logical_lines(text):
        tok = _tokens(line)
        if not tok:
            continue
        word = tok[0]
        if word == "service":
            if len(tok) < 3:
                rc.issues.append(f"line {number}: service needs a name and a path")
                section = None
                continue
            section = Service(name=tok[1], path=tok[2], args=tok[3:], line=number)
            rc.services.append(section)
        elif word == "on":
            section = OnBlock(trigger=" ".join(tok[1:]), line=number)
            rc.on_blocks.append(section)
        elif word == "import":
            rc.imports.append((" ".join(tok[1:]), number))
            section = None
        elif isinstance(section, Service):
            _option(section, tok, number, rc.issues)
        elif isinstance(section, OnBlock):
            section.commands.append((" ".join(tok), number))
        else:
            rc.issues.append(f"line {number}: {word!r} outside a service or on block")
    return rc


def _option(svc: Service, tok: list[str], number: int, issues: list[str]) -> None:
    word, args = tok[0], tok[1:]
    svc.options.append((" ".join(tok), number))
    if word == "user" and args:
        svc.user = args[0]
    elif word == "group" and args:
        svc.group, svc.groups = args[0], args[1:]
    elif word == "class":
        svc.classes += args
    elif word == "socket":
        if len(args) < 3:
            issues.append(f"line {number}: socket needs a name, a type and a mode")
        svc.sockets.append(" ".join(args))
    elif word == "seclabel" and args:
        svc.seclabel = args[0]
    elif word == "capabilities":
        svc.capabilities += args
    elif word == "disabled":
        svc.disabled = True
    elif word == "oneshot":
        svc.oneshot = True
