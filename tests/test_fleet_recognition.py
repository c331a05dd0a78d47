"""Recognition from banners, favicons, nmap -sV and NSE script output, SNMP walks, maker spellings and chip vendors.

The nmap XML is built the way nmap 7.9x writes it (`nmap -sV -sC --script banner,http-favicon,...` with -oX):
<service> elements with product/version/extrainfo/devicetype and <cpe> children, <script> elements with an
`output` attribute and, where the script returns structured output, <elem>/<table> children.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from click.testing import CliRunner

from bansweep.cli import main
from bansweep.fleet import favicon, nmap_services
from bansweep.fleet.attribute import Attributor
from bansweep.fleet.fingerprints import Recog
from bansweep.fleet.service_probes import parse_line
from bansweep.knowledge.fuzzy import FuzzyMakers
from bansweep.knowledge.vendors import VendorKB, normalise_name
from bansweep.registry.mac import MacRegistry

NMAP_PROBES = Path("/usr/share/nmap/nmap-service-probes")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


# --- building nmap XML ------------------------------------------------------------------------------------------


def service(name: str, product: str = "", version: str = "", extrainfo: str = "", devicetype: str = "",
            cpes: tuple[str, ...] = (), servicefp: str = "") -> str:  # fmt: skip
    attrs = {"name": name, "product": product, "version": version, "extrainfo": extrainfo, "devicetype": devicetype}
    text = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items() if v)
    method = "probed" if product or cpes else "table"
    fp = f" servicefp={quoteattr(servicefp)}" if servicefp else ""
    body = "".join(f"<cpe>{escape(c)}</cpe>" for c in cpes)
    return f'<service {text} method="{method}" conf="{10 if product else 3}"{fp}>{body}</service>'


def script(sid: str, output: str, inner: str = "") -> str:
    return f"<script id={quoteattr(sid)} output={quoteattr(output)}>{inner}</script>"


def elems(*values: str, **keyed: str) -> str:
    return "".join(f"<elem>{escape(v)}</elem>" for v in values) + "".join(
        f"<elem key={quoteattr(k)}>{escape(v)}</elem>" for k, v in keyed.items()
    )


def table(key: str, inner: str) -> str:
    return f"<table key={quoteattr(key)}>{inner}</table>"


def port(number: int, svc: str, *scripts: str, proto: str = "tcp") -> str:
    return (
        f'<port protocol="{proto}" portid="{number}"><state state="open" reason="syn-ack" reason_ttl="64"/>'
        f"{svc}{''.join(scripts)}</port>"
    )


def host(ip: str, *ports: str, mac: str = "", vendor: str = "") -> str:
    address = f'<address addr="{ip}" addrtype="ipv4"/>'
    if mac:
        address += f'<address addr="{mac}" addrtype="mac"' + (f" vendor={quoteattr(vendor)}" if vendor else "") + "/>"
    return (
        f'<host starttime="1764000000" endtime="1764000030"><status state="up" reason="arp-response" reason_ttl="0"/>'
        f'{address}<hostnames></hostnames><ports><extraports state="closed" count="996">'
        f'<extrareasons reason="resets" count="996" proto="tcp" ports="1-995"/></extraports>{"".join(ports)}</ports>'
        f'<times srtt="300" rttvar="200" to="100000"/></host>\n'
    )


def nmaprun(*hosts: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
        '<?xml-stylesheet href="file:///usr/bin/../share/nmap/nmap.xsl" type="text/xsl"?>\n'
        '<nmaprun scanner="nmap" args="nmap -sV -sC --script banner,http-favicon,sip-methods,rtsp-methods,'
        'ssh2-enum-algos,ssl-cert -oX scan.xml 10.9.0.0/24" start="1764000000" version="7.93" xmloutputversion="1.05">\n'
        '<scaninfo type="syn" protocol="tcp" numservices="1000" services="1-1000"/>\n<verbose level="1"/>\n'
        + "".join(hosts)
        + '<runstats><finished time="1764000100" elapsed="100" exit="success"/></runstats>\n</nmaprun>\n'
    )


SSH_ALGOS = script(
    "ssh2-enum-algos",
    "\n  kex_algorithms: (2)\n      diffie-hellman-group14-sha1\n      diffie-hellman-group-exchange-sha256\n"
    "  server_host_key_algorithms: (1)\n      ssh-rsa\n",
    table("kex_algorithms", elems("diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha256"))
    + table("server_host_key_algorithms", elems("ssh-rsa")),
)
SIP_METHODS = script(
    "sip-methods", "INVITE, ACK, CANCEL, OPTIONS, BYE", elems("INVITE", "ACK", "CANCEL", "OPTIONS", "BYE")
)
RTSP_METHODS = script(
    "rtsp-methods",
    "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, PAUSE",
    elems("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN", "PAUSE"),
)


def ssl_cert(org: str, cn: str) -> str:
    subject = elems(commonName=cn, organizationName=org, countryName="CN")
    output = f"Subject: commonName={cn}/organizationName={org}/countryName=CN\nNot valid before: 2019-01-01T00:00:00"
    return script("ssl-cert", output, table("subject", subject) + table("issuer", subject))


def fingerprint_strings(probe: str, *lines: str) -> str:
    output = f"\n  {probe}: \n" + "".join(f"    {line}\n" for line in lines)
    return script("fingerprint-strings", output, table(probe, elems(*lines)))


# covered devices: one kind of evidence each (none has a MAC, as in a routed scan), with the evidence rule expected
COVERED = {
    "10.9.0.1": (
        "huawei",
        "banner.ssh.banner",
        host(
            "10.9.0.1",
            port(22, service("ssh", extrainfo="protocol 2.0"), script("banner", "SSH-2.0-HUAWEI-1.5"), SSH_ALGOS),
        ),
    ),
    "10.9.0.2": (
        "huawei",
        "banner.telnet.banner",
        host(
            "10.9.0.2",
            port(
                23,
                service("telnet"),
                script(
                    "banner",
                    r"\xFF\xFB\x01\xFF\xFB\x03\xFF\xFB\x18-------------------------------\x0D\x0A-----Welcome to ATP"
                    r" Cli------\x0D\x0A-------------------------------\x0D\x0A\x0D\x0ALogin: ",
                ),
            ),
        ),
    ),
    "10.9.0.3": (
        "huawei",
        "banner.service.banner",  # nmap -sV product and hardware CPE of the FTP server
        host(
            "10.9.0.3",
            port(
                21,
                service(
                    "ftp",
                    "Huawei Quidway AR28-09 WAP ftpd",
                    "",
                    "user queue is full",
                    "WAP",
                    ("cpe:/h:huawei:quidway_ar28-09",),
                ),  # fmt: skip
                script("banner", "120 The user queue is full, please try again later."),
            ),
        ),
    ),
    "10.9.0.4": (
        "huawei",
        "banner.sip.banner",
        host(
            "10.9.0.4",
            port(
                5060,
                service("sip", servicefp="SF-Port5060-UDP:V=7.93%I=7%D=12/4%Time=1%P=x86_64-pc-linux-gnu"),
                fingerprint_strings(
                    "SIPOptions",
                    "SIP/2.0 200 OK",
                    "Via: SIP/2.0/UDP nm;branch=foo",
                    "User-Agent: Huawei SoftX3000 V600R013",
                    "Allow: INVITE,ACK,OPTIONS,BYE,CANCEL",
                ),
                SIP_METHODS,
                proto="udp",
            ),
        ),
    ),
    "10.9.0.5": (
        "dahua",
        "banner.rtsp.server",
        host(
            "10.9.0.5",
            port(
                554,
                service("rtsp", servicefp="SF-Port554-TCP:V=7.93%I=7%D=12/4%Time=1%P=x86_64-pc-linux-gnu"),
                fingerprint_strings(
                    "RTSPRequest", "RTSP/1.0 405 Method Not Allowed", "Server: Dahua Rtsp Server", "CSeq: 0"
                ),
                RTSP_METHODS,
            ),
        ),
    ),
    "10.9.0.6": (
        "dahua",
        "banner.service.banner",  # nmap recognised the RTSP server (-sV product), so no raw responses
        host("10.9.0.6", port(554, service("rtsp", "Dahua IP camera rtspd", devicetype="webcam"), RTSP_METHODS)),
    ),
    "10.9.0.7": (
        "hikvision",
        "banner.http.server",
        host(
            "10.9.0.7",
            port(
                80,
                service("http", "Hikvision IP camera httpd", devicetype="webcam"),
                script("http-server-header", "App-webs/", elems("App-webs/")),
                script(
                    "http-title",
                    "Did not follow redirect to http://10.9.0.7/doc/page/login.asp",
                    elems(redirect_url="http://10.9.0.7/doc/page/login.asp"),
                ),  # fmt: skip
            ),
        ),
    ),
    "10.9.0.8": (
        "hikvision",
        "banner.http.favicon",
        host(
            "10.9.0.8",
            port(80, service("http"), script("http-favicon", "Unknown favicon MD5: 89B932FCC47CF4CA3FAADB0CFDEF89CF")),
        ),
    ),
    "10.9.0.9": (
        "hikvision",
        "banner.http.favicon",  # nmap's favicon-db knew the icon and printed its name
        host("10.9.0.9", port(80, service("http"), script("http-favicon", "Hikvision DVR"))),
    ),
    "10.9.0.10": (
        "zte",
        "banner.tls.subject",
        host("10.9.0.10", port(443, service("https"), ssl_cert("ZTE Corporation", "ZXHN"))),
    ),
    "10.9.0.11": (
        "huawei",
        "model.grammar",
        host(
            "10.9.0.11",
            port(80, service("http"), script("http-title", "EchoLife HG8245H", elems(title="EchoLife HG8245H"))),
        ),
    ),
    "10.9.0.12": (
        "huawei",
        "banner.http.realm",
        host(
            "10.9.0.12",
            port(
                80,
                service("http"),
                script(
                    "http-auth",
                    "\nHTTP/1.1 401 Unauthorized\r\n  Digest realm=HuaweiHomeGateway nonce=0123 qop=auth\n",
                    table("Digest", elems(realm="HuaweiHomeGateway", nonce="0123", qop="auth")),
                ),
            ),
        ),
    ),
    "10.9.0.13": (
        "huawei",
        "banner.cpe",
        host(
            "10.9.0.13",
            port(
                22, service("ssh", "Huawei VRP sshd", "", "protocol 2.0", "router", ("cpe:/o:huawei:vrp",)), SSH_ALGOS
            ),
        ),
    ),
}
# other makers' devices, written alike: none may be attributed to a covered group
OTHERS = {
    "10.9.1.1": host(
        "10.9.1.1",
        port(
            22,
            service("ssh", "Cisco SSH", "1.25", "protocol 2.0", cpes=("cpe:/o:cisco:ios",)),
            script("banner", "SSH-2.0-Cisco-1.25"),
            SSH_ALGOS,
        ),  # fmt: skip
        port(
            23,
            service("telnet", "Cisco router telnetd", devicetype="router"),
            script("banner", r"\x0D\x0AUser Access Verification\x0D\x0A\x0D\x0AUsername: "),
        ),
    ),
    "10.9.1.2": host(
        "10.9.1.2",
        port(
            22,
            service(
                "ssh",
                "OpenSSH",
                "8.9p1 Ubuntu 3ubuntu0.10",
                "Ubuntu Linux; protocol 2.0",
                cpes=("cpe:/a:openbsd:openssh:8.9p1", "cpe:/o:linux:linux_kernel"),
            ),  # fmt: skip
            script("banner", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10"),
            SSH_ALGOS,
        ),  # fmt: skip
        port(
            443,
            service("https", "nginx", "1.18.0"),
            ssl_cert("Example Hochfrequenztechnik GmbH", "www.example.org"),
            script("http-title", "Welcome to nginx!", elems(title="Welcome to nginx!")),  # fmt: skip
            script("http-favicon", "Unknown favicon MD5: 0123456789ABCDEF0123456789ABCDEF"),
        ),  # fmt: skip
    ),
    "10.9.1.3": host(
        "10.9.1.3",
        port(
            5060,
            service("sip", servicefp="SF-Port5060-UDP:V=7.93%I=7%D=12/4%Time=1%P=x86_64-pc-linux-gnu"),
            fingerprint_strings("SIPOptions", "SIP/2.0 200 OK", "User-Agent: PolycomVVX-VVX_411-UA/5.9.5.0614"),
            SIP_METHODS,
            proto="udp",
        ),  # fmt: skip
    ),
    "10.9.1.4": host(
        "10.9.1.4",
        port(554, service("rtsp", "GStreamer rtspd"), RTSP_METHODS),
        port(
            80,
            service("http", "Boa HTTPd", "0.94.14rc21"),
            script("http-server-header", "Boa/0.94.14rc21", elems("Boa/0.94.14rc21")),
            script("http-favicon", "Unknown favicon MD5: D41D8CD98F00B204E9800998ECF8427E"),
        ),  # fmt: skip
        mac="00:40:8C:12:34:56",
        vendor="Axis Communications AB",
    ),
    "10.9.1.5": host("10.9.1.5", port(22, service("ssh", extrainfo="protocol 2.0"), SSH_ALGOS)),  # algorithms only
}


def run_fleet(tmp_path: Path, text: str, *args: str) -> dict:
    scan = tmp_path / "scan.xml"
    scan.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["fleet", "--format", "json", "--as-of", "2026-11-22", "--fail-on", "never", *args, str(scan)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_ip(report: dict) -> dict[str, dict]:
    return {f["subject"]["attributes"].get("ip"): f for f in report["findings"]}


def test_nmap_xml_banners_scripts_and_service_ids_are_recognised(tmp_path: Path) -> None:
    report = run_fleet(tmp_path, nmaprun(*(h for _, _, h in COVERED.values()), *OTHERS.values()))
    assert report["errors"] == []
    found = by_ip(report)
    for ip, (group, rule, _) in COVERED.items():
        assert ip in found, f"{ip} ({group}) not recognised"
        f = found[ip]
        assert f["subject"]["attributes"]["group"] == group, ip
        assert f["status"] in ("covered", "covered-limited"), (ip, f["status"], f["explanation"])
        rules = {e["rule"] for e in f["evidence"]}
        assert rule in rules, (ip, rules)
        ev = next(e for e in f["evidence"] if e["rule"] == rule)
        # evidence names the scan file, the port's line and the port/script (or service attribute) it came from
        assert ev["location"]["file"].endswith("scan.xml") and ev["location"]["line"]
        assert ev["location"]["field"].startswith("port ")
        assert ev["detail"] and "source:" in ev["detail"]
    for ip in OTHERS:
        f = found.get(ip)
        assert f is None or not f["subject"]["attributes"].get("group"), (ip, f and f["explanation"])


def test_the_evidence_shows_what_was_observed(tmp_path: Path) -> None:
    found = by_ip(run_fleet(tmp_path, nmaprun(COVERED["10.9.0.8"][2], COVERED["10.9.0.2"][2])))
    favicon_ev = next(e for e in found["10.9.0.8"]["evidence"] if e["rule"] == "banner.http.favicon")
    assert favicon_ev["value"] == "89B932FCC47CF4CA3FAADB0CFDEF89CF"
    assert favicon_ev["location"]["field"] == "port 80/tcp script http-favicon"
    assert "favicon-db" in favicon_ev["detail"]
    telnet_ev = next(e for e in found["10.9.0.2"]["evidence"] if e["rule"] == "banner.telnet.banner")
    assert "Welcome to ATP Cli" in telnet_ev["value"] and "telnet-huawei-atp-cli" in telnet_ev["detail"]


def test_methods_and_algorithms_alone_name_no_maker(tmp_path: Path) -> None:
    """sip-methods, rtsp-methods and ssh2-enum-algos list protocol features; they must not attribute anything."""
    report = run_fleet(
        tmp_path,
        nmaprun(
            host(
                "10.9.2.1",
                port(22, service("ssh"), SSH_ALGOS),
                port(554, service("rtsp"), RTSP_METHODS),
                port(5060, service("sip"), SIP_METHODS, proto="udp"),
            )
        ),  # fmt: skip
    )
    assert report["errors"] == [] and [f["status"] for f in report["findings"]] == ["not-covered"]


def test_servicefp_of_an_older_nmap_is_read_when_no_fingerprint_strings() -> None:
    fp = (
        'SF-Port80-TCP:V=7.93%I=7%D=12/4%Time=1%P=x86_64-pc-linux-gnu%r(GetRequest,5C,"HTTP/1\\.0\\x20200\\x20OK\\r\\n'
        'Server:\\x20Hikvision-Webs\\r\\n\\r\\n")\nSF:%r(NULL,9,"ZXHN\\x20F660")'
    )
    responses = nmap_services.servicefp_responses(fp)
    assert responses[0] == ("GetRequest", "HTTP/1.0 200 OK\r\nServer: Hikvision-Webs\r\n\r\n")
    facts, text = nmap_services.servicefp_text(fp, "telnet")
    assert facts == [("telnet.banner", "ZXHN F660")]
    assert "    Server: Hikvision-Webs" in text.split("\n")


@pytest.mark.parametrize(
    ("icon", "md5", "mmh3"),
    [
        (b"", "D41D8CD98F00B204E9800998ECF8427E", 0),
        (b"hello", "5D41402ABC4B2A76B9719D911017C592", None),
    ],
)
def test_favicon_hashes(icon: bytes, md5: str, mmh3: int | None) -> None:
    assert favicon.md5(icon) == md5
    if mmh3 is not None:
        assert favicon.murmur3_32(icon) == mmh3


def test_murmur3_matches_published_values() -> None:
    # MurmurHash3 x86_32, seed 0: the values the mmh3 package documents and prints
    assert favicon.murmur3_32(b"foo") == -156908512
    assert favicon.murmur3_32(b"hello") == 613153351
    # Shodan hashes the MIME base64 text (newline-terminated 76-character lines), not the raw bytes
    assert favicon.shodan_hash(b"hello") == favicon.murmur3_32(b"aGVsbG8=\n")
    assert favicon.normalise("3294509719") == "-1000457577"  # unsigned form -> Shodan's signed form
    assert (
        favicon.normalise("Unknown favicon MD5: 89b932fcc47cf4ca3faadb0cfdef89cf") == "89B932FCC47CF4CA3FAADB0CFDEF89CF"
    )


# --- nmap-service-probes --------------------------------------------------------------------------------------------


def test_service_probe_lines_give_vendor_parameters() -> None:
    fp = parse_line(
        r"match telnet m|^\xff\xfd\x01\xff\xfd!\xff\xfb\x01\xff\xfb\x03Huawei (SmartAX \w+)\r\nLogin: | "
        r"p/Huawei $1 ADSL router telnetd/ d/broadband router/ cpe:/h:huawei:$1/a",
        "nmap-service-probes",
        4525,
        "TCP NULL",
        "2022-08-30",
    )
    m = fp.regex.search("\xff\xfd\x01\xff\xfd!\xff\xfb\x01\xff\xfb\x03Huawei SmartAX MT880\r\nLogin: ")
    assert m is not None
    params = fp.extract(m)
    assert params["hw.vendor"] == "huawei" and params["service.product"] == "Huawei SmartAX MT880 ADSL router telnetd"
    assert fp.rule == "nmap:nmap-service-probes:4525" and fp.label == "nmap-service-probes line 4525"


@pytest.mark.skipif(not NMAP_PROBES.exists(), reason="Debian nmap-common not installed")
def test_nmap_service_probes_as_fingerprints(tmp_path: Path) -> None:
    recog = Recog.load([NMAP_PROBES])
    assert recog.errors == [] and recog.size > 5000
    hits = [(fp.rule, p) for fp, p in recog.match("ssh.banner", "SSH-2.0-HUAWEI-VRP5.120")]
    assert hits and hits[0][0] == "nmap:nmap-service-probes:3641" and hits[0][1]["os.vendor"] == "huawei"
    assert not any("vendor" in k and "huawei" in v.lower() for _, p in recog.match("ssh.banner", "SSH-2.0-OpenSSH_9.6")
                   for k, v in p.items())  # fmt: skip
    # through the job: `--fingerprints` takes the file (or /usr/share/nmap) like a Recog directory
    scan = nmaprun(host("10.9.3.1", port(22, service("ssh"), script("banner", "SSH-2.0-DOPRA-1.5"))))
    report = run_fleet(tmp_path, scan, "--fingerprints", str(NMAP_PROBES.parent))
    assert report["data_versions"]["recog"].startswith(f"{recog.size} fingerprints in ")
    f = by_ip(report)["10.9.3.1"]
    assert f["subject"]["attributes"]["group"] == "huawei"
    assert "nmap:nmap-service-probes:3708" in {e["rule"] for e in f["evidence"]}


# --- the real examples still read ---------------------------------------------------------------------------------


def test_real_example_scan_still_recognised(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "fleet",
            "--format",
            "json",
            "--as-of",
            "2026-11-22",
            "--fail-on",
            "never",
            str(EXAMPLES / "network-scan.xml"),
        ],
        catch_exceptions=False,
    )
    report = json.loads(result.stdout)
    assert report["errors"] == []
    groups = {f["subject"]["attributes"].get("group") for f in report["findings"]}
    assert {"hikvision", "huawei"} <= groups


# --- near-miss maker spellings ------------------------------------------------------------------------------------

IEEE = Path("/usr/share/ieee-data")


def registrant_names() -> set[str]:
    """Real organisation names: the IEEE registry CSVs (Debian ieee-data) and the bundled Wireshark manuf."""
    import csv

    from bansweep.registry.mac import bundled_manuf

    names = set()
    for line in bundled_manuf().read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            names.add(line.split("\t")[-1].strip())
    for name in ("oui.csv", "mam.csv", "oui36.csv", "iab.csv"):
        if (IEEE / name).exists():
            with (IEEE / name).open(encoding="utf-8", errors="replace") as fh:
                names.update(row["Organization Name"].strip() for row in csv.DictReader(fh))
    return names


@pytest.fixture(scope="module")
def kb() -> VendorKB:
    return VendorKB.load()


@pytest.mark.parametrize(
    ("written", "group", "edit"),
    [
        ("Huwaei", "huawei", "'wa' for 'aw' (letters swapped)"),
        ("Huwaei Technologies Co., Ltd", "huawei", "'wa' for 'aw' (letters swapped)"),
        ("Hikvison", "hikvision", "'i' missing"),
        ("Hikivision Digital", "hikvision", "'i' extra"),
        ("Dahau", "dahua", "'au' for 'ua' (letters swapped)"),
        ("Hyterra", "hytera", "'r' extra"),
        ("Intlebras", "dahua", "'le' for 'el' (letters swapped)"),
    ],
)
def test_misspelt_makers_are_read_as_the_covered_brand(kb: VendorKB, written: str, group: str, edit: str) -> None:
    near = FuzzyMakers(kb).match(written)
    assert near is not None and near.entity.group == group and near.description == edit and near.edits == 1


@pytest.mark.parametrize(
    "written",
    [
        "Huawei",
        "Honda",
        "Lorax Systems",
        "ZTF",
        "Huiwei",
        "Huafei",
        "Ezvis",
        "Secura Key",
        "Medtronic",
        "Haivision",
        "Cisco",
        "Mahua",
        "Hikari",
    ],  # fmt: skip
)
def test_other_names_are_not_slips(kb: VendorKB, written: str) -> None:
    assert FuzzyMakers(kb).match(written) is None  # spelt right, another real company, too short or too far


def test_false_match_rate_on_real_registrant_names(kb: VendorKB) -> None:
    """Every real registrant name that is not a covered maker's is a chance to misread; measure how often the
    rule alone (no guard) and the rule with a guard built from the other half of the names (hold-out) misread."""
    others = sorted(n for n in registrant_names() if not kb.match_org(n))
    assert len(others) > 25_000
    bare = FuzzyMakers(kb)
    wrong = [n for n in others if bare.match(n)]
    assert len(wrong) / len(others) < 0.0002, wrong  # measured: 2 of 29,544 IEEE names (0.007%)
    for half in (0, 1):
        guard = {normalise_name(n).split(" ", 1)[0] for n in others[half::2]}
        guarded = FuzzyMakers(kb, guard)
        test = others[1 - half :: 2]
        assert sum(1 for n in test if guarded.match(n)) / len(test) < 0.0003
    # as shipped, the whole registry guards: no real registrant name is ever read as a covered brand
    shipped = FuzzyMakers(kb, {normalise_name(n).split(" ", 1)[0] for n in others})
    assert [n for n in others if shipped.match(n)] == []


def test_the_guard_keeps_only_the_words_that_could_be_slips(kb: VendorKB) -> None:
    """The attributor's guard holds only the registrants' first words that a slip could be read from: it reads every
    real name and every slip of a brand as the guard of all the names does."""
    registry = MacRegistry.load()
    whole = FuzzyMakers(kb, {normalise_name(n).split(" ", 1)[0] for n in registry.orgs if not kb.match_org(n)})
    kept = Attributor(kb, registry, "2026-11-22").fuzzy()
    written = {w for n in registry.orgs for w in normalise_name(n).split()[:3]}
    for brand, _ in kb.brand_names:
        b = normalise_name(brand)
        written.update(b[:i] + b[i + 1 :] for i in range(1, len(b)))  # a letter dropped
        written.update(b[:i] + "x" + b[i + 1 :] for i in range(1, len(b)))  # a letter changed
    assert sum(1 for w in written if whole.match(w)) > 50  # slips are among them
    assert [w for w in written if kept.match(w) != whole.match(w)] == []


def test_a_misspelt_maker_goes_to_the_vendor_with_the_edit_as_evidence(tmp_path: Path) -> None:
    inventory = tmp_path / "assets.csv"
    inventory.write_text(
        "Hostname,Manufacturer,Model,MAC Address\ncam-1,Hikvison,,\nsw-1,Huwaei,,\nprn-1,Hewlett Packard,,\n"
        "soc-1,HiSilicon,,\ncam-2,Hikvison,,44:19:B6:00:00:01\n"
    )
    result = CliRunner().invoke(
        main, ["fleet", "--format", "json", "--as-of", "2026-11-22", "--fail-on", "never", str(inventory)]
    )
    found = {f["subject"]["attributes"].get("hostname"): f for f in json.loads(result.stdout)["findings"]}
    assert set(found) == {"cam-1", "cam-2", "sw-1", "soc-1", "prn-1"}
    assert found["prn-1"]["status"] == "not-covered"
    # with the maker's own MAC prefix the misspelling agrees with it: covered, not "conflicting"
    assert found["cam-2"]["status"] == "covered-limited" and not found["cam-2"]["extra"]["conflicts"]
    cam = found["cam-1"]
    assert cam["status"] == "covered-limited" and "conflict" not in cam["tags"]
    ev = cam["evidence"][0]
    assert ev["rule"] == "inventory.manufacturer.near-miss" and ev["value"] == "Hikvison"
    assert "read as Hikvision (1 edit: 'i' missing)" in ev["detail"]
    assert found["sw-1"]["status"] == "covered" and found["sw-1"]["subject"]["attributes"]["group"] == "huawei"
    # a chip maker is explained as a chip, with the evidence's confidence, never as an unknown maker
    soc = found["soc-1"]
    assert soc["status"] == "review" and "component" in soc["tags"]
    assert soc["subject"]["label"].startswith("Device of unknown maker with a HiSilicon chip")
    assert "Unknown maker" not in soc["subject"]["label"] and "confidence 0.00" not in soc["explanation"]
    assert "not who made the device" in soc["explanation"]


# --- SNMP walks ---------------------------------------------------------------------------------------------------


def walk_report(tmp_path: Path, name: str, text: str) -> dict:
    path = tmp_path / name
    path.write_text(text)
    result = CliRunner().invoke(
        main, ["fleet", "--format", "json", "--as-of", "2026-11-22", "--fail-on", "never", str(path)]
    )
    return json.loads(result.stdout)


NETSNMP = ".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.3.2.10\n"


@pytest.mark.parametrize(
    ("descr", "group"),
    [
        ("Linux DS-2CD2142FWD-I 3.0.8 #1 armv7l", "hikvision"),
        ("ZXHN F670L V9.0.10P1N6 Linux", "zte"),
        ("Linux NVR4108HS-4KS2 4.9.37 #1 SMP armv7l", "dahua"),
    ],
)
def test_generic_net_snmp_oid_with_a_covered_model_in_sysdescr(tmp_path: Path, descr: str, group: str) -> None:
    report = walk_report(tmp_path, "w.snmpwalk", f".1.3.6.1.2.1.1.1.0 = STRING: {descr}\n{NETSNMP}")
    (f,) = report["findings"]
    assert f["subject"]["attributes"]["group"] == group
    assert "model.grammar" in {e["rule"] for e in f["evidence"]}


def test_plain_linux_net_snmp_walk_is_examined_not_covered(tmp_path: Path) -> None:
    report = walk_report(tmp_path, "w.snmpwalk", f".1.3.6.1.2.1.1.1.0 = STRING: Linux gw 5.15.0 x86_64\n{NETSNMP}")
    assert report["errors"] == [] and report["subjects"] == 1
    assert [f["status"] for f in report["findings"]] == ["not-covered"]


@pytest.mark.parametrize(
    ("line", "group"),
    [
        (".1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.2011.2.23.337\n", "huawei"),
        ("SNMPv2-MIB::sysObjectID.0 = OID: SNMPv2-SMI::enterprises.3902.3.600\n", "zte"),
        ("iso.3.6.1.2.1.1.2.0 = OID: iso.3.6.1.4.1.39165.1.1\n", "hikvision"),
    ],
)
def test_one_line_walk_is_recognised(tmp_path: Path, line: str, group: str) -> None:
    report = walk_report(tmp_path, "lone.txt", line)
    assert report["errors"] == []
    (f,) = report["findings"]
    assert f["subject"]["attributes"]["group"] == group
    assert {e["rule"] for e in f["evidence"]} == {"snmp.sysobjectid"}


def test_one_line_that_is_not_snmp_is_not_taken_for_a_walk(tmp_path: Path) -> None:
    report = walk_report(tmp_path, "note.txt", "total = STRING: nothing to see\n")
    assert report["errors"] and "not recognised" in report["errors"][0]["message"]


ENTITY_WALK = """\
.1.3.6.1.2.1.1.1.0 = STRING: Linux core 4.19.90 #1 SMP aarch64
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.3.2.10
.1.3.6.1.2.1.1.5.0 = STRING: switch
.1.3.6.1.2.1.47.1.1.1.1.2.67108867 = STRING: "S5735-L24T4S-A1 Switch Chassis"
.1.3.6.1.2.1.47.1.1.1.1.11.67108867 = STRING: "102876543210"
.1.3.6.1.2.1.47.1.1.1.1.12.67108867 = STRING: "Huawei Technologies Co., Ltd."
.1.3.6.1.2.1.47.1.1.1.1.13.67108867 = STRING: "S5735-L24T4S-A1"
"""


def test_entity_mib_names_maker_model_and_serial(tmp_path: Path) -> None:
    (f,) = walk_report(tmp_path, "entity.snmpwalk", ENTITY_WALK)["findings"]
    attrs = f["subject"]["attributes"]
    assert (attrs["group"], attrs["model"], attrs["serial"]) == ("huawei", "S5735-L24T4S-A1", "102876543210")
    ev = {e["rule"]: e for e in f["evidence"]}
    assert ev["snmp.entity.manufacturer"]["location"]["field"].startswith(".1.3.6.1.2.1.47.1.1.1.1.12.")
    fields = {e["location"]["field"] for e in f["evidence"] if e["rule"] == "model.grammar"}
    assert any(x.startswith(".1.3.6.1.2.1.47.1.1.1.1.2.") for x in fields)  # entPhysicalDescr


LLDP_WALK = """\
SNMPv2-MIB::sysDescr.0 = STRING: Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8
SNMPv2-MIB::sysObjectID.0 = OID: SNMPv2-SMI::enterprises.9.1.1208
SNMPv2-MIB::sysName.0 = STRING: access-sw-3
LLDP-MIB::lldpRemChassisIdSubtype.0.49.1 = INTEGER: macAddress(4)
LLDP-MIB::lldpRemChassisId.0.49.1 = Hex-STRING: 70 7B E8 11 22 33
LLDP-MIB::lldpRemPortId.0.49.1 = STRING: "GigabitEthernet0/0/1"
LLDP-MIB::lldpRemSysName.0.49.1 = STRING: core-1
LLDP-MIB::lldpRemSysDesc.0.49.1 = STRING: S5735-L24T4S-A1 Huawei Versatile Routing Platform Software
LLDP-MIB::lldpRemChassisIdSubtype.0.50.2 = INTEGER: macAddress(4)
LLDP-MIB::lldpRemChassisId.0.50.2 = Hex-STRING: 00 1B 54 AA BB CC
LLDP-MIB::lldpRemPortId.0.50.2 = STRING: "Gi1/0/2"
LLDP-MIB::lldpRemSysName.0.50.2 = STRING: dist-2
LLDP-MIB::lldpRemSysDesc.0.50.2 = STRING: Cisco IOS Software, C3750 Software
"""


def test_lldp_neighbours_are_devices_of_their_own(tmp_path: Path) -> None:
    report = walk_report(tmp_path, "lldp.snmpwalk", LLDP_WALK)
    assert report["errors"] == [] and report["subjects"] == 3  # the walked switch and its two neighbours
    (f,) = [f for f in report["findings"] if f["status"] != "not-covered"]
    assert len(report["findings"]) == 3  # the neighbours are listed too, examined and clean
    assert f["subject"]["attributes"]["hostname"] == "core-1" and f["subject"]["attributes"]["group"] == "huawei"
    assert f["subject"]["attributes"]["mac"] == "70:7B:E8:11:22:33"
    sysdesc = next(e for e in f["evidence"] if e["rule"] == "banner.lldp.sysdesc")
    assert sysdesc["location"]["field"] == "LLDP-MIB::lldpRemSysDesc.0.49.1"
