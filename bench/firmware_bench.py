"""Benchmark: `bansweep firmware` over a corpus of >= 300 APKs (>= 500 MB) and an odexed firmware tree, against
androguard's AnalyzeAPK (4.1.4) on a sample of the same APKs.

Targets (issue 3): >= 100 MB/s of APK data on 2 cores; peak RSS of the whole process tree <= 400 MB whatever the
corpus size; >= 50x faster per APK than AnalyzeAPK, with the same package/permission/component facts on the sample.

    python3 bench/firmware_bench.py [--apks 300] [--min-mb 500] [--sample 6] [--workers 2] [--keep DIR]

Corpus: the real fdroidserver APKs (tests/data/cache/fdroidserver, from scripts/fetch-test-data) replicated, padded
with larger APKs built here with the real toolchain (aapt manifest, smali-assembled multi-MB classes.dex with
Android API references, a native library and assets, apksigner v1+v2 signature), because the fdroidserver APKs are
small test files. The odexed tree holds APKs without classes.dex whose dex sits in an ELF oat/arm64/*.odex.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FDROID = ROOT / "tests" / "data" / "cache" / "fdroidserver"
FRAMEWORK = Path("/usr/share/android-framework-res/framework-res.apk")
APIS = [
    "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;",
    "Landroid/util/Log;->d(Ljava/lang/String;Ljava/lang/String;)I",
    "Ljava/lang/String;->valueOf(I)Ljava/lang/String;",
    "Landroid/text/TextUtils;->isEmpty(Ljava/lang/CharSequence;)Z",
    "Ljava/lang/Integer;->valueOf(I)Ljava/lang/Integer;",
]
PERMISSIONS = ["android.permission.INTERNET", "android.permission.READ_PHONE_STATE", "android.permission.CAMERA"]
ANDROGUARD = r"""
import json, sys, time, resource
from loguru import logger
logger.remove()
from androguard.misc import AnalyzeAPK
t = time.perf_counter()
a, d, dx = AnalyzeAPK(sys.argv[1])
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "package": a.get_package(), "permissions": sorted(set(a.get_permissions())),
    "activity": sorted(a.get_activities()), "service": sorted(a.get_services()),
    "receiver": sorted(a.get_receivers()), "provider": sorted(a.get_providers())}))
"""


def run(cmd: list[str], cwd: Path | None = None) -> None:
    subprocess.run(cmd, check=True, capture_output=True, cwd=cwd)


def smali_sources(out: Path, classes: int, seed: int) -> None:
    rnd = random.Random(seed)
    for c in range(classes):
        pkg = f"org/bench/app{seed}/p{c % 50}"
        (out / pkg).mkdir(parents=True, exist_ok=True)
        lines = [f".class public L{pkg}/C{c};", ".super Ljava/lang/Object;", ""]
        for m in range(12):
            api = APIS[(c + m) % len(APIS)]
            args = "{v0}" if "getDeviceId" in api else ("{v1, v0}" if "Log;->d" in api else "{p0}")
            if "isEmpty" in api or "getDeviceId" in api:
                args = "{v0}"
            lines += [
                f".method public static m{m}(I)Ljava/lang/String;",
                "    .registers 4",
                f'    const-string v0, "msg {c}.{m} {rnd.getrandbits(40):x} https://api{c % 7}.example.org/v1/item"',
                f'    const-string v1, "tag{c % 97}"',
                f"    invoke-{'virtual' if 'getDeviceId' in api else 'static'} {args}, {api}",
                f"    invoke-static {{p0}}, L{pkg}/C{c};->m{(m + 1) % 12}(I)Ljava/lang/String;",
                "    move-result-object v2",
                "    return-object v2",
                ".end method",
                "",
            ]
        (out / pkg / f"C{c}.smali").write_text("\n".join(lines))


def template(work: Path, name: str, classes: list[int], native_mb: int, seed: int) -> Path:
    """A large, realistic APK: aapt manifest, smali dex(es), a native library (stored) and assets, signed."""
    out = work / f"{name}.apk"
    if out.exists():
        return out
    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    comps = (
        "".join(f'<service android:name=".S{i}" android:exported="{str(i % 2 == 0).lower()}"/>' for i in range(3))
        + f'<activity android:name=".Main"/><receiver android:name=".R0"/><provider android:name=".P0" android:authorities="org.bench.p{seed}"/>'
    )
    perms = "".join(f'<uses-permission android:name="{p}"/>' for p in PERMISSIONS)
    (d / "AndroidManifest.xml").write_text(
        f'<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="org.bench.app{seed}" '
        f'android:versionCode="1" android:versionName="1.0"><uses-sdk android:minSdkVersion="21" '
        f'android:targetSdkVersion="30"/>{perms}<application>{comps}</application></manifest>'
    )
    unsigned = d / "unsigned.apk"
    run(["aapt", "package", "-f", "-M", str(d / "AndroidManifest.xml"), "-I", str(FRAMEWORK), "-F", str(unsigned)])
    rnd = random.Random(seed)
    with zipfile.ZipFile(unsigned, "a", zipfile.ZIP_DEFLATED) as z:
        for i, n in enumerate(classes):
            src = d / f"smali{i}"
            smali_sources(src, n, seed * 10 + i)
            dex = d / f"classes{i}.dex"
            run(["smali", "assemble", "--api", "21", "-o", str(dex), str(src)])
            shutil.rmtree(src)
            z.write(dex, "classes.dex" if i == 0 else f"classes{i + 1}.dex")
        lib = rnd.randbytes(native_mb * 2**20 // 4) * 4
        z.writestr(zipfile.ZipInfo("lib/arm64-v8a/libbench.so"), b"\x7fELF" + lib, compress_type=zipfile.ZIP_STORED)
        z.writestr("assets/data.json", json.dumps([{"id": i, "name": f"item {i}"} for i in range(60_000)]))
    ks = work / "bench.jks"
    if not ks.exists():
        run(
            [
                "keytool",
                "-genkeypair",
                "-keystore",
                str(ks),
                "-storepass",
                "password",
                "-keypass",
                "password",
                "-alias",
                "key",
                "-keyalg",
                "RSA",
                "-keysize",
                "2048",
                "-validity",
                "10000",
                "-dname",
                "CN=Bench",
            ]
        )
    run(
        [
            "apksigner",
            "sign",
            "--ks",
            str(ks),
            "--ks-pass",
            "pass:password",
            "--min-sdk-version",
            "21",
            "--v3-signing-enabled",
            "false",
            "--out",
            str(out),
            str(unsigned),
        ]
    )
    return out


def build_corpus(work: Path, apks: int, min_mb: int) -> tuple[Path, list[Path], list[Path]]:
    templates = [
        template(work, "big1", [3000], 6, 1),
        template(work, "big2", [1500], 3, 2),
        template(work, "big3", [3000, 1500], 4, 3),
    ]
    real = sorted(FDROID.rglob("*.apk")) if FDROID.is_dir() else []
    corpus = work / "corpus"
    corpus.mkdir(exist_ok=True)
    n, total, i = 0, 0, 0
    while n < apks or total < min_mb * 2**20:
        src = real[i % len(real)] if real and i % 2 == 0 else templates[i % len(templates)]
        dst = corpus / f"{n:04d}-{src.name}"
        os.link(src, dst)
        n, total, i = n + 1, total + src.stat().st_size, i + 1
    return corpus, templates, real


def odexed_tree(work: Path, templates: list[Path], real: list[Path], apps: int = 24) -> Path:
    """system/priv-app/AppN/AppN.apk without classes.dex + oat/arm64/AppN.odex (ELF carrying the dex)."""
    root = work / "odexed"
    (root / "system").mkdir(parents=True, exist_ok=True)
    (root / "system" / "build.prop").write_text("ro.build.tags=release-keys\nro.product.model=Bench\n")
    sources = [p for p in real if "sms" in p.name] + templates
    stub = work / "oat.c"
    stub.write_text("int oatdata = 1;\n")
    for n in range(apps):
        src = sources[n % len(sources)]
        folder = root / "system" / "priv-app" / f"App{n}"
        (folder / "oat" / "arm64").mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(src) as z, zipfile.ZipFile(folder / f"App{n}.apk", "w", zipfile.ZIP_DEFLATED) as out:
            dex = z.read("classes.dex")
            for info in z.infolist():
                if info.filename != "classes.dex":
                    out.writestr(info, z.read(info))
        raw = work / "odex.dex"
        raw.write_bytes(dex)
        odex = folder / "oat" / "arm64" / f"App{n}.odex"
        run(["gcc", "-shared", "-fPIC", "-o", str(odex), str(stub)])
        run(["objcopy", "--add-section", f".rodata.oatdex={raw}", str(odex)])
    return root


def tree_usage(pid: int, cpu: dict[int, float]) -> int:
    """Resident memory (bytes) of pid and all its descendants, from /proc; records each one's own CPU seconds in cpu
    (utime + stime only: the children's fields would count a reaped worker a second time through its parent)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    ticks: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        ticks[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        cpu[p] = max(cpu.get(p, 0.0), ticks.get(p, 0.0))
        stack.extend(children.get(p, []))
    return total


def measure(cmd: list[str]) -> tuple[float, int, float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, peak RSS of the process tree, CPU seconds of the tree and of its main process (sampled, a
    slight undercount)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_usage(proc.pid, cpu))
            time.sleep(0.02)

    watcher = threading.Thread(target=sample)
    start = time.perf_counter()
    watcher.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    watcher.join()
    main = cpu.get(proc.pid, 0.0)
    return wall, peak, sum(cpu.values()), main, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def bansweep(path: Path, workers: int, out: Path) -> tuple[float, int, float, float, dict]:
    cmd = [
        sys.executable,
        "-m",
        "bansweep",
        "firmware",
        "--format",
        "json",
        "-o",
        str(out),
        "--fail-on",
        "never",
        "--workers",
        str(workers),
        str(path),
    ]
    wall, peak, cpu, main, proc = measure(cmd)
    if proc.returncode not in (0, 4):
        raise SystemExit(f"bansweep failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, peak, cpu, main, json.loads(out.read_text())


def aapt_permissions(apk: Path) -> list[str]:
    out = subprocess.run(["aapt", "dump", "permissions", str(apk)], capture_output=True, text=True).stdout
    return sorted({line.split("'")[1] for line in out.splitlines() if line.startswith("uses-permission: name='")})


def our_facts(path: Path) -> tuple[float, dict]:
    from bansweep.findings import Location
    from bansweep.firmware.apk import read_app
    from bansweep.firmware.rules import judge_app
    from bansweep.firmware.rules.context import RuleContext, knowledge

    data = path.read_bytes()
    ctx = RuleContext(knowledge())
    start = time.perf_counter()
    app = read_app(data, path.name, Location(str(path)))
    judge_app(app, ctx)
    elapsed = time.perf_counter() - start
    m = app.manifest
    assert m is not None
    facts = {"package": m.package, "permissions": sorted(set(m.uses_permissions))}
    for kind in ("activity", "service", "receiver", "provider"):
        facts[kind] = sorted(c.name for c in m.components if c.kind == kind)
    return elapsed, facts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apks", type=int, default=300)
    ap.add_argument("--min-mb", type=int, default=500)
    ap.add_argument("--sample", type=int, default=6, help="APKs given to AnalyzeAPK (it takes seconds to minutes each)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="Build the corpus here and keep it (reused when present)")
    args = ap.parse_args()
    for tool in ("aapt", "smali", "apksigner", "keytool", "gcc", "objcopy"):
        if not shutil.which(tool):
            raise SystemExit(f"needs {tool} (scripts/test-setup)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="fwbench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        if (work / "corpus").is_dir():
            shutil.rmtree(work / "corpus")
        if (work / "odexed").is_dir():
            shutil.rmtree(work / "odexed")
        corpus, templates, real = build_corpus(work, args.apks, args.min_mb)
        tree = odexed_tree(work, templates, real)
        files = sorted(corpus.iterdir())
        size = sum(f.stat().st_size for f in files)
        print(
            f"corpus: {len(files)} APKs, {size / 2**20:.0f} MB ({len(real)} real fdroidserver APKs replicated, "
            f"{len(templates)} built templates); built in {time.perf_counter() - t:.0f} s"
        )

        wall, peak, cpu, main_cpu, report = bansweep(corpus, args.workers, work / "corpus.json")
        summary = report["summary"][str(corpus)]
        failed = {e["where"] for e in report["errors"]}
        print(
            f"bansweep corpus: {wall:.1f} s, {size / 2**20 / wall:.1f} MB/s of APK data, peak RSS (process tree) "
            f"{peak / 2**20:.0f} MB, {summary['apps']} apps analysed + {len(report['errors'])} input errors, "
            f"{len(report['findings'])} findings"
        )
        print(
            f"  CPU {cpu:.1f} s in the process tree ({main_cpu:.1f} s in the main process) -> "
            f"{size / 2**20 / cpu * args.workers:.1f} MB/s on {args.workers} free cores "
            f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: other work competes)"
        )
        tree_size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        twall, tpeak, _, _, treport = bansweep(tree, args.workers, work / "tree.json")
        code_hits = sum(
            1 for f in treport["findings"] for e in f["evidence"] if "/oat/arm64/" in (e["location"].get("entry") or "")
        )
        print(
            f"bansweep odexed tree: {twall:.1f} s, {tree_size / 2**20:.0f} MB, peak RSS {tpeak / 2**20:.0f} MB, "
            f"{treport['summary'][str(tree)]['apps']} apps, {code_hits} evidence items from dex carved out of .odex"
        )

        sample = [p for p in real if "sms" in p.name][:1] + [p for p in real if p.stat().st_size > 20_000][:3]
        sample = (sample + templates[1:2] + templates[:1])[: args.sample]
        ours_t, theirs_t, agree = [], [], 0
        print(
            f"\nbaseline sample ({len(sample)} APKs): androguard {__import__('androguard').__version__} AnalyzeAPK, "
            "one process per APK, vs bansweep read_app + all app rules, in-process"
        )
        for apk in sample:
            ours_t.append(min(our_facts(apk)[0] for _ in range(3)))
            facts = our_facts(apk)[1]
            proc = subprocess.run([sys.executable, "-c", ANDROGUARD, str(apk)], capture_output=True, text=True)
            if proc.returncode:
                print(f"  {apk.name}: androguard failed: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            ag = json.loads(proc.stdout.strip().splitlines()[-1])
            theirs_t.append(ag["seconds"])
            same = all(ag[k] == facts[k] for k in facts)
            agree += same
            diff = [k for k in facts if ag[k] != facts[k]]
            if "permissions" in diff:  # Android's own aapt decides who is right
                aapt = aapt_permissions(apk)
                diff[diff.index("permissions")] = "permissions (aapt agrees with " + (
                    "bansweep)"
                    if aapt == facts["permissions"]
                    else "androguard)"
                    if aapt == ag["permissions"]
                    else "neither)"
                )
            print(
                f"  {apk.name[:40]:40s} {apk.stat().st_size / 2**20:6.1f} MB  bansweep {ours_t[-1] * 1000:8.1f} ms"
                f"  androguard {ag['seconds']:7.2f} s ({ag['rss_mb']:.0f} MB RSS)  ratio {ag['seconds'] / ours_t[-1]:6.0f}x"
                f"  facts {'agree' if same else 'DIFFER: ' + ', '.join(diff)}"
            )
        if theirs_t:
            ratio = (sum(theirs_t) / len(theirs_t)) / (sum(ours_t[: len(theirs_t)]) / len(theirs_t))
            print(
                f"\nper-APK mean: bansweep {sum(ours_t) / len(ours_t) * 1000:.1f} ms, androguard "
                f"{sum(theirs_t) / len(theirs_t):.2f} s -> ratio {ratio:.0f}x (goal >= 50x); "
                f"facts agree on {agree}/{len(theirs_t)} APKs"
            )
        print(
            f"throughput {size / 2**20 / wall:.1f} MB/s wall, {size / 2**20 / cpu * args.workers:.1f} MB/s by CPU time "
            f"(goal >= 100), peak RSS {peak / 2**20:.0f} MB (goal <= 400)"
        )
        if failed:
            print(f"input errors in corpus (first 5): {sorted(failed)[:5]}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
