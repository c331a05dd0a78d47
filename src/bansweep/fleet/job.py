"""fleet: covered-vendor devices in scans and inventories (placeholder until the job lands)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bansweep.findings import Report
from bansweep.inputs import InputFile


@dataclass(slots=True)
class Options:
    policies: list[str] = field(default_factory=lambda: ["us-889", "fcc"])
    knowledge: list[Path] = field(default_factory=list)
    fingerprints: list[Path] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    as_of: str | None = None
    show_progress: bool | None = None


def sniff(item: InputFile) -> str | None:
    return None


def sniff_dir(path: Path) -> bool:
    return False


def run(paths: list[Path], options: Options) -> Report:
    return Report(job="fleet", inputs=[str(p) for p in paths])
