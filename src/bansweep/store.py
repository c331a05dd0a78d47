"""Where bansweep keeps imported reference data (IEEE registry, CSL) and decisions."""

from __future__ import annotations

import os
from pathlib import Path


def data_home() -> Path:
    """$BANSWEEP_HOME, else $XDG_DATA_HOME/bansweep, else ~/.local/share/bansweep."""
    if os.environ.get("BANSWEEP_HOME"):
        return Path(os.environ["BANSWEEP_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bansweep"


def data_path(*parts: str) -> Path:
    path = data_home().joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
