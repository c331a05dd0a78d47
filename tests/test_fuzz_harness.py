"""The fuzz harness (fuzz/) as a habit: every regression input replays cleanly, a short coverage-guided run over every
target finds no crash (FUZZ_SECONDS, default 30, shared by the targets), and the harness itself finds planted bugs.

A longer run: scripts/fuzz (atheris when installed, else our own engine)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fuzz import engine  # noqa: E402
from fuzz.targets import REGRESSIONS, Crash, all_targets, seeds_of  # noqa: E402

from bansweep.firmware.containers import ext4  # noqa: E402

TARGETS = all_targets()
BUDGET = float(os.environ.get("FUZZ_SECONDS", "30"))
REGRESSION_FILES = sorted(REGRESSIONS.glob("*/*.bin"))
OPEN_HANG = 2.0  # seconds after which an open hang counts as still open
OPEN_FILES = sorted((REGRESSIONS / "open").glob("*/*.bin"))  # crashes found, in code another change fixes


def test_every_regression_input_belongs_to_a_target() -> None:
    assert REGRESSION_FILES, "tests/fuzz_regressions/ holds the crash inputs found so far"
    assert {p.parent.name for p in REGRESSION_FILES} <= set(TARGETS)


@pytest.mark.parametrize("path", REGRESSION_FILES, ids=lambda p: f"{p.parent.name}/{p.stem[:12]}")
def test_regression_inputs_replay_cleanly(path: Path) -> None:
    target = TARGETS[path.parent.name]
    with engine.time_limit(target.per_input):
        target.run(path.read_bytes())


def test_open_crashes_are_still_open() -> None:
    """Inputs in open/ crash code another change fixes; one that no longer crashes moves up to its target's folder."""
    fixed = []
    for path in OPEN_FILES:
        try:
            with engine.time_limit(OPEN_HANG):  # a hang shows within this
                TARGETS[path.parent.name].run(path.read_bytes())
        except Exception:
            continue
        fixed.append(path)
    assert fixed == [], "fixed: move these inputs to tests/fuzz_regressions/<target>/"


def test_every_target_has_a_seed() -> None:
    missing = [name for name, target in TARGETS.items() if not target.seeds()]
    assert missing == [], "seeds need the fixtures and mke2fs, mkfs.erofs, mkbootimg (scripts/test-setup)"


def open_crash_keys() -> set[str]:
    """The crash keys (exception and place) of the open crashes: finding them again is not news."""
    keys = set()
    for path in OPEN_FILES:
        try:
            with engine.time_limit(OPEN_HANG):
                TARGETS[path.parent.name].run(path.read_bytes())
        except Exception as exc:
            keys.add(engine.crash_key(exc))
    return keys


def test_short_fuzz_run_over_every_target_finds_no_crash(tmp_path: Path) -> None:
    share = BUDGET / len(TARGETS)
    known = open_crash_keys()
    crashes: dict[str, list[str]] = {}
    runs = 0
    for name, target in TARGETS.items():
        stats = engine.fuzz(name, target.run, seeds_of(target), share, per_input=target.per_input, seed=len(name))
        runs += stats.executions
        assert stats.executions > len(target.seeds()), name  # mutations ran, not just the seeds
        new = [c for c in stats.crashes if c.key not in known]
        if new:
            crashes[name] = [c.key for c in new]
            engine.save(new, tmp_path / name)
    print(f"{runs} executions over {len(TARGETS)} targets")
    assert crashes == {}, f"crash inputs saved under {tmp_path}"


def test_the_engine_finds_a_planted_bug(tmp_path: Path) -> None:
    def target(data: bytes) -> None:
        if len(data) > 2 and data[1] == 0xFF:
            raise IndexError("planted")

    stats = engine.fuzz("planted", target, [b"AAAAAAAA"], seconds=5)
    assert [c.key.split(" at ")[0] for c in stats.crashes] == ["IndexError"]
    saved = engine.save(stats.crashes, tmp_path)
    assert saved[0].read_bytes()[1] == 0xFF and "planted" in saved[0].with_suffix(".txt").read_text()


def test_the_engine_reports_a_hang() -> None:
    def target(data: bytes) -> None:
        while data:
            pass

    stats = engine.fuzz("hang", target, [b"x"], seconds=0, per_input=0.2)
    assert [c.key.split(" at ")[0] for c in stats.crashes] == ["Hang"]


def test_a_contained_bug_still_counts_as_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    """open_input turns a bug into an input error so the batch goes on; the fuzzer must still see it."""

    def broken(*_args: object) -> None:
        raise KeyError("planted")

    monkeypatch.setattr(ext4, "Ext4", broken)
    target = TARGETS["container-ext4"]
    with pytest.raises(Crash, match="internal error KeyError"):
        target.run(target.seeds()[0])


def test_coverage_guides_the_corpus() -> None:
    """Inputs that reach new lines of bansweep are kept: the corpus grows beyond the seed."""
    target = TARGETS["axml-manifest"]
    stats = engine.fuzz("axml-manifest", target.run, target.seeds(), seconds=2)
    assert stats.corpus > 1 and stats.coverage > 50
