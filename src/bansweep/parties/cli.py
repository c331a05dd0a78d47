"""`bansweep data import-csl` (registered by bansweep.cli)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from bansweep.findings import InputError
from bansweep.inputs import InputProblem
from bansweep.parties.lists import csl, opensanctions, stored
from bansweep.parties.model import ListSet

EXIT_INPUT_ERRORS = 4


@click.command("import-csl")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--remove", is_flag=True, help="Forget the imported CSL.")
def import_csl(file: Path | None, remove: bool) -> None:
    """Import the trade.gov Consolidated Screening List bulk file (consolidated.csv, .tsv or .json).

    Download it from https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.json
    (or .csv/.tsv); it is rebuilt daily. The JSON form carries each source list's last update time.
    An import replaces the previous one; `bansweep parties` then screens against it.
    """
    if remove:
        click.echo("imported CSL removed" if stored.remove(csl.NAME) else "no imported CSL")
        return
    if file is None:
        raise click.UsageError("give the CSL file to import (or --remove)")
    lists, errors = _read(csl.read, file, "records")
    path = csl.save(lists, file, len(errors))
    affiliates = sum(1 for r in lists.records if r.parent)
    names = sum(len(r.names()) for r in lists.records)
    click.echo(
        f"imported {len(lists.records)} CSL records ({names} names, {affiliates} affiliated entities or units split "
        f"from compound names) from {len(lists.sources)} source lists; {lists.versions[csl.NAME]}"
    )
    for source, updated in sorted(lists.sources.items()):
        click.echo(f"  {source}: {updated}")
    click.echo(f"stored in {path}")
    if errors:
        click.echo(f"bansweep: {len(errors)} record(s) not imported; see above", err=True)
        sys.exit(EXIT_INPUT_ERRORS)


@click.command("import-opensanctions")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--remove", is_flag=True, help="Forget the imported OpenSanctions data.")
def import_opensanctions(file: Path | None, remove: bool) -> None:
    """Import an OpenSanctions export: a FollowTheMoney entity file (entities.ftm.json, targets.nested.json) or the
    simple CSV (targets.simple.csv), from https://www.opensanctions.org/datasets/ (e.g. the `sanctions` or
    `default` collection). Once imported, `bansweep parties` screens against it and relies on it being current."""
    if remove:
        click.echo("imported OpenSanctions data removed" if stored.remove(opensanctions.NAME) else "none imported")
        return
    if file is None:
        raise click.UsageError("give the OpenSanctions file to import (or --remove)")
    lists, errors = _read(opensanctions.read, file, "entities")
    path = opensanctions.save(lists, file, len(errors))
    click.echo(f"imported {lists.versions[opensanctions.NAME]}")
    click.echo(f"stored in {path}")
    if errors:
        click.echo(f"bansweep: {len(errors)} entit(y/ies) not imported; see above", err=True)
        sys.exit(EXIT_INPUT_ERRORS)


COMMANDS = [import_csl, import_opensanctions]


def _read(
    read: Callable[[Path], tuple[ListSet, list[InputError]]], file: Path, what: str
) -> tuple[ListSet, list[InputError]]:
    """A list file read for import; each problem printed, exit 4 when nothing can be imported."""
    try:
        lists, errors = read(file)
    except InputProblem as exc:
        click.echo(f"bansweep: {exc}", err=True)
        sys.exit(EXIT_INPUT_ERRORS)
    for error in errors:
        click.echo(f"bansweep: {error}", err=True)
    if not lists.records:
        click.echo(f"bansweep: nothing imported (no readable {what})", err=True)
        sys.exit(EXIT_INPUT_ERRORS)
    return lists, errors
