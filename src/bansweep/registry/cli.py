"""`bansweep data import-ieee` and `bansweep data show` (registered by bansweep.cli)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from bansweep.registry import ieee
from bansweep.registry.mac import MacRegistry

EXIT_FAILED = 3
EXIT_INPUT_ERRORS = 4


def _iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise click.BadParameter("expected YYYY-MM-DD")
    return value


@click.command("import-ieee")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--date", callback=_iso_date, help="The registry's publication date (default: newest file's mtime).")
@click.option("--remove", is_flag=True, help="Forget imported data and use the bundled registry again.")
def import_ieee(files: tuple[Path, ...], date: str | None, remove: bool) -> None:
    """Import the official IEEE CSVs (oui.csv, mam.csv, oui36.csv, iab.csv, cid.csv).

    Pass all files at once: an import replaces the previous one. Download them from
    https://standards-oui.ieee.org/ (MA-L, MA-M, MA-S, IAB, CID).
    """
    if remove:
        click.echo("imported IEEE data removed" if ieee.forget() else "no imported IEEE data")
        return
    if not files:
        raise click.UsageError("give the IEEE CSV files to import (or --remove)")
    result = ieee.import_files(list(files), date)
    for error in result.errors:
        click.echo(f"bansweep: {error}", err=True)
    if not result.files:
        click.echo("bansweep: nothing imported (no valid rows)", err=True)
        sys.exit(EXIT_INPUT_ERRORS)
    counts = ", ".join(f"{b} {n}" for b, n in result.rows.items() if n)
    click.echo(f"imported {sum(result.rows.values())} prefixes ({counts}), registry date {result.date}")
    if result.duplicates:
        click.echo(f"note: {result.duplicates} block(s) listed twice; the later row is used", err=True)
    missing = [b for b, n in result.rows.items() if not n]
    if missing:
        click.echo(f"note: no {', '.join(missing)} rows imported; those prefixes will not resolve", err=True)
    registry = MacRegistry.load()  # builds the fast-load cache now
    click.echo(f"in use: {registry.source}, dated {registry.date}")
    if result.errors:
        sys.exit(EXIT_INPUT_ERRORS)


@click.command("show")
@click.option(
    "--knowledge",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Overlay directory of knowledge files.",
)
def show(knowledge: tuple[Path, ...]) -> None:
    """Show which MAC registry data and knowledge versions are in use."""
    from bansweep.knowledge import KnowledgeError, load
    from bansweep.knowledge.vendors import VendorKB
    from bansweep.policy import policy_ids

    try:
        registry = MacRegistry.load()
        meta = ieee.imported_meta() if registry.source.startswith("IEEE") else None
        kb = VendorKB.load(knowledge)
        policies = policy_ids(knowledge)
        policy_data = load("policies", overlays=knowledge)
    except KnowledgeError as exc:
        click.echo(f"bansweep: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"MAC registry: {registry.source}, dated {registry.date}")
    click.echo("  " + ", ".join(f"{block} {n}" for block, n in registry.counts().items()))
    for item in (meta or {}).get("files", []):
        click.echo(f"  {item['file']} ({item['date']}, sha256 {str(item['sha256'])[:16]}...)")
    click.echo(f"Knowledge: {kb.version}")
    for path in kb.files:
        click.echo(f"  {path}")
    click.echo(f"Policies: policies {policy_data.version}: {', '.join(policies)}")
    for path in policy_data.files:
        click.echo(f"  {path}")


COMMANDS = [import_ieee, show]
