"""The three jobs behind one interface, and `sweep`, which routes each input to its job by content.

Each job package has a module ``job`` with:

- ``sniff(item: InputFile) -> str | None``: the input format name if this job reads the file;
- ``sniff_dir(path: Path) -> bool``: whether a directory is one input as a whole (a firmware tree);
- ``Options``: a dataclass of the job's options, every field with a default;
- ``run(paths: list[Path], options: Options) -> Report``;
- optionally ``not_an_input(item: InputFile) -> str | None``: why a file this job knows is not an input (e.g. a list).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from bansweep.findings import InputError, Location, Report
from bansweep.inputs import walk

JOB_NAMES = ("firmware", "fleet", "parties")  # sniff order: most specific formats first


def job_module(name: str) -> ModuleType:
    return importlib.import_module(f"bansweep.{name}.job")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(slots=True)
class Routed:
    by_job: dict[str, list[Path]] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)  # path -> format name
    errors: list[InputError] = field(default_factory=list)


def route(paths: list[Path], jobs: tuple[str, ...] = JOB_NAMES) -> Routed:
    """Assign every input file to the job that reads it; unknown files become InputErrors."""
    modules = {name: job_module(name) for name in jobs}
    out = Routed()
    plain: list[Path] = []
    for path in paths:
        owner = next((n for n, m in modules.items() if path.is_dir() and m.sniff_dir(path)), None)
        if owner:
            out.by_job.setdefault(owner, []).append(path)
            out.formats[str(path)] = f"{owner}-tree"
        else:
            plain.append(path)
    for item in walk(plain):
        if isinstance(item, InputError):
            out.errors.append(item)
            continue
        for name, module in modules.items():
            fmt = module.sniff(item)
            if fmt:
                out.by_job.setdefault(name, []).append(item.path)
                out.formats[str(item.path)] = fmt
                break
        else:
            hints = (getattr(m, "not_an_input", lambda _item: None)(item) for m in modules.values())
            hint = next((h for h in hints if h), None)
            if hint:
                out.errors.append(InputError(Location(str(item.path)), hint))
            elif item.head:
                out.errors.append(InputError(Location(str(item.path)), "input format not recognised"))
            else:
                out.errors.append(InputError(Location(str(item.path)), "empty file"))
    return out


def run_job(name: str, paths: list[Path], options: Any | None = None) -> Report:
    module = job_module(name)
    opts = options if options is not None else module.Options()
    started = now()
    report: Report = module.run(paths, opts)
    report.started = report.started or started
    report.finished = now()
    return report


def sweep(paths: list[Path], options: dict[str, Any], progress: Callable[[str], None] | None = None) -> Report:
    """Run every job on the inputs it recognises and merge the reports."""
    routed = route(paths)
    report = Report(job="sweep", inputs=[str(p) for p in paths], started=now())
    report.errors.extend(routed.errors)
    for name in JOB_NAMES:
        job_paths = routed.by_job.get(name)
        if not job_paths:
            continue
        if progress:
            progress(f"{name}: {len(job_paths)} input(s)")
        sub = run_job(name, job_paths, options.get(name))
        report.merge(sub)
    report.inputs = [str(p) for p in paths]
    report.summary["formats"] = routed.formats
    report.finished = now()
    return report
