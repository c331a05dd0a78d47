"""The project's own coverage-guided mutation fuzzer, for where atheris does not install.

Coverage is the set of (file, line) pairs of bansweep's own code that an input reached, taken with sys.settrace;
an input that reaches a new pair joins the corpus and is mutated further. Targets swallow the errors they are
allowed to give (a parser's FormatError), so a crash is any exception out of a target, or a hang; crashes are told
apart by exception type and the innermost bansweep frame, and the first input of each is kept.
"""

from __future__ import annotations

import hashlib
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import bansweep

SOURCE = str(Path(bansweep.__file__).parent)
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


class Hang(Exception):
    """The target ran past its time limit on one input."""


@dataclass(slots=True)
class Crash:
    key: str  # exception type and where in bansweep it was raised
    data: bytes
    trace: str


@dataclass(slots=True)
class Stats:
    target: str
    executions: int = 0
    corpus: int = 0
    coverage: int = 0
    seconds: float = 0.0
    crashes: list[Crash] = field(default_factory=list)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def alarm(_sig: int, _frame: object) -> None:
        raise Hang(f"no result after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def traced(func: Callable[[], Any]) -> tuple[set[tuple[str, int]], BaseException | None]:
    """Lines of bansweep reached by func(), and the exception it raised (None if it returned)."""
    lines: set[tuple[str, int]] = set()

    def local(frame: FrameType, event: str, _arg: Any) -> Any:
        if event == "line":
            lines.add((frame.f_code.co_filename, frame.f_lineno))
        return local

    def scope(frame: FrameType, _event: str, _arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(SOURCE) else None

    sys.settrace(scope)
    try:
        func()
    except BaseException as exc:  # noqa: BLE001 - the caller decides what counts as a crash
        return lines, exc
    finally:
        sys.settrace(None)
    return lines, None


def crash_key(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(SOURCE)]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "outside bansweep"
    return f"{type(exc).__name__} at {where}"


def mutate(data: bytes, corpus: list[bytes], rng: random.Random, max_len: int) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        op = rng.randrange(9)
        pos = rng.randrange(len(out)) if out else 0
        if op == 0 and out:  # flip a bit
            out[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and out:  # a random byte
            out[pos] = rng.randrange(256)
        elif op in (2, 3) and len(out) >= 4:  # an interesting 16/32-bit value, little or big endian
            width = 2 if op == 2 else 4
            pos = min(pos, len(out) - width)
            value = rng.choice(INTERESTING) & ((1 << (8 * width)) - 1)
            out[pos : pos + width] = value.to_bytes(width, rng.choice(("little", "big")))
        elif op == 4 and out:  # delete a run
            del out[pos : pos + rng.randrange(1, 64)]
        elif op == 5:  # insert random bytes
            out[pos:pos] = rng.randbytes(rng.randrange(1, 32))
        elif op == 6 and out:  # duplicate a run elsewhere
            run = out[pos : pos + rng.randrange(1, 128)]
            at = rng.randrange(len(out) + 1)
            out[at:at] = run
        elif op == 7 and out:  # truncate
            del out[rng.randrange(len(out)) :]
        elif op == 8 and corpus:  # splice with another corpus input
            other = rng.choice(corpus)
            cut = rng.randrange(len(other) + 1)
            out = out[:pos] + other[cut:]
    return bytes(out[:max_len])


def fuzz(
    name: str,
    target: Callable[[bytes], None],
    seeds: list[bytes],
    seconds: float,
    per_input: float = 10.0,
    seed: int = 0,
    max_crashes: int = 20,
) -> Stats:
    """Run target on mutations of seeds for `seconds` (every seed runs once, whatever the budget)."""
    rng = random.Random(seed)
    stats = Stats(name)
    corpus: list[bytes] = []
    covered: set[tuple[str, int]] = set()
    seen: set[str] = set()
    max_len = max([4096, *(2 * len(s) for s in seeds)])
    started = time.monotonic()
    queue = list(seeds) or [b""]

    def run(data: bytes) -> None:
        def call() -> None:
            with time_limit(per_input):
                target(data)

        lines, exc = traced(call)
        stats.executions += 1
        if exc is not None:
            if isinstance(exc, KeyboardInterrupt):
                raise exc
            key = crash_key(exc)
            if key not in seen and len(stats.crashes) < max_crashes:
                seen.add(key)
                trace = "".join(traceback.format_exception(exc))
                stats.crashes.append(Crash(key, data, trace))
            return
        if not lines <= covered:
            covered.update(lines)
            corpus.append(data)

    for data in queue:
        run(data)
    while time.monotonic() - started < seconds:
        parent = rng.choice(corpus) if corpus else rng.choice(queue)
        run(mutate(parent, corpus, rng, max_len))
    stats.corpus, stats.coverage, stats.seconds = len(corpus), len(covered), time.monotonic() - started
    return stats


def save(crashes: list[Crash], folder: Path) -> list[Path]:
    """Each crash input as <sha1>.bin, with its traceback beside it; returns the input paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for crash in crashes:
        path = folder / f"{hashlib.sha1(crash.data).hexdigest()}.bin"
        path.write_bytes(crash.data)
        path.with_suffix(".txt").write_text(f"{crash.key}\n\n{crash.trace}")
        paths.append(path)
    return paths
