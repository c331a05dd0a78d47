"""Banner fingerprints: Rapid7 Recog XML databases and nmap's nmap-service-probes (service_probes.py).

Recog patterns are Ruby regexes; `translate` turns one into a Python pattern with the rules that make every
Recog example match its own pattern in Python (Ruby `^`/`$` are always per line, Ruby `(?m)` is Python `(?s)`,
global inline flags must lead the pattern, plus the few Ruby escapes Python lacks).
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from bansweep.findings import InputError, Location
from bansweep.fleet import service_probes
from bansweep.fleet.fingerprint_db import (
    MAX_BANNER_CHARS,
    MAX_DB_BYTES,
    RECOG_FIELDS,
    Database,
    Example,
    Fingerprint,
    Param,
)

__all__ = [
    "MAX_BANNER_CHARS",
    "MAX_DB_BYTES",
    "RECOG_FIELDS",
    "VENDOR_PARAMS",
    "Database",
    "Example",
    "Fingerprint",
    "Param",
    "PatternError",
    "Recog",
    "load_file",
    "selftest",
    "translate",
]

MAX_PATTERN_CHARS = 8192

# which Recog parameter names a device maker, and how strongly (a service vendor is software, not hardware)
VENDOR_PARAMS: tuple[tuple[str, float], ...] = (("hw.vendor", 0.85), ("os.vendor", 0.6), ("service.vendor", 0.4))

_FLAGS = {"REG_ICASE": re.I, "REG_MULTILINE": re.S, "REG_DOT_NEWLINE": re.S}
_INLINE = re.compile(r"\(\?([imx]*)(?:-([imx]+))?([:)])")
_NAMED = re.compile(r"\(\?<(?![=!])")
_FP_TAG = re.compile(rb"<fingerprint[\s>/]")


class PatternError(ValueError):
    pass


def translate(pattern: str, flags: str = "") -> re.Pattern[str]:
    """Compile a Recog (Ruby) regex as Python `re`. Raises PatternError with the reason."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"pattern longer than {MAX_PATTERN_CHARS} characters")
    py_flags = re.M  # Ruby: ^ and $ always match at line boundaries
    for name in flags.replace(",", " ").replace("|", " ").split():
        if name not in _FLAGS:
            raise PatternError(f"unknown flag {name!r}")
        py_flags |= _FLAGS[name]
    text = _ruby_escapes(pattern)
    text = _NAMED.sub("(?P<", text)
    # Ruby (?m) is dot-all; Python calls it (?s). A flag group that applies to the rest of the
    # pattern ("(?i)") is global in Python and must lead the pattern, so it is hoisted there.
    leading = ""
    out: list[str] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if _escaped(text, m.start()):
            continue
        on, off, end = m.group(1).replace("m", "s"), (m.group(2) or "").replace("m", "s"), m.group(3)
        out.append(text[pos : m.start()])
        if end == ")" and not off:
            leading += on
        elif end == ")":
            leading += on  # Python has no global "flag off" group; a rest-of-pattern "off" is dropped
        else:
            out.append(f"(?{on}-{off}:" if off else f"(?{on}:")
        pos = m.end()
    out.append(text[pos:])
    body = "".join(out)
    if leading:
        body = f"(?{''.join(sorted(set(leading)))})" + body
    try:
        with warnings.catch_warnings():  # "possible nested set": valid Ruby, and valid (if ambiguous) Python
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(body, py_flags)
    except re.error as exc:
        raise PatternError(f"cannot compile as a Python regex: {exc}") from None


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and text[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _ruby_escapes(pattern: str) -> str:
    """Ruby escapes Python lacks: \\z (end of string), \\h / \\H (hex digit)."""
    if "\\" not in pattern:
        return pattern
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append({"z": r"\Z", "h": "[0-9a-fA-F]", "H": "[^0-9a-fA-F]"}.get(nxt, ch + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def load_file(path: Path) -> tuple[Database | None, list[InputError]]:
    """Parse one Recog XML database. Bad fingerprints become errors naming file and fingerprint; the rest loads."""
    name = str(path)
    errors: list[InputError] = []
    try:
        size = path.stat().st_size
        if size > MAX_DB_BYTES:
            return None, [InputError(Location(name), f"file is {size} bytes; the limit is {MAX_DB_BYTES}")]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [InputError(Location(name), f"cannot read: {exc.strerror or exc}")]
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as exc:
        return None, [InputError(Location(name), f"refused: {type(exc).__name__} (DTDs and entities are not allowed)")]
    except SafeET.ParseError as exc:
        line, col = getattr(exc, "position", (None, None))
        return None, [InputError(Location(name, line=line), f"malformed XML: {exc}")]
    if root.tag != "fingerprints":
        return None, [InputError(Location(name, line=1), f"not a Recog database (root element <{root.tag}>)")]
    matches = root.get("matches", "")
    try:
        preference = float(root.get("preference", "0.5"))
    except ValueError:
        preference = 0.5
    db = Database(path, matches, root.get("protocol", ""), preference)
    data_date = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).date().isoformat()
    lines = [raw.count(b"\n", 0, m.start()) + 1 for m in _FP_TAG.finditer(raw)]
    for index, node in enumerate(root.findall("fingerprint"), start=1):
        line = lines[index - 1] if index - 1 < len(lines) else None
        where = Location(name, line=line, field=f"fingerprint {index}")
        try:
            db.fingerprints.append(_fingerprint(path, index, line, node, data_date))
        except PatternError as exc:
            pattern = (node.get("pattern") or "")[:80]
            errors.append(InputError(where, f"pattern {pattern!r}: {exc}"))
        except ValueError as exc:
            errors.append(InputError(where, str(exc)))
    return db, errors


def _fingerprint(path: Path, index: int, line: int | None, node: Any, data_date: str) -> Fingerprint:
    pattern = node.get("pattern")
    if pattern is None:
        raise ValueError("fingerprint without a pattern attribute")
    regex = translate(pattern, node.get("flags", ""))
    params: list[Param] = []
    for p in node.findall("param"):
        try:
            pos = int(p.get("pos", ""))
        except ValueError:
            raise ValueError(f"param {p.get('name')!r} has no integer pos") from None
        if not p.get("name"):
            raise ValueError("param without a name")
        if pos > regex.groups:
            raise ValueError(f"param {p.get('name')!r} takes group {pos} but the pattern has {regex.groups}")
        params.append(Param(pos, p.get("name"), p.get("value") if pos == 0 else None))
    examples = tuple(_example(path, ex) for ex in node.findall("example"))
    desc = (node.findtext("description") or "").strip()
    return Fingerprint(path.name, index, line, " ".join(desc.split()), regex, tuple(params), examples, data_date)


def _example(path: Path, node: Any) -> Example:
    expected = {k: v for k, v in node.attrib.items() if not k.startswith("_")}
    if node.get("_filename"):
        target = (path.parent / node.get("_filename")).resolve()
        if path.parent.resolve() not in target.parents or not target.is_file():
            raise ValueError(f"example file {node.get('_filename')!r} is not a file beside the database")
        data = target.read_bytes()[:MAX_DB_BYTES]
        text = data.decode("latin-1")
    else:
        text = node.text or ""
    if node.get("_encoding") == "base64":
        try:
            text = base64.b64decode("".join(text.split()), validate=True).decode("latin-1")
        except (binascii.Error, ValueError):
            raise ValueError("example marked base64 is not valid base64") from None
    elif node.get("_encoding"):
        raise ValueError(f"unknown example encoding {node.get('_encoding')!r}")
    return Example(text, expected, None)


def database_files(dirs: Sequence[Path]) -> list[Path]:
    """Recog XML files of each directory (and an nmap-service-probes file in it), or the file given."""
    out: list[Path] = []
    for d in map(Path, dirs):
        if d.is_dir():
            out.extend(sorted(p for p in d.glob("*.xml") if p.is_file()))
            if (d / "nmap-service-probes").is_file():
                out.append(d / "nmap-service-probes")
        else:
            out.append(d)
    return out


@dataclass(slots=True)
class Recog:
    """Every loaded Recog database, indexed by the observation fact it applies to."""

    databases: list[Database] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    by_fact: dict[str, list[Database]] = field(default_factory=dict)
    skipped: int = 0  # nmap-service-probes lines whose PCRE Python cannot compile

    @classmethod
    def load(cls, dirs: Sequence[Path]) -> Recog:
        out = cls()
        for path in database_files(dirs):
            if service_probes.is_probes_file(path):
                dbs, errors, skipped = service_probes.load(path)
                out.skipped += skipped
            else:
                db, errors = load_file(path)
                dbs = [db] if db is not None else []
            out.errors.extend(errors)
            for db in dbs:
                out.databases.append(db)
                for fact in db.facts:
                    out.by_fact.setdefault(fact, []).append(db)
        return out

    @property
    def size(self) -> int:
        return sum(len(db.fingerprints) for db in self.databases)

    @property
    def summary(self) -> str:
        text = f"{self.size} fingerprints in {len(self.databases)} databases"
        if self.skipped:
            text += f"; {self.skipped} nmap-service-probes lines skipped (PCRE that Python's re cannot compile)"
        return text

    def match(self, fact: str, text: str) -> Iterator[tuple[Fingerprint, dict[str, str]]]:
        for db in self.by_fact.get(fact, ()):
            hit = db.first(_recog_inputs(db.matches, text))
            if hit:
                yield hit


def _recog_inputs(matches: str, text: str) -> tuple[str, ...]:
    """Recog's www_authenticate database sees the whole header; sources may give only the realm. nmap's
    fingerprints see whole responses (service_probes.candidates)."""
    if matches.startswith("nmap."):
        return service_probes.candidates(matches, text)
    if matches == "http_header.www_authenticate" and "realm=" not in text.lower():
        return (f'Basic realm="{text}"', text)
    return (text,)


# --- selftest -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ExampleResult:
    fingerprint: Fingerprint
    number: int  # 1-based example number within the fingerprint
    ok: bool
    problem: str = ""


def check_example(fp: Fingerprint, number: int, example: Example) -> ExampleResult:
    m = fp.regex.search(example.text)
    if not m:
        return ExampleResult(fp, number, False, f"example {number} does not match the pattern: {example.text[:80]!r}")
    got = fp.extract(m)
    wrong = [f"{k}: expected {v!r}, got {got.get(k)!r}" for k, v in example.expected.items() if got.get(k) != v]
    if wrong:
        return ExampleResult(fp, number, False, f"example {number}: " + "; ".join(wrong))
    return ExampleResult(fp, number, True)


def selftest(recog: Recog) -> Iterator[tuple[Fingerprint, list[ExampleResult]]]:
    for db in recog.databases:
        for fp in db.fingerprints:
            yield fp, [check_example(fp, n, ex) for n, ex in enumerate(fp.examples, start=1)]
