"""Command line: parse arguments, call the job, write the report, map the outcome to an exit code.

Exit codes (bit flags, so both conditions can be seen at once):
  0  nothing at or above --fail-on, and every input was read
  1  findings at or above --fail-on
  2  usage error (bad option or argument)
  3  bansweep could not run (bad knowledge file, history store unusable, internal error: --debug shows it)
  4  some inputs could not be read (each is listed in the report); 5 = 1 + 4
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from bansweep import __version__, reports
from bansweep import update as update_commands
from bansweep.executors import NAMES as EXECUTOR_NAMES
from bansweep.executors import ExecutorError
from bansweep.findings import Level, Report, Status
from bansweep.firmware import evaluate as firmware_evaluate_commands
from bansweep.firmware.job import Options as FirmwareOptions
from bansweep.firmware.job import diff as firmware_diff_reports
from bansweep.fleet import cli as fingerprint_commands
from bansweep.fleet.context import NOT_COUNTED
from bansweep.fleet.dates import ORDERS as FLEET_DATE_ORDERS
from bansweep.fleet.job import Options as FleetOptions
from bansweep.fleet.sources import FIELDS as FLEET_FIELDS
from bansweep.inputs import FOLLOW_SYMLINKS
from bansweep.jobs import FIRMWARE, FLEET, PARTIES, run_job, sweep
from bansweep.knowledge import KnowledgeError
from bansweep.parties import cli as csl_commands
from bansweep.parties import decisions_cli as decision_commands
from bansweep.parties import evaluate as evaluate_commands
from bansweep.parties.inputs import FIELDS as PARTY_FIELDS
from bansweep.parties.job import Options as PartiesOptions
from bansweep.registry import cli as registry_commands
from bansweep.store import cli as store_commands
from bansweep.store.decisions import triaged_out

EXIT_FINDINGS = 1
EXIT_FAILED = 3
EXIT_INPUT_ERRORS = 4

# --fail-on takes any job's status word (its level on the shared ordering) or "never"
FAIL_ON = {"never": 99, **{s.value: int(s.level) for s in Status if s.level > Level.PASS}}


def exit_code(report: Report, fail_on: str) -> int:
    threshold = FAIL_ON[fail_on]
    code = 0
    if any(f.status.level >= threshold and not triaged_out(f) and NOT_COUNTED not in f.tags for f in report.findings):
        code |= EXIT_FINDINGS
    if report.errors:
        code |= EXIT_INPUT_ERRORS
    return code


def _mapping(values: tuple[str, ...], fields: tuple[str, ...] | list[str] | None = None) -> dict[str, str]:
    """--map FIELD=COLUMN values; a field not among `fields` is a usage error naming the valid ones."""
    out: dict[str, str] = {}
    for value in values:
        if "=" not in value:
            raise click.BadParameter(f"expected FIELD=COLUMN, got {value!r}", param_hint="--map")
        key, column = value.split("=", 1)
        key = key.strip().lower()
        if fields is not None and key not in fields:
            raise click.BadParameter(f"unknown field {key!r}; fields are: {', '.join(fields)}", param_hint="--map")
        out[key] = column.strip()
    return out


EXIT_HELP = """Exit codes: 0 nothing at or above --fail-on and every input read; 1 findings at or above --fail-on;
2 usage error; 3 bansweep could not run; 4 some inputs not read (5 = 1 + 4)."""


@dataclass(slots=True)
class Run:
    """What the shared options say about writing and recording a report."""

    fmt: str = "table"
    output: Path | None = None
    fail_on: str = "covered"
    details: bool = False
    store_url: str | None = None
    no_store: bool = False
    baseline: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)


def report_command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the shared options (--knowledge, --format, -o, --fail-on, --details, history store). func gets
    the command's other parameters and returns the Report, which is recorded, written and mapped to the exit code.
    A knowledge or internal failure is one line and exit code 3 (--debug shows the traceback)."""

    @functools.wraps(func)
    def command(
        *args: Any,
        fmt: str,
        output: Path | None,
        fail_on: str,
        details: bool,
        store_url: str | None,
        no_store: bool,
        baseline: Path | None,
        follow_symlinks: bool,
        **kwargs: Any,
    ) -> None:
        ctx = click.get_current_context()
        if output is not None and not output.parent.is_dir():
            raise click.BadParameter(f"folder {str(output.parent)!r} does not exist", param_hint="-o/--output")
        options = {k: v for k, v in ctx.params.items() if k != "store_url"}
        run = Run(fmt, output, fail_on, details, store_url, no_store, baseline, options)
        FOLLOW_SYMLINKS.set(follow_symlinks)
        try:
            finish(func(*args, **kwargs), run)
        except KnowledgeError as exc:
            click.echo(f"bansweep: knowledge error: {exc}", err=True)
            sys.exit(EXIT_FAILED)
        except ExecutorError as exc:
            click.echo(f"bansweep: executor error: {exc}", err=True)
            sys.exit(EXIT_FAILED)
        except (click.ClickException, click.exceptions.Exit, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # bansweep itself failed: one line (the traceback with --debug), exit 3
            if (ctx.find_root().obj or {}).get("debug"):
                traceback.print_exc()
            click.echo(f"bansweep: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
            sys.exit(EXIT_FAILED)

    for option in (
        click.option(
            "--follow-symlinks",
            is_flag=True,
            help="Follow links to folders inside input folders (default: report them).",
        ),
        click.option(
            "--baseline",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Triage decisions file (from `bansweep triage export`), added to the store and applied.",
        ),
        click.option(
            "--no-store", is_flag=True, help="Do not record this run (nor apply the store's triage decisions)."
        ),
        click.option(
            "--store",
            "store_url",
            metavar="URL",
            envvar="BANSWEEP_STORE",
            help="History store: sqlite:///PATH or postgresql://USER@HOST/DB?host=/socket/dir&port=N. "
            "Default: $BANSWEEP_STORE, else SQLite in bansweep's data home.",
        ),
        click.option("--details", is_flag=True, help="Table format: every evidence item and verdict of each finding."),
        click.option(
            "--fail-on",
            type=click.Choice(list(FAIL_ON)),
            default="covered",
            show_default=True,
            help="Exit 1 when a finding (not triaged as false positive or accepted risk) reaches this status's level "
            "(levels shared by all jobs: low < review = possible-match = medium = not-screened < covered = "
            "covered-limited = match = high < critical), or never.",
        ),
        click.option(
            "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to this file."
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(list(reports.FORMATS)),
            default="table",
            show_default=True,
            help="table: for a terminal; json: versioned schema; csv: one row per evidence item; sarif: 2.1.0 for "
            "code-scanning tools; html: one self-contained page.",
        ),
        click.option(
            "--knowledge",
            multiple=True,
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            help="Overlay directory of knowledge files (adds or overrides entries).",
        ),
    ):
        option(command)
    command.__doc__ = (command.__doc__ or "").rstrip() + "\n\n" + EXIT_HELP
    return command


# options shared by a job command and `sweep`
TRACKERS = click.option(
    "--trackers", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Exodus tracker JSON (firmware)."
)
POLICY = click.option(
    "--policy", default="us-889,fcc", show_default=True, help="Fleet policies to judge by, comma-separated."
)
FINGERPRINTS = click.option(
    "--fingerprints",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Recog XML fingerprint databases (a directory or one file), or nmap's nmap-service-probes "
    "(the file, or a directory holding it such as /usr/share/nmap) (fleet).",
)
AS_OF = click.option(
    "--as-of",
    help="Judge ownership-dependent facts as of this date (YYYY-MM-DD; fleet); default today. A device's purchase "
    "(else install) date from its inventory judges its maker's ownership window instead.",
)
COUNT_RETIRED = click.option(
    "--count-retired",
    is_flag=True,
    help="Count devices the inventory records as retired, disposed of, lost or stolen as in use (fleet); by default "
    "they are listed and marked, but left out of the in-use counts and of --fail-on.",
)
DATE_ORDER = click.option(
    "--date-order",
    type=click.Choice(FLEET_DATE_ORDERS),
    default="auto",
    show_default=True,
    help="Day/month order of inventory dates such as 03/01/2017 (fleet). auto: per column, from a value that fits "
    "one order only (25/12/2017), else from the file's other date columns, else month-first, said to be assumed "
    "wherever it judges a device. month-first or day-first: that order, a value that contradicts it is an input "
    "error. Dotted dates (1.3.2017) are day-first unless their column proves otherwise.",
)
MAP = click.option(
    "--map",
    "mapping",
    multiple=True,
    help=f"Column mapping override FIELD=COLUMN (fleet fields: {', '.join(FLEET_FIELDS)}; "
    f"parties fields: {', '.join(PARTY_FIELDS)}).",
)
LISTS = click.option(
    "--list",
    "lists",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Restriction list file in the CSL layout (parties); replaces the built-in lists.",
)
MAX_LIST_AGE = click.option(
    "--max-list-age",
    type=click.IntRange(min=0),
    default=14,
    show_default=True,
    help="Days after which an imported list (CSL, OpenSanctions) is stale: parties are then not-screened against it.",
)
ONLY_LISTS = click.option(
    "--lists",
    "only_lists",
    help="Screen against these lists only, on purpose (comma-separated: csl, fcc-covered-list, dod-1260h, "
    "opensanctions).",
)
WORKERS = click.option("--workers", type=int, default=0, help="Worker processes (0 = one per CPU).")
EXECUTOR = click.option(
    "--executor",
    type=click.Choice(list(EXECUTOR_NAMES)),
    default="local",
    show_default=True,
    help="Where tasks run: local worker processes, or a Dask cluster (firmware apps, parties).",
)
SCHEDULER = click.option(
    "--scheduler",
    metavar="ADDRESS",
    envvar="DASK_SCHEDULER_ADDRESS",
    help="Dask scheduler address (tcp://HOST:8786) for --executor dask; default $DASK_SCHEDULER_ADDRESS, else a "
    "cluster of local worker processes started for the run.",
)
DECISIONS = click.option(
    "--decisions", type=click.Path(dir_okay=False, path_type=Path), help="Reviewer decisions file (parties)."
)


def finish(report: Report, run: Run) -> None:
    """Record the run in the history store (which applies triage decisions), write the report, exit."""
    from bansweep.store.decisions import apply_decisions
    from bansweep.store.interface import StoreError
    from bansweep.store.recorder import read_baseline, record

    code = 0
    if run.no_store:
        if run.baseline is not None:
            apply_decisions(report, read_baseline(report, run.baseline))
    else:
        try:
            record(report, run.options, run.store_url, run.baseline)
        except StoreError as exc:
            click.echo(f"bansweep: run not recorded: {exc}", err=True)
            code = EXIT_FAILED
    try:
        reports.write(report, run.fmt, run.output, details=run.details)
    except OSError as exc:
        click.echo(f"bansweep: cannot write {run.output}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_FAILED)
    code = code or exit_code(report, run.fail_on)
    if run.output is not None:
        click.echo(f"bansweep: wrote {run.output} ({run.fmt}): {_outcome(report, code, run.fail_on)}", err=True)
    elif report.errors:
        click.echo(f"bansweep: {len(report.errors)} input error(s); see the report", err=True)
    sys.exit(code)


def _outcome(report: Report, code: int, fail_on: str) -> str:
    """'12 findings (3 covered, 9 not-covered), 1 input error; exit 5: findings at or above covered, inputs not read'"""
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.status.value] = counts.get(f.status.value, 0) + 1
    shown = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -Status(kv[0]).level))
    text = f"{len(report.findings)} finding(s)" + (f" ({shown})" if shown else "")
    if report.errors:
        text += f", {len(report.errors)} input error(s)"
    why = []
    if code & EXIT_FINDINGS:
        why.append(f"findings at or above {fail_on}")
    if code & EXIT_INPUT_ERRORS:
        why.append("some inputs not read")
    if code == EXIT_FAILED:
        why = ["the run was not recorded"]
    return f"{text}; exit {code}" + (f": {', '.join(why)}" if why else "")


class DefaultGroup(click.Group):
    """A group that runs its default subcommand when the first argument is not a subcommand name."""

    def __init__(self, *args: Any, default: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_command = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_HELP)
@click.version_option(__version__, prog_name="bansweep")
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Find covered-vendor equipment, pre-installed spyware and restricted parties."""
    ctx.obj = {"debug": debug}


@main.command("sweep", short_help="Detect each input's kind and run the job that fits it.")
@report_command
@POLICY
@AS_OF
@COUNT_RETIRED
@FINGERPRINTS
@TRACKERS
@LISTS
@MAX_LIST_AGE
@DECISIONS
@MAP
@DATE_ORDER
@EXECUTOR
@SCHEDULER
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def sweep_cmd(
    paths: tuple[Path, ...],
    policy: str,
    as_of: str | None,
    count_retired: bool,
    fingerprints: tuple[Path, ...],
    trackers: Path | None,
    lists: tuple[Path, ...],
    max_list_age: int,
    decisions: Path | None,
    mapping: tuple[str, ...],
    date_order: str,
    executor: str,
    scheduler: str | None,
    knowledge: tuple[Path, ...],
) -> Report:
    """Detect each input's kind by content and run the right job on it, with the options that apply to it.

    --map FIELD=COLUMN goes to the fleet job for an inventory field and to the parties job for any other field
    (manufacturer goes to both)."""
    fleet_map, parties_map = _split_mapping(_mapping(mapping, tuple(dict.fromkeys([*FLEET_FIELDS, *PARTY_FIELDS]))))
    options = {
        FLEET.name: FleetOptions(
            policies=_policies(policy),
            knowledge=list(knowledge),
            fingerprints=list(fingerprints),
            mapping=fleet_map,
            as_of=as_of,
            count_retired=count_retired,
            date_order=date_order,
        ),
        FIRMWARE.name: FirmwareOptions(
            knowledge=list(knowledge), trackers=trackers, executor=executor, scheduler=scheduler
        ),
        PARTIES.name: PartiesOptions(
            lists=list(lists),
            knowledge=list(knowledge),
            decisions=decisions,
            mapping=parties_map,
            max_list_age=max_list_age,
            executor=executor,
            scheduler=scheduler,
        ),
    }
    return sweep(list(paths), options)


def _split_mapping(mapping: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(fleet's, parties') share of a --map given to sweep."""
    fleet_map = {k: v for k, v in mapping.items() if k in FLEET_FIELDS}
    parties_map = {k: v for k, v in mapping.items() if k not in FLEET_FIELDS or k in PARTY_FIELDS}
    return fleet_map, parties_map


def _policies(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


@main.command("fleet", short_help="Covered-vendor devices in scans and inventories.")
@report_command
@POLICY
@FINGERPRINTS
@MAP
@AS_OF
@COUNT_RETIRED
@DATE_ORDER
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def fleet_cmd(
    paths: tuple[Path, ...],
    policy: str,
    fingerprints: tuple[Path, ...],
    mapping: tuple[str, ...],
    as_of: str | None,
    count_retired: bool,
    date_order: str,
    knowledge: tuple[Path, ...],
) -> Report:
    """Find covered-vendor devices in scans and inventories, with evidence and legal basis."""
    opts = FleetOptions(
        policies=_policies(policy),
        knowledge=list(knowledge),
        fingerprints=list(fingerprints),
        mapping=_mapping(mapping, tuple(FLEET_FIELDS)),
        as_of=as_of,
        count_retired=count_retired,
        date_order=date_order,
    )
    return run_job(FLEET, list(paths), opts)


@main.group("firmware", cls=DefaultGroup, default="scan", short_help="Audit Android firmware, OTAs and APKs.")
def firmware_group() -> None:
    """Audit Android firmware and APKs (`bansweep firmware PATH`, `bansweep firmware diff OLD NEW`)."""


@firmware_group.command("scan")
@report_command
@TRACKERS
@WORKERS
@EXECUTOR
@SCHEDULER
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def firmware_scan(
    paths: tuple[Path, ...],
    trackers: Path | None,
    workers: int,
    executor: str,
    scheduler: str | None,
    knowledge: tuple[Path, ...],
) -> Report:
    """Audit firmware images, trees, OTA zips, APKs or a device (adb:SERIAL)."""
    opts = FirmwareOptions(
        knowledge=list(knowledge), trackers=trackers, workers=workers, executor=executor, scheduler=scheduler
    )
    return run_job(FIRMWARE, list(paths), opts)


@firmware_group.command("corpus")
@TRACKERS
@WORKERS
@EXECUTOR
@SCHEDULER
@click.option(
    "--parquet",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one row per app to this Parquet dataset (partitioned by firmware).",
)
@click.option("--history", is_flag=True, help="Record each firmware's report in the history store.")
@click.option(
    "--store",
    "store_url",
    metavar="URL",
    envvar="BANSWEEP_STORE",
    help="History store for --history (default: $BANSWEEP_STORE, else SQLite in bansweep's data home).",
)
@click.option(
    "--state",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of done-markers (default: PARQUET/_done): inputs marked there are skipped.",
)
@click.option(
    "--knowledge",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Overlay directory of knowledge files (adds or overrides entries).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the summary here.")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def firmware_corpus(
    sources: tuple[Path, ...],
    trackers: Path | None,
    workers: int,
    executor: str,
    scheduler: str | None,
    parquet: Path | None,
    history: bool,
    store_url: str | None,
    state: Path | None,
    knowledge: tuple[Path, ...],
    fmt: str,
    output: Path | None,
) -> None:
    """Analyse a corpus of firmware: a folder of images (each entry one firmware) or a manifest file of paths.

    One row per app goes to the --parquet dataset and/or each firmware's run to the history store (--history);
    inputs already done (by sha256) are skipped, so an interrupted run resumes. Writes a summary report."""
    from bansweep.firmware import corpus
    from bansweep.store.interface import StoreError
    from bansweep.store.recorder import record

    if parquet is None and not history:
        raise click.UsageError("say where the rows go: --parquet DIR and/or --history")
    fw = FirmwareOptions(
        knowledge=list(knowledge), trackers=trackers, workers=workers, executor=executor, scheduler=scheduler
    )
    opts = corpus.Options(parquet=parquet, history=history, store_url=store_url, state=state, firmware=fw)
    params = {"command": "firmware corpus", "executor": executor, "knowledge": [str(k) for k in knowledge]}
    try:
        report = corpus.run(list(sources), opts, lambda sub: record(sub, params, store_url))
    except ExecutorError as exc:
        click.echo(f"bansweep: executor error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    except (StoreError, KnowledgeError) as exc:
        click.echo(f"bansweep: {exc}; inputs done so far are kept and skipped next time", err=True)
        sys.exit(EXIT_FAILED)
    finish(report, Run(fmt, output, fail_on="never", no_store=True))


@firmware_group.command("diff")
@report_command
@TRACKERS
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
def firmware_diff(
    old: Path,
    new: Path,
    trackers: Path | None,
    knowledge: tuple[Path, ...],
) -> Report:
    """Risky capabilities and findings that appeared or went away between two builds."""
    return firmware_diff_reports(old, new, FirmwareOptions(knowledge=list(knowledge), trackers=trackers))


@main.group("parties", cls=DefaultGroup, default="screen", short_help="Screen parties against restriction lists.")
def parties_group() -> None:
    """Screen parties against restriction lists (`bansweep parties FILE`, `bansweep parties evaluate`)."""


@parties_group.command("screen")
@report_command
@LISTS
@ONLY_LISTS
@MAX_LIST_AGE
@DECISIONS
@MAP
@EXECUTOR
@SCHEDULER
@click.argument("parties_file", type=click.Path(path_type=Path))
def parties_screen(
    parties_file: Path,
    lists: tuple[Path, ...],
    only_lists: str | None,
    max_list_age: int,
    decisions: Path | None,
    mapping: tuple[str, ...],
    executor: str,
    scheduler: str | None,
    knowledge: tuple[Path, ...],
) -> Report:
    """Screen suppliers, purchase lines and counterparties."""
    opts = PartiesOptions(
        lists=list(lists),
        knowledge=list(knowledge),
        decisions=decisions,
        mapping=_mapping(mapping, tuple(PARTY_FIELDS)),
        max_list_age=max_list_age,
        only_lists=_policies(only_lists or ""),
        executor=executor,
        scheduler=scheduler,
    )
    return run_job(PARTIES, [parties_file], opts)


@main.group("data")
def data_group() -> None:
    """Import and show reference data (IEEE registry, CSL)."""


@main.group("fingerprints")
def fingerprints_group() -> None:
    """Recog fingerprint databases."""


# commands contributed by the job packages: data import-*, fingerprints selftest, firmware and parties evaluate, parties decide
for group, commands in (
    (data_group, registry_commands.COMMANDS),
    (data_group, csl_commands.COMMANDS),
    (data_group, update_commands.COMMANDS),
    (fingerprints_group, fingerprint_commands.COMMANDS),
    (firmware_group, firmware_evaluate_commands.COMMANDS),
    (parties_group, evaluate_commands.COMMANDS),
    (parties_group, decision_commands.COMMANDS),
    (main, store_commands.COMMANDS),
):
    for command in commands:
        group.add_command(command)
