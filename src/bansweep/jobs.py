"""The jobs behind one interface (Job, listed in JOBS), routing each input once, and `sweep`.

route() decides for every input, once, which job reads it and in what format; sweep hands each job its inputs
with those formats, so no job sniffs a file again. A job command (`bansweep fleet PATHS`) gives the job the
paths alone: the job sniffs each file itself, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bansweep.findings import InputError, Location, Report
from bansweep.firmware import job as firmware
from bansweep.fleet import job as fleet
from bansweep.inputs import InputFile, walk
from bansweep.parties import job as parties

Formats = Mapping[str, str]  # input path -> the format route decided


@runtime_checkable
class Job(Protocol):
    @property
    def name(self) -> str:
        """The job's name: its command and the report's "job"."""

    @property
    def Options(self) -> type[Any]:
        """The job's options: a dataclass whose fields all have defaults."""

    def sniff(self, item: InputFile) -> str | None:
        """The input format's name if this job reads the file, else None."""

    def sniff_dir(self, path: Path) -> bool:
        """Whether a directory is one input as a whole (a firmware tree)."""

    def not_an_input(self, item: InputFile) -> str | None:
        """Why a file this job knows is not one of its inputs (e.g. a restriction list), else None."""

    def run(self, paths: list[Path], options: Any, formats: Formats | None = None) -> Report:
        """The report on the inputs; formats: what route decided per path (a path without one is sniffed)."""


class FirmwareJob:
    name = "firmware"
    Options = firmware.Options

    def sniff(self, item: InputFile) -> str | None:
        return firmware.sniff(item)

    def sniff_dir(self, path: Path) -> bool:
        return firmware.sniff_dir(path)

    def not_an_input(self, item: InputFile) -> str | None:
        return None

    def run(self, paths: list[Path], options: firmware.Options, formats: Formats | None = None) -> Report:
        return firmware.run(paths, options, formats)


class FleetJob:
    name = "fleet"
    Options = fleet.Options

    def sniff(self, item: InputFile) -> str | None:
        return fleet.sniff(item)

    def sniff_dir(self, path: Path) -> bool:
        return fleet.sniff_dir(path)

    def not_an_input(self, item: InputFile) -> str | None:
        return None

    def run(self, paths: list[Path], options: fleet.Options, formats: Formats | None = None) -> Report:
        return fleet.run(paths, options, formats)


class PartiesJob:
    name = "parties"
    Options = parties.Options

    def sniff(self, item: InputFile) -> str | None:
        return parties.sniff(item)

    def sniff_dir(self, path: Path) -> bool:
        return parties.sniff_dir(path)

    def not_an_input(self, item: InputFile) -> str | None:
        return parties.not_an_input(item)

    def run(self, paths: list[Path], options: parties.Options, formats: Formats | None = None) -> Report:
        return parties.run(paths, options)  # it reads every file it is given as a table of parties


FIRMWARE, FLEET, PARTIES = FirmwareJob(), FleetJob(), PartiesJob()
JOBS: tuple[Job, ...] = (FIRMWARE, FLEET, PARTIES)  # sniff order: most specific formats first


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Routed:
    path: Path
    job: Job
    format: str


@dataclass(slots=True)
class Routing:
    inputs: list[Routed] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)  # inputs no job reads, and why

    @property
    def formats(self) -> dict[str, str]:
        return {str(r.path): r.format for r in self.inputs}

    def of(self, job: Job) -> list[Routed]:
        return [r for r in self.inputs if r.job is job]


def route(paths: list[Path], jobs: Sequence[Job] = JOBS) -> Routing:
    """Decide, once, which job reads every input and in what format; unknown files become InputErrors."""
    out = Routing()
    files: list[Path] = []
    for path in paths:
        owner = next((job for job in jobs if _is_dir(path) and job.sniff_dir(path)), None)
        if owner is None:
            files.append(path)
        else:
            out.inputs.append(Routed(path, owner, f"{owner.name}-tree"))
    for item in walk(files):
        if isinstance(item, InputError):
            out.errors.append(item)
            continue
        routed = _sniff(item, jobs)
        if routed is None:
            out.errors.append(InputError(Location(str(item.path)), _why_not(item, jobs)))
        else:
            out.inputs.append(routed)
    return out


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a broken or unreadable path: walk reports it
        return False


def _sniff(item: InputFile, jobs: Sequence[Job]) -> Routed | None:
    for job in jobs:
        try:
            fmt = job.sniff(item)
        except (OSError, ValueError, UnicodeError, RecursionError, IndexError, KeyError, TypeError):
            continue  # a sniffer that trips on hostile bytes does not claim the file
        if fmt:
            return Routed(item.path, job, fmt)
    return None


def _why_not(item: InputFile, jobs: Sequence[Job]) -> str:
    hint = next((h for h in (job.not_an_input(item) for job in jobs) if h), None)
    return hint or ("input format not recognised" if item.head else "empty file")


def run_job(job: Job, paths: list[Path], options: Any | None = None, formats: Formats | None = None) -> Report:
    started = now()
    report = job.run(paths, options if options is not None else job.Options(), formats)
    report.started = report.started or started
    report.finished = now()
    return report


def _contained(job: Job, paths: list[Path], options: Any | None, formats: Formats) -> Report:
    """A job that fails as a whole loses only its own inputs: each becomes an input error naming the failure, and
    the other jobs' results stand. Usage errors (bad options) still stop the run."""
    import click

    try:
        return run_job(job, paths, options, formats)
    except click.ClickException:
        raise
    except Exception as exc:
        report = Report(job=job.name, inputs=[str(p) for p in paths])
        why = f"not read: internal error {type(exc).__name__} in the {job.name} job ({exc}); please report it"
        report.errors.extend(InputError(Location(str(p)), why) for p in paths)
        return report


def sweep(paths: list[Path], options: Mapping[str, Any]) -> Report:
    """Run every job on the inputs route gave it, with the formats it decided, and merge the reports.
    options: each job's Options by job name (a job left out runs with its defaults)."""
    routing = route(paths)
    report = Report(job="sweep", inputs=[str(p) for p in paths], started=now())
    report.errors.extend(routing.errors)
    for job in JOBS:
        mine = routing.of(job)
        if mine:
            formats = {str(r.path): r.format for r in mine}
            report.merge(_contained(job, [r.path for r in mine], options.get(job.name), formats))
    report.inputs = [str(p) for p in paths]
    report.summary["formats"] = routing.formats
    report.finished = now()
    return report
