"""Benchmark: `bansweep firmware` on a full-OTA payload.bin whose system image is >= 1 GB, beside androguard.

Target (issue "bansweep firmware", item 5): audited in <= 30 s wall with a peak RSS of the process tree <= 400 MB
on 2 cores.

    python3 bench/ota_bench.py [--image-mb 1100] [--fill-mb 500] [--method xz|zstd] [--zip] [--sample 4] [--keep DIR]

The image is a real ext4 file system (mke2fs -d) holding a system/ tree: build.prop, the real fdroidserver APKs
(tests/data/cache/fdroidserver, from scripts/fetch-test-data) as app/ and priv-app/ apps, Debian's framework-res.apk
(45 MB) as framework/, and --fill-mb of real shared libraries copied from this machine (/usr/lib), so that the
operation data compresses like real binaries; the rest of the image is free space (ZERO operations, as
delta_generator writes them). payload.bin is assembled by tests/ota_build.py: 2 MiB REPLACE_XZ (xz preset 0) or
REPLACE_ZSTD operations with their SHA-256, the manifest through bansweep's own protobuf descriptors; --zip wraps it
in an A/B OTA zip (stored, as shipped). The image and tree are deleted once payload.bin is written, the whole work
folder at the end (unless --keep).

Baseline: androguard 4.1.4 AnalyzeAPK, one process per APK as in bench/firmware_bench.py, on a sample of the same
APKs (framework-res.apk first); its per-APK mean times the image's APK count is what an androguard-based audit of
the APKs alone would take (androguard reads no OTA payload or file system at all).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from firmware_bench import ANDROGUARD, measure  # noqa: E402
from ota_build import compress_lib, payload_bin  # noqa: E402

FDROID = ROOT / "tests" / "data" / "cache" / "fdroidserver"
LIBS = Path("/usr/lib")
FRAMEWORK = Path("/usr/share/android-framework-res/framework-res.apk")


def system_tree(root: Path, fill_mb: int) -> tuple[int, int]:
    """system/ with build.prop, the fdroidserver APKs as apps, and fill_mb of real libraries. (APKs, bytes)."""
    system = root / "system"
    (system / "lib64").mkdir(parents=True)
    (system / "build.prop").write_text(
        "ro.build.fingerprint=bench/bench:14/UP1A/1:user/release-keys\nro.product.model=Bench\nro.build.tags=release-keys\n"
    )
    apks = sorted(FDROID.glob("*.apk"))
    if not apks:
        raise SystemExit("needs the test data (scripts/fetch-test-data)")
    if FRAMEWORK.exists():  # the platform's own resources APK (Debian android-framework-res), as on a device
        (system / "framework").mkdir()
        shutil.copyfile(FRAMEWORK, system / "framework" / "framework-res.apk")
    for i, apk in enumerate(apks):
        folder = system / ("priv-app" if i % 3 == 0 else "app") / f"App{i}"
        folder.mkdir(parents=True)
        shutil.copyfile(apk, folder / f"App{i}.apk")
    total = 0
    for path in sorted(LIBS.rglob("*.so*")):
        if total >= fill_mb * 2**20:
            break
        if path.is_file() and not path.is_symlink():
            shutil.copyfile(path, system / "lib64" / f"{total:012d}-{path.name}")
            total += path.stat().st_size
    return len(apks) + FRAMEWORK.exists(), total


def androguard_sample(count: int) -> list[dict]:
    out = []
    apks = [FRAMEWORK] if FRAMEWORK.exists() else []
    for apk in (apks + sorted(FDROID.glob("*.apk"), key=lambda p: -p.stat().st_size))[:count]:
        proc = subprocess.run([sys.executable, "-c", ANDROGUARD, str(apk)], capture_output=True, text=True)
        if proc.returncode == 0:
            out.append(json.loads(proc.stdout.strip().splitlines()[-1]) | {"apk": apk.name})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image-mb", type=int, default=1100, help="size of the system image (>= 1024 for the target)")
    ap.add_argument("--fill-mb", type=int, default=500, help="real library data copied into the image")
    ap.add_argument("--method", choices=("xz", "zstd"), default="xz")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample", type=int, default=4, help="APKs given to androguard's AnalyzeAPK")
    ap.add_argument("--zip", action="store_true", help="audit an A/B OTA zip holding payload.bin (stored)")
    ap.add_argument("--keep", type=Path, help="work here and keep payload.bin (reused when present)")
    args = ap.parse_args()
    if shutil.which("mke2fs") is None:
        raise SystemExit("needs mke2fs (scripts/test-setup)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="otabench-"))
    work.mkdir(parents=True, exist_ok=True)
    payload = work / f"payload-{args.method}.bin"
    try:
        if not payload.exists():
            t = time.perf_counter()
            tree, image = work / "tree", work / "system.img"
            apks, filled = system_tree(tree, args.fill_mb)
            subprocess.run(
                ["mke2fs", "-q", "-F", "-t", "ext4", "-d", str(tree / "system"), str(image), f"{args.image_mb}M"],
                check=True,
            )
            shutil.rmtree(tree)
            kind = "REPLACE_XZ" if args.method == "xz" else "REPLACE_ZSTD"
            payload_bin({"system": image}, payload, (kind,), compress=compress_lib)
            print(
                f"built payload.bin: system.img {image.stat().st_size / 2**20:.0f} MiB ext4 ({apks} APKs, "
                f"{filled / 2**20:.0f} MiB of libraries), {kind} -> {payload.stat().st_size / 2**20:.0f} MiB "
                f"in {time.perf_counter() - t:.0f} s"
            )
            image.unlink()
        target = payload
        if args.zip:  # as OTA zips ship it: payload.bin stored, beside its properties and metadata
            target = work / f"ota-{args.method}.zip"
            with zipfile.ZipFile(target, "w") as z:
                z.write(payload, "payload.bin", zipfile.ZIP_STORED)
                z.writestr("payload_properties.txt", "FILE_HASH=bench\n")
                z.writestr("META-INF/com/android/metadata", "ota-type=AB\n")
        out = work / "report.json"
        cmd = [sys.executable, "-m", "bansweep", "firmware", "--format", "json", "-o", str(out), "--fail-on", "never"]
        wall, peak, cpu, main_cpu, proc = measure([*cmd, "--workers", str(args.workers), str(target)])
        if proc.returncode not in (0, 4):
            raise SystemExit(f"bansweep failed ({proc.returncode}): {proc.stderr[-2000:]}")
        report = json.loads(out.read_text())
        summary = report["summary"][str(target)]
        errors = report["errors"]
        print(
            f"bansweep firmware {target.name}: {wall:.1f} s wall (goal <= 30), peak RSS of the process tree "
            f"{peak / 2**20:.0f} MB (goal <= 400), CPU {cpu:.1f} s ({main_cpu:.1f} s main process); "
            f"{summary['files']} files, {summary['apps']} apps, {len(report['findings'])} findings, "
            f"{len(errors)} input errors"
        )
        for e in errors[:5]:
            print(f"  input error: {e}")
        sample = androguard_sample(args.sample)
        if sample:
            mean = sum(s["seconds"] for s in sample) / len(sample)
            print(
                f"baseline: androguard {__import__('androguard').__version__} AnalyzeAPK on {len(sample)} of those "
                f"APKs ({', '.join(s['apk'] for s in sample)}): mean {mean:.2f} s and up to {max(s['rss_mb'] for s in sample):.0f} MB RSS per APK "
                f"-> {mean * summary['apps']:.0f} s for the image's {summary['apps']} apps on one core, without "
                "opening the payload or the file system (it reads neither)"
            )
    finally:
        if args.zip and target.exists():
            target.unlink()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
