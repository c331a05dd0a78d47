"""`bansweep fingerprints selftest DIR`: run every Recog <example> against its own pattern."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bansweep.fleet.fingerprints import Recog, selftest


@click.command("selftest")
@click.option("-v", "--verbose", is_flag=True, help="List passing fingerprints too.")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def selftest_cmd(dirs: tuple[Path, ...], verbose: bool) -> None:
    """Check every example of the Recog databases in DIRS; exit 1 on any failure or unreadable fingerprint."""
    recog = Recog.load(list(dirs))
    for error in recog.errors:
        click.echo(f"ERROR {error}")
    passed = failed = examples = 0
    for fp, results in selftest(recog):
        examples += len(results)
        bad = [r for r in results if not r.ok]
        where = f"{fp.file}:{fp.line} #{fp.index}" if fp.line else f"{fp.file} #{fp.index}"
        if bad:
            failed += 1
            click.echo(f"FAIL {where} {fp.description}")
            for r in bad:
                click.echo(f"     {r.problem}")
        else:
            passed += 1
            if verbose:
                click.echo(f"PASS {where} {fp.description} ({len(results)} example(s))")
        if not results:
            click.echo(f"NOTE {where} has no examples")
    click.echo(
        f"{len(recog.databases)} database(s), {passed + failed} fingerprint(s), {examples} example(s): "
        f"{passed} passed, {failed} failed, {len(recog.errors)} error(s)"
    )
    sys.exit(1 if failed or recog.errors else 0)


COMMANDS = [selftest_cmd]
