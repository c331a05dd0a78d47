"""Benchmark: nmap XML, an ISC DHCP lease file and a CMDB export, merged in one fleet run.

Target (issue 8, item 6): 100,000 nmap hosts + 100,000 leases + 100,000 CMDB rows in one run, >= 100,000
observations/s end to end, peak RSS <= 1 GB. Issue 10 (item 5): nmap XML streamed, peak RSS <= 500 MB for a
350,000-host file (`--only nmap --records 350000`).

    python3 bench/fleet_mixed_bench.py [--records 100000] [--only nmap|dhcp|cmdb] [--nmap-style sV|sn]
                                       [--keep DIR | --input DIR] [--no-baseline]

Both sides run in a fresh process each, in the same invocation, on the same files; printed: wall time (including
start-up and loading the knowledge), CPU time, peak RSS, observations per second and their ratio.

The baseline ("etree + csv + re + netaddr, dict merge") is what one writes without bansweep: xml.etree parses the
whole nmap file, the lease file is read with re, the CMDB with csv; every record is looked up per record in
netaddr's OUI registry and the organisation, model and banner texts are tried against the project's own knowledge
patterns one after another (bench/fleet_bench.py's per-row baseline); records are merged by MAC in a dict.

The floor is the least any CPython run can do on these files: expat with handlers that only keep a host's
addresses, csv, one regex over the lease file, and records grouped by MAC in a dict; it judges nothing.

The three files describe one population of devices (real registry MAC prefixes of covered and other makers,
models, banners from bench/fleet_bench.py): each file sees a different but overlapping part of it, with unique host
names, so merging by MAC joins a device's records across files; a share of randomised MACs appears in DHCP only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_bench import PROFILES, _env, _mac, _measured, _prefixes  # noqa: E402

CMDB_HEADER = [
    "Name",
    "Asset tag",
    "Serial number",
    "Manufacturer",
    "Model ID",
    "MAC Address",
    "IP Address",
    "Location",
    "Assigned to",
    "Install Status",
]
FILES = {"nmap": "scan.xml", "dhcp": "dhcpd.leases", "cmdb": "cmdb_ci.csv"}
NMAP_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<?xml-stylesheet href="file:///usr/bin/../share/nmap/nmap.xsl" type="text/xsl"?>
<nmaprun scanner="nmap" args="nmap -sV -O -oX scan.xml 10.0.0.0/8" start="1764806400" version="7.94" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="1000" services="1-1000"/>
<verbose level="0"/>
<debugging level="0"/>
"""
NMAP_TAIL = """<runstats><finished time="1764810000" timestr="Fri Dec  4 01:00:00 2026" elapsed="3600" exit="success"/>
<hosts up="{n}" down="0" total="{n}"/></runstats>
</nmaprun>
"""
SITES = ["HQ Floor 1", "HQ Floor 2", "Warehouse", "Branch Lyon", "Branch Austin"]
OWNERS = ["Facilities", "IT Operations", "Security", "A. Example"]


class Device:
    __slots__ = ("n", "mac", "ip", "name", "maker", "model", "banner", "vendor")

    def __init__(self, n: int, mac: str, maker: str, model: str, banner: str, vendor: str) -> None:
        self.n, self.mac, self.maker, self.model, self.banner, self.vendor = n, mac, maker, model, banner, vendor
        self.ip = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
        self.name = f"dev-{n:07d}"


def population(count: int, seed: int = 1) -> list[Device]:
    rng = random.Random(seed)
    plans = [(_prefixes(rx), man, mod, ban) for _, rx, man, mod, ban in PROFILES]
    weights = [p[0] for p in PROFILES]
    out = []
    for n, kind in enumerate(rng.choices(range(len(plans)), weights=weights, k=count)):
        prefixes, man, mod, ban = plans[kind]
        mac = _mac((rng.choice(prefixes) << 24) | ((n * 2654435761) & 0xFFFFFF))
        out.append(Device(n, mac, rng.choice(man), rng.choice(mod), rng.choice(ban), man[-1] or man[0]))
    return out


def write_nmap(path: Path, devices: list[Device], rng: random.Random, style: str = "sV") -> int:
    """nmap -sV -O output (style "sV") or a host discovery (-sn: no ports); returns the observations the fleet
    source makes (a host, each open port with facts)."""
    observations = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(NMAP_HEAD)
        for d in devices:
            ports: list[str] = []
            if style == "sn":
                observations += 1
                out.write(
                    f'<host><status state="up" reason="arp-response" reason_ttl="0"/>\n'
                    f'<address addr="{d.ip}" addrtype="ipv4"/>\n'
                    f'<address addr="{d.mac}" addrtype="mac" vendor={quoteattr(d.vendor)}/>\n'
                    f'<hostnames>\n<hostname name="{d.name}.corp.example" type="PTR"/>\n</hostnames>\n'
                    f'<times srtt="512" rttvar="300" to="100000"/>\n</host>\n'
                )
                continue
            if d.banner:
                ports.append(
                    f'<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/>'
                    f'<service name="http" product={quoteattr(d.banner)} method="probed" conf="10"/>'
                    f'<script id="http-server-header" output={quoteattr(d.banner)}><elem>{d.banner}</elem></script>'
                    f'<script id="http-title" output="Login"><elem key="title">Login</elem></script></port>\n'
                )
            if rng.random() < 0.5:
                ports.append(
                    '<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/>'
                    '<service name="ssh" product="OpenSSH" version="8.4p1" extrainfo="protocol 2.0" method="probed" '
                    'conf="10"><cpe>cpe:/a:openbsd:openssh:8.4p1</cpe></service></port>\n'
                )
            if rng.random() < 0.3:
                ports.append(
                    '<port protocol="tcp" portid="443"><state state="filtered" reason="no-response" reason_ttl="0"/>'
                    '<service name="https" method="table" conf="3"/></port>\n'
                )
            observations += 1 + sum(1 for p in ports if 'state="open"' in p)
            out.write(
                f'<host starttime="1764806400" endtime="1764806460"><status state="up" reason="arp-response" '
                f'reason_ttl="0"/>\n<address addr="{d.ip}" addrtype="ipv4"/>\n'
                f'<address addr="{d.mac}" addrtype="mac" vendor={quoteattr(d.vendor)}/>\n'
                f'<hostnames>\n<hostname name="{d.name}.corp.example" type="PTR"/>\n</hostnames>\n'
                f'<ports><extraports state="closed" count="{1000 - len(ports)}">'
                f'<extrareasons reason="reset" count="{1000 - len(ports)}" proto="tcp" ports="1-21,23-79"/>'
                f"</extraports>\n{''.join(ports)}</ports>\n"
                f'<times srtt="512" rttvar="300" to="100000"/>\n</host>\n'
            )
        out.write(NMAP_TAIL.format(n=len(devices)))
    return observations


def write_dhcp(path: Path, devices: list[Device], rng: random.Random) -> int:
    with path.open("w", encoding="utf-8") as out:
        out.write("# The format of this file is documented in the dhcpd.leases(5) manual page.\n")
        out.write("# This lease file was written by isc-dhcp-4.4.3\n\nauthoring-byte-order little-endian;\n\n")
        for d in devices:
            mac = d.mac
            if rng.random() < 0.1:  # a phone with a randomised address
                mac = _mac(((rng.randrange(256) | 0x02) & 0xFE) << 40 | rng.randrange(1 << 40))
            out.write(
                f"lease {d.ip} {{\n  starts 4 2026/12/03 10:00:00;\n  ends 4 2026/12/03 22:00:00;\n"
                f"  cltt 4 2026/12/03 10:00:00;\n  binding state active;\n  next binding state free;\n"
                f"  rewind binding state free;\n  hardware ethernet {mac.lower()};\n"
                f'  client-hostname "{d.name}";\n'
                + (f'  set vendor-class-identifier = "{d.model}";\n' if d.model and rng.random() < 0.3 else "")
                + "}\n"
            )
    return len(devices)


def write_cmdb(path: Path, devices: list[Device], rng: random.Random) -> int:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(CMDB_HEADER)
        for d in devices:
            out.writerow(
                [
                    d.name,
                    f"P{d.n:08d}",
                    f"SN{d.n * 7919 % 10**9:09d}",
                    d.maker,
                    d.model,
                    d.mac,
                    d.ip,
                    rng.choice(SITES),
                    rng.choice(OWNERS),
                    "Retired" if rng.random() < 0.05 else "Installed",
                ]
            )
    return len(devices)


def generate(folder: Path, records: int, only: str | None, style: str = "sV") -> dict[str, int]:
    """The files (each `records` long) and the observations the fleet sources make from each."""
    rng = random.Random(3)
    devices = population(records * 5 // 3)
    third = records // 3
    # nmap sees devices [0, n), DHCP [third, third + n), the CMDB [2 * third, 2 * third + n), in their own order
    parts = {"nmap": devices[:records], "dhcp": devices[third : third + records]}
    parts["cmdb"] = devices[2 * third : 2 * third + records]
    writers = {"nmap": write_nmap, "dhcp": write_dhcp, "cmdb": write_cmdb}
    counts = {}
    for kind, part in parts.items():
        if only and kind != only:
            continue
        part = part[:]
        rng.shuffle(part)
        counts[kind] = (
            write_nmap(folder / FILES[kind], part, rng, style)
            if kind == "nmap"
            else writers[kind](folder / FILES[kind], part, rng)
        )
    (folder / "counts.json").write_text(json.dumps(counts))
    return counts


# --- bansweep -------------------------------------------------------------------------------------------

_RUNNER = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from bansweep.jobs import FLEET, run_job
from bansweep.fleet.job import Options
report = run_job(FLEET, [Path(p) for p in sys.argv[1:]], Options(show_progress=False))
by = report.summary.get("by_status")
print(json.dumps({"elapsed": time.perf_counter() - t0, "devices": report.subjects, "findings": len(report.findings),
                  "errors": len(report.errors), "summary": by,
                  "first_errors": [str(e.location) + ": " + e.message for e in report.errors[:3]]}))
"""

_PARSE_ONLY = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from bansweep.fleet.sources import nmap
n = errors = 0
for item in nmap.parse(Path(sys.argv[1])):
    if hasattr(item, "facts"):
        n += 1
    else:
        errors += 1
print(json.dumps({"elapsed": time.perf_counter() - t0, "observations": n, "errors": errors}))
"""


# --- baseline: etree + csv + re + netaddr per record, merged by MAC in a dict ----------------------------

_BASELINE = r"""
import csv, json, re, sys, time
import xml.etree.ElementTree as ET
from pathlib import Path
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from fleet_bench import baseline_row, baseline_rules
orgs, texts = baseline_rules()
devices = {}
records = 0

def add(mac, ip, name, maker, model, banner):
    global records
    records += 1
    row = ["", ip, mac, maker, model, banner]
    group = baseline_row(row, orgs, texts)
    dev = devices.setdefault(mac or ip, {"groups": set(), "names": set()})
    dev["names"].add(name)
    if group:
        dev["groups"].add(group)

for name in sys.argv[2:]:
    path = Path(name)
    if path.suffix == ".xml":
        root = ET.parse(path).getroot()
        for host in root.iter("host"):
            mac = ip = vendor = hostname = ""
            for a in host.findall("address"):
                if a.get("addrtype") == "mac":
                    mac, vendor = a.get("addr", ""), a.get("vendor", "")
                else:
                    ip = a.get("addr", "")
            h = host.find("hostnames/hostname")
            hostname = h.get("name", "") if h is not None else ""
            add(mac, ip, hostname, vendor, "", "")
            for port in host.iter("port"):
                if port.find("state").get("state") != "open":
                    continue
                s = port.find("service")
                product = " ".join(filter(None, [s.get("product"), s.get("version")])) if s is not None else ""
                add(mac, ip, hostname, "", "", product)
    elif path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            rows = csv.DictReader(fh)
            for r in rows:
                add(r["MAC Address"], r["IP Address"], r["Name"], r["Manufacturer"], r["Model ID"], "")
    else:
        lease = re.compile(r"^lease\s+([0-9.]+)\s*\{")
        hw = re.compile(r"^\s*hardware ethernet ([0-9a-fA-F:]+);")
        hn = re.compile(r'^\s*client-hostname "([^"]*)";')
        vc = re.compile(r'^\s*set vendor-class-identifier = "([^"]*)";')
        cur = None
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if m := lease.match(line):
                    cur = {"ip": m.group(1), "mac": "", "name": "", "vc": ""}
                elif cur is not None and (m := hw.match(line)):
                    cur["mac"] = m.group(1).upper()
                elif cur is not None and (m := hn.match(line)):
                    cur["name"] = m.group(1)
                elif cur is not None and (m := vc.match(line)):
                    cur["vc"] = m.group(1)
                elif cur is not None and line.strip() == "}":
                    add(cur["mac"], cur["ip"], cur["name"], "", cur["vc"], "")
                    cur = None
covered = sum(1 for d in devices.values() if d["groups"])
print(json.dumps({"elapsed": time.perf_counter() - t0, "records": records, "devices": len(devices),
                  "covered": covered}))
"""


# --- floor: the least any CPython run must do (parse the three files, group records by MAC; judge nothing) ----

_FLOOR = r"""
import csv, json, re, sys, time
import xml.parsers.expat
from pathlib import Path
t0 = time.perf_counter()
records, host = [], {}
def start(name, attrs):
    global host
    if name == "host":
        host = {}
    elif name == "address":
        host[attrs.get("addrtype")] = attrs.get("addr")
    elif name == "hostname":
        host.setdefault("name", attrs.get("name"))
    elif name == "state":
        host["open"] = attrs.get("state") == "open"
    elif name == "service" and host.pop("open", False):
        records.append((host.get("mac"), host.get("ipv4"), host.get("name"), attrs.get("product")))
def end(name):
    if name == "host":
        records.append((host.get("mac"), host.get("ipv4"), host.get("name"), None))
lease = re.compile(r'lease ([0-9.]+) \{[^}]*?hardware ethernet ([0-9a-f:]+);[^}]*?client-hostname "([^"]*)";[^}]*\}')
for name in sys.argv[1:]:
    path = Path(name)
    if path.suffix == ".xml":
        parser = xml.parsers.expat.ParserCreate()
        parser.StartElementHandler, parser.EndElementHandler = start, end
        with path.open("rb") as fh:
            parser.ParseFile(fh)
    elif path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh)
            head = next(rows)
            mac, ip, hostname, maker = (head.index(c) for c in ("MAC Address", "IP Address", "Name", "Manufacturer"))
            records.extend((r[mac], r[ip], r[hostname], r[maker]) for r in rows)
    else:
        text = path.read_text(encoding="utf-8")
        records.extend((m[2].upper(), m[1], m[3], None) for m in lease.finditer(text))
devices = {}
for record in records:
    devices.setdefault(record[0] or record[1], []).append(record)
listed = [(key, len(group), group[0][2]) for key, group in devices.items()]
print(json.dumps({"elapsed": time.perf_counter() - t0, "records": len(records), "devices": len(listed)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000, help="hosts / leases / rows per file")
    ap.add_argument("--only", choices=sorted(FILES), help="one file kind only")
    ap.add_argument("--nmap-style", choices=["sV", "sn"], default="sV", help="service scan or host discovery")
    ap.add_argument("--keep", type=Path, help="write the generated files here instead of a temporary directory")
    ap.add_argument("--input", type=Path, help="use the files of an earlier --keep")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--generate-only", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate_only:
        generate(args.generate_only, args.records, args.only, args.nmap_style)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.input:
            folder = args.input
            counts = json.loads((folder / "counts.json").read_text())
        else:
            folder = args.keep or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            t = time.perf_counter()
            # in a process of its own: a child forked from a big parent would count the parent's pages as its
            # peak RSS (Linux keeps the high-water mark across exec)
            only = ["--only", args.only] if args.only else []
            cmd = [sys.executable, __file__, "--records", str(args.records), *only, "--nmap-style", args.nmap_style]
            cmd += ["--generate-only", str(folder)]
            subprocess.run(cmd, check=True, env=_env())
            counts = json.loads((folder / "counts.json").read_text())
            print(f"generated {counts} in {time.perf_counter() - t:.1f} s")
        paths = [folder / FILES[kind] for kind in counts]
        for p in paths:
            print(f"  {p.name}: {p.stat().st_size / 1e6:.1f} MB")
        observations = sum(counts.values())
        print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

        if "nmap" in counts:
            args_ = [sys.executable, "-c", _PARSE_ONLY, str(folder / FILES["nmap"])]
            wall, cpu, rss, out, _ = _measured(args_, _env())
            parsed = json.loads(out)
            print(
                f"nmap source alone: {parsed['observations']:,} observations, {parsed['errors']} errors, "
                f"{wall:.2f} s wall, peak RSS {rss / 1024:.0f} MB (target <= 500 MB for 350,000 hosts)"
            )
            if parsed["observations"] != counts["nmap"]:
                print(f"  WARNING: expected {counts['nmap']:,} nmap observations")

        wall, cpu, rss, out, _ = _measured([sys.executable, "-c", _RUNNER, *map(str, paths)], _env())
        ours = json.loads(out)
        rate = observations / wall
        print(
            f"bansweep fleet: {observations:,} observations in {wall:.2f} s wall (job {ours['elapsed']:.2f} s), "
            f"{cpu:.2f} s CPU, peak RSS {rss / 1024:.0f} MB -> {rate:,.0f} observations/s; "
            f"{ours['devices']:,} devices, {ours['findings']:,} findings, {ours['errors']} input errors "
            f"{ours['first_errors']}; {ours['summary']}"
        )
        print("  targets: >= 100,000 observations/s, peak RSS <= 1024 MB")
        if args.no_baseline:
            return
        script = [sys.executable, "-c", _BASELINE, str(Path(__file__).resolve().parent), *map(str, paths)]
        b_wall, b_cpu, b_rss, out, _ = _measured(script, _env())
        base = json.loads(out)
        b_rate = base["records"] / b_wall
        print(
            f"baseline (etree full parse + csv + re + netaddr per record, dict merge by MAC): {base['records']:,} "
            f"records in {b_wall:.2f} s wall, {b_cpu:.2f} s CPU, peak RSS {b_rss / 1024:.0f} MB -> "
            f"{b_rate:,.0f} records/s; {base['devices']:,} devices, {base['covered']:,} with a covered group"
        )
        print(f"ratio: bansweep {rate / b_rate:.1f}x the baseline's throughput, {b_rss / max(rss, 1):.2f}x less RSS")
        f_wall, f_cpu, f_rss, out, _ = _measured([sys.executable, "-c", _FLOOR, *map(str, paths)], _env())
        floor = json.loads(out)
        print(
            f"floor (expat with minimal handlers + csv + one regex, grouped by MAC in a dict, nothing judged): "
            f"{floor['records']:,} records in {f_wall:.2f} s wall, {f_cpu:.2f} s CPU, peak RSS {f_rss / 1024:.0f} MB; "
            f"at 100,000 observations/s the whole run may take {observations / 100_000:.2f} s, which leaves "
            f"{observations / 100_000 - f_wall:.2f} s for identity rules, attribution, policy and a finding per device"
        )


if __name__ == "__main__":
    main()
