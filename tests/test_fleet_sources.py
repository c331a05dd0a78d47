"""Fleet input sources: format sniffing by content, parsing of real and realistic outputs, and bad input."""

from __future__ import annotations

import shutil
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from bansweep.findings import InputError
from bansweep.fleet import sources
from bansweep.fleet.model import Observation
from bansweep.fleet.sources import nmap
from bansweep.inputs import InputFile, read_head

FIX = Path(__file__).parent / "fixtures" / "fleet"


def run(fmt: str, path: Path, mapping: dict[str, str] | None = None) -> tuple[list[Observation], list[InputError]]:
    obs: list[Observation] = []
    errors: list[InputError] = []
    for item in sources.parse(fmt, path, mapping):
        (obs if isinstance(item, Observation) else errors).append(item)
    return obs, errors


def only_error(fmt: str, path: Path, text: str) -> InputError:
    """The one input error that text, written to path, gives when parsed as fmt."""
    path.write_text(text)
    _, errors = run(fmt, path)
    assert len(errors) == 1, errors
    return errors[0]


def sniffed(path: Path) -> str | None:
    return sources.sniff(InputFile(path, read_head(path)))


def by_mac(obs: list[Observation]) -> dict[str | None, Observation]:
    return {o.mac: o for o in obs}


# --- sniffing -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("nmap-camera.xml", "nmap"),
        ("ip-neigh.txt", "neigh-linux"),
        ("arp-an.txt", "neigh-linux"),
        ("arp-windows.txt", "arp-windows"),
        ("cisco-show-ip-arp.txt", "cisco-arp"),
        ("cisco-mac-table-ios.txt", "cisco-mac-table"),
        ("cisco-mac-table-nxos.txt", "cisco-mac-table"),
        ("dhcpd.leases", "dhcp-isc"),
        ("dnsmasq.leases", "dnsmasq"),
        ("kea-leases4.csv", "kea-csv"),
        ("snmpwalk-default.txt", "snmpwalk"),
        ("snmpwalk-numeric.txt", "snmpwalk"),
        ("snmpwalk-mibnames.txt", "snmpwalk"),
        ("getprop-phone.txt", "getprop"),
        ("cyclonedx-devices.json", "cyclonedx"),
        ("intune-graph.json", "inventory-json"),
        ("servicenow-cmdb_ci.json", "inventory-json"),
        ("servicenow-cmdb_ci.csv", "inventory-csv"),
        ("intune-devices.csv", "inventory-csv"),
        ("excel-semicolon.csv", "inventory-csv"),
        ("excel-unicode.txt", "inventory-csv"),
    ],
)
def test_sniff_by_content_not_name(tmp_path: Path, name: str, fmt: str) -> None:
    assert sniffed(FIX / name) == fmt
    renamed = tmp_path / "upload.bin"  # the name carries no hint
    shutil.copy(FIX / name, renamed)
    assert sniffed(renamed) == fmt


def test_party_list_csv_is_not_an_inventory(tmp_path: Path) -> None:
    party = tmp_path / "suppliers.csv"
    party.write_text("name,address,country,type\nAcme Trading,1 Main St,US,Entity\n")
    assert sniffed(party) is None
    csl = Path("/work/shared/data/csl-sample-13.csv")
    if csl.exists():
        assert sniffed(csl) is None


def test_supplier_list_with_a_vendor_column_is_not_an_inventory(tmp_path: Path) -> None:
    suppliers = tmp_path / "vendors.csv"
    suppliers.write_text("Vendor Name,Address,Country,Type\nShenzhen Example Ltd,1 Road,CN,Entity\n")
    assert sniffed(suppliers) is None
    devices = tmp_path / "devices.csv"
    devices.write_text("Vendor,IP\nZTE,10.0.0.1\n")
    assert sniffed(devices) == "inventory-csv"


def test_unrelated_and_binary_files_are_not_claimed(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(bytes(range(256)) * 64)
    text = tmp_path / "notes.txt"
    text.write_text("Meeting notes\nNothing about devices here.\n")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert [sniffed(p) for p in (junk, text, empty)] == [None, None, None]


def test_unknown_format_and_mapping_field_raise_value_error() -> None:
    with pytest.raises(ValueError, match="formats are"):
        sources.parse("pcap", FIX / "ip-neigh.txt")
    with pytest.raises(ValueError, match="fields are"):
        sources.parse("inventory-csv", FIX / "servicenow-cmdb_ci.csv", {"colour": "x"})


# --- nmap -------------------------------------------------------------------------------------------------------


def test_nmap_real_scan_of_a_camera_like_host() -> None:
    obs, errors = run("nmap", FIX / "nmap-camera.xml")
    assert errors == []
    host = obs[0]
    assert (host.mac, host.ip) == ("4C:BD:8F:12:34:56", "10.231.7.20")
    assert host.facts["nmap.vendor"] == "Hangzhou Hikvision Digital Technology"
    assert host.where("nmap.vendor").line == 15
    ports = {o.location.line: o.facts for o in obs[1:]}
    assert ports[20]["telnet.banner"] == "ZXHN H298A\nLogin:"
    http = ports[22]
    assert http["http.server"] == "App-webs/"
    assert http["http.realm"] == "DS-2CD2143G0-I"
    assert http["http.title"] == "Document Error: Unauthorized"
    assert ports[38]["rtsp.server"] == "Rtsp Server/3.0"  # from fingerprint-strings of an unidentified service
    assert all(o.mac == host.mac for o in obs)
    assert obs[2].where("http.realm").field == "port 80/tcp script http-auth"


NMAP_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sV -O -oX scan.xml 10.0.0.0/24" start="1763800000" version="7.93" xmloutputversion="1.05">
"""
NMAP_HOST = """<host starttime="1763800001" endtime="1763800090"><status state="up" reason="arp-response" reason_ttl="0"/>
<address addr="10.0.0.{n}" addrtype="ipv4"/>
<address addr="00:E0:FC:00:00:{n:02X}" addrtype="mac" vendor="Huawei Technologies"/>
<hostnames><hostname name="ont-{n}.example.net" type="PTR"/></hostnames>
<ports>
<port protocol="tcp" portid="443"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="https" product="Huawei HG8245H ONT http config" tunnel="ssl" method="probed" conf="10" devicetype="broadband router"><cpe>cpe:/h:huawei:hg8245h</cpe></service><script id="ssl-cert" output="Subject: commonName=ont.home/organizationName=Huawei Technologies Co., Ltd/countryName=CN&#xa;Issuer: commonName=root"><table key="subject">
<elem key="commonName">ont.home</elem>
<elem key="organizationName">Huawei Technologies Co., Ltd</elem>
<elem key="countryName">CN</elem>
</table>
</script></port>
<port protocol="udp" portid="161"><state state="open" reason="udp-response" reason_ttl="64"/><service name="snmp" method="probed" conf="10"/><script id="snmp-sysdescr" output="EchoLife HG8245H GPON Terminal&#xa;  System uptime: 12 days, 3:04:05.00 (104544500 timeticks)"/></port>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="http" method="probed" conf="10"/><script id="http-headers" output="&#xa;  Server: Huawei-HTTPd&#xa;  WWW-Authenticate: Basic realm=&quot;HG8245H&quot;&#xa;  &#xa;  (Request type: GET)&#xa;"/></port>
<port protocol="udp" portid="1900"><state state="open" reason="udp-response" reason_ttl="64"/><service name="upnp" method="probed" conf="10"/><script id="upnp-info" output="&#xa;Linux/3.10, UPnP/1.0, Portable SDK for UPnP devices/1.6.19&#xa;  Location: http://10.0.0.5:49152/description.xml&#xa;    Webserver: Linux/3.10, UPnP/1.0, Portable SDK for UPnP devices/1.6.19&#xa;    Name: EchoLife HG8245H&#xa;    Manufacturer: Huawei Technologies Co., Ltd.&#xa;    Model Descr: GPON terminal&#xa;    Model Name: HG8245H&#xa;    Model Version: V3R017C10S115"/></port>
<port protocol="tcp" portid="8080"><state state="closed" reason="reset" reason_ttl="64"/><service name="http-proxy" method="table" conf="3"/></port>
</ports>
<os><osmatch name="Huawei VRP 5.X" accuracy="96" line="1"><osclass type="switch" vendor="Huawei" osfamily="VRP" osgen="5.X" accuracy="96"><cpe>cpe:/o:huawei:vrp:5</cpe></osclass></osmatch>
<osmatch name="Linux 2.6.32" accuracy="90" line="2"><osclass type="general purpose" vendor="Linux" osfamily="Linux" accuracy="90"><cpe>cpe:/o:linux:linux_kernel:2.6.32</cpe></osclass></osmatch></os>
</host>
"""
NMAP_DOWN = '<host><status state="down" reason="no-response" reason_ttl="0"/><address addr="10.0.0.99" addrtype="ipv4"/></host>\n'
NMAP_TAIL = '<runstats><finished time="1763800100" elapsed="100" exit="success"/></runstats>\n</nmaprun>\n'


def test_nmap_scripts_os_and_cpes(tmp_path: Path) -> None:
    scan = tmp_path / "scan.xml"
    scan.write_text(NMAP_HEAD + NMAP_HOST.format(n=5) + NMAP_DOWN + NMAP_TAIL)
    obs, errors = run("nmap", scan)
    assert errors == []
    host = obs[0]
    assert host.hostname == "ont-5.example.net"
    assert host.facts["os"] == "Huawei VRP 5.X"  # best accuracy
    assert host.facts["cpe"] == "cpe:/o:huawei:vrp:5"
    assert host.facts["device_type"] == "switch"
    facts = {k: v for o in obs[1:] if "upnp.server" not in o.facts for k, v in o.facts.items()}
    assert facts["tls.subject"] == "commonName=ont.home, organizationName=Huawei Technologies Co., Ltd, countryName=CN"
    assert facts["snmp.sysdescr"] == "EchoLife HG8245H GPON Terminal"
    assert facts["http.server"] == "Huawei-HTTPd"
    assert facts["http.realm"] == "HG8245H"
    assert facts["cpe"] == "cpe:/h:huawei:hg8245h"
    assert facts["service.banner"] == "Huawei HG8245H ONT http config"
    upnp = next(o.facts for o in obs if "upnp.server" in o.facts)
    assert upnp == {
        "upnp.server": "Linux/3.10, UPnP/1.0, Portable SDK for UPnP devices/1.6.19",
        "http.server": "Linux/3.10, UPnP/1.0, Portable SDK for UPnP devices/1.6.19",
        "manufacturer": "Huawei Technologies Co., Ltd.",
        "device_type": "GPON terminal",
        "model": "HG8245H",
    }
    assert len(obs) == 5  # host + 4 open ports; the closed port and the down host give nothing
    assert all(o.ip != "10.0.0.99" for o in obs)


def test_nmap_is_streamed_with_exact_lines(tmp_path: Path) -> None:
    """2,000 hosts (5 MB): every host and port read at its own line, while memory stays a small fraction of the
    file (a whole parsed tree would take several times the file's size)."""
    count = 2000
    scan = tmp_path / "big.xml"
    scan.write_text(NMAP_HEAD + "".join(NMAP_HOST.format(n=n % 256) for n in range(count)) + NMAP_TAIL)
    per_host = NMAP_HOST.count("\n")
    port_offsets = [i for i, text in enumerate(NMAP_HOST.split("\n")) if text.startswith("<port ")]
    hosts = ports = 0
    tracemalloc.start()
    try:
        for item in nmap.parse(scan):
            assert isinstance(item, Observation)
            if "nmap.vendor" in item.facts:  # the host record
                assert item.location.line == NMAP_HEAD.count("\n") + 1 + hosts * per_host
                hosts += 1
            else:
                offset = item.location.line - NMAP_HEAD.count("\n") - 1 - (hosts - 1) * per_host
                assert offset in port_offsets
                ports += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (hosts, ports) == (count, 4 * count)
    assert peak < scan.stat().st_size / 2, f"peak {peak} bytes while reading a {scan.stat().st_size}-byte file"


def test_nmap_truncated_keeps_complete_hosts(tmp_path: Path) -> None:
    whole = NMAP_HEAD + "".join(NMAP_HOST.format(n=n) for n in (1, 2, 3))
    cut = whole[: whole.rindex("<port protocol=")]  # the third host is cut off mid-way
    scan = tmp_path / "cut.xml"
    scan.write_text(cut)
    obs, errors = run("nmap", scan)
    assert {o.mac for o in obs} == {"00:E0:FC:00:00:01", "00:E0:FC:00:00:02"}
    assert len(errors) == 1
    assert "truncated" in errors[0].message
    assert errors[0].location.file == str(scan) and errors[0].location.line == cut.count("\n") + 1


def test_nmap_malformed_xml_names_the_line(tmp_path: Path) -> None:
    scan = tmp_path / "bad.xml"
    scan.write_text(
        NMAP_HEAD + NMAP_HOST.format(n=1) + "<host><status state='up'/>\n<address addr=10.0.0.2/>\n" + NMAP_TAIL
    )
    obs, errors = run("nmap", scan)
    assert {o.mac for o in obs} == {"00:E0:FC:00:00:01"}
    assert len(errors) == 1 and "malformed XML" in errors[0].message
    assert errors[0].location.line == (NMAP_HEAD + NMAP_HOST.format(n=1)).count("\n") + 2


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE nmaprun [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<nmaprun scanner="nmap"><host><status state="up"/><address addr="10.0.0.1" addrtype="ipv4"/>
<hostnames><hostname name="&lol9;"/></hostnames></host></nmaprun>
"""


def test_nmap_entity_bomb_is_refused(tmp_path: Path) -> None:
    scan = tmp_path / "bomb.xml"
    scan.write_text(BILLION_LAUGHS)
    assert sniffed(scan) == "nmap"
    obs, errors = run("nmap", scan)
    assert obs == []
    assert len(errors) == 1 and "entity declaration refused" in errors[0].message
    assert errors[0].location.line == 3  # the first <!ENTITY


def test_nmap_external_entity_is_refused(tmp_path: Path) -> None:
    scan = tmp_path / "xxe.xml"
    scan.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<nmaprun>&x;</nmaprun>\n'
    )
    obs, errors = run("nmap", scan)
    assert obs == [] and len(errors) == 1 and "refused" in errors[0].message


def test_nmap_depth_and_root_are_checked(tmp_path: Path) -> None:
    deep = only_error("nmap", tmp_path / "deep.xml", "<nmaprun>" + "<a>" * 200 + "</a>" * 200 + "</nmaprun>")
    assert "deeper than" in deep.message
    assert "not <nmaprun>" in only_error("nmap", tmp_path / "other.xml", "<html><!-- <nmaprun --></html>").message


def test_nmap_depth_is_checked_in_any_place(tmp_path: Path) -> None:
    """Too deep inside a host, in a file cut inside a deep nest, and after hosts: each is refused, with the line
    where the nesting goes too deep; hosts before it are kept."""
    inside = NMAP_HEAD + NMAP_HOST.format(n=1) + "<host>\n" + "<a>" * 100 + "</a>" * 100 + "</host>\n" + NMAP_TAIL
    cut = NMAP_HEAD + NMAP_HOST.format(n=1) + "<host>\n" + "<a>\n" * 70_000
    head_lines = (NMAP_HEAD + NMAP_HOST.format(n=1)).count("\n")
    for name, text, line in (("inside.xml", inside, head_lines + 2), ("cut.xml", cut, head_lines + 64)):
        scan = tmp_path / name
        scan.write_text(text)
        obs, errors = run("nmap", scan)
        assert [e.message for e in errors] == ["XML nested deeper than 64 levels"], name
        assert errors[0].location.line == line, name
        assert {o.mac for o in obs} == {"00:E0:FC:00:00:01"}, name


def test_nmap_lines_stay_right_after_other_elements(tmp_path: Path) -> None:
    """Thousands of other children of <nmaprun>, a <port> outside any host and a host inside another element come
    before the hosts: each host and port is still cited at its own line."""
    noise = '<x a="1"/>' * 5000 + '\n<y><port protocol="tcp" portid="1"/></y>\n<z><host><ports/></host></z>\n'
    scan = tmp_path / "noisy.xml"
    scan.write_text(NMAP_HEAD + noise + NMAP_HOST.format(n=1) + NMAP_HOST.format(n=2) + NMAP_TAIL)
    obs, errors = run("nmap", scan)
    assert errors == []
    first = NMAP_HEAD.count("\n") + noise.count("\n") + 1
    hosts = [o for o in obs if "nmap.vendor" in o.facts]
    assert [(o.mac, o.location.line) for o in hosts] == [
        ("00:E0:FC:00:00:01", first),
        ("00:E0:FC:00:00:02", first + NMAP_HOST.count("\n")),
    ]
    port_lines = [i for i, text in enumerate(NMAP_HOST.split("\n")) if text.startswith("<port ")]
    ports = sorted(o.location.line - first for o in obs if o.mac == "00:E0:FC:00:00:01" and o not in hosts)
    assert ports == port_lines[:4]


def test_nmap_hosts_with_many_ports_are_read_whole(tmp_path: Path) -> None:
    """A host of 300 open ports (far more elements than the depth limit, all shallow) gives all its ports, each at
    its own line."""
    ports = "".join(
        f'<port protocol="tcp" portid="{p}"><state state="open" reason="syn-ack" reason_ttl="64"/>'
        f'<service name="http" product="Port{p} httpd" method="probed" conf="10"/></port>\n'
        for p in range(1, 301)
    )
    host = NMAP_HOST.format(n=1).replace("<ports>\n", "<ports>\n" + ports, 1)
    scan = tmp_path / "wide.xml"
    scan.write_text(NMAP_HEAD + host + NMAP_HOST.format(n=2) + NMAP_TAIL)
    obs, errors = run("nmap", scan)
    assert errors == []
    first = NMAP_HEAD.count("\n") + 1
    banners = {o.facts.get("service.banner"): o.location.line for o in obs if o.mac == "00:E0:FC:00:00:01"}
    assert all(banners[f"Port{p} httpd"] == first + 4 + p for p in range(1, 301))
    assert sum(1 for o in obs if o.mac == "00:E0:FC:00:00:02") == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('Digest realm="DS-2CD2143G0-I", qop="auth", nonce="4e6a4d3d"', "DS-2CD2143G0-I"),
        ('Basic realm="Login to 3K02D1FPAZ00123"', "Login to 3K02D1FPAZ00123"),
        ("Digest qop=auth stale=FALSE nonce=4e6a4d3d realm=HG8245H", "HG8245H"),
        ("Basic REALM='ZXHN H108N'", "ZXHN H108N"),
        ("Negotiate", None),
    ],
)
def test_www_authenticate_realm(text: str, expected: str | None) -> None:
    assert nmap.realm(text) == expected


# --- inventories ------------------------------------------------------------------------------------------------


def test_servicenow_csv_with_invalid_mac_row() -> None:
    path = FIX / "servicenow-cmdb_ci.csv"
    obs, errors = run("inventory-csv", path)
    assert len(obs) == 6
    cam = obs[0]
    assert (cam.mac, cam.ip, cam.hostname, cam.serial) == (
        "4C:BD:8F:6E:02:A7",
        "10.20.30.15",
        "cam-lobby-01",
        "E12345678",
    )
    assert cam.facts == {
        "manufacturer": "Hangzhou Hikvision Digital Technology Co., Ltd.",
        "model": "DS-2CD2143G0-I",
        "device_type": "IP Camera",
    }
    assert cam.location.row == 2 and cam.where("model").field == "model_id"  # header = row 1
    [error] = errors
    assert (error.location.file, error.location.row, error.location.field) == (str(path), 7, "mac_address")
    assert "'not recorded'" in error.message
    radio = obs[5]  # the rest of the row is still used
    assert radio.mac is None and radio.facts["manufacturer"].startswith("Hytera") and radio.location.row == 7


def test_intune_csv_utf8_bom_and_mac_fallback() -> None:
    obs, errors = run("inventory-csv", FIX / "intune-devices.csv")
    assert errors == []
    macs = [o.mac for o in obs]
    assert macs == ["5C:E8:83:0A:1B:2C", "A8:79:8D:22:33:44", None, "B0:22:7A:11:42:90"]  # last from EthernetMAC
    assert obs[0].facts["manufacturer"] == "HUAWEI" and obs[0].serial == "8KE0219315004527"
    assert obs[0].hostname == "FIN-PHONE-0117"
    assert sources.describe_mapping(FIX / "intune-devices.csv")["mac"] == "Wi-Fi MAC"


def test_excel_unicode_text_utf16_tab_separated() -> None:
    path = FIX / "excel-unicode.txt"
    assert path.read_bytes()[:2] == b"\xff\xfe"
    obs, errors = run("inventory-csv", path)
    assert [o.facts["manufacturer"] for o in obs] == ["Hikvision", "Huawei", "Uniview"]
    assert obs[1].mac == "00:E0:FC:99:88:77" and obs[1].ip == "192.168.1.30"
    assert len(errors) == 1 and errors[0].location.row == 4 and errors[0].location.field == "MAC"


def test_excel_semicolon_with_sep_line() -> None:
    obs, errors = run("inventory-csv", FIX / "excel-semicolon.csv")
    assert errors == []
    assert obs[0].facts == {"manufacturer": "ZTE Corporation", "model": "ZXHN F670L"}
    assert obs[0].mac == "34:4B:50:55:6E:01" and obs[0].serial == "ZTEGC8AB1234"


def test_multiline_cells_and_error_lines_after_a_sep_line(tmp_path: Path) -> None:
    import csv

    path = tmp_path / "switches.csv"
    path.write_bytes(
        b"sep=;\r\nHostname;Model;sysDescr\r\n"
        b'core-1;S5735;"Huawei Versatile Routing Platform Software\r\nVRP (R) software, Version 5.170"\r\n'
        b'edge-2;"' + b"C" * 2_000_000 + b'";x\r\n'
        b"edge-3;ZXR10 2928E;ZXR10 ROS\r\n"
        b"edge-4;bad\rcell;y\r\n"  # a lone carriage return: the csv module cannot read the row
        b"edge-5;S5700;VRP\r\n"
    )
    old = csv.field_size_limit(131072)  # process-wide state that other code changes: the reader does not rely on it
    try:
        obs, errors = run("inventory-csv", path)
    finally:
        csv.field_size_limit(old)
    assert (
        obs[0].facts["service.banner"]
        == "Huawei Versatile Routing Platform Software\r\nVRP (R) software, Version 5.170"
    )
    assert [(o.hostname, o.location.row) for o in obs] == [("core-1", 3), ("edge-2", 4), ("edge-3", 5), ("edge-5", 7)]
    assert obs[1].facts == {"service.banner": "x"}  # the oversized cell is not used, the rest of the row is
    cell, unreadable = errors
    assert (cell.location.row, cell.location.field) == (4, "Model") and "cell is 2000000 characters" in cell.message
    assert (unreadable.location.line, unreadable.location.row) == (7, 6) and "unreadable row" in unreadable.message


def test_mapping_override_and_description(tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text("Asset,Maker,Kit,Address\nA-1,ZTE,ZXR10 5960,70:7b:e8:11:22:33\n")
    assert sniffed(path) is None and sources.describe_mapping(path) is None  # a maker column alone is not enough
    mapping = {"model": "Kit", "mac": "address"}  # column names are matched case-insensitively
    assert sources.sniff(InputFile(path, read_head(path)), mapping) == "inventory-csv"
    assert sources.describe_mapping(path, mapping) == {"manufacturer": "Maker", "model": "Kit", "mac": "Address"}
    obs, errors = run("inventory-csv", path, mapping)
    assert errors == [] and obs[0].facts == {"manufacturer": "ZTE", "model": "ZXR10 5960"}
    assert obs[0].mac == "70:7B:E8:11:22:33"
    _, errors = run("inventory-csv", path, {"serial": "Serial No"})
    assert len(errors) == 1 and errors[0].location.line == 1 and "'Serial No'" in errors[0].message


def test_header_below_report_title_lines(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Network device report\nGenerated 2026-11-20 by NMS\n\nIP,Vendor,Model\n10.0.0.1,Huawei,S5735-L24T4S-A1\n"
    )
    assert sniffed(path) == "inventory-csv"
    obs, errors = run("inventory-csv", path)
    assert errors == [] and len(obs) == 1
    assert obs[0].facts == {"manufacturer": "Huawei", "model": "S5735-L24T4S-A1"} and obs[0].ip == "10.0.0.1"
    assert obs[0].location.row == 5  # the row a spreadsheet shows, below the title lines and the header


def test_missing_columns_is_one_error_naming_the_header(tmp_path: Path) -> None:
    path = tmp_path / "minutes.csv"
    path.write_text("Date,Attendees,Topic\n2026-11-02,5,Budget\n2026-11-09,4,Plans\n")
    obs, errors = run("inventory-csv", path)
    assert obs == [] and len(errors) == 1
    assert errors[0].location.line == 1 and "'Attendees'" in errors[0].message and "--map" in errors[0].message


def test_huge_cell_is_reported_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text(
        'MAC,Manufacturer,Model\n00:e0:fc:00:00:01,"' + "A" * 2_000_000 + '",X\n00:e0:fc:00:00:02,Huawei,AR161\n'
    )
    obs, errors = run("inventory-csv", path)
    # the csv module's limit (process-wide, set by whoever came last) or the per-cell bound reports it
    assert len(errors) == 1 and errors[0].location.row == 2
    assert "field larger than field limit" in errors[0].message or "cell is 2000000 characters" in errors[0].message
    assert obs[-1].mac == "00:E0:FC:00:00:02"


def test_huge_cell_within_the_csv_limit_is_still_bounded(tmp_path: Path) -> None:
    import csv

    path = tmp_path / "huge.csv"
    path.write_text("MAC,Manufacturer,Model\n00:e0:fc:00:00:01,Huawei," + "B" * 200_000 + "\n")
    old = csv.field_size_limit(1 << 24)
    try:
        obs, errors = run("inventory-csv", path)
    finally:
        csv.field_size_limit(old)
    assert [(e.location.row, e.location.field) for e in errors] == [(2, "Model")]
    assert obs[0].facts == {"manufacturer": "Huawei"} and obs[0].mac == "00:E0:FC:00:00:01"


@pytest.mark.parametrize("fmt", sorted(sources.FORMATS))
def test_empty_and_binary_files_give_one_error(tmp_path: Path, fmt: str) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01\x02\xff" * 5000)
    for path in (empty, junk):
        obs, errors = run(fmt, path)
        assert obs == [] and len(errors) == 1, (fmt, path, errors)
        assert errors[0].location.file == str(path)


def test_xlsx_inventory(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["Exported from the asset register"])
    sheet = book.create_sheet("Cameras")
    sheet.append(["Camera register, site HQ"])  # a title row above the header
    sheet.append([])
    sheet.append(["Device Name", "Vendor", "Model Number", "MAC Address", "IP Address"])
    sheet.append(["cam-01", "Hikvision", "DS-2CD2143G0-I", "4C:BD:8F:6E:02:A7", "10.1.1.5"])
    sheet.append([None, None, None, None, None])
    sheet.append(["cam-02", "Dahua", "IPC-HDW2431T-AS-S2", "12345", "10.1.1.6"])
    path = tmp_path / "register.xlsx"
    book.save(path)
    assert sniffed(path) == "inventory-xlsx"
    assert sources.describe_mapping(path) == {
        "hostname": "Device Name",
        "manufacturer": "Vendor",
        "model": "Model Number",
        "mac": "MAC Address",
        "ip": "IP Address",
    }
    obs, errors = run("inventory-xlsx", path)
    assert [o.hostname for o in obs] == ["cam-01", "cam-02"]
    assert obs[0].mac == "4C:BD:8F:6E:02:A7" and obs[0].location.entry == "Cameras" and obs[0].location.row == 4
    assert obs[1].location.row == 6 and obs[1].facts["model"] == "IPC-HDW2431T-AS-S2"
    assert len(errors) == 1 and errors[0].location.row == 6 and errors[0].location.entry == "Cameras"


def test_xlsx_zip_bomb_and_plain_zip_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (8 << 20))
    obs, errors = run("inventory-xlsx", bomb)
    assert obs == [] and len(errors) == 1 and "zip bomb" in errors[0].message
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert sniffed(plain) is None
    _, errors = run("inventory-xlsx", plain)
    assert len(errors) == 1 and "not an XLSX" in errors[0].message


def test_xlsx_damaged_worksheet(tmp_path: Path) -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Manufacturer", "Model", "MAC"])
    for i in range(200):
        book.active.append(["ZTE", "ZXHN F670L", f"34:4b:50:00:{i // 256:02x}:{i % 256:02x}"])
    buffer = io.BytesIO()
    book.save(buffer)
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            data = src.read(info.filename)
            out.writestr(info, data[: len(data) // 2] if info.filename == "xl/worksheets/sheet1.xml" else data)
    obs, errors = run("inventory-xlsx", path)
    assert 0 < len(obs) < 200  # rows before the damage are kept
    assert len(errors) == 1 and errors[0].location.entry == "Sheet" and "unreadable worksheet" in errors[0].message


def test_json_inventories() -> None:
    obs, errors = run("inventory-json", FIX / "intune-graph.json")
    assert errors == []
    assert [(o.mac, o.facts["manufacturer"], o.serial) for o in obs] == [
        ("5C:E8:83:0A:1B:2C", "HUAWEI", "8KE0219315004527"),
        ("A8:79:8D:22:33:44", "samsung", "R5CT20ABCDE"),
    ]
    obs, errors = run("inventory-json", FIX / "servicenow-cmdb_ci.json")
    assert obs[1].facts["manufacturer"] == "Huawei Technologies Co., Ltd."  # display_value unwrapped
    assert obs[1].mac == "00:E0:FC:3A:91:0C" and obs[1].location.row == 2
    assert len(errors) == 1 and errors[0].location.row == 3 and "not an object" in errors[0].message


def test_json_inventory_with_nested_values(tmp_path: Path) -> None:
    path = tmp_path / "assets.json"
    path.write_text(
        '{"devices": [{"hostname": "nvr-2", "vendor": {"name": "Hikvision"}, "model": "DS-7616NI-K2",'
        ' "ip_addresses": ["", "10.1.2.3", "10.1.2.4"], "mac": ["44:19:b6:aa:bb:cc"], "tags": ["cctv"]}]}'
    )
    assert sniffed(path) == "inventory-json"
    [obs], errors = run("inventory-json", path)
    assert errors == []
    assert (obs.hostname, obs.ip, obs.mac, obs.facts["manufacturer"], obs.facts["model"]) == (
        "nvr-2",
        "10.1.2.3",
        "44:19:B6:AA:BB:CC",
        "Hikvision",
        "DS-7616NI-K2",
    )


def test_json_bad_input(tmp_path: Path) -> None:
    broken = only_error("inventory-json", tmp_path / "broken.json", '[\n {"manufacturer": "ZTE",\n  "model": }\n]')
    assert broken.location.line == 3 and "malformed JSON" in broken.message
    assert "deep" in only_error("inventory-json", tmp_path / "deep.json", "[" * 5000 + "]" * 5000).message
    digits = only_error(
        "inventory-json", tmp_path / "digits.json", '[{"manufacturer": "ZTE", "model": ' + "9" * 50_000 + "}]"
    )
    assert "malformed JSON" in digits.message
    assert "no list" in only_error("inventory-json", tmp_path / "nolist.json", '{"manufacturer": "ZTE"}').message


# --- neighbour tables ---------------------------------------------------------------------------------------


def test_linux_neighbour_tables_captured_from_real_tools() -> None:
    for name in ("ip-neigh.txt", "arp-an.txt"):
        obs, errors = run("neigh-linux", FIX / name)
        assert errors == []
        assert [(o.ip, o.mac, o.facts["interface"]) for o in obs] == [
            ("10.231.7.20", "4C:BD:8F:12:34:56", "bsfix-h"),
            ("192.0.2.1", "02:FC:00:00:00:05", "eth0"),
        ]


def test_linux_neighbour_variants(tmp_path: Path) -> None:
    path = tmp_path / "neigh"
    path.write_text(
        "10.0.0.1 dev eth0 lladdr 00:e0:fc:01:02:03 router REACHABLE\n"
        "10.0.0.7 dev eth0  FAILED\n"
        "fe80::1 dev eth0 lladdr 00:e0:fc:01:02:03 router STALE\n"
        "gw.lan (10.0.0.9) at 4c:bd:8f:00:00:09 [ether] on eth0\n"
        "? (10.0.0.10) at <incomplete> on eth0\n"
        "10.0.0.11 dev eth0 lladdr 00:e0:fc:zz:02:03 STALE\n"
        "garbage line here\n"
        "? (10.0.0.12) at 0:e0:fc:1:2:3 on en0 ifscope [ethernet]\n"  # macOS/BSD arp -a
        "? (10.0.0.13) at (incomplete) on en0 ifscope [ethernet]\n"
    )
    obs, errors = run("neigh-linux", path)
    assert [(o.ip, o.mac, o.hostname) for o in obs] == [
        ("10.0.0.1", "00:E0:FC:01:02:03", None),
        ("fe80::1", "00:E0:FC:01:02:03", None),
        ("10.0.0.9", "4C:BD:8F:00:00:09", "gw.lan"),
        ("10.0.0.12", "00:E0:FC:01:02:03", None),
    ]
    assert [(e.location.line, e.message.split(":")[0]) for e in errors] == [
        (6, "not a MAC address"),
        (7, "not a neighbour table entry"),
    ]


def test_live_ip_neigh_and_arp_output_parse_cleanly(tmp_path: Path) -> None:
    import subprocess

    checked = []
    for cmd in (["ip", "neigh", "show"], ["arp", "-an"]):
        if shutil.which(cmd[0]) is None:
            continue
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
        if not out.strip():
            continue
        path = tmp_path / cmd[0]
        path.write_text(out)
        obs, errors = run("neigh-linux", path)
        assert errors == [], out
        assert obs or all("INCOMPLETE" in line or "FAILED" in line for line in out.splitlines()), out
        checked.append(cmd[0])
    if not checked:
        pytest.skip("neither `ip neigh` nor `arp -an` printed a neighbour table on this machine")


def test_windows_arp_sections_and_broadcasts() -> None:
    obs, errors = run("arp-windows", FIX / "arp-windows.txt")
    assert errors == []
    assert [(o.ip, o.mac, o.facts["interface"]) for o in obs] == [
        ("192.168.20.1", "00:E0:FC:3A:91:0C", "192.168.20.14 (0xb)"),
        ("192.168.20.31", "4C:BD:8F:6E:02:A7", "192.168.20.14 (0xb)"),
        ("192.168.20.44", "B0:22:7A:11:42:90", "192.168.20.14 (0xb)"),
        ("10.8.0.1", "D8:49:0B:77:10:22", "10.8.0.6 (0x13)"),
    ]
    assert obs[0].location.line == 4


def test_windows_arp_in_another_display_language(tmp_path: Path) -> None:
    path = tmp_path / "arp"
    path.write_text(
        "\nSchnittstelle: 192.168.178.20 --- 0x7\n"
        "  Internetadresse       Physische Adresse     Typ\n"
        "  192.168.178.1         3c-a6-2f-01-02-03     dynamisch\n"
        "  192.168.178.44        00-e0-fc-12-34-56     dynamisch\n"
        "  192.168.178.255       ff-ff-ff-ff-ff-ff     statisch\n"
    )
    assert sniffed(path) == "arp-windows"
    obs, errors = run("arp-windows", path)
    assert errors == [] and [o.mac for o in obs] == ["3C:A6:2F:01:02:03", "00:E0:FC:12:34:56"]
    assert obs[1].facts["interface"] == "192.168.178.20 (0x7)"


def test_cisco_show_ip_arp() -> None:
    obs, errors = run("cisco-arp", FIX / "cisco-show-ip-arp.txt")
    assert errors == []
    assert [o.ip for o in obs] == ["10.20.30.1", "10.20.30.15", "10.20.30.16", "10.20.30.40", "10.20.40.9"]
    assert by_mac(obs)["4C:BD:8F:6E:02:A7"].facts == {"interface": "Vlan30"}


def test_cisco_nxos_show_ip_arp_with_legend(tmp_path: Path) -> None:
    path = tmp_path / "nxos-arp"
    path.write_text(
        "leaf-3# show ip arp\n\n"
        "Flags: * - Adjacencies learnt on non-active FHRP router\n"
        "       + - Adjacencies synced via CFSoE\n"
        "       CP - Added via L2RIB, Control plane Adjacencies\n"
        "       D - Static Adjacencies attached to down interface\n\n"
        "IP ARP Table for context default\n"
        "Total number of entries: 2\n"
        "Address         Age       MAC Address     Interface       Flags\n"
        "10.9.0.11       00:04:12  00e0.fc12.a001  Vlan110\n"
        "10.9.0.12       00:00:41  4cbd.8f00.1234  Vlan110         +\n"
        "some unexpected text\n"
    )
    assert sniffed(path) == "cisco-arp"
    obs, errors = run("cisco-arp", path)
    assert [(o.ip, o.mac) for o in obs] == [("10.9.0.11", "00:E0:FC:12:A0:01"), ("10.9.0.12", "4C:BD:8F:00:12:34")]
    assert [(e.location.line, e.message) for e in errors] == [(13, "not a show ip arp entry: 'some unexpected text'")]


def test_cisco_mac_tables() -> None:
    obs, errors = run("cisco-mac-table", FIX / "cisco-mac-table-ios.txt")
    assert errors == []
    assert len(obs) == 5  # CPU/All entries skipped
    cam = by_mac(obs)["4C:BD:8F:6E:02:A7"]
    assert cam.facts == {"vlan": "30", "interface": "Gi1/0/5"} and cam.location.line == 12
    obs, errors = run("cisco-mac-table", FIX / "cisco-mac-table-nxos.txt")
    assert errors == []
    assert [(o.mac, o.facts["vlan"], o.facts["interface"]) for o in obs] == [
        ("00:E0:FC:12:A0:01", "110", "Eth1/7"),
        ("4C:BD:8F:00:12:34", "110", "Eth1/9"),
        ("70:7B:E8:11:22:33", "120", "Po10"),
    ]


# --- DHCP ------------------------------------------------------------------------------------------------------


def test_isc_dhcpd_leases() -> None:
    obs, errors = run("dhcp-isc", FIX / "dhcpd.leases")
    assert errors == []
    leases = {o.ip: o for o in obs}
    assert leases["192.168.50.102"].facts == {"dhcp.vendor_class": "HUAWEI:android:HG8245H", "dhcp.hostname": "HG8245H"}
    assert leases["192.168.50.102"].mac == "00:E0:FC:3A:91:0C" and leases["192.168.50.102"].location.line == 21
    uid_only = leases["192.168.50.130"]  # no hardware line: the MAC comes from the uid (octal-escaped client id)
    assert uid_only.mac == "3C:EF:8C:0A:0B:0C" and uid_only.fields["mac"] == "uid"
    assert uid_only.facts["dhcp.vendor_class"].endswith(":Dahua")


def test_isc_dhcpd_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "dhcpd.leases"
    path.write_text(
        'lease 10.0.0.5 {\n  hardware ethernet 00:e0:fc:zz:00:01;\n  option vendor-class-identifier "ZTE-ONT";\n}\n'
        "lease 10.0.0.9 {\n  hardware ethernet 00:e0:fc:00:00:09\n}\n"
        "what is this\n"
        "lease 10.0.0.6 {\n  hardware ethernet 4c:bd:8f:00:00:06;\n"
    )
    obs, errors = run("dhcp-isc", path)
    assert [(o.ip, o.mac, o.facts.get("dhcp.vendor_class")) for o in obs] == [
        ("10.0.0.5", None, "ZTE-ONT"),
        ("10.0.0.9", None, None),
    ]
    assert [(e.location.line, e.message.split(" (")[0]) for e in errors] == [
        (1, "not a MAC address: '00:e0:fc:zz:00:01'"),
        (6, "not a lease statement"),
        (8, "not a dhcpd.leases statement: 'what is this'"),
        (9, "lease block is not closed"),
    ]


def test_dnsmasq_leases() -> None:
    obs, errors = run("dnsmasq", FIX / "dnsmasq.leases")
    assert errors == []
    assert [(o.mac, o.ip, o.hostname) for o in obs] == [
        ("4C:BD:8F:6E:02:A7", "192.168.8.121", "IPC"),
        ("3C:EF:8C:0A:0B:0C", "192.168.8.133", None),
        ("B0:22:7A:11:42:90", "192.168.8.140", "FIN-LT-0042"),
        ("D8:49:0B:77:10:22", "192.168.8.150", "HUAWEI_P30-5d2c1a"),
        (None, "fd00:8::1a2b", "HUAWEI_P30-5d2c1a"),
    ]


def test_kea_leases_with_user_context_vendor_class() -> None:
    obs, errors = run("kea-csv", FIX / "kea-leases4.csv")
    assert errors == []
    leases = {o.ip: o for o in obs}
    assert leases["10.40.1.21"].facts["dhcp.vendor_class"] == "udhcp 1.19.4"
    ont = leases["10.40.1.23"]
    assert ont.mac == "00:E0:FC:3A:91:0C" and ont.fields["mac"] == "client_id"  # from client_id, hwaddr empty
    assert ont.facts["dhcp.vendor_class"] == "HUAWEI:android:HG8245H, rev A"  # Kea's &#x2c unescaped
    assert ont.hostname == "hg8245h.example.net" and ont.location.row == 3


# --- SNMP, getprop, CycloneDX -----------------------------------------------------------------------------------


def test_snmpwalk_real_captures_numeric_and_default() -> None:
    for name in ("snmpwalk-default.txt", "snmpwalk-numeric.txt"):
        obs, errors = run("snmpwalk", FIX / name)
        assert errors == []
        agent, zte, cam = obs
        assert agent.facts["snmp.sysobjectid"] == "1.3.6.1.4.1.2011.2.23.551"
        assert agent.facts["snmp.sysdescr"].startswith("Huawei Versatile Routing Platform")
        assert agent.hostname == "core-sw-02.example.net" and agent.location.line == 1
        assert zte.mac == "70:7B:E8:11:22:33" and zte.facts["lldp.sysname"] == "ZXR10-5960-56QU"
        assert zte.facts["lldp.sysdesc"].endswith("by ZTE Corporation")
        assert zte.facts["lldp.port_desc"] == "uplink to core-sw-02"
        assert cam.facts["lldp.chassis_mac"] == "E0:CD:FD:0A:0B:0C"


def test_snmpwalk_mib_names_and_multiline_strings() -> None:
    obs, errors = run("snmpwalk", FIX / "snmpwalk-mibnames.txt")
    assert errors == []
    agent = obs[0]
    assert agent.facts["snmp.sysdescr"].count("\n") == 3 and "Compiled Fri" in agent.facts["snmp.sysdescr"]
    assert agent.facts["snmp.sysobjectid"] == "1.3.6.1.4.1.9.1.1208"
    assert (agent.facts["snmp.entity_mfg"], agent.facts["model"], agent.serial) == (
        "Cisco Systems Inc",
        "WS-C2960X-48FPD-L",
        "FOC2231X0PQ",
    )
    assert (agent.mac, agent.ip) == ("00:24:C4:E1:7B:40", "10.20.30.1")  # first interface MAC, non-loopback IP
    router = by_mac(obs)["00:E0:FC:3A:91:0C"]
    assert router.ip == "10.20.0.7"  # from the lldpRemManAddrTable index
    assert router.facts["lldp.sysdesc"].splitlines()[-1] == "Huawei AR161 Router"
    assert router.where("lldp.sysdesc").field == "LLDP-MIB::lldpRemSysDesc.0.6.2"


def test_snmpwalk_unclosed_string_and_junk(tmp_path: Path) -> None:
    path = tmp_path / "walk"
    path.write_text(
        'iso.3.6.1.2.1.1.5.0 = STRING: "edge-1"\nthis is not snmp\niso.3.6.1.2.1.1.1.0 = STRING: "ZXR10 ROS\nVersion'
    )
    obs, errors = run("snmpwalk", path)
    assert obs[0].facts == {"snmp.sysname": "edge-1"}
    assert [(e.location.line, e.message.split(":")[0]) for e in errors] == [
        (2, "not an snmpwalk line"),
        (3, "quoted string is not closed (truncated file?)"),
    ]


def test_getprop_dump() -> None:
    [phone], errors = run("getprop", FIX / "getprop-phone.txt")
    assert errors == []
    assert {k: phone.facts[k] for k in ("manufacturer", "brand", "model", "os")} == {
        "manufacturer": "HUAWEI",
        "brand": "HUAWEI",
        "model": "ELE-L29",
        "os": "Android 10",
    }
    assert phone.serial == "8KE0219315004527" and phone.hostname == "HUAWEI_P30-5d2c1a"
    assert phone.facts["prop.ro.hardware"] == "kirin980"
    assert phone.where("model").field == "[ro.product.model]"


def test_getprop_multiline_value_and_truncation(tmp_path: Path) -> None:
    path = tmp_path / "props"
    path.write_text(
        "[ro.product.model]: [ZTE Blade A7]\n[persist.sys.note]: [first line\nsecond line]\n"
        "[ro.product.manufacturer]: [ZTE]\n[ro.build.description]: [cut off"
    )
    [phone], errors = run("getprop", path)
    assert phone.facts["prop.persist.sys.note"] == "first line\nsecond line"
    assert (phone.facts["model"], phone.facts["manufacturer"]) == ("ZTE Blade A7", "ZTE")
    assert [(e.location.line, e.message.split(" (")[0]) for e in errors] == [
        (5, "value of [ro.build.description] is not closed with ']'")
    ]


def test_cyclonedx_devices() -> None:
    obs, errors = run("cyclonedx", FIX / "cyclonedx-devices.json")
    pointers = {o.location.field: o for o in obs}
    nvr = pointers["/components/0"]
    assert nvr.facts["manufacturer"] == "Hangzhou Hikvision Digital Technology Co., Ltd."
    assert nvr.facts["model"] == "DS-7608NI-K2"
    assert nvr.facts["firmware"] == "NVR firmware V4.30.085 build 200916"  # nested firmware folded in
    assert nvr.mac == "44:19:B6:01:02:03" and nvr.serial.startswith("DS-7608NI-K2")
    lorex = pointers["/components/1"]
    assert lorex.facts["manufacturer"] == "Lorex Technology Inc." and lorex.where("manufacturer").field.endswith(
        "/components/1/supplier"
    )
    assert lorex.facts["cpe"].startswith("cpe:2.3:h:lorex")
    assert pointers["/components/2"].facts == {
        "manufacturer": "ZTE Corporation",
        "firmware": "ZXHN F670L firmware V9.0.11P1N12",
    }
    assert "/components/3" not in pointers  # an application is not a device
    assert [(e.location.field, e.message) for e in errors] == [
        ("/components/1/properties/0", "not a MAC address: 'not-a-mac'"),
        ("/components/4", "component is not an object"),
    ]


def test_huge_lines_are_reported_per_line(tmp_path: Path) -> None:
    path = tmp_path / "leases"
    good = "1763903521 4c:bd:8f:6e:02:a7 192.168.8.121 IPC 01:4c:bd:8f:6e:02:a7\n"
    path.write_text(good + good.replace("IPC", "X" * 100_000) + good)
    obs, errors = run("dnsmasq", path)
    assert (
        len(obs) == 2 and len(errors) == 1 and errors[0].location.line == 2 and "characters long" in errors[0].message
    )


# --- real tools on loopback ---------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap not installed")
def test_live_nmap_scan_of_a_loopback_web_server(tmp_path: Path) -> None:
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Camera(BaseHTTPRequestHandler):
        server_version = "DNVRS-Webs"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            body = b"<html><head><title>WEB SERVICE</title></head></html>"
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="Login to 3K02D1FPAZ00123"')
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        out = tmp_path / "scan.xml"
        cmd = ["nmap", "-Pn", "-n", "-sV", "--version-light", "-p", str(port)]
        cmd += ["--script", "http-server-header,http-auth,http-title", "-oX", str(out), "127.0.0.1"]
        subprocess.run(cmd, check=True, capture_output=True, timeout=240)
    finally:
        server.shutdown()
        server.server_close()
    assert sniffed(out) == "nmap"
    obs, errors = run("nmap", out)
    assert errors == []
    facts = {k: v for o in obs for k, v in o.facts.items()}
    assert facts["http.server"] == "DNVRS-Webs"
    assert facts["http.realm"] == "Login to 3K02D1FPAZ00123"
    assert facts["http.title"] == "WEB SERVICE"
    assert all(o.ip == "127.0.0.1" for o in obs)


SNMPD_CONF = """agentAddress udp:127.0.0.1:{port}
rocommunity public 127.0.0.1
sysDescr ZXR10 ROS Version V4.08.23 ZXR10 2928E Software, Version V2.00.10.B37
sysObjectID .1.3.6.1.4.1.3902.15.2.30.3
sysName edge-sw-31
override 1.0.8802.1.1.2.1.4.1.1.4.0.12.1 integer 4
override 1.0.8802.1.1.2.1.4.1.1.5.0.12.1 octet_str 0x4cbd8f6e02a7
override 1.0.8802.1.1.2.1.4.1.1.8.0.12.1 octet_str "eth0"
override 1.0.8802.1.1.2.1.4.1.1.9.0.12.1 octet_str "DS-2CD2143G0-I"
override 1.0.8802.1.1.2.1.4.1.1.10.0.12.1 octet_str "IP CAMERA"
"""


@pytest.mark.skipif(
    shutil.which("snmpwalk") is None or not Path("/usr/sbin/snmpd").exists(), reason="snmp/snmpd not installed"
)
@pytest.mark.parametrize("style", [[], ["-On"]])
def test_live_snmpwalk_against_local_snmpd(tmp_path: Path, style: list[str]) -> None:
    import socket
    import subprocess
    import time

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conf = tmp_path / "snmpd.conf"
    conf.write_text(SNMPD_CONF.format(port=port))
    agent = subprocess.Popen(
        [
            "/usr/sbin/snmpd",
            "-f",
            "-Lf",
            str(tmp_path / "snmpd.log"),
            "-C",
            "-c",
            str(conf),
            "-p",
            str(tmp_path / "pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        walk = b""
        for _ in range(50):  # the agent needs a moment to listen
            base = ["snmpwalk", "-v2c", "-c", "public", "-t", "1", "-r", "0", *style, f"127.0.0.1:{port}"]
            system = subprocess.run([*base, "1.3.6.1.2.1.1"], capture_output=True, timeout=30)
            if system.returncode == 0 and system.stdout:
                lldp = subprocess.run([*base, "1.0.8802.1.1.2.1.4.1.1"], capture_output=True, timeout=30)
                walk = system.stdout + lldp.stdout
                break
            time.sleep(0.2)
    finally:
        agent.terminate()
        agent.wait(timeout=10)
    path = tmp_path / "walk.txt"
    path.write_bytes(walk)
    assert sniffed(path) == "snmpwalk"
    obs, errors = run("snmpwalk", path)
    assert errors == []
    agent_obs, camera = obs
    assert agent_obs.facts["snmp.sysobjectid"] == "1.3.6.1.4.1.3902.15.2.30.3"
    assert agent_obs.facts["snmp.sysdescr"].startswith("ZXR10 ROS")
    assert agent_obs.hostname == "edge-sw-31"
    assert camera.mac == "4C:BD:8F:6E:02:A7" and camera.facts["lldp.sysname"] == "DS-2CD2143G0-I"


def test_record_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bansweep.fleet.sources import common
    from bansweep.tables import limits

    monkeypatch.setattr(limits, "MAX_ROWS", 3)
    monkeypatch.setattr(common, "MAX_RECORDS", 3)
    table = tmp_path / "inv.csv"
    table.write_text("MAC,Model\n" + "".join(f"00:e0:fc:00:00:0{i},AR161\n" for i in range(5)))
    obs, errors = run("inventory-csv", table)
    assert (
        len(obs) == 3 and len(errors) == 1 and errors[0].location.row == 5 and "more than 3 rows" in errors[0].message
    )
    neigh = tmp_path / "neigh"
    neigh.write_text("".join(f"10.0.0.{i} dev eth0 lladdr 00:e0:fc:00:00:0{i} STALE\n" for i in range(5)))
    obs, errors = run("neigh-linux", neigh)
    assert (
        len(obs) == 3 and len(errors) == 1 and errors[0].location.line == 4 and "more than 3 lines" in errors[0].message
    )
