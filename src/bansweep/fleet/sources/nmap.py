"""nmap XML (`-oX`): one Observation per host (MAC, nmap's vendor, IPs, hostnames, OS match) and one per open port
(service identification, CPEs and banner-bearing script outputs mapped onto the fact vocabulary).

Parsed incrementally with defusedxml: entity declarations are refused, depth is bounded, and hosts completely read
before a truncation or syntax error are kept.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from pyexpat import ExpatError, ParserCreate
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from bansweep.findings import InputError, Location
from bansweep.fleet import nmap_services
from bansweep.fleet.model import NO_CONTEXT, NO_LINES, Observation
from bansweep.fleet.sources.common import MAX_LINE, MAX_RECORDS, clip, fast_mac, line_location
from bansweep.inputs import MAX_TEXT_BYTES, InputProblem

FORMAT = "nmap"
MAX_DEPTH = 64
CHUNK = 64 * 1024

# raw banner (script "banner") -> fact, by nmap service name
BANNER_FACTS = {
    "telnet": "telnet.banner",
    "ssh": "ssh.banner",
    "ftp": "ftp.banner",
    "sip": "sip.banner",
    "sip-tls": "sip.banner",
}
# response status-line protocol -> fact for its Server header
SERVER_FACTS = {"HTTP": "http.server", "RTSP": "rtsp.server", "SIP": "sip.banner"}
REFUSED = {
    "EntitiesForbidden": "XML entity declaration",
    "ExternalReferenceForbidden": "XML external reference",
    "DTDForbidden": "XML DTD",
}
_REALM = re.compile(r"""realm\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s,]+))""", re.IGNORECASE)
_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")
_PROBE = re.compile(r"^ {0,2}[A-Za-z][\w, -]*:\s*$")
_TITLE = re.compile(r"<title>([^<]{1,512})</title>", re.IGNORECASE)
_STATUS = re.compile(r"^\s*(HTTP|RTSP|SIP)/\d\.\d\s+\d{3}", re.MULTILINE)


def sniff(head: bytes, text: str | None, path: Path) -> bool:
    return text is not None and "<nmaprun" in text


def realm(text: str) -> str | None:
    """The realm of a WWW-Authenticate value ('Digest realm="X", qop=…') or of nmap's http-auth output."""
    m = _REALM.search(text)
    if not m:
        return None
    return next(g for g in m.groups() if g is not None).strip() or None


def unescape(text: str) -> str:
    """nmap writes non-printable banner bytes as \\xHH; turn them back into characters."""
    out = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return out.replace("\r\n", "\n").replace("\r", "\n").strip()


class _Stop(Exception):
    """The prolog check reached the root element."""


class _Prolog:
    """defusedxml's parser run over the document's start until its root element: refuses entity declarations and
    external references (which can only come before the root) and checks the root is <nmaprun>, naming the line.

    The document itself is then read by ElementTree's C parser, which calls no Python per element."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.parser = DefusedXMLParser(
            target=ET.TreeBuilder(), forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
        self.expat: Any = self.parser.parser  # type: ignore[attr-defined]
        self.expat.StartElementHandler = self.start

    def start(self, tag: str, attrs: object) -> None:
        if tag != "nmaprun":
            raise InputProblem(
                Location(self.file, line=self.expat.CurrentLineNumber), f"root element is <{tag}>, not <nmaprun>"
            )
        raise _Stop

    def feed(self, chunk: bytes) -> bool:
        """True once the root element is reached (or the prolog is malformed: the main parser reports that)."""
        try:
            if chunk:
                self.parser.feed(chunk)
            else:
                self.parser.close()
        except (_Stop, ET.ParseError):
            return True
        return False


_TAGS = re.compile(rb"<(?:host|port)[\s/>]|<!--|<!\[CDATA\[|<\?")
_SKIP_TO = {b"<!--": b"-->", b"<![CDATA[": b"]]>", b"<?": b"?>"}


class _Lines:
    """The line of each <host> and <port> start tag, in document order, found in the raw bytes (comments, CDATA
    sections and processing instructions passed over; UTF-8 and other ASCII-compatible encodings only). Fed whole lines, so a tag name is never cut between two chunks."""

    def __init__(self) -> None:
        self.line = 1
        self.skip = b""  # the end of a comment or CDATA section still open at the end of the last chunk
        self.found: deque[int] = deque()

    def scan(self, chunk: bytes) -> None:
        pos = counted = 0
        line = self.line
        if self.skip:
            end = chunk.find(self.skip)
            if end < 0:
                self.line += chunk.count(b"\n")
                return
            pos, self.skip = end + len(self.skip), b""
        while m := _TAGS.search(chunk, pos):
            line += chunk.count(b"\n", counted, m.start())
            counted = m.start()
            if m.group() not in _SKIP_TO:
                self.found.append(line)
                pos = m.end()
                continue
            close = _SKIP_TO[m.group()]
            end = chunk.find(close, m.end())
            if end < 0:
                self.skip = close
                break
            pos = end + len(close)
        self.line = line + chunk.count(b"\n", counted)


def parse(path: Path, mapping: dict[str, str] | None = None) -> Iterator[Observation | InputError]:
    """The file read incrementally: each <host> becomes observations (host_observations) once complete and is
    then dropped, so memory stays flat whatever the number of hosts."""
    file = str(path)
    size = path.stat().st_size
    if size == 0:
        raise InputProblem(Location(file), "empty file")
    if size > MAX_TEXT_BYTES:
        raise InputProblem(Location(file), f"file is {size} bytes; the limit for XML inputs is {MAX_TEXT_BYTES}")
    prolog: _Prolog | None = _Prolog(file)
    # ElementTree's C parser builds the tree; its events go to a queue that is only looked at, never iterated:
    # a scan has millions of elements, and a Python step for each event was most of the reading time. Children of
    # <nmaprun> are read once complete (see _complete), their depth checked by _check_depth.
    events: deque[tuple[str, ET.Element]] = deque()
    parser = ET.XMLParser(target=ET.TreeBuilder())
    parser._setevents(events, ("start", "end"))  # type: ignore[attr-defined]  # what XMLPullParser does
    found = _Lines()
    root: ET.Element | None = None
    hosts = 0
    shared: dict[Any, dict[str, str]] = {}  # this file's facts and fact origins, one dict each (_shared)
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if chunk and not chunk.endswith(b"\n"):
                chunk += fh.readline(MAX_LINE)
            try:
                if prolog is not None and prolog.feed(chunk):
                    prolog = None
            except LookupError as exc:  # an encoding declaration Python does not know
                yield InputError(Location(file, line=1), f"unknown text encoding declared: {exc}")
                return
            except DefusedXmlException as exc:
                what = REFUSED.get(type(exc).__name__, "XML construct")
                yield InputError(
                    Location(file, line=prolog.expat.CurrentLineNumber if prolog else None),
                    f"{what} refused: entity expansion and external references are not allowed in analysed files",
                )
                return
            found.scan(chunk)
            error: ET.ParseError | None = None
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
            except ET.ParseError as exc:
                error = exc
            if root is None and events:
                root = events[0][1]
            last = events[-1][1] if events else None
            events.clear()
            if root is not None:
                # every child but the last is complete; the last one too once it (or the root) has ended
                done = len(root) if last is root or len(root) and last is root[-1] else len(root) - 1
                complete = root[: max(done, 0)]
                del root[: len(complete)]  # at once: one by one, a chunk of many tiny children costs its square
                for elem in complete:
                    if not len(elem) and elem.tag != "host" and elem.tag != "port":
                        continue  # a leaf that is neither: nothing to read or check
                    _check_depth(elem, path, 2)
                    lines = _host_lines(elem, found.found)
                    if elem.tag == "host":
                        for record in host_observations(elem, lines, file, shared):
                            if isinstance(record, Observation):
                                hosts += 1
                            yield record
                _check_depth(root, path)
            if error is not None:
                line = error.position[0] if error.position else None
                yield InputError(Location(file, line=line), _parse_message(error, truncated=not chunk))
                return
            if hosts > MAX_RECORDS:
                yield InputError(Location(file), f"more than {MAX_RECORDS} hosts; the rest of the file was not read")
                return
            if not chunk:
                return


def _check_depth(elem: ET.Element, path: Path, depth: int = 1) -> None:
    """Raise if elements nest deeper than MAX_DEPTH under elem (at depth `depth`): its last descendants (where
    the parser is) walked down, or, for a complete element with more elements than MAX_DEPTH, all of it."""
    limit = MAX_DEPTH - depth
    if depth == 1:
        at = elem
        while len(at):
            at, limit = at[-1], limit - 1
            if limit < 0:
                break
    elif len(list(itertools.islice(elem.iter(), limit + 1))) > limit:
        stack = [(elem, limit)]
        while stack and limit >= 0:
            at, limit = stack.pop()
            stack.extend((child, limit - 1) for child in at)
    if limit < 0:
        raise InputProblem(Location(str(path), line=_depth_line(path)), f"XML nested deeper than {MAX_DEPTH} levels")


def _host_lines(elem: ET.Element, lines: deque[int]) -> dict[int, int]:
    """The file line of each <host> and <port> of a complete element (by id), taken from the lines found in the
    raw bytes in document order."""
    if elem.tag == "host":
        tagged = [elem, *elem.iter("port")]
        if next(itertools.islice(elem.iter("host"), 1, None), None) is not None:  # a host within a host
            tagged = [e for e in elem.iter() if e.tag in ("host", "port")]
    else:
        tagged = [e for e in elem.iter() if e.tag in ("host", "port")]
    take = min(len(tagged), len(lines))
    return {id(e): lines.popleft() for e in tagged[:take]}


def _depth_line(path: Path) -> int | None:
    """The line where elements first nest deeper than MAX_DEPTH (read again with handlers: only on this error)."""
    expat = ParserCreate()
    depth = 0

    def start(tag: str, attrs: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _Stop

    def end(tag: str) -> None:
        nonlocal depth
        depth -= 1

    expat.StartElementHandler, expat.EndElementHandler = start, end
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(CHUNK):
                expat.Parse(chunk, False)
        except _Stop:
            return expat.CurrentLineNumber
        except ExpatError:
            pass
    return None


def _parse_message(exc: ET.ParseError, truncated: bool) -> str:
    text = str(exc).split(":", 1)[0]
    column = exc.position[1] if exc.position else None
    if truncated and text in ("no element found", "unclosed token"):
        return "XML ends before the document is complete (truncated file?); hosts read before this point were kept"
    return f"malformed XML: {text} (column {column}); hosts read before this point were kept"


def host_observations(
    host: ET.Element, lines: Mapping[int, int], file: str, shared: dict[Any, dict[str, str]] | None = None
) -> Iterator[Observation | InputError]:
    """One <host>: an Observation of the host, one per open port with facts, an InputError per unusable value.
    lines: the file line of the <host> and <port> elements (by id)."""
    status = None
    addresses: list[ET.Element] = []
    names: list[ET.Element] = []
    osmatches: list[ET.Element] = []
    ports: list[ET.Element] = []
    # one pass over the children; findall of a plain tag runs in C (iterfind and paths go through ElementPath)
    for child in host:
        tag = child.tag
        if tag == "address":
            addresses.append(child)
        elif tag == "status":
            status = child if status is None else status
        elif tag == "hostnames":
            names += child.findall("hostname")
        elif tag == "os":
            osmatches += child.findall("osmatch")
        elif tag == "ports":
            ports += child.findall("port")
    if status is not None and status.get("state") not in (None, "up"):
        return
    line = lines.get(id(host))
    mac = ip = hostname = None
    facts: dict[str, str] = {}
    fields: dict[str, str] = {}
    for addr in addresses:
        kind, value = addr.get("addrtype"), (addr.get("addr") or "").strip()
        if kind == "mac" and mac is None:
            mac = fast_mac(value)
            if mac is None:
                yield InputError(Location(file, line=line, field="address@addr"), f"not a MAC address: {value[:40]!r}")
            if addr.get("vendor"):
                _add(facts, fields, "nmap.vendor", addr.get("vendor", ""), "address@vendor")
        elif kind in ("ipv4", "ipv6") and value and (ip is None or kind == "ipv4" and ":" in ip):
            ip = value
    for name in names:
        if name.get("name"):
            hostname = name.get("name")
            break
    osmatch = max(osmatches, key=lambda m: _int(m.get("accuracy")), default=None)
    if osmatch is not None:
        _add(facts, fields, "os", osmatch.get("name", ""), "osmatch@name")
        for osclass in osmatch.findall("osclass"):
            if osclass.get("type"):
                _add(facts, fields, "device_type", osclass.get("type", ""), "osclass@type")
            for cpe in osclass.findall("cpe"):
                _add(facts, fields, "cpe", cpe.text or "", "osclass/cpe")
    yield Observation(
        FORMAT,
        line_location(file, line),
        mac,
        ip,
        hostname,
        None,
        _shared(facts, shared),
        _shared(fields, shared),
        NO_LINES,
        NO_CONTEXT,
    )
    for port in ports:
        state = port.find("state")
        if state is None or state.get("state") != "open":
            continue
        facts, fields = _port(port)
        if facts:
            where = line_location(file, lines.get(id(port), line))
            facts, fields = _shared(facts, shared), _shared(fields, shared)
            yield Observation(FORMAT, where, mac, ip, hostname, None, facts, fields, NO_LINES, NO_CONTEXT)


def _shared(values: dict[str, str], shared: dict[Any, dict[str, str]] | None) -> dict[str, str]:
    """One dict for every record with the same facts or fact origins (most hosts of a scan have the same few): a
    scan of hundreds of thousands of hosts keeps one copy of each, not one per record. Never changed after this."""
    if shared is None:
        return values
    key = tuple(values.items())
    got = shared.get(key)
    if got is None:
        if len(shared) > 50_000:
            return values
        got = shared[key] = values
    return got


def _port(port: ET.Element) -> tuple[dict[str, str], dict[str, str]]:
    facts: dict[str, str] = {}
    fields: dict[str, str] = {}
    label = f"port {port.get('portid')}/{port.get('protocol')}"
    service = port.find("service")
    scripts = port.findall("script")
    name = ""
    if service is not None:
        get = service.get
        name = get("name", "")
        product, version = (get("product") or "").strip(), (get("version") or "").strip()
        ident = f"{product} {version}" if product and version else product or version
        if get("extrainfo"):
            ident = f"{ident} ({get('extrainfo', '').strip()})".strip()
        _add(facts, fields, "service.banner", ident, f"{label} service@product")
        if get("ostype"):
            _add(facts, fields, "os", get("ostype", ""), f"{label} service@ostype")
        if get("devicetype"):
            _add(facts, fields, "device_type", get("devicetype", ""), f"{label} service@devicetype")
        for cpe in service.findall("cpe"):
            _add(facts, fields, "cpe", cpe.text or "", f"{label} service/cpe")
        if get("servicefp"):  # raw responses, older nmap (newer ones write them as fingerprint-strings too)
            ids = {s.get("id") for s in scripts}
            if "fingerprint-strings" not in ids:
                found, responses = nmap_services.servicefp_text(get("servicefp", ""), name, "banner" not in ids)
                for fact, value in found:
                    _add(facts, fields, fact, value, f"{label} service@servicefp")
                _headers(responses, name, f"{label} service@servicefp", facts, fields)
    for script in scripts:
        _script(script, name, label, facts, fields)
    return facts, fields


def _script(script: ET.Element, service: str, label: str, facts: dict[str, str], fields: dict[str, str]) -> None:
    sid = script.get("id", "")
    output = script.get("output", "")
    origin = f"{label} script {sid}"
    if sid in nmap_services.SCRIPTS:
        for fact, value in nmap_services.script_facts(script):
            _add(facts, fields, fact, value, origin)
    elif sid == "http-server-header":
        values = [e.text or "" for e in script.iter("elem")] or [output]
        for value in values:
            _add(facts, fields, "http.server", value, origin)
    elif sid == "http-title":
        title = next((e.text for e in script.iter("elem") if e.get("key") == "title"), None)
        _add(facts, fields, "http.title", title if title is not None else output, origin)
    elif sid == "http-auth":
        realms = [e.text or "" for e in script.iter("elem") if e.get("key") == "realm"]
        for value in realms or [realm(output) or ""]:
            _add(facts, fields, "http.realm", value, origin)
    elif sid == "banner":
        _add(facts, fields, BANNER_FACTS.get(service, "service.banner"), unescape(output), origin)
    elif sid == "ssl-cert":
        subject = next((t for t in script.iter("table") if t.get("key") == "subject"), None)
        if subject is not None:
            parts = [f"{e.get('key')}={e.text}" for e in subject.iter("elem") if e.text]
            _add(facts, fields, "tls.subject", ", ".join(parts), origin)
        else:
            first = output.strip().split("\n", 1)[0]
            _add(facts, fields, "tls.subject", first.removeprefix("Subject:"), origin)
    elif sid == "snmp-sysdescr":
        _add(facts, fields, "snmp.sysdescr", output.split("\n  System uptime", 1)[0], origin)
    elif sid in ("upnp-info", "http-igd-info"):
        _description(unescape(output), origin, facts, fields)
    elif sid == "snmp-info":  # the SNMPv3 engine's enterprise, resolved by nmap from its PEN
        enterprise = next((e.text for e in script.iter("elem") if e.get("key") == "enterprise"), None)
        _add(facts, fields, "manufacturer", enterprise or "", origin)
    elif sid in ("http-headers", "fingerprint-strings"):
        _headers(unescape(output), service, origin, facts, fields)


# UPnP device description lines (upnp-info, http-igd-info) -> fact
DESCRIPTION_FACTS = {
    "server": "upnp.server",
    "webserver": "http.server",
    "manufacturer": "manufacturer",
    "model name": "model",
    "model descr": "device_type",
    "model description": "device_type",
}


def _description(text: str, origin: str, facts: dict[str, str], fields: dict[str, str]) -> None:
    """upnp-info / http-igd-info: the SSDP Server line (first line, unlabelled) and the device description."""
    for number, line in enumerate(text.split("\n")):
        key, sep, value = line.strip().partition(": ")
        if number == 0 and not sep:
            _add(facts, fields, "upnp.server", line, origin)
        elif sep and key.strip().lower() in DESCRIPTION_FACTS:
            _add(facts, fields, DESCRIPTION_FACTS[key.strip().lower()], value, origin)


def _headers(text: str, service: str, origin: str, facts: dict[str, str], fields: dict[str, str]) -> None:
    """Server (SIP: also User-Agent) and WWW-Authenticate headers and HTML titles in raw responses
    (fingerprint-strings, http-headers). fingerprint-strings lists one response per probe ("  GetRequest: " then
    indented lines)."""
    proto = probe = ""
    for raw in text.split("\n"):
        if _PROBE.match(raw):
            proto, probe = "", raw  # a new probe's response
            continue
        line = raw.strip()
        status = _STATUS.match(line)
        if status:
            proto = status.group(1)
            continue
        # the page title of the plain GET (other probes draw error pages)
        title = _TITLE.search(line) if proto == "HTTP" and (not probe or "GetRequest" in probe) else None
        if title:
            _add(facts, fields, "http.title", title.group(1), origin)
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key == "server" or key == "user-agent" and proto == "SIP":
            _add(facts, fields, SERVER_FACTS.get(proto, "http.server"), value, origin)
        elif key == "www-authenticate":
            _add(facts, fields, "http.realm", realm(value) or "", origin)


def _add(facts: dict[str, str], fields: dict[str, str], fact: str, value: str, origin: str) -> None:
    """Record a fact; a second, different value for the same fact is kept on a new line."""
    value = clip(value)
    if not value:
        return
    old = facts.get(fact)
    if old is None:
        facts[fact] = value
        fields[fact] = origin
    elif value not in old.split("\n"):
        facts[fact] = f"{old}\n{value}"


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0
