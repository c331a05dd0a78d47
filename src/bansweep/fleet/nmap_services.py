"""Maker-bearing text in nmap's per-port output that fleet/sources/nmap.py hands over: the `http-favicon` script
and the raw responses of a service nmap could not name (`service@servicefp`).

Pure functions over parsed elements; each returns (fact, value) pairs in the fact vocabulary of fleet/model.py.
Scripts whose output names no maker (`sip-methods`, `rtsp-methods`: the Allow/Public method list;
`ssh2-enum-algos`: algorithm names) give nothing; the maker evidence of those ports is in their `-sV` service
element and in the `banner`, `ssl-cert`, `http-*` and `fingerprint-strings` outputs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from bansweep.fleet import favicon

SCRIPTS = frozenset({"http-favicon", "sip-methods", "rtsp-methods", "ssh2-enum-algos"})
# a raw first response (nmap's NULL probe: what the server says unasked) -> fact, by nmap service name
GREETING_FACTS = {"ssh": "ssh.banner", "telnet": "telnet.banner", "ftp": "ftp.banner"}
MAX_FP_CHARS = 64 * 1024

_RESPONSE = re.compile(r'r\((\w+),([0-9A-Fa-f]+),"((?:[^"\\]|\\.)*)"\)', re.S)
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)", re.S)
_SIMPLE = {"r": "\r", "n": "\n", "t": "\t", "0": "\0"}


def script_facts(script: ET.Element) -> list[tuple[str, str]]:
    """Facts of one of SCRIPTS."""
    if script.get("id") == "http-favicon":
        value = favicon.normalise(script.get("output", ""))
        return [("http.favicon", value)] if value else []
    return []


def servicefp_responses(fp: str) -> list[tuple[str, str]]:
    """(probe, response) pairs of a service fingerprint ('SF:…%r(GetRequest,1A,"HTTP/1\\.0\\x20200…")'), the
    response text unescaped."""
    text = fp[:MAX_FP_CHARS].replace("\nSF:", "").replace("\nSF-", "")
    return [(m.group(1), _unescape(m.group(3))) for m in _RESPONSE.finditer(text)]


def servicefp_text(fp: str, service: str, greeting: bool = True) -> tuple[list[tuple[str, str]], str]:
    """Facts of a service fingerprint: the unasked greeting of an SSH/telnet/FTP service as its banner (when
    `greeting`), and the responses laid out as nmap's fingerprint-strings output (for the caller's header reader).
    nmap since 7.40 writes the same responses as a fingerprint-strings script; older XML has only this."""
    facts: list[tuple[str, str]] = []
    lines: list[str] = []
    for probe, response in servicefp_responses(fp):
        if greeting and probe == "NULL" and service in GREETING_FACTS and response.strip():
            facts.append((GREETING_FACTS[service], response.replace("\r\n", "\n").strip()))
        lines.append(f"  {probe}: ")
        lines.extend(f"    {line}" for line in response.replace("\r\n", "\n").split("\n"))
    return facts, "\n".join(lines)


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] == "x" and len(code) == 3:
            return chr(int(code[1:], 16))
        return _SIMPLE.get(code, code)

    return _ESCAPE.sub(one, text)
