"""Fuzz bansweep's parsers and input sources: `python -m fuzz [--seconds N] [--engine auto|atheris|own] [TARGET ...]`.

Run with PYTHONPATH=src:. from the repository (scripts/fuzz does). Each target gets an equal share of --seconds.
With atheris installed (and --engine auto or atheris) every target runs in its own libFuzzer process with bansweep
instrumented; otherwise the project's own coverage-guided mutator runs in this process. Crash inputs are written
to --crashes/<target>/ (default fuzz-crashes/); copy the ones that show a fixed bug to tests/fuzz_regressions/<target>/
so that every later run (and the test suite) replays them. Exit code 1 when a crash was found.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fuzz import engine

ATHERIS_DONE = re.compile(r"Done (\d+) runs in")
ARTIFACTS = "[a-z]*-[0-9a-f]*"  # libFuzzer's crash-, timeout-, oom- and slow-unit- files


def _atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def run_own(names: list[str], seconds: float, crashes: Path) -> list[engine.Stats]:
    from fuzz.targets import all_targets, seeds_of

    targets = all_targets()
    out = []
    for name in names:
        target = targets[name]
        stats = engine.fuzz(name, target.run, seeds_of(target), seconds, per_input=target.per_input)
        engine.save(stats.crashes, crashes / name)
        out.append(stats)
        report(stats)
    return out


def run_atheris(names: list[str], seconds: float, crashes: Path) -> list[engine.Stats]:
    out = []
    for name in names:
        folder = crashes / name
        folder.mkdir(parents=True, exist_ok=True)
        before = set(folder.glob(ARTIFACTS))
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "fuzz",
                "--atheris-child",
                name,
                "--seconds",
                str(seconds),
                "--crashes",
                str(crashes),
            ],
            capture_output=True,
            text=True,
            errors="replace",
        )
        stats = engine.Stats(name, seconds=time.monotonic() - started)
        runs = ATHERIS_DONE.findall(done.stderr)
        stats.executions = int(runs[-1]) if runs else 0
        for path in sorted(set(folder.glob(ARTIFACTS)) - before):
            stats.crashes.append(engine.Crash(path.name, path.read_bytes(), done.stderr[-4000:]))
        if done.returncode and not stats.crashes:
            stats.crashes.append(engine.Crash(f"libFuzzer exit {done.returncode}", b"", done.stderr[-4000:]))
        out.append(stats)
        report(stats)
    return out


def atheris_child(name: str, seconds: float, crashes: Path) -> None:
    """Inside the libFuzzer process: bansweep instrumented, seeds as the starting corpus; never returns."""
    import atheris

    with atheris.instrument_imports(include=["bansweep"]):
        from fuzz.targets import all_targets, seeds_of

        target = all_targets()[name]
        seeds = seeds_of(target)
    corpus = Path(tempfile.mkdtemp(prefix=f"bansweep-fuzz-{name}-"))
    for i, seed in enumerate(seeds):
        (corpus / f"seed-{i}").write_bytes(seed)
    max_len = max([4096, *(2 * len(s) for s in seeds)])
    argv = [
        sys.argv[0],
        f"-max_total_time={max(1, int(seconds))}",
        f"-timeout={int(target.per_input)}",
        f"-max_len={max_len}",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={crashes / name}/",
        str(corpus),
    ]
    atheris.Setup(argv, target.run)
    atheris.Fuzz()


def report(stats: engine.Stats) -> None:
    line = f"{stats.target:28} {stats.executions:9} runs  {stats.seconds:6.1f} s"
    if stats.coverage:
        line += f"  corpus {stats.corpus:4}  lines {stats.coverage:5}"
    line += f"  crashes {len(stats.crashes)}"
    print(line, flush=True)
    for crash in stats.crashes:
        print(f"    {crash.key}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("targets", nargs="*", help="target names (default: all); --list shows them")
    ap.add_argument("--seconds", type=float, default=60.0, help="total budget, shared by the targets")
    ap.add_argument("--engine", choices=("auto", "atheris", "own"), default="auto")
    ap.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--atheris-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.atheris_child:
        atheris_child(args.atheris_child, args.seconds, args.crashes)  # before bansweep's modules are imported
        return 0
    from fuzz.targets import all_targets

    known = all_targets()
    if args.list:
        print("\n".join(known))
        return 0
    names = args.targets or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        ap.error(f"unknown target(s): {', '.join(unknown)}")
    share = args.seconds / len(names)
    use_atheris = args.engine == "atheris" or (args.engine == "auto" and _atheris_available())
    print(f"engine: {'atheris' if use_atheris else 'own'}; {len(names)} target(s), {share:.1f} s each", flush=True)
    stats = (run_atheris if use_atheris else run_own)(names, share, args.crashes)
    runs, found = sum(s.executions for s in stats), sum(len(s.crashes) for s in stats)
    print(f"total: {runs} executions, {found} crash(es)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
