"""nmap's own service fingerprints (`nmap-service-probes`, e.g. /usr/share/nmap/nmap-service-probes from Debian's
nmap-common) loaded as banner fingerprints beside Recog XML (`--fingerprints`).

Each `match`/`softmatch` line of a service fleet observes (SSH, telnet, FTP, HTTP, RTSP, SIP, UPnP) becomes a
Fingerprint: its PCRE regex compiled as Python `re`, its version fields (p/ v/ i/ d/ o/ cpe:) as parameters named
like Recog's, so attribution reads both alike. Which parameter names the maker:
- a hardware CPE (cpe:/h:VENDOR:…) or a product of a device type (d/router/) -> hw.vendor;
- an OS CPE (cpe:/o:VENDOR:…) -> os.vendor;
- otherwise the product name -> service.vendor (software, weak evidence of the device maker).
nmap matches whole responses; fleet facts hold one header or one banner, so each fact is offered in the shapes nmap
saw it in (a banner with its line end, a Server header inside a response). Lines whose PCRE Python cannot compile
are counted and skipped (reported with the fingerprint count).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from bansweep.findings import InputError, Location
from bansweep.fleet.fingerprint_db import MAX_DB_BYTES, Database, Fingerprint, Param

NAME = "nmap-service-probes"
HEAD = "# Nmap service detection probe list"
# nmap service name -> the database key (fingerprints.RECOG_FIELDS maps it to fleet facts)
SERVICES = {
    "ssh": "nmap.ssh",
    "telnet": "nmap.telnet",
    "ftp": "nmap.ftp",
    "http": "nmap.http",
    "rtsp": "nmap.rtsp",
    "sip": "nmap.sip",
    "upnp": "nmap.upnp",
}
_MATCH = re.compile(r"^(match|softmatch)\s+(\S+)\s+m(\S)")
_FIELD = re.compile(r"\s*(cpe:|[pvihod])(\S)")
_DOLLAR = re.compile(r"\$(\d)|\$(?:SUBST|P|I)\((\d)[^)]*\)")
_SOFTWARE_TYPES = {"general purpose", ""}


def is_probes_file(path: Path) -> bool:
    if path.name == NAME:
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(len(HEAD)).decode("latin-1") == HEAD
    except OSError:
        return False


def load(path: Path) -> tuple[list[Database], list[InputError], int]:
    """Databases (one per service), errors, and the number of lines skipped as not compilable in Python."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_DB_BYTES:
            return [], [InputError(Location(name), f"file is {size} bytes; the limit is {MAX_DB_BYTES}")], 0
        text = path.read_bytes().decode("latin-1")
    except OSError as exc:
        return [], [InputError(Location(name), f"cannot read: {exc.strerror or exc}")], 0
    date = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).date().isoformat()
    dbs: dict[str, Database] = {}
    skipped = 0
    probe = ""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith("Probe "):
            probe = " ".join(line.split()[1:3])
            continue
        m = _MATCH.match(line)
        if m is None or m.group(2) not in SERVICES:
            continue
        try:
            fp = parse_line(line, path.name, number, probe, date)
        except ValueError:
            skipped += 1
            continue
        key = SERVICES[m.group(2)]
        db = dbs.get(key)
        if db is None:
            db = dbs[key] = Database(path, key, m.group(2), 0.5)
        db.fingerprints.append(fp)
    for db in dbs.values():  # a softmatch only names the service: every full match is tried first
        db.fingerprints.sort(key=lambda fp: fp.description.split(" ", 3)[2] == "softmatch")
    return list(dbs.values()), [], skipped


def parse_line(line: str, file: str, number: int, probe: str, date: str) -> Fingerprint:
    """One match line -> Fingerprint. ValueError when the line is malformed or its regex not Python's."""
    m = _MATCH.match(line)
    if m is None:
        raise ValueError("not a match line")
    delim = m.group(3)
    end = line.find(delim, m.end())
    if end < 0:
        raise ValueError("regex not closed")
    pattern = line[m.end() : end]
    pos = end + 1
    flags = 0
    while pos < len(line) and line[pos] in "is":
        flags |= re.I if line[pos] == "i" else re.S
        pos += 1
    try:
        regex = re.compile(pattern.encode("latin-1").decode("latin-1"), flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ValueError(str(exc)) from None
    fields: dict[str, str] = {}
    cpes: list[str] = []
    rest = line[pos:]
    while True:
        f = _FIELD.match(rest)
        if f is None:
            break
        close = rest.find(f.group(2), f.end())
        if close < 0:
            raise ValueError("version field not closed")
        value = rest[f.end() : close]
        rest = rest[close + 1 :].lstrip("a")  # cpe:/…/a marks an approximate CPE
        if f.group(1) == "cpe:":
            cpes.append(value)
        else:
            fields[f.group(1)] = value
    params = _params(fields, cpes, regex.groups)
    product = fields.get("p", "")
    return Fingerprint(
        file,
        number,
        number,
        f"{probe} probe, {m.group(1)} {m.group(2)}: {product}".strip(),
        regex,
        tuple(params),
        (),
        date,
        scheme="nmap",
    )


def _params(fields: dict[str, str], cpes: list[str], groups: int) -> list[Param]:
    params: list[Param] = []
    used: set[int] = set()

    def value(text: str) -> str:
        def group(m: re.Match[str]) -> str:
            n = int(m.group(1) or m.group(2))
            if n > groups:
                raise ValueError(f"${n} but the regex has {groups} groups")
            used.add(n)
            return "{_" + str(n) + "}"

        return _DOLLAR.sub(group, text)

    product = value(fields.get("p", ""))
    dtype = fields.get("d", "")
    hw = next((c for c in cpes if c.startswith("h:")), None)
    os_cpe = next((c for c in cpes if c.startswith("o:")), None)
    if product:
        params.append(Param(0, "service.product", product))
    if dtype:
        params.append(Param(0, "hw.device", value(dtype)))
    if hw:
        params.append(Param(0, "hw.vendor", value(hw.split(":")[1])))
    elif product and dtype not in _SOFTWARE_TYPES:
        params.append(Param(0, "hw.vendor", product))
    if os_cpe:
        params.append(Param(0, "os.vendor", value(os_cpe.split(":")[1])))
    if product:
        params.append(Param(0, "service.vendor", product))
    if fields.get("o"):
        params.append(Param(0, "os.product", value(fields["o"])))
    params.extend(Param(n, f"_{n}", None) for n in sorted(used))
    return params


def candidates(matches: str, text: str) -> tuple[str, ...]:
    """The shapes a fact is offered to nmap's regexes in: a banner with the line end nmap saw, a header value
    inside a response."""
    service = matches.removeprefix("nmap.")
    crlf = text.replace("\r\n", "\n").replace("\n", "\r\n")
    if service in ("ssh", "ftp"):
        return (crlf + "\r\n", text + "\n")
    if service == "telnet":
        return (crlf, crlf + "\r\n", "\r\n" + crlf)
    if service in ("http", "upnp"):
        return (f"HTTP/1.1 200 OK\r\nServer: {text}\r\n\r\n", f"HTTP/1.0 200 OK\r\nServer: {text}\r\n\r\n")
    if service == "rtsp":
        return (f"RTSP/1.0 200 OK\r\nServer: {text}\r\n\r\n",)
    if service == "sip":
        return (f"SIP/2.0 200 OK\r\nServer: {text}\r\n\r\n", f"SIP/2.0 200 OK\r\nUser-Agent: {text}\r\n\r\n")
    return (text,)
