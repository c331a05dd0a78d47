"""Old name of bansweep.parties.decisions_cli, which cli.py still registers; delete once cli.py names the new one."""

from bansweep.parties.decisions_cli import COMMANDS

__all__ = ["COMMANDS"]
