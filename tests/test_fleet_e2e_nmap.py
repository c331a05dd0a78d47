"""End to end with the real nmap: hosts in network namespaces with covered vendors' MAC prefixes serve vendor-like
banners; nmap scans them (-oX) and `bansweep fleet` reads the scan.

Everything happens in namespaces this test creates (one scanner namespace with a bridge, one namespace per host,
veth pairs) on a private 10.x subnet; nothing touches the host's own interfaces. Skipped without root, `ip netns`
or nmap.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bansweep.cli import main

pytestmark = pytest.mark.netns

SERVER = textwrap.dedent(
    '''
    """Vendor-like banners: HTTP (Server, Date, WWW-Authenticate), RTSP (401 with Server), a telnet prompt."""
    import socketserver, sys, threading, time

    class Threaded(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    def read_head(rfile):
        first = rfile.readline(4096)
        while True:
            line = rfile.readline(4096)
            if line in (b"\\r\\n", b"\\n", b""):
                return first

    def http(server, realm):
        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.connection.settimeout(5)
                try:
                    first = read_head(self.rfile)
                except OSError:
                    return
                body = b"<html><head><title>Login</title></head><body>401</body></html>"
                date = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime())
                head = (
                    f"HTTP/1.1 401 Unauthorized\\r\\nServer: {server}\\r\\nDate: {date}\\r\\n"
                    f'WWW-Authenticate: Basic realm="{realm}"\\r\\nContent-Type: text/html\\r\\n'
                    f"Content-Length: {len(body)}\\r\\nConnection: close\\r\\n\\r\\n"
                )
                self.wfile.write(head.encode() + (b"" if first.startswith(b"HEAD") else body))
        return Handler

    def rtsp(server, realm):
        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.connection.settimeout(5)
                while True:
                    try:
                        if not read_head(self.rfile):
                            return
                    except OSError:
                        return
                    self.wfile.write(
                        (
                            f'RTSP/1.0 401 Unauthorized\\r\\nWWW-Authenticate: Basic realm="{realm}"\\r\\n'
                            f"Server: {server}\\r\\nContent-Length: 0\\r\\n\\r\\n"
                        ).encode()
                    )
        return Handler

    def telnet(prompt):
        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(5)
                try:
                    self.request.sendall(prompt.encode("latin-1"))
                    self.request.recv(1024)
                except OSError:
                    pass
        return Handler

    bind = sys.argv[1]
    servers = []
    for spec in sys.argv[2:]:
        kind, port, *rest = spec.split("|")
        handler = {"http": http, "rtsp": rtsp, "telnet": telnet}[kind](*rest)
        servers.append(Threaded((bind, int(port)), handler))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    '''
)


@dataclass
class Host:
    mac: str
    services: list[str]  # "http|80|Server|Realm", "rtsp|554|Server|realm", "telnet|23|prompt"


HOSTS = {
    "10.77.0.10": Host("44:19:B6:3A:10:05", ["http|80|Hikvision-Webs|Hikvision", "telnet|23|\r\n192.0.0.64 login: "]),
    "10.77.0.11": Host("3C:EF:8C:21:44:06", ["rtsp|554|Dahua Rtsp Server|device"]),
    "10.77.0.12": Host("00:1E:73:5C:20:07", ["http|80|Mini web server 1.0 ZTE corp 2005.|ZXHN F660"]),
    "10.77.0.13": Host("52:54:00:12:34:56", ["http|80|nginx|Restricted"]),  # QEMU/KVM prefix: not covered
}


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _available() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if not shutil.which("ip") or not shutil.which("nmap"):
        return "needs iproute2 (ip) and nmap"
    probe = f"bsprobe{secrets.token_hex(3)}"
    try:
        _ip("netns", "add", probe)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"ip netns is not available here: {exc}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Builds the namespaces, starts the servers, runs nmap once; yields the scan file. Cleans up always."""
    reason = _available()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("netns-lab")
    tag = secrets.token_hex(2)
    scanner = f"bs{tag}s"
    namespaces = [scanner]
    procs: list[subprocess.Popen[bytes]] = []
    script = tmp / "server.py"
    script.write_text(SERVER)
    try:
        _ip("netns", "add", scanner)
        _ip("-n", scanner, "link", "set", "lo", "up")
        _ip("-n", scanner, "link", "add", "br0", "type", "bridge")
        _ip("-n", scanner, "addr", "add", "10.77.0.1/24", "dev", "br0")
        _ip("-n", scanner, "link", "set", "br0", "up")
        for n, (addr, host) in enumerate(HOSTS.items()):
            ns, inner, outer = f"bs{tag}h{n}", f"bs{tag}a{n}", f"bs{tag}b{n}"
            _ip("netns", "add", ns)
            namespaces.append(ns)
            _ip("link", "add", inner, "type", "veth", "peer", "name", outer)
            _ip("link", "set", inner, "netns", ns)
            _ip("link", "set", outer, "netns", scanner)
            _ip("-n", ns, "link", "set", inner, "name", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "address", host.mac)
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", scanner, "link", "set", outer, "master", "br0")
            _ip("-n", scanner, "link", "set", outer, "up")
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, str(script), addr, *host.services],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            procs.append(proc)
            assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(0.5)  # bridge ports leave the listening state
        scan = tmp / "scan.xml"
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                scanner,
                "nmap",
                "-n",
                "-sS",
                "-sV",
                "--version-intensity",
                "2",
                "-p",
                "23,80,554",
                "--script",
                "banner,http-server-header,http-auth",
                "--script-args",
                "banner.timeout=2s",
                "--host-timeout",
                "90s",
                "-oX",
                str(scan),
                *HOSTS,
            ],  # fmt: skip
            check=True,
            capture_output=True,
            timeout=180,
        )
        yield scan
    finally:
        for proc in procs:
            if proc.stdin:
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for ns in namespaces:  # deleting a namespace removes its veth ends and the bridge
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def _run(args: list[str]) -> tuple[int, dict]:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_nmap_scan_of_namespace_hosts(lab: Path) -> None:
    text = lab.read_text()
    assert 'addrtype="mac"' in text and "44:19:B6:3A:10:05" in text  # nmap saw the MACs on the bridge
    code, report = _run(["fleet", "--format", "json", "--as-of", "2026-11-22", str(lab)])
    assert code == 1  # covered devices found, no input errors
    assert report["errors"] == []
    by_ip = {f["subject"]["attributes"].get("ip"): f for f in report["findings"]}
    assert set(by_ip) == {"10.77.0.10", "10.77.0.11", "10.77.0.12", "10.77.0.13"}
    assert by_ip["10.77.0.13"]["status"] == "not-covered"  # the QEMU-prefixed host is listed as examined, clean
    assert report["subjects"] == 4

    hik = by_ip["10.77.0.10"]
    assert hik["subject"]["attributes"]["group"] == "hikvision"
    assert hik["subject"]["id"] == "44:19:B6:3A:10:05"
    rules = {e["rule"] for e in hik["evidence"]}
    assert "mac.registry" in rules
    assert any(r.startswith("banner.") for r in rules)  # HTTP Server header / realm / telnet prompt
    assert {v["status"] for v in hik["verdicts"]} == {"covered-limited"}
    mac_ev = next(e for e in hik["evidence"] if e["rule"] == "mac.registry")
    assert mac_ev["data_date"] and mac_ev["location"]["file"] == str(lab) and mac_ev["location"].get("line")

    dahua = by_ip["10.77.0.11"]
    assert dahua["subject"]["attributes"]["group"] == "dahua"
    assert {"mac.registry"} <= {e["rule"] for e in dahua["evidence"]}
    # nmap identified the RTSP server from its Server header; the evidence points at port 554 of the scan
    rtsp = [e for e in dahua["evidence"] if e["rule"].startswith("banner.") and "554" in e["location"].get("field", "")]
    assert rtsp and "Dahua" in rtsp[0]["value"]
    assert len({(e["rule"], e["value"], str(e["location"])) for e in dahua["evidence"]}) == len(dahua["evidence"])

    zte = by_ip["10.77.0.12"]
    assert zte["subject"]["attributes"]["group"] == "zte"
    assert zte["status"] == "covered"
    assert any(e["rule"].startswith("banner.") or e["rule"] == "model.grammar" for e in zte["evidence"])


def test_recog_fingerprints_on_the_scan(lab: Path) -> None:
    recog = Path(__file__).parent / "fixtures" / "recog"
    code, report = _run(["fleet", "--format", "json", "--fingerprints", str(recog), "--fail-on", "never", str(lab)])
    assert code == 0
    rules = {e["rule"] for f in report["findings"] for e in f["evidence"]}
    assert any(r.startswith("recog:http_servers.xml:") for r in rules)  # Hikvision-Webs / ZTE mini web server
    assert any(r.startswith("recog:telnet_banners.xml:") for r in rules)  # the factory-default IP prompt
