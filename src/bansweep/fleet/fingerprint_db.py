"""What a banner fingerprint database is, whatever file it came from (Recog XML: fingerprints.py; nmap's
nmap-service-probes: service_probes.py): fingerprints with their parameters, grouped per matched field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

MAX_DB_BYTES = 32 * 1024 * 1024
MAX_BANNER_CHARS = 8192  # longer banners are cut before matching (bounds regex time on hostile input)
_PLACEHOLDER = re.compile(r"\{([\w.]+)\}")

# Recog `matches` field -> the observation facts it applies to
RECOG_FIELDS: dict[str, tuple[str, ...]] = {
    "http_header.server": ("http.server", "upnp.server"),
    "http_header.www_authenticate": ("http.realm",),
    "html_title": ("http.title",),
    "rtsp_header.server": ("rtsp.server",),
    "ssh.banner": ("ssh.banner",),
    "telnet.banner": ("telnet.banner",),
    "ftp.banner": ("ftp.banner",),
    "snmp.sys_description": ("snmp.sysdescr", "lldp.sysdesc"),
    "snmp.sys_object_id": ("snmp.sysobjectid",),
    "sip_header.user_agent": ("sip.banner",),
    "sip_header.server": ("sip.banner",),
    "sip_banner": ("sip.banner",),
    "x509.subject": ("tls.subject",),
    "upnp_header.server": ("upnp.server",),
    "dhcp.vendor_class": ("dhcp.vendor_class",),
    "smtp.banner": ("service.banner",),
    "pop.banner": ("service.banner",),
    "imap4.banner": ("service.banner",),
    # nmap-service-probes lines, by nmap service name (fleet/service_probes.py)
    "nmap.ssh": ("ssh.banner",),
    "nmap.telnet": ("telnet.banner",),
    "nmap.ftp": ("ftp.banner",),
    "nmap.http": ("http.server",),
    "nmap.rtsp": ("rtsp.server",),
    "nmap.sip": ("sip.banner",),
    "nmap.upnp": ("upnp.server",),
}


@dataclass(frozen=True, slots=True)
class Param:
    pos: int
    name: str
    value: str | None


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    expected: dict[str, str]
    line: int | None


@dataclass(frozen=True, slots=True)
class Fingerprint:
    file: str  # database file name, e.g. "http_servers.xml"
    index: int  # 1-based position in the file
    line: int | None
    description: str
    regex: re.Pattern[str]
    params: tuple[Param, ...]
    examples: tuple[Example, ...]
    data_date: str = ""  # date of the database file (Recog databases carry no version of their own)
    scheme: str = "recog"  # "recog" (Recog XML) or "nmap" (nmap-service-probes; index = line number)

    @property
    def rule(self) -> str:
        return f"{self.scheme}:{self.file}:{self.index}"

    @property
    def label(self) -> str:
        return (
            f"{self.file} line {self.index}" if self.scheme == "nmap" else f"Recog {self.file} fingerprint {self.index}"
        )

    def extract(self, m: re.Match[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for p in self.params:
            if p.pos == 0:
                if p.value is not None:
                    out[p.name] = p.value
            elif p.pos <= (m.re.groups or 0):
                value = m.group(p.pos)
                if value is not None:
                    out[p.name] = value
        for name, value in list(out.items()):
            if "{" in value:
                out[name] = _PLACEHOLDER.sub(lambda g: out.get(g.group(1), ""), value)
        return out


@dataclass(slots=True)
class Database:
    path: Path
    matches: str
    protocol: str
    preference: float
    fingerprints: list[Fingerprint] = field(default_factory=list)

    @property
    def facts(self) -> tuple[str, ...]:
        return RECOG_FIELDS.get(self.matches, ())

    def first(self, texts: Sequence[str]) -> tuple[Fingerprint, dict[str, str]] | None:
        """Recog (and nmap) semantics: the first fingerprint of the database that matches wins; each fingerprint
        is tried on every shape of the observed text."""
        texts = [t[:MAX_BANNER_CHARS] for t in texts]
        for fp in self.fingerprints:
            for text in texts:
                m = fp.regex.search(text)
                if m:
                    return fp, fp.extract(m)
        return None
