"""firmware: pre-installed spyware, backdoors and privilege in Android firmware (placeholder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bansweep.findings import Report
from bansweep.inputs import InputFile


@dataclass(slots=True)
class Options:
    knowledge: list[Path] = field(default_factory=list)
    trackers: Path | None = None
    workers: int = 0  # 0 = one per CPU
    show_progress: bool | None = None


def sniff(item: InputFile) -> str | None:
    return None


def sniff_dir(path: Path) -> bool:
    return False


def run(paths: list[Path], options: Options) -> Report:
    return Report(job="firmware", inputs=[str(p) for p in paths])


def diff(old: Path, new: Path, options: Options) -> Report:
    return Report(job="firmware-diff", inputs=[str(old), str(new)])
