"""parties: suppliers and counterparties against restriction lists (placeholder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bansweep.findings import Report
from bansweep.inputs import InputFile


@dataclass(slots=True)
class Options:
    lists: list[Path] = field(default_factory=list)
    knowledge: list[Path] = field(default_factory=list)
    decisions: Path | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    show_progress: bool | None = None


def sniff(item: InputFile) -> str | None:
    return None


def sniff_dir(path: Path) -> bool:
    return False


def run(paths: list[Path], options: Options) -> Report:
    return Report(job="parties", inputs=[str(p) for p in paths])
